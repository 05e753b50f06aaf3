import ChunkModel

/// What `gen` should produce. Every field has the default of the command line.
public struct WorkloadConfig: Sendable, Hashable {
    /// How many distinct principals emit traffic (≥ 1).
    public var principals: Int
    /// Event time covered, in hours (> 0, fractions allowed).
    public var hours: Double
    public var seed: UInt64
    /// The anomalies to inject, each on its own principal; empty for a clean stream.
    public var anomalies: [AnomalyKind]
    /// Event time of the start of the run.
    public var start: Timestamp
    /// The family of traffic.
    public var profile: TrafficProfile
    /// Hours of clean traffic before any anomaly may begin; nil for the first
    /// quarter of the run and at least 2 hours.
    public var warmupHours: Double?

    /// 2026-11-23T00:00:00Z, a Monday, so a default run starts a working week.
    public static let defaultStart = Timestamp(epochMilliseconds: 1_795_392_000_000)

    public init(
        principals: Int = 20, hours: Double = 24, seed: UInt64 = 1,
        anomalies: [AnomalyKind] = AnomalyKind.allCases, start: Timestamp = WorkloadConfig.defaultStart,
        profile: TrafficProfile = .steady, warmupHours: Double? = nil
    ) {
        self.principals = principals
        self.hours = hours
        self.seed = seed
        self.anomalies = anomalies
        self.start = start
        self.profile = profile
        self.warmupHours = warmupHours
    }

    /// The end of the run (exclusive), in nanoseconds.
    var endNanoseconds: Int64 {
        start.nanoseconds &+ Int64((hours * 3_600_000_000_000).rounded())
    }

    /// A one-line reason the configuration cannot run, or nil.
    public var problem: String? {
        if principals < 1 { return "principals must be at least 1 (got \(principals))" }
        if principals > WorkloadConfig.maxPrincipals {
            return "principals must be at most \(WorkloadConfig.maxPrincipals) (got \(principals))"
        }
        if !(hours > 0) || !hours.isFinite { return "hours must be a positive number (got \(hours))" }
        if hours > WorkloadConfig.maxHours { return "hours must be at most \(Int(WorkloadConfig.maxHours)) (got \(hours))" }
        if let warmupHours, !(warmupHours >= 0 && warmupHours < hours) {
            return "the warm-up must be at least 0 hours and shorter than the run's \(Format.decimal(hours, 1)) (got \(warmupHours))"
        }
        return nil
    }

    /// Each principal's state is about a kilobyte; beyond a hundred thousand
    /// principals `gen` stops being a workload anyone reads.
    public static let maxPrincipals = 100_000
    /// Ten years of event time; nanosecond timestamps stay far from overflow.
    public static let maxHours = 87_600.0
}
