import ChunkTap
import Testing

/// Every implementation this CPU can run.
fileprivate let crcImplementations: [CRC32C.Implementation] =
    CRC32C.usesHardware ? [.automatic, .table, .hardware] : [.automatic, .table]

/// SplitMix64: reproducible random bytes, so a failing length can be rerun.
fileprivate struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The definition, one bit at a time: the reference the fast paths must match.
fileprivate func bitwiseCRC32C(_ bytes: some Sequence<UInt8>, extending crc: UInt32 = 0) -> UInt32 {
    var crc = ~crc
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
    }
    return ~crc
}

@Suite struct CRC32CTests {
    static let randomBytes: [UInt8] = {
        var rng = SplitMix64(state: 0x00C0_FFEE)
        return (0..<(70_000 + 64)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }()

    /// RFC 3720 (iSCSI) appendix B.4, and the "123456789" check value.
    @Test(arguments: crcImplementations)
    func knownVectors(implementation: CRC32C.Implementation) {
        let vectors: [([UInt8], UInt32)] = [
            (Array("123456789".utf8), 0xE306_9283),
            ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
            ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
            ((0..<32).map { UInt8($0) }, 0x46DD_794E),
            ((0..<32).map { UInt8(31 - $0) }, 0x113F_DB5C),
            ([], 0),
        ]
        for (bytes, expected) in vectors {
            let crc = bytes.withUnsafeBytes { CRC32C.checksum($0, using: implementation) }
            #expect(crc == expected, "\(bytes.count) bytes")
            #expect(bitwiseCRC32C(bytes) == expected)
        }
    }

    @Test func sequenceOverloadsAgree() {
        let bytes = Array(Self.randomBytes[..<1000])
        let expected = bytes.withUnsafeBytes { CRC32C.checksum($0) }
        #expect(CRC32C.checksum(bytes) == expected)
        #expect(CRC32C.checksum(Self.randomBytes[..<1000]) == expected)
        #expect(CRC32C.checksum("123456789".utf8) == 0xE306_9283)
        // Not contiguous: through the stack buffer, over several of its fills.
        #expect(CRC32C.checksum(bytes.lazy.map { $0 }) == expected)
        #expect(CRC32C.checksum(bytes.lazy.map { $0 }, extending: 0x1234_5678) == bytes.withUnsafeBytes { CRC32C.checksum($0, extending: 0x1234_5678) })
        // An empty buffer (no base address) leaves the CRC as it was.
        #expect(CRC32C.checksum(UnsafeRawBufferPointer(start: nil, count: 0), extending: 0xDEAD_BEEF) == 0xDEAD_BEEF)
    }

    /// Every byte value in every table slot, against the definition.
    @Test(arguments: crcImplementations)
    func matchesDefinitionOnShortBuffers(implementation: CRC32C.Implementation) {
        Self.randomBytes.withUnsafeBytes { all in
            for length in 0...300 {
                for offset in [0, 3] {
                    let bytes = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])
                    #expect(CRC32C.checksum(bytes, using: implementation) == bitwiseCRC32C(bytes), "length \(length) offset \(offset)")
                }
            }
        }
    }

    /// Lengths that cover every path of the hardware code: the aligning bytes,
    /// each block size of the three-way split (192, 1536, 12 288 bytes a run)
    /// just below, at and above a whole number of runs, the one-chain tail, and
    /// the proxy's 16 KiB and 64 KiB chunks; at every start offset mod 8.
    static let lengths: [Int] = {
        var lengths = Set(0...1100)
        for run in [192, 1536, 12_288] {
            for runs in 1...5 where run * runs <= 70_000 {
                for delta in -9...9 { lengths.insert(run * runs + delta) }
            }
        }
        for size in [4096, 8192, 16_384, 32_768, 65_536, 70_000] {
            for delta in -9...9 where size + delta <= 70_000 { lengths.insert(size + delta) }
        }
        var rng = SplitMix64(state: 42)
        for _ in 0..<200 { lengths.insert(Int.random(in: 0...70_000, using: &rng)) }
        return lengths.sorted()
    }()

    @Test(.enabled(if: CRC32C.usesHardware))
    func hardwareEqualsTable() {
        var rng = SplitMix64(state: 7)
        Self.randomBytes.withUnsafeBytes { all in
            for length in Self.lengths {
                // Small lengths at every offset; large ones at two random offsets, as they are slow unoptimized.
                let offsets = length <= 1100 ? Array(0..<8) : [Int.random(in: 0..<64, using: &rng), 1]
                for offset in offsets {
                    let bytes = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])
                    let seed = UInt32.random(in: 0...UInt32.max, using: &rng)
                    let table = CRC32C.checksum(bytes, extending: seed, using: .table)
                    #expect(CRC32C.checksum(bytes, extending: seed, using: .hardware) == table, "length \(length) offset \(offset)")
                    #expect(CRC32C.checksum(bytes, extending: seed) == table, "length \(length) offset \(offset)")
                }
            }
        }
    }

    /// Summing in two pieces, split anywhere, gives the one-shot CRC.
    @Test(arguments: crcImplementations)
    func incrementalEqualsOneShot(implementation: CRC32C.Implementation) {
        Self.randomBytes.withUnsafeBytes { all in
            let bytes = UnsafeRawBufferPointer(rebasing: all[1..<(1 + 700)])
            let whole = CRC32C.checksum(bytes, using: implementation)
            for split in 0...bytes.count {
                let first = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[..<split]), using: implementation)
                let both = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[split...]), extending: first, using: implementation)
                #expect(both == whole, "split at \(split)")
            }
            // A 64 KiB chunk in the proxy's 16 KiB reads, and in odd pieces.
            let chunk = UnsafeRawBufferPointer(rebasing: all[5..<(5 + 65_536)])
            let expected = CRC32C.checksum(chunk, using: implementation)
            for piece in [16_384, 1000, 7] {
                var crc: UInt32 = 0
                var start = 0
                while start < chunk.count {
                    let end = min(start + piece, chunk.count)
                    crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: chunk[start..<end]), extending: crc, using: implementation)
                    start = end
                }
                #expect(crc == expected, "pieces of \(piece)")
            }
        }
    }

    /// The first calls, racing to choose the implementation, all get it right.
    @Test func concurrentCallsAgree() async {
        let expected = Self.randomBytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<20_000]), using: .table) }
        await withTaskGroup(of: UInt32.self) { group in
            for _ in 0..<8 {
                group.addTask { Self.randomBytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<20_000])) } }
            }
            for await crc in group { #expect(crc == expected) }
        }
    }
}
