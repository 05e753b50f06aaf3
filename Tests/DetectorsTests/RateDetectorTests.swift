import ChunkModel
import Detectors
import Testing

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
}
