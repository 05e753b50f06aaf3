import Alerting
import Foundation
import ChunkModel
import Detectors

/// What a reader drives: `Engine` on the calling thread, `ParallelEngine` over
/// worker threads. Both give the same alerts in the same order.
public protocol AlertPipeline: AnyObject {
    func process(_ event: ChunkEvent)
    /// Counts a rejected line that named `principal`, for the coverage on its alerts.
    func rejected(principal: Symbol, at ts: Timestamp?)
    /// Counts `count` events of `principal` that a tap reported dropped at
    /// `ts` (its wall clock), for the coverage on its alerts. In stream order
    /// like events, but it never moves event time: the count lands in the
    /// hour window of `ts`, or of the watermark when `ts` is later.
    func dropped(principal: Symbol, count: Int64, at ts: Timestamp)
    /// Ends the stream: every open alert resolves, the sink is flushed.
    func finish() throws
    /// Brings every worker up to date with what was processed and emits every
    /// alert that is ready, leaving open alerts open (a daemon that stops, or
    /// pauses to look at its detectors). On return no worker is busy.
    func drain()
    /// Drains, then calls `body` with each shard's detectors in turn, on the
    /// calling thread, while no worker runs: to change settings live or read
    /// the baselines. The next `process` continues from there.
    func withDetectors(_ body: ([any Detector]) -> Void)
    /// The state of the whole pipeline between two events — every detector's
    /// baselines, the open alerts, the coverage counts, the stream position —
    /// for the daemon to restore after a restart.
    func checkpoint() throws -> [UInt8]
    /// Takes back a checkpoint, before the first event; throws `CheckpointMismatch`
    /// when it was taken with another number of workers.
    func restore(_ bytes: [UInt8]) throws
    /// Shards, each with a part of its own in a streamed checkpoint.
    var checkpointShards: Int { get }
    /// Begins a checkpoint at this point of the stream and returns at once:
    /// each shard writes its state to `shards[i]` (and closes it) from the
    /// thread that owns it, when it reaches this point, while the caller goes
    /// on with the next events. Nothing is drained or copied whole.
    func beginCheckpoint(_ shards: [any CheckpointPartWriter]) throws -> CheckpointCut
    /// The longest time a shard stopped taking events to write its part of
    /// the latest streamed checkpoint (zero before the first).
    var lastCheckpointPause: Duration { get }
    /// The stream position up to which every alert has gone to the sink.
    var releasedThrough: Int64 { get }
    /// Takes back a streamed checkpoint, before the first event; throws
    /// `CheckpointMismatch` when it was taken with another number of workers.
    func restore(header: [UInt8], shards: [any CheckpointPartReader]) throws
    var eventsProcessed: Int { get }
    var alertsFired: Int { get }
}

extension AlertPipeline {
    /// Counts every principal's drops in a tap's report (see `dropped(principal:count:at:)`).
    public func dropped(_ report: TapDropReport) {
        for p in report.byPrincipal { dropped(principal: p.principal, count: p.dropped, at: report.ts) }
    }
}

extension Engine: AlertPipeline {
    public func process(_ event: ChunkEvent) { process(event, scores: nil) }
    /// One thread does everything, so there is nothing to wait for.
    public func drain() {}
    public func withDetectors(_ body: ([any Detector]) -> Void) { body(detectors) }
}

extension ParallelEngine: AlertPipeline {}

/// Makes the pipeline for `settings.workers` (one per core when 0): the
/// single-threaded engine for one worker, the parallel one otherwise.
public func makePipeline(
    registry: DetectorRegistry, symbols: SymbolTable, sink: any AlertSink, settings: PipelineSettings,
    wallClock: @escaping @Sendable () -> Timestamp = Timestamp.now
) -> any AlertPipeline {
    let workers = settings.workers > 0 ? settings.workers : ProcessInfo.processInfo.activeProcessorCount
    if workers <= 1 {
        return Engine(registry: registry, symbols: symbols, sink: sink, settings: settings, wallClock: wallClock)
    }
    var s = settings
    s.workers = workers
    return ParallelEngine(registry: registry, symbols: symbols, sink: sink, settings: s, wallClock: wallClock)
}
