import Foundation
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
            for r in ranges where decoder.decode(UnsafeRawBufferPointer(rebasing: raw[r]), into: &event) == .event {
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
    memoryBenchmarks()
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

/// Resident memory of this process in bytes (from /proc/self/statm).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

let memoryBenchmarks: @Sendable () -> Void = {
    // 1 M distinct keys, each with a full window: what one tracked key of the size
    // baseline costs. Reported as a custom metric, bytes per key.
    Benchmark(
        "Size baseline memory per key at 1 M keys",
        configuration: .init(
            metrics: [.custom("bytes per key", polarity: .prefersSmaller, useScalingFactor: false), .wallClock],
            warmupIterations: 0, maxDuration: .seconds(120), maxIterations: 1)
    ) { benchmark in
        let keys = 1_000_000
        var settings = SizeDetector.Settings()
        settings.maxKeys = keys
        let before = residentBytes()
        let detector = SizeDetector(settings: settings)
        let context = DetectorContext(symbols: SymbolTable())
        var anomalies: [Anomaly] = []
        anomalies.reserveCapacity(1024)
        let t0 = Timestamp(epochMilliseconds: 1_795_392_000_000)
        for round in 0..<settings.window {
            for k in 0..<keys {
                let e = ChunkEvent(
                    ts: t0 + .milliseconds(round * keys + k), principal: Symbol(rawValue: UInt64(k + 1) &* 0x9E37_79B9_7F4A_7C15),
                    size: Int64(1000 + (k &* 31 + round &* 17) % 500))
                _ = detector.observe(e, context: context, anomalies: &anomalies)
                anomalies.removeAll(keepingCapacity: true)
            }
        }
        let after = residentBytes()
        precondition(detector.keyStats.tracked == keys)
        benchmark.measurement(.custom("bytes per key", polarity: .prefersSmaller, useScalingFactor: false), (after - before) / keys)
        blackHole(detector)
    }
}
