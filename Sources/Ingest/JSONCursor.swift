/// A position in one line of JSON, with the scanning steps the event decoder
/// needs. It reads bytes through a raw pointer and never allocates.
@usableFromInline
struct JSONCursor {
    @usableFromInline var p: UnsafePointer<UInt8>
    @usableFromInline let end: UnsafePointer<UInt8>

    @inlinable
    init(_ line: UnsafeRawBufferPointer) {
        let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!
        p = base
        end = base + line.count
    }

    @inlinable var atEnd: Bool { p >= end }
    @inlinable var peek: UInt8 { p < end ? p.pointee : 0 }

    @inlinable
    mutating func skipWhitespace() {
        while p < end {
            let c = p.pointee
            // One compare in the usual case of no whitespace at all.
            guard c <= 0x20, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D else { return }
            p += 1
        }
    }

    @inlinable
    mutating func consume(_ byte: UInt8) -> Bool {
        if p < end && p.pointee == byte {
            p += 1
            return true
        }
        return false
    }

    @inlinable
    mutating func consumeLiteral(_ literal: StaticString) -> Bool {
        guard p < end, p.pointee == literal.utf8Start.pointee else { return false }
        let n = literal.utf8CodeUnitCount
        guard end - p >= n else { return false }
        let base = literal.utf8Start
        for i in 0..<n where p[i] != base[i] { return false }
        p += n
        return true
    }

    /// `consumeLiteral("null")` as one compare: optional fields ask it of
    /// every value, and nearly always the first byte already says no.
    @inline(__always)
    mutating func consumeNull() -> Bool {
        guard p < end, p.pointee == UInt8(ascii: "n"), end - p >= 4,
            UnsafeRawPointer(p).loadUnaligned(as: UInt32.self) == UInt32(littleEndian: 0x6C6C_756E)  // "null"
        else { return false }
        p += 4
        return true
    }

    // MARK: Strings

    /// Reads a string whose opening quote is at the cursor. Without escapes the
    /// result points into the line; with escapes it is unescaped into `scratch`
    /// (which is at least as long as a line can be). Nil on malformed input.
    @inlinable
    mutating func string(scratch: UnsafeMutableRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = p
        while true {
            skipPlain()
            guard p < end else { return nil }
            let c = p.pointee
            if c == UInt8(ascii: "\"") {
                let s = UnsafeRawBufferPointer(start: start, count: p - start)
                p += 1
                return s
            }
            if c == UInt8(ascii: "\\") { return unescape(from: start, scratch: scratch) }
            if c < 0x20 { return nil }
            let n = utf8Length()
            guard n > 0 else { return nil }
            p += n
        }
    }

    /// Moves past plain string bytes: printable ASCII other than `"` and `\`.
    /// Eight bytes at a time where it can (the SWAR "has zero byte" test on each
    /// condition, and the high bit for non-ASCII); stops on the first byte that
    /// needs a closer look, or at the end.
    @inlinable
    mutating func skipPlain() {
        let lows: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while end - p >= 8 {
            let w = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)
            let q = w ^ (lows &* 0x22)
            let b = w ^ (lows &* 0x5C)
            let special = (((q &- lows) & ~q) | ((b &- lows) & ~b) | ((w &- lows &* 0x20) & ~w) | w) & highs
            if special != 0 {
                // The lowest flagged byte is exact (the borrow of the zero-byte test
                // only ever flags bytes above a real match).
                p += special.trailingZeroBitCount >> 3
                return
            }
            p += 8
        }
        while p < end {
            let c = p.pointee
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { return }
            p += 1
        }
    }

    /// The length of the well-formed UTF-8 sequence at the cursor (RFC 3629:
    /// no overlongs, no surrogates, nothing above U+10FFFF), or 0.
    @usableFromInline
    func utf8Length() -> Int {
        let avail = end - p
        let b0 = p.pointee
        @inline(__always) func cont(_ i: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            i < avail && p[i] >= lo && p[i] <= hi
        }
        switch b0 {
        case 0xC2...0xDF: return cont(1) ? 2 : 0
        case 0xE0: return cont(1, 0xA0) && cont(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return cont(1) && cont(2) ? 3 : 0
        case 0xED: return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0
        case 0xF0: return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4: return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }

    @usableFromInline
    mutating func unescape(from start: UnsafePointer<UInt8>, scratch: UnsafeMutableRawBufferPointer) -> UnsafeRawBufferPointer? {
        let out = scratch.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var n = p - start
        out.update(from: start, count: n)
        @inline(__always) func put(_ b: UInt8) {
            out[n] = b
            n += 1
        }
        while p < end {
            let c = p.pointee
            p += 1
            switch c {
            case UInt8(ascii: "\""):
                return UnsafeRawBufferPointer(start: out, count: n)
            case UInt8(ascii: "\\"):
                guard p < end else { return nil }
                let e = p.pointee
                p += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): put(e)
                case UInt8(ascii: "b"): put(0x08)
                case UInt8(ascii: "f"): put(0x0C)
                case UInt8(ascii: "n"): put(0x0A)
                case UInt8(ascii: "r"): put(0x0D)
                case UInt8(ascii: "t"): put(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        // A high surrogate must be followed by an escaped low one.
                        guard consume(UInt8(ascii: "\\")), consume(UInt8(ascii: "u")), let low = hex4(),
                            low >= 0xDC00 && low < 0xE000
                        else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        return nil
                    }
                    // Escapes never produce more bytes than they take (6 → ≤3, 12 → 4),
                    // so the output never outruns the line-sized scratch.
                    if scalar < 0x80 {
                        put(UInt8(scalar))
                    } else if scalar < 0x800 {
                        put(UInt8(0xC0 | (scalar >> 6)))
                        put(UInt8(0x80 | (scalar & 0x3F)))
                    } else if scalar < 0x10000 {
                        put(UInt8(0xE0 | (scalar >> 12)))
                        put(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                        put(UInt8(0x80 | (scalar & 0x3F)))
                    } else {
                        put(UInt8(0xF0 | (scalar >> 18)))
                        put(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
                        put(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                        put(UInt8(0x80 | (scalar & 0x3F)))
                    }
                default:
                    return nil
                }
            default:
                if c < 0x20 { return nil }
                if c >= 0x80 {
                    p -= 1
                    let n = utf8Length()
                    guard n > 0 else { return nil }
                    for i in 0..<n { put(p[i]) }
                    p += n
                    continue
                }
                put(c)
            }
        }
        return nil
    }

    @inlinable
    mutating func hex4() -> UInt32? {
        guard end - p >= 4 else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = p.pointee
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - 55)
            default: return nil
            }
            v = v << 4 | d
            p += 1
        }
        return v
    }

    // MARK: Numbers

    /// Reads a JSON number. Integers of up to 18 digits come back exact in
    /// `integer`; every number also comes back as a correctly rounded `double`
    /// (Clinger's fast path when it applies, strtod otherwise).
    @inlinable
    mutating func number() -> JSONNumber? {
        let start = p
        let negative = consume(UInt8(ascii: "-"))
        guard p < end else { return nil }
        var mantissa: UInt64 = 0
        var digits = 0
        if p.pointee == UInt8(ascii: "0") {
            p += 1
        } else {
            guard p.pointee >= 0x31 && p.pointee <= 0x39 else { return nil }
            while p < end, case let d = p.pointee &- 0x30, d <= 9 {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(d) }
                digits += 1
                p += 1
            }
        }
        var exponent = 0
        var isInteger = true
        if p < end && p.pointee == UInt8(ascii: ".") {
            isInteger = false
            p += 1
            let fracStart = p
            while p < end, case let d = p.pointee &- 0x30, d <= 9 {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    exponent -= 1
                }
                if mantissa != 0 || d != 0 { digits += 1 }
                p += 1
            }
            guard p > fracStart else { return nil }
        }
        if p < end && (p.pointee == UInt8(ascii: "e") || p.pointee == UInt8(ascii: "E")) {
            isInteger = false
            p += 1
            var expNegative = false
            if p < end && (p.pointee == UInt8(ascii: "+") || p.pointee == UInt8(ascii: "-")) {
                expNegative = p.pointee == UInt8(ascii: "-")
                p += 1
            }
            let expStart = p
            var e = 0
            while p < end, case let d = p.pointee &- 0x30, d <= 9 {
                if e < 100_000 { e = e * 10 + Int(d) }
                p += 1
            }
            guard p > expStart else { return nil }
            exponent += expNegative ? -e : e
        }
        if isInteger && digits <= 18 {
            let v = Int64(mantissa)
            return JSONNumber(integer: negative ? -v : v, double: negative ? -Double(v) : Double(v), isInteger: true)
        }
        var value: Double
        if digits <= 15 && exponent >= -22 && exponent <= 22 {
            value = Double(mantissa)
            value = exponent < 0 ? value / JSONCursor.powersOfTen[-exponent] : value * JSONCursor.powersOfTen[exponent]
            if negative { value = -value }
        } else {
            value = JSONCursor.strtod(start, count: p - start)
        }
        return JSONNumber(integer: 0, double: value, isInteger: false)
    }

    @usableFromInline
    static let powersOfTen: [Double] = (0...22).map { e in
        var v = 1.0
        for _ in 0..<e { v *= 10 }
        return v
    }

    @usableFromInline
    static func strtod(_ start: UnsafePointer<UInt8>, count: Int) -> Double {
        // The slow path for long mantissas or large exponents: exact but rare.
        let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
        return Double(text) ?? .nan
    }

    // MARK: Skipping

    /// Skips any JSON value, checking that it is well formed. Nesting is tracked
    /// in a counter and a bit stack rather than by recursion, so no input can
    /// exhaust the thread's stack.
    @inlinable
    mutating func skipValue(stack: inout [UInt64]) -> Bool {
        var depth = 0
        // Bit i of the stack: 1 when level i is an object, 0 for an array.
        @inline(__always) func push(_ isObject: Bool) {
            let word = depth >> 6
            if word >= stack.count { stack.append(0) }
            let bit: UInt64 = 1 << UInt64(depth & 63)
            if isObject { stack[word] |= bit } else { stack[word] &= ~bit }
            depth += 1
        }
        @inline(__always) func topIsObject() -> Bool {
            let d = depth - 1
            return stack[d >> 6] & (1 << UInt64(d & 63)) != 0
        }
        // expectValue: a value must come next; otherwise `,` or a closer.
        var expectValue = true
            while true {
                skipWhitespace()
                if expectValue {
                    guard p < end else { return false }
                    switch p.pointee {
                    case UInt8(ascii: "{"):
                        p += 1
                        skipWhitespace()
                        if consume(UInt8(ascii: "}")) {
                            expectValue = false
                        } else {
                            push(true)
                            guard skipKey() else { return false }
                        }
                        continue
                    case UInt8(ascii: "["):
                        p += 1
                        skipWhitespace()
                        if consume(UInt8(ascii: "]")) {
                            expectValue = false
                        } else {
                            push(false)
                        }
                        continue
                    case UInt8(ascii: "\""):
                        guard skipString() else { return false }
                    case UInt8(ascii: "t"):
                        guard consumeLiteral("true") else { return false }
                    case UInt8(ascii: "f"):
                        guard consumeLiteral("false") else { return false }
                    case UInt8(ascii: "n"):
                        guard consumeLiteral("null") else { return false }
                    default:
                        guard number() != nil else { return false }
                    }
                    expectValue = false
                }
                if depth == 0 { return true }
                skipWhitespace()
                guard p < end else { return false }
                let c = p.pointee
                p += 1
                if c == UInt8(ascii: ",") {
                    if topIsObject() {
                        skipWhitespace()
                        guard skipKey() else { return false }
                    }
                    expectValue = true
                } else if c == (topIsObject() ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    depth -= 1
                } else {
                    return false
                }
            }
    }

    /// `"key" :` inside an object.
    @inlinable
    mutating func skipKey() -> Bool {
        guard skipString() else { return false }
        skipWhitespace()
        return consume(UInt8(ascii: ":"))
    }

    /// Skips a string, checking its escapes and UTF-8 without decoding them.
    @inlinable
    mutating func skipString() -> Bool {
        guard consume(UInt8(ascii: "\"")) else { return false }
        while true {
            skipPlain()
            guard p < end else { return false }
            let c = p.pointee
            if c == UInt8(ascii: "\"") {
                p += 1
                return true
            }
            if c < 0x20 { return false }
            if c == UInt8(ascii: "\\") {
                p += 1
                guard p < end else { return false }
                let e = p.pointee
                p += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    guard hex4() != nil else { return false }
                default:
                    return false
                }
                continue
            }
            let n = utf8Length()
            guard n > 0 else { return false }
            p += n
        }
    }
}

@usableFromInline
struct JSONNumber {
    @usableFromInline var integer: Int64
    @usableFromInline var double: Double
    @usableFromInline var isInteger: Bool

    @inlinable
    init(integer: Int64, double: Double, isInteger: Bool) {
        self.integer = integer
        self.double = double
        self.isInteger = isInteger
    }

    /// The value as an exact integer when it is one (`1e3` and `12.0` count).
    @inlinable
    var exactInteger: Int64? {
        if isInteger { return integer }
        guard double.isFinite, double == double.rounded(.towardZero), abs(double) < 9.0e15 else { return nil }
        return Int64(double)
    }
}
