import ChunkModel
import Testing

/// The one duration parser of the configuration, the API and `--since`.
@Suite struct DurationTextTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)), ("1.5ms", .microseconds(1500)), ("90s", .seconds(90)), ("15m", .seconds(900)),
        ("2h", .seconds(7200)), ("7d", .seconds(604_800)), ("0s", .zero), ("30", .seconds(30)), ("2.5", .milliseconds(2500)),
        ("1e3s", .seconds(1000)), ("18250d", DurationText.maximum),
    ])
    func durationsInEveryUnit(text: String, expected: Duration) throws {
        #expect(try DurationText.parse(text) == expected)
    }

    @Test(arguments: [
        "4e40", "99999999999999999d", "106752d", "9223372036854775807ms", "18250.001d", "18251d", "1577880001", "-1s", "-5",
        "1e300h",
    ])
    func durationsOutOfRangeNameTheValueAndTheRange(text: String) {
        let error = #expect(throws: DurationError.self) { try DurationText.parse(text) }
        #expect(error?.kind == .outOfRange)
        #expect(error?.description == "'\(text)' is out of range: a duration from 0s to 18250d (50 years)")
    }

    @Test(arguments: ["", "nan", "NaN", "inf", "-inf", "infinity", "nans", "infs", "0x10s", "ten", "5 m", "5y", "+5s", "s", "ms", "1e"])
    func textThatIsNotADurationIsMalformed(text: String) {
        let error = #expect(throws: DurationError.self) { try DurationText.parse(text) }
        #expect(error?.kind == .malformed, "\(text)")
        #expect(error?.description.contains("got '\(text)'") == true)
    }

    @Test func theLeastValueIsPartOfTheRange() throws {
        #expect(throws: DurationError.self) { try DurationText.parse("0s", minimum: .milliseconds(1)) }
        let error = #expect(throws: DurationError.self) { try DurationText.parse("4e40", minimum: .milliseconds(1)) }
        #expect(error?.description == "'4e40' is out of range: a duration from 1ms to 18250d (50 years)")
        #expect(try DurationText.parse("1ms", minimum: .milliseconds(1)) == .milliseconds(1))
    }

    @Test func plainNumbersAreSecondsOnlyWhereAsked() {
        #expect(throws: DurationError.self) { try DurationText.parse("30", plainSeconds: false) }
        #expect((try? DurationText.parse("30s", plainSeconds: false)) == .seconds(30))
    }
}
