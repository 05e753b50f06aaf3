import ChunkModel
import Testing

@Suite struct BinaryCodingTests {
    struct Inner: Codable, Equatable {
        var a: Int32
        var b: Double?
        var c: [Float]
    }

    struct Outer: Codable, Equatable {
        var name: String
        var flags: [Bool]
        var inner: [Inner]
        var maybe: Inner?
        var none: Inner?
        var optionals: [Int?]
        var pairs: [Symbol: Timestamp]
        var nested: [[UInt64]]
        var direction: Direction
        var severity: Severity
    }

    static let sample = Outer(
        name: "svc-é✓", flags: [true, false, true],
        inner: [Inner(a: -3, b: nil, c: []), Inner(a: 7, b: 2.5, c: [1, .infinity, -0.5])],
        maybe: Inner(a: 1, b: 1e300, c: [3]), none: nil, optionals: [1, nil, 3, nil],
        pairs: [Symbol("a"): Timestamp(nanoseconds: 5), Symbol("b"): Timestamp(nanoseconds: -5)],
        nested: [[], [1, 2, .max]], direction: .outbound, severity: .high)

    @Test func valuesComeBackExactly() throws {
        let bytes = try BinaryCoding.encode(Self.sample)
        #expect(try BinaryCoding.decode(Outer.self, from: bytes) == Self.sample)
    }

    @Test func alertsComeBackExactlyWithTheirBaseline() throws {
        let alert = Alert(
            id: "0123456789abcdef", status: .firing, detector: "size", severity: .medium, score: 0.93,
            ts: Timestamp(epochMilliseconds: 1_795_392_000_123), emittedAt: Timestamp(epochMilliseconds: 1_795_392_000_200),
            principal: "svc-a", resource: "pg://orders", seq: 17, observed: 1_048_576, expected: 16_384, threshold: 6,
            baseline: [("median", 16_384), ("mad", 1_900), ("n", 96)], message: "big", count: 2,
            firstTs: Timestamp(epochMilliseconds: 1_795_392_000_000), lastTs: Timestamp(epochMilliseconds: 1_795_392_000_123),
            coverage: Coverage())
        let back = try BinaryCoding.decode(Alert.self, from: try BinaryCoding.encode(alert))
        #expect(back.jsonLine == alert.jsonLine)
    }

    @Test func cutOrPaddedBytesAreAnErrorNotATrap() throws {
        let bytes = try BinaryCoding.encode(Self.sample)
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: (any Error).self) { try BinaryCoding.decode(Outer.self, from: Array(bytes.prefix(cut))) }
        }
        #expect(throws: (any Error).self) { try BinaryCoding.decode(Outer.self, from: bytes + [0]) }
    }

    struct Plain: RawCheckpointable, Equatable {
        var a: Int64
        var b: Float
        var c: Bool
        var d: Direction
    }

    /// Marked plain, but holds a reference: must still come back right.
    struct NotPlain: RawCheckpointable, Equatable {
        var name: String
        var n: Int32
    }

    @Test func plainStructArraysTakeTheRawPathAndOthersStaySafe() throws {
        let plain = (0..<1000).map { (i: Int) -> Plain in
            let d: Direction = i % 3 == 0 ? .outbound : .inbound
            return Plain(a: Int64(i) * -7, b: Float(i) / 3, c: i % 2 == 0, d: d)
        }
        let bytes = try BinaryCoding.encode(plain)
        #expect(bytes.count == 8 + plain.count * MemoryLayout<Plain>.stride, "count + raw memory")
        #expect(try BinaryCoding.decode([Plain].self, from: bytes) == plain)
        let notPlain = (0..<50).map { NotPlain(name: "principal-\($0)-" + String(repeating: "x", count: $0), n: Int32($0)) }
        #expect(try BinaryCoding.decode([NotPlain].self, from: try BinaryCoding.encode(notPlain)) == notPlain)
    }

    @Test func stringKeyedDictionariesAreRefused() {
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.encode(["a": 1]) }
    }
}
