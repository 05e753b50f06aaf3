/// A string from the event stream (principal, resource, connection, hop, op,
/// checksum) reduced to a 64-bit hash of its bytes.
///
/// Hashing once at decode time lets every later stage key its tables by an
/// integer. The hash has no per-process seed, so the same bytes give the same
/// symbol in every run, which alert ids depend on. With 64 bits, two distinct
/// strings among a million collide with probability about 3e-8.
public struct Symbol: Hashable, Sendable, Comparable, Codable {
    public var rawValue: UInt64

    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The absent value: no string was given.
    public static let none = Symbol(rawValue: 0)

    @inlinable public var isNone: Bool { rawValue == 0 }

    @inlinable
    public init(bytes: UnsafeRawBufferPointer) {
        let h = StableHash.hash(bytes)
        // 0 is reserved for "absent".
        self.rawValue = h == 0 ? 1 : h
    }

    public init(_ string: String) {
        var s = string
        self = s.withUTF8 { Symbol(bytes: UnsafeRawBufferPointer($0)) }
    }

    @inlinable
    public static func < (lhs: Symbol, rhs: Symbol) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A fast, seedless 64-bit hash of bytes, eight at a time (a multiply-and-rotate
/// mix in the style of xxHash/wyhash, finished with murmur3's fmix64).
public enum StableHash {
    @usableFromInline static let k1: UInt64 = 0x9E37_79B1_85EB_CA87
    @usableFromInline static let k2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let k3: UInt64 = 0x1656_67B1_9E37_79F9

    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let n = bytes.count
        var h = k3 &+ UInt64(n) &* k1
        guard n > 0, let base = bytes.baseAddress else { return mix(h) }
        @inline(__always) func round(_ w: UInt64) {
            h ^= rotl(w &* k2, 31) &* k1
            h = rotl(h, 27) &* k1 &+ k3
        }
        if n >= 8 {
            var i = 0
            while i + 8 <= n {
                round(base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                i += 8
            }
            // The tail as one overlapping word ending at the last byte; the length
            // in the seed keeps "ab" + tail distinct from other splits.
            if i < n { round(base.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) }
        } else if n >= 4 {
            let a = UInt64(base.loadUnaligned(as: UInt32.self))
            let b = UInt64(base.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            round(a | b << 32)
        } else {
            let p = base.assumingMemoryBound(to: UInt8.self)
            round(UInt64(p[0]) | UInt64(p[n >> 1]) << 8 | UInt64(p[n - 1]) << 16)
        }
        return mix(h)
    }

    @inlinable
    public static func hash(_ string: String) -> UInt64 {
        var s = string
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// murmur3's 64-bit finaliser: every input bit affects every output bit.
    @inlinable
    public static func mix(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }

    /// Combines two hashes into a key for a compound baseline (principal × resource …).
    @inlinable
    public static func combine(_ a: UInt64, _ b: UInt64) -> UInt64 {
        mix(a ^ rotl(b &* k1, 29) ^ k2)
    }

    @inlinable
    static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
}
