import ChunkModel
import Foundation
import Server
import Store
import Testing
import Workload

/// A restart restores the baselines and open alerts from the checkpoint the
/// daemon wrote at shutdown: the alerts are those of a daemon that never stopped.
@Suite(.serialized)
struct CheckpointTests {
    static func traffic(hours: Double, startHour: Double) -> String {
        AlertStreamTests.lines(seed: 21, hours: hours, start: startHour)
    }

    /// The stored alert lines of a stopped server (stopping drains the
    /// workers, so the last alerts are in), `emitted_at` left out.
    static func alertLines(_ database: String) throws -> [String] {
        var q = AlertQuery()
        q.limit = 1_000_000
        return try AlertStore(path: database).lines(q).map { AlertStreamTests.strippingEmittedAt($0.line) }
    }

    /// Starts a daemon on `database` (or a store of its own), gives it each of
    /// `parts` in turn once the one before is in (`already` events are in at
    /// start), stops it and returns its database.
    static func feed(_ parts: [String], database: String? = nil, already: Int = 0) async throws -> String {
        let server = try await TestServer.start { if let database { $0.databasePath = database } }
        var total = already
        for part in parts {
            try await server.sendTCP(part)
            total += part.split(separator: "\n").count
            #expect(try await server.waitForEvents(total))
        }
        await server.stop()
        return database ?? server.directory + "/chunkwatch.db"
    }

    @Test func aRestartGoesOnFromTheCheckpointAsIfItNeverStopped() async throws {
        let first = Self.traffic(hours: 10, startHour: 0)
        let second = Self.traffic(hours: 10, startHour: 10)
        let n1 = first.split(separator: "\n").count
        let n2 = second.split(separator: "\n").count

        // One daemon that sees everything.
        let expected = try Self.alertLines(try await Self.feed([first, second]))
        try #require(!expected.isEmpty)

        // One that is stopped half way and started again on the same store.
        let database = try await Self.feed([first])
        let after = try await TestServer.start { $0.databasePath = database }
        #expect(try await after.eventsAccepted == n1, "the counts come back with the checkpoint")
        let principals = try await after.json("/v1/baselines")["principals"] as? [[String: Any]]
        #expect((principals?.count ?? 0) > 0, "so does what it knew of each principal")
        try await after.sendTCP(second)
        #expect(try await after.waitForEvents(n1 + n2))
        await after.stop()
        let got = try Self.alertLines(database)

        #expect(got == expected)
    }

    /// Issue 10, deliverable 8: the same traffic played again after a restart
    /// (`make run` twice) starts hours before the checkpoint's event time. It
    /// is not scored against baselines from its future: the daemon gives the
    /// alerts a daemon that never saw the later hours would give.
    @Test func trafficFromBeforeTheCheckpointWarmsUpAgainInsteadOfScoringItAsASurge() async throws {
        let early = Self.traffic(hours: 6, startHour: 0)
        let late = Self.traffic(hours: 6, startHour: 6)
        let expected = try Self.alertLines(try await Self.feed([early]))
        try #require(!expected.isEmpty)

        let database = try await Self.feed([late])
        let lateAlerts = try Self.alertLines(database).count
        _ = try await Self.feed([early], database: database, already: late.split(separator: "\n").count)
        let got = Array(try Self.alertLines(database).dropFirst(lateAlerts))

        #expect(got == expected)
    }

    @Test func withoutTheCheckpointTheDetectorsWarmUpAgain() async throws {
        // The same restart with checkpoints cut off: the test above would not pass by chance.
        let first = Self.traffic(hours: 10, startHour: 0)
        let second = Self.traffic(hours: 10, startHour: 10)
        let before = try await TestServer.start()
        try await before.sendTCP(first)
        #expect(try await before.waitForEvents(first.split(separator: "\n").count))
        await before.stop()
        let path = before.directory + "/chunkwatch.db"
        #expect(try CheckpointStore(database: try Database(path: path)).count >= 1)
        try Database(path: path).execute("DELETE FROM checkpoints")
        let after = try await TestServer.start { $0.databasePath = path }
        #expect(try await after.eventsAccepted == 0)
        try await after.sendTCP(second)
        #expect(try await after.waitForEvents(second.split(separator: "\n").count))
        await after.stop()
        let cold = try Self.alertLines(path)

        let reference = try await TestServer.start()
        try await reference.sendTCP(first + second)
        #expect(try await reference.waitForEvents((first + second).split(separator: "\n").count))
        await reference.stop()
        let warm = try Self.alertLines(reference.directory + "/chunkwatch.db")
        #expect(cold != warm)
    }
}
