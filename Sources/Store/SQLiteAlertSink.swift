import Alerting
import ChunkModel

/// An alert sink into the store: alerts are buffered and written in one
/// transaction per batch (at `batchSize`, and on `flush`). Opening the store
/// throws; emitting does not — a failed write is kept and thrown by `flush`.
public final class SQLiteAlertSink: AlertSink {
    public let store: AlertStore
    private var pending: [Alert] = []
    private var failure: StoreError?
    public let batchSize: Int

    public init(path: String, batchSize: Int = 256) throws(StoreError) {
        store = try AlertStore(path: path)
        self.batchSize = batchSize
    }

    public func emit(_ alert: Alert) {
        pending.append(alert)
        if pending.count >= batchSize { write() }
    }

    public func flush() throws {
        write()
        if let failure {
            self.failure = nil
            throw failure
        }
    }

    private func write() {
        do {
            try store.insert(pending)
        } catch {
            if failure == nil { failure = error }
        }
        pending.removeAll(keepingCapacity: true)
    }
}
