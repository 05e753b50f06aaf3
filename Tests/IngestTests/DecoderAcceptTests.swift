import ChunkModel
import Ingest
import Testing

/// One line that must be accepted, and the event it must give.
struct ValidCase: Sendable, CustomTestStringConvertible {
    var name: String
    var line: String
    var expected: ChunkEvent
    var testDescription: String { name }
    init(_ name: String, _ line: String, _ expected: ChunkEvent) {
        self.name = name
        self.line = line
        self.expected = expected
    }
}

let base = event(ms: tsMs, "svc-billing", size: 16384)

func with(_ e: ChunkEvent, _ change: (inout ChunkEvent) -> Void) -> ChunkEvent {
    var e = e
    change(&e)
    return e
}

let validCases: [ValidCase] = [
    ValidCase(
        "every field of SPEC §2",
        #"{"ts":"2026-11-25T08:00:03.120Z","principal":"svc-billing","size":16384,"conn":"c-8812","resource":"pg://orders","dir":"out","seq":17,"checksum":"crc32c:1a2b3c4d","expected_checksum":"crc32c:1a2b3c4e","hop":"gateway-egress","op":"read","rate":12.5,"labels":{"env":"prod","team":"billing"}}"#,
        event(
            ms: tsMs, "svc-billing", size: 16384, conn: "c-8812", resource: "pg://orders", dir: .outbound, seq: 17,
            checksum: "crc32c:1a2b3c4d", expectedChecksum: "crc32c:1a2b3c4e", hop: "gateway-egress", op: "read",
            rate: 12.5)),
    ValidCase(
        "fields in another order",
        #"{"rate":1,"labels":{},"size":5,"op":"write","principal":"p","dir":"in","ts":1700000000000,"hop":"sink"}"#,
        event(ms: 1_700_000_000_000, "p", size: 5, hop: "sink", op: "write", rate: 1)),
    ValidCase("minimal, ts as epoch milliseconds", #"{"ts":1700000000000,"principal":"a","size":0}"#,
        event(ms: 1_700_000_000_000, "a", size: 0)),
    ValidCase("ts epoch 0", #"{"ts":0,"principal":"a","size":1}"#, event(ms: 0, "a", size: 1)),
    ValidCase("ts with +05:30 offset", line(ts: #""2026-11-25T13:30:03.120+05:30""#), base),
    ValidCase("ts with -08:00 offset", line(ts: #""2026-11-25T00:00:03.120-08:00""#), base),
    ValidCase("ts with escaped characters", line(ts: #""2026-11-25T08:00:03.120\u005A""#), base),

    // Strings.
    ValidCase("simple escapes", line(principal: #""a\"b\\c\/d\ne\tf\rg\bh\fi""#),
        with(base) { $0.principal = Symbol("a\"b\\c/d\ne\tf\rg\u{8}h\u{C}i") }),
    ValidCase("\\u00e9", line(principal: #""caf\u00e9""#), with(base) { $0.principal = Symbol("café") }),
    ValidCase("\\u escapes of 1, 2 and 3 UTF-8 bytes", line(principal: #""\u0041\u00E9\u20ac\u0000""#),
        with(base) { $0.principal = Symbol("Aé€\u{0}") }),
    ValidCase("surrogate pair", line(principal: #""smile-\ud83d\ude00""#), with(base) { $0.principal = Symbol("smile-😀") }),
    ValidCase("surrogate pair in upper case", line(principal: #""\uD83D\uDE00!""#), with(base) { $0.principal = Symbol("😀!") }),
    ValidCase("highest code point", line(principal: #""\udbff\udfff""#), with(base) { $0.principal = Symbol("\u{10FFFF}") }),
    ValidCase("raw UTF-8", line(principal: #""日本-😀-é""#), with(base) { $0.principal = Symbol("日本-😀-é") }),
    ValidCase("escapes in optional strings",
        line(#","resource":"https:\/\/api\/v1\/users","conn":"c\"1","op":"r\u0065ad""#),
        with(base) {
            $0.resource = Symbol("https://api/v1/users")
            $0.conn = Symbol("c\"1")
            $0.op = Symbol("read")
        }),
    ValidCase("escaped key", #"{"t\u0073":"2026-11-25T08:00:03.120Z","\u0070rincipal":"svc-billing","siz\u0065":16384}"#, base),
    ValidCase("dir spelled with escapes", line(#","dir":"\u006fut""#), with(base) { $0.dir = .outbound }),
    ValidCase("principal of 1 byte", line(principal: #""x""#), with(base) { $0.principal = Symbol("x") }),
    ValidCase("principal of 256 bytes", line(principal: "\"" + String(repeating: "p", count: 256) + "\""),
        with(base) { $0.principal = Symbol(String(repeating: "p", count: 256)) }),
    ValidCase("principal of 256 bytes in 2-byte characters", line(principal: "\"" + String(repeating: "é", count: 128) + "\""),
        with(base) { $0.principal = Symbol(String(repeating: "é", count: 128)) }),
    ValidCase("principal of 256 bytes from 768 bytes of escapes",
        line(principal: "\"" + String(repeating: "\\u00e9", count: 128) + "\""),
        with(base) { $0.principal = Symbol(String(repeating: "é", count: 128)) }),
    ValidCase("principal of 256 bytes in 4-byte characters from surrogate pairs",
        line(principal: "\"" + String(repeating: "\\ud83d\\ude00", count: 64) + "\""),
        with(base) { $0.principal = Symbol(String(repeating: "😀", count: 64)) }),

    // Numbers.
    ValidCase("size 1e3", line(size: "1e3"), with(base) { $0.size = 1000 }),
    ValidCase("size 1E+3", line(size: "1E+3"), with(base) { $0.size = 1000 }),
    ValidCase("size 12.0", line(size: "12.0"), with(base) { $0.size = 12 }),
    ValidCase("size 0.5e1", line(size: "0.5e1"), with(base) { $0.size = 5 }),
    ValidCase("size 2500e-2", line(size: "2500e-2"), with(base) { $0.size = 25 }),
    ValidCase("size 0", line(size: "0"), with(base) { $0.size = 0 }),
    ValidCase("size -0", line(size: "-0"), with(base) { $0.size = 0 }),
    ValidCase("size 1 TiB", line(size: "1099511627776"), with(base) { $0.size = 1_099_511_627_776 }),
    ValidCase("size of 18 digits", line(size: "123456789012345678"), with(base) { $0.size = 123_456_789_012_345_678 }),
    ValidCase("rate 2.5e-1", line(#","rate":2.5e-1"#), with(base) { $0.rate = 0.25 }),
    ValidCase("rate 0", line(#","rate":0"#), with(base) { $0.rate = 0 }),
    ValidCase("rate 1E2", line(#","rate":1E2"#), with(base) { $0.rate = 100 }),
    ValidCase("rate 0.1 correctly rounded", line(#","rate":0.1"#), with(base) { $0.rate = 0.1 }),
    ValidCase("rate with many digits", line(#","rate":123456789.123456789"#), with(base) { $0.rate = 123456789.123456789 }),
    ValidCase("rate with a large exponent", line(#","rate":1.5e300"#), with(base) { $0.rate = 1.5e300 }),
    ValidCase("rate with a tiny exponent", line(#","rate":7e-320"#), with(base) { $0.rate = 7e-320 }),
    ValidCase("seq 0", line(#","seq":0"#), with(base) { $0.seq = 0 }),
    ValidCase("seq large", line(#","seq":9007199254740993"#), with(base) { $0.seq = 9_007_199_254_740_993 }),
    ValidCase("seq 2e1", line(#","seq":2e1"#), with(base) { $0.seq = 20 }),

    // Optional fields.
    ValidCase("dir in", line(#","dir":"in""#), base),
    ValidCase("dir out", line(#","dir":"out""#), with(base) { $0.dir = .outbound }),
    ValidCase(
        "null for every optional field",
        line(#","conn":null,"resource":null,"dir":null,"seq":null,"checksum":null,"expected_checksum":null,"hop":null,"op":null,"rate":null,"labels":null"#),
        base),
    ValidCase(
        "empty strings for optional strings",
        line(#","conn":"","resource":"","checksum":"","expected_checksum":"","hop":"","op":"""#), base),
    ValidCase("labels with escapes", line(#","labels":{"a":"b","c\"d":"e\\f","\u00e9":"\ud83d\ude00","":""}"#), base),
    ValidCase("labels empty", line(#","labels":{ }"#), base),

    // Unknown fields.
    ValidCase(
        "unknown fields of every shape",
        line(
            #","x":{"a":[1,2,{"b":null}],"c":"q\"\\\u0041","d":{}},"y":[],"z":{},"t":true,"f":false,"n":null,"num":-1.5e-7,"s":"}{][,:\"","arr":[[[]],[{}],"x",0,-0.0,1E5,true,false,null],"ts_":"not a time","sizes":-5,"principal2":7"#
        ),
        base),
    ValidCase("unknown fields before the known ones", #"{"a":[{"b":[{"c":"}"}]}],"ts":1,"principal":"p","size":2,"zz":{}}"#,
        event(ms: 1, "p", size: 2)),
    ValidCase("unknown field with a huge number", line(#","big":123456789012345678901234567890e400"#), base),

    // Whitespace and duplicates.
    ValidCase(
        "whitespace everywhere",
        " \t{ \"ts\" :\t\"\(tsText)\" ,\n\"principal\"\r:  \"svc-billing\"\t,\"size\"\n:\n16384 , \"labels\" : { \"a\" : \"b\" } , \"x\" : [ 1 , { \"y\" : [ ] } ] }\t \r",
        base),
    ValidCase("duplicate size: last wins", line(#","size":2"#), with(base) { $0.size = 2 }),
    ValidCase("duplicate principal: last wins", line(#","principal":"second""#), with(base) { $0.principal = Symbol("second") }),
    ValidCase("duplicate ts: last wins", line(#","ts":0"#), with(base) { $0.ts = .zero }),
    ValidCase("duplicate dir: last wins", line(#","dir":"out","dir":"in""#), base),
    ValidCase("duplicate conn: a later null clears it", line(#","conn":"c1","conn":null"#), base),
    ValidCase("duplicate rate and seq: last wins", line(#","rate":1,"seq":3,"rate":null,"seq":4"#), with(base) { $0.seq = 4 }),
]

@Suite("ChunkEventDecoder accepts valid lines")
struct DecoderAcceptTests {
    @Test(arguments: validCases)
    func decodes(_ c: ValidCase) {
        let decoder = LineDecoder()
        #expect(decoder.decode(c.line) == .event(c.expected), "\(c.line)")
    }

    @Test func theWholeTableThroughOneDecoderInSequence() {
        // The same decoder, reused: no field of one line may leak into the next.
        let decoder = LineDecoder()
        for round in 0..<2 {
            for c in validCases {
                #expect(decoder.decode(c.line) == .event(c.expected), "round \(round): \(c.name)")
            }
            for c in validCases.reversed() {
                #expect(decoder.decode(c.line) == .event(c.expected), "round \(round), reversed: \(c.name)")
            }
        }
    }

    @Test func namesAreRegisteredInTheSymbolTable() throws {
        let decoder = LineDecoder()
        let e = try #require(
            decoder.decode(line(principal: #""smile-\ud83d\ude00""#, #","resource":"pg:\/\/orders","hop":"sink""#)).event)
        #expect(e.principal == Symbol("smile-😀"))
        #expect(decoder.table.name(e.principal) == "smile-😀")
        #expect(decoder.table.name(e.resource) == "pg://orders")
        #expect(decoder.table.name(e.hop) == "sink")
        #expect(decoder.table.name(e.conn) == nil)
    }

    @Test(arguments: [1, 2, 100, 5000, 30000])
    func deepNestingInUnknownFieldsIsSkipped(depth: Int) {
        let decoder = LineDecoder()
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        let mixed = String(repeating: #"[{"k":"#, count: depth / 2 + 1) + "null" + String(repeating: "}]", count: depth / 2 + 1)
        for value in [arrays, objects, mixed] where value.utf8.count < maxLine - 200 {
            #expect(decoder.decode(line(#","deep":"# + value)) == .event(base))
            #expect(decoder.decode(#"{"deep":"# + value + #","ts":"\#(tsText)","principal":"svc-billing","size":16384}"#) == .event(base))
            // The same nesting left unclosed (or closed wrongly) is broken JSON, not a crash.
            #expect(decoder.decode(line(#","deep":"# + value.dropLast())) == .rejected(.notJSON))
            #expect(decoder.decode(line(#","deep":"# + value + "]")) == .rejected(.notJSON))
        }
        // Deep nesting as a known field's value is a wrong type.
        #expect(decoder.decode(line(size: arrays)) == .rejected(.wrongType))
        if objects.utf8.count < maxLine - 200 {
            #expect(decoder.decode(line(#","labels":{"a":"# + objects + "}")) == .rejected(.wrongType))
        }
    }

    @Test func maxLineLengthIsInclusive() {
        let decoder = LineDecoder(maxLineLength: 200)
        #expect(paddedLine(200).utf8.count == 200)
        #expect(decoder.decode(paddedLine(200)) == .event(base))
        #expect(decoder.decode(paddedLine(199)) == .event(base))
        #expect(decoder.decode(paddedLine(201)) == .rejected(.tooLong))
    }

    @Test func aLineOfExactly64KiBIsAccepted() {
        let decoder = LineDecoder()
        #expect(paddedLine(65536).utf8.count == 65536)
        #expect(decoder.decode(paddedLine(65536)) == .event(base))
        #expect(decoder.decode(paddedLine(65537)) == .rejected(.tooLong))
        #expect(decoder.decode(paddedLine(200_000)) == .rejected(.tooLong))
    }
}

/// A valid line (decoding to `base`) of exactly `length` bytes, padded with an unknown field.
func paddedLine(_ length: Int) -> String {
    let pad = length - line().utf8.count - 7
    precondition(pad >= 0)
    return line(",\"p\":\"" + String(repeating: "x", count: pad) + "\"")
}
