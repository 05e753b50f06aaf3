import ChunkModel
import Config
import Logging
import Store
import Synchronization

/// The detectors' settings while the daemon runs: reads them, changes live
/// parameters (through the API or a reloaded file), applies the change on
/// the pipeline thread between events, and records it in the store — when,
/// by which token or signal, old and new value — so a restart keeps it.
public final class DetectorControl: Sendable {
    private let config: Mutex<ChunkWatchConfig>
    private let store: Mutex<DetectorSettingsStore>
    private let queue: IngestQueue
    private let logger: Logger

    init(config: ChunkWatchConfig, store: sending DetectorSettingsStore, queue: IngestQueue, logger: Logger) {
        self.config = Mutex(config)
        self.store = Mutex(store)
        self.queue = queue
        self.logger = logger
    }

    public var current: ChunkWatchConfig { config.withLock { $0 } }

    /// Applies `values` (parameter → text) to detector `name`: every value is
    /// checked first, and nothing changes unless all are valid.
    /// Returns the changes made (a value equal to the current one is no change).
    public func change(
        detector name: String, values: [(String, String)], source: String, token: String?
    ) async throws(TuningError) -> [DetectorSettingsStore.Change] {
        let before = current
        var after = before
        for (key, text) in values { try after.setLive(detector: name, parameter: key, to: text) }
        return try await apply(after, from: before, source: source, token: token)
    }

    /// Takes the live values of a reloaded configuration file (SIGHUP); what
    /// needs a restart is reported, not applied.
    public func reload(_ file: ChunkWatchConfig) async throws(TuningError) -> [DetectorSettingsStore.Change] {
        let before = current
        let after = before.withLiveValues(of: file)
        return try await apply(after, from: before, source: "sighup", token: nil)
    }

    private func apply(
        _ after: ChunkWatchConfig, from before: ChunkWatchConfig, source: String, token: String?
    ) async throws(TuningError) -> [DetectorSettingsStore.Change] {
        let now = Timestamp.now()
        let changes = before.liveDifferences(to: after).map {
            DetectorSettingsStore.Change(
                at: now, source: source, token: token, detector: $0.detector, parameter: $0.parameter, oldValue: $0.old,
                newValue: $0.new)
        }
        guard !changes.isEmpty else { return [] }
        do {
            try store.withLock { try $0.record(changes) }
        } catch {
            throw TuningError("the change could not be recorded, so it was not made: \(error)")
        }
        config.withLock { $0 = after }
        // Detectors live on the pipeline's threads: the change is made there, between
        // two events, with every worker paused.
        let applied: Bool = await withCheckedContinuation { c in
            Task {
                let queued = await queue.push(
                    .control { control in
                        control.withDetectors { detectors in for d in detectors { after.retune(d) } }
                        c.resume(returning: true)
                    })
                if !queued { c.resume(returning: false) }
            }
        }
        for ch in changes {
            logger.notice(
                "detector \(ch.detector).\(ch.parameter): \(ch.oldValue) → \(ch.newValue)",
                metadata: ["source": "\(source)", "token": "\(token ?? "-")"])
        }
        if !applied { throw TuningError("the daemon is stopping; the change is recorded and applies at the next start") }
        return changes
    }

    /// Changes recorded for `detector` (or all), oldest first.
    public func history(detector: String?) throws(StoreError) -> [DetectorSettingsStore.Change] {
        try store.withLock { s throws(StoreError) in try s.changes(detector: detector) }
    }
}
