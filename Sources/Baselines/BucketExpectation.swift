/// What a profile expects of one bucket.
public struct BucketExpectation: Sendable, Equatable {
    /// Where the level came from: the bucket's own hour of the week, the same
    /// hour on other days, the key's whole profile, or nowhere yet.
    public enum Source: Sendable, Equatable {
        case hourOfWeek, hourOfDay, overall, none
    }

    /// The usual quantity of an active bucket (0 when `source` is `.none`).
    public var mean: Double = 0
    /// Its standard deviation.
    public var sd: Double = 0
    /// Hours of active buckets behind `mean` and `sd`.
    public var hours: Double = 0
    public var source: Source = .none
    /// The share of buckets at this time in which the key was active (1 when
    /// nothing is known: unknown is not quiet).
    public var activity: Double = 1
    /// Hours of observation behind `activity`.
    public var activityHours: Double = 0

    public init() {}

    /// The unconditional expectation of a bucket at this time, counting the
    /// inactive ones as zero: the mixture of "no activity" and the active level.
    public var unconditionalMean: Double { activity * mean }
    public var unconditionalSD: Double {
        (activity * sd * sd + activity * (1 - activity) * mean * mean).squareRoot()
    }
}
