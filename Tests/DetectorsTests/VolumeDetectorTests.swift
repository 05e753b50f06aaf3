import ChunkModel
import Detectors
import Testing
import Workload
#if canImport(Glibc)
import Glibc
#endif

@Suite struct VolumeDetectorTests {
    /// A service's traffic: Poisson arrivals at `rate`/s with a ±20 % daily
    /// curve peaking at 14:00, two thirds of the chunks outbound; sizes
    /// lognormal around 20 KiB out and 2 KiB in. `extraOut` adds outbound
    /// chunks at that rate (per second) during its interval: an exfiltration drip.
    struct Service {
        var principal: Symbol
        var rate = 1.0
        var extraOut: (from: Timestamp, to: Timestamp, rate: Double)?
        var hops: [Symbol] = [.gateway]

        func run(_ h: DetectorHarness, from: Timestamp, to: Timestamp, rng: inout SplitMix64) {
            var ts = from
            while true {
                let phase = Double(ts.secondOfDay - 14 * 3600) / 86_400
                var r = rate * (1 + 0.2 * cos(2 * .pi * phase))
                var dripping = false
                if let extra = extraOut, ts >= extra.from && ts < extra.to {
                    r += extra.rate
                    dripping = true
                }
                ts = ts + seconds(rng.exponential(mean: 1 / r))
                if ts >= to { return }
                let out = dripping && Double.random(in: 0..<r, using: &rng) < extraOut!.rate ? true : Double.random(in: 0..<1, using: &rng) < 0.65
                let median = out ? 20_480.0 : 2048
                let size = Int64(median * exp(0.5 * rng.normal()))
                for (i, hop) in hops.enumerated() {
                    h.feed(ChunkEvent(ts: ts + seconds(0.005 * Double(i)), principal: principal, size: size, dir: out ? .outbound : .inbound, hop: hop))
                }
            }
        }
    }

    func day(_ d: Double) -> Timestamp { t0 + seconds(d * 86_400) }

    @Test func aSpikeIsFoundWithItsFigures() throws {
        let h = DetectorHarness(VolumeDetector())
        var rng = SplitMix64(seed: 1)
        let p = h.name("svc-a")
        let service = Service(principal: p)
        let spikeAt = day(2) + seconds(14 * 3600 + 62)
        service.run(h, from: t0, to: spikeAt, rng: &rng)
        #expect(h.anomalies.isEmpty, "false alerts: \(h.anomalies.map(\.message))")
        // 20 MiB out within a minute: about five times a five-minute bucket.
        for i in 0..<100 {
            h.feed(ChunkEvent(ts: spikeAt + seconds(Double(i) * 0.5), principal: p, size: 200 << 10, dir: .outbound))
        }
        let a = try #require(h.anomalies.first)
        #expect(h.anomalies.count == 1)
        #expect(a.detector == "volume")
        #expect(a.keyText == "svc-a|out")
        #expect(a.observed! >= 3 * a.expected!)
        #expect(a.threshold == 6)
        #expect(a.message.contains("svc-a") && a.message.contains("outbound") && a.message.contains("at this hour"))
        #expect(a.score > 0.5)
        #expect(a.ts - spikeAt < .seconds(60))
    }

    @Test func aDripIsFoundOnceWhileNoBucketStandsOut() throws {
        let h = DetectorHarness(VolumeDetector())
        var rng = SplitMix64(seed: 2)
        let p = h.name("svc-b")
        // Outbound is 0.65 chunks/s at this rate; the drip adds as much for two hours.
        let dripStart = day(2) + seconds(10 * 3600)
        let dripEnd = dripStart + .seconds(7200)
        let service = Service(principal: p, rate: 1, extraOut: (dripStart, dripEnd, 0.65))
        service.run(h, from: t0, to: day(3), rng: &rng)
        let a = try #require(h.anomalies.first, "the drip was missed")
        #expect(h.anomalies.count == 1, "alerts: \(h.anomalies.map(\.message))")
        #expect(a.ts >= dripStart && a.ts - dripStart < .seconds(90 * 60))
        #expect(a.keyText == "svc-b|out")
        #expect(a.message.contains("sustained rise") && a.message.contains("since 10:00 UTC"))
        #expect(a.threshold == 4)
        #expect(a.observed! > 1.5 * a.expected!)
    }

    @Test func aLastingRiseIsReportedOnceNotForever() {
        let h = DetectorHarness(VolumeDetector())
        var rng = SplitMix64(seed: 3)
        let p = h.name("svc-c")
        let from = day(2) + seconds(10 * 3600)
        // Outbound doubles for good: the first day after it alerts, then the key re-baselines.
        Service(principal: p, rate: 1, extraOut: (from, day(6), 0.65)).run(h, from: t0, to: day(6), rng: &rng)
        #expect(!h.anomalies.isEmpty)
        #expect(h.anomalies.count <= 2, "alerts: \(h.anomalies.map { "\($0.ts) \($0.message)" })")
        #expect(h.anomalies.allSatisfy { $0.ts < from + .seconds(86_400) })
    }

    @Test func sinkCopiesAreNotCountedTwice() {
        func run(hops: [Symbol]) -> (scores: [Double], anomalies: [Anomaly]) {
            let h = DetectorHarness(VolumeDetector())
            var rng = SplitMix64(seed: 4)
            let p = h.name("svc-d")
            let dripStart = day(1) + seconds(15 * 3600)
            Service(principal: p, rate: 0.5, extraOut: (dripStart, dripStart + .seconds(7200), 0.33), hops: hops)
                .run(h, from: t0, to: day(2), rng: &rng)
            return (stride(from: 0, to: h.scores.count, by: hops.count).map { h.scores[$0] }, h.anomalies)
        }
        let once = run(hops: [.gateway])
        let twice = run(hops: [.gateway, Symbol("sink")])
        #expect(once.scores == twice.scores)
        #expect(once.anomalies.map(\.message) == twice.anomalies.map(\.message))
        #expect(!once.anomalies.isEmpty)
    }

    @Test func noAlertDuringWarmup() {
        let h = DetectorHarness(VolumeDetector())
        var rng = SplitMix64(seed: 5)
        let p = h.name("svc-e")
        Service(principal: p).run(h, from: t0, to: t0 + .seconds(3600), rng: &rng)
        let late = t0 + .seconds(3600)
        for i in 0..<200 { h.feed(ChunkEvent(ts: late + seconds(Double(i)), principal: p, size: 1 << 20, dir: .outbound)) }
        #expect(h.anomalies.isEmpty)
        #expect(h.scores.allSatisfy { $0 == 0 })
    }

    @Test func keysAreBoundedAndEvictionsCounted() {
        var settings = VolumeDetector.Settings()
        settings.maxKeys = 50
        let h = DetectorHarness(VolumeDetector(settings: settings))
        for i in 0..<500 {
            h.feed(ChunkEvent(ts: t0 + seconds(Double(i)), principal: Symbol("random-\(i)"), size: 100, dir: i % 2 == 0 ? .inbound : .outbound))
        }
        #expect(h.detector.keyStats.tracked == 50)
        #expect(h.detector.keyStats.evicted == 450)
    }

    // MARK: gen

    /// Seed 3 drips on the first evening (the recent baseline judges it), seed 4
    /// after midnight (the hour of day learned the day before judges it).
    @Test(arguments: [3, 4] as [UInt64])
    func findsGensDrip(seed: UInt64) throws {
        let config = WorkloadConfig(principals: 6, hours: 30, seed: seed, anomalies: [.volume])
        let run = try GenDetectorRun(config, [("volume", { VolumeDetector() })])
        let label = try #require(run.labels.first { $0.kind == .volume })
        let hits = run.detections(of: label)
        #expect(hits.contains { $0.detector == "volume" && $0.principal == label.principal }, "missed the drip on \(label.principal)")
        #expect(run.unexplained().isEmpty, "false alerts: \(run.unexplained().map(\.message))")
    }

    @Test func quietOnCleanDiurnalDays() throws {
        let run = try GenDetectorRun.cleanThreeDays.get()
        let alerts = run.firing.filter { $0.detector == "volume" }
        #expect(alerts.isEmpty, "false alerts: \(alerts.map(\.message))")
    }
}
