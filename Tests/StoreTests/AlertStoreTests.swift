import Alerting
import ChunkModel
import ChunkWatchTestKit
import Foundation
import Pipeline
import Store
import Testing
import Workload

private func temporaryPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("chunkwatch-store-\(UUID().uuidString).db").path
}

private func removeDatabase(_ path: String) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

@Suite struct AlertStoreTests {
    /// The alerts of a small gen stream with every anomaly kind, as a backfill emits them.
    static let alerts: [Alert] = {
        let run = try! GenRun(WorkloadConfig(principals: 10, hours: 8, seed: 4, anomalies: [.size, .rate]))
        return run.alerts
    }()

    @Test func aReRunAddsNoDuplicatesAndKeepsEmissionOrder() throws {
        let path = temporaryPath()
        defer { removeDatabase(path) }
        let alerts = Self.alerts
        try #require(alerts.count >= 4)
        do {
            let sink = try SQLiteAlertSink(path: path, batchSize: 3)
            for a in alerts { sink.emit(a) }
            try sink.flush()
        }
        let store = try AlertStore(path: path)
        #expect(try store.count == alerts.count)
        #expect(try store.insert(alerts) == 0, "the same lines again add nothing")
        #expect(try store.count == alerts.count)
        let lines = try store.lines(AlertQuery()).map(\.line)
        #expect(lines == alerts.map { String($0.jsonLine.dropLast()) })
    }

    @Test func filtersLikeTail() throws {
        let path = temporaryPath()
        defer { removeDatabase(path) }
        let store = try AlertStore(path: path)
        let alerts = Self.alerts
        try store.insert(alerts)
        let principal = try #require(alerts.first?.principal)
        var q = AlertQuery()
        q.principal = principal
        #expect(try store.lines(q).count == alerts.filter { $0.principal == principal }.count)
        q = AlertQuery()
        q.detector = "rate"
        #expect(try store.lines(q).count == alerts.filter { $0.detector == "rate" }.count)
        q = AlertQuery()
        q.minSeverity = .high
        #expect(try store.lines(q).count == alerts.filter { $0.severity >= .high }.count)
        q = AlertQuery()
        q.limit = 2
        let first = try store.lines(q)
        #expect(first.count == 2)
        q.afterSeq = first[1].seq
        q.limit = 1000
        #expect(try store.lines(q).count == alerts.count - 2, "resuming after a position returns exactly the rest")
    }

    @Test func reopeningKeepsTheSchemaVersionAndTheRows() throws {
        let path = temporaryPath()
        defer { removeDatabase(path) }
        try AlertStore(path: path).insert(Array(Self.alerts.prefix(3)))
        let again = try AlertStore(path: path)
        #expect(try again.database.userVersion == 6, "every migration step ran once (6 steps)")
        #expect(try again.count == 3)
    }

    @Test func anUnwritablePathIsAOneLineError() {
        #expect(throws: StoreError.self) { try AlertStore(path: "/nonexistent-dir/x.db") }
    }
}

@Suite struct DetectorSettingsStoreTests {
    @Test func changesAreRecordedAndTheLatestValueIsInForce() throws {
        let path = temporaryPath()
        defer { removeDatabase(path) }
        let store = try DetectorSettingsStore(database: try Database(path: path))
        let t = Timestamp(epochMilliseconds: 1_795_392_000_000)
        try store.record([
            .init(at: t, source: "api", token: "secops", detector: "size", parameter: "threshold", oldValue: "6", newValue: "7.5")
        ])
        try store.record([
            .init(at: t + .seconds(60), source: "sighup", token: nil, detector: "size", parameter: "threshold", oldValue: "7.5", newValue: "8"),
            .init(at: t + .seconds(60), source: "sighup", token: nil, detector: "rate", parameter: "cooldown", oldValue: "10m", newValue: "20m"),
        ])
        let reopened = try DetectorSettingsStore(database: try Database(path: path))
        let current = try reopened.currentValues()
        #expect(current.map { "\($0.detector).\($0.parameter)=\($0.value)" } == ["rate.cooldown=20m", "size.threshold=8"])
        let history = try reopened.changes(detector: "size")
        #expect(history.map(\.newValue) == ["7.5", "8"])
        #expect(history.first?.token == "secops")
        #expect(history.last?.source == "sighup")
        #expect(try reopened.changes().count == 3)
    }
}
