import Alerting
import ChunkModel
import Detectors
import Foundation
import Synchronization

/// The engine over several worker threads: events are sharded by principal,
/// each worker owns its principals' baselines and open alerts, and the alerts
/// come out in the same order with the same content as `Engine` gives on one
/// thread (only `emitted_at` differs).
///
/// The calling thread reads, numbers each message, keeps the watermark and
/// sends ticks to every worker; workers take batches from bounded queues (a
/// reader that outruns them blocks, never drops); the caller releases alerts
/// once every worker has passed their place in the stream.
public final class ParallelEngine {
    /// A batch of messages for one worker, with the stream position it was sent at.
    final class Batch: @unchecked Sendable {  // handed between threads through queues, never shared
        var messages: [ShardMessage] = []
        var stamp: Int64 = 0
        var stop = false
        init(capacity: Int) { messages.reserveCapacity(capacity) }
    }

    /// What a worker hands back: its alerts so far and how far it has got.
    struct Outbox {
        var alerts: [TaggedAlert] = []
        var processedStamp: Int64 = 0
    }

    final class Worker: @unchecked Sendable {  // the shard is touched only by the worker thread
        let shard: Shard
        let inbox: BlockingQueue<Batch>
        let outbox = Mutex(Outbox())
        var current: Batch
        var sentStamp: Int64 = 0
        let done = DispatchSemaphore(value: 0)

        init(shard: Shard, depth: Int, batch: Batch) {
            self.shard = shard
            inbox = BlockingQueue(capacity: depth)
            current = batch
        }

        func run(recycle: BlockingQueue<Batch>) {
            var local: [TaggedAlert] = []
            while true {
                let batch = inbox.pop()
                if batch.stop { break }
                for m in batch.messages { shard.handle(m) { local.append($0) } }
                let stamp = batch.stamp
                outbox.withLock { o in
                    o.alerts.append(contentsOf: local)
                    o.processedStamp = stamp
                }
                local.removeAll(keepingCapacity: true)
                batch.messages.removeAll(keepingCapacity: true)
                recycle.push(batch)
            }
            done.signal()
        }
    }

    public let symbols: SymbolTable
    public let workerCount: Int
    private var sequencer: Sequencer
    private let workers: [Worker]
    private let free: BlockingQueue<Batch>
    private let sink: any AlertSink
    private let batchSize: Int
    private var held: [TaggedAlert] = []
    public private(set) var eventsProcessed = 0
    public private(set) var alertsFired = 0
    public private(set) var alertsResolved = 0
    /// Every alert of a message up to this stream position has gone to the sink.
    public private(set) var releasedThrough: Int64 = 0
    private var finished = false
    private var ticksSinceSend = 0
    /// Ticks between rounds that send every partial batch (32 ticks of 10 s ≈ 5 minutes of event time).
    static let ticksPerRound = 32

    public init(
        registry: DetectorRegistry, symbols: SymbolTable, sink: any AlertSink, settings: PipelineSettings = .init(),
        wallClock: @escaping @Sendable () -> Timestamp = Timestamp.now
    ) {
        self.symbols = symbols
        self.sink = sink
        let n = settings.workers > 0 ? settings.workers : ProcessInfo.processInfo.activeProcessorCount
        workerCount = Swift.max(1, n)
        batchSize = Swift.max(1, settings.batchSize)
        sequencer = Sequencer(tick: settings.tick)
        // Every batch that can exist: each worker's current one, its queue, and one in hand.
        let total = workerCount * (settings.queueDepth + 2)
        free = BlockingQueue(capacity: total)
        for _ in 0..<(total - workerCount) { free.push(Batch(capacity: settings.batchSize)) }
        workers = (0..<workerCount).map { _ in
            Worker(
                shard: Shard(registry: registry, symbols: symbols, maxKeys: settings.maxKeys, wallClock: wallClock),
                depth: settings.queueDepth, batch: Batch(capacity: settings.batchSize))
        }
        for w in workers {
            let free = self.free
            let thread = Thread { w.run(recycle: free) }
            thread.name = "chunkwatch-shard"
            thread.start()
        }
    }

    deinit {
        if !finished { stopWorkers() }
    }

    @inline(__always)
    private func worker(for principal: Symbol) -> Worker {
        // The symbol is a hash already; mix again so shard choice is independent
        // of any structure in the low bits.
        workers[Int(StableHash.mix(principal.rawValue) % UInt64(workerCount))]
    }

    public func process(_ event: ChunkEvent) {
        eventsProcessed += 1
        var ticked = false
        // A tick before the first event (none is sent) would not know the start; after it, this is it.
        let start = sequencer.streamStart
        sequencer.advance(to: event.ts) { tick, seq in
            let m = ShardMessage(kind: .tick, seq: seq, watermark: tick, streamStart: start, event: .empty)
            for w in workers { w.current.messages.append(m) }
            ticked = true
        }
        if ticked {
            ticksSinceSend += 1
            // Ticks go to everyone; sending every worker's batch now and then keeps
            // each worker's progress, and so the release of alerts, close behind the
            // reader even for a worker whose principals are quiet. (A live reader
            // also calls flush() when input pauses.)
            if ticksSinceSend >= Self.ticksPerRound {
                ticksSinceSend = 0
                for w in workers where !w.current.messages.isEmpty { send(w) }
                release()
            }
        }
        let w = worker(for: event.principal)
        w.current.messages.append(
            ShardMessage(
                kind: .event, seq: sequencer.nextSeq(), watermark: sequencer.watermark, streamStart: sequencer.streamStart,
                event: event))
        if w.current.messages.count >= batchSize {
            send(w)
            release()
        }
    }

    /// Counts a rejected line that named `principal`, for the coverage on its alerts.
    public func rejected(principal: Symbol, at ts: Timestamp?) {
        guard !principal.isNone else { return }
        var e = ChunkEvent.empty
        e.principal = principal
        // A line rejected before its time was read counts at the stream's "now".
        e.ts = ts ?? sequencer.watermark
        let w = worker(for: principal)
        w.current.messages.append(ShardMessage(
                kind: .rejected, seq: sequencer.nextSeq(), watermark: sequencer.watermark, streamStart: sequencer.streamStart, event: e))
    }

    /// Counts `count` events of `principal` a tap reported dropped at `ts`, for
    /// the coverage on its alerts (on the principal's shard, in stream order).
    public func dropped(principal: Symbol, count: Int64, at ts: Timestamp) {
        guard !principal.isNone, count > 0 else { return }
        var e = ChunkEvent.empty
        e.principal = principal
        e.size = count
        e.ts = sequencer.dropReportTime(ts)
        let w = worker(for: principal)
        w.current.messages.append(ShardMessage(
                kind: .dropped, seq: sequencer.nextSeq(), watermark: sequencer.watermark, streamStart: sequencer.streamStart, event: e))
        // A report may name thousands of principals: batches stay bounded as for events.
        if w.current.messages.count >= batchSize {
            send(w)
            release()
        }
    }

    /// Hands every partial batch to its worker and writes out the alerts that
    /// are ready (a live reader calls this when input pauses).
    public func flush() {
        for w in workers where !w.current.messages.isEmpty { send(w) }
        release()
    }

    public func drain() {
        for w in workers where !w.current.messages.isEmpty { send(w) }
        // Workers report progress after each batch; wait (briefly: at most the
        // queued batches) until each has done everything it was sent.
        while workers.contains(where: { w in w.outbox.withLock { $0.processedStamp } < w.sentStamp }) {
            usleep(100)
        }
        // Everything sent has been handled everywhere, so every alert is final.
        for w in workers {
            w.outbox.withLock { o in
                held.append(contentsOf: o.alerts)
                o.alerts.removeAll(keepingCapacity: true)
            }
        }
        if !held.isEmpty { emit(upTo: .max) }
        releasedThrough = sequencer.seq
    }

    public func withDetectors(_ body: ([any Detector]) -> Void) {
        drain()
        // Every worker is idle, waiting on its inbox: reading their outboxes
        // under the lock above ordered their work before ours, and the next
        // batch goes through their queue's lock, so ours comes before theirs.
        for w in workers { body(w.shard.detectors) }
    }

    /// Ends the stream: drains the workers, resolves every open alert, flushes the sink.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        for w in workers { send(w) }
        stopWorkers()
        for w in workers { w.outbox.withLock { o in held.append(contentsOf: o.alerts) } }
        let endSeq = sequencer.nextSeq()
        for w in workers { w.shard.finish(seq: endSeq) { held.append($0) } }
        emit(upTo: .max)
        try sink.flush()
    }

    public var openAlerts: Int { workers.reduce(0) { $0 + $1.shard.openAlerts } }

    private func send(_ w: Worker) {
        let batch = w.current
        batch.stamp = sequencer.seq
        w.sentStamp = batch.stamp
        w.current = free.pop()
        w.inbox.push(batch)
    }

    private func stopWorkers() {
        for w in workers {
            let stop = free.tryPop() ?? Batch(capacity: 0)
            stop.stop = true
            w.inbox.push(stop)
        }
        for w in workers { w.done.wait() }
    }

    /// Moves finished alerts out of the workers and writes those no worker can
    /// still precede: every message up to the lowest stamp a worker has finished
    /// has been handled everywhere.
    private func release() {
        var safe = Int64.max
        for w in workers {
            let stamp = w.outbox.withLock { o -> Int64 in
                if !o.alerts.isEmpty {
                    held.append(contentsOf: o.alerts)
                    o.alerts.removeAll(keepingCapacity: true)
                }
                return o.processedStamp
            }
            safe = Swift.min(safe, stamp)
        }
        if !held.isEmpty { emit(upTo: safe) }
        releasedThrough = Swift.max(releasedThrough, safe)
    }

    private func emit(upTo stamp: Int64) {
        held.sort { $0.tag < $1.tag }
        var n = 0
        for t in held {
            guard t.tag.seq <= stamp else { break }
            if t.alert.status == .firing { alertsFired += 1 } else { alertsResolved += 1 }
            sink.emit(t.alert)
            n += 1
        }
        held.removeFirst(n)
    }
}

extension ParallelEngine {
    /// Drains first: every worker is idle while its shard is read.
    public func checkpoint() throws -> [UInt8] {
        drain()
        return try BinaryCoding.encode(
            PipelineSnapshot(workers: workerCount, sequencer: sequencer, shards: try workers.map { try $0.shard.checkpoint() }))
    }

    public func restore(_ bytes: [UInt8]) throws {
        drain()
        let s = try PipelineSnapshot.decode(bytes, workers: workerCount)
        sequencer = s.sequencer
        for (w, snapshot) in zip(workers, s.shards) { try w.shard.restore(snapshot) }
    }

    public var checkpointShards: Int { workerCount }

    /// A `.checkpoint` message at the same place in every worker's stream: each
    /// writes its shard when it gets there (its events before are in, none
    /// after), while this thread reads on. Takes no sequence number, so the
    /// alerts are the same as without it.
    public func beginCheckpoint(_ shards: [any CheckpointPartWriter]) throws -> CheckpointCut {
        precondition(shards.count == workerCount, "one part per shard")
        let header = try BinaryCoding.encode(PipelineHeader(workers: workerCount, sequencer: sequencer))
        let m = ShardMessage(kind: .checkpoint, seq: sequencer.seq, watermark: sequencer.watermark, event: .empty)
        for (w, part) in zip(workers, shards) {
            w.shard.checkpointTarget.withLock { $0 = part }
            w.current.messages.append(m)
        }
        flush()
        return CheckpointCut(header: header, seq: sequencer.seq)
    }

    public var lastCheckpointPause: Duration {
        .nanoseconds(workers.map { $0.shard.lastCheckpointPause.load(ordering: .relaxed) }.max() ?? 0)
    }

    public func restore(header: [UInt8], shards: [any CheckpointPartReader]) throws {
        drain()
        let h = try PipelineHeader.decode(header, workers: workerCount)
        guard shards.count == workerCount else {
            throw CheckpointMismatch("the checkpoint has \(shards.count) shards and this pipeline \(workerCount)")
        }
        sequencer = h.sequencer
        for (w, part) in zip(workers, shards) { try w.shard.restore(from: part) }
    }
}
