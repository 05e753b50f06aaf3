import ChunkModel
import Ingest
import Testing

/// One line that must be rejected, and why.
struct RejectCase: Sendable, CustomTestStringConvertible {
    var name: String
    var line: [UInt8]
    var reason: RejectReason
    var testDescription: String { "\(reason): \(name)" }
    init(_ reason: RejectReason, _ name: String, _ line: String) {
        self.reason = reason
        self.name = name
        self.line = Array(line.utf8)
    }
    init(_ reason: RejectReason, _ name: String, bytes: [UInt8]) {
        self.reason = reason
        self.name = name
        self.line = bytes
    }
}

let ok = line()
let okPrefix = String(ok.dropLast())  // without the closing brace

let notJSONCases: [RejectCase] = [
    RejectCase(.notJSON, "empty line", ""),
    RejectCase(.notJSON, "only spaces", "   \t "),
    RejectCase(.notJSON, "truncated object", okPrefix),
    RejectCase(.notJSON, "truncated after a comma", okPrefix + ","),
    RejectCase(.notJSON, "truncated inside a string", #"{"ts":"2026-11-25T08:00:03.120Z","principal":"svc-bil"#),
    RejectCase(.notJSON, "truncated inside a key", #"{"ts":"2026-11-25T08:00:03.120Z","princ"#),
    RejectCase(.notJSON, "truncated after a colon", #"{"ts":"2026-11-25T08:00:03.120Z","principal":"#),
    RejectCase(.notJSON, "just an opening brace", "{"),
    RejectCase(.notJSON, "trailing garbage", ok + "x"),
    RejectCase(.notJSON, "a second object", ok + "{}"),
    RejectCase(.notJSON, "a trailing comma after the object", ok + ","),
    RejectCase(.notJSON, "a trailing comma inside the object", okPrefix + ",}"),
    RejectCase(.notJSON, "two commas", okPrefix + #",,"a":1}"#),
    RejectCase(.notJSON, "a missing comma", okPrefix + #" "a":1}"#),
    RejectCase(.notJSON, "a missing colon", okPrefix + #","a" 1}"#),
    RejectCase(.notJSON, "a key that is not a string", okPrefix + #",a:1}"#),
    RejectCase(.notJSON, "a number as a key", okPrefix + #",1:1}"#),
    RejectCase(.notJSON, "single quotes", #"{'ts':1,'principal':'p','size':1}"#),
    RejectCase(.notJSON, "an array, not an object", #"[{"ts":1,"principal":"p","size":1}]"#),
    RejectCase(.notJSON, "a bare string", #""hello""#),
    RejectCase(.notJSON, "a bare number", "42"),
    RejectCase(.notJSON, "null", "null"),
    RejectCase(.notJSON, "bad escape \\x", line(principal: #""a\xb""#)),
    RejectCase(.notJSON, "bad escape \\U", line(principal: #""a\U00e9""#)),
    RejectCase(.notJSON, "bad escape \\' in an unknown field", line(#","x":"it\'s""#)),
    RejectCase(.notJSON, "bad escape in labels", line(#","labels":{"a":"\q"}"#)),
    RejectCase(.notJSON, "bad escape in a key", okPrefix + #","\k":1}"#),
    RejectCase(.notJSON, "\\u with three hex digits", line(principal: #""\u00e""#)),
    RejectCase(.notJSON, "\\u with a non-hex digit", line(principal: #""\u00g1""#)),
    RejectCase(.notJSON, "\\u with a non-hex digit in an unknown field", line(#","x":"\u12G4""#)),
    RejectCase(.notJSON, "a backslash at the end of the line", #"{"principal":"abc\"#),
    RejectCase(.notJSON, "a raw tab in a string", line(principal: "\"a\tb\"")),
    RejectCase(.notJSON, "a raw newline in a string", line(principal: "\"a\nb\"")),
    RejectCase(.notJSON, "a raw NUL in a string", line(principal: "\"a\u{0}b\"")),
    RejectCase(.notJSON, "a raw control character in an unknown string", line(",\"x\":\"\u{1F}\"")),
    RejectCase(.notJSON, "a raw control character in a key", okPrefix + ",\"k\u{1}\":1}"),
    RejectCase(.notJSON, "a raw control character in a label", line(",\"labels\":{\"a\":\"\u{7}\"}")),
    RejectCase(.notJSON, "a raw control character after an escape", line(principal: "\"\\n\u{2}\"")),
    RejectCase(.notJSON, "a lone low surrogate", line(principal: #""\ude00""#)),
    RejectCase(.notJSON, "a lone high surrogate", line(principal: #""\ud83d""#)),
    RejectCase(.notJSON, "a high surrogate followed by a letter", line(principal: #""\ud83dx""#)),
    RejectCase(.notJSON, "two high surrogates", line(principal: #""\ud83d\ud83d""#)),
    RejectCase(.notJSON, "a high surrogate followed by a BMP escape", line(principal: #""\ud83d\u0041""#)),
    RejectCase(.notJSON, "a low then a high surrogate", line(principal: #""\ude00\ud83d""#)),
    RejectCase(.notJSON, "a lone low surrogate in the resource", line(#","resource":"\udc00""#)),
    RejectCase(.notJSON, "a lone low surrogate in the ts", line(ts: #""2026-11-25T08:00:03.120\udc00""#)),
    RejectCase(.notJSON, "unterminated string value", okPrefix + #","x":"abc}"#),
    RejectCase(.notJSON, "tru", line(#","x":tru"#)),
    RejectCase(.notJSON, "True", line(#","x":True"#)),
    RejectCase(.notJSON, "nul", line(#","x":nul"#)),
    RejectCase(.notJSON, "NaN", line(#","x":NaN"#)),
    RejectCase(.notJSON, "Infinity", line(#","x":Infinity"#)),
    RejectCase(.notJSON, "a leading zero", line(#","x":01"#)),
    RejectCase(.notJSON, "a leading plus", line(#","x":+1"#)),
    RejectCase(.notJSON, "a leading dot", line(#","x":.5"#)),
    RejectCase(.notJSON, "a trailing dot", line(#","x":1."#)),
    RejectCase(.notJSON, "an exponent without digits", line(#","x":1e"#)),
    RejectCase(.notJSON, "an exponent with only a sign", line(#","x":1e+"#)),
    RejectCase(.notJSON, "a lone minus", line(#","x":-"#)),
    RejectCase(.notJSON, "a hexadecimal number", line(#","x":0x10"#)),
    RejectCase(.notJSON, "size with a leading zero", line(size: "012")),
    RejectCase(.notJSON, "size with a trailing dot", line(size: "12.")),
    RejectCase(.notJSON, "size with a bad exponent", line(size: "1e")),
    RejectCase(.notJSON, "rate with a trailing dot", line(#","rate":1."#)),
    RejectCase(.notJSON, "seq as a lone minus", line(#","seq":-"#)),
    RejectCase(.notJSON, "ts with a bad exponent", line(ts: "1e")),
    RejectCase(.notJSON, "an array with a trailing comma", line(#","x":[1,]"#)),
    RejectCase(.notJSON, "an array with a leading comma", line(#","x":[,1]"#)),
    RejectCase(.notJSON, "an object without a value", line(#","x":{"a"}"#)),
    RejectCase(.notJSON, "an object with a trailing comma", line(#","x":{"a":1,}"#)),
    RejectCase(.notJSON, "an object closed by ]", line(#","x":{"a":1]"#)),
    RejectCase(.notJSON, "an array closed by }", line(#","x":[1}"#)),
    RejectCase(.notJSON, "an unclosed array", line(#","x":[1,2"#)),
    RejectCase(.notJSON, "labels not closed", okPrefix + #","labels":{"a":"b""#),
    RejectCase(.notJSON, "labels with a trailing comma", line(#","labels":{"a":"b",}"#)),
    RejectCase(.notJSON, "labels without a colon", line(#","labels":{"a" "b"}"#)),
    RejectCase(.notJSON, "labels with a number as key", line(#","labels":{1:"b"}"#)),
    RejectCase(.notJSON, "a wrongly typed size that is also broken", line(size: #""abc"#)),
    RejectCase(.notJSON, "a wrongly typed principal that is also broken", line(principal: "[1,")),
    RejectCase(.notJSON, "a wrongly typed ts that is also broken", line(ts: "[1,")),
    RejectCase(.notJSON, "a UTF-8 BOM before the object", "\u{FEFF}" + ok),
    RejectCase(.notJSON, "a comment", ok + " // comment"),
]

let missingFieldCases: [RejectCase] = [
    RejectCase(.missingField, "empty object", "{}"),
    RejectCase(.missingField, "empty object with spaces", " { } "),
    RejectCase(.missingField, "no ts", #"{"principal":"p","size":1}"#),
    RejectCase(.missingField, "no principal", #"{"ts":"2026-11-25T08:00:03.120Z","size":1}"#),
    RejectCase(.missingField, "no size", #"{"ts":"2026-11-25T08:00:03.120Z","principal":"p"}"#),
    RejectCase(.missingField, "only ts", #"{"ts":1}"#),
    RejectCase(.missingField, "only optional fields", #"{"conn":"c","resource":"r","dir":"in","seq":1,"rate":1,"labels":{}}"#),
    RejectCase(.missingField, "ts only inside an unknown object", #"{"x":{"ts":1},"principal":"p","size":1}"#),
    RejectCase(.missingField, "size only inside labels", #"{"ts":1,"principal":"p","labels":{"size":"1"}}"#),
    RejectCase(.missingField, "a key that differs in case", #"{"TS":1,"principal":"p","size":1}"#),
    RejectCase(.missingField, "a key with a trailing space", #"{"ts ":1,"principal":"p","size":1}"#),
    RejectCase(.missingField, "a key that is a prefix", #"{"ts":1,"principa":"p","size":1}"#),
]

let wrongTypeCases: [RejectCase] = [
    RejectCase(.wrongType, "size as a string", line(size: #""5""#)),
    RejectCase(.wrongType, "size as true", line(size: "true")),
    RejectCase(.wrongType, "size as null", line(size: "null")),
    RejectCase(.wrongType, "size as an array", line(size: "[5]")),
    RejectCase(.wrongType, "size as an object", line(size: #"{"v":5}"#)),
    RejectCase(.wrongType, "size 1.5", line(size: "1.5")),
    RejectCase(.wrongType, "size 1e-1", line(size: "1e-1")),
    RejectCase(.wrongType, "size 2.000001", line(size: "2.000001")),
    RejectCase(.wrongType, "size 1e400 (infinite)", line(size: "1e400")),
    RejectCase(.wrongType, "principal as a number", line(principal: "42")),
    RejectCase(.wrongType, "principal as null", line(principal: "null")),
    RejectCase(.wrongType, "principal as true", line(principal: "true")),
    RejectCase(.wrongType, "principal as an object", line(principal: #"{"name":"p"}"#)),
    RejectCase(.wrongType, "principal as an array", line(principal: #"["p"]"#)),
    RejectCase(.wrongType, "principal empty", line(principal: #""""#)),
    RejectCase(.wrongType, "principal of 257 bytes", line(principal: "\"" + String(repeating: "p", count: 257) + "\"")),
    RejectCase(.wrongType, "principal of 258 bytes in 2-byte characters", line(principal: "\"" + String(repeating: "é", count: 129) + "\"")),
    RejectCase(.wrongType, "principal of 257 bytes after unescaping",
        line(principal: "\"x" + String(repeating: "\\u00e9", count: 128) + "\"")),
    RejectCase(.wrongType, "principal of 1000 bytes", line(principal: "\"" + String(repeating: "q", count: 1000) + "\"")),
    RejectCase(.wrongType, "dir sideways", line(#","dir":"sideways""#)),
    RejectCase(.wrongType, "dir IN", line(#","dir":"IN""#)),
    RejectCase(.wrongType, "dir inbound", line(#","dir":"inbound""#)),
    RejectCase(.wrongType, "dir empty", line(#","dir":"""#)),
    RejectCase(.wrongType, "dir ou", line(#","dir":"ou""#)),
    RejectCase(.wrongType, "dir outt", line(#","dir":"outt""#)),
    RejectCase(.wrongType, "dir as a number", line(#","dir":1"#)),
    RejectCase(.wrongType, "dir as true", line(#","dir":true"#)),
    RejectCase(.wrongType, "seq negative", line(#","seq":-1"#)),
    RejectCase(.wrongType, "seq very negative", line(#","seq":-9007199254740993"#)),
    RejectCase(.wrongType, "seq 1.5", line(#","seq":1.5"#)),
    RejectCase(.wrongType, "seq as a string", line(#","seq":"3""#)),
    RejectCase(.wrongType, "seq as true", line(#","seq":true"#)),
    RejectCase(.wrongType, "rate negative", line(#","rate":-0.5"#)),
    RejectCase(.wrongType, "rate -1", line(#","rate":-1"#)),
    RejectCase(.wrongType, "rate -1e-300", line(#","rate":-1e-300"#)),
    RejectCase(.wrongType, "rate infinite", line(#","rate":1e400"#)),
    RejectCase(.wrongType, "rate as a string", line(#","rate":"1""#)),
    RejectCase(.wrongType, "rate as false", line(#","rate":false"#)),
    RejectCase(.wrongType, "labels with a number value", line(#","labels":{"a":1}"#)),
    RejectCase(.wrongType, "labels with a null value", line(#","labels":{"a":"b","c":null}"#)),
    RejectCase(.wrongType, "labels with a boolean value", line(#","labels":{"a":true}"#)),
    RejectCase(.wrongType, "labels with an object value", line(#","labels":{"a":{"b":"c"}}"#)),
    RejectCase(.wrongType, "labels with an array value", line(#","labels":{"a":["b"]}"#)),
    RejectCase(.wrongType, "labels as an array", line(#","labels":["a","b"]"#)),
    RejectCase(.wrongType, "labels as a string", line(#","labels":"a=b""#)),
    RejectCase(.wrongType, "conn as a number", line(#","conn":5"#)),
    RejectCase(.wrongType, "resource as an object", line(#","resource":{}"#)),
    RejectCase(.wrongType, "checksum as a number", line(#","checksum":123"#)),
    RejectCase(.wrongType, "expected_checksum as an array", line(#","expected_checksum":[]"#)),
    RejectCase(.wrongType, "hop as true", line(#","hop":true"#)),
    RejectCase(.wrongType, "op as false", line(#","op":false"#)),
    RejectCase(.wrongType, "ts as true", line(ts: "true")),
    RejectCase(.wrongType, "ts as an object", line(ts: "{}")),
]

let negativeSizeCases: [RejectCase] = [
    RejectCase(.negativeSize, "size -1", line(size: "-1")),
    RejectCase(.negativeSize, "size -16384", line(size: "-16384")),
    RejectCase(.negativeSize, "size -1e3", line(size: "-1e3")),
    RejectCase(.negativeSize, "size -0.5", line(size: "-0.5")),
    RejectCase(.negativeSize, "size of -20 digits", line(size: "-99999999999999999999")),
    RejectCase(.negativeSize, "size negative, last of duplicates", line(#","size":-2"#)),
    RejectCase(.negativeSize, "size negative, principal later", #"{"size":-7,"ts":1,"principal":"p"}"#),
]

let badTimestampCases: [RejectCase] = [
    RejectCase(.badTimestamp, "Feb 30", line(ts: #""2026-02-30T08:00:00Z""#)),
    RejectCase(.badTimestamp, "Feb 29 in a common year", line(ts: #""2025-02-29T08:00:00Z""#)),
    RejectCase(.badTimestamp, "Feb 29 in 1900", line(ts: #""1900-02-29T08:00:00Z""#)),
    RejectCase(.badTimestamp, "April 31", line(ts: #""2026-04-31T08:00:00Z""#)),
    RejectCase(.badTimestamp, "month 13", line(ts: #""2026-13-01T08:00:00Z""#)),
    RejectCase(.badTimestamp, "month 00", line(ts: #""2026-00-01T08:00:00Z""#)),
    RejectCase(.badTimestamp, "day 00", line(ts: #""2026-01-00T08:00:00Z""#)),
    RejectCase(.badTimestamp, "day 32", line(ts: #""2026-01-32T08:00:00Z""#)),
    RejectCase(.badTimestamp, "hour 24", line(ts: #""2026-11-25T24:00:00Z""#)),
    RejectCase(.badTimestamp, "minute 60", line(ts: #""2026-11-25T08:60:00Z""#)),
    RejectCase(.badTimestamp, "second 61", line(ts: #""2026-11-25T08:00:61Z""#)),
    RejectCase(.badTimestamp, "missing offset", line(ts: #""2026-11-25T08:00:00""#)),
    RejectCase(.badTimestamp, "missing offset after a fraction", line(ts: #""2026-11-25T08:00:00.123""#)),
    RejectCase(.badTimestamp, "offset without colon", line(ts: #""2026-11-25T08:00:00+0530""#)),
    RejectCase(.badTimestamp, "offset with one digit", line(ts: #""2026-11-25T08:00:00+5:30""#)),
    RejectCase(.badTimestamp, "offset hours only", line(ts: #""2026-11-25T08:00:00+05""#)),
    RejectCase(.badTimestamp, "offset hour 24", line(ts: #""2026-11-25T08:00:00+24:00""#)),
    RejectCase(.badTimestamp, "offset minute 60", line(ts: #""2026-11-25T08:00:00+05:60""#)),
    RejectCase(.badTimestamp, "offset then Z", line(ts: #""2026-11-25T08:00:00+05:30Z""#)),
    RejectCase(.badTimestamp, "a dot without digits", line(ts: #""2026-11-25T08:00:00.Z""#)),
    RejectCase(.badTimestamp, "ZZ", line(ts: #""2026-11-25T08:00:00ZZ""#)),
    RejectCase(.badTimestamp, "trailing space", line(ts: #""2026-11-25T08:00:00Z ""#)),
    RejectCase(.badTimestamp, "leading space", line(ts: #"" 2026-11-25T08:00:00Z""#)),
    RejectCase(.badTimestamp, "bad separator", line(ts: #""2026-11-25X08:00:00Z""#)),
    RejectCase(.badTimestamp, "underscore separator", line(ts: #""2026-11-25_08:00:00Z""#)),
    RejectCase(.badTimestamp, "one-digit month", line(ts: #""2026-1-25T08:00:00Z""#)),
    RejectCase(.badTimestamp, "slashes", line(ts: #""2026/11/25T08:00:00Z""#)),
    RejectCase(.badTimestamp, "date only", line(ts: #""2026-11-25""#)),
    RejectCase(.badTimestamp, "empty string", line(ts: #""""#)),
    RejectCase(.badTimestamp, "words", line(ts: #""yesterday at noon""#)),
    RejectCase(.badTimestamp, "epoch milliseconds in a string", line(ts: #""1700000000000""#)),
    RejectCase(.badTimestamp, "epoch milliseconds with a fraction", line(ts: "1700000000000.5")),
]

/// Well-formed times outside 1970-01-01 ..< 2200-01-01 (docs/formats.md).
let tsOutOfRangeCases: [RejectCase] = [
    RejectCase(.tsOutOfRange, "epoch milliseconds of Int64.max", line(ts: "9223372036854775807")),
    RejectCase(.tsOutOfRange, "epoch milliseconds far out of range", line(ts: "1e30")),
    RejectCase(.tsOutOfRange, "epoch milliseconds past Int64 nanoseconds", line(ts: "-9223372036855")),
    RejectCase(.tsOutOfRange, "epoch milliseconds near the early limit of Int64 nanoseconds", line(ts: "-9223372036853")),
    RejectCase(.tsOutOfRange, "epoch milliseconds near the late limit of Int64 nanoseconds", line(ts: "9223372036854")),
    RejectCase(.tsOutOfRange, "epoch milliseconds one before 1970", line(ts: "-1")),
    RejectCase(.tsOutOfRange, "epoch milliseconds at 2200", line(ts: "7258118400000")),
    RejectCase(.tsOutOfRange, "epoch milliseconds as a large exponent", line(ts: "7.3e12")),
    RejectCase(.tsOutOfRange, "1677, before Int64 nanoseconds", line(ts: #""1677-09-21T00:13:00Z""#)),
    RejectCase(.tsOutOfRange, "1677, just inside Int64 nanoseconds", line(ts: #""1677-09-22T00:00:00Z""#)),
    RejectCase(.tsOutOfRange, "the last second of 1969", line(ts: #""1969-12-31T23:59:59.999Z""#)),
    RejectCase(.tsOutOfRange, "1970 made 1969 by its offset", line(ts: #""1970-01-01T00:30:00+01:00""#)),
    RejectCase(.tsOutOfRange, "2200", line(ts: #""2200-01-01T00:00:00Z""#)),
    RejectCase(.tsOutOfRange, "2199 made 2200 by its offset", line(ts: #""2199-12-31T23:30:00-01:00""#)),
    RejectCase(.tsOutOfRange, "2262, past Int64 nanoseconds", line(ts: #""2262-04-12T00:00:00Z""#)),
    RejectCase(.tsOutOfRange, "year 9999", line(ts: #""9999-12-31T23:59:59Z""#)),
    RejectCase(.tsOutOfRange, "year 0000", line(ts: #""0000-01-01T00:00:00Z""#)),
]

@Suite("ChunkEventDecoder rejects bad lines with the right reason")
struct DecoderRejectTests {
    @Test(arguments: notJSONCases) func notJSON(_ c: RejectCase) { check(c) }
    @Test(arguments: missingFieldCases) func missingField(_ c: RejectCase) { check(c) }
    @Test(arguments: wrongTypeCases) func wrongType(_ c: RejectCase) { check(c) }
    @Test(arguments: negativeSizeCases) func negativeSize(_ c: RejectCase) { check(c) }
    @Test(arguments: badTimestampCases) func badTimestamp(_ c: RejectCase) { check(c) }
    @Test(arguments: tsOutOfRangeCases) func tsOutOfRange(_ c: RejectCase) { check(c) }

    @Test func theEdgesOfTheAcceptedRangeAreAccepted() {
        let decoder = LineDecoder()
        for (ts, ns) in [
            ("0", Int64(0)), ("7258118399999", 7_258_118_399_999_000_000), (#""1970-01-01T00:00:00Z""#, 0),
            (#""1970-01-01T01:00:00+01:00""#, 0), (#""2199-12-31T23:59:59.999999999Z""#, 7_258_118_399_999_999_999),
            (#""2199-12-31T23:59:60Z""#, 7_258_118_399_999_999_999),
        ] {
            var expected = base
            expected.ts = Timestamp(nanoseconds: ns)
            #expect(decoder.decode(line(ts: ts)) == .event(expected), "\(ts)")
        }
    }

    func check(_ c: RejectCase) {
        let decoder = LineDecoder()
        #expect(decoder.decode(c.line) == .rejected(c.reason), "\(String(decoding: c.line.prefix(300), as: UTF8.self))")
        // The decoder recovers: the next good line decodes in full.
        #expect(decoder.decode(ok) == .event(base))
    }

    @Test func tooLongDirectly() {
        let decoder = LineDecoder()
        #expect(decoder.decode(paddedLine(65537)) == .rejected(.tooLong))
        // Too long is decided before anything else, even for garbage.
        #expect(decoder.decode([UInt8](repeating: 0x7B, count: 70000)) == .rejected(.tooLong))
        #expect(decoder.decode(ok) == .event(base))
    }

    @Test func everyCaseThroughOneDecoderInterleavedWithGoodLines() {
        let decoder = LineDecoder()
        let all = notJSONCases + missingFieldCases + wrongTypeCases + negativeSizeCases + badTimestampCases + tsOutOfRangeCases
        for c in all {
            #expect(decoder.decode(c.line) == .rejected(c.reason), "\(c.name)")
            #expect(decoder.decode(validCases[0].line) == .event(validCases[0].expected), "after \(c.name)")
        }
    }

    @Test func everyPrefixOfAValidLineIsRejected() {
        // No prefix of a complete object is itself a complete object; none may crash.
        let decoder = LineDecoder()
        let full = Array(validCases[0].line.utf8)
        for n in 0..<full.count {
            let outcome = decoder.decode(Array(full.prefix(n)))
            #expect(outcome.reason == .notJSON, "prefix of \(n) bytes gave \(outcome)")
        }
        #expect(decoder.decode(full) == .event(validCases[0].expected))
    }

    /// Flips, deletes or inserts bytes at random in every valid line of the
    /// table: the decoder must answer each (no crash, SPEC §7) and answer the same
    /// way twice. Run in a child process so a trap fails this test alone.
    @Test func randomByteMutationsNeverCrash() async {
        await #expect(processExitsWith: .success) {
            var rng = SplitMix64(seed: 0xC0FFEE)
            let decoder = LineDecoder()
            let alphabet = Array(#"{}[]":,\u0123456789abcdefnrtlseE+-. "#.utf8) + [0x00, 0x0A, 0x1F, 0x7F, 0xC3, 0xA9, 0xFF]
            for c in validCases {
                let original = Array(c.line.utf8)
                for _ in 0..<40 {
                    var bytes = original
                    for _ in 0..<Int.random(in: 1...3, using: &rng) {
                        let i = Int.random(in: 0..<bytes.count, using: &rng)
                        switch Int.random(in: 0..<3, using: &rng) {
                        case 0: bytes[i] = alphabet.randomElement(using: &rng)!
                        case 1: bytes.remove(at: i)
                        default: bytes.insert(alphabet.randomElement(using: &rng)!, at: i)
                        }
                        if bytes.isEmpty { bytes = [0x7B] }
                    }
                    let first = decoder.decode(bytes)
                    precondition(decoder.decode(bytes) == first, "not deterministic")
                }
            }
        }
    }

    /// SPEC §2: input is UTF-8 and a line that is not valid JSON is rejected;
    /// bytes that are not UTF-8 make a JSON text invalid (RFC 8259 §8.1).
    /// Accepting them lets two different principals print as the same name
    /// (both become U+FFFD in the symbol table and in alerts).
    @Test(arguments: [
        [0xFF], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE2, 0x82],
    ] as [[UInt8]])
    func invalidUTF8InAStringIsNotJSON(_ bad: [UInt8]) {
        let decoder = LineDecoder()
        let principal = Array(#"{"ts":1,"size":1,"principal":"svc-"#.utf8) + bad + Array(#""}"#.utf8)
        #expect(decoder.decode(principal) == .rejected(.notJSON), "principal with bytes \(bad)")
        let unknown = Array(#"{"ts":1,"size":1,"principal":"p","x":""#.utf8) + bad + Array(#""}"#.utf8)
        #expect(decoder.decode(unknown) == .rejected(.notJSON), "unknown field with bytes \(bad)")
    }

    @Test func rejectReasonNames() {
        #expect(RejectReason.allCases.map(\.name) == [
            "not_json", "missing_field", "wrong_type", "negative_size", "too_long", "bad_timestamp", "ts_out_of_range",
        ])
        var counts = IngestCounts()
        #expect(counts.rejectedSummary == "0 rejected")
        counts.reject(.notJSON)
        counts.reject(.negativeSize)
        counts.reject(.negativeSize)
        counts.accepted = 5
        #expect(counts[.negativeSize] == 2)
        #expect(counts.totalRejected == 3)
        #expect(counts.lines == 8)
        #expect(counts.rejectedSummary == "3 rejected (1 not_json, 2 negative_size)")
    }
}
