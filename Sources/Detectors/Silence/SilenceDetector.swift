#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Baselines
import ChunkModel

/// `silence`: a principal whose events stopped — a monitoring blind spot, or a
/// service that died.
///
/// Judged at the engine's event-time ticks (`advance`), not on events: a
/// silent principal sends none. A principal is silent when the time since its
/// last event passes its limit, `multiple` × its usual long gap and at least
/// `minSilence`. The usual long gap is learned per principal as the gap length
/// that covers `quantile` of its time (a time-weighted quantile over
/// power-of-two gap classes, fading with `halfLife`): a few seconds for a
/// steady service, the pauses between sessions for a person on the first day,
/// then nights and weekends; a daily batch job's is a day. So intermittent
/// principals have limits of days and are never flagged for their rhythm. A
/// gap that was reported is learned only up to the limit, so a silence does not
/// teach the baseline that silences are normal.
///
/// While a silence lasts it is reported again every `reportEvery`, so the alert
/// keeps firing and resolves a cooldown after the principal is back; after
/// `forgetAfter` it is no longer reported, and a principal that returns after
/// that warms up again. A whole hop going quiet needs a view across principals
/// and is not this detector's (each shard sees only its principals).
///
/// Memory per principal: 96 bytes of gap classes, 48 of state, 8 for the
/// tick's scan, about 80 of key index.
public final class SilenceDetector: Detector {
    public struct Settings: Sendable, Equatable {
        /// Times the principal's usual long gap its silence must last to alert.
        public var multiple: Double = 20
        /// Share of the principal's time (0…1) spent in gaps no longer than its usual long gap.
        public var quantile: Double = 0.99
        /// The least silence that alerts, whatever the usual gap.
        public var minSilence: Duration = .seconds(600)
        /// A principal's history (event time from its first to its last event) before it may alert.
        public var warmup: Duration = .seconds(7200)
        /// Gaps (events after the first) a principal must have had before it may alert.
        public var warmupEvents: Int = 100
        /// Event time over which a learned gap loses half its weight.
        public var halfLife: Duration = .seconds(7 * 86_400)
        /// While a silence lasts, event time between repeated reports (keep it under `cooldown`).
        public var reportEvery: Duration = .seconds(600)
        /// Silence after which a principal is no longer reported, and warms up again if it returns.
        public var forgetAfter: Duration = .seconds(3 * 86_400)
        /// Event time without a repeat after which an alert resolves.
        public var cooldown: Duration = .seconds(1800)
        /// Principals tracked at once; least recently seen go first.
        public var maxKeys: Int = 100_000

        public init() {}
    }

    struct Rhythm: Codable {
        var firstSeen: Int64
        var lastSeen: Int64
        var gaps: Int32 = 0
        /// The hour (event time) to which the gap classes have been faded.
        var fadedHour: Int64
        /// The usual long gap, seconds, and the silence limit, nanoseconds; valid unless `dirty`.
        var usualGap: Double = 0
        var limit: Int64 = .max
        var dirty = true
        /// Reports of the current silence.
        var reports: Int32 = 0
    }

    public let name = "silence"
    public let keyedBy = "principal"
    public private(set) var settings: Settings
    private let minSilence: Int64
    private let warmup: Int64
    private let reportEvery: Int64
    private let forgetAfter: Int64
    private let fadePerHour: Float
    private var keys: KeyedStore
    private var rhythms: [Rhythm] = []
    private var weights: [Float] = []
    /// Per slot: the earliest tick at which it needs looking at (`.max`: not until its next event).
    private var due: [Int64] = []

    private static let hourNanos: Int64 = 3_600_000_000_000

    public init(settings: Settings = .init()) {
        self.settings = settings
        minSilence = Swift.max(1, settings.minSilence.nanosecondsClamped)
        warmup = settings.warmup.nanosecondsClamped
        reportEvery = Swift.max(1_000_000_000, settings.reportEvery.nanosecondsClamped)
        forgetAfter = Swift.max(minSilence, settings.forgetAfter.nanosecondsClamped)
        let halfLifeHours = Double(settings.halfLife.nanosecondsClamped) / Double(Self.hourNanos)
        fadePerHour = halfLifeHours > 0 ? Float(exp2(-1 / halfLifeHours)) : 0
        keys = KeyedStore(capacity: Swift.max(1, settings.maxKeys))
    }

    /// Takes new values for the parameters that may change while the detector
    /// runs (thresholds and the cooldown; `ChunkWatchConfig.liveParameters`
    /// lists them). The baselines stay as they are.
    public func retune(_ settings: Settings) {
        self.settings = settings
    }

    public var keyStats: (tracked: Int, evicted: Int) { (keys.count, keys.evictions) }

    public func observe(_ event: ChunkEvent, context: DetectorContext, anomalies: inout [Anomaly]) -> Double {
        let t = event.ts.nanoseconds
        let (slot, isNew) = keys.slot(for: event.principal.rawValue)
        if isNew {
            start(slot, at: t)
            return 0
        }
        let last = rhythms[slot].lastSeen
        // A late event is activity, but closes no gap.
        guard t > last else { return 0 }
        let gap = t.clampedSubtracting(last)
        if gap >= forgetAfter {
            start(slot, at: t)
            return 0
        }
        var learned = gap
        var score = 0.0
        if rhythms[slot].reports > 0 {
            let limit = rhythms[slot].limit
            score = thresholdScore(Double(gap), threshold: Double(limit))
            learned = Swift.min(gap, limit)
        }
        learn(slot, gap: learned, at: t)
        rhythms[slot].lastSeen = t
        rhythms[slot].reports = 0
        due[slot] = t.clampedAdding(minSilence)
        return score
    }

    public func advance(context: DetectorContext, anomalies: inout [Anomaly]) {
        let now = context.watermark.nanoseconds
        let n = due.count
        var slot = 0
        while slot < n {
            // The scan reads one flat array: nearly every slot stops here.
            if now >= due[slot] { check(slot, now: now, context, &anomalies) }
            slot += 1
        }
    }

    private func start(_ slot: Int, at t: Int64) {
        let r = Rhythm(firstSeen: t, lastSeen: t, fadedHour: Self.hour(t))
        if slot == rhythms.count {
            rhythms.append(r)
            weights.append(contentsOf: repeatElement(0, count: GapHistogram.bins))
            due.append(t.clampedAdding(minSilence))
        } else {
            rhythms[slot] = r
            for i in (slot * GapHistogram.bins)..<((slot + 1) * GapHistogram.bins) { weights[i] = 0 }
            due[slot] = t.clampedAdding(minSilence)
        }
    }

    @inline(__always)
    private func learn(_ slot: Int, gap: Int64, at t: Int64) {
        let base = slot * GapHistogram.bins
        let hour = Self.hour(t)
        let elapsed = hour.clampedSubtracting(rhythms[slot].fadedHour)
        if elapsed > 0 {
            let f = elapsed == 1 ? fadePerHour : Float(pow(Double(fadePerHour), Double(elapsed)))
            weights.withUnsafeMutableBufferPointer { w in
                for i in base..<(base + GapHistogram.bins) { w[i] *= f }
            }
            rhythms[slot].fadedHour = hour
        }
        weights[base + GapHistogram.bin(gap)] += Float(Double(gap) / 1e9)
        if rhythms[slot].gaps < .max { rhythms[slot].gaps += 1 }
        rhythms[slot].dirty = true
    }

    private func check(_ slot: Int, now: Int64, _ context: DetectorContext, _ anomalies: inout [Anomaly]) {
        let r = rhythms[slot]
        let silent = now.clampedSubtracting(r.lastSeen)
        guard silent < forgetAfter, Int(r.gaps) >= settings.warmupEvents, r.lastSeen.clampedSubtracting(r.firstSeen) >= warmup else {
            // Nothing changes that until its next event.
            due[slot] = .max
            return
        }
        if r.dirty { refreshLimit(slot) }
        let limit = rhythms[slot].limit
        if silent < limit {
            due[slot] = r.lastSeen.clampedAdding(limit)
            return
        }
        rhythms[slot].reports += 1
        due[slot] = now.clampedAdding(reportEvery)
        anomalies.append(silenceAnomaly(slot, silent: silent, now: now, context))
    }

    private func refreshLimit(_ slot: Int) {
        let base = slot * GapHistogram.bins
        let usual = weights.withUnsafeBufferPointer { w in
            GapHistogram.quantile(settings.quantile, UnsafeBufferPointer(rebasing: w[base..<(base + GapHistogram.bins)]))
        } ?? 0
        let limit = Swift.max(Double(minSilence), settings.multiple * usual * 1e9)
        rhythms[slot].usualGap = usual
        rhythms[slot].limit = limit >= 9.2e18 ? .max : Int64(limit)
        rhythms[slot].dirty = false
    }

    private func silenceAnomaly(_ slot: Int, silent: Int64, now: Int64, _ context: DetectorContext) -> Anomaly {
        let r = rhythms[slot]
        let key = keys.key(at: slot)
        let principal = Symbol(rawValue: key)
        let name = context.symbols.display(principal)
        let limit = Double(r.limit)
        let evidence = Double(silent)
        let message =
            "\(name) has sent nothing for \(Self.durationText(silent)); its gaps are usually at most "
            + "\(Self.durationText(Int64(r.usualGap * 1e9))) and its limit is \(Self.durationText(r.limit))"
        return Anomaly(
            detector: self.name, key: key, keyText: name, ts: Timestamp(nanoseconds: now),
            score: thresholdScore(evidence, threshold: limit), severity: thresholdSeverity(evidence, threshold: limit),
            principal: principal, observed: (evidence / 1e9).rounded(), expected: (r.usualGap * 10).rounded() / 10,
            threshold: (limit / 1e9).rounded(),
            baseline: [
                ("usual_gap_s", (r.usualGap * 10).rounded() / 10), ("gaps", Double(r.gaps)),
                ("history_h", Double((r.lastSeen.clampedSubtracting(r.firstSeen)) / Self.hourNanos)),
            ],
            message: message, cooldown: settings.cooldown)
    }

    @inline(__always)
    static func hour(_ t: Int64) -> Int64 {
        Timestamp(nanoseconds: t).bucket(.hour)
    }

    /// `45 s`, `14 min`, `3.2 h`, `2.5 days`.
    static func durationText(_ nanos: Int64) -> String {
        let s = Double(nanos) / 1e9
        if s < 120 { return "\(Int(s.rounded())) s" }
        if s < 7200 { return "\(Int((s / 60).rounded())) min" }
        if s < 2 * 86_400 { return "\(Format.decimal(s / 3600, 1)) h" }
        return "\(Format.decimal(s / 86_400, 1)) days"
    }
}

// Checkpoints: the baselines as they are, so a restarted daemon goes on where
// it stopped instead of warming up again.
extension SilenceDetector {
    private struct Snapshot: Codable {
        var keys: KeyedStore
        var rhythms: [Rhythm]
        var weights: [Float]
        var due: [Int64]
    }

    public func checkpointValue() throws -> (any Encodable)? {
        Snapshot(keys: keys, rhythms: rhythms, weights: weights, due: due)
    }

    public func checkpoint() throws -> [UInt8]? {
        try BinaryCoding.encode(Snapshot(keys: keys, rhythms: rhythms, weights: weights, due: due))
    }

    public func restore(_ bytes: [UInt8]) throws {
        let s = try BinaryCoding.decode(Snapshot.self, from: bytes)
        try checkRestored(
            name, capacity: s.keys.capacity, expected: keys.capacity, slots: s.keys.count,
            [("rhythms", s.rhythms.count, 1), ("weights", s.weights.count, GapHistogram.bins), ("due", s.due.count, 1)])
        keys = s.keys
        rhythms = s.rhythms
        weights = s.weights
        due = s.due
    }
}
