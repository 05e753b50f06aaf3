#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// log2(size + 1) to within 0.003 (a fifth of a percent of the size), from the
/// exponent of the float and a 256-entry table of the mantissa's top bits:
/// cheaper than libm's log2 on every chunk, and far finer than the spread
/// floor the size detector judges by.
enum FastLog2 {
    static let table: [Double] = (0..<257).map { log2(1 + Double($0) / 256) }

    @inline(__always)
    static func of(_ size: Int64) -> Double {
        let v = Double(size < 0 ? 0 : size) + 1
        let bits = v.bitPattern
        let exponent = Int((bits >> 52) & 0x7FF) - 1023
        let mantissa = bits & 0x000F_FFFF_FFFF_FFFF
        let top = Int(mantissa >> 44)  // 8 bits
        let frac = Double(mantissa & 0xFFF_FFFF_FFFF) / Double(1 << 44)
        // Linear between the two neighbouring table entries.
        return table.withUnsafeBufferPointer { t in
            Double(exponent) + t[top] + (t[top + 1] - t[top]) * frac
        }
    }
}
