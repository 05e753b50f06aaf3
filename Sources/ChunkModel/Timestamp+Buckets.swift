/// Event-time arithmetic that cannot trap: the accepted range of event times,
/// bucket indices by floor division, and saturating sums of nanoseconds.
///
/// Detectors cut event time into buckets (rate, volume, changepoint), hours
/// (profiles, coverage, novelty, silence) and ticks (the sequencer). Doing that
/// by hand as `(ns - width + 1) / width` overflows near `Int64.min`, and
/// `bucket * width` near either end; these functions are the one place where
/// that is done, for every `Int64` and every positive width.

extension Timestamp {
    /// The first event time accepted: 1970-01-01T00:00:00Z.
    public static let earliestEvent = Timestamp(nanoseconds: 0)
    /// The first event time no longer accepted: 2200-01-01T00:00:00Z.
    public static let endOfEvents = Timestamp(nanoseconds: endOfEventsSeconds * 1_000_000_000)
    /// `endOfEvents` in seconds since the epoch.
    public static let endOfEventsSeconds: Int64 = 7_258_118_400

    /// The event times decoders accept (SPEC §8, docs/formats.md): 1970-01-01
    /// up to, not including, 2200-01-01 (UTC). Any accepted time plus any
    /// accepted duration (at most `DurationText.maximum`, 50 years) still fits
    /// in `Int64` nanoseconds, whose range ends in April 2262.
    public static let acceptedEvents: Range<Timestamp> = earliestEvent..<endOfEvents

    /// Whether an event at this time is accepted.
    @inlinable
    public var isAcceptedEventTime: Bool {
        nanoseconds >= 0 && nanoseconds < Self.endOfEventsSeconds &* 1_000_000_000
    }

    /// The index of the bucket of `width` this instant falls in, counted from
    /// the epoch: ⌊nanoseconds / width⌋, exact for every instant (instants
    /// before 1970 have negative indices).
    @inlinable
    public func bucket(_ width: BucketWidth) -> Int64 {
        let w = width.nanoseconds
        // With w > 0 neither the division nor the correction can overflow:
        // a remainder exists only when w ≥ 2, and then the quotient is at
        // least Int64.min / 2.
        let q = nanoseconds / w
        return nanoseconds % w < 0 ? q &- 1 : q
    }

    /// The first instant of bucket `index` of `width` (the inverse of
    /// `bucket(_:)`), saturating at `Int64`'s bounds.
    @inlinable
    public static func start(ofBucket index: Int64, _ width: BucketWidth) -> Timestamp {
        let (ns, overflow) = index.multipliedReportingOverflow(by: width.nanoseconds)
        return Timestamp(nanoseconds: overflow ? (index < 0 ? .min : .max) : ns)
    }

    /// This instant rounded down to a multiple of `width` (saturating at `Int64.min`).
    @inlinable
    public func floored(to width: BucketWidth) -> Timestamp {
        let r = nanoseconds % width.nanoseconds
        guard r < 0 else { return Timestamp(nanoseconds: nanoseconds &- r) }
        return Timestamp(nanoseconds: (nanoseconds &- r).clampedSubtracting(width.nanoseconds))
    }
}

/// A positive width of event time: a bucket, an hour, a tick. A zero or
/// negative width cannot be made, so dividing by one cannot trap.
public struct BucketWidth: Hashable, Comparable, Sendable, Codable {
    public let nanoseconds: Int64

    /// The width, or nil when `nanoseconds` is not positive.
    @inlinable
    public init?(nanoseconds: Int64) {
        guard nanoseconds > 0 else { return nil }
        self.nanoseconds = nanoseconds
    }

    /// `duration` clamped into `minimum...maximum` nanoseconds: for settings
    /// that have already been range-checked, where a width below the least
    /// sensible one is taken as that one.
    @inlinable
    public init(_ duration: Duration, minimum: Int64 = 1, maximum: Int64 = .max) {
        precondition(minimum > 0 && minimum <= maximum, "a bucket width is positive")
        nanoseconds = Swift.min(Swift.max(duration.nanosecondsClamped, minimum), maximum)
    }

    public init(from decoder: any Decoder) throws {
        let ns = try decoder.singleValueContainer().decode(Int64.self)
        guard ns > 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a bucket width of \(ns) ns is not positive"))
        }
        nanoseconds = ns
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(nanoseconds)
    }

    public var duration: Duration { .nanoseconds(nanoseconds) }

    public static func < (a: BucketWidth, b: BucketWidth) -> Bool { a.nanoseconds < b.nanoseconds }

    public static let second = BucketWidth(nanoseconds: 1_000_000_000)!
    public static let minute = BucketWidth(nanoseconds: 60_000_000_000)!
    public static let hour = BucketWidth(nanoseconds: 3_600_000_000_000)!
    public static let day = BucketWidth(nanoseconds: 86_400_000_000_000)!
}

extension Int64 {
    /// `self + other`, held at `Int64.min` or `.max` instead of wrapping or
    /// trapping: for event-time sums such as a deadline `t + cooldown`.
    @inlinable
    public func clampedAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other < 0 ? .min : .max) : sum
    }

    /// `self - other`, held at `Int64.min` or `.max` instead of wrapping or trapping.
    @inlinable
    public func clampedSubtracting(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }
}
