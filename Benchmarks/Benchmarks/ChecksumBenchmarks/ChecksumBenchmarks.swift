import Benchmark
import ChunkTap

// The proxy's CRC32C of each chunk it forwards (`CRC32C.checksum`), on 16 KiB
// (a bulk transfer's usual read) and 64 KiB (the largest) chunks, on the CPU's
// CRC instruction and on the slicing-by-8 table that CPUs without it use.
// One scaled iteration is one chunk (×1 K): wall clock is time per chunk,
// throughput chunks per second, and "MB/s" the bytes summed per second
// (10⁶ bytes, measured over each iteration's 1 000 chunks).

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, megabytesPerSecond],
        units: [megabytesPerSecond: .count],  // whole MB/s, not "33 (K)"
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1000,
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )

    // Bytes that are not all alike, made once; the array's storage is 16-byte aligned.
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    let bytes: [UInt8] = (0..<(64 * 1024)).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 56)
    }

    var implementations: [(String, CRC32C.Implementation)] = [("table", .table)]
    if CRC32C.usesHardware { implementations.insert(("hardware", .hardware), at: 0) }

    for (name, implementation) in implementations {
        for size in [16 * 1024, 64 * 1024] {
            Benchmark("CRC32C \(size / 1024) KiB, \(name)") { benchmark in
                bytes.withUnsafeBytes { all in
                    let chunk = UnsafeRawBufferPointer(rebasing: all[..<size])
                    // Each chunk extends the previous CRC, so no call can be skipped or hoisted.
                    var crc: UInt32 = 0
                    let clock = ContinuousClock()
                    let start = clock.now
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations {
                        crc = CRC32C.checksum(chunk, extending: crc, using: implementation)
                    }
                    benchmark.stopMeasurement()
                    let elapsed = clock.now - start
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                    let total = Double(size * benchmark.scaledIterations.count)
                    benchmark.measurement(megabytesPerSecond, Int((total / seconds / 1e6).rounded()))
                    blackHole(crc)
                }
            }
        }
    }
}

/// Bytes summed per second, in 10⁶: reported as is, not scaled by the iteration count.
let megabytesPerSecond = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)
