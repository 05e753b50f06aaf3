import ChunkModel
import Detectors
import Testing
import Workload

@Suite struct SilenceDetectorTests {
    static let hour = 3600.0
    static let day = 86_400.0

    /// Poisson arrivals at `rate` per second over [from, to) seconds after t0; returns the last event time.
    @discardableResult
    func steady(_ h: ClockedHarness, _ p: Symbol, rate: Double, from: Double, to: Double, rng: inout SplitMix64) -> Double {
        var s = from + rng.exponential(mean: 1 / rate)
        var last = from
        while s < to {
            h.feed(ChunkEvent(ts: t0 + seconds(s), principal: p, size: 100))
            last = s
            s += rng.exponential(mean: 1 / rate)
        }
        return last
    }

    @Test func aSteadyServiceThatStopsIsFoundAtATickWithNoFurtherEvents() throws {
        let h = ClockedHarness(SilenceDetector())
        var rng = SplitMix64(seed: 3)
        let p = h.name("svc-orders")
        let other = h.name("svc-other")
        let last = steady(h, p, rate: 2, from: 0, to: 3 * Self.hour, rng: &rng)
        #expect(h.anomalies.isEmpty)
        // svc-orders sends nothing more; event time moves on through ticks alone.
        h.tick(to: t0 + seconds(last + 9 * 60))
        #expect(h.anomalies.isEmpty, "under the 10 min minimum")
        h.tick(to: t0 + seconds(last + 10 * 60 + 10))
        let a = try #require(h.anomalies.first)
        #expect(h.anomalies.count == 1)
        #expect(a.detector == "silence" && a.principal == p && a.keyText == "svc-orders")
        #expect(a.ts.nanoseconds % 10_000_000_000 == 0, "raised at a tick")
        #expect(a.ts - (t0 + seconds(last)) >= .seconds(600) && a.ts - (t0 + seconds(last)) < .seconds(610))
        #expect(a.severity == .low && a.score >= 0.5 && a.score < 0.55)
        #expect(a.threshold == 600 && a.observed! >= 600)
        #expect(a.expected! > 1 && a.expected! < 30, "usual long gap of a 2/s service: \(a.expected!) s")
        #expect(a.message.hasPrefix("svc-orders has sent nothing for 10 min; its gaps are usually at most"))
        // It keeps firing, more severe, while the silence lasts; another principal's events change nothing.
        steady(h, other, rate: 1, from: last + 700, to: last + 2990, rng: &rng)
        #expect(h.anomalies.count == 4, "reported every 10 min: \(h.anomalies.map(\.ts))")
        #expect(h.anomalies.allSatisfy { $0.principal == p && $0.keyText == "svc-orders" })
        #expect(h.anomalies.map(\.severity) == [.low, .medium, .high, .critical])
        // Back: the event that ends the silence scores it, and the reports stop.
        let score = h.feed(ChunkEvent(ts: t0 + seconds(last + 3001), principal: p, size: 100))
        #expect(score > 0.99)
        let reports = h.anomalies.count
        steady(h, other, rate: 1, from: last + 3002, to: last + 5000, rng: &rng)
        steady(h, p, rate: 2, from: last + 5000, to: last + 6000, rng: &rng)
        #expect(h.anomalies.count == reports)
    }

    @Test(arguments: [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19] as [UInt64])
    func officeHoursPeopleAreNotFlaggedForNightsPausesOrWeekends(seed: UInt64) {
        let h = ClockedHarness(SilenceDetector())
        var rng = SplitMix64(seed: seed)
        let p = h.name("alice@corp")
        // Two weeks from a Monday: weekdays 08:00–18:00 in sessions of 5–60 min
        // with pauses of 5–90 min, like gen's people.
        for d in 0..<14 where d % 7 < 5 {
            var s = Double(d) * Self.day + 8 * Self.hour + Double.random(in: 0..<2700, using: &rng)
            let closing = Double(d) * Self.day + 18 * Self.hour
            while s < closing {
                let end = min(s + Double.random(in: 300..<3600, using: &rng), closing)
                steady(h, p, rate: 0.5, from: s, to: end, rng: &rng)
                s = end + Double.random(in: 300..<5400, using: &rng)
            }
        }
        h.tick(to: t0 + seconds(15 * Self.day))
        #expect(h.anomalies.isEmpty, "false alerts: \(h.anomalies.map(\.message))")
    }

    @Test func aDailyBatchJobIsNotFlaggedBetweenRuns() {
        let h = ClockedHarness(SilenceDetector())
        var rng = SplitMix64(seed: 2)
        let p = h.name("job-nightly-etl")
        for d in 0..<6 {
            let start = Double(d) * Self.day + 2 * Self.hour
            steady(h, p, rate: 5, from: start, to: start + 1800, rng: &rng)
        }
        h.tick(to: t0 + seconds(7 * Self.day))
        #expect(h.anomalies.isEmpty, "false alerts: \(h.anomalies.map(\.message))")
    }

    @Test func aPrincipalIsNotJudgedBeforeItsWarmup() {
        let h = ClockedHarness(SilenceDetector())
        var rng = SplitMix64(seed: 4)
        // An hour of steady traffic, then nothing: too little history to know it is steady.
        steady(h, h.name("svc-new"), rate: 5, from: 0, to: Self.hour, rng: &rng)
        h.tick(to: t0 + seconds(5 * Self.hour))
        #expect(h.anomalies.isEmpty)
    }

    @Test func aPrincipalSilentForDaysIsForgotten() {
        let detector = SilenceDetector()
        let h = ClockedHarness(detector)
        var rng = SplitMix64(seed: 5)
        let p = h.name("svc-retired")
        let last = steady(h, p, rate: 1, from: 0, to: 4 * Self.hour, rng: &rng)
        h.tick(to: t0 + seconds(last + 5 * Self.day))
        // Reported every 10 min for the 3 days after the limit, then no more.
        let reports = h.anomalies.count
        #expect(reports >= 3 * 144 - 2 && reports <= 3 * 144 + 1, "\(reports)")
        #expect(h.anomalies.last!.ts <= t0 + seconds(last + 3 * Self.day))
        // Back after that: it warms up again rather than carrying the old rhythm.
        steady(h, p, rate: 1, from: last + 5 * Self.day, to: last + 5 * Self.day + 1800, rng: &rng)
        h.tick(to: t0 + seconds(last + 6 * Self.day))
        #expect(h.anomalies.count == reports)
        #expect(detector.keyStats.tracked == 1)
    }

    @Test func theKeyLimitHolds() {
        var settings = SilenceDetector.Settings()
        settings.maxKeys = 100
        let detector = SilenceDetector(settings: settings)
        let h = ClockedHarness(detector)
        for i in 0..<1000 {
            h.feed(ChunkEvent(ts: t0 + seconds(Double(i)), principal: Symbol("p-\(i)"), size: 1))
        }
        #expect(detector.keyStats.tracked == 100 && detector.keyStats.evicted == 900)
    }

    // MARK: - gen

    @Test func findsGensSilencedService() throws {
        let replay = try GenReplay(
            WorkloadConfig(principals: 6, hours: 24, seed: 3, anomalies: [.silence]), detector: SilenceDetector())
        let label = try #require(replay.labels.first { $0.kind == .silence })
        let hits = replay.detections(of: label, grace: .seconds(0))
        #expect(hits.count == 1, "one alert for the 90-minute gap: \(hits.map(\.message))")
        if let hit = hits.first {
            // Found within about 11 minutes of the last chunk, and kept firing through the gap.
            #expect(hit.firstTs - label.start < .seconds(15 * 60))
            #expect(label.end - hit.lastTs < .seconds(15 * 60))
        }
        #expect(replay.unexplained().isEmpty, "false alerts: \(replay.unexplained().map(\.message))")
    }

    @Test func aCleanDayIsQuiet() throws {
        let replay = try GenReplay(
            WorkloadConfig(principals: 6, hours: 24, seed: 5, anomalies: []), detector: SilenceDetector())
        #expect(replay.events > 100_000 && replay.ticks == 8639)
        #expect(replay.alerts.isEmpty, "false alerts: \(replay.alerts.map(\.message))")
    }
}
