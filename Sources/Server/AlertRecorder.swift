import Alerting
import ChunkModel
import Logging
import Metrics
import Store

/// The engine's sink in the daemon. The engine emits alerts one by one on the
/// pipeline thread; `commit` then writes them to the store in one transaction,
/// and only what the store holds goes on to the live streams, each line with
/// its store position as its stream id. So a client that resumes from the store
/// after the last id it saw gets exactly what it missed.
///
/// If the store cannot be written, the alerts stay pending and are tried again
/// at the next commit: an alert is never published that could be missing from
/// the store, and never dropped.
final class AlertRecorder: AlertSink {
    private let store: AlertStore
    private let hub: AlertHub
    /// Further sinks (stdout, a file, a webhook), fed after the store.
    private let sinks: [any AlertSink]
    private let metrics: ServerMetrics
    private let logger: Logger
    private var pending: [Alert] = []
    private var counters: [String: Metrics.Counter] = [:]
    private var failing = false
    private(set) var stored = 0

    init(store: AlertStore, hub: AlertHub, sinks: [any AlertSink], metrics: ServerMetrics, logger: Logger) {
        self.store = store
        self.hub = hub
        self.sinks = sinks
        self.metrics = metrics
        self.logger = logger
    }

    func emit(_ alert: Alert) { pending.append(alert) }

    /// The engine flushes its sink only when a stream ends; the daemon commits
    /// after every batch instead.
    func flush() throws { commit() }

    /// Ends the sinks that hold resources of their own (the Alertmanager sender), after a last commit.
    func close() {
        commit()
        for case let s as any ClosableAlertSink in sinks { s.close() }
    }

    func commit() {
        guard !pending.isEmpty else { return }
        let rows: [StoredAlert]
        do {
            rows = try store.insertReturningRows(pending)
            if failing {
                failing = false
                logger.notice("alert store writable again", metadata: ["pending": "\(pending.count)"])
            }
        } catch {
            if !failing { logger.error("cannot store alerts; keeping them to retry: \(error)") }
            failing = true
            return
        }
        for a in pending {
            let key = a.detector + "\u{0}" + a.severity.name
            if a.status == .firing {
                let c = counters[key] ?? metrics.alertCounter(detector: a.detector, severity: a.severity.name)
                counters[key] = c
                c.increment()
            }
            for s in sinks { s.emit(a) }
        }
        for s in sinks {
            do { try s.flush() } catch { logger.error("alert sink: \(error)") }
        }
        pending.removeAll(keepingCapacity: true)
        stored += rows.count
        hub.publish(rows)
    }
}

/// A sink with a thread or connection of its own to end at shutdown.
public protocol ClosableAlertSink: AlertSink {
    func close()
}

extension AlertmanagerSink: ClosableAlertSink {}
