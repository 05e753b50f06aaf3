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

    @Test func stringKeyedDictionariesAreRefused() {
        #expect(throws: BinaryCodingError.self) { try BinaryCoding.encode(["a": 1]) }
    }
}
