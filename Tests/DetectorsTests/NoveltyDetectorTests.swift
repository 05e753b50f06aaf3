import ChunkModel
import Detectors
import Testing
import Workload

@Suite struct NoveltyDetectorTests {
    static let hour = 3600.0
    static let day = 86_400.0

    /// One event a minute from `from` to `to` (seconds after t0), cycling through `resources`.
    func activity(
        _ h: ClockedHarness, _ p: Symbol, from: Double, to: Double, step: Double = 60, resources: [Symbol]
    ) {
        var s = from
        var i = 0
        while s < to {
            h.feed(ChunkEvent(ts: t0 + seconds(s), principal: p, size: 100, resource: resources[i % resources.count]))
            s += step
            i += 1
        }
    }

    /// Weekdays 09:00–17:00 (t0 is a Monday) on the given days.
    func officeDays(_ h: ClockedHarness, _ p: Symbol, days: Range<Int>, resources: [Symbol]) {
        for d in days where d % 7 < 5 {
            activity(h, p, from: Double(d) * Self.day + 9 * Self.hour, to: Double(d) * Self.day + 17 * Self.hour, resources: resources)
        }
    }

    // MARK: - New principals

    @Test func aPrincipalFirstSeenAfterTheStreamsWarmupIsNew() throws {
        let h = ClockedHarness(NoveltyDetector())
        let early = h.name("svc-early")
        let late = h.name("svc-late")
        let resource = h.name("pg://orders")
        h.feed(ChunkEvent(ts: t0, principal: early, size: 1))
        // Seen in the stream's first day: learned, not new.
        h.feed(ChunkEvent(ts: t0 + seconds(20 * Self.hour), principal: h.name("svc-morning"), size: 1))
        #expect(h.anomalies.isEmpty)
        h.feed(ChunkEvent(ts: t0 + seconds(26 * Self.hour), principal: late, size: 1, resource: resource))
        let a = try #require(h.anomalies.first)
        #expect(h.anomalies.count == 1)
        #expect(a.detector == "novelty" && a.severity == .low && a.principal == late)
        #expect(a.keyText == "svc-late|new-principal")
        #expect(a.message == "svc-late is a new principal on pg://orders, first seen 26 h into the stream")
        h.feed(ChunkEvent(ts: t0 + seconds(26 * Self.hour + 1), principal: late, size: 1, resource: resource))
        #expect(h.anomalies.count == 1)
    }

    /// Shards see different first events; the stream's start comes from the
    /// first event's watermark or the first tick, to the minute, the same in each.
    @Test func everyShardAgreesOnWhenTheStreamBegan() {
        let start = t0 + seconds(37)
        func verdict(sawFirstEvent: Bool, newcomerAt s: Double) -> Int {
            let d = NoveltyDetector()
            var context = DetectorContext(symbols: SymbolTable())
            var anomalies: [Anomaly] = []
            if sawFirstEvent {
                context.watermark = start
                _ = d.observe(ChunkEvent(ts: start, principal: Symbol("svc-a"), size: 1), context: context, anomalies: &anomalies)
            }
            // The first tick after the first event, on a whole 10 s.
            context.watermark = t0 + seconds(40)
            d.advance(context: context, anomalies: &anomalies)
            let ts = t0 + seconds(s)
            context.watermark = ts
            _ = d.observe(ChunkEvent(ts: ts, principal: Symbol("svc-b"), size: 1), context: context, anomalies: &anomalies)
            return anomalies.count
        }
        for s in [Self.day - 1, Self.day, Self.day + 30, Self.day + 61] {
            #expect(verdict(sawFirstEvent: true, newcomerAt: s) == verdict(sawFirstEvent: false, newcomerAt: s), "at \(s)")
        }
        #expect(verdict(sawFirstEvent: false, newcomerAt: Self.day - 1) == 0)
        #expect(verdict(sawFirstEvent: false, newcomerAt: Self.day) == 1)
    }

    // MARK: - New resources

    @Test func aResourceNeverUsedIsNewAfterThePrincipalsWarmup() throws {
        let h = ClockedHarness(NoveltyDetector())
        let p = h.name("carol@corp")
        let usual = [h.name("pg://analytics"), h.name("ssh://bastion-1")]
        // In the first minutes every resource is new to the principal: learned silently.
        activity(h, p, from: 0, to: 600, resources: usual + [h.name("https://grafana/api")])
        activity(h, p, from: 600, to: 3 * Self.hour, resources: usual)
        #expect(h.anomalies.isEmpty)
        let payroll = h.name("pg://hr-payroll")
        let score = h.feed(ChunkEvent(ts: t0 + seconds(3 * Self.hour + 5), principal: p, size: 100, resource: payroll))
        let a = try #require(h.anomalies.first)
        #expect(score == 0.75)
        #expect(a.severity == .medium && a.keyText == "carol@corp|new-resource" && a.resource == payroll)
        #expect(a.message == "carol@corp used pg://hr-payroll, a resource it never used before (3 known over 3 h)")
        #expect(a.baseline?.first?.0 == "resources" && a.baseline?.first?.1 == 3)
        // Known from now on.
        h.feed(ChunkEvent(ts: t0 + seconds(3 * Self.hour + 65), principal: p, size: 100, resource: payroll))
        #expect(h.anomalies.count == 1)
    }

    @Test func aBroadPrincipalIsNotJudgedOnResources() {
        var settings = NoveltyDetector.Settings()
        settings.maxResources = 8
        let detector = NoveltyDetector(settings: settings)
        let h = ClockedHarness(detector)
        let p = h.name("svc-gateway")
        activity(h, p, from: 0, to: 2 * Self.hour, resources: (0..<8).map { h.name("https://api/v1/r\($0)") })
        // The set is full: the principal touches many resources; new ones are not news.
        activity(h, p, from: 2 * Self.hour, to: 3 * Self.hour, resources: (8..<40).map { h.name("https://api/v1/r\($0)") })
        #expect(h.anomalies.isEmpty)
        #expect(detector.keyStats.tracked == 1)
    }

    // MARK: - Hours

    @Test func activityFarFromEveryUsualHourOfTheDayIsUnusual() throws {
        let h = ClockedHarness(NoveltyDetector())
        let p = h.name("rupert@corp")
        let r = [h.name("pg://analytics")]
        activity(h, p, from: 8 * Self.hour, to: 18 * Self.hour, resources: r)
        // Early the next morning: an hour from 08:00, usual enough.
        activity(h, p, from: Self.day + 7 * Self.hour, to: Self.day + 7.5 * Self.hour, resources: r)
        #expect(h.anomalies.isEmpty)
        // 23:10: six hours from 17:00, the latest hour it was active in.
        let score = h.feed(ChunkEvent(ts: t0 + seconds(Self.day + 23 * Self.hour + 600), principal: p, size: 1, resource: r[0]))
        let a = try #require(h.anomalies.first)
        #expect(h.anomalies.count == 1)
        #expect(a.severity == .medium && a.keyText == "rupert@corp|unusual-hour")
        #expect(a.observed == 6 && a.threshold == 4)
        #expect(score > 0.5 && a.score == score)
        #expect(a.message == "rupert@corp is active at 23:00 UTC, 6 hours from any hour of the day it was active in over 39 h")
    }

    @Test func hoursAreNotJudgedBeforeTheHourWarmup() {
        let h = ClockedHarness(NoveltyDetector())
        let p = h.name("dave@corp")
        let r = [h.name("pg://analytics")]
        // Nine hours after it was first seen is too little history to call 18:00 unusual.
        activity(h, p, from: 9 * Self.hour, to: 13 * Self.hour, resources: r)
        activity(h, p, from: 18 * Self.hour, to: 18.5 * Self.hour, resources: r)
        #expect(h.anomalies.isEmpty)
    }

    @Test func aRoundTheClockServiceHasNoUnusualHours() {
        let h = ClockedHarness(NoveltyDetector())
        let p = h.name("svc-orders")
        activity(h, p, from: 0, to: 3 * Self.day, step: 20, resources: [h.name("pg://orders")])
        #expect(h.anomalies.isEmpty)
    }

    @Test func afterTwoWeeksHoursAreJudgedByTheHourOfTheWeek() throws {
        let h = ClockedHarness(NoveltyDetector())
        let p = h.name("erin@corp")
        let r = [h.name("https://grafana/api")]
        officeDays(h, p, days: 0..<12, resources: r)
        // Saturday of the second week at 11:00: a usual hour of the day, so not yet unusual.
        activity(h, p, from: 12 * Self.day + 11 * Self.hour, to: 12 * Self.day + 11.5 * Self.hour, resources: r)
        #expect(h.anomalies.isEmpty)
        officeDays(h, p, days: 13..<19, resources: r)
        #expect(h.anomalies.isEmpty, "\(h.anomalies.map(\.message))")
        // Sunday of the third week at 11:00: never on a Sunday; 22 hours before
        // Monday 09:00 and 24 after the Saturday 11:00 of last week.
        h.feed(ChunkEvent(ts: t0 + seconds(20 * Self.day + 11 * Self.hour), principal: p, size: 1, resource: r[0]))
        let a = try #require(h.anomalies.first)
        #expect(a.message.hasPrefix("erin@corp is active on Sunday 11:00 UTC, 22 hours from any hour of the week"))
        #expect(a.observed == 22)
    }

    // MARK: - gen

    @Test func findsGensOffHoursAndNewResourceAnomalies() throws {
        let replay = try GenReplay(
            WorkloadConfig(principals: 6, hours: 24, seed: 3, anomalies: [.novelty]), detector: NoveltyDetector())
        let labels = replay.labels.filter { $0.kind == .novelty }
        #expect(labels.count == 2, "gen placed \(replay.labels)")
        for label in labels {
            #expect(!replay.detections(of: label).isEmpty, "missed \(label.principal) at \(label.start)")
        }
        #expect(replay.unexplained().isEmpty, "false alerts: \(replay.unexplained().map(\.message))")
    }

    @Test func aCleanDayIsQuiet() throws {
        let replay = try GenReplay(
            WorkloadConfig(principals: 6, hours: 24, seed: 5, anomalies: []), detector: NoveltyDetector())
        #expect(replay.events > 100_000)
        #expect(replay.alerts.isEmpty, "false alerts: \(replay.alerts.map(\.message))")
    }
}
