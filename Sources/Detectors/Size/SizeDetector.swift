#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Baselines
import ChunkModel

/// `size`: a chunk far larger than this principal usually moves on this
/// resource in this direction.
///
/// Sizes are heavy-tailed, so the baseline is robust and logarithmic: the
/// median and MAD of log2(size + 1) over the last `window` chunks of the key.
/// The evidence is a robust z, (log2 size − median) / (1.4826 · MAD), in which
/// the MAD is floored at `minSpread` so a key with near-constant sizes does not
/// alert on a few bytes; a chunk must also be at least `minRatio` times the
/// median. Memory per key: 8 bytes per window value, 5 for the cached MAD, and
/// about 80 for the key index.
///
/// Real keys' sizes are mixtures: mostly small requests and a bulk mode of
/// writes tens of times larger, many of them exact frame sizes. Against the
/// median and MAD of the mixture every bulk write is an outlier, so a chunk
/// must also lie in the tail beyond the window's own largest chunks: above
/// the `k = n / 12` largest (at least 4), the excess in log2 units is taken
/// as exponential (a Pareto tail in bytes), with the mean excess of those `k`
/// over the value below them as its scale (floored at `minTailSpread`), and
/// the chunk alerts only when the chance of a chunk this far beyond them,
/// `(k / n) · exp(−excess / scale)`, is below 10^−`tailThreshold`. A bulk write is then as ordinary as the other bulk
/// writes in the window; a chunk far beyond everything the key has recently
/// moved still alerts on its robust z.
public final class SizeDetector: Detector {
    public struct Settings: Sendable, Equatable {
        /// Robust z (MADs scaled to standard deviations) at which an alert fires.
        public var threshold: Double = 6
        /// Chunks per key in the rolling window.
        public var window: Int = 96
        /// Chunks a key must have seen before it may alert.
        public var warmup: Int = 64
        /// The least spread assumed, in log2 units (0.15 ≈ ±11 %).
        public var minSpread: Double = 0.15
        /// A chunk must be at least this many times the key's median size.
        public var minRatio: Double = 4
        /// −log10 of the tail probability beyond the window's largest chunks
        /// below which a chunk may alert (3: one chance in a thousand).
        public var tailThreshold: Double = 3
        /// The least tail scale assumed, in log2 units (0.5 ≈ ×1.41).
        public var minTailSpread: Double = 0.5
        public var cooldown: Duration = .seconds(600)
        /// Keys (principal × resource × dir) tracked at once; least recently seen go first.
        public var maxKeys: Int = 100_000

        public init() {}
    }

    public let name = "size"
    public let keyedBy = "principal × resource × dir"
    public private(set) var settings: Settings
    private var keys: KeyedStore
    private var windows: RollingWindows
    /// The MAD moves slowly once a window is full, so it is recomputed every
    /// `madRefresh` chunks rather than on each one (the median is always exact),
    /// and smoothed.
    private var madCache: [Float] = []
    private var madAge: [UInt8] = []
    private static let madRefresh: UInt8 = 8
    private static let madSmoothing: Float = 0.05

    private let log2MinRatio: Double

    public init(settings: Settings = .init()) {
        self.settings = settings
        log2MinRatio = log2(Swift.max(settings.minRatio, 1))
        keys = KeyedStore(capacity: settings.maxKeys)
        windows = RollingWindows(window: settings.window)
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
        StableHash.combine(StableHash.combine(e.principal.rawValue, e.resource.rawValue), UInt64(e.dir.rawValue))
    }

    public func observe(_ event: ChunkEvent, context: DetectorContext, anomalies: inout [Anomaly]) -> Double {
        let key = Self.key(event)
        let (slot, isNew) = keys.slot(for: key)
        if isNew {
            windows.reset(slot)
            if slot == madCache.count {
                madCache.append(0)
                madAge.append(.max)
            } else {
                madAge[slot] = .max
            }
        }
        let x = FastLog2.of(event.size)
        let n = windows.count(slot)
        var score = 0.0
        if n >= settings.warmup {
            let median = Double(windows.median(slot))
            if madAge[slot] >= Self.madRefresh {
                // The MAD of 96 chunks wanders by ±15 %; a busy key is scored so
                // often that the low moments turn tail chunks into alerts. Smooth it
                // across refreshes once the window is full.
                let mad = windows.mad(slot)
                let filling = madAge[slot] == .max || n < settings.window
                madCache[slot] = filling ? mad : madCache[slot] + Self.madSmoothing * (mad - madCache[slot])
                madAge[slot] = 0
            }
            let spread = Swift.max(1.4826 * Double(madCache[slot]), settings.minSpread)
            let z = (x - median) / spread
            if z > 0 { score = thresholdScore(z, threshold: settings.threshold) }
            if z >= settings.threshold && x - median >= log2MinRatio && beyondTheLargest(x, slot: slot, n: n) {
                anomalies.append(anomaly(event, key: key, z: z, median: median, spread: spread, n: n, score: score, context))
            }
        }
        windows.push(slot, Float(x))
        if madAge[slot] < .max { madAge[slot] += 1 }
        return score
    }

    /// Whether `x` (log2 size) is in the tail beyond the window's largest
    /// chunks: `(k / n) · exp(−(x − edge) / scale) < 10^−tailThreshold`, with
    /// `edge` the largest value below the top `k` and `scale` their mean
    /// excess over it (see the type's comment).
    @inline(__always)
    private func beyondTheLargest(_ x: Double, slot: Int, n: Int) -> Bool {
        let k = Swift.max(4, n / 12)
        guard settings.tailThreshold > 0, n > k else { return true }
        let (edge, meanExcess) = windows.upperTail(slot, edgeCount: k, scaleCount: k)
        let excess = x - Double(edge)
        guard excess > 0 else { return false }
        let scale = Swift.max(Double(meanExcess), settings.minTailSpread)
        // log10 of the tail probability, kept in logs: no underflow.
        let log10p = log10(Double(k) / Double(n)) - excess / scale / M_LN10
        return log10p < -settings.tailThreshold
    }

    private func anomaly(
        _ e: ChunkEvent, key: UInt64, z: Double, median: Double, spread: Double, n: Int, score: Double,
        _ context: DetectorContext
    ) -> Anomaly {
        let principal = context.symbols.display(e.principal)
        let resource = context.symbols.name(e.resource)
        let usual = exp2(median) - 1
        // The MAD in bytes: how far a typical chunk sits from the median size.
        let madBytes = usual * (exp2(spread / 1.4826) - 1)
        let observed = Double(e.size)
        let on = resource.map { " on \($0)" } ?? ""
        let message =
            "chunk of \(Format.bytes(observed)) \(e.dir == .outbound ? "out" : "in") is \(Format.ratio(observed / Swift.max(usual, 1))) "
            + "\(principal)'s usual \(Format.bytes(usual))\(on) (\(Format.decimal(z, 1)) MADs above, threshold \(Format.decimal(settings.threshold, 1)))"
        return Anomaly(
            detector: name, key: key, keyText: "\(principal)|\(resource ?? "")|\(e.dir.name)", ts: e.ts, score: score,
            severity: thresholdSeverity(z, threshold: settings.threshold), principal: e.principal,
            resource: e.resource, conn: e.conn, seq: e.seq, observed: observed, expected: usual.rounded(),
            threshold: settings.threshold,
            baseline: [("median", usual.rounded()), ("mad", madBytes.rounded()), ("n", Double(n))],
            message: message, cooldown: settings.cooldown, evidence: z)
    }
}

// Checkpoints: the baselines as they are, so a restarted daemon goes on where
// it stopped instead of warming up again.
extension SizeDetector {
    private struct Snapshot: Codable {
        var keys: KeyedStore
        var windows: RollingWindows
        var madCache: [Float]
        var madAge: [UInt8]
    }

    public func checkpointValue() throws -> (any Encodable)? {
        Snapshot(keys: keys, windows: windows, madCache: madCache, madAge: madAge)
    }

    public func checkpoint() throws -> [UInt8]? {
        try BinaryCoding.encode(Snapshot(keys: keys, windows: windows, madCache: madCache, madAge: madAge))
    }

    public func restore(_ bytes: [UInt8]) throws {
        let s = try BinaryCoding.decode(Snapshot.self, from: bytes)
        try checkRestored(
            name, capacity: s.keys.capacity, expected: keys.capacity, slots: s.keys.count,
            [("windows", s.windows.slots, 1), ("MAD cache", s.madCache.count, 1), ("MAD ages", s.madAge.count, 1)])
        guard s.windows.window == windows.window else {
            throw DamagedDetectorState(description: "\(name): windows of \(s.windows.window) values, the detector keeps \(windows.window)")
        }
        keys = s.keys
        windows = s.windows
        madCache = s.madCache
        madAge = s.madAge
    }
}
