import ChunkModel
import Foundation
import Ingest

/// How far a replay has got, for a progress line.
public struct ReplayProgress: Sendable {
    /// 1 for the sweep's read; 2 when candidates whose one-pass result could not
    /// be trusted are replayed again, or events are gathered for the report.
    public var pass: Int
    public var bytes: Int
    public var totalBytes: Int?
    public var events: Int
    /// Pipelines fed by this read.
    public var pipelines: Int
}

/// What the reader hands the pipelines: events in stream order, and between
/// them the rejected lines and tap drop reports that count in alerts' coverage.
final class Batch: Sendable {
    enum Mark: Sendable {
        case rejected(principal: Symbol, ts: Timestamp?)
        case dropped(TapDropReport)
    }

    static let capacity = 4096

    let events: [ChunkEvent]
    /// Each mark comes before the event at its index (or after the last event).
    let marks: [(index: Int, mark: Mark)]

    init(events: [ChunkEvent], marks: [(index: Int, mark: Mark)]) {
        self.events = events
        self.marks = marks
    }
}

/// Reads the inputs once and feeds every event to many pipelines: each
/// candidate of a sweep is a whole pipeline of its own, and decoding — a third
/// or more of a replay's time — is done once for all of them. The pipelines
/// are spread over `threads` threads, each taking whole batches in stream order.
struct SharedRead {
    var inputs: [InputFile]
    var symbols: SymbolTable
    var threads: Int
    var pass: Int
    var progress: (@Sendable (ReplayProgress) -> Void)?

    func run(_ lanes: [any BatchConsumer]) throws(TuneError) -> StreamStats {
        let threadCount = Swift.max(1, Swift.min(threads, lanes.count))
        var workers: [LaneWorker] = []
        if threadCount > 1 {
            var groups = [[any BatchConsumer]](repeating: [], count: threadCount)
            for (i, lane) in lanes.enumerated() { groups[i % threadCount].append(lane) }
            workers = groups.map(LaneWorker.init)
            for w in workers { w.start() }
        }
        func deliver(_ batch: Batch) {
            if workers.isEmpty {
                for lane in lanes { lane.apply(batch) }
            } else {
                for w in workers { w.push(batch) }
            }
        }
        func stopWorkers() {
            for w in workers { w.push(nil) }
            for w in workers { w.join() }
        }

        var stats = StreamStats()
        var principals = Set<UInt64>()
        var lastPrincipal = Symbol.none
        var minTs = Int64.max
        var maxTs = Int64.min
        var events: [ChunkEvent] = []
        events.reserveCapacity(Batch.capacity)
        var marks: [(index: Int, mark: Batch.Mark)] = []

        let reader = EventReader(symbols: symbols)
        reader.onRejectedPrincipal = { principal, ts in
            marks.append((events.count, .rejected(principal: principal, ts: ts)))
            stats.rejectedWithPrincipal += 1
        }
        reader.onDropReport = { report in
            marks.append((events.count, .dropped(report)))
            if report.byPrincipal.contains(where: { $0.dropped > 0 && !$0.principal.isNone }) { stats.dropReportsWithDrops += 1 }
        }
        let total: Int? = inputs.contains { $0.size == nil } ? nil : inputs.reduce(0) { $0 + ($1.size ?? 0) }
        var doneBytes = 0
        if let progress {
            let pipelines = lanes.reduce(0) { $0 + $1.pipelines }
            let pass = self.pass
            reader.onProgress = { _, bytes in
                progress(ReplayProgress(pass: pass, bytes: doneBytes + bytes, totalBytes: total, events: stats.events, pipelines: pipelines))
            }
        }
        do {
            for input in inputs {
                try reader.read(input) { event in
                    stats.events += 1
                    if event.principal != lastPrincipal {
                        lastPrincipal = event.principal
                        if principals.insert(event.principal.rawValue).inserted { stats.principals += 1 }
                    }
                    minTs = Swift.min(minTs, event.ts.nanoseconds)
                    maxTs = Swift.max(maxTs, event.ts.nanoseconds)
                    events.append(event)
                    if events.count == Batch.capacity {
                        deliver(Batch(events: events, marks: marks))
                        events.removeAll(keepingCapacity: true)
                        marks.removeAll()
                    }
                }
                doneBytes += input.size ?? 0
            }
        } catch let error as IngestError {
            stopWorkers()
            throw TuneError(error.description)
        } catch {
            stopWorkers()
            throw TuneError("\(error)")
        }
        if !events.isEmpty || !marks.isEmpty { deliver(Batch(events: events, marks: marks)) }
        stopWorkers()
        stats.rejected = reader.counts.totalRejected
        stats.dropReports = reader.counts.dropReports
        if stats.events > 0 {
            stats.firstTs = Timestamp(nanoseconds: minTs)
            stats.lastTs = Timestamp(nanoseconds: maxTs)
        }
        return stats
    }
}

/// Something fed by a shared read: a pipeline, or a pass that scores many candidates.
protocol BatchConsumer: AnyObject, Sendable {
    /// Takes one batch, in stream order; called by one thread at a time.
    func apply(_ batch: Batch)
    /// How many pipelines it runs (for the progress line).
    var pipelines: Int { get }
}

/// A thread that feeds its share of the pipelines every batch, in order.
private final class LaneWorker: @unchecked Sendable {  // the queue is guarded by `condition`; the lanes are touched by this thread only until `join`
    private let lanes: [any BatchConsumer]
    private let condition = NSCondition()
    private var queue: [Batch?] = []
    private let finished = DispatchSemaphore(value: 0)
    private static let depth = 4

    init(_ lanes: [any BatchConsumer]) { self.lanes = lanes }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "tune-replay"
        thread.start()
    }

    /// Hands on a batch, waiting while the worker is `depth` batches behind; nil ends the stream.
    func push(_ batch: Batch?) {
        condition.lock()
        while queue.count >= Self.depth { condition.wait() }
        queue.append(batch)
        condition.broadcast()
        condition.unlock()
    }

    func join() { finished.wait() }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let next = queue.removeFirst()
            condition.broadcast()
            condition.unlock()
            guard let batch = next else { break }
            for lane in lanes { lane.apply(batch) }
        }
        finished.signal()
    }
}
