#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Baselines
import ChunkModel

/// `changepoint`: a sustained shift in the size of a principal's chunks on a
/// resource, or in their rate, too small for any single chunk or bucket to
/// stand out. Keyed by principal × resource.
///
/// Three series per key, each a two-sided CUSUM (`ShiftCUSUM`) against a
/// slowly learned baseline:
///
/// - the mean log2 size of each batch of `sizeBatch` chunks, one series per
///   direction (requests and replies differ in size, and a change in one
///   would drown in their mixture); its sampling variance is the batch's own
///   variance over the batch size, so a shift of one standard deviation of a
///   single chunk is four standard errors of a 16-chunk batch and is found
///   within a few batches;
/// - the log2 chunk count of each `rateBucket`, counting only buckets inside
///   a spell of activity (the buckets before and after were active too), so a
///   session that starts or ends mid-bucket is not a collapse; its sampling
///   variance is the Poisson one.
///
/// The CUSUM is in standard errors; it alerts at `threshold` when the level
/// since the change began is at least `minSizeShift` (or `minRateShift`) from
/// the baseline, then re-baselines on that level so a lasting change alerts
/// once. Each chunk is counted at one hop per key (`gateway` when the key has
/// it, else the first hop it was seen at).
///
/// Memory per key: three 112-byte series and 72 bytes of batch and bucket
/// state (408 bytes), and about 80 for the key index: about 490 bytes.
public final class ChangepointDetector: Detector {
    public struct Settings: Sendable, Equatable {
        /// CUSUM level at which an alert fires, in standard errors of a batch mean or bucket count.
        public var threshold: Double = 8
        /// Deviation per batch or bucket that does not add to the CUSUM, in standard errors.
        public var slack: Double = 1
        /// Chunks per size batch, per direction (chunks).
        public var sizeBatch: Int = 16
        /// Smallest size shift reported, in log2 units (0.5 = ×1.41 or ÷1.41).
        public var minSizeShift: Double = 0.5
        /// Least spread assumed for one chunk's log2 size (log2 units).
        public var minSizeSpread: Double = 0.15
        /// Event-time bucket width over which chunks are counted for the rate series.
        public var rateBucket: Duration = .seconds(300)
        /// Smallest rate shift reported, in log2 units (1 = ×2 or ÷2).
        public var minRateShift: Double = 1
        /// Least spread assumed for a bucket's log2 count (log2 units).
        public var minRateSpread: Double = 0.1
        /// EWMA weight of each batch or bucket in a baseline (0.02: about a 35-observation half-life).
        public var alpha: Double = 0.02
        /// Batches or buckets a series must have had before it may alert.
        public var warmup: Int = 24
        /// Quiet event time after which an open alert resolves.
        public var cooldown: Duration = .seconds(1800)
        /// Keys (principal × resource) tracked at once; the least recently seen are evicted (keys).
        public var maxKeys: Int = 100_000
        /// Count each chunk at one hop per key only, so re-reports by later hops are not counted twice.
        public var oneHop: Bool = true

        public init() {}
    }

    struct Batch: Codable {
        var count: Int32 = 0
        var sum: Double = 0
        var sumOfSquares: Double = 0
    }

    struct State: Codable {
        var hop: UInt64 = 0
        var bucket: Int64 = .min
        var bucketCount: Int32 = 0
        /// The bucket before the current one had chunks.
        var previousActive = false
        var batchIn = Batch()
        var batchOut = Batch()
        var sizeIn = ShiftCUSUM()
        var sizeOut = ShiftCUSUM()
        var rate = ShiftCUSUM()
    }

    public let name = "changepoint"
    public let keyedBy = "principal × resource"
    public private(set) var settings: Settings
    private let width: BucketWidth
    private var bucketNanos: Int64 { width.nanoseconds }
    private var sizeParameters: ShiftCUSUM.Parameters
    private var rateParameters: ShiftCUSUM.Parameters
    private var keys: KeyedStore
    private var states: [State] = []

    public init(settings: Settings = .init()) {
        self.settings = settings
        width = BucketWidth(settings.rateBucket, minimum: BucketWidth.second.nanoseconds)
        let batch = Double(Swift.max(2, settings.sizeBatch))
        let warmup = Int32(clamping: Swift.max(2, settings.warmup))
        sizeParameters = ShiftCUSUM.Parameters(
            threshold: settings.threshold, slack: settings.slack, minShift: settings.minSizeShift,
            minSpread: settings.minSizeSpread / batch.squareRoot(), alpha: settings.alpha, warmup: warmup)
        rateParameters = ShiftCUSUM.Parameters(
            threshold: settings.threshold, slack: settings.slack, minShift: settings.minRateShift,
            minSpread: settings.minRateSpread, alpha: settings.alpha, warmup: warmup)
        keys = KeyedStore(capacity: settings.maxKeys)
    }

    /// Takes new values for the parameters that may change while the detector
    /// runs (thresholds and the cooldown; `ChunkWatchConfig.liveParameters`
    /// lists them). The baselines stay as they are.
    public func retune(_ settings: Settings) {
        self.settings = settings
        sizeParameters.threshold = settings.threshold
        rateParameters.threshold = settings.threshold
    }

    public var keyStats: (tracked: Int, evicted: Int) { (keys.count, keys.evictions) }

    @inline(__always)
    static func key(_ e: ChunkEvent) -> UInt64 {
        StableHash.combine(StableHash.combine(e.principal.rawValue, e.resource.rawValue), 0x6370)
    }

    public func observe(_ event: ChunkEvent, context: DetectorContext, anomalies: inout [Anomaly]) -> Double {
        let key = Self.key(event)
        let (slot, isNew) = keys.slot(for: key)
        if isNew {
            let fresh = State(hop: event.hop.rawValue)
            if slot == states.count { states.append(fresh) } else { states[slot] = fresh }
        }
        return states.withUnsafeMutableBufferPointer { states in
            if settings.oneHop && event.hop.rawValue != states[slot].hop {
                guard event.hop == .gateway else { return score(states[slot], event.dir) }
                states[slot].hop = event.hop.rawValue
            }
            countRate(&states[slot], event, key, context, &anomalies)
            if event.dir == .outbound {
                addSize(&states[slot].batchOut, &states[slot].sizeOut, event, key, context, &anomalies)
            } else {
                addSize(&states[slot].batchIn, &states[slot].sizeIn, event, key, context, &anomalies)
            }
            return score(states[slot], event.dir)
        }
    }

    private func score(_ s: State, _ dir: Direction) -> Double {
        let size = dir == .outbound ? s.sizeOut.evidence : s.sizeIn.evidence
        return thresholdScore(Swift.max(size, s.rate.evidence), threshold: settings.threshold)
    }

    private func addSize(
        _ batch: inout Batch, _ series: inout ShiftCUSUM, _ e: ChunkEvent, _ key: UInt64, _ context: DetectorContext,
        _ anomalies: inout [Anomaly]
    ) {
        let x = FastLog2.of(e.size)
        batch.count += 1
        batch.sum += x
        batch.sumOfSquares += x * x
        guard batch.count >= Int32(clamping: settings.sizeBatch) else { return }
        let n = Double(batch.count)
        let mean = batch.sum / n
        let variance = Swift.max(0, batch.sumOfSquares / n - mean * mean) * n / (n - 1)
        batch = Batch()
        if let shift = series.step(mean, noise: variance / n, time: e.ts.nanoseconds, sizeParameters) {
            anomalies.append(sizeAnomaly(shift, series, e, key, context))
        }
    }

    private func countRate(
        _ s: inout State, _ e: ChunkEvent, _ key: UInt64, _ context: DetectorContext, _ anomalies: inout [Anomaly]
    ) {
        let b = e.ts.bucket(width)
        if b > s.bucket {
            let follows = s.bucket != .min && b == s.bucket + 1
            // Judge the bucket that closed only when it sits inside activity:
            // the one before it and the one now opening both have chunks.
            if follows && s.previousActive {
                let count = Double(s.bucketCount)
                let noise = 1 / (Swift.max(count, 1) * M_LN2 * M_LN2)
                if let shift = s.rate.step(log2(count), noise: noise, time: Timestamp.start(ofBucket: s.bucket, width).nanoseconds, rateParameters) {
                    anomalies.append(rateAnomaly(shift, s.rate, e, key, context))
                }
            }
            s.previousActive = follows
            s.bucket = b
            s.bucketCount = 0
        }
        s.bucketCount += 1
    }

    // MARK: Anomalies

    private func sizeAnomaly(
        _ shift: ShiftCUSUM.Shift, _ series: ShiftCUSUM, _ e: ChunkEvent, _ key: UInt64, _ context: DetectorContext
    ) -> Anomaly {
        let principal = context.symbols.display(e.principal)
        let resource = context.symbols.name(e.resource)
        let usual = exp2(shift.before) - 1
        let now = exp2(shift.after) - 1
        let ratio = exp2(shift.after - shift.before)
        let on = resource.map { " on \($0)" } ?? ""
        let message =
            "\(e.dir == .outbound ? "outbound" : "inbound") chunks of \(principal)\(on) have \(shift.sign > 0 ? "grown" : "shrunk") "
            + "to \(Format.bytes(now)) from a usual \(Format.bytes(usual)) (\(Self.factorText(ratio))) since \(UTCClock.text(shift.since)) UTC: "
            + "a sustained shift (CUSUM \(Format.decimal(shift.evidence, 1)) σ, threshold \(Format.decimal(settings.threshold, 1)))"
        let spread = (series.noiseVariance * Double(settings.sizeBatch)).squareRoot()
        return anomaly(
            e, key, principal, resource, shift, observed: now.rounded(), expected: usual.rounded(),
            baseline: [("median", usual.rounded()), ("sd_log2", (spread * 100).rounded() / 100), ("n", Double(shift.n))],
            message)
    }

    private func rateAnomaly(
        _ shift: ShiftCUSUM.Shift, _ series: ShiftCUSUM, _ e: ChunkEvent, _ key: UInt64, _ context: DetectorContext
    ) -> Anomaly {
        let principal = context.symbols.display(e.principal)
        let resource = context.symbols.name(e.resource)
        let usual = exp2(shift.before)
        let now = exp2(shift.after)
        let on = resource.map { " on \($0)" } ?? ""
        let ratio = now / Swift.max(usual, 0.001)
        let message =
            "\(principal)'s chunk rate\(on) has \(shift.sign > 0 ? "risen" : "fallen") to \(Format.decimal(now, 1)) per \(bucketText) "
            + "from a usual \(Format.decimal(usual, 1)) (\(Self.factorText(ratio))) since \(UTCClock.text(shift.since)) UTC: "
            + "a sustained shift (CUSUM \(Format.decimal(shift.evidence, 1)) σ, threshold \(Format.decimal(settings.threshold, 1)))"
        return anomaly(
            e, key, principal, resource, shift, observed: (now * 10).rounded() / 10, expected: (usual * 10).rounded() / 10,
            baseline: [("mean", (usual * 10).rounded() / 10), ("sd_log2", (series.standardError * 100).rounded() / 100), ("n", Double(shift.n))],
            message)
    }

    private func anomaly(
        _ e: ChunkEvent, _ key: UInt64, _ principal: String, _ resource: String?, _ shift: ShiftCUSUM.Shift,
        observed: Double, expected: Double, baseline: [(String, Double)], _ message: String
    ) -> Anomaly {
        Anomaly(
            detector: name, key: key, keyText: "\(principal)|\(resource ?? "")", ts: e.ts,
            score: thresholdScore(shift.evidence, threshold: settings.threshold),
            severity: thresholdSeverity(shift.evidence, threshold: settings.threshold), principal: e.principal,
            resource: e.resource, conn: e.conn, seq: e.seq, observed: observed, expected: expected,
            threshold: settings.threshold, baseline: baseline, message: message, cooldown: settings.cooldown)
    }

    /// `×1.9` for a rise, `÷2.5` for a fall.
    static func factorText(_ ratio: Double) -> String {
        let r = ratio >= 1 ? ratio : 1 / Swift.max(ratio, 1e-9)
        return (ratio >= 1 ? "×" : "÷") + (r >= 10 ? String(Int(r.rounded())) : Format.decimal(r, 1))
    }

    private var bucketText: String {
        let s = bucketNanos / 1_000_000_000
        if s == 60 { return "minute" }
        if s % 60 == 0 { return "\(s / 60) minutes" }
        return "\(s) s"
    }
}

// Checkpoints: the baselines as they are, so a restarted daemon goes on where
// it stopped instead of warming up again.
extension ChangepointDetector {
    private struct Snapshot: Codable {
        var keys: KeyedStore
        var states: [State]
    }

    public func checkpointValue() throws -> (any Encodable)? {
        Snapshot(keys: keys, states: states)
    }

    public func checkpoint() throws -> [UInt8]? {
        try BinaryCoding.encode(Snapshot(keys: keys, states: states))
    }

    public func restore(_ bytes: [UInt8]) throws {
        let s = try BinaryCoding.decode(Snapshot.self, from: bytes)
        try checkRestored(
            name, capacity: s.keys.capacity, expected: keys.capacity, slots: s.keys.count, [("states", s.states.count, 1)])
        keys = s.keys
        states = s.states
    }
}
