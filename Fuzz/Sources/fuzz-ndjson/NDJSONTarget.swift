import ChunkModel
import FuzzSupport
import Ingest

/// The NDJSON path of every transport: bytes cut into lines by `LineFramer`
/// (fed in pieces), each line decoded by `ChunkEventDecoder`.
///
/// Checks, besides "no crash": the framer hands out exactly the lines a plain
/// split of the whole input gives (same numbers, same bytes, too-long ones
/// flagged), so every line is accounted for once (accepted, a drop report, or
/// rejected with a reason); an accepted event has a principal, a size ≥ 0 and
/// in-range optional fields, and written back as NDJSON it decodes to the same
/// event; and a line decodes the same whatever came before it (a second
/// decoder reads the lines in reverse order).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNDJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    var splits = Splits(input)
    let maxLine = [48, 300, 64 * 1024][splits.pick(3)]
    // A small table makes names roll over through its two generations.
    let symbols = SymbolTable(capacity: splits.pick(2) == 0 ? 4 : 1 << 12)
    let expected = ExpectedLine.split(input, maxLineLength: maxLine)

    var framer = LineFramer(maxLineLength: maxLine)
    var decoder = ChunkEventDecoder(symbols: symbols)
    var other = ChunkEventDecoder(symbols: symbols)
    var event = ChunkEvent.empty
    var counts = IngestCounts()
    var handed = 0
    var decoded: [(line: [UInt8], result: DecodedLine)] = []

    func handle(_ line: LineFramer.Line, _ number: Int) {
        require(handed < expected.count, "the framer handed out line \(number) beyond the \(expected.count) in the input")
        let want = expected[handed]
        handed += 1
        require(number == want.number, "line number \(number), expected \(want.number)")
        switch line {
        case .tooLong:
            require(want.bytes == nil, "line \(number) reported too long, but it has \(want.bytes?.count ?? 0) bytes (max \(maxLine))")
            counts.reject(.tooLong)
        case .complete(let bytes):
            require(want.bytes.map { $0.elementsEqual(bytes) } ?? false, "line \(number) differs from the input's")
            let result = decoder.decode(bytes, into: &event)
            decoded.append((Array(bytes), result))
            switch result {
            case .event:
                counts.accepted += 1
                checkEvent(event, symbols: symbols, line: number, &other)
            case .dropReport:
                counts.dropReports += 1
                require(!decoder.dropReport.tap.isEmpty && decoder.dropReport.dropped >= 0, "line \(number): a drop report without a tap or with a negative count")
            case .rejected(let reason):
                require(reason != .tooLong, "line \(number) of \(bytes.count) bytes rejected as too long")
                counts.reject(reason)
            }
        }
    }

    splits.pieces(of: input) { piece in framer.feed(piece, handle) }
    framer.finish(handle)
    require(handed == expected.count, "the framer handed out \(handed) lines of \(expected.count)")
    require(counts.lines == expected.count, "\(counts.lines) lines counted of \(expected.count)")

    for (line, result) in decoded.reversed() {
        let again = line.withUnsafeBytes { other.decode($0, into: &event) }
        require(again == result, "a line decoded as \(result), then as \(again) after other lines")
    }
    return 0
}

/// A line as a plain split of the whole input gives it: `bytes` nil when too long.
struct ExpectedLine {
    var number: Int
    var bytes: ArraySlice<UInt8>?

    static func split(_ input: UnsafeRawBufferPointer, maxLineLength: Int) -> [ExpectedLine] {
        var out: [ExpectedLine] = []
        let all = Array(input)
        var number = 0
        var start = 0
        func piece(_ end: Int) {
            var line = all[start..<end]
            if line.last == 0x0D { line = line.dropLast() }
            if line.isEmpty { return }
            out.append(ExpectedLine(number: number, bytes: line.count > maxLineLength ? nil : line))
        }
        for (i, b) in all.enumerated() where b == 0x0A {
            number += 1
            piece(i)
            start = i + 1
        }
        if start < all.count {
            number += 1
            piece(all.count)
        }
        return out
    }
}

/// An accepted event's fields are in range, and its NDJSON decodes back to it.
func checkEvent(_ e: ChunkEvent, symbols: SymbolTable, line: Int, _ decoder: inout ChunkEventDecoder) {
    require(!e.principal.isNone, "line \(line): an event without a principal")
    require(e.size >= 0, "line \(line): an event of size \(e.size)")
    require(e.seq >= -1, "line \(line): seq \(e.seq)")
    require(e.rate == -1 || (e.rate >= 0 && e.rate.isFinite), "line \(line): rate \(e.rate)")
    guard let text = EventLine.write(e, symbols) else { return }  // a name the small table forgot
    var back = ChunkEvent.empty
    let result = text.withUnsafeBytes { decoder.decode($0, into: &back) }
    require(result == .event, "line \(line): the event written back as \(String(decoding: text, as: UTF8.self)) is \(result)")
    // Checksums are hashed without a name to write back: compared by the writer leaving them out.
    var want = e
    want.checksum = .none
    want.expectedChecksum = .none
    require(back == want, "line \(line): \(want) came back as \(back) from \(String(decoding: text, as: UTF8.self))")
}

/// Writes an event as the SPEC §2 line a tap would send, with every field it holds.
enum EventLine {
    static func write(_ e: ChunkEvent, _ symbols: SymbolTable) -> [UInt8]? {
        var out = OutputBuffer(capacity: 256)
        out.append("{\"ts\":\"")
        e.ts.writeRFC3339Milliseconds(to: &out)
        out.bytes.removeLast()  // the Z: the nanoseconds within the millisecond follow
        out.appendDigits(Int(e.ts.nanoseconds - e.ts.epochMilliseconds * 1_000_000), width: 6)
        out.append("Z\"")
        guard name(",\"principal\":", e.principal, symbols, &out) else { return nil }
        out.append(",\"size\":")
        out.append(integer: e.size)
        guard name(",\"conn\":", e.conn, symbols, &out), name(",\"resource\":", e.resource, symbols, &out),
            name(",\"op\":", e.op, symbols, &out)
        else { return nil }
        if e.hop != .gateway {
            guard name(",\"hop\":", e.hop, symbols, &out) else { return nil }
        }
        out.append(e.dir == .outbound ? ",\"dir\":\"out\"" : ",\"dir\":\"in\"")
        if e.seq >= 0 {
            out.append(",\"seq\":")
            out.append(integer: e.seq)
        }
        if e.rate >= 0 {
            out.append(",\"rate\":")
            out.append("\(e.rate)")
        }
        out.append("}")
        return out.bytes
    }

    private static func name(_ key: StaticString, _ symbol: Symbol, _ symbols: SymbolTable, _ out: inout OutputBuffer) -> Bool {
        if symbol.isNone { return true }
        guard let name = symbols.name(symbol) else { return false }
        out.append(key)
        out.append(jsonString: name)
        return true
    }
}
