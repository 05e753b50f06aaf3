/// A growable byte buffer for writing output lines (NDJSON, tables) without
/// going through `String` formatting. Once it has grown to its working size,
/// appending allocates nothing.
public struct OutputBuffer: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public var count: Int { bytes.count }
    @inlinable public var isEmpty: Bool { bytes.isEmpty }

    @inlinable
    public mutating func reserve(_ extra: Int) {
        let needed = bytes.count + extra
        if needed > bytes.capacity { bytes.reserveCapacity(Swift.max(needed, bytes.capacity * 2)) }
    }

    @inlinable public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }
    @inlinable public mutating func append(_ byte: UInt8) { bytes.append(byte) }
    @inlinable public mutating func append(contentsOf other: UnsafeRawBufferPointer) { bytes.append(contentsOf: other) }
    @inlinable public mutating func append(contentsOf other: [UInt8]) { bytes.append(contentsOf: other) }

    @inlinable
    public mutating func append(_ string: StaticString) {
        string.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func append(_ string: String) {
        var s = string
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Decimal digits of a non-negative value, zero-padded to `width`.
    @inlinable
    public mutating func appendDigits(_ value: Int, width: Int) {
        var v = value
        let start = bytes.count
        for _ in 0..<width { bytes.append(UInt8(ascii: "0")) }
        var i = start + width - 1
        while v > 0 && i >= start {
            bytes[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
            v /= 10
            i -= 1
        }
    }

    @inlinable
    public mutating func append(integer value: Int64) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            if value == .min {
                append("9223372036854775808")
                return
            }
        }
        var v = value < 0 ? UInt64(-value) : UInt64(value)
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch on the stack
        withUnsafeMutableBytes(of: &tmp) { scratch in
            var i = 23
            repeat {
                scratch[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                v /= 10
                i -= 1
            } while v > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[(i + 1)...]))
        }
    }

    @inlinable
    public mutating func append(integer value: Int) { append(integer: Int64(value)) }

    /// A number with at most `decimals` fractional digits, trailing zeros dropped
    /// (`0.9993`, `8`, `1900.5`). Non-finite values are written as `null`, since
    /// JSON has no form for them.
    @inlinable
    public mutating func append(number value: Double, decimals: Int = 4) {
        guard value.isFinite else {
            append("null")
            return
        }
        if value == value.rounded(), abs(value) < 9e15 {
            append(integer: Int64(value))
            return
        }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else {
            append(String(value))
            return
        }
        let whole = Int64(scaled / scale)
        var frac = Int64(scaled) - whole * Int64(scale)
        if value < 0 && scaled != 0 { bytes.append(UInt8(ascii: "-")) }
        append(integer: whole)
        guard frac > 0 else { return }
        var width = decimals
        while frac % 10 == 0 {
            frac /= 10
            width -= 1
        }
        bytes.append(UInt8(ascii: "."))
        appendDigits(Int(frac), width: width)
    }

    /// A JSON string literal, quoted and escaped.
    public mutating func append(jsonString string: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            case UInt8(ascii: "\r"): append("\\r")
            case UInt8(ascii: "\t"): append("\\t")
            case 0..<0x20:
                append("\\u00")
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }
}
