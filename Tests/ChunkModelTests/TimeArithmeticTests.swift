import ChunkModel
import Testing

/// Bucket indices, bucket starts and sums of event time, at the edges of
/// `Int64` where the hand-written floor divisions used to trap.
@Suite struct TimeArithmeticTests {
    static let widths: [Int64] = [1, 2, 3, 7, 1_000_000_000, 60_000_000_000, 3_600_000_000_000, 86_400_000_000_000, .max - 1, .max]
    static let instants: [Int64] = [
        .min, .min + 1, .min + 2, -86_400_000_000_001, -3_600_000_000_000, -1_000_000_001, -2, -1, 0, 1, 2,
        999_999_999, 1_000_000_000, 1_795_392_000_000_000_000, .max - 2, .max - 1, .max,
    ]

    /// ⌊a / b⌋ in exact arithmetic, for checking.
    static func floorDivision(_ a: Int64, _ b: Int64) -> Int64 {
        let (q, r) = (Int128(a) / Int128(b), Int128(a) % Int128(b))
        return Int64(r < 0 ? q - 1 : q)
    }

    @Test(arguments: widths)
    func bucketsAreExactFloorDivisionForEveryInstant(width: Int64) throws {
        let w = try #require(BucketWidth(nanoseconds: width))
        for t in Self.instants {
            let b = Timestamp(nanoseconds: t).bucket(w)
            #expect(b == Self.floorDivision(t, width), "⌊\(t) / \(width)⌋")
            // The start of the bucket is at or before the instant, exactly or held at Int64.min.
            let exact = Int128(b) * Int128(width)
            let start = Timestamp.start(ofBucket: b, w).nanoseconds
            #expect(start == (exact < Int128(Int64.min) ? .min : Int64(exact)), "start of bucket \(b) of \(width)")
            #expect(start <= t)
            let floored = Timestamp(nanoseconds: t).floored(to: w).nanoseconds
            #expect(floored == start, "\(t) floored to \(width)")
        }
    }

    @Test func bucketStartsSaturateInsteadOfWrapping() throws {
        let hour = BucketWidth.hour
        #expect(Timestamp.start(ofBucket: .max, hour).nanoseconds == .max)
        #expect(Timestamp.start(ofBucket: .min, hour).nanoseconds == .min)
        #expect(Timestamp.start(ofBucket: .min + 1, .minute).nanoseconds == .min)
        #expect(Timestamp.start(ofBucket: -1, hour).nanoseconds == -3_600_000_000_000)
        #expect(Timestamp.start(ofBucket: 2_562_047, hour).nanoseconds == 2_562_047 * 3_600_000_000_000)
        #expect(Timestamp.start(ofBucket: 2_562_048, hour).nanoseconds == .max, "just past Int64.max")
    }

    @Test func widthsThatAreNotPositiveCannotBeMade() throws {
        #expect(BucketWidth(nanoseconds: 0) == nil)
        #expect(BucketWidth(nanoseconds: -1) == nil)
        #expect(BucketWidth(nanoseconds: .min) == nil)
        #expect(BucketWidth(nanoseconds: 1)?.nanoseconds == 1)
        // From settings: clamped into the given bounds, never below one nanosecond.
        #expect(BucketWidth(.zero).nanoseconds == 1)
        #expect(BucketWidth(.seconds(-5)).nanoseconds == 1)
        #expect(BucketWidth(.seconds(30), minimum: 60_000_000_000).nanoseconds == 60_000_000_000)
        #expect(BucketWidth(.seconds(7200), maximum: 3_600_000_000_000).nanoseconds == 3_600_000_000_000)
        #expect(BucketWidth(.seconds(Int64.max)).nanoseconds == .max)
        // Nor decoded from a corrupt checkpoint.
        #expect(throws: (any Error).self) { try BinaryCoding.decode(BucketWidth.self, from: try BinaryCoding.encode(Int64(0))) }
        #expect(throws: (any Error).self) { try BinaryCoding.decode(BucketWidth.self, from: try BinaryCoding.encode(Int64(-60))) }
        #expect(try BinaryCoding.decode(BucketWidth.self, from: try BinaryCoding.encode(BucketWidth.minute)) == .minute)
    }

    @Test func sumsOfEventTimeSaturate() {
        #expect(Int64.max.clampedAdding(1) == .max)
        #expect(Int64.min.clampedAdding(-1) == .min)
        #expect(Int64.min.clampedSubtracting(1) == .min)
        #expect(Int64.max.clampedSubtracting(-1) == .max)
        #expect(Int64(0).clampedSubtracting(.min) == .max)
        #expect(Int64(-1).clampedSubtracting(.min) == .max)
        #expect(Int64(5).clampedAdding(-7) == -2)
        #expect(Int64(5).clampedSubtracting(7) == -2)
        // Deadlines and ages in Timestamp terms: a cooldown past the end, an age across the whole range.
        #expect((Timestamp(nanoseconds: .max - 10) + .seconds(3600)).nanoseconds == .max)
        #expect((Timestamp(nanoseconds: .min + 10) + .seconds(-3600)).nanoseconds == .min)
        #expect(Timestamp(nanoseconds: .max) - Timestamp(nanoseconds: .min) == .nanoseconds(Int64.max))
        #expect(Timestamp(nanoseconds: .min) - Timestamp(nanoseconds: .max) == .nanoseconds(Int64.min))
        #expect(Duration.seconds(Int64.max).nanosecondsClamped == .max)
        #expect(Duration(secondsComponent: 9_223_372_036, attosecondsComponent: 999_999_999_000_000_000).nanosecondsClamped == .max)
    }

    @Test func epochMillisecondsBeyondTheRangeSaturateOrAreRefused() {
        #expect(Timestamp(epochMilliseconds: .max).nanoseconds == .max)
        #expect(Timestamp(epochMilliseconds: .min).nanoseconds == .min)
        #expect(Timestamp(epochMilliseconds: -9_223_372_036_855).nanoseconds == .min)
        #expect(Timestamp(epochMilliseconds: 9_223_372_036_854).nanoseconds == 9_223_372_036_854_000_000)
        #expect(Timestamp(exactEpochMilliseconds: 9_223_372_036_855) == nil)
        #expect(Timestamp(exactEpochMilliseconds: -9_223_372_036_855) == nil)
        #expect(Timestamp(exactEpochMilliseconds: -1)?.nanoseconds == -1_000_000)
    }

    @Test func theAcceptedRangeIs1970UpTo2200() throws {
        #expect(Timestamp.acceptedEvents.lowerBound == Timestamp(rfc3339: "1970-01-01T00:00:00Z"))
        #expect(Timestamp.acceptedEvents.upperBound == Timestamp(rfc3339: "2200-01-01T00:00:00Z"))
        #expect(Timestamp(nanoseconds: 0).isAcceptedEventTime)
        #expect(!Timestamp(nanoseconds: -1).isAcceptedEventTime)
        #expect(Timestamp(nanoseconds: Timestamp.endOfEvents.nanoseconds - 1).isAcceptedEventTime)
        #expect(!Timestamp.endOfEvents.isAcceptedEventTime)
        #expect(!Timestamp(nanoseconds: .max).isAcceptedEventTime)
        #expect(!Timestamp(nanoseconds: .min).isAcceptedEventTime)
        // Every accepted time plus the longest accepted duration still fits.
        let last = Timestamp.endOfEvents.nanoseconds - 1
        #expect(!last.addingReportingOverflow(DurationText.maximum.nanosecondsClamped).overflow)
    }

    @Test func wellFormedTimesOfAnyYearHaveAnInstantEvenWhenNoTimestampHoldsThem() throws {
        func instant(_ text: String) -> (Int64, Int64)? {
            var s = text
            return s.withUTF8 { u in
                let raw = UnsafeRawBufferPointer(u)
                guard let m = Timestamp.rfc3339Minute(raw) else { return nil }
                return Timestamp.rfc3339Instant(raw, minute: m).map { ($0.seconds, $0.nanoseconds) }
            }
        }
        #expect(instant("1677-09-21T00:13:00Z")?.0 == -9_223_372_020)
        #expect(Timestamp(rfc3339: "1677-09-21T00:13:00Z")?.nanoseconds == -9_223_372_020_000_000_000)
        #expect(instant("1677-09-21T00:12:43Z")?.0 == -9_223_372_037)
        #expect(Timestamp(rfc3339: "1677-09-21T00:12:43Z") == nil, "before Int64 nanoseconds begin")
        #expect(instant("9999-12-31T23:59:59Z")?.0 == 253_402_300_799)
        #expect(instant("0000-01-01T00:00:00Z")?.0 == -62_167_219_200)
        #expect(instant("2199-12-31T23:59:60.5Z")! == (Timestamp.endOfEventsSeconds - 1, 999_999_999))
        #expect(instant("2026-02-30T00:00:00Z") == nil)
        #expect(instant("2026-01-01T00:00:00") == nil)
    }
}
