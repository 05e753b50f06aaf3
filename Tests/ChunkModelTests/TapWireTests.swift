import ChunkModel
import Testing

@Suite struct TapWireTests {
    /// A binary stream (without the magic, which the listener strips) of two
    /// sources and `count` events, and the NDJSON lines an NDJSON tap would send.
    static func stream(count: Int) -> (bytes: [UInt8], lines: String) {
        var bytes: [UInt8] = []
        TapWire.appendHello(connPrefix: "gw-\"1\"-", to: &bytes)
        TapWire.appendSource(id: 0, principal: "svc-billing", resource: "pg://orders", hop: "proxy", to: &bytes)
        TapWire.appendSource(id: 7, principal: "etl \u{1F680}", resource: nil, hop: nil, to: &bytes)
        let format = TapLineFormat(connPrefix: "gw-\"1\"-")
        var expected = OutputBuffer()
        var records: [UInt8] = []
        for i in 0..<count {
            let source: UInt32 = i % 3 == 0 ? 7 : 0
            let ts = Int64(1_764_300_000_000_000_000) + Int64(i) * 1_234_567
            let seq: Int64 = i % 5 == 0 ? -1 : Int64(i)
            let checksum: UInt32? = i % 4 == 0 ? nil : UInt32(truncatingIfNeeded: i &* 2_654_435_761)
            let rate = i % 6 == 0 ? -1 : Double(i) * 0.25
            TapWire.appendRecord(
                ts: ts, source: source, dir: UInt8(i & 1), conn: UInt64(i / 10), seq: seq, size: Int64(i * 100), checksum: checksum,
                rate: rate, to: &records)
            let names =
                source == 7
                ? TapLineFormat.namesFragment(principal: "etl \u{1F680}", resource: nil, hop: nil)
                : TapLineFormat.namesFragment(principal: "svc-billing", resource: "pg://orders", hop: "proxy")
            format.write(
                ts: Timestamp(nanoseconds: ts), names: names, size: Int64(i * 100), conn: UInt64(i / 10), out: i & 1 == 1,
                seq: seq, checksum: checksum, rate: rate, to: &expected)
        }
        TapWire.appendHeader(.events, length: records.count, to: &bytes)
        bytes += records
        let report = #"{"chunkwatch_tap":"drops","tap":"gw","ts":"2026-11-28T05:10:00.000Z","dropped":3,"dropped_by_principal":{"svc-billing":3}}"#
        TapWire.appendHeader(.report, length: report.utf8.count, to: &bytes)
        bytes += Array(report.utf8)
        expected.append(report + "\n")
        return (bytes, expected.string)
    }

    @Test func recordsBecomeTheLinesAnNDJSONTapWouldSend() throws {
        let (bytes, lines) = Self.stream(count: 100)
        var decoder = TapWireDecoder()
        var out = OutputBuffer()
        try bytes.withUnsafeBytes { try decoder.feed($0, into: &out) }
        #expect(out.string == lines)
        #expect(decoder.events == 100)
        #expect(bytes.count < lines.utf8.count / 3, "binary is the compact one")
    }

    @Test(arguments: [1, 2, 5, 47, 48, 49, 1000])
    func anySplitOfTheStreamGivesTheSameLines(piece: Int) throws {
        let (bytes, lines) = Self.stream(count: 60)
        var decoder = TapWireDecoder()
        var out = OutputBuffer()
        var i = 0
        while i < bytes.count {
            let end = min(i + piece, bytes.count)
            try bytes[i..<end].withUnsafeBytes { try decoder.feed($0, into: &out) }
            i = end
        }
        #expect(out.string == lines)
    }

    @Test func malformedFramesAreErrorsWithTheirOffset() {
        var bytes: [UInt8] = []
        TapWire.appendSource(id: 1, principal: "a", resource: nil, hop: nil, to: &bytes)
        let goodLength = bytes.count
        var records: [UInt8] = []
        TapWire.appendRecord(ts: 0, source: 2, dir: 0, conn: 1, seq: 0, size: 1, checksum: nil, rate: -1, to: &records)
        TapWire.appendHeader(.events, length: records.count, to: &bytes)
        bytes += records
        var decoder = TapWireDecoder()
        var out = OutputBuffer()
        #expect(throws: TapWireError(offset: goodLength, message: "an event names source 2, which no source frame defined")) {
            try bytes.withUnsafeBytes { try decoder.feed($0, into: &out) }
        }

        var unknown = TapWireDecoder()
        #expect(throws: TapWireError.self) { try [9, 0, 0, 0, 0].withUnsafeBytes { try unknown.feed($0, into: &out) } }
        var ragged = TapWireDecoder()
        var frame: [UInt8] = []
        TapWire.appendHeader(.events, length: 47, to: &frame)
        frame += [UInt8](repeating: 0, count: 47)
        #expect(throws: TapWireError.self) { try frame.withUnsafeBytes { try ragged.feed($0, into: &out) } }
        var huge = TapWireDecoder()
        var header: [UInt8] = []
        TapWire.appendHeader(.events, length: TapWire.maxPayload + 48, to: &header)
        #expect(throws: TapWireError.self) { try header.withUnsafeBytes { try huge.feed($0, into: &out) } }
    }

    @Test func theMagicCannotStartALineOrAValue() {
        #expect(TapWire.magic[0] == 0x89)
        #expect(String(validatingUTF8: TapWire.magic.map { CChar(bitPattern: $0) } + [0]) == nil, "not UTF-8 text")
    }
}
