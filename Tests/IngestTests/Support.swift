import ChunkModel
import ChunkWatchTestKit
import Foundation
import Ingest
import Testing

/// A small seeded generator, so every fixture is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What became of one line: an accepted event, a tap drop report or a rejection.
enum Outcome: Equatable, Sendable, CustomStringConvertible {
    case event(ChunkEvent)
    case dropReport(TapDropReport)
    case rejected(RejectReason)

    var description: String {
        switch self {
        case .event(let e):
            "event(ts: \(e.ts.nanoseconds)ns, principal: \(e.principal.rawValue), size: \(e.size), dir: \(e.dir.name), "
                + "seq: \(e.seq), rate: \(e.rate), conn: \(e.conn.rawValue), resource: \(e.resource.rawValue), "
                + "hop: \(e.hop.rawValue), op: \(e.op.rawValue), checksum: \(e.checksum.rawValue), "
                + "expected: \(e.expectedChecksum.rawValue))"
        case .dropReport(let r): "dropReport(\(r))"
        case .rejected(let r): "rejected(\(r))"
        }
    }

    var reason: RejectReason? {
        if case .rejected(let r) = self { return r }
        return nil
    }

    var event: ChunkEvent? {
        if case .event(let e) = self { return e }
        return nil
    }
}

/// One framed line and what the decoder made of it.
struct Record: Equatable, Sendable, CustomStringConvertible {
    var line: Int
    var outcome: Outcome
    var description: String { "line \(line): \(outcome)" }
}

/// A decoder kept alive across lines (the way `EventReader` uses it), so the
/// tests also check that nothing leaks from one line into the next.
final class LineDecoder {
    let table: SymbolTable
    var decoder: ChunkEventDecoder

    init(maxLineLength: Int = 64 * 1024) {
        table = SymbolTable(capacity: 4096)
        decoder = ChunkEventDecoder(symbols: table, maxLineLength: maxLineLength)
    }

    func decode(_ bytes: [UInt8]) -> Outcome {
        bytes.withUnsafeBytes { decode($0) }
    }

    func decode(_ line: String) -> Outcome { decode(Array(line.utf8)) }

    func decode(_ raw: UnsafeRawBufferPointer) -> Outcome {
        // Start from a dirty event: the decoder must overwrite every field.
        var event = ChunkEvent(
            ts: Timestamp(nanoseconds: 42), principal: Symbol("stale"), size: 99, conn: Symbol("stale-conn"),
            resource: Symbol("stale-res"), dir: .outbound, seq: 7, checksum: Symbol("x"), expectedChecksum: Symbol("y"),
            hop: Symbol("stale-hop"), op: Symbol("stale-op"), rate: 3)
        switch decoder.decode(raw, into: &event) {
        case .event: return .event(event)
        case .dropReport: return .dropReport(decoder.dropReport)
        case .rejected(let reason): return .rejected(reason)
        }
    }
}

/// A decoded event with the defaults of SPEC §2 for every optional field.
func event(
    ms: Int64, _ principal: String, size: Int64, conn: String? = nil, resource: String? = nil,
    dir: Direction = .inbound, seq: Int64 = -1, checksum: String? = nil, expectedChecksum: String? = nil,
    hop: String? = nil, op: String? = nil, rate: Double = -1
) -> ChunkEvent {
    ChunkEvent(
        ts: Timestamp(epochMilliseconds: ms), principal: Symbol(principal), size: size,
        conn: conn.map(Symbol.init) ?? .none, resource: resource.map(Symbol.init) ?? .none, dir: dir, seq: seq,
        checksum: checksum.map(Symbol.init) ?? .none, expectedChecksum: expectedChecksum.map(Symbol.init) ?? .none,
        hop: hop.map(Symbol.init) ?? .gateway, op: op.map(Symbol.init) ?? .none, rate: rate)
}

/// 2026-11-25T08:00:03.120Z
let tsMs: Int64 = 1_795_593_603_120
let tsText = "2026-11-25T08:00:03.120Z"

/// `{"ts":…,"principal":…,"size":…` plus `extra`, closed. Values are raw JSON.
func line(ts: String = "\"\(tsText)\"", principal: String = "\"svc-billing\"", size: String = "16384", _ extra: String = "")
    -> String
{
    "{\"ts\":\(ts),\"principal\":\(principal),\"size\":\(size)\(extra)}"
}

// MARK: - Framing reference model

let maxLine = 64 * 1024

/// What `LineFramer` + decoder must produce, computed the obvious way: split
/// on `\n`, number every physical line from 1, drop one trailing `\r`, skip
/// empty lines, reject lines over the limit.
func referenceRecords(_ data: [UInt8], maxLineLength: Int = maxLine) -> [Record] {
    var parts = data.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
    if parts.last?.isEmpty == true { parts.removeLast() }
    let decoder = LineDecoder(maxLineLength: maxLineLength)
    var out: [Record] = []
    for (i, var part) in parts.enumerated() {
        if part.last == 0x0D { part.removeLast() }
        if part.isEmpty { continue }
        if part.count > maxLineLength {
            out.append(Record(line: i + 1, outcome: .rejected(.tooLong)))
        } else {
            out.append(Record(line: i + 1, outcome: decoder.decode(part)))
        }
    }
    return out
}

/// Feeds `data` to a `LineFramer` in chunks of the given sizes (cycled) and
/// decodes every line it hands out.
func framedRecords(_ data: [UInt8], chunkSizes: [Int], maxLineLength: Int = maxLine) -> [Record] {
    precondition(!chunkSizes.isEmpty && chunkSizes.allSatisfy { $0 > 0 })
    var framer = LineFramer(maxLineLength: maxLineLength)
    let decoder = LineDecoder(maxLineLength: maxLineLength)
    var out: [Record] = []
    func handle(_ line: LineFramer.Line, _ number: Int) {
        switch line {
        case .complete(let bytes): out.append(Record(line: number, outcome: decoder.decode(bytes)))
        case .tooLong: out.append(Record(line: number, outcome: .rejected(.tooLong)))
        }
    }
    data.withUnsafeBytes { all in
        var offset = 0
        var k = 0
        while offset < all.count {
            let n = min(chunkSizes[k % chunkSizes.count], all.count - offset)
            framer.feed(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)]), handle)
            offset += n
            k += 1
        }
    }
    framer.finish(handle)
    return out
}

// MARK: - Files

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TempDir {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("chunkwatch-ingest-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Everything `EventReader` delivered from one input.
struct ReadResult {
    var events: [ChunkEvent] = []
    var counts = IngestCounts()
    var error: (any Error)?
    var ingestError: IngestError? { error as? IngestError }
}

func readAll(_ path: String, readBufferSize: Int = 1 << 20, rejectsPath: String? = nil) -> ReadResult {
    let reader = EventReader(symbols: SymbolTable(capacity: 4096), readBufferSize: readBufferSize)
    if let rejectsPath { reader.rejects = try? RejectWriter(path: rejectsPath) }
    var result = ReadResult()
    do {
        try reader.read(InputFile(path: path)) { result.events.append($0) }
    } catch {
        result.error = error
    }
    try? reader.rejects?.close()
    result.counts = reader.counts
    return result
}

// MARK: - The lz4 command-line tool

/// The `lz4` tool; a hard requirement of the test suite (`make test` installs it).
func lz4Tool() throws -> String {
    var candidates = ["/usr/bin/lz4", "/usr/local/bin/lz4"]
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        candidates.append("\(dir)/lz4")
    }
    let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    return try #require(
        found,
        "the lz4 command-line tool is required by the LZ4 ingest tests but was not found (looked in /usr/bin, /usr/local/bin and PATH); install it with `make test` or `apt-get install lz4`"
    )
}

/// Runs `lz4 -q -f <options> input output` and checks that it succeeded.
func lz4Compress(_ input: String, _ output: String, options: [String] = []) throws {
    let r = try runSubprocess(try lz4Tool(), ["-q", "-f"] + options + [input, output])
    try #require(r.succeeded, "lz4 \(options.joined(separator: " ")) failed (status \(r.status)): \(r.stderrText)")
}

/// Compares two event sequences, reporting the first difference rather than
/// printing thousands of events.
func expectSameEvents(
    _ got: [ChunkEvent], _ want: [ChunkEvent], _ comment: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    if got == want { return }
    let first = (0..<min(got.count, want.count)).first { got[$0] != want[$0] }
    let at = first.map { "first difference at event \($0): got \(Outcome.event(got[$0])), want \(Outcome.event(want[$0]))" }
        ?? "one is a prefix of the other"
    Issue.record("\(comment()): \(got.count) events, want \(want.count); \(at)", sourceLocation: sourceLocation)
}

/// True when `got` is the start of `all` (complete, valid events only, in order).
func isPrefix(_ got: [ChunkEvent], of all: [ChunkEvent]) -> Bool {
    got.count <= all.count && got == Array(all.prefix(got.count))
}

/// Compares framed records, reporting the first difference.
func expectSameRecords(
    _ got: [Record], _ want: [Record], _ comment: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    if got == want { return }
    let first = (0..<min(got.count, want.count)).first { got[$0] != want[$0] }
    let at = first.map { "first difference at record \($0): got \(got[$0]), want \(want[$0])" } ?? "one is a prefix of the other"
    Issue.record("\(comment()): \(got.count) records, want \(want.count); \(at)", sourceLocation: sourceLocation)
}
