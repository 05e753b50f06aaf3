import Alerting
import ChunkModel
import Detectors
import Synchronization

/// The part of the pipeline that owns a subset of principals: their
/// detectors' baselines, their open alerts and their coverage counts. A shard
/// is driven by one thread at a time, message by message in stream order, and
/// hands each alert out with the tag that fixes its place in the output.
final class Shard {
    let detectors: [any Detector]
    private let detectorHolders: [DetectorHolder]
    private let detectorRefs: [Unmanaged<DetectorHolder>]
    private var context: DetectorContext
    private let lifecycle: AlertLifecycle
    private var coverage: CoverageTracker
    private var anomalies: [Anomaly] = []
    private(set) var eventsProcessed = 0
    /// Where the next `.checkpoint` message writes the shard's state (set by
    /// the thread that sends the message, taken by the one that handles it).
    let checkpointTarget = Mutex<(any CheckpointPartWriter)?>(nil)
    /// How long the latest `.checkpoint` message held this shard up, in
    /// nanoseconds: the time its events waited while its state was written.
    let lastCheckpointPause = Atomic<Int64>(0)

    init(registry: DetectorRegistry, symbols: SymbolTable, maxKeys: Int, wallClock: @escaping @Sendable () -> Timestamp) {
        detectors = registry.makeAll()
        detectorHolders = detectors.map(DetectorHolder.init)
        detectorRefs = detectorHolders.map { .passUnretained($0) }
        context = DetectorContext(symbols: symbols)
        lifecycle = AlertLifecycle(symbols: symbols, wallClock: wallClock)
        coverage = CoverageTracker(maxKeys: maxKeys)
        anomalies.reserveCapacity(16)
    }

    var openAlerts: Int { lifecycle.openCount }

    /// Handles one message; `scores`, for events, receives each detector's score.
    /// Returns the highest score of an event (0 for other messages).
    @discardableResult
    func handle(
        _ m: ShardMessage, scores: UnsafeMutableBufferPointer<Double>? = nil, _ emit: (TaggedAlert) -> Void
    ) -> Double {
        context.watermark = m.watermark
        context.streamStart = m.streamStart
        switch m.kind {
        case .event:
            eventsProcessed += 1
            var top = 0.0
            // One copy of the context for the loop: reading the stored one for each
            // detector retained and released its symbol table every time (two
            // atomic operations per detector per event in profiles).
            let context = self.context
            // Borrowed references for the loop: `detectorHolders` keeps the
            // detectors alive, and retaining each one per event showed up in profiles.
            detectorRefs.withUnsafeBufferPointer { refs in
                for i in refs.indices {
                    let s = refs[i]._withUnsafeGuaranteedRef {
                        $0.detector.observe(m.event, context: context, anomalies: &anomalies)
                    }
                    scores?[i] = s
                    if s > top { top = s }
                }
            }
            if !anomalies.isEmpty { record(m, phase: 0, detectorIndex: nil, emit) }
            return top
        case .tick:
            lifecycle.advance(to: m.watermark) { alert in
                emit(TaggedAlert(tag: AlertTag(seq: m.seq, phase: 0, index: 0, id: alert.id), alert: alert))
            }
            for i in detectors.indices {
                detectors[i].advance(context: context, anomalies: &anomalies)
                if !anomalies.isEmpty { record(m, phase: 1, detectorIndex: i, emit) }
            }
            return 0
        case .rejected:
            coverage.rejected(m.event.principal, at: m.event.ts)
            return 0
        case .dropped:
            coverage.dropped(m.event.principal, count: m.event.size, at: m.event.ts)
            return 0
        case .checkpoint:
            if let part = checkpointTarget.withLock({ t -> (any CheckpointPartWriter)? in
                defer { t = nil }
                return t
            }) {
                let start = ContinuousClock.now
                do { try checkpoint(to: part) } catch { part.fail(error) }
                lastCheckpointPause.store((ContinuousClock.now - start).nanosecondsClamped, ordering: .relaxed)
            }
            return 0
        }
    }

    /// Resolves every open alert at the end of the stream.
    func finish(seq: Int64, _ emit: (TaggedAlert) -> Void) {
        lifecycle.resolveAll { alert in
            emit(TaggedAlert(tag: AlertTag(seq: seq, phase: 0, index: 0, id: alert.id), alert: alert))
        }
    }

    private func record(_ m: ShardMessage, phase: UInt8, detectorIndex: Int?, _ emit: (TaggedAlert) -> Void) {
        var index = 0
        for a in anomalies {
            let c = coverage.coverage(a.principal, at: a.ts)
            lifecycle.record(a, coverage: c) { alert in
                let tag = AlertTag(seq: m.seq, phase: phase, index: detectorIndex ?? index, id: detectorIndex == nil ? "" : alert.id)
                emit(TaggedAlert(tag: tag, alert: alert))
                index += 1
            }
        }
        anomalies.removeAll(keepingCapacity: true)
    }
}

/// A detector in a class of our own, for the per-event loop. Calling an
/// existential loaded from an array (even an `unowned(unsafe)` one) costs a
/// retain and a release; through `Unmanaged._withUnsafeGuaranteedRef` on a
/// holder whose `detector` is a `let`, the call borrows and costs neither.
private final class DetectorHolder {
    let detector: any Detector
    init(_ detector: any Detector) { self.detector = detector }
}

// Checkpoints: a shard's whole state between two messages — each detector's
// baselines (by name), the open alerts and the coverage counts.
extension Shard {
    struct Snapshot: Codable {
        var detectorNames: [String]
        var detectorStates: [[UInt8]?]
        var lifecycle: [UInt8]
        var coverage: CoverageTracker
        var eventsProcessed: Int
    }

    func checkpoint() throws -> Snapshot {
        Snapshot(
            detectorNames: detectors.map(\.name), detectorStates: try detectors.map { try $0.checkpoint() },
            lifecycle: try lifecycle.checkpoint(), coverage: coverage, eventsProcessed: eventsProcessed)
    }

    /// The shard's state streamed to `part`: a header (detector names, open
    /// alerts, coverage), then one section per detector that keeps baselines,
    /// encoded from the detectors' own arrays. Called between messages by the
    /// thread that owns the shard, so nothing changes while it runs.
    func checkpoint(to part: any CheckpointPartWriter) throws {
        var values: [(any Encodable)?] = []
        var bytes: [[UInt8]?] = []
        for d in detectors {
            let v = try d.checkpointValue()
            values.append(v)
            bytes.append(v == nil ? try d.checkpoint() : nil)
        }
        let present = detectors.indices.map { values[$0] != nil || bytes[$0] != nil }
        try part.section(
            StreamHeader(
                detectorNames: detectors.map(\.name), present: present, lifecycle: try lifecycle.checkpoint(),
                coverage: coverage, eventsProcessed: eventsProcessed))
        for i in detectors.indices {
            if let v = values[i] {
                try part.section(v)
            } else if let b = bytes[i] {
                try part.section(bytes: b)
            }
        }
        try part.close()
    }

    /// Takes back what `checkpoint(to:)` wrote; a detector missing from it (added since) starts fresh.
    func restore(from part: any CheckpointPartReader) throws {
        let h = try part.nextSection(StreamHeader.self)
        guard h.present.count == h.detectorNames.count else { throw CheckpointStreamError("a shard's header does not add up") }
        for (name, present) in zip(h.detectorNames, h.present) where present {
            let bytes = try part.nextSection()
            if let d = detectors.first(where: { $0.name == name }) { try d.restore(bytes) }
        }
        try lifecycle.restore(h.lifecycle)
        coverage = h.coverage
        eventsProcessed = h.eventsProcessed
    }

    struct StreamHeader: Codable {
        var detectorNames: [String]
        var present: [Bool]
        var lifecycle: [UInt8]
        var coverage: CoverageTracker
        var eventsProcessed: Int
    }

    /// A detector missing from the snapshot (added since) starts fresh.
    func restore(_ s: Snapshot) throws {
        for d in detectors {
            if let i = s.detectorNames.firstIndex(of: d.name), let bytes = s.detectorStates[i] { try d.restore(bytes) }
        }
        try lifecycle.restore(s.lifecycle)
        coverage = s.coverage
        eventsProcessed = s.eventsProcessed
    }
}
