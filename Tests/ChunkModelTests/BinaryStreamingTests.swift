import ChunkModel
import Testing

/// `BinaryCoding.encode(_:blockSize:to:)` hands on exactly the bytes of
/// `encode`, in pieces no larger than the block, whatever sits where.
@Suite struct BinaryStreamingTests {
    struct Big: Codable, Equatable {
        var before: String
        var floats: [Float]
        var list: [[UInt64]]  // raw arrays inside a sequence whose count is patched
        var ints: [Int64]
        var sample: BinaryCodingTests.Outer
        var after: Int
    }

    static let big = Big(
        before: "x", floats: (0..<100_000).map { Float($0) * 0.5 }, list: [Array(0..<5_000), [], [7]],
        ints: (0..<30_000).map { Int64($0) * -3 }, sample: BinaryCodingTests.sample, after: 42)

    @Test(arguments: [1, 7, 4096, 1 << 20])
    func streamedBytesAreTheBytesOfEncodeInBoundedPieces(blockSize: Int) throws {
        let whole = try BinaryCoding.encode(Self.big)
        var streamed: [UInt8] = []
        var largest = 0
        var pieces = 0
        try BinaryCoding.encode(Self.big, blockSize: blockSize) { piece in
            streamed.append(contentsOf: piece)
            largest = max(largest, piece.count)
            pieces += 1
        }
        #expect(streamed == whole)
        #expect(try BinaryCoding.encodedCount(Self.big) == whole.count)
        #expect(try BinaryCoding.decode(Big.self, from: streamed) == Self.big)
        if blockSize < whole.count { #expect(pieces > 1) }
        // Only a sequence of values that are not plain numbers waits whole in the
        // buffer (`list`, 40 kB here); everything else comes at most a block at a time.
        #expect(largest <= max(blockSize, 5_000 * 8 + 64))
    }
}
