import ChunkModel
import Detectors
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SizeDetectorTests {
    /// A day of lognormal sizes on several keys: nothing should fire.
    @Test func cleanLognormalStreamIsQuiet() {
        let h = DetectorHarness(SizeDetector())
        var rng = SplitMix64(seed: 42)
        let principals = (0..<8).map { h.name("svc-\($0)") }
        let resources = [h.name("pg://orders"), h.name("https://api/v1/users")]
        var ts = t0
        for i in 0..<60_000 {
            let p = i % principals.count
            let median = 200.0 * pow(4, Double(p))
            let size = Int64(median * exp(0.7 * rng.normal()))
            ts = ts + seconds(1.4)
            h.feed(ChunkEvent(ts: ts, principal: principals[p], size: max(0, size), resource: resources[i % 2], dir: i % 3 == 0 ? .outbound : .inbound))
        }
        #expect(h.anomalies.isEmpty, "false alerts: \(h.anomalies.map(\.message))")
    }

    @Test func aHugeChunkIsFoundWithItsFigures() throws {
        let h = DetectorHarness(SizeDetector())
        var rng = SplitMix64(seed: 7)
        let p = h.name("svc-billing")
        let r = h.name("pg://orders")
        var ts = t0
        for _ in 0..<500 {
            ts = ts + seconds(1)
            h.feed(ChunkEvent(ts: ts, principal: p, size: Int64(16384 * exp(0.3 * rng.normal())), resource: r, dir: .outbound))
        }
        #expect(h.anomalies.isEmpty)
        let score = h.feed(ChunkEvent(ts: ts + seconds(1), principal: p, size: 1 << 20, resource: r, dir: .outbound))
        let a = try #require(h.anomalies.first)
        #expect(h.anomalies.count == 1)
        #expect(score > 0.9)
        #expect(a.detector == "size")
        #expect(a.observed == 1_048_576)
        #expect(abs(a.expected! - 16384) < 16384 * 0.1)
        #expect(a.message.contains("svc-billing") && a.message.contains("pg://orders") && a.message.contains("1 MiB"))
        #expect(a.keyText == "svc-billing|pg://orders|out")
    }

    @Test func nearConstantSizesDoNotAlertOnAFewBytes() {
        let h = DetectorHarness(SizeDetector())
        let p = h.name("svc-heartbeat")
        var ts = t0
        for i in 0..<400 {
            ts = ts + seconds(1)
            // Exactly 512 bytes, then 530: a MAD of zero must not turn 18 bytes into an alert.
            h.feed(ChunkEvent(ts: ts, principal: p, size: i < 300 ? 512 : 530))
        }
        #expect(h.anomalies.isEmpty)
        h.feed(ChunkEvent(ts: ts + seconds(1), principal: p, size: 512 * 64))
        #expect(h.anomalies.count == 1)
    }

    @Test func noAlertDuringWarmup() {
        var settings = SizeDetector.Settings()
        settings.warmup = 50
        let h = DetectorHarness(SizeDetector(settings: settings))
        let p = h.name("svc-new")
        var ts = t0
        for i in 0..<49 {
            ts = ts + seconds(1)
            h.feed(ChunkEvent(ts: ts, principal: p, size: i == 40 ? 10_000_000 : 1000))
        }
        #expect(h.anomalies.isEmpty)
        #expect(h.scores.allSatisfy { $0 == 0 })
        for _ in 0..<2 {
            ts = ts + seconds(1)
            h.feed(ChunkEvent(ts: ts, principal: p, size: 1000))
        }
        // The warm-up's 10 MB chunk is still in the window, so the tail beyond
        // the window's largest chunks reaches that far: a chunk far beyond it
        // alerts (a second 10 MB one would be less surprising than the first).
        h.feed(ChunkEvent(ts: ts + seconds(1), principal: p, size: 1_000_000_000))
        #expect(h.anomalies.count == 1)
    }

    /// A key whose sizes are a mixture, mostly small requests and one in
    /// seven a bulk write 40–80× larger (many of them one frame size), is
    /// quiet: every bulk write has others like it in the window. A chunk far
    /// beyond the bulk writes still alerts.
    @Test func aBulkModeIsNotAnOutlierButAChunkFarBeyondItIs() throws {
        let h = DetectorHarness(SizeDetector())
        var rng = SplitMix64(seed: 21)
        let p = h.name("svc-pricing")
        let r = h.name("pg://prices")
        var ts = t0
        for _ in 0..<20_000 {
            ts = ts + seconds(0.5)
            let bulk = Double.random(in: 0..<1, using: &rng) < 0.14
            let size: Double =
                bulk ? (Double.random(in: 0..<1, using: &rng) < 0.5 ? 16384 : 240 * 60 * exp(0.3 * rng.normal())) : 240 * exp(0.6 * rng.normal())
            h.feed(ChunkEvent(ts: ts, principal: p, size: Int64(size), resource: r, dir: .inbound))
        }
        #expect(h.anomalies.isEmpty, "false alerts: \(h.anomalies.prefix(3).map(\.message))")
        h.feed(ChunkEvent(ts: ts + seconds(1), principal: p, size: 240 * 1500, resource: r, dir: .inbound))
        let a = try #require(h.anomalies.first, "a chunk 1500× the usual, 20× the bulk writes")
        #expect(a.observed == 360_000)
    }

    @Test func scoreIsMonotoneInSize() {
        let h = DetectorHarness(SizeDetector())
        var rng = SplitMix64(seed: 3)
        let p = h.name("svc-a")
        var ts = t0
        for _ in 0..<200 {
            ts = ts + seconds(1)
            h.feed(ChunkEvent(ts: ts, principal: p, size: Int64(4096 * exp(0.4 * rng.normal()))))
        }
        // Scoring without learning: a fresh detector per probe would need warm-up,
        // so probe sizes in increasing order on one detector with a large window.
        var last = -1.0
        for size in [4096, 8192, 16384, 65536, 262_144, 1 << 20, 1 << 24] {
            let before = h.detector.observe(
                ChunkEvent(ts: ts, principal: p, size: Int64(size)), context: h.context, anomalies: &h.anomalies)
            #expect(before >= last)
            #expect(before >= 0 && before <= 1)
            last = before
        }
        #expect(last > 0.99)
    }

    @Test func keysAreBoundedAndEvictionsCounted() {
        var settings = SizeDetector.Settings()
        settings.maxKeys = 100
        let h = DetectorHarness(SizeDetector(settings: settings))
        for i in 0..<1000 {
            h.feed(ChunkEvent(ts: t0 + seconds(Double(i)), principal: Symbol("random-\(i)"), size: 100))
        }
        #expect(h.detector.keyStats.tracked == 100)
        #expect(h.detector.keyStats.evicted == 900)
    }
}
