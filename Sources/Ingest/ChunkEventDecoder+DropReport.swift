import ChunkModel

// Drop reports (docs/wire-format.md): a line of a tap's own, rare next to its
// chunk events, so this reader is plain rather than fast and may allocate. It
// runs only after the event scan found `"chunkwatch_tap":"drops"` and checked
// the whole line as one well-formed JSON object, so what it can still find
// wrong is a missing field or a value of the wrong type or range.
extension ChunkEventDecoder {
    private enum ReportField: UInt8 {
        case tap = 1, ts = 2, dropped = 4, byPrincipal = 8, since = 16, other = 0

        init(_ key: UnsafeRawBufferPointer) {
            self =
                bytes(key, equal: "tap") ? .tap
                : bytes(key, equal: "ts") ? .ts
                : bytes(key, equal: "dropped") ? .dropped
                : bytes(key, equal: "dropped_by_principal") ? .byPrincipal
                : bytes(key, equal: "since") ? .since
                : .other
        }

        /// The bits of the fields a report must have.
        static let required = tap.rawValue | ts.rawValue | dropped.rawValue | byPrincipal.rawValue
    }

    /// Reads the drop report in `line` into `dropReport`, or says why it is not a valid one.
    ///
    /// Required: `tap` (a string of 1–256 bytes), `ts` (as an event's `ts`),
    /// `dropped` (an integer ≥ 0) and `dropped_by_principal` (an object of
    /// principal → integer ≥ 0; principals of 1–256 bytes; the last of a
    /// principal listed twice wins). `since` is optional (`ts`'s forms, or
    /// null); every other field is ignored.
    mutating func readDropReport(_ line: UnsafeRawBufferPointer) -> RejectReason? {
        var c = JSONCursor(line)
        var seen: UInt8 = 0
        var tap = ""
        var ts = Timestamp.zero
        var since: Timestamp?
        var dropped: Int64 = 0
        var byPrincipal: [TapDropReport.PrincipalDrops] = []
        c.skipWhitespace()
        guard c.consume(UInt8(ascii: "{")) else { return .notJSON }
        c.skipWhitespace()
        if !c.consume(UInt8(ascii: "}")) {
            while true {
                c.skipWhitespace()
                // The key may sit in `scratch`, which the value can overwrite: classify it first.
                guard let key = c.string(scratch: scratch) else { return .notJSON }
                let field = ReportField(key)
                c.skipWhitespace()
                guard c.consume(UInt8(ascii: ":")) else { return .notJSON }
                c.skipWhitespace()
                switch field {
                case .tap:
                    guard c.peek == UInt8(ascii: "\"") else { return wrongType(&c) }
                    guard let s = c.string(scratch: scratch) else { return .notJSON }
                    guard s.count >= 1 && s.count <= 256 else { return .wrongType }
                    tap = String(decoding: s, as: UTF8.self)
                case .ts:
                    if let reason = readTimestamp(&c, into: &ts) { return reason }
                case .since:
                    if c.consumeNull() {
                        since = nil
                    } else {
                        var t = Timestamp.zero
                        if let reason = readTimestamp(&c, into: &t) { return reason }
                        since = t
                    }
                case .dropped:
                    guard let n = nonNegativeInteger(&c) else { return .wrongType }
                    dropped = n
                case .byPrincipal:
                    if let reason = principalCounts(&c, into: &byPrincipal) { return reason }
                case .other:
                    guard c.skipValue(stack: &nesting) else { return .notJSON }
                }
                seen |= field.rawValue
                c.skipWhitespace()
                if c.consume(UInt8(ascii: ",")) { continue }
                if c.consume(UInt8(ascii: "}")) { break }
                return .notJSON
            }
        }
        guard seen & ReportField.required == ReportField.required else { return .missingField }
        dropReport = TapDropReport(tap: tap, ts: ts, since: since, dropped: dropped, byPrincipal: byPrincipal)
        return nil
    }

    /// An integer ≥ 0 at the cursor, or nil (the value is then skipped).
    private mutating func nonNegativeInteger(_ c: inout JSONCursor) -> Int64? {
        guard isNumberStart(c.peek) else {
            _ = c.skipValue(stack: &nesting)
            return nil
        }
        guard let n = c.number(), let v = n.exactInteger, v >= 0 else { return nil }
        return v
    }

    /// `dropped_by_principal`: an object of principal → count.
    private mutating func principalCounts(
        _ c: inout JSONCursor, into out: inout [TapDropReport.PrincipalDrops]
    ) -> RejectReason? {
        guard c.peek == UInt8(ascii: "{") else { return wrongType(&c) }
        c.p += 1
        out.removeAll()
        // Where each principal is in `out`, so a principal listed twice keeps its last count.
        var position: [Symbol: Int] = [:]
        c.skipWhitespace()
        if c.consume(UInt8(ascii: "}")) { return nil }
        while true {
            c.skipWhitespace()
            guard let name = c.string(scratch: scratch) else { return .notJSON }
            guard name.count >= 1 && name.count <= 256 else { return .wrongType }
            let principal = symbols.intern(name)
            c.skipWhitespace()
            guard c.consume(UInt8(ascii: ":")) else { return .notJSON }
            c.skipWhitespace()
            guard let n = nonNegativeInteger(&c) else { return .wrongType }
            if let i = position[principal] {
                out[i].dropped = n
            } else {
                position[principal] = out.count
                out.append(.init(principal: principal, dropped: n))
            }
            c.skipWhitespace()
            if c.consume(UInt8(ascii: ",")) { continue }
            if c.consume(UInt8(ascii: "}")) { return nil }
            return .notJSON
        }
    }
}
