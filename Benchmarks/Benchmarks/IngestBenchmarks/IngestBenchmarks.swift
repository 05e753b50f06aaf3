import Benchmark
import BenchmarkFixtures
import ChunkModel
import Ingest

/// A decoder with a warmed symbol table, so the measured loop sees known
/// names only, as a long-running reader does.
final class WarmDecoder {
    var decoder: ChunkEventDecoder
    var event = ChunkEvent.empty
    let bytes: [UInt8]
    let ranges: [Range<Int>]

    init(lines: Int) {
        (bytes, ranges) = Fixtures.lines(count: lines)
        decoder = ChunkEventDecoder(symbols: SymbolTable())
        _ = decodeAll(from: 0, count: ranges.count)
    }

    /// Decodes `count` lines starting at `from` (wrapping); returns how many were accepted.
    func decodeAll(from: Int, count: Int) -> Int {
        var accepted = 0
        bytes.withUnsafeBytes { raw in
            var i = from % ranges.count
            for _ in 0..<count {
                if case .event = decoder.decode(UnsafeRawBufferPointer(rebasing: raw[ranges[i]]), into: &event) { accepted += 1 }
                i += 1
                if i == ranges.count { i = 0 }
            }
        }
        return accepted
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 2,
        maxDuration: .seconds(3),
        maxIterations: 100
    )

    // gen's traffic decoded line by line from memory: the NDJSON scanner,
    // timestamp parsing and symbol interning, no I/O. One scaled iteration is
    // one event: time reads as ns per event, throughput as M events/s.
    let warm = WarmDecoder(lines: 200_000)
    var position = 0
    Benchmark(
        "Decode NDJSON event",
        configuration: .init(
            scalingFactor: .mega,
            thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])
    ) { benchmark in
        let n = benchmark.scaledIterations.count
        blackHole(warm.decodeAll(from: position, count: n))
        position += n
    }
}
