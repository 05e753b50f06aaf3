import ChunkModel
import Testing

/// What one binary connection may make the collector remember is bounded in
/// bytes: each name, and all the names of its sources together.
@Suite struct TapWireSourceLimitTests {
    static func source(_ id: UInt32, principal: String, resource: String? = nil, hop: String? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        TapWire.appendSource(id: id, principal: principal, resource: resource, hop: hop, to: &bytes)
        return bytes
    }

    static func feed(_ bytes: [UInt8], into decoder: inout TapWireDecoder) throws {
        var out = OutputBuffer()
        try bytes.withUnsafeBytes { try decoder.feed($0, into: &out) }
    }

    @Test func aPrincipalOver256BytesIsAFrameError() throws {
        var decoder = TapWireDecoder()
        try Self.feed(Self.source(1, principal: String(repeating: "p", count: 256)), into: &decoder)
        let good = Self.source(1, principal: "p").count - 1 + 256
        #expect(throws: TapWireError(offset: good, message: "source 2 has a name of 257 bytes, over the limit of 256")) {
            try Self.feed(Self.source(2, principal: String(repeating: "p", count: 257)), into: &decoder)
        }
    }

    @Test func aResourceOrHopOverTheNameLimitIsAFrameError() throws {
        var decoder = TapWireDecoder()
        let long = String(repeating: "r", count: TapWireDecoder.maxNameBytes)
        try Self.feed(Self.source(1, principal: "p", resource: long, hop: long), into: &decoder)
        #expect(throws: TapWireError.self) {
            try Self.feed(Self.source(2, principal: "p", resource: long + "r"), into: &decoder)
        }
        var other = TapWireDecoder()
        #expect(throws: TapWireError.self) {
            try Self.feed(Self.source(2, principal: "p", hop: String(repeating: "h", count: 65_534)), into: &other)
        }
    }

    @Test func theNamesOfAllSourcesStayWithinTheConnectionsBudget() throws {
        // Each source's names become `,"principal":"…"` (14 bytes more than the name).
        let name = String(repeating: "n", count: 100)
        let perSource = TapLineFormat.namesFragment(principal: name, resource: nil, hop: nil).count
        var decoder = TapWireDecoder(maxSourceBytes: perSource * 10)
        for id in 0..<10 { try Self.feed(Self.source(UInt32(id), principal: name), into: &decoder) }
        // Redefining a source replaces its names: it does not add to the total.
        for _ in 0..<100 { try Self.feed(Self.source(3, principal: name), into: &decoder) }
        #expect(throws: TapWireError.self) { try Self.feed(Self.source(10, principal: name), into: &decoder) }

        // Names that escape to more bytes count as what they become.
        let control = String(repeating: "\u{1}", count: 100)
        let escaped = TapLineFormat.namesFragment(principal: control, resource: nil, hop: nil).count
        #expect(escaped > 600)
        var tight = TapWireDecoder(maxSourceBytes: escaped * 2 - 1)
        try Self.feed(Self.source(0, principal: control), into: &tight)
        #expect(throws: TapWireError.self) { try Self.feed(Self.source(1, principal: control), into: &tight) }
    }

    @Test func eventsOfSourcesDefinedBeforeTheLimitStillDecode() throws {
        var decoder = TapWireDecoder(maxSourceBytes: 64)
        var bytes = Self.source(5, principal: "svc-a", resource: "pg://x")
        var records: [UInt8] = []
        TapWire.appendRecord(ts: 1_000_000, source: 5, dir: 0, conn: 1, seq: 0, size: 10, checksum: nil, rate: -1, to: &records)
        TapWire.appendHeader(.events, length: records.count, to: &bytes)
        bytes += records
        var out = OutputBuffer()
        try bytes.withUnsafeBytes { try decoder.feed($0, into: &out) }
        #expect(out.string.contains(#""principal":"svc-a","resource":"pg://x""#))
    }
}
