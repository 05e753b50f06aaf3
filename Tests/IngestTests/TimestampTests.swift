import ChunkModel
import Ingest
import Testing

/// The RFC 3339 reader the decoder relies on for `ts` (SPEC §2), checked
/// against epoch values computed independently (GNU `date -u -d … +%s%3N`).
@Suite("RFC 3339 timestamps")
struct TimestampTests {
    func ms(_ text: String) -> Int64? { Timestamp(rfc3339: text)?.epochMilliseconds }
    func ns(_ text: String) -> Int64? { Timestamp(rfc3339: text)?.nanoseconds }

    @Test(arguments: [
        ("2026-11-25T08:00:03.120Z", 1_795_593_603_120 as Int64),
        ("2026-11-25T08:00:00Z", 1_795_593_600_000),
        ("2026-11-25T13:30:00+05:30", 1_795_593_600_000),
        ("2026-11-25T00:00:00-08:00", 1_795_593_600_000),
        ("2026-11-25T08:00:00+00:00", 1_795_593_600_000),
        ("2026-11-25T08:00:00-00:00", 1_795_593_600_000),
        ("2026-11-25t08:00:00z", 1_795_593_600_000),
        ("2026-11-25 08:00:00Z", 1_795_593_600_000),
        ("2026-11-25t13:30:00.000+05:30", 1_795_593_600_000),
        ("2024-02-29T12:00:00Z", 1_709_208_000_000),
        ("2024-03-01T00:00:00Z", 1_709_251_200_000),
        ("2000-02-29T00:00:00Z", 951_782_400_000),
        ("2000-01-01T00:00:00Z", 946_684_800_000),
        ("1999-12-31T23:59:59Z", 946_684_799_000),
        ("2025-12-31T23:59:59.999Z", 1_767_225_599_999),
        ("2026-01-01T00:00:00Z", 1_767_225_600_000),
        ("2026-01-01T00:30:00+01:00", 1_767_223_800_000),
        ("2025-12-31T23:30:00-01:00", 1_767_227_400_000),
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:00.001Z", 1),
        ("1969-12-31T23:59:59.999Z", -1),
        ("1970-01-01T01:00:00+01:00", 0),
        ("1969-07-20T20:17:40Z", -14_182_940_000),
        ("1900-01-01T00:00:00Z", -2_208_988_800_000),
        ("2038-01-19T03:14:08Z", 2_147_483_648_000),
        ("2262-04-11T00:00:00Z", 9_223_286_400_000),
        ("1678-01-01T00:00:00Z", -9_214_560_000_000),
    ])
    func knownInstants(_ text: String, _ expected: Int64) {
        #expect(ms(text) == expected, "\(text)")
        #expect(ns(text) == expected * 1_000_000, "\(text)")
    }

    @Test func fractionalDigitsFromOneToManyAreKeptToTheNanosecond() {
        let whole: Int64 = 1_795_593_600_000_000_000
        let cases: [(String, Int64)] = [
            (".1", 100_000_000), (".12", 120_000_000), (".123", 123_000_000), (".1234", 123_400_000),
            (".12345", 123_450_000), (".123456", 123_456_000), (".1234567", 123_456_700),
            (".12345678", 123_456_780), (".123456789", 123_456_789), (".1234567891", 123_456_789),
            (".123456789999", 123_456_789), (".9999999999999999999999", 999_999_999), (".000000001", 1),
            (".0000000009", 0), (".0", 0), (".5", 500_000_000),
        ]
        for (fraction, expected) in cases {
            #expect(ns("2026-11-25T08:00:00\(fraction)Z") == whole + expected, "\(fraction)")
            #expect(ns("2026-11-25T13:30:00\(fraction)+05:30") == whole + expected, "\(fraction) with offset")
        }
        // A long run of digits does not overflow anything.
        #expect(ns("2026-11-25T08:00:00." + String(repeating: "9", count: 500) + "Z") == whole + 999_999_999)
        // Before 1970 the fraction still counts forward in time.
        #expect(ns("1969-12-31T23:59:59.25Z") == -750_000_000)
    }

    @Test func leapDays() {
        #expect(ms("2024-02-29T00:00:00Z") != nil)
        #expect(ms("2024-02-29T00:00:00Z")! + 86_400_000 == ms("2024-03-01T00:00:00Z"))
        #expect(ms("2025-02-28T00:00:00Z")! + 86_400_000 == ms("2025-03-01T00:00:00Z"))
        for invalid in ["2025-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-02-30T00:00:00Z"] {
            #expect(Timestamp(rfc3339: invalid) == nil, "\(invalid)")
        }
        for valid in ["2000-02-29T00:00:00Z", "1904-02-29T00:00:00Z", "2096-02-29T00:00:00Z"] {
            #expect(Timestamp(rfc3339: valid) != nil, "\(valid)")
        }
    }

    @Test func everyDayOfTheMonthsIsValidAndTheNextIsNot() throws {
        let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var previous: Int64? = nil
        for (m, length) in lengths.enumerated() {
            for day in 1...31 {
                let text = "2026-\(pad2(m + 1))-\(pad2(day))T00:00:00Z"
                if day <= length {
                    let t = try #require(ms(text), "\(text)")
                    if let previous { #expect(t - previous == 86_400_000, "\(text)") }
                    previous = t
                } else {
                    #expect(ms(text) == nil, "\(text)")
                }
            }
        }
    }

    @Test func leapSecondIsTheLastNanosecondOfItsMinute() throws {
        let leap = try #require(ns("2016-12-31T23:59:60Z"))
        let before = try #require(ns("2016-12-31T23:59:59Z"))
        let after = try #require(ns("2017-01-01T00:00:00Z"))
        #expect(before == 1_483_228_799_000_000_000)
        #expect(leap > before && leap < after)
        #expect(leap == after - 1)
        #expect(ns("2016-12-31T23:59:60.5Z") == after - 1)
        #expect(ns("2017-01-01T08:59:60+09:00") == after - 1)
        #expect(Timestamp(rfc3339: "2016-12-31T23:59:61Z") == nil)
    }

    @Test(arguments: [
        "", "2026", "2026-11-25", "2026-11-25T08:00", "2026-11-25T08:00:00", "2026-11-25T08:00:00.",
        "2026-11-25T08:00:00.Z", "2026-11-25T08:00:00.123", "2026-11-25T08:00:00+05:30Z", "2026-11-25T08:00:00+0530",
        "2026-11-25T08:00:00+05", "2026-11-25T08:00:00+5:30", "2026-11-25T08:00:00+05:3", "2026-11-25T08:00:00+05:30:00",
        "2026-11-25T08:00:00+24:00", "2026-11-25T08:00:00+05:60", "2026-11-25T08:00:00 Z", "2026-11-25T08:00:00ZZ",
        "2026-11-25T08:00:00Z ", " 2026-11-25T08:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T08:60:00Z",
        "2026-11-25T08:00:61Z", "2026-13-25T08:00:00Z", "2026-00-25T08:00:00Z", "2026-11-00T08:00:00Z",
        "2026-11-31T08:00:00Z", "2026-1-25T08:00:00Z", "2026-11-25T8:00:00Z", "2026/11/25T08:00:00Z",
        "2026-11-25X08:00:00Z", "2026-11-25T08-00-00Z", "20a6-11-25T08:00:00Z", "2026-11-25T08:00:00.1a3Z",
        "2026-11-25T08:00:00,123Z", "+2026-11-25T08:00:00Z", "2026-11-25T08:00:00.123+05:30 ", "2026-11-25T08:00:00UTC",
        "2026-11-25T08:00:00GMT", "2026-11-25T08:00:00-", "2026-11-25T08:00:00+", "２０２６-11-25T08:00:00Z",
    ])
    func invalidForms(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func formatting() {
        #expect(Timestamp(epochMilliseconds: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(epochMilliseconds: -1).rfc3339 == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(epochMilliseconds: 1_795_593_603_120).rfc3339 == "2026-11-25T08:00:03.120Z")
        #expect(Timestamp(epochMilliseconds: 951_782_400_000).rfc3339 == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp(epochMilliseconds: -2_208_988_800_000).rfc3339 == "1900-01-01T00:00:00.000Z")
        // Nanoseconds are truncated toward the past, also before 1970.
        #expect(Timestamp(nanoseconds: 1_999_999).rfc3339 == "1970-01-01T00:00:00.001Z")
        #expect(Timestamp(nanoseconds: -1).rfc3339 == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(nanoseconds: -1_000_001).epochMilliseconds == -2)
        #expect(Timestamp(rfc3339: "2026-11-25T13:30:03.120+05:30")!.rfc3339 == "2026-11-25T08:00:03.120Z")
    }

    @Test func roundTripOverASweepIncludingBefore1970() {
        var values: [Int64] = [
            0, 1, -1, 999, -999, 1000, -1000, 86_399_999, -86_400_000, -86_400_001, 951_782_400_000,
            -2_208_988_800_000, -14_182_940_000, 1_795_593_603_120, 9_223_286_400_000, -9_214_560_000_000,
            9_223_372_036_853, -9_223_372_036_000,
        ]
        var rng = SplitMix64(seed: 1970)
        for _ in 0..<20_000 { values.append(Int64.random(in: -9_223_372_036_000...9_223_372_036_853, using: &rng)) }
        // Every millisecond around a few year boundaries.
        for edge: Int64 in [0, 946_684_800_000, 1_767_225_600_000, -2_208_988_800_000] {
            for d in -1500...1500 { values.append(edge + Int64(d)) }
        }
        var failures = 0
        for v in values {
            let t = Timestamp(epochMilliseconds: v)
            let text = t.rfc3339
            let back = Timestamp(rfc3339: text)
            if back != t {
                failures += 1
                if failures <= 10 { Issue.record("\(v) ms → \(text) → \(String(describing: back?.nanoseconds))") }
            }
            if text.utf8.count != 24 { Issue.record("\(v) ms → \(text) is not 24 bytes") }
        }
        #expect(failures == 0)
    }

    @Test func bytesAndStringEntryPointsAgree() {
        for text in ["2026-11-25T08:00:03.120Z", "1969-12-31T23:59:59.999Z", "2024-02-29 12:00:00+05:30", "2025-02-29T00:00:00Z"] {
            let viaBytes = Array(text.utf8).withUnsafeBytes { Timestamp(rfc3339: $0) }
            #expect(viaBytes == Timestamp(rfc3339: text))
        }
        // The parser reads only its own bytes: a buffer cut short is not read past.
        let long = Array("2026-11-25T08:00:03.120Z".utf8)
        for n in 0..<long.count {
            let cut = Array(long.prefix(n))
            #expect(cut.withUnsafeBytes { Timestamp(rfc3339: $0) } == nil, "prefix \(n)")
        }
    }
}

func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

/// Instants outside what `Timestamp` can hold (Int64 nanoseconds: 1677-09-21 to
/// 2262-04-11) must be rejected as bad timestamps. SPEC §7: ingest must never
/// crash on any input. Each check runs in a child process, so a trap fails this
/// test without taking the others down.
@Suite("Timestamps out of range")
struct TimestampRangeTests {
    @Test func theLastRepresentableNanosecondParses() {
        #expect(Timestamp(rfc3339: "2262-04-11T23:47:16.854775807Z")?.nanoseconds == Int64.max)
        #expect(Timestamp(rfc3339: "1677-09-22T00:00:00Z") != nil)
    }

    @Test func yearsOutsideTheNanosecondRangeAreNilNotATrap() async {
        await #expect(processExitsWith: .success) {
            for text in [
                "9999-12-31T23:59:59Z", "2300-01-01T00:00:00Z", "2262-04-12T00:00:00Z",
                "2262-04-11T23:47:16.854775808Z", "2262-04-11T23:59:59-01:00", "1677-01-01T00:00:00Z",
                "1000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z",
            ] {
                precondition(Timestamp(rfc3339: text) == nil, "\(text) should not parse")
            }
        }
    }

    @Test func representableInstantsNearTheLowerLimitRoundTrip() async {
        // -9_223_372_036_853 ms is 1677-09-21T00:12:43.147Z, inside the range
        // (the decoder accepts it as epoch milliseconds), so its RFC 3339 form must parse.
        await #expect(processExitsWith: .success) {
            for ms: Int64 in [-9_223_372_036_853, -9_223_372_036_500, -9_223_372_036_001] {
                let t = Timestamp(epochMilliseconds: ms)
                precondition(Timestamp(rfc3339: t.rfc3339) == t, "\(t.rfc3339) did not round-trip")
            }
        }
    }

    @Test func aLineWithAFarFutureTimestampIsRejectedNotATrap() async {
        await #expect(processExitsWith: .success) {
            let decoder = LineDecoder()
            let outcome = decoder.decode(#"{"ts":"9999-12-31T23:59:59Z","principal":"p","size":1}"#)
            precondition(outcome == .rejected(.tsOutOfRange), "got \(outcome)")
            let outcome2 = decoder.decode(#"{"ts":"0001-01-01T00:00:00Z","principal":"p","size":1}"#)
            precondition(outcome2 == .rejected(.tsOutOfRange), "got \(outcome2)")
        }
    }
}
