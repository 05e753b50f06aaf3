import Baselines
import ChunkModel

/// `rate`: a surge (or collapse) in how many chunks a principal moves per
/// event-time bucket, against its own baseline.
///
/// The baseline is an exponentially weighted mean and variance of the
/// principal's chunk count per bucket while it is active (buckets with no
/// chunks are not learned, so a principal that sleeps at night keeps its
/// daytime rate). A surge fires as soon as the running count of the current
/// bucket is past the limit, without waiting for the bucket to close; a
/// collapse is judged when a busy principal's bucket closes nearly empty.
/// The evidence is a z-score whose spread is at least the Poisson one,
/// √mean, so quiet principals need a real jump to alert. Memory per
/// principal: 72 bytes of state plus about 80 for the key index.
public final class RateDetector: Detector {
    public struct Settings: Sendable, Equatable {
        /// z-score of the bucket count at which an alert fires.
        public var threshold: Double = 6
        /// Event-time bucket width.
        public var bucket: Duration = .seconds(60)
        /// A surge needs at least this many times the usual count…
        public var minRatio: Double = 3
        /// …and at least this many chunks in the bucket.
        public var minCount: Int = 30
        /// A collapse: `collapseBuckets` active buckets in a row, each with under
        /// 1/collapseRatio of a usual count of at least `collapseMinMean`.
        public var collapseRatio: Double = 10
        public var collapseMinMean: Double = 60
        public var collapseBuckets: Int = 3
        /// EWMA weight of each new active bucket (about a 14-bucket half-life).
        public var alpha: Double = 0.05
        /// Active buckets a principal must have had before it may alert.
        public var warmup: Int = 30
        public var cooldown: Duration = .seconds(900)
        public var maxKeys: Int = 100_000

        public init() {}
    }

    struct State {
        var bucket: Int64 = .min
        var count: Int32 = 0
        var firedInBucket = false
        /// Consecutive active buckets far below the usual count.
        var lowStreak: Int32 = 0
        var lastLowBucket: Int64 = .min
        var stats: EWMAStats
    }

    public let name = "rate"
    public let keyedBy = "principal"
    public let settings: Settings
    private let bucketNanos: Int64
    private var keys: KeyedStore
    private var states: [State] = []

    public init(settings: Settings = .init()) {
        self.settings = settings
        bucketNanos = Swift.max(1, settings.bucket.nanosecondsClamped)
        keys = KeyedStore(capacity: settings.maxKeys)
    }

    public var keyStats: (tracked: Int, evicted: Int) { (keys.count, keys.evictions) }

    public func observe(_ event: ChunkEvent, context: DetectorContext, anomalies: inout [Anomaly]) -> Double {
        let key = event.principal.rawValue
        let (slot, isNew) = keys.slot(for: key)
        if isNew {
            let fresh = State(stats: EWMAStats(alpha: settings.alpha))
            if slot == states.count { states.append(fresh) } else { states[slot] = fresh }
        }
        let ns = event.ts.nanoseconds
        let b = ns >= 0 ? ns / bucketNanos : (ns - bucketNanos + 1) / bucketNanos
        return states.withUnsafeMutableBufferPointer { states in
            if b > states[slot].bucket {
                if states[slot].bucket != .min {
                    closeBucket(&states[slot], next: b, event, key, context, &anomalies)
                }
                states[slot].bucket = b
                states[slot].count = 0
                states[slot].firedInBucket = false
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

    private func checkSurge(
        _ s: inout State, _ e: ChunkEvent, _ key: UInt64, _ context: DetectorContext, _ anomalies: inout [Anomaly]
    ) -> Double {
        guard s.stats.count >= settings.warmup else { return 0 }
        let (mean, spread) = limits(s.stats)
        let count = Double(s.count)
        let z = (count - mean) / spread
        let score = thresholdScore(z, threshold: settings.threshold)
        if !s.firedInBucket && z >= settings.threshold && count >= settings.minRatio * mean
            && s.count >= settings.minCount
        {
            s.firedInBucket = true
            let principal = context.symbols.display(e.principal)
            let message =
                "\(principal) moved \(s.count) chunks in \(bucketText), \(Format.ratio(count / Swift.max(mean, 0.1))) its usual \(Format.decimal(mean, 1)) "
                + "(z \(Format.decimal(z, 1)), threshold \(Format.decimal(settings.threshold, 1)))"
            anomalies.append(anomaly(e, key, principal, z, score, count, s.stats, message))
        }
        return score
    }

    private func closeBucket(
        _ s: inout State, next: Int64, _ e: ChunkEvent, _ key: UInt64, _ context: DetectorContext,
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
                anomalies.append(anomaly(e, key, principal, z, thresholdScore(z, threshold: settings.threshold), count, s.stats, message))
            }
        }
        // Learn the closed bucket clipped to the alert limits on both sides, so
        // neither a surge nor a collapse teaches the baseline that it is normal
        // (or inflates the spread it is judged by).
        let limit = settings.threshold * spread
        let learned = warm ? Swift.min(Swift.max(count, mean - limit), mean + limit) : count
        s.stats.add(learned)
    }

    private var bucketText: String {
        let s = settings.bucket.components.seconds
        if s == 60 { return "one minute" }
        if s % 60 == 0 { return "\(s / 60) minutes" }
        return "\(s) s"
    }

    private func anomaly(
        _ e: ChunkEvent, _ key: UInt64, _ principal: String, _ z: Double, _ score: Double, _ observed: Double,
        _ stats: EWMAStats, _ message: String
    ) -> Anomaly {
        Anomaly(
            detector: name, key: key, keyText: principal, ts: e.ts, score: score,
            severity: thresholdSeverity(z, threshold: settings.threshold), principal: e.principal,
            resource: e.resource, conn: e.conn, seq: e.seq, observed: observed, expected: (stats.mean * 10).rounded() / 10,
            threshold: settings.threshold,
            baseline: [("mean", (stats.mean * 100).rounded() / 100), ("sd", (stats.standardDeviation * 100).rounded() / 100), ("n", Double(stats.count))],
            message: message, cooldown: settings.cooldown)
    }
}
