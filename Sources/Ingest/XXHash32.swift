/// XXH32, streaming: the checksum the LZ4 frame format puts after a frame's
/// content (seed 0).
///
/// `LZ4FrameDecoder` verifies content checksums with this rather than
/// liblz4's own: the distribution's build of that one is vectorised with
/// shifts and adds in place of 32-bit multiplies, and it took about a seventh
/// of a whole backfill; four scalar lanes run it several times faster.
struct XXHash32 {
    private static let p1: UInt32 = 0x9E37_79B1
    private static let p2: UInt32 = 0x85EB_CA77
    private static let p3: UInt32 = 0xC2B2_AE3D
    private static let p4: UInt32 = 0x27D4_EB2F
    private static let p5: UInt32 = 0x1656_67B1

    private var v1 = p1 &+ p2
    private var v2 = p2
    private var v3: UInt32 = 0
    private var v4 = 0 &- p1
    private var length = 0
    /// Bytes of a 16-byte stripe not yet complete, carried to the next update.
    private var pending: (UInt64, UInt64) = (0, 0)
    private var pendingCount = 0

    init() {}

    @inline(__always)
    private static func round(_ acc: UInt32, _ input: UInt32) -> UInt32 {
        (acc &+ input &* p2).rotated(13) &* p1
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var n = bytes.count
        length += n
        if pendingCount > 0 {
            let take = Swift.min(16 - pendingCount, n)
            withUnsafeMutableBytes(of: &pending) { buffer in
                buffer.baseAddress!.advanced(by: pendingCount).copyMemory(from: p, byteCount: take)
            }
            pendingCount += take
            p += take
            n -= take
            guard pendingCount == 16 else { return }
            withUnsafeBytes(of: pending) { stripes(UnsafeRawBufferPointer(rebasing: $0[0..<16])) }
            pendingCount = 0
        }
        let whole = n & ~15
        stripes(UnsafeRawBufferPointer(start: p, count: whole))
        if whole < n {
            withUnsafeMutableBytes(of: &pending) { buffer in
                buffer.baseAddress!.copyMemory(from: p + whole, byteCount: n - whole)
            }
            pendingCount = n - whole
        }
    }

    /// Four independent lanes over whole 16-byte stripes.
    @inline(__always)
    private mutating func stripes(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var (a, b, c, d) = (v1, v2, v3, v4)
        var i = 0
        while i < bytes.count {
            a = Self.round(a, UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
            b = Self.round(b, UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self)))
            c = Self.round(c, UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i + 8, as: UInt32.self)))
            d = Self.round(d, UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i + 12, as: UInt32.self)))
            i += 16
        }
        (v1, v2, v3, v4) = (a, b, c, d)
    }

    /// The checksum of everything passed to `update` so far.
    func digest() -> UInt32 {
        var h: UInt32
        if length >= 16 {
            h = v1.rotated(1) &+ v2.rotated(7) &+ v3.rotated(12) &+ v4.rotated(18)
        } else {
            h = v3 &+ Self.p5  // the seed, 0, plus p5
        }
        h &+= UInt32(truncatingIfNeeded: length)
        withUnsafeBytes(of: pending) { tail in
            var i = 0
            while i + 4 <= pendingCount {
                h = (h &+ UInt32(littleEndian: tail.loadUnaligned(fromByteOffset: i, as: UInt32.self)) &* Self.p3).rotated(17) &* Self.p4
                i += 4
            }
            while i < pendingCount {
                h = (h &+ UInt32(tail[i]) &* Self.p5).rotated(11) &* Self.p1
                i += 1
            }
        }
        h ^= h >> 15
        h &*= Self.p2
        h ^= h >> 13
        h &*= Self.p3
        h ^= h >> 16
        return h
    }
}

extension UInt32 {
    @inline(__always)
    fileprivate func rotated(_ r: UInt32) -> UInt32 { (self << r) | (self >> (32 - r)) }
}
