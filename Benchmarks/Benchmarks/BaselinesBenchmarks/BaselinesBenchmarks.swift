import Baselines
import Benchmark
import BenchmarkFixtures
import ChunkModel
import Detectors
import Ingest

/// Decoded events of gen's traffic, and detectors already warm on them.
final class DetectorBench {
    let events: [ChunkEvent]
    let context: DetectorContext
    let size = SizeDetector()
    let rate = RateDetector()
    var anomalies: [Anomaly] = []

    init(count: Int) {
        let (bytes, ranges) = Fixtures.lines(count: count)
        let symbols = SymbolTable()
        var decoder = ChunkEventDecoder(symbols: symbols)
        var event = ChunkEvent.empty
        var events: [ChunkEvent] = []
        bytes.withUnsafeBytes { raw in
            for r in ranges where decoder.decode(UnsafeRawBufferPointer(rebasing: raw[r]), into: &event) == nil {
                events.append(event)
            }
        }
        self.events = events
        context = DetectorContext(symbols: symbols)
        anomalies.reserveCapacity(1024)
        // Warm up on the first half so the measured events hit full windows.
        for e in events.prefix(events.count / 2) {
            _ = size.observe(e, context: context, anomalies: &anomalies)
            _ = rate.observe(e, context: context, anomalies: &anomalies)
        }
        anomalies.removeAll(keepingCapacity: true)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 2,
        scalingFactor: .mega,
        maxDuration: .seconds(3),
        maxIterations: 100
    )

    let bench = DetectorBench(count: 400_000)
    let half = bench.events.count / 2
    var next = half

    // One scaled iteration is one event through the detector's baseline update
    // and scoring (time in ns per event, throughput in M events/s), on the second
    // half of the stream: the first half warmed the baselines.
    for detector in [bench.size as any Detector, bench.rate as any Detector] {
        Benchmark(
            "Baseline update and score: \(detector.name)",
            configuration: .init(thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])
        ) { benchmark in
            var total = 0.0
            for _ in benchmark.scaledIterations {
                total += detector.observe(bench.events[next], context: bench.context, anomalies: &bench.anomalies)
                next += 1
                if next == bench.events.count { next = half }
            }
            // Anomalies are rare and allocate by design; keep the buffer from growing.
            bench.anomalies.removeAll(keepingCapacity: true)
            blackHole(total)
        }
    }

    // The rolling median/MAD window alone.
    var windows = RollingWindows(window: 96)
    for s in 0..<256 { windows.reset(s) }
    var value: Float = 1
    var slot = 0
    Benchmark("RollingWindows push + median (window 96)") { benchmark in
        for _ in benchmark.scaledIterations {
            value = value * 1.000_173 + 0.37
            if value > 30 { value -= 29 }
            windows.push(slot, value)
            blackHole(windows.median(slot))
            slot = (slot + 1) & 255
        }
        blackHole(windows.mad(slot))
    }
}
