import ChunkModel

/// Decodes one NDJSON line into a `ChunkEvent` (SPEC §2), or a tap's drop
/// report (docs/wire-format.md).
///
/// A byte scanner over the line: it reads each field once, hashes each string
/// field once (through the reader's `SymbolCache`), and allocates nothing after
/// creation. It is still a full JSON reader: escapes including surrogate pairs,
/// numbers with fractions and exponents, unknown fields of any shape skipped
/// and checked, whitespace anywhere, and the last of duplicate keys wins.
///
/// A line whose object has `"chunkwatch_tap":"drops"` (wherever the key
/// stands; the last one wins like any duplicate) is a drop report: the event
/// scan marks it, and once the whole line has been checked as JSON it is read
/// again as a report (`ChunkEventDecoder+DropReport.swift`). The event path
/// pays one more known key and one bit test for it. A `chunkwatch_tap` key
/// with any other value is an unknown field, ignored like any other.
public struct ChunkEventDecoder: ~Copyable {
    public var symbols: SymbolCache
    /// Unescaped string bytes land here; one line can never need more.
    @usableFromInline let scratch: UnsafeMutableRawBufferPointer
    @usableFromInline var nesting: [UInt64]
    public let maxLineLength: Int
    /// The first 16 bytes (`YYYY-MM-DDTHH:MM`) of the last timestamp read and
    /// the minute they name: a stream's events share it for a minute at a
    /// time, so the date arithmetic is done about once a minute, not per event.
    private var minuteKey: (UInt64, UInt64) = (0, 0)
    private var minute: Int64 = 0
    /// The last drop report decoded (valid after `decode` returned `.dropReport`).
    public internal(set) var dropReport = TapDropReport.empty

    public init(symbols: SymbolTable, maxLineLength: Int = 64 * 1024) {
        self.symbols = SymbolCache(table: symbols)
        self.maxLineLength = maxLineLength
        scratch = .allocate(byteCount: maxLineLength + 16, alignment: 8)
        nesting = Array(repeating: 0, count: 16)
    }

    deinit { scratch.deallocate() }

    private struct Required: OptionSet {
        let rawValue: UInt8
        static let ts = Required(rawValue: 1)
        static let principal = Required(rawValue: 2)
        static let size = Required(rawValue: 4)
        static let all: Required = [.ts, .principal, .size]
        /// Not a required field: `"chunkwatch_tap":"drops"` was the last `chunkwatch_tap`.
        static let dropReport = Required(rawValue: 8)
    }

    /// Decodes `line` (without its line end): fills `event` for a chunk event,
    /// `dropReport` for a tap's drop report, or says why the line is neither.
    /// `event` is overwritten field by field; unless the result is `.event`
    /// its content is unspecified (a rejected event line may have named its
    /// principal and time; a drop report's line leaves no principal in it).
    public mutating func decode(_ line: UnsafeRawBufferPointer, into event: inout ChunkEvent) -> DecodedLine {
        if line.count > maxLineLength { return .rejected(.tooLong) }
        var seen: Required = []
        if let reason = scan(line, &event, &seen) { return .rejected(reason) }
        if seen == .all { return .event }
        if seen.contains(.dropReport) {
            event.principal = .none
            if let reason = readDropReport(line) { return .rejected(reason) }
            return .dropReport
        }
        return .rejected(.missingField)
    }

    /// Reads the line's fields into `event` and checks that the line is one
    /// well-formed JSON object; `seen` says which fields were found.
    @inline(__always)
    private mutating func scan(_ line: UnsafeRawBufferPointer, _ event: inout ChunkEvent, _ seen: inout Required) -> RejectReason? {
        var c = JSONCursor(line)
        event = ChunkEvent.empty
        c.skipWhitespace()
        guard c.consume(UInt8(ascii: "{")) else { return .notJSON }
        c.skipWhitespace()
        if !c.consume(UInt8(ascii: "}")) {
            while true {
                c.skipWhitespace()
                let field: Field
                if let known = Field.match(&c) {
                    field = known
                } else {
                    guard let key = c.string(scratch: scratch) else { return .notJSON }
                    field = Field(key)
                }
                c.skipWhitespace()
                guard c.consume(UInt8(ascii: ":")) else { return .notJSON }
                c.skipWhitespace()
                if let reason = readValue(field, &c, &event, &seen) { return reason }
                c.skipWhitespace()
                if c.consume(UInt8(ascii: ",")) { continue }
                if c.consume(UInt8(ascii: "}")) { break }
                return .notJSON
            }
        }
        c.skipWhitespace()
        guard c.atEnd else { return .notJSON }
        return nil
    }

    private mutating func readValue(
        _ field: Field, _ c: inout JSONCursor, _ event: inout ChunkEvent, _ seen: inout Required
    ) -> RejectReason? {
        switch field {
        case .unknown:
            return c.skipValue(stack: &nesting) ? nil : .notJSON
        case .ts:
            if let reason = readTimestamp(&c, into: &event.ts) { return reason }
            seen.insert(.ts)
        case .principal:
            guard c.peek == UInt8(ascii: "\"") else { return wrongType(&c) }
            guard let s = c.string(scratch: scratch) else { return .notJSON }
            guard s.count >= 1 && s.count <= 256 else { return .wrongType }
            event.principal = symbols.intern(s)
            seen.insert(.principal)
        case .size:
            guard isNumberStart(c.peek) else { return wrongType(&c) }
            guard let n = c.number() else { return .notJSON }
            if n.double < 0 { return .negativeSize }
            guard let v = n.exactInteger else { return .wrongType }
            event.size = v
            seen.insert(.size)
        case .seq:
            if c.consumeNull() { event.seq = -1; return nil }
            guard isNumberStart(c.peek) else { return wrongType(&c) }
            guard let n = c.number() else { return .notJSON }
            guard let v = n.exactInteger, v >= 0 else { return .wrongType }
            event.seq = v
        case .rate:
            if c.consumeNull() { event.rate = -1; return nil }
            guard isNumberStart(c.peek) else { return wrongType(&c) }
            guard let n = c.number() else { return .notJSON }
            guard n.double >= 0, n.double.isFinite else { return .wrongType }
            event.rate = n.double
        case .dir:
            guard c.peek == UInt8(ascii: "\"") else { return nullOrWrongType(&c) }
            guard let s = c.string(scratch: scratch) else { return .notJSON }
            if s.count == 2 && s[0] == UInt8(ascii: "i") && s[1] == UInt8(ascii: "n") {
                event.dir = .inbound
            } else if s.count == 3 && s[0] == UInt8(ascii: "o") && s[1] == UInt8(ascii: "u") && s[2] == UInt8(ascii: "t") {
                event.dir = .outbound
            } else {
                return .wrongType
            }
        case .labels:
            return labels(&c)
        case .chunkwatchTap:
            if c.peek == UInt8(ascii: "\"") {
                guard let s = c.string(scratch: scratch) else { return .notJSON }
                if bytes(s, equal: "drops") {
                    seen.insert(.dropReport)
                } else {
                    seen.remove(.dropReport)
                }
            } else {
                seen.remove(.dropReport)
                return c.skipValue(stack: &nesting) ? nil : .notJSON
            }
        case .conn, .resource, .checksum, .expectedChecksum, .hop, .op:
            if c.consumeNull() {
                setSymbol(field, .none, &event)
                return nil
            }
            guard c.peek == UInt8(ascii: "\"") else { return wrongType(&c) }
            guard let s = c.string(scratch: scratch) else { return .notJSON }
            let symbol: Symbol
            if s.isEmpty {
                symbol = .none
            } else if field == .checksum || field == .expectedChecksum {
                // Checksums differ on nearly every chunk and are only ever compared,
                // so they are hashed but never given a name in the symbol table.
                symbol = Symbol(bytes: s)
            } else {
                symbol = symbols.intern(s)
            }
            setSymbol(field, symbol, &event)
        }
        return nil
    }

    /// A `ts`-style value at the cursor: an RFC 3339 string or integer epoch
    /// milliseconds (SPEC §2), within `Timestamp.acceptedEvents`.
    @inline(__always)
    mutating func readTimestamp(_ c: inout JSONCursor, into ts: inout Timestamp) -> RejectReason? {
        let first = c.peek
        if first == UInt8(ascii: "\"") {
            guard let s = c.string(scratch: scratch) else { return .notJSON }
            guard let (seconds, fraction) = instant(s) else { return .badTimestamp }
            guard seconds >= 0 && seconds < Timestamp.endOfEventsSeconds else { return .tsOutOfRange }
            ts = Timestamp(nanoseconds: seconds * 1_000_000_000 + fraction)
        } else if first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39) {
            guard let n = c.number() else { return .notJSON }
            guard let ms = n.exactInteger else {
                // A whole number too large for exactness is a time, just not one we accept.
                return n.double.isFinite && n.double == n.double.rounded(.towardZero) ? .tsOutOfRange : .badTimestamp
            }
            guard ms >= 0 && ms < Timestamp.endOfEventsSeconds * 1000 else { return .tsOutOfRange }
            ts = Timestamp(nanoseconds: ms * 1_000_000)
        } else {
            return c.skipValue(stack: &nesting) ? .wrongType : .notJSON
        }
        return nil
    }

    /// `Timestamp.rfc3339Instant`, with the minute of the previous timestamp
    /// reused when the first 16 bytes are the same.
    private mutating func instant(_ s: UnsafeRawBufferPointer) -> (seconds: Int64, nanoseconds: Int64)? {
        guard s.count >= 20 else { return nil }
        let key = (s.loadUnaligned(as: UInt64.self), s.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        if key != minuteKey {
            guard let m = Timestamp.rfc3339Minute(s) else { return nil }
            minuteKey = key
            minute = m
        }
        return Timestamp.rfc3339Instant(s, minute: minute)
    }

    @inline(__always)
    private func setSymbol(_ field: Field, _ symbol: Symbol, _ event: inout ChunkEvent) {
        switch field {
        case .conn: event.conn = symbol
        case .resource: event.resource = symbol
        case .checksum: event.checksum = symbol
        case .expectedChecksum: event.expectedChecksum = symbol
        case .hop: event.hop = symbol.isNone ? .gateway : symbol
        case .op: event.op = symbol
        default: break
        }
    }

    @inline(__always)
    func isNumberStart(_ b: UInt8) -> Bool { b == UInt8(ascii: "-") || (b >= 0x30 && b <= 0x39) }

    /// A value of the wrong type: still checked, so broken JSON is reported as such.
    mutating func wrongType(_ c: inout JSONCursor) -> RejectReason {
        c.skipValue(stack: &nesting) ? .wrongType : .notJSON
    }

    private mutating func nullOrWrongType(_ c: inout JSONCursor) -> RejectReason? {
        c.consumeNull() ? nil : wrongType(&c)
    }

    /// `labels` must be an object of string → string; they are checked, not kept.
    private mutating func labels(_ c: inout JSONCursor) -> RejectReason? {
        if c.consumeNull() { return nil }
        guard c.peek == UInt8(ascii: "{") else { return wrongType(&c) }
        c.p += 1
        c.skipWhitespace()
        if c.consume(UInt8(ascii: "}")) { return nil }
        while true {
            c.skipWhitespace()
            guard c.skipString() else { return .notJSON }
            c.skipWhitespace()
            guard c.consume(UInt8(ascii: ":")) else { return .notJSON }
            c.skipWhitespace()
            if c.peek == UInt8(ascii: "\"") {
                guard c.skipString() else { return .notJSON }
            } else {
                return wrongType(&c)
            }
            c.skipWhitespace()
            if c.consume(UInt8(ascii: ",")) { continue }
            if c.consume(UInt8(ascii: "}")) { return nil }
            return .notJSON
        }
    }
}

/// The fields of SPEC §2, recognised from the key's bytes without hashing.
private enum Field: Equatable {
    case ts, principal, size, conn, resource, dir, seq, checksum, expectedChecksum, hop, op, rate, labels, chunkwatchTap
    case unknown

    @inline(__always)
    init(_ key: UnsafeRawBufferPointer) {
        @inline(__always) func eq(_ s: StaticString) -> Bool {
            s.withUTF8Buffer { lit in
                lit.count == key.count && memcmpEqual(lit.baseAddress!, key.baseAddress!, lit.count)
            }
        }
        switch key.count {
        case 2: self = eq("ts") ? .ts : eq("op") ? .op : .unknown
        case 3: self = eq("dir") ? .dir : eq("seq") ? .seq : eq("hop") ? .hop : .unknown
        case 4: self = eq("size") ? .size : eq("conn") ? .conn : eq("rate") ? .rate : .unknown
        case 6: self = eq("labels") ? .labels : .unknown
        case 8: self = eq("resource") ? .resource : eq("checksum") ? .checksum : .unknown
        case 9: self = eq("principal") ? .principal : .unknown
        case 14: self = eq("chunkwatch_tap") ? .chunkwatchTap : .unknown
        case 17: self = eq("expected_checksum") ? .expectedChecksum : .unknown
        default: self = .unknown
        }
    }
}

extension Field {
    /// The fast path for a key written plainly: matches `"name"` at the cursor
    /// against the known names by their first letter and, on a match, moves past
    /// the closing quote. Anything else (escapes, unknown keys) returns nil with
    /// the cursor unmoved, for the general string reader.
    @inline(__always)
    static func match(_ c: inout JSONCursor) -> Field? {
        guard c.end - c.p >= 4, c.p.pointee == UInt8(ascii: "\"") else { return nil }
        @inline(__always) func take(_ literal: StaticString, _ field: Field) -> Field? {
            let n = literal.utf8CodeUnitCount
            guard c.end - c.p > n + 1 else { return nil }
            let base = literal.utf8Start
            var i = 0
            // Eight bytes at a time, then the rest, then the closing quote.
            while i + 8 <= n {
                let want = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                let have = UnsafeRawPointer(c.p + 1 + i).loadUnaligned(as: UInt64.self)
                if want != have { return nil }
                i += 8
            }
            while i < n {
                if c.p[i + 1] != base[i] { return nil }
                i += 1
            }
            guard c.p[n + 1] == UInt8(ascii: "\"") else { return nil }
            c.p += n + 2
            return field
        }
        switch c.p[1] {
        case UInt8(ascii: "t"): return take("ts", .ts)
        case UInt8(ascii: "p"): return take("principal", .principal)
        case UInt8(ascii: "s"): return take("size", .size) ?? take("seq", .seq)
        case UInt8(ascii: "c"): return take("conn", .conn) ?? take("checksum", .checksum) ?? take("chunkwatch_tap", .chunkwatchTap)
        case UInt8(ascii: "r"): return take("resource", .resource) ?? take("rate", .rate)
        case UInt8(ascii: "d"): return take("dir", .dir)
        case UInt8(ascii: "e"): return take("expected_checksum", .expectedChecksum)
        case UInt8(ascii: "h"): return take("hop", .hop)
        case UInt8(ascii: "o"): return take("op", .op)
        case UInt8(ascii: "l"): return take("labels", .labels)
        default: return nil
        }
    }
}

@inline(__always)
private func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    let b = b.assumingMemoryBound(to: UInt8.self)
    for i in 0..<n where a[i] != b[i] { return false }
    return true
}

/// Whether `s` holds exactly the bytes of `literal`.
@inline(__always)
func bytes(_ s: UnsafeRawBufferPointer, equal literal: StaticString) -> Bool {
    literal.utf8CodeUnitCount == s.count && (s.isEmpty || memcmpEqual(literal.utf8Start, s.baseAddress!, s.count))
}
