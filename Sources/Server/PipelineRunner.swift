import Alerting
import ChunkModel
import Detectors
import Foundation
import Ingest
import Logging
import Metrics
import Pipeline
import Store
import Synchronization

/// The daemon's pipeline thread: takes what the network queued, cuts it into
/// lines, decodes them, archives the accepted ones (events and taps' drop
/// reports), runs them through the engine, and commits the alerts (store
/// first, then live streams).
///
/// Everything but `queue` and the stop handshake is touched by that one
/// thread only, which is why the class can be `@unchecked Sendable`.
public final class PipelineRunner: @unchecked Sendable {
    public let queue: IngestQueue
    let symbols: SymbolTable
    let engine: any AlertPipeline
    private var decoder: ChunkEventDecoder
    private var framers: [UInt64: SourceFramer] = [:]
    private let bodyFramer = SourceFramer()
    private let archive: ArchiveWriter?
    private let recorder: AlertRecorder
    let metrics: ServerMetrics
    let logger: Logger
    var counts = IngestCounts()
    var reported = IngestCounts()
    var activity: PrincipalActivity
    private var event = ChunkEvent.empty
    /// The latest event time accepted: the stream's "now".
    var watermark = Timestamp(nanoseconds: .min)
    private var lastHousekeeping = Timestamp.zero
    let checkpoints: CheckpointStore?
    let checkpointInterval: Duration
    let fingerprint: String
    var lastCheckpoint = Timestamp.now()
    /// The checkpoint being written, if any (PipelineRunner+Checkpoint.swift).
    var pendingCheckpoint: PendingCheckpoint?
    /// After a restore, until the first event: the checkpoint's event time,
    /// and the engine's state before the restore, to go back to when the
    /// traffic starts well before it (`checkRestoredTime`).
    var restoredAhead: (watermark: Timestamp, fresh: [UInt8])?
    private let stopped = Mutex<(done: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))
    /// Replies and acknowledgements waiting for the batch's fsync.
    private var awaitingDurability: [@Sendable (Bool) -> Void] = []
    /// Accepted events already durable (and so counted in `chunkwatch_events_accepted_total`).
    var durableAccepted = 0
    /// Taps' numbered items: how far each is durable, kept in the store.
    private let tapSessions: TapSessions?
    private let tapMarks: TapMarkStore?
    /// This batch's taps' items, acknowledged after its fsync.
    private var tapItems: [(TapSession, UInt64, @Sendable (UInt64) -> Void)] = []
    /// The group commit whose fsync runs now, and its result once it returned.
    private var durabilityInFlight: GroupCommit?
    private let durabilityResult = DurabilityResult()

    /// Set by the archive's thread when the fsync returns, taken by this one.
    private final class DurabilityResult: Sendable {
        let value = Mutex<Bool?>(nil)
    }

    /// What one group commit promises once its fsync returns.
    private struct GroupCommit {
        var accepted: Int
        var waiting: [@Sendable (Bool) -> Void]
        var tapItems: [(TapSession, UInt64, @Sendable (UInt64) -> Void)]
    }

    init(
        engine: any AlertPipeline, symbols: SymbolTable, queue: IngestQueue, archive: ArchiveWriter?,
        recorder: AlertRecorder, metrics: ServerMetrics, maxPrincipals: Int, logger: Logger,
        checkpoints: CheckpointStore?, checkpointInterval: Duration, fingerprint: String,
        tapSessions: TapSessions? = nil, tapMarks: TapMarkStore? = nil
    ) {
        self.tapSessions = tapSessions
        self.tapMarks = tapMarks
        self.checkpoints = checkpoints
        self.checkpointInterval = checkpointInterval
        self.fingerprint = fingerprint
        self.engine = engine
        self.symbols = symbols
        self.queue = queue
        self.archive = archive
        self.recorder = recorder
        self.metrics = metrics
        self.logger = logger
        decoder = ChunkEventDecoder(symbols: symbols)
        activity = PrincipalActivity(maxPrincipals: maxPrincipals)
    }

    public func start() {
        let thread = Thread { [self] in
            run()
            let waiter = stopped.withLock { s -> CheckedContinuation<Void, Never>? in
                s.done = true
                return s.waiter
            }
            waiter?.resume()
        }
        thread.name = "chunkwatch-pipeline"
        thread.start()
    }

    /// Closes the queue and returns once everything queued has been processed,
    /// archived and stored (open alerts stay open: they are not resolved by a stop).
    public func stop() async {
        queue.close()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = stopped.withLock { s -> Bool in
                if s.done { return true }
                s.waiter = c
                return false
            }
            if done { c.resume() }
        }
    }

    private func run() {
        while true {
            let items = queue.take(timeout: .milliseconds(10), maxBytes: Self.batchBytes)
            if items.isEmpty && queue.isClosed { break }
            for item in items { handle(item) }
            // Group commit: one fsync for the whole batch, before anyone is
            // told their events are accepted.
            commitDurable()
            // Hand partial batches to the workers whenever input pauses or a
            // batch of input is done, so an alert never waits for a batch to fill.
            (engine as? ParallelEngine)?.flush()
            recorder.commit()
            housekeeping(force: false)
        }
        for (_, framer) in framers { framer.finish(self) }
        framers.removeAll()
        drainDurability()
        engine.drain()
        recorder.close()
        housekeeping(force: true)
        finalCheckpoint()
        do { try archive?.close() } catch { logger.error("archive: \(error)") }
        logger.info("pipeline stopped", metadata: ["events": "\(counts.accepted)", "rejected": "\(counts.totalRejected)"])
    }

    /// At most this much input between two group commits: under a flood, a
    /// `POST` is answered and a waiting sender goes on within a batch's
    /// processing time (about 0.1 s), not the whole queue's (64 MiB, seconds).
    static let batchBytes = 1 << 21

    private func handle(_ item: IngestItem) {
        switch item {
        case .bytes(let source, let buffer):
            let framer = framers[source] ?? {
                let f = SourceFramer()
                framers[source] = f
                return f
            }()
            buffer.withUnsafeReadableBytes { framer.feed($0, self) }
        case .closed(let source):
            framers.removeValue(forKey: source)?.finish(self)
        case .body(let buffer, let reply):
            let before = counts
            buffer.withUnsafeReadableBytes { bodyFramer.feed($0, self) }
            bodyFramer.finish(self)
            let report = IngestReport(from: before, to: counts)
            // Answered once the batch is on disk, not before.
            awaitingDurability.append { durable in
                var r = report
                r.durable = durable
                reply(r)
            }
        case .control(let body):
            body(PipelineControl(runner: self))
        case .barrier(let done):
            awaitingDurability.append(done)
        case .tapItems(let session, let next, let acknowledge):
            tapItems.append((session, next, acknowledge))
        }
    }

    /// Group commit: makes what the batches since the last one archived
    /// durable (one fsync, on the archive's own thread), then counts their
    /// events as accepted and tells whoever waits for them. One fsync is in
    /// flight at a time; what comes in meanwhile waits for the next, so a slow
    /// disk means fewer, larger commits and the pipeline never waits for it.
    /// Without an archive, accepted means processed.
    private func commitDurable() {
        settleDurability()
        guard durabilityInFlight == nil else { return }
        guard counts.accepted > durableAccepted || !awaitingDurability.isEmpty || !tapItems.isEmpty else { return }
        saveTapMarks()
        let commit = GroupCommit(accepted: counts.accepted, waiting: awaitingDurability, tapItems: tapItems)
        awaitingDurability.removeAll(keepingCapacity: true)
        tapItems.removeAll(keepingCapacity: true)
        guard let archive else {
            complete(commit, durable: true)
            return
        }
        durabilityInFlight = commit
        archive.syncInBackground { [durabilityResult] ok in durabilityResult.value.withLock { $0 = ok } }
    }

    /// Completes the commit in flight if its fsync has returned.
    private func settleDurability() {
        guard let commit = durabilityInFlight, let ok = durabilityResult.value.withLock({ r -> Bool? in
            defer { r = nil }
            return r
        }) else { return }
        durabilityInFlight = nil
        complete(commit, durable: ok)
    }

    /// At stop: every commit completed, the last one included.
    private func drainDurability() {
        while true {
            while durabilityInFlight != nil {
                settleDurability()
                if durabilityInFlight != nil { usleep(200) }
            }
            commitDurable()
            if durabilityInFlight == nil { return }
        }
    }

    private func complete(_ commit: GroupCommit, durable: Bool) {
        if durable {
            metrics.eventsAccepted.increment(by: Int64(commit.accepted - durableAccepted))
            durableAccepted = commit.accepted
        }
        for done in commit.waiting { done(durable) }
        if durable, let tapSessions {
            for (session, next, acknowledge) in commit.tapItems {
                tapSessions.durable(session, upTo: next)
                acknowledge(next)
            }
        }
    }

    /// Taps' marks go to the store in the same group commit, before the
    /// fsync, tied to the archive's position: a mark never runs ahead of what
    /// the archive holds after a crash (`TapMarkStore`).
    private func saveTapMarks() {
        guard !tapItems.isEmpty, let tapSessions, let tapMarks, let position = archive?.position else { return }
        var latest: [TapSession: UInt64] = [:]
        for (session, next, _) in tapItems { latest[session] = max(latest[session] ?? 0, next) }
        let now = Timestamp.now()
        let marks = latest.map { session, next in
            TapMarkStore.Mark(
                session: session, durable: next, previous: tapSessions.durableMark(session), file: position.file,
                lines: position.lines, seenAt: now)
        }
        do {
            try tapMarks.save(marks)
        } catch {
            logger.warning("tap marks not stored (a tap's resend after a crash may be archived twice): \(error)")
        }
    }

    /// One framed line: decoded, archived and processed, or counted as rejected.
    fileprivate func line(_ line: LineFramer.Line) {
        switch line {
        case .complete(let bytes):
            switch decoder.decode(bytes, into: &event) {
            case .event:
                if restoredAhead != nil { checkRestoredTime(event.ts) }
                counts.accepted += 1
                if event.ts > watermark { watermark = event.ts }
                archive?.append(bytes)
                activity.record(event)
                engine.process(event)
            case .dropReport:
                // Archived in its place among the events, so a backfill of the
                // archive gives the alerts the same coverage as this live run.
                counts.dropReports += 1
                archive?.append(bytes)
                let report = decoder.dropReport
                tapDropped(report.tap).increment(by: report.dropped)
                engine.dropped(report)
            case .rejected(let reason):
                counts.reject(reason)
                if !event.principal.isNone { engine.rejected(principal: event.principal, at: event.ts == .zero ? nil : event.ts) }
            }
        case .tooLong:
            counts.reject(.tooLong)
        }
    }

    /// The counter of drops reported by `tap`. Tap names come off the wire,
    /// so the number of series is bounded: past `maxTapSeries` names, the
    /// rest are counted together under `ServerMetrics.otherTaps`.
    private func tapDropped(_ tap: String) -> Metrics.Counter {
        if let counter = tapCounters[tap] { return counter }
        guard tapCounters.count < Self.maxTapSeries else { return metrics.tapDroppedEvents(tap: ServerMetrics.otherTaps) }
        let counter = metrics.tapDroppedEvents(tap: tap)
        tapCounters[tap] = counter
        return counter
    }
    private var tapCounters: [String: Metrics.Counter] = [:]
    static let maxTapSeries = 1_000

    func withDetectors(_ body: ([any Detector]) -> Void) { engine.withDetectors(body) }

    /// Archive upkeep and metrics: after each batch, and every 10 s for the key counts
    /// (which need the workers paused for a moment).
    private func housekeeping(force: Bool) {
        // Not while an fsync is in flight: flushing or rotating would put lines
        // whose taps' marks are not stored yet into the file (see `commitDurable`).
        if force || durabilityInFlight == nil { archive?.maintain() }
        for r in RejectReason.allCases where counts[r] != reported[r] {
            metrics.eventsRejected[r.rawValue].increment(by: Int64(counts[r] - reported[r]))
        }
        if let archive {
            metrics.archiveLines.increment(by: Int64(archive.linesWritten) - Int64(reportedArchiveLines))
            reportedArchiveLines = archive.linesWritten
            if archive.failedWrites > reportedArchiveErrors {
                metrics.archiveErrors.increment(by: Int64(archive.failedWrites - reportedArchiveErrors))
                if reportedArchiveErrors == 0, let f = archive.failure { logger.error("archive: \(f)") }
            }
            reportedArchiveErrors = archive.failedWrites
        }
        metrics.tapDropReports.increment(by: Int64(counts.dropReports - reported.dropReports))
        reported = counts
        metrics.queueBytes.record(queue.depth.bytes)
        let now = Timestamp.now()
        if watermark > Timestamp(nanoseconds: .min) {
            metrics.watermark.record(watermark.epochSeconds)
            metrics.eventTimeLag.record((now - watermark).seconds)
        }
        if !force { checkpointUpkeep(now: now) }
        if force || now - lastHousekeeping >= .seconds(10) {
            lastHousekeeping = now
            var tracked: [String: Int] = [:]
            var evicted: [String: Int] = [:]
            engine.withDetectors { detectors in
                for d in detectors {
                    tracked[d.name, default: 0] += d.keyStats.tracked
                    evicted[d.name, default: 0] += d.keyStats.evicted
                }
            }
            for (name, n) in tracked { metrics.keysTracked(detector: name).record(n) }
            for (name, n) in evicted { metrics.keysEvicted(detector: name).record(n) }
        }
    }
    private var reportedArchiveLines = 0
    private var reportedArchiveErrors = 0
}

/// A line framer per source (a tap connection, or request bodies).
final class SourceFramer {
    var framer = LineFramer()

    fileprivate func feed(_ bytes: UnsafeRawBufferPointer, _ runner: PipelineRunner) {
        framer.feed(bytes) { line, _ in runner.line(line) }
    }

    fileprivate func finish(_ runner: PipelineRunner) {
        framer.finish { line, _ in runner.line(line) }
    }
}

/// What a control closure may do on the pipeline thread, between events.
public struct PipelineControl {
    let runner: PipelineRunner

    /// Each shard's detectors in turn, with every worker paused.
    public func withDetectors(_ body: ([any Detector]) -> Void) { runner.withDetectors(body) }
    public var watermark: Timestamp { runner.watermark }
    public var counts: IngestCounts { runner.counts }
    var activity: PrincipalActivity { runner.activity }
    public var symbols: SymbolTable { runner.symbols }
}

extension IngestReport {
    init(from before: IngestCounts, to after: IngestCounts) {
        self.init()
        accepted = after.accepted - before.accepted
        dropReports = after.dropReports - before.dropReports
        for r in RejectReason.allCases where after[r] > before[r] { rejected[r.name] = after[r] - before[r] }
    }
}

extension Duration {
    /// The duration in seconds, fractions included.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
