#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Baselines
import ChunkModel

/// `volume`: bytes per event-time bucket far above what this principal usually
/// moves in this direction at this time of the week, and a slow sustained rise
/// that no single bucket shows (an exfiltration drip). Keyed by principal × dir.
///
/// The baseline is an `HourOfWeekProfile` of the bytes of the key's active
/// buckets: what it moves at this hour of the week, or at this hour on other
/// days. Until the profile knows the hour (a key's first day), a recent
/// exponentially weighted level stands in: it follows the day's curve, where
/// the whole profile would mix peak and trough hours. Two tests run on it:
///
/// - a spike: the running bytes of the current bucket reach mean +
///   `threshold` · sd, at least `minRatio` × the mean and `minBytes`; it fires
///   without waiting for the bucket to close;
/// - a drip: a one-sided CUSUM over closed buckets of x = bytes / expected,
///   S ← max(0, S + x − 1 − slack), where the slack is `driftSlack` or
///   `driftSlackSpread` coefficients of variation of the bucket, whichever is
///   larger, and one bucket adds at most a third of `driftThreshold`. S is
///   measured in buckets' worth of excess bytes; it alerts at
///   `driftThreshold`. A doubling of the outbound bytes adds about 0.6 of a
///   bucket per bucket, so it alerts within about an hour.
///
/// While S is past a quarter of its threshold the baselines do not learn, so
/// a drip does not teach them that it is normal. After a drip alert the key
/// re-baselines: its expectation is scaled by the excursion's observed /
/// expected ratio, a gain that fades back to 1 with a half-life of
/// `rebaselineHalfLife` while the profile learns the new level, so a lasting
/// change alerts once, not forever.
///
/// Each chunk is counted at one hop per key (`gateway` when the key has it,
/// else the first hop it was seen at), so a sink that reports the chunk again
/// does not double its bytes. The key's first bucket is partial and neither
/// judged nor learned.
///
/// Memory per key: 144 bytes of state, 2,728 for the hour-of-week profile and
/// about 80 for the key index: about 2.9 KB.
public final class VolumeDetector: Detector {
    public struct Settings: Sendable, Equatable {
        /// z-score of a bucket's bytes, (bytes − usual) / sd, at which a spike alert fires.
        public var threshold: Double = 6
        /// Event-time bucket width over which bytes are summed (at most an hour).
        public var bucket: Duration = .seconds(300)
        /// A spike needs at least this many times the usual bytes of the bucket (ratio)…
        public var minRatio: Double = 3
        /// …and at least this many bytes in the bucket (bytes).
        public var minBytes: Int = 1 << 20
        /// CUSUM level at which a drip alert fires, in buckets' worth of excess bytes.
        public var driftThreshold: Double = 4
        /// Excess each bucket may have without adding to the CUSUM, as a share of the usual bytes (0.35 = +35 %).
        public var driftSlack: Double = 0.35
        /// The slack is at least this many coefficients of variation of the bucket's bytes (noisy keys need more).
        public var driftSlackSpread: Double = 1
        /// Weight of one hour of new data in an hour-of-week cell (0.25: about the last four occurrences count).
        public var profileWeight: Double = 0.25
        /// EWMA weight of each active bucket in the recent baseline, used while the profile does not know the hour yet (0.03: a 23-bucket half-life).
        public var alpha: Double = 0.03
        /// Active buckets a key must have had before it may alert (buckets).
        public var warmup: Int = 24
        /// Half-life of the re-baselining gain after a drip alert (event time).
        public var rebaselineHalfLife: Duration = .seconds(86_400)
        /// Quiet event time after which an open alert resolves.
        public var cooldown: Duration = .seconds(1800)
        /// Keys (principal × dir) tracked at once; the least recently seen are evicted (keys).
        public var maxKeys: Int = 50_000
        /// Count each chunk at one hop per key only, so re-reports by later hops are not counted twice.
        public var oneHop: Bool = true

        public init() {}
    }

    struct State: Codable {
        var bucket: Int64 = .min
        var bytes: Double = 0
        var hop: UInt64 = 0
        /// Buckets learned into the profile, for the warm-up.
        var learned: Int32 = 0
        var firedInBucket = false
        var firstBucket = true
        /// The current bucket's expectation (0 when the profile has none yet),
        /// scaled by the gain, its spread and the drift slack.
        var expected: Double = 0
        var spread: Double = 0
        var slack: Double = 0
        var profileHours: Double = 0
        /// Re-baselining gain applied to the profile's level after a drip alert.
        var gain: Double = 1
        /// The recent level of active buckets, the baseline until the profile knows the hour.
        var recent: EWMAStats
        /// CUSUM of the drip, and the excursion since it last left zero.
        var drift: Double = 0
        var driftStart: Int64 = 0
        var driftBuckets: Int32 = 0
        var driftBytes: Double = 0
        var driftExpected: Double = 0
    }

    public let name = "volume"
    public let keyedBy = "principal × dir"
    public private(set) var settings: Settings
    private let width: BucketWidth
    private var bucketNanos: Int64 { width.nanoseconds }
    private let gainDecayPerBucket: Double
    private var keys: KeyedStore
    private var states: [State] = []
    private var profile: HourOfWeekProfile

    public init(settings: Settings = .init()) {
        self.settings = settings
        width = BucketWidth(settings.bucket, minimum: BucketWidth.second.nanoseconds, maximum: BucketWidth.hour.nanoseconds)
        let halfLife = Double(Swift.max(1, settings.rebaselineHalfLife.nanosecondsClamped))
        gainDecayPerBucket = exp2(-Double(width.nanoseconds) / halfLife)
        keys = KeyedStore(capacity: settings.maxKeys)
        profile = HourOfWeekProfile(bucket: width.duration, weight: settings.profileWeight)
    }

    /// Takes new values for the parameters that may change while the detector
    /// runs (thresholds and the cooldown; `ChunkWatchConfig.liveParameters`
    /// lists them). The baselines stay as they are.
    public func retune(_ settings: Settings) {
        self.settings = settings
    }

    public var keyStats: (tracked: Int, evicted: Int) { (keys.count, keys.evictions) }

    @inline(__always)
    static func key(_ e: ChunkEvent) -> UInt64 {
        StableHash.combine(e.principal.rawValue, 0x766F_6C00 | UInt64(e.dir.rawValue))
    }

    public func observe(_ event: ChunkEvent, context: DetectorContext, anomalies: inout [Anomaly]) -> Double {
        let key = Self.key(event)
        let (slot, isNew) = keys.slot(for: key)
        if isNew {
            let fresh = State(hop: event.hop.rawValue, recent: EWMAStats(alpha: settings.alpha))
            if slot == states.count { states.append(fresh) } else { states[slot] = fresh }
            profile.reset(slot)
        }
        let b = event.ts.bucket(width)
        return states.withUnsafeMutableBufferPointer { states in
            if settings.oneHop && event.hop.rawValue != states[slot].hop {
                guard event.hop == .gateway else { return score(states[slot]) }
                states[slot].hop = event.hop.rawValue
            }
            if b > states[slot].bucket {
                if states[slot].bucket != .min {
                    closeBucket(&states[slot], slot: slot, event, key, context, &anomalies)
                }
                openBucket(&states[slot], slot: slot, b)
            }
            // A late event (earlier bucket) counts toward the current one.
            states[slot].bytes += Double(event.size)
            return checkSpike(&states[slot], event, key, context, &anomalies)
        }
    }

    private var warmupBuckets: Int32 { Int32(clamping: settings.warmup) }

    private func score(_ s: State) -> Double {
        guard s.learned >= warmupBuckets && s.expected > 0 else { return 0 }
        let z = (s.bytes - s.expected) / s.spread
        return Swift.max(thresholdScore(z, threshold: settings.threshold), thresholdScore(s.drift, threshold: settings.driftThreshold))
    }

    private func openBucket(_ s: inout State, slot: Int, _ b: Int64) {
        if s.bucket != .min && s.gain != 1 {
            let steps = Double(b.clampedSubtracting(s.bucket))
            s.gain = 1 + (s.gain - 1) * pow(gainDecayPerBucket, steps)
            if abs(s.gain - 1) < 0.01 { s.gain = 1 }
        }
        s.bucket = b
        s.bytes = 0
        s.firedInBucket = false
        profile.advance(slot, to: b)
        // The hour's own history when there is some, else the recent level: on a
        // key's first day the whole profile mixes peak and trough hours, while
        // the recent level follows the day's curve.
        let usual = profile.expectation(slot, bucket: b)
        let mean: Double
        let sd: Double
        if usual.source == .hourOfWeek || usual.source == .hourOfDay {
            mean = usual.mean
            sd = usual.sd
            s.profileHours = usual.hours
        } else {
            mean = s.recent.mean
            sd = s.recent.standardDeviation
            s.profileHours = 0
        }
        guard mean > 0 else {
            s.expected = 0
            return
        }
        s.expected = s.gain * mean
        s.spread = Swift.max(s.gain * sd, 0.05 * s.expected, 1)
        s.slack = Swift.max(settings.driftSlack, settings.driftSlackSpread * sd / mean)
    }

    private func checkSpike(
        _ s: inout State, _ e: ChunkEvent, _ key: UInt64, _ context: DetectorContext, _ anomalies: inout [Anomaly]
    ) -> Double {
        guard s.learned >= warmupBuckets && s.expected > 0 else { return 0 }
        let z = (s.bytes - s.expected) / s.spread
        let spikeScore = thresholdScore(z, threshold: settings.threshold)
        if !s.firedInBucket && z >= settings.threshold && s.bytes >= settings.minRatio * s.expected
            && s.bytes >= Double(settings.minBytes)
        {
            s.firedInBucket = true
            let principal = context.symbols.display(e.principal)
            let message =
                "\(principal) moved \(Format.bytes(s.bytes)) \(e.dir == .outbound ? "outbound" : "inbound") in \(bucketText), "
                + "\(Format.ratio(s.bytes / s.expected)) \(s.profileHours > 0 ? "its usual" : "its recent") \(Format.bytes(s.expected))"
                + "\(s.profileHours > 0 ? " at this hour" : "") "
                + "(z \(Format.decimal(z, 1)), threshold \(Format.decimal(settings.threshold, 1)))"
            anomalies.append(
                anomaly(
                    e, key, principal, evidence: z, threshold: settings.threshold, score: spikeScore, observed: s.bytes,
                    expected: s.expected, s, message))
        }
        return Swift.max(spikeScore, thresholdScore(s.drift, threshold: settings.driftThreshold))
    }

    /// Runs the drip CUSUM on the bucket that just closed and teaches it to the profile.
    private func closeBucket(
        _ s: inout State, slot: Int, _ e: ChunkEvent, _ key: UInt64, _ context: DetectorContext,
        _ anomalies: inout [Anomaly]
    ) {
        let bytes = s.bytes
        let warm = s.learned >= warmupBuckets && s.expected > 0
        if warm && !s.firstBucket {
            let h = settings.driftThreshold
            let x = bytes / s.expected
            let next = Swift.max(0, s.drift + Swift.min(x - 1 - s.slack, h / 3))
            if next > 0 {
                if s.drift == 0 {
                    s.driftStart = Timestamp.start(ofBucket: s.bucket, width).nanoseconds
                    s.driftBuckets = 0
                    s.driftBytes = 0
                    s.driftExpected = 0
                }
                s.driftBuckets += 1
                s.driftBytes += bytes
                s.driftExpected += s.expected
            }
            s.drift = next
            if next >= h {
                reportDrip(&s, e, key, context, &anomalies)
            }
        }
        // Learn the bucket clipped to the spike limit, and not at all while a
        // drip may be building or on the key's partial first bucket. (Freezing
        // only from a quarter of the threshold on lets the recent baseline
        // follow a morning ramp, which nudges the CUSUM above zero.)
        let limit = s.expected > 0 ? Swift.max(s.expected + settings.threshold * s.spread, settings.minRatio * s.expected) : bytes
        let learn = !s.firstBucket && s.drift < settings.driftThreshold / 4
        profile.add(slot, bucket: s.bucket, value: Swift.min(bytes, limit), learn: learn)
        if learn {
            s.learned &+= 1
            s.recent.add(Swift.min(bytes, limit))
        }
        s.firstBucket = false
    }

    private func reportDrip(
        _ s: inout State, _ e: ChunkEvent, _ key: UInt64, _ context: DetectorContext, _ anomalies: inout [Anomaly]
    ) {
        let h = settings.driftThreshold
        let principal = context.symbols.display(e.principal)
        let ratio = s.driftBytes / Swift.max(s.driftExpected, 1)
        let minutes = Int((Double(s.driftBuckets) * Double(bucketNanos) / 60e9).rounded())
        let message =
            "\(principal) moved \(Format.bytes(s.driftBytes)) \(e.dir == .outbound ? "outbound" : "inbound") in the \(minutes) minutes since "
            + "\(UTCClock.text(s.driftStart)) UTC, \(Format.ratio(ratio)) the \(Format.bytes(s.driftExpected)) expected for that time: "
            + "a sustained rise (CUSUM \(Format.decimal(s.drift, 1)), threshold \(Format.decimal(h, 1)))"
        anomalies.append(
            anomaly(
                e, key, principal, evidence: s.drift, threshold: h,
                score: thresholdScore(s.drift, threshold: h), observed: s.driftBytes, expected: s.driftExpected, s, message))
        // Re-baseline: expect the new level, fading back as the profile learns it.
        s.gain *= Swift.max(1, ratio)
        s.drift = 0
    }

    private var bucketText: String {
        let s = bucketNanos / 1_000_000_000
        if s == 60 { return "one minute" }
        if s % 60 == 0 { return "\(s / 60) minutes" }
        return "\(s) s"
    }

    private func anomaly(
        _ e: ChunkEvent, _ key: UInt64, _ principal: String, evidence: Double, threshold: Double, score: Double,
        observed: Double, expected: Double, _ s: State, _ message: String
    ) -> Anomaly {
        Anomaly(
            detector: name, key: key, keyText: "\(principal)|\(e.dir.name)", ts: e.ts, score: score,
            severity: thresholdSeverity(evidence, threshold: threshold), principal: e.principal,
            resource: e.resource, conn: e.conn, seq: e.seq, observed: observed.rounded(), expected: expected.rounded(),
            threshold: threshold,
            baseline: [
                ("bucket_mean", s.expected.rounded()), ("bucket_sd", s.spread.rounded()),
                ("hours", (s.profileHours * 10).rounded() / 10), ("n", Double(s.learned)),
            ],
            message: message, cooldown: settings.cooldown)
    }
}

// Checkpoints: the baselines as they are, so a restarted daemon goes on where
// it stopped instead of warming up again.
extension VolumeDetector {
    private struct Snapshot: Codable {
        var keys: KeyedStore
        var states: [State]
        var profile: HourOfWeekProfile
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
            [("states", s.states.count, 1), ("profile slots", s.profile.slots, 1)])
        guard s.profile.width == profile.width else {
            throw DamagedDetectorState(description: "\(name): the checkpoint's hour-of-week profile is not this detector's")
        }
        keys = s.keys
        states = s.states
        profile = s.profile
    }
}
