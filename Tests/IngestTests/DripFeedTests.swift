import ChunkModel
import Foundation
import Ingest
import Testing

/// A few hundred lines mixing every kind of valid and invalid line, with `\n`
/// and `\r\n` ends, empty lines, lines at and over the 64 KiB limit (one of
/// them spanning many chunks), and a final line without a line end.
func mixedFixture(seed: UInt64 = 7, lines: Int = 300, finalNewline: Bool = false) -> [UInt8] {
    var rng = SplitMix64(seed: seed)
    let rejects = (notJSONCases + missingFieldCases + wrongTypeCases + negativeSizeCases + badTimestampCases)
        .filter { !$0.line.contains(0x0A) && !$0.line.contains(0x0D) && !$0.line.isEmpty }
    let valids = validCases.filter { !$0.line.utf8.contains(0x0A) && !$0.line.utf8.contains(0x0D) }
    var out: [UInt8] = []
    func end() {
        if Bool.random(using: &rng) { out.append(0x0D) }
        out.append(0x0A)
    }
    for i in 0..<lines {
        switch i {
        case 17: out += Array(paddedLine(65536).utf8); end()  // exactly at the limit
        case 18: out += Array(paddedLine(65536).utf8); out += [0x0D, 0x0A]  // at the limit, then CRLF
        case 40: out += Array(paddedLine(65537).utf8); out.append(0x0A)  // one byte over
        case 41: out += Array(paddedLine(65535).utf8); out += [0x0D, 0x0D, 0x0A]  // one CR is dropped, one kept
        case 90: out += Array(paddedLine(200_000).utf8); end()  // far over, spans many chunks
        case 91: out += [UInt8](repeating: 0x20, count: 70_000); out.append(0x0A)  // too long blank-ish line
        case 120: out += tsOutOfRangeCases[i % tsOutOfRangeCases.count].line; end()  // a time outside 1970 ..< 2200
        default:
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: end()  // an empty line
            case 1...5: out += Array(valids.randomElement(using: &rng)!.line.utf8); end()
            case 6: out += Array(generatedLine(&rng).utf8); end()
            default: out += rejects.randomElement(using: &rng)!.line; end()
            }
        }
    }
    out += Array(line(#","last":true"#).utf8)
    if finalNewline { out.append(0x0A) }
    return out
}

/// A valid line with random field values, so events are not all alike.
func generatedLine(_ rng: inout SplitMix64) -> String {
    let ms = Int64.random(in: 1_600_000_000_000...1_900_000_000_000, using: &rng)
    let ts = Bool.random(using: &rng) ? "\(ms)" : "\"\(Timestamp(epochMilliseconds: ms).rfc3339)\""
    let principal = "svc-\(UInt32.random(in: 0...99, using: &rng))"
    let hex = String(UInt64.random(in: 0...UInt64.max, using: &rng), radix: 16)
    return #"{"ts":\#(ts),"principal":"\#(principal)","size":\#(Int.random(in: 0...1 << 30, using: &rng)),"conn":"c-\#(hex)","dir":"\#(Bool.random(using: &rng) ? "in" : "out")","seq":\#(Int.random(in: 0...10000, using: &rng)),"checksum":"crc32c:\#(hex.prefix(8))"}"#
}

@Suite("Drip-feeding lines through LineFramer and the decoder")
struct DripFeedTests {
    static let fixture = mixedFixture()

    @Test func theFixtureIsWhatItClaims() {
        let records = referenceRecords(Self.fixture)
        let reasons = Set(records.compactMap(\.outcome.reason))
        #expect(reasons == Set(RejectReason.allCases), "every reason appears")
        #expect(records.filter { $0.outcome.event != nil }.count > 100)
        #expect(records.last?.outcome.event != nil, "the last line, without newline, is an event")
        #expect(Self.fixture.last != 0x0A)
        #expect(Self.fixture.count > 400_000)
        #expect(records.count < Self.fixture.split(separator: 0x0A, omittingEmptySubsequences: false).count, "some lines are empty")
        // The lines at the limit are accepted, the ones over it are not.
        let byLine = Dictionary(uniqueKeysWithValues: records.map { ($0.line, $0.outcome) })
        #expect(byLine[18] == .event(base))
        #expect(byLine[19] == .event(base))
        #expect(byLine[41] == .rejected(.tooLong))
        #expect(byLine[42] == .event(base), "only one CR is dropped; the other is JSON whitespace")
        #expect(byLine[91] == .rejected(.tooLong))
        #expect(byLine[92] == .rejected(.tooLong))
    }

    @Test func allAtOnceMatchesTheReferenceSplit() {
        let expected = referenceRecords(Self.fixture)
        let got = framedRecords(Self.fixture, chunkSizes: [Self.fixture.count])
        #expect(got.count == expected.count)
        expectSameRecords(got, expected)
    }

    @Test func byteByByte() {
        let expected = referenceRecords(Self.fixture)
        let got = framedRecords(Self.fixture, chunkSizes: [1])
        expectSameRecords(got, expected)
    }

    @Test(arguments: [2, 3, 5, 7, 13, 64, 1000, 4096, 65535, 65536, 65537, 65538, 131_073])
    func fixedChunkSizes(_ size: Int) {
        expectSameRecords(framedRecords(Self.fixture, chunkSizes: [size]), referenceRecords(Self.fixture), "chunks of \(size)")
    }

    @Test(arguments: [1, 2, 3, 42, 2026] as [UInt64])
    func randomChunkSizes(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let expected = referenceRecords(Self.fixture)
        let small = (0..<5000).map { _ in Int.random(in: 1...16, using: &rng) }
        expectSameRecords(framedRecords(Self.fixture, chunkSizes: small), expected, "chunks of 1…16 bytes")
        let mixed = (0..<500).map { _ in
            Bool.random(using: &rng) ? Int.random(in: 1...8, using: &rng) : Int.random(in: 1...100_000, using: &rng)
        }
        expectSameRecords(framedRecords(Self.fixture, chunkSizes: mixed), expected, "chunks of 1…100000 bytes")
    }

    @Test func everySplitPointOfTwoChunks() {
        // A small file cut in two at every byte: every line end, CR and quote
        // falls on a boundary once.
        let data = Array("\(ok)\r\n\n\(line(size: "-1"))\n\r\n\(paddedLine(300))\r\n{\"x\":\r\n\(ok)".utf8)
        let expected = referenceRecords(data, maxLineLength: 256)
        #expect(expected.map(\.outcome) == [.event(base), .rejected(.negativeSize), .rejected(.tooLong), .rejected(.notJSON), .event(base)])
        #expect(expected.map(\.line) == [1, 3, 5, 6, 7])
        for cut in 1..<data.count {
            let got = framedRecords(data, chunkSizes: [cut, data.count], maxLineLength: 256)
            expectSameRecords(got, expected, "cut at \(cut)")
        }
    }

    @Test func lineAtTheLimitWithCRLFInEveryPairOfChunks() {
        // 256 bytes plus `\r\n`: the carry must hold the line and its CR.
        let body = Array(paddedLine(256).utf8)
        let data = body + [0x0D, 0x0A] + body + [0x0A] + Array(paddedLine(257).utf8) + [0x0D, 0x0A] + body
        let expected = [
            Record(line: 1, outcome: .event(base)), Record(line: 2, outcome: .event(base)),
            Record(line: 3, outcome: .rejected(.tooLong)), Record(line: 4, outcome: .event(base)),
        ]
        #expect(referenceRecords(data, maxLineLength: 256) == expected)
        for cut in stride(from: 1, to: data.count, by: 1) {
            #expect(framedRecords(data, chunkSizes: [cut, data.count], maxLineLength: 256) == expected, "cut at \(cut)")
        }
        for size in 1...9 {
            #expect(framedRecords(data, chunkSizes: [size], maxLineLength: 256) == expected, "chunks of \(size)")
        }
    }

    @Test func finalLineEndings() {
        // With or without a final newline, a final CR, or a final too-long line.
        let variants: [(String, [Record])] = [
            ("\(ok)\n", [Record(line: 1, outcome: .event(base))]),
            ("\(ok)", [Record(line: 1, outcome: .event(base))]),
            ("\(ok)\r", [Record(line: 1, outcome: .event(base))]),
            ("\(ok)\r\n", [Record(line: 1, outcome: .event(base))]),
            ("\n\n\(ok)", [Record(line: 3, outcome: .event(base))]),
            ("\(ok)\n\r", [Record(line: 1, outcome: .event(base))]),
            ("\(ok)\n\(String(repeating: "z", count: 300))", [
                Record(line: 1, outcome: .event(base)), Record(line: 2, outcome: .rejected(.tooLong)),
            ]),
            ("\(ok)\n{", [Record(line: 1, outcome: .event(base)), Record(line: 2, outcome: .rejected(.notJSON))]),
            ("", []),
            ("\n", []),
            ("\r\n\r\n", []),
        ]
        for (text, expected) in variants {
            let data = Array(text.utf8)
            #expect(referenceRecords(data, maxLineLength: 256) == expected, "reference for \(text.debugDescription.prefix(40))")
            for size in [1, 2, 3, 1000] {
                #expect(
                    framedRecords(data, chunkSizes: [size], maxLineLength: 256) == expected,
                    "\(text.debugDescription.prefix(40)) in chunks of \(size)")
            }
        }
    }

    @Test func emptyChunksChangeNothing() {
        var framer = LineFramer(maxLineLength: 256)
        var lines: [(Int, [UInt8])] = []
        let data = Array("ab\ncd".utf8)
        func handle(_ line: LineFramer.Line, _ n: Int) {
            if case .complete(let b) = line { lines.append((n, Array(b))) }
        }
        data.withUnsafeBytes { all in
            framer.feed(UnsafeRawBufferPointer(start: nil, count: 0), handle)
            framer.feed(UnsafeRawBufferPointer(rebasing: all[0..<2]), handle)
            framer.feed(UnsafeRawBufferPointer(rebasing: all[2..<2]), handle)
            framer.feed(UnsafeRawBufferPointer(rebasing: all[2..<5]), handle)
        }
        framer.finish(handle)
        framer.finish(handle)  // a second finish hands out nothing more
        #expect(lines.map(\.0) == [1, 2])
        #expect(lines.map(\.1) == [Array("ab".utf8), Array("cd".utf8)])
        #expect(framer.lineNumber == 2)
    }

    @Test func errorsThrownByTheBodyStopFeeding() {
        struct Stop: Error {}
        var framer = LineFramer(maxLineLength: 256)
        var seen = 0
        let data = Array("a\nb\nc\n".utf8)
        #expect(throws: Stop.self) {
            try data.withUnsafeBytes { all in
                try framer.feed(all) { _, n in
                    seen = n
                    if n == 2 { throw Stop() }
                }
            }
        }
        #expect(seen == 2)
    }

    /// The same fixture through `EventReader` from a file, read in buffers of
    /// several sizes: the accepted events and the rejects file must match the
    /// reference split line for line.
    @Test(arguments: [1, 3, 4, 7, 4096, 65536, 1 << 20])
    func eventReaderWithSmallReadBuffers(_ bufferSize: Int) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = try dir.write("mixed.ndjson", Self.fixture)
        let expected = referenceRecords(Self.fixture)
        let result = readAll(path, readBufferSize: bufferSize, rejectsPath: dir.path("rejects.ndjson"))
        #expect(result.error == nil)
        expectSameEvents(result.events, expected.compactMap(\.outcome.event))
        let rejects = try parseRejects(dir.path("rejects.ndjson"))
        let expectedRejects = expected.filter { $0.outcome.reason != nil }
        #expect(rejects.map(\.line) == expectedRejects.map(\.line))
        #expect(rejects.map(\.reason) == expectedRejects.map { $0.outcome.reason!.name })
        #expect(rejects.allSatisfy { $0.file == path })
        #expect(result.counts.accepted == result.events.count)
        for reason in RejectReason.allCases {
            #expect(result.counts[reason] == expectedRejects.filter { $0.outcome.reason == reason }.count, "\(reason)")
        }
        #expect(result.counts.lines == expected.count)
    }
}

struct RejectLine {
    var file: String
    var line: Int
    var reason: String
    var text: String?
}

func parseRejects(_ path: String) throws -> [RejectLine] {
    let data = try readBytes(path)
    var out: [RejectLine] = []
    for raw in data.split(separator: 0x0A) {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any], "rejects line is an object")
        out.append(
            RejectLine(
                file: try #require(object["file"] as? String), line: try #require(object["line"] as? Int),
                reason: try #require(object["reason"] as? String), text: object["text"] as? String))
    }
    return out
}
