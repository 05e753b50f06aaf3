import Baselines
import ChunkModel

/// `rate`: a surge (or collapse) in how many chunks a principal moves per
/// event-time bucket, against its own baseline, aware of the time of day.
///
/// Two baselines of the principal's chunk count per bucket while it is active
/// (buckets with no chunks are not learned, so a principal that sleeps at night
/// keeps its daytime rate): a recent one, an exponentially weighted mean and
/// variance over its last active buckets, and an `HourOfWeekProfile` of what
/// it usually does at this hour of the week (falling back to the same hour on
/// other days, then to its whole profile). A surge must clear both, so an
/// office worker's 9:00 ramp, learned on earlier mornings, is not one. In an
/// hour where the principal has (almost) never been active although it was
/// watched for `quietHours` hours of it, the expectation is the unconditional
/// one, close to zero: its 03:00 activity alerts once the bucket holds
/// `minCount` chunks. A surge fires as soon as the running count of the
/// current bucket is past the limit, without waiting for the bucket to close;
/// a collapse is judged against the recent baseline when a busy principal's
/// buckets close nearly empty. The spread is at least the Poisson one, √mean,
/// so quiet principals need a real jump to alert.
///
/// Memory per principal: 80 bytes of state, 2,728 for the hour-of-week
/// profile (none when `timeOfDay` is off) and about 80 for the key index:
/// about 2.9 KB.
public final class RateDetector: Detector {
    public struct Settings: Sendable, Equatable {
        /// z-score of the bucket count (count − usual) / spread at which an alert fires.
        public var threshold: Double = 6
        /// Event-time bucket width over which chunks are counted.
        public var bucket: Duration = .seconds(60)
        /// A surge needs at least this many times the usual count (ratio)…
        public var minRatio: Double = 3
        /// …and at least this many chunks in the bucket (chunks).
        public var minCount: Int = 30
        /// A collapse bucket holds under 1/collapseRatio of the usual count (ratio)…
        public var collapseRatio: Double = 10
        /// …of a principal that usually moves at least this many chunks per bucket (chunks)…
        public var collapseMinMean: Double = 60
        /// …for this many active buckets in a row (buckets).
        public var collapseBuckets: Int = 3
        /// EWMA weight of each new active bucket in the recent baseline (0.05: about a 14-bucket half-life).
        public var alpha: Double = 0.05
        /// Active buckets a principal must have had before it may alert (buckets).
        public var warmup: Int = 30
        /// Quiet event time after which an open alert resolves.
        public var cooldown: Duration = .seconds(900)
        /// Principals tracked at once; the least recently seen are evicted (keys).
        public var maxKeys: Int = 50_000
        /// Judge each bucket against the principal's hour-of-week profile too (needs a bucket of at most an hour).
        public var timeOfDay: Bool = true
        /// Weight of one hour of new data in an hour-of-week cell (0.25: about the last four occurrences count).
        public var profileWeight: Double = 0.25
        /// An hour is quiet when the principal was active in at most this share of its buckets (0…1)…
        public var quietActivity: Double = 0.02
        /// …over at least this many observed hours of it (that hour of the week, or of the day on other days).
        public var quietHours: Int = 3

        public init() {}
    }

    struct State: Codable {
        var bucket: Int64 = .min
        var count: Int32 = 0
        var firedInBucket = false
        /// The current bucket's surge baseline, from the recent and hour-of-week
        /// baselines, fixed when the bucket opens so each event is a compare.
        var surgeMean: Double = 0
        var surgeSpread: Double = 1
        /// The bucket is in an hour the principal is almost never active in.
        var quietHour = false
        /// Consecutive active buckets far below the usual count.
        var lowStreak: Int32 = 0
        var lastLowBucket: Int64 = .min
        var stats: EWMAStats
    }

    public let name = "rate"
    public let keyedBy = "principal"
    public private(set) var settings: Settings
    private let width: BucketWidth
    private var bucketNanos: Int64 { width.nanoseconds }
    private var keys: KeyedStore
    private var states: [State] = []
    /// Hour-of-week profiles of active-bucket counts, by key slot; nil when off.
    private var profile: HourOfWeekProfile?

    public init(settings: Settings = .init()) {
        self.settings = settings
        width = BucketWidth(settings.bucket)
        keys = KeyedStore(capacity: settings.maxKeys)
        if settings.timeOfDay && width <= .hour {
            profile = HourOfWeekProfile(bucket: width.duration, weight: settings.profileWeight)
        }
    }

    /// Takes new values for the parameters that may change while the detector
    /// runs (thresholds and the cooldown; `ChunkWatchConfig.liveParameters`
    /// lists them). The baselines stay as they are.
    public func retune(_ settings: Settings) {
        self.settings = settings
    }

    public var keyStats: (tracked: Int, evicted: Int) { (keys.count, keys.evictions) }

    public func observe(_ event: ChunkEvent, context: DetectorContext, anomalies: inout [Anomaly]) -> Double {
        let key = event.principal.rawValue
        let (slot, isNew) = keys.slot(for: key)
        if isNew {
            let fresh = State(stats: EWMAStats(alpha: settings.alpha))
            if slot == states.count { states.append(fresh) } else { states[slot] = fresh }
            profile?.reset(slot)
        }
        let b = event.ts.bucket(width)
        return states.withUnsafeMutableBufferPointer { states in
            if b > states[slot].bucket {
                if states[slot].bucket != .min {
                    closeBucket(&states[slot], slot: slot, next: b, event, key, context, &anomalies)
                }
                states[slot].bucket = b
                states[slot].count = 0
                states[slot].firedInBucket = false
                openBucket(&states[slot], slot: slot, b)
            }
            // A late event (earlier bucket) counts toward the current one: close enough,
            // and it keeps the state to one bucket.
            states[slot].count += 1
            return checkSurge(&states[slot], event, key, context, &anomalies)
        }
    }

    private func limits(_ s: EWMAStats) -> (mean: Double, spread: Double) {
        let mean = s.mean
        return (mean, Swift.max(s.standardDeviation, mean.squareRoot(), 1))
    }

    /// Fixes the surge baseline of the bucket `b` that just opened: the higher
    /// of the recent and the usual level at this time, and in a quiet hour the
    /// unconditional level, near zero.
    private func openBucket(_ s: inout State, slot: Int, _ b: Int64) {
        let (recentMean, recentSpread) = limits(s.stats)
        s.surgeMean = recentMean
        s.surgeSpread = recentSpread
        s.quietHour = false
        guard profile != nil else { return }
        profile!.advance(slot, to: b)
        let usual = profile!.expectation(slot, bucket: b)
        if usual.activityHours >= Double(settings.quietHours) && usual.activity <= settings.quietActivity {
            // A known level (usual or recent) at the rare moments it is active, scaled by how rare they are.
            let level = usual.source == .none ? recentMean : usual.mean
            let sd = usual.source == .none ? s.stats.standardDeviation : usual.sd
            let a = usual.activity
            s.surgeMean = a * level
            s.surgeSpread = Swift.max((a * sd * sd + a * (1 - a) * level * level).squareRoot(), s.surgeMean.squareRoot(), 1)
            s.quietHour = true
        } else if usual.source != .none {
            s.surgeMean = Swift.max(recentMean, usual.mean)
            s.surgeSpread = Swift.max(recentSpread, usual.sd, s.surgeMean.squareRoot())
        }
    }

    private func checkSurge(
        _ s: inout State, _ e: ChunkEvent, _ key: UInt64, _ context: DetectorContext, _ anomalies: inout [Anomaly]
    ) -> Double {
        guard s.stats.count >= settings.warmup else { return 0 }
        let mean = s.surgeMean
        let count = Double(s.count)
        let z = (count - mean) / s.surgeSpread
        let score = thresholdScore(z, threshold: settings.threshold)
        if !s.firedInBucket && z >= settings.threshold && count >= settings.minRatio * mean
            && s.count >= settings.minCount
        {
            s.firedInBucket = true
            let principal = context.symbols.display(e.principal)
            let message: String
            if s.quietHour {
                message =
                    "\(principal) moved \(s.count) chunks in \(bucketText) at \(UTCClock.text(e.ts.nanoseconds)) UTC, an hour it is almost never active in "
                    + "(usually \(Format.decimal(mean, 1)); z \(Format.decimal(z, 1)), threshold \(Format.decimal(settings.threshold, 1)))"
            } else {
                message =
                    "\(principal) moved \(s.count) chunks in \(bucketText), \(Format.ratio(count / Swift.max(mean, 0.1))) its usual \(Format.decimal(mean, 1)) "
                    + "(z \(Format.decimal(z, 1)), threshold \(Format.decimal(settings.threshold, 1)))"
            }
            anomalies.append(anomaly(e, key, principal, z, score, count, mean: mean, sd: s.surgeSpread, n: s.stats.count, message))
        }
        return score
    }

    private func closeBucket(
        _ s: inout State, slot: Int, next: Int64, _ e: ChunkEvent, _ key: UInt64, _ context: DetectorContext,
        _ anomalies: inout [Anomaly]
    ) {
        let count = Double(s.count)
        let (mean, spread) = limits(s.stats)
        let warm = s.stats.count >= settings.warmup
        // A collapse is a run of nearly empty buckets while the principal is still
        // active, just far slower. One such bucket is routine (a session that ends
        // early in its last minute); a bucket with nothing in it breaks the run,
        // since a principal that stops entirely is the silence detector's.
        let low = warm && mean >= settings.collapseMinMean && count * settings.collapseRatio <= mean
        if low {
            s.lowStreak = s.lastLowBucket == s.bucket - 1 ? s.lowStreak + 1 : 1
            s.lastLowBucket = s.bucket
        } else {
            s.lowStreak = 0
        }
        if low && s.lowStreak == Int32(settings.collapseBuckets) {
            let z = (mean - count) / spread
            if z >= settings.threshold {
                let principal = context.symbols.display(e.principal)
                let message =
                    "\(principal) moved only \(s.count) chunks in \(bucketText), \(settings.collapseBuckets) in a row far below its usual \(Format.decimal(mean, 1)) (collapse)"
                anomalies.append(
                    anomaly(
                        e, key, principal, z, thresholdScore(z, threshold: settings.threshold), count, mean: s.stats.mean,
                        sd: s.stats.standardDeviation, n: s.stats.count, message))
            }
        }
        // Learn the closed bucket clipped to the alert limits on both sides, so
        // neither a surge nor a collapse teaches the baseline that it is normal
        // (or inflates the spread it is judged by).
        let limit = settings.threshold * spread
        let learned = warm ? Swift.min(Swift.max(count, mean - limit), mean + limit) : count
        s.stats.add(learned)
        // The profile learns the same clipped count, for this hour of the week.
        profile?.add(slot, bucket: s.bucket, value: learned)
    }

    private var bucketText: String {
        let s = settings.bucket.components.seconds
        if s == 60 { return "one minute" }
        if s % 60 == 0 { return "\(s / 60) minutes" }
        return "\(s) s"
    }

    private func anomaly(
        _ e: ChunkEvent, _ key: UInt64, _ principal: String, _ z: Double, _ score: Double, _ observed: Double,
        mean: Double, sd: Double, n: Int, _ message: String
    ) -> Anomaly {
        Anomaly(
            detector: name, key: key, keyText: principal, ts: e.ts, score: score,
            severity: thresholdSeverity(z, threshold: settings.threshold), principal: e.principal,
            resource: e.resource, conn: e.conn, seq: e.seq, observed: observed, expected: (mean * 10).rounded() / 10,
            threshold: settings.threshold,
            baseline: [("mean", (mean * 100).rounded() / 100), ("sd", (sd * 100).rounded() / 100), ("n", Double(n))],
            message: message, cooldown: settings.cooldown)
    }
}

// Checkpoints: the baselines as they are, so a restarted daemon goes on where
// it stopped instead of warming up again.
extension RateDetector {
    private struct Snapshot: Codable {
        var keys: KeyedStore
        var states: [State]
        var profile: HourOfWeekProfile?
    }

    public func checkpointValue() throws -> (any Encodable)? {
        Snapshot(keys: keys, states: states, profile: profile)
    }

    public func checkpoint() throws -> [UInt8]? {
        try BinaryCoding.encode(Snapshot(keys: keys, states: states, profile: profile))
    }

    public func restore(_ bytes: [UInt8]) throws {
        let s = try BinaryCoding.decode(Snapshot.self, from: bytes)
        try checkRestored(
            name, capacity: s.keys.capacity, expected: keys.capacity, slots: s.keys.count,
            [("states", s.states.count, 1), ("profile slots", s.profile?.slots ?? s.keys.count, 1)])
        guard (s.profile == nil) == (profile == nil), s.profile?.width == profile?.width else {
            throw DamagedDetectorState(description: "\(name): the checkpoint's hour-of-week profile is not this detector's")
        }
        keys = s.keys
        states = s.states
        profile = s.profile
    }
}
