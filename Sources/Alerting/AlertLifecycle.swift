import ChunkModel

/// Turns anomalies into alerts: the first anomaly on a (detector, key) opens a
/// `firing` alert; later ones within the cooldown fold into it (count,
/// last_ts, highest score and severity); once event time passes the last one
/// by the cooldown, the alert is `resolved` with its final figures.
///
/// Everything runs on event time, so a backfill and a live run of the same
/// events give the same alerts and ids. Only `emitted_at` reads the wall clock.
public final class AlertLifecycle {
    struct Key: Hashable, Codable {
        var detector: String
        var key: UInt64
    }

    struct Open: Codable {
        var alert: Alert
        var deadline: Timestamp
        var cooldown: Duration
    }

    private var open: [Key: Open] = [:]
    private var earliestDeadline = Timestamp(nanoseconds: .max)
    private let wallClock: @Sendable () -> Timestamp
    private let symbols: SymbolTable

    public init(symbols: SymbolTable, wallClock: @escaping @Sendable () -> Timestamp = Timestamp.now) {
        self.symbols = symbols
        self.wallClock = wallClock
    }

    public var openCount: Int { open.count }

    /// Records an anomaly, emitting a `firing` alert when it opens a new one
    /// (and first the `resolved` line of an expired one on the same key).
    public func record(_ a: Anomaly, coverage: Coverage? = nil, _ emit: (Alert) -> Void) {
        let key = Key(detector: a.detector, key: a.key)
        if var o = open[key], a.ts <= o.deadline {
            o.alert.count += 1
            if coverage != nil { o.alert.coverage = coverage }
            if a.ts > o.alert.lastTs { o.alert.lastTs = a.ts }
            if a.score > o.alert.score {
                o.alert.score = a.score
                o.alert.observed = a.observed
                o.alert.message = a.message
            }
            o.alert.severity = max(o.alert.severity, a.severity)
            o.deadline = o.alert.lastTs + o.cooldown
            open[key] = o
            return
        }
        // The key's own expired alert resolves first. Only that one: other
        // expired alerts resolve at the next tick, which every shard sees at
        // the same place in the stream, so the order of alerts is the same
        // however keys are spread over workers.
        if let expired = open.removeValue(forKey: key) {
            var alert = expired.alert
            alert.status = .resolved
            alert.ts = alert.lastTs
            alert.emittedAt = wallClock()
            emit(alert)
        }
        let alert = Alert(
            id: Alert.makeID(detector: a.detector, key: a.keyText, firstTs: a.ts), status: .firing,
            detector: a.detector, severity: a.severity, score: a.score, ts: a.ts, emittedAt: wallClock(),
            principal: symbols.display(a.principal), resource: symbols.name(a.resource),
            conn: symbols.name(a.conn), seq: a.seq >= 0 ? a.seq : nil, observed: a.observed,
            expected: a.expected, threshold: a.threshold, baseline: a.baseline, message: a.message, count: 1,
            firstTs: a.ts, lastTs: a.ts, coverage: coverage)
        let deadline = a.ts + a.cooldown
        open[key] = Open(alert: alert, deadline: deadline, cooldown: a.cooldown)
        earliestDeadline = min(earliestDeadline, deadline)
        emit(alert)
    }

    /// Resolves, in id order, every alert whose cooldown ended before `watermark`.
    @inline(__always)
    public func advance(to watermark: Timestamp, _ emit: (Alert) -> Void) {
        guard watermark > earliestDeadline else { return }
        resolve(where: { $0.deadline < watermark }, emit)
    }

    /// Resolves every open alert (end of a backfill, or shutdown).
    public func resolveAll(_ emit: (Alert) -> Void) {
        resolve(where: { _ in true }, emit)
    }

    private func resolve(where due: (Open) -> Bool, _ emit: (Alert) -> Void) {
        // In id order: a canonical order that does not depend on how keys were
        // spread over shards.
        let ready = open.filter { due($0.value) }.sorted { $0.value.alert.id < $1.value.alert.id }
        let now = wallClock()
        for (key, o) in ready {
            open[key] = nil
            var alert = o.alert
            alert.status = .resolved
            alert.ts = alert.lastTs
            alert.emittedAt = now
            emit(alert)
        }
        earliestDeadline = open.values.map(\.deadline).min() ?? Timestamp(nanoseconds: .max)
    }
}

// Checkpoints: open alerts survive a restart, so repeats still fold into them
// and they resolve when their cooldown passes, with the same ids.
extension AlertLifecycle {
    private struct Snapshot: Codable {
        var keys: [Key]
        var open: [Open]
        var earliestDeadline: Timestamp
    }

    public func checkpoint() throws -> [UInt8] {
        let entries = open.sorted { $0.value.alert.id < $1.value.alert.id }
        return try BinaryCoding.encode(Snapshot(keys: entries.map(\.key), open: entries.map(\.value), earliestDeadline: earliestDeadline))
    }

    public func restore(_ bytes: [UInt8]) throws {
        let s = try BinaryCoding.decode(Snapshot.self, from: bytes)
        open = Dictionary(uniqueKeysWithValues: zip(s.keys, s.open))
        earliestDeadline = s.earliestDeadline
    }
}
