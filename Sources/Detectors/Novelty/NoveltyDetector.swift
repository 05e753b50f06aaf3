import Baselines
import ChunkModel

/// `novelty`: something a principal has never done.
///
/// Three checks, each learning as it goes (what alerted once is known after):
/// - **new principal** (low): a principal first seen after the stream's own
///   warm-up, `streamWarmup` of event time from the stream's first event, in
///   which everyone present is simply learned;
/// - **new resource** (medium): a resource the principal never used, once the
///   principal has `warmup` of history and `warmupEvents` events. Up to
///   `maxResources` resources are remembered per principal; a principal that
///   fills the set is broad and no longer judged on resources;
/// - **unusual hour** (medium): activity at least `hourThreshold` hours from
///   every hour in which the principal has been active. Judged on the hours
///   of the day (UTC) once the principal has `hourWarmup` of history, and on
///   the 168 hours of the week once it has `weekWarmup` (two weeks, so a day
///   off in the first week does not make that weekday unusual for good).
///
/// State per principal depends only on its own events and the stream
/// watermark, so it is the same in every shard. Memory per principal: 8 bytes
/// per remembered resource, 48 of profile, about 80 of key index.
public final class NoveltyDetector: Detector {
    public struct Settings: Sendable, Equatable {
        /// Event time from the stream's first event during which new principals are learned, not reported.
        public var streamWarmup: Duration = .seconds(24 * 3600)
        /// A principal's own history (event time since first seen) before new resources are reported.
        public var warmup: Duration = .seconds(3600)
        /// Events a principal must have had before new resources or unusual hours are reported.
        public var warmupEvents: Int = 100
        /// A principal's history before unusual hours of the day (UTC) are reported.
        public var hourWarmup: Duration = .seconds(12 * 3600)
        /// A principal's history before its hours are judged by hour of the week instead of hour of the day.
        public var weekWarmup: Duration = .seconds(14 * 86_400)
        /// Hours from an event's hour to the nearest hour the principal was active in at which an alert fires.
        public var hourThreshold: Int = 4
        /// Distinct resources remembered per principal (8 bytes each); a principal with more is not judged on resources.
        public var maxResources: Int = 32
        /// Event time without a repeat after which an alert resolves.
        public var cooldown: Duration = .seconds(3600)
        /// Principals tracked at once; least recently seen go first (and are new again if they return).
        public var maxKeys: Int = 100_000

        public init() {}
    }

    struct Profile: Codable {
        var firstSeen: Int64
        var events: Int32 = 1
        var resourceCount: Int32 = 0
        var hours = ActivityHours()
    }

    enum Check: UInt64 {
        case principal = 1, resource, hour
        var keySuffix: String {
            switch self {
            case .principal: "new-principal"
            case .resource: "new-resource"
            case .hour: "unusual-hour"
            }
        }
    }

    public let name = "novelty"
    public let keyedBy = "principal"
    public private(set) var settings: Settings
    private let maxResources: Int
    private var keys: KeyedStore
    private var profiles: [Profile] = []
    /// `maxResources` resource hashes per slot; the first `resourceCount` are in use.
    private var resources: [UInt64] = []
    /// The earliest event time this detector has heard of, to the minute.
    private var streamStart = Int64.max
    /// The hour of the week of the last event, cached: events come in time order.
    private var cachedHourStart = Int64.max
    private var cachedHourOfWeek = 0

    private static let hourNanos: Int64 = 3_600_000_000_000
    /// Without a pipeline's stream start: a tick at T vouches for an event before T − 10 s.
    private static let tickNanos: Int64 = 10_000_000_000
    static let binaryScore = 0.75

    public init(settings: Settings = .init()) {
        self.settings = settings
        maxResources = Swift.max(0, settings.maxResources)
        keys = KeyedStore(capacity: Swift.max(1, settings.maxKeys))
    }

    /// Takes new values for the parameters that may change while the detector
    /// runs (thresholds and the cooldown; `ChunkWatchConfig.liveParameters`
    /// lists them). The baselines stay as they are.
    public func retune(_ settings: Settings) {
        self.settings = settings
    }

    public var keyStats: (tracked: Int, evicted: Int) { (keys.count, keys.evictions) }

    /// Every shard must agree on when the stream began: the pipeline says,
    /// on every message (`DetectorContext.streamStart`, the first event's
    /// time, whatever the tick). Fed directly, without a pipeline, the
    /// detector takes the earliest time it sees, floored to the minute.
    @inline(__always)
    private func noteStreamTime(_ t: Int64) {
        if t < streamStart { streamStart = Swift.min(streamStart, Self.floor(t, .minute)) }
    }

    /// `t` rounded down to a multiple of `step`.
    @inline(__always)
    static func floor(_ t: Int64, _ step: BucketWidth) -> Int64 {
        Timestamp(nanoseconds: t).floored(to: step).nanoseconds
    }

    public func advance(context: DetectorContext, anomalies: inout [Anomaly]) {
        if context.streamStart.nanoseconds != .max {
            noteStreamTime(context.streamStart.nanoseconds)
        } else if context.watermark.nanoseconds != .min {
            noteStreamTime(context.watermark.nanoseconds.clampedSubtracting(Self.tickNanos))
        }
    }

    public func observe(_ event: ChunkEvent, context: DetectorContext, anomalies: inout [Anomaly]) -> Double {
        let t = event.ts.nanoseconds
        let now = Swift.max(context.watermark.nanoseconds, t)
        noteStreamTime(context.streamStart.nanoseconds != .max ? context.streamStart.nanoseconds : now)
        let how = hourOfWeek(t)
        let (slot, isNew) = keys.slot(for: event.principal.rawValue)
        if isNew {
            var p = Profile(firstSeen: t)
            p.hours.mark(hourOfWeek: how)
            if slot == profiles.count {
                profiles.append(p)
                resources.append(contentsOf: repeatElement(0, count: maxResources))
            } else {
                profiles[slot] = p
            }
            _ = learnResource(event.resource, slot)
            let age = now.clampedSubtracting(streamStart)
            if age >= settings.streamWarmup.nanosecondsClamped {
                anomalies.append(newPrincipal(event, age: age, context))
                return Self.binaryScore
            }
            return 0
        }
        var score = 0.0
        if profiles[slot].events < .max { profiles[slot].events += 1 }
        let history = t.clampedSubtracting(profiles[slot].firstSeen)
        if !profiles[slot].hours.isActive(hourOfWeek: how) {
            score = judgeHour(event, how, slot, history: history, context, &anomalies)
            profiles[slot].hours.mark(hourOfWeek: how)
        }
        let wasFull = profiles[slot].resourceCount >= Int32(maxResources)
        if learnResource(event.resource, slot) && !wasFull && history >= settings.warmup.nanosecondsClamped
            && Int(profiles[slot].events) > settings.warmupEvents
        {
            anomalies.append(newResource(event, slot, history: history, context))
            score = Swift.max(score, Self.binaryScore)
        }
        return score
    }

    /// The hour of the week of `t` (0 = Monday 00:00 UTC).
    @inline(__always)
    private func hourOfWeek(_ t: Int64) -> Int {
        if t >= cachedHourStart && t.clampedSubtracting(cachedHourStart) < Self.hourNanos { return cachedHourOfWeek }
        let ts = Timestamp(nanoseconds: t)
        cachedHourOfWeek = ts.dayOfWeek * 24 + ts.secondOfDay / 3600
        cachedHourStart = Self.floor(t, .hour)
        return cachedHourOfWeek
    }

    /// Adds `resource` to the slot's set; true when it was not in it (even if the set is full).
    private func learnResource(_ resource: Symbol, _ slot: Int) -> Bool {
        guard !resource.isNone, maxResources > 0 else { return false }
        let r = resource.rawValue
        let base = slot * maxResources
        let n = Int(profiles[slot].resourceCount)
        return resources.withUnsafeMutableBufferPointer { set in
            for i in base..<(base + n) where set[i] == r { return false }
            if n < maxResources {
                set[base + n] = r
                profiles[slot].resourceCount += 1
            }
            return true
        }
    }

    private func judgeHour(
        _ e: ChunkEvent, _ how: Int, _ slot: Int, history: Int64, _ context: DetectorContext,
        _ anomalies: inout [Anomaly]
    ) -> Double {
        let p = profiles[slot]
        guard Int(p.events) > settings.warmupEvents else { return 0 }
        let byWeek = history >= settings.weekWarmup.nanosecondsClamped
        let distance: Int?
        if byWeek {
            distance = p.hours.distance(fromHourOfWeek: how)
        } else if history >= settings.hourWarmup.nanosecondsClamped {
            // The hour of the day is known from other days: nothing new at this level.
            if p.hours.isActive(hourOfDay: how % 24) { return 0 }
            distance = p.hours.distance(fromHourOfDay: how % 24)
        } else {
            return 0
        }
        guard let d = distance, settings.hourThreshold > 0 else { return 0 }
        let threshold = Double(settings.hourThreshold)
        let score = thresholdScore(Double(d), threshold: threshold)
        guard d >= settings.hourThreshold else { return score }
        let principal = context.symbols.display(e.principal)
        let when = Self.hourText(how, withDay: byWeek)
        let span = Self.durationText(history)
        let message =
            byWeek
            ? "\(principal) is active on \(when) UTC, \(d) hours from any hour of the week it was active in over \(span)"
            : "\(principal) is active at \(when) UTC, \(d) hours from any hour of the day it was active in over \(span)"
        let activeHours = byWeek ? p.hours.activeHoursOfWeek : p.hours.activeHoursOfDay
        anomalies.append(
            anomaly(
                .hour, e, score: score, severity: .medium, observed: Double(d), threshold: threshold,
                baseline: [("active_hours", Double(activeHours)), ("history_hours", Double(history / Self.hourNanos))],
                message: message, context))
        return score
    }

    private func newResource(_ e: ChunkEvent, _ slot: Int, history: Int64, _ context: DetectorContext) -> Anomaly {
        let principal = context.symbols.display(e.principal)
        let resource = context.symbols.display(e.resource)
        let known = Int(profiles[slot].resourceCount) - 1
        let message =
            "\(principal) used \(resource), a resource it never used before (\(known) known over \(Self.durationText(history)))"
        return anomaly(
            .resource, e, score: Self.binaryScore, severity: .medium, observed: nil, threshold: nil,
            baseline: [("resources", Double(known)), ("history_hours", Double(history / Self.hourNanos))],
            message: message, context)
    }

    private func newPrincipal(_ e: ChunkEvent, age: Int64, _ context: DetectorContext) -> Anomaly {
        let principal = context.symbols.display(e.principal)
        let on = context.symbols.name(e.resource).map { " on \($0)" } ?? ""
        let message = "\(principal) is a new principal\(on), first seen \(Self.durationText(age)) into the stream"
        return anomaly(
            .principal, e, score: Self.binaryScore, severity: .low, observed: nil, threshold: nil, baseline: nil,
            message: message, context)
    }

    private func anomaly(
        _ check: Check, _ e: ChunkEvent, score: Double, severity: Severity, observed: Double?, threshold: Double?,
        baseline: [(String, Double)]?, message: String, _ context: DetectorContext
    ) -> Anomaly {
        Anomaly(
            detector: name, key: StableHash.combine(e.principal.rawValue, check.rawValue),
            keyText: "\(context.symbols.display(e.principal))|\(check.keySuffix)", ts: e.ts, score: score,
            severity: severity, principal: e.principal, resource: e.resource, conn: e.conn, seq: e.seq,
            observed: observed, expected: nil, threshold: threshold, baseline: baseline, message: message,
            cooldown: settings.cooldown)
    }

    private static let dayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    /// `22:00` or `Saturday 10:00`.
    static func hourText(_ how: Int, withDay: Bool) -> String {
        let h = how % 24
        let clock = (h < 10 ? "0" : "") + "\(h):00"
        return withDay ? "\(dayNames[how / 24]) \(clock)" : clock
    }

    /// `40 min`, `14 h`, `3.5 days`.
    static func durationText(_ nanos: Int64) -> String {
        let s = Double(nanos) / 1e9
        if s < 3600 { return "\(Int((s / 60).rounded())) min" }
        if s < 2 * 86_400 { return "\(Int((s / 3600).rounded())) h" }
        return "\(Format.decimal(s / 86_400, 1)) days"
    }
}

// Checkpoints: the baselines as they are, so a restarted daemon goes on where
// it stopped instead of warming up again.
extension NoveltyDetector {
    private struct Snapshot: Codable {
        var keys: KeyedStore
        var profiles: [Profile]
        var resources: [UInt64]
        var streamStart: Int64
        var cachedHourStart: Int64
        var cachedHourOfWeek: Int
    }

    public func checkpointValue() throws -> (any Encodable)? {
        Snapshot(keys: keys, profiles: profiles, resources: resources, streamStart: streamStart, cachedHourStart: cachedHourStart, cachedHourOfWeek: cachedHourOfWeek)
    }

    public func checkpoint() throws -> [UInt8]? {
        try BinaryCoding.encode(Snapshot(keys: keys, profiles: profiles, resources: resources, streamStart: streamStart, cachedHourStart: cachedHourStart, cachedHourOfWeek: cachedHourOfWeek))
    }

    public func restore(_ bytes: [UInt8]) throws {
        let s = try BinaryCoding.decode(Snapshot.self, from: bytes)
        try checkRestored(
            name, capacity: s.keys.capacity, expected: keys.capacity, slots: s.keys.count,
            [("profiles", s.profiles.count, 1), ("resources", s.resources.count, maxResources)])
        guard (0..<168).contains(s.cachedHourOfWeek) else {
            throw DamagedDetectorState(description: "\(name): hour of the week \(s.cachedHourOfWeek)")
        }
        keys = s.keys
        profiles = s.profiles
        resources = s.resources
        streamStart = s.streamStart
        cachedHourStart = s.cachedHourStart
        cachedHourOfWeek = s.cachedHourOfWeek
    }
}
