import Testing

@testable import Ingest

/// The content checksum `LZ4FrameDecoder` verifies itself: published XXH32
/// values, and the same value however the bytes are split across updates
/// (every split point of inputs around the 16-byte stripe).
@Suite("XXHash32")
struct XXHash32Tests {
    static func hash(_ bytes: [UInt8], splitAt cuts: [Int] = []) -> UInt32 {
        var h = XXHash32()
        var start = 0
        bytes.withUnsafeBytes { all in
            for cut in cuts + [bytes.count] {
                h.update(UnsafeRawBufferPointer(rebasing: all[start..<cut]))
                start = cut
            }
        }
        return h.digest()
    }

    @Test func knownValues() {
        #expect(Self.hash([]) == 0x02CC_5D05)
        #expect(Self.hash(Array("a".utf8)) == 0x550D_7456)
        #expect(Self.hash(Array("abc".utf8)) == 0x32D1_53FF)
        #expect(Self.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xE229_3B2F)
    }

    @Test func splitsDoNotChangeTheDigest() {
        for n in [0, 1, 3, 4, 15, 16, 17, 31, 32, 33, 100] {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let whole = Self.hash(bytes)
            for a in 0...n {
                #expect(Self.hash(bytes, splitAt: [a]) == whole, "n \(n), split at \(a)")
                for b in a...n where (b - a) % 5 == 0 {
                    #expect(Self.hash(bytes, splitAt: [a, b]) == whole, "n \(n), split at \(a), \(b)")
                }
            }
        }
    }
}
