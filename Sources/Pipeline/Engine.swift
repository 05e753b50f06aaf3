import Alerting
import ChunkModel
import Detectors
import Synchronization

/// Runs events through the detectors and the alert lifecycle into a sink on
/// the calling thread: baselines → detectors → alerting, one event at a time,
/// on event time. `ParallelEngine` does the same over several threads and
/// gives the same alerts in the same order.
///
/// Not thread-safe: one engine serves one stream of events in order. After
/// warm-up, an event that raises no anomaly allocates nothing.
public final class Engine {
    public let symbols: SymbolTable
    private var sequencer: Sequencer
    private let shard: Shard
    private let sink: any AlertSink
    private var pending: [TaggedAlert] = []
    public private(set) var alertsFired = 0
    public private(set) var alertsResolved = 0

    public init(
        registry: DetectorRegistry, symbols: SymbolTable, sink: any AlertSink, settings: PipelineSettings = .init(),
        wallClock: @escaping @Sendable () -> Timestamp = Timestamp.now
    ) {
        self.symbols = symbols
        sequencer = Sequencer(tick: settings.tick)
        shard = Shard(registry: registry, symbols: symbols, maxKeys: settings.maxKeys, wallClock: wallClock)
        self.sink = sink
        pending.reserveCapacity(16)
    }

    public var detectors: [any Detector] { shard.detectors }
    public var eventsProcessed: Int { shard.eventsProcessed }
    public var openAlerts: Int { shard.openAlerts }
    /// The latest event time seen: alerts resolve against it.
    public var watermark: Timestamp { sequencer.watermark }

    /// Scores `event` with every detector and raises what it finds. Returns the
    /// highest score; `scores`, when given, receives each detector's score in
    /// the order of `detectors`.
    @discardableResult
    public func process(_ event: ChunkEvent, scores: UnsafeMutableBufferPointer<Double>?) -> Double {
        // Closures that capture the engine retain and release it each time they
        // are made, so the per-event path makes none: ticks are rare, and the
        // event's alerts are collected through a pointer to `pending`.
        if sequencer.tickDue(at: event.ts) {
            let start = sequencer.streamStart
            sequencer.advance(to: event.ts) { tick, seq in
                shard.handle(ShardMessage(kind: .tick, seq: seq, watermark: tick, streamStart: start, event: .empty), collect)
                emitPending()
            }
        } else {
            sequencer.advance(to: event.ts) { _, _ in }
        }
        let m = ShardMessage(
            kind: .event, seq: sequencer.nextSeq(), watermark: sequencer.watermark, streamStart: sequencer.streamStart, event: event)
        let top = withUnsafeMutablePointer(to: &pending) { pending in
            shard.handle(m, scores: scores) { pending.pointee.append($0) }
        }
        if !pending.isEmpty { emitPending() }
        return top
    }

    /// Counts a rejected line that named `principal`, for the coverage on its alerts.
    public func rejected(principal: Symbol, at ts: Timestamp?) {
        guard !principal.isNone else { return }
        var e = ChunkEvent.empty
        e.principal = principal
        // A line rejected before its time was read counts at the stream's "now".
        e.ts = ts ?? sequencer.watermark
        shard.handle(ShardMessage(kind: .rejected, seq: sequencer.nextSeq(), watermark: sequencer.watermark, streamStart: sequencer.streamStart, event: e), collect)
    }

    /// Counts `count` events of `principal` a tap reported dropped at `ts`, for
    /// the coverage on its alerts. Event time is not moved: a report carries
    /// the tap's wall clock, which is event time only for a live tap.
    public func dropped(principal: Symbol, count: Int64, at ts: Timestamp) {
        guard !principal.isNone, count > 0 else { return }
        var e = ChunkEvent.empty
        e.principal = principal
        e.size = count
        e.ts = sequencer.dropReportTime(ts)
        shard.handle(ShardMessage(kind: .dropped, seq: sequencer.nextSeq(), watermark: sequencer.watermark, streamStart: sequencer.streamStart, event: e), collect)
    }

    /// Ends the stream: every open alert resolves with its final count.
    public func finish() throws {
        shard.finish(seq: sequencer.nextSeq(), collect)
        emitPending()
        try sink.flush()
    }

    private func collect(_ alert: TaggedAlert) { pending.append(alert) }

    private func emitPending() {
        if pending.count > 1 { pending.sort { $0.tag < $1.tag } }
        for t in pending {
            if t.alert.status == .firing { alertsFired += 1 } else { alertsResolved += 1 }
            sink.emit(t.alert)
        }
        pending.removeAll(keepingCapacity: true)
    }
}

/// Settings of the pipeline itself (not of a detector).
public struct PipelineSettings: Sendable, Equatable {
    /// Event time between ticks: when alerts resolve and detectors judge absences.
    public var tick: Duration = .seconds(10)
    /// Principals tracked for coverage at once, per shard.
    public var maxKeys: Int = 100_000
    /// Worker threads (shards) for `ParallelEngine`; 0 means one per core.
    public var workers: Int = 0
    /// Events per batch handed to a worker, and batches in flight per worker.
    public var batchSize: Int = 1024
    public var queueDepth: Int = 8

    public init() {}
}

extension Engine {
    public func checkpoint() throws -> [UInt8] {
        try BinaryCoding.encode(PipelineSnapshot(workers: 1, sequencer: sequencer, shards: [try shard.checkpoint()]))
    }

    public func restore(_ bytes: [UInt8]) throws {
        let s = try PipelineSnapshot.decode(bytes, workers: 1)
        sequencer = s.sequencer
        try shard.restore(s.shards[0])
    }

    public var checkpointShards: Int { 1 }

    /// One thread: the shard is written before this returns.
    public func beginCheckpoint(_ shards: [any CheckpointPartWriter]) throws -> CheckpointCut {
        precondition(shards.count == 1, "one part per shard")
        let header = try BinaryCoding.encode(PipelineHeader(workers: 1, sequencer: sequencer))
        shard.checkpointTarget.withLock { $0 = shards[0] }
        shard.handle(ShardMessage(kind: .checkpoint, seq: sequencer.seq, watermark: sequencer.watermark, event: .empty)) { _ in }
        return CheckpointCut(header: header, seq: sequencer.seq)
    }

    public var releasedThrough: Int64 { sequencer.seq }

    public var lastCheckpointPause: Duration { .nanoseconds(shard.lastCheckpointPause.load(ordering: .relaxed)) }

    public func restore(header: [UInt8], shards: [any CheckpointPartReader]) throws {
        let h = try PipelineHeader.decode(header, workers: 1)
        guard shards.count == 1 else { throw CheckpointMismatch("the checkpoint has \(shards.count) shards and this pipeline 1") }
        sequencer = h.sequencer
        try shard.restore(from: shards[0])
    }
}
