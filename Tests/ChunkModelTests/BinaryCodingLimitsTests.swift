import ChunkModel
import Testing

/// Decoding never trusts a count or a length it reads: a checkpoint that says
/// more than it holds is an error with the byte offset, never a wild read, a
/// wrapped multiply or an allocation of whatever it claims.
@Suite struct BinaryCodingLimitsTests {
    /// Little-endian Int64s followed by `tail`.
    static func bytes(_ counts: [Int64], tail: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = []
        for c in counts { withUnsafeBytes(of: c.littleEndian) { out.append(contentsOf: $0) } }
        return out + tail
    }

    @Test func aDoubleArrayCountOfTwoToThe61PlusOneIsAnErrorNotAnOverflowingRead() {
        // 2^61 + 1 doubles: × 8 wraps to 8 bytes, which the 8 bytes after it would have "satisfied".
        let blob = Self.bytes([(1 << 61) + 1], tail: Array(repeating: 0x41, count: 8))
        let error = #expect(throws: BinaryCodingError.self) { try BinaryCoding.decode([Double].self, from: blob) }
        #expect(error?.offset == 0)
        #expect(error?.message.contains("2305843009213693953") == true, "\(String(describing: error))")
    }

    @Test(arguments: [Int64.max, Int64.max / 8 + 1, -1, Int64.min, 2])
    func rawArrayCountsBeyondTheBytesLeftAreRefused(count: Int64) {
        let blob = Self.bytes([count], tail: Array(repeating: 0, count: 15))
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.decode([UInt64].self, from: blob) }
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.decode([Float].self, from: Self.bytes([count])) }
    }

    @Test func stringLengthsBeyondTheBytesLeftAreRefusedWithTheirOffset() {
        // A struct of an Int64 then a String: the string's length is at byte 8.
        struct Named: Codable { var n: Int64; var name: String }
        for length in [Int64.max, 4, -1] {
            let blob = Self.bytes([7, length], tail: Array("abc".utf8))
            let error = #expect(throws: BinaryCodingError.self) { try BinaryCoding.decode(Named.self, from: blob) }
            #expect(error?.offset == 8, "length \(length): \(String(describing: error))")
        }
    }

    @Test func sequenceCountsBeyondTheBytesLeftAreRefusedBeforeAnyElement() {
        // Arrays of non-plain elements, sets and dictionaries all go through the counted path.
        let huge = Self.bytes([Int64.max / 2, 0, 0])
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.decode([String].self, from: huge) }
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.decode([[Double]].self, from: huge) }
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.decode(Set<Symbol>.self, from: huge) }
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.decode([Symbol: Int64].self, from: huge) }
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.decode([Int32?].self, from: Self.bytes([3])) }
    }

    @Test func aNilMarkerPastTheEndIsAnErrorNotAnOutOfBoundsRead() {
        // One optional announced, no byte for it.
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.decode([Int64?].self, from: Self.bytes([1])) }
    }

    struct Entry: Codable, Equatable {
        var count: Int64
        var last: Timestamp
    }

    @Test func emptySymbolKeyedDictionariesRoundTrip() throws {
        // The cold daemon's checkpoint: PrincipalActivity's [Symbol: Entry] is empty.
        let empty: [Symbol: Entry] = [:]
        #expect(try BinaryCoding.decode([Symbol: Entry].self, from: try BinaryCoding.encode(empty)) == empty)
        let full: [Symbol: Entry] = [Symbol("svc-a"): Entry(count: 3, last: Timestamp(nanoseconds: 9))]
        #expect(try BinaryCoding.decode([Symbol: Entry].self, from: try BinaryCoding.encode(full)) == full)
        struct Holder: Codable, Equatable {
            var entries: [Symbol: Entry]
            var names: [UInt64: String]
        }
        let cold = Holder(entries: [:], names: [:])
        #expect(try BinaryCoding.decode(Holder.self, from: try BinaryCoding.encode(cold)) == cold)
    }

    @Test func stringAndIntKeyedDictionariesAreRefusedEvenWhenEmpty() {
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.encode([String: Int]()) }
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.encode([Int: Double]()) }
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.encode([Int: Double](dictionaryLiteral: (1, 2))) }
    }
}
