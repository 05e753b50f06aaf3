import ChunkModel
import Detectors
import Testing
import Workload

@Suite struct RateDetectorTests {
    /// Poisson arrivals at a steady rate for a simulated day.
    func steady(_ h: DetectorHarness, _ p: Symbol, rate: Double, from: Timestamp, hours: Double, rng: inout SplitMix64) -> Timestamp {
        var ts = from
        let end = from + seconds(hours * 3600)
        while ts < end {
            ts = ts + seconds(rng.exponential(mean: 1 / rate))
            h.feed(ChunkEvent(ts: ts, principal: p, size: 1000))
        }
        return ts
    }

    @Test func steadyPrincipalsAreQuietForADay() {
        let h = DetectorHarness(RateDetector())
        var rng = SplitMix64(seed: 11)
        // Interleaving does not matter to a per-principal baseline; run each in turn.
        for (i, rate) in [0.5, 2.0, 8.0].enumerated() {
            _ = steady(h, h.name("svc-\(i)"), rate: rate, from: t0, hours: 24, rng: &rng)
        }
        #expect(h.anomalies.isEmpty, "false alerts: \(h.anomalies.map(\.message))")
    }

    @Test func aSurgeIsFoundWithinItsFirstBucket() throws {
        let h = DetectorHarness(RateDetector())
        var rng = SplitMix64(seed: 5)
        let p = h.name("svc-orders")
        var ts = steady(h, p, rate: 2, from: t0, hours: 3, rng: &rng)
        #expect(h.anomalies.isEmpty)
        let surgeStart = ts
        // Ten times the rate for ten minutes.
        while ts < surgeStart + seconds(600) {
            ts = ts + seconds(rng.exponential(mean: 1 / 20.0))
            h.feed(ChunkEvent(ts: ts, principal: p, size: 1000))
        }
        let first = try #require(h.anomalies.first)
        #expect(first.detector == "rate")
        #expect(first.ts - surgeStart < .seconds(120))
        #expect(first.observed! >= 3 * first.expected!)
        #expect(first.message.contains("svc-orders"))
    }

    @Test func sleepingAtNightIsNotACollapseNorIsTheMorningASurge() {
        let h = DetectorHarness(RateDetector())
        var rng = SplitMix64(seed: 9)
        let p = h.name("alice@corp")
        for day in 0..<3 {
            let start = t0 + seconds(Double(day) * 86_400 + 9 * 3600)
            _ = steady(h, p, rate: 1.5, from: start, hours: 8, rng: &rng)
        }
        #expect(h.anomalies.isEmpty, "false alerts: \(h.anomalies.map(\.message))")
    }

    @Test func aCollapseOfABusyPrincipalIsFound() {
        let h = DetectorHarness(RateDetector())
        var rng = SplitMix64(seed: 13)
        let p = h.name("svc-stream")
        var ts = steady(h, p, rate: 20, from: t0, hours: 2, rng: &rng)
        #expect(h.anomalies.isEmpty)
        // One chunk a minute for ten minutes.
        for _ in 0..<10 {
            ts = ts + seconds(60)
            h.feed(ChunkEvent(ts: ts, principal: p, size: 1000))
        }
        #expect(h.anomalies.contains { $0.message.contains("collapse") })
    }

    // MARK: Time of day

    /// An office worker, Monday to Thursday: a busy first hour from 09:00
    /// (4 chunks/s), then 1/s until 17:00. Returns the harness with the week
    /// learned.
    func officeWeek(_ settings: RateDetector.Settings = .init(), days: Int = 4) -> (DetectorHarness, Symbol) {
        let h = DetectorHarness(RateDetector(settings: settings))
        var rng = SplitMix64(seed: 21)
        let p = h.name("carol@corp")
        for day in 0..<days {
            let morning = t0 + seconds(Double(day) * 86_400 + 9 * 3600)
            _ = steady(h, p, rate: 4, from: morning, hours: 1, rng: &rng)
            _ = steady(h, p, rate: 1, from: morning + .seconds(3600), hours: 7, rng: &rng)
        }
        return (h, p)
    }

    @Test func anOfficeWorkersMorningRampIsNotASurge() {
        let (h, _) = officeWeek()
        #expect(h.anomalies.isEmpty, "false alerts: \(h.anomalies.map(\.message))")
        // Without the profile the recent baseline still holds yesterday afternoon's
        // pace, and every morning from Tuesday on looks like a surge.
        var plain = RateDetector.Settings()
        plain.timeOfDay = false
        let (without, _) = officeWeek(plain)
        #expect(without.anomalies.count >= 3)
        #expect(without.anomalies.allSatisfy { $0.ts.secondOfDay / 3600 == 9 })
    }

    @Test func activityAt3amIsFlaggedOnceTheNightsWereWatched() throws {
        let (h, p) = officeWeek()
        // Friday 03:00, at an ordinary daytime pace: nights Tuesday to Thursday were watched and empty.
        var rng = SplitMix64(seed: 22)
        let night = t0 + .seconds(4 * 86_400 + 3 * 3600)
        var ts = night
        var top = 0.0
        while ts < night + .seconds(600) {
            ts = ts + seconds(rng.exponential(mean: 1 / 1.5))
            top = max(top, h.feed(ChunkEvent(ts: ts, principal: p, size: 1000)))
        }
        let a = try #require(h.anomalies.first, "03:00 activity was not flagged")
        #expect(a.ts - night < .seconds(60))
        #expect(a.message.contains("carol@corp") && a.message.contains("03:00 UTC") && a.message.contains("almost never active"))
        #expect(top > 0.99)
        #expect(a.expected! < 1)
    }

    @Test func aNightIsNotQuietBeforeEnoughOfItWasWatched() {
        // Monday and Tuesday only: Wednesday 03:00 has one watched night behind it.
        let (h, p) = officeWeek(days: 2)
        var rng = SplitMix64(seed: 23)
        _ = steady(h, p, rate: 1.5, from: t0 + .seconds(2 * 86_400 + 3 * 3600), hours: 0.2, rng: &rng)
        #expect(h.anomalies.isEmpty, "alerts: \(h.anomalies.map(\.message))")
    }

    @Test func quietOnCleanDiurnalDays() throws {
        let run = try GenDetectorRun.cleanThreeDays.get()
        let alerts = run.firing.filter { $0.detector == "rate" }
        #expect(alerts.isEmpty, "false alerts: \(alerts.map(\.message))")
    }
}
