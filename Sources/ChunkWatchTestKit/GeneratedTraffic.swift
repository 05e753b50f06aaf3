import ChunkModel
import Ingest
import Workload

/// `gen`'s traffic as the pipeline sees it: the generator writes NDJSON, the
/// real decoder reads it back. For tests and benchmarks, ours and users'.
public enum GeneratedTraffic {
    /// Calls `body` with each decoded event of the workload, in stream order.
    /// A line the decoder rejects is a bug in one of them: it is passed to
    /// `rejected` (with the line's text) and skipped.
    public static func forEachEvent(
        _ generator: inout WorkloadGenerator, symbols: SymbolTable,
        rejected: (String) -> Void = { preconditionFailure("gen wrote a line the decoder rejects: \($0)") },
        _ body: (ChunkEvent) throws -> Void
    ) rethrows {
        var decoder = ChunkEventDecoder(symbols: symbols)
        var buffer = OutputBuffer(capacity: 1 << 20)
        var event = ChunkEvent.empty
        while generator.fill(into: &buffer, upToBytes: 1 << 20) > 0 {
            try buffer.bytes.withUnsafeBytes { raw in
                var start = 0
                for i in 0..<raw.count where raw[i] == UInt8(ascii: "\n") {
                    let line = UnsafeRawBufferPointer(rebasing: raw[start..<i])
                    start = i + 1
                    if case .event = decoder.decode(line, into: &event) {
                        try body(event)
                    } else {
                        rejected(String(decoding: line, as: UTF8.self))
                    }
                }
            }
            buffer.removeAll()
        }
    }

    /// All decoded events of a workload, its labels and the symbols naming them.
    public static func events(_ config: WorkloadConfig) throws -> (events: [ChunkEvent], labels: [LabelWindow], symbols: SymbolTable) {
        var generator = try WorkloadGenerator(config: config)
        let symbols = SymbolTable()
        var out: [ChunkEvent] = []
        forEachEvent(&generator, symbols: symbols) { out.append($0) }
        return (out, generator.labels, symbols)
    }
}
