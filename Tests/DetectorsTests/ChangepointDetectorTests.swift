import ChunkModel
import Detectors
import Testing
import Workload
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ChangepointDetectorTests {
    /// Feeds `count` chunks of one key, one every `gap` seconds on average,
    /// lognormal around `median` with natural-log spread `sigma`; returns the last time.
    @discardableResult
    func feed(
        _ h: DetectorHarness, _ p: Symbol, _ r: Symbol, count: Int, median: Double, sigma: Double, dir: Direction = .outbound,
        from: Timestamp, gap: Double = 2, rng: inout SplitMix64
    ) -> Timestamp {
        var ts = from
        for _ in 0..<count {
            ts = ts + seconds(rng.exponential(mean: gap))
            h.feed(ChunkEvent(ts: ts, principal: p, size: Int64(median * exp(sigma * rng.normal())), resource: r, dir: dir))
        }
        return ts
    }

    @Test func aSizeShiftIsFoundOnceAndRebaselined() throws {
        let h = DetectorHarness(ChangepointDetector())
        var rng = SplitMix64(seed: 1)
        let p = h.name("svc-a")
        let r = h.name("pg://orders")
        let change = feed(h, p, r, count: 3000, median: 4096, sigma: 0.6, from: t0, rng: &rng)
        #expect(h.anomalies.isEmpty, "false alerts: \(h.anomalies.map(\.message))")
        // Replies 1.8× larger from now on: 0.85 log2 units, 1.4 σ of one chunk.
        let after = feed(h, p, r, count: 400, median: 4096 * 1.8, sigma: 0.6, from: change, rng: &rng)
        let a = try #require(h.anomalies.first, "the shift was missed")
        #expect(a.detector == "changepoint")
        #expect(a.keyText == "svc-a|pg://orders")
        #expect(a.ts > change)
        #expect(abs(a.observed! / a.expected! - 1.8) < 0.4)
        #expect(a.threshold == 8)
        #expect(a.message.contains("outbound chunks of svc-a on pg://orders have grown"))
        // Re-baselined: the new level is normal now.
        feed(h, p, r, count: 20_000, median: 4096 * 1.8, sigma: 0.6, from: after, rng: &rng)
        #expect(h.anomalies.count == 1, "alerts: \(h.anomalies.map(\.message))")
    }

    @Test func aShrinkIsFoundToo() throws {
        let h = DetectorHarness(ChangepointDetector())
        var rng = SplitMix64(seed: 2)
        let p = h.name("svc-b")
        let r = h.name("https://api/v1/users")
        let change = feed(h, p, r, count: 2000, median: 20_000, sigma: 0.4, dir: .inbound, from: t0, rng: &rng)
        feed(h, p, r, count: 300, median: 10_000, sigma: 0.4, dir: .inbound, from: change, rng: &rng)
        let a = try #require(h.anomalies.first)
        #expect(a.message.contains("inbound chunks of svc-b") && a.message.contains("shrunk") && a.message.contains("÷"))
        #expect(a.observed! < a.expected!)
    }

    @Test func noiseAndSmallWobblesStayQuiet() {
        let h = DetectorHarness(ChangepointDetector())
        var rng = SplitMix64(seed: 3)
        let r = h.name("pg://orders")
        for (i, sigma) in [0.05, 0.3, 0.8, 1.2].enumerated() {
            let p = h.name("svc-\(i)")
            let t = feed(h, p, r, count: 15_000, median: 1000 * Double(i + 1), sigma: sigma, from: t0, rng: &rng)
            // +15 %: below the smallest size shift worth reporting (×1.41).
            feed(h, p, r, count: 15_000, median: 1150 * Double(i + 1), sigma: sigma, from: t, rng: &rng)
        }
        #expect(h.anomalies.isEmpty, "false alerts: \(h.anomalies.map(\.message))")
    }

    @Test func aSustainedRateShiftIsFoundButADailyCurveIsNot() throws {
        let h = DetectorHarness(ChangepointDetector())
        var rng = SplitMix64(seed: 4)
        let p = h.name("svc-c")
        let r = h.name("redis://sessions")
        // A day and a half at 1/s ± 20 % over the day, then 2.5 times that.
        var ts = t0
        let change = t0 + .seconds(36 * 3600)
        var beforeChange: [String] = []
        while ts < change + .seconds(2 * 3600) {
            let phase = Double(ts.secondOfDay) / 86_400
            let rate = (1 + 0.2 * cos(2 * .pi * phase)) * (ts >= change ? 2.5 : 1)
            ts = ts + seconds(rng.exponential(mean: 1 / rate))
            if ts < change { beforeChange = h.anomalies.map(\.message) }
            h.feed(ChunkEvent(ts: ts, principal: p, size: 512, resource: r, dir: .outbound))
        }
        #expect(beforeChange.isEmpty, "false alerts: \(beforeChange)")
        let a = try #require(h.anomalies.first)
        #expect(a.message.contains("chunk rate on redis://sessions has risen"))
        #expect(a.ts - change < .seconds(3600))
        #expect(abs(a.observed! / a.expected! - 2.5) < 0.6)
    }

    @Test func sessionEdgesAreNotRateShifts() {
        let h = DetectorHarness(ChangepointDetector())
        var rng = SplitMix64(seed: 5)
        let p = h.name("alice@corp")
        let r = h.name("https://kibana/api")
        // Three days of 20-minute sessions every hour, at 0.8–1.2 chunks/s.
        for session in 0..<72 {
            let start = t0 + .seconds(3600 * session + Int(rng.next() % 1200))
            let rate = Double.random(in: 0.8...1.2, using: &rng)
            var ts = start
            while ts < start + .seconds(1200) {
                ts = ts + seconds(rng.exponential(mean: 1 / rate))
                h.feed(ChunkEvent(ts: ts, principal: p, size: Int64(800 * exp(0.5 * rng.normal())), resource: r, dir: .outbound))
            }
        }
        #expect(h.anomalies.isEmpty, "false alerts: \(h.anomalies.map(\.message))")
    }

    @Test func keysAreBoundedAndEvictionsCounted() {
        var settings = ChangepointDetector.Settings()
        settings.maxKeys = 64
        let h = DetectorHarness(ChangepointDetector(settings: settings))
        let r = h.name("pg://a")
        for i in 0..<640 {
            h.feed(ChunkEvent(ts: t0 + seconds(Double(i)), principal: Symbol("random-\(i)"), size: 100, resource: r))
        }
        #expect(h.detector.keyStats.tracked == 64)
        #expect(h.detector.keyStats.evicted == 576)
    }

    // MARK: gen

    /// Seed 3 shifts on the first evening, seed 4 after midnight.
    @Test(arguments: [3, 4] as [UInt64])
    func findsGensShift(seed: UInt64) throws {
        let config = WorkloadConfig(principals: 6, hours: 30, seed: seed, anomalies: [.changepoint])
        let run = try GenDetectorRun(config, [("changepoint", { ChangepointDetector() })])
        let label = try #require(run.labels.first { $0.kind == .changepoint })
        let hits = run.detections(of: label)
        let hit = try #require(hits.first { $0.detector == "changepoint" }, "missed the shift on \(label.principal)")
        // Found within the hour, not just somewhere in the rest of the run.
        #expect(hit.firstTs - label.start < .seconds(3600))
        #expect(hits.count == 1, "alerts: \(hits.map(\.message))")
        #expect(run.unexplained().isEmpty, "false alerts: \(run.unexplained().map(\.message))")
    }

    @Test func quietOnCleanDiurnalDays() throws {
        let run = try GenDetectorRun.cleanThreeDays.get()
        let alerts = run.firing.filter { $0.detector == "changepoint" }
        #expect(alerts.isEmpty, "false alerts: \(alerts.map(\.message))")
    }
}
