import ChunkModel
import Ingest
import Foundation
import Pipeline
import Store

/// A checkpoint that was begun and is not committed yet.
struct PendingCheckpoint {
    let write: CheckpointWrite
    let cut: CheckpointCut
    let startedAt: Timestamp
    let watermark: Timestamp
    let events: Int
    var committing = false
}

/// What the runner itself keeps in a checkpoint, besides the engine's state.
struct RunnerState: Codable {
    var activity: PrincipalActivity
    var counts: IngestCounts
    var watermark: Timestamp
}

/// The symbol names, as parallel arrays (older generation first).
struct SymbolNames: Codable {
    var symbols: [UInt64] = []
    var names: [String] = []

    init(_ generations: [[UInt64: String]]) {
        for g in generations {
            for (raw, name) in g {
                symbols.append(raw)
                names.append(name)
            }
        }
    }
}

// Checkpoints: the pipeline's whole state, with what the runner itself keeps,
// streamed into the store while events go on (see `CheckpointWrite`). Part 0
// holds the engine's header, the runner's state and the symbol names; part
// 1 + i is shard i, written by the worker that owns it when it reaches the
// checkpoint's place in the stream. The runner's own state is taken as
// copy-on-write values at that place and encoded on a thread of its own.
// A checkpoint is committed only once every part is stored and every alert
// raised before its place has gone to the recorder, so a restart from it
// neither repeats nor misses an alert.
extension PipelineRunner {
    /// Every round: begins a checkpoint when one is due, commits the one
    /// being written when it is complete, and reports it when it is stored.
    func checkpointUpkeep(now: Timestamp) {
        guard var p = pendingCheckpoint else {
            if now - lastCheckpoint >= checkpointInterval { beginCheckpoint() }
            return
        }
        if let failure = p.write.failure {
            logger.error("checkpoint not written: \(failure)")
            abandon(p)
            return
        }
        if !p.committing {
            guard p.write.isWritten, engine.releasedThrough >= p.cut.seq else { return }
            // The alerts before the cut were committed by the recorder this round.
            p.write.commit(takenAt: p.startedAt, watermark: p.watermark, events: p.events)
            p.committing = true
            pendingCheckpoint = p
        }
        if p.write.progress.finished { report(p) }
    }

    /// At stop, with the workers idle: any checkpoint in progress is given up
    /// (this one is newer), and this one is written before it returns.
    func finalCheckpoint() {
        if let p = pendingCheckpoint {
            if !p.committing { p.write.abort() }
            p.write.wait()
            if p.committing { report(p) }
            pendingCheckpoint = nil
        }
        beginCheckpoint()
        guard let p = pendingCheckpoint else { return }
        while !p.write.isWritten && p.write.failure == nil { usleep(1000) }
        if let failure = p.write.failure {
            logger.error("checkpoint not written: \(failure)")
            p.write.abort()
            p.write.wait()
            pendingCheckpoint = nil
            metrics.checkpointInProgress.record(0)
            return
        }
        p.write.commit(takenAt: p.startedAt, watermark: p.watermark, events: p.events)
        p.write.wait()
        report(p)
    }

    /// Gives up the checkpoint being written (its rows go).
    private func abandon(_ p: PendingCheckpoint) {
        p.write.abort()
        pendingCheckpoint = nil
        metrics.checkpointInProgress.record(0)
    }

    /// Starts writing a checkpoint at this point of the stream.
    private func beginCheckpoint() {
        guard let checkpoints else { return }
        lastCheckpoint = Timestamp.now()
        do {
            let shards = engine.checkpointShards
            let write = try checkpoints.begin(parts: 1 + shards, fingerprint: fingerprint)
            let cut: CheckpointCut
            do {
                cut = try engine.beginCheckpoint((0..<shards).map { write.part(1 + $0) })
            } catch {
                write.abort()
                throw error
            }
            let state = RunnerState(activity: activity, counts: counts, watermark: watermark)
            let generations = symbols.generations
            let part = write.part(0)
            let thread = Thread {
                do {
                    try part.section(bytes: cut.header)
                    try part.section(state)
                    try part.section(SymbolNames(generations))
                    try part.close()
                } catch {
                    part.fail(error)
                }
            }
            thread.name = "chunkwatch-checkpoint-state"
            thread.start()
            metrics.checkpointInProgress.record(1)
            pendingCheckpoint = PendingCheckpoint(
                write: write, cut: cut, startedAt: lastCheckpoint, watermark: watermark, events: counts.accepted)
        } catch {
            logger.error("checkpoint not written: \(error)")
        }
    }

    private func report(_ p: PendingCheckpoint) {
        pendingCheckpoint = nil
        metrics.checkpointInProgress.record(0)
        let progress = p.write.progress
        guard progress.committed else {
            logger.error("checkpoint not written: \(progress.failure ?? "it was not stored")")
            return
        }
        let seconds = (Timestamp.now() - p.startedAt).seconds
        metrics.checkpointBytes.record(progress.storedBytes)
        metrics.checkpointSeconds.record(seconds)
        let pause = engine.lastCheckpointPause
        metrics.checkpointPause.record(pause.seconds)
        metrics.checkpointsWritten.increment()
        // Events taken while it was written: the pipeline did not wait for it.
        logger.info(
            "checkpoint written",
            metadata: [
                "state_bytes": "\(progress.rawBytes)", "stored_bytes": "\(progress.storedBytes)",
                "seconds": "\(Format.decimal(seconds, 2))", "pause_seconds": "\(Format.decimal(pause.seconds, 3))",
                "events": "\(p.events)",
                "events_meanwhile": "\(counts.accepted - p.events)",
            ])
    }

    /// Traffic that starts more than this before a restored checkpoint's
    /// event time is not the stream the checkpoint left off (taps lag and
    /// reorder by seconds or minutes, not hours).
    static let rebaselineAfter: Duration = .seconds(3600)

    /// The first event after a restore: when it is more than `rebaselineAfter`
    /// before the checkpoint's event time (the same traffic replayed, a clock
    /// set back), the baselines and open alerts restored belong to its future,
    /// and scoring it against them would be a surge of false alerts. Says so
    /// once and goes back to the state before the restore: the detectors warm
    /// up again, as without a checkpoint.
    func checkRestoredTime(_ ts: Timestamp) {
        guard let (restored, fresh) = restoredAhead else { return }
        restoredAhead = nil
        let behind = restored - ts
        guard behind > Self.rebaselineAfter else { return }
        do {
            try engine.restore(fresh)
        } catch {
            logger.error("the state before the checkpoint could not be put back (\(error)): the traffic is scored against the checkpoint's baselines")
            return
        }
        if let p = pendingCheckpoint, !p.committing { abandon(p) }
        watermark = ts
        logger.warning(
            "the traffic starts at \(ts), \(Format.decimal(behind.seconds / 3600, 1)) h before the event time of the restored checkpoint (\(restored)): a replay, or a clock set back; the detectors warm up again rather than score it against baselines from its future")
    }

    /// Restores the newest checkpoint if it was taken by this build with the
    /// same baseline settings; says what it did, for the log.
    func restoreLatestCheckpoint() -> String {
        guard let checkpoints else { return "no store for checkpoints" }
        do {
            guard let c = try checkpoints.latestStreamed() else { return "no checkpoint yet: the detectors warm up" }
            guard c.fingerprint == fingerprint else {
                return "the checkpoint of \(c.takenAt) was taken by another build or with other baseline settings: the detectors warm up again"
            }
            guard c.parts >= 1 else { throw CheckpointStreamError("the checkpoint has no parts") }
            let own = try checkpoints.part(0, of: c)
            let header = try own.nextSection()
            let state = try own.nextSection(RunnerState.self)
            let names = try own.nextSection(SymbolNames.self)
            guard names.symbols.count == names.names.count else { throw CheckpointStreamError("the symbol names do not add up") }
            let fresh = try engine.checkpoint()
            try engine.restore(header: header, shards: try (1..<c.parts).map { try checkpoints.part($0, of: c) })
            restoredAhead = (state.watermark, fresh)
            for (raw, name) in zip(names.symbols, names.names) { symbols.register(Symbol(rawValue: raw), name: name) }
            activity = state.activity
            counts = state.counts
            reported = state.counts
            durableAccepted = state.counts.accepted
            watermark = state.watermark
            return "restored the checkpoint of \(c.takenAt): \(c.events) events seen, event time \(c.watermark)"
        } catch {
            return "the checkpoint could not be restored (\(error)): the detectors warm up again"
        }
    }
}
