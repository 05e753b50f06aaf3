import ChunkModel
import ChunkTap
import Foundation
import Server
import Synchronization
import Testing

/// A tap with test-sized settings: short backoff and report interval.
func makeTap(
    _ collector: String, capacity: Int = 16_384, token: String? = nil, closeTimeout: Duration = .seconds(5),
    wire: ChunkTap.Wire = .ndjson
) -> ChunkTap {
    var settings = ChunkTap.Settings(collector: collector)
    settings.wire = wire
    settings.capacity = capacity
    settings.batchSize = 64
    settings.token = token
    settings.backoffInitial = .milliseconds(10)
    settings.backoffMax = .milliseconds(200)
    settings.dropReportInterval = .milliseconds(100)
    settings.closeTimeout = closeTimeout
    return ChunkTap(settings: settings)
}

/// `count` records per producer thread, each producer its own principal and
/// connection, seq 0..<count; returns how many each producer saw refused.
func produce(_ tap: ChunkTap, principals: [String], count: Int, seqBase: Int = 0) async throws -> [Int] {
    let sources = try principals.map { try tap.register(principal: $0, resource: "pg://orders", hop: "gateway") }
    let refused = Mutex([Int](repeating: 0, count: principals.count))
    await onThreads(principals.count) { p in
        var mine = 0
        for i in 0..<count where !tap.record(record(i, conn: UInt64(p), seq: seqBase + i, source: sources[p])) {
            mine += 1
        }
        refused.withLock { $0[p] = mine }
    }
    return refused.withLock { $0 }
}

@Suite(.serialized) struct TapForwarderTests {
    @Test(arguments: [ChunkTap.Wire.ndjson, .binary])
    func everyRecordedEventReachesARealCollector(wire: ChunkTap.Wire) async throws {
        let server = try await TapTestServer.start()
        let tap = makeTap(server.ingest, wire: wire)
        let principals = (0..<4).map { "tap-p\($0)" }
        let refused = try await produce(tap, principals: principals, count: 2_500)
        #expect(refused == [0, 0, 0, 0], "the ring holds every record: nothing may drop")
        #expect(try await waitUntil { await server.eventsAccepted() == 10_000 })
        for p in principals { #expect(await server.events(of: p) == 2_500) }
        #expect(try await server.json("/v1/baselines")["events_rejected"] as? Int == 0)
        tap.close()
        let stats = tap.stats
        #expect(stats.recorded == 10_000 && stats.sent == 10_000 && stats.dropped == 0 && stats.droppedAtClose == 0)
        await server.stop()
    }

    @Test func fullRingDropsAreCountedAndReportedWithAuthFirst() async throws {
        // Nothing listens yet: the forwarder holds one batch, the ring fills, the rest drops.
        let port = try freePort()
        let tap = makeTap("127.0.0.1:\(port)", capacity: 256, token: "ingest-secret-0123456789")
        let principals = ["drop-a", "drop-b", "drop-c", "drop-d"]
        let refused = try await produce(tap, principals: principals, count: 5_000)
        let stats = tap.stats
        #expect(stats.dropped == refused.reduce(0, +))
        #expect(stats.recorded + stats.dropped == 20_000)
        #expect(stats.recorded <= 256 + 64, "ring capacity plus one batch in the forwarder")

        let collector = try RecordingCollector(port: port)
        defer { collector.stop() }
        let arrived = try await waitUntil(seconds: 60) {
            let lines = collector.lines
            return lines.count(where: { $0.hasPrefix("{\"ts\"") }) == stats.recorded
                && lines.contains(where: { $0.contains("\"chunkwatch_tap\":\"drops\"") })
        }
        #expect(arrived)
        tap.close()
        let lines = collector.lines
        #expect(lines.first == "AUTH ingest-secret-0123456789")
        // Per producer, the events that got through arrive in the order recorded.
        var lastSeq: [String: Int] = [:]
        for line in lines where line.hasPrefix("{\"ts\"") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let principal = try #require(object["principal"] as? String)
            let seq = try #require(object["seq"] as? Int)
            #expect(seq > lastSeq[principal, default: -1])
            lastSeq[principal] = seq
        }
        // The drop reports add up to what `record` refused, per principal.
        var reported: [String: Int] = [:]
        for line in lines where line.contains("\"chunkwatch_tap\":\"drops\"") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for (principal, n) in try #require(object["dropped_by_principal"] as? [String: Int]) { reported[principal, default: 0] += n }
        }
        for (p, n) in zip(principals, refused) { #expect(reported[p, default: 0] == n) }
        #expect(tap.stats.dropReports >= 1)
    }

    @Test(arguments: [ChunkTap.Wire.ndjson, .binary])
    func lateAndRestartedCollectorGetsWhatTheRingHeld(wire: ChunkTap.Wire) async throws {
        let port = try freePort()
        let tap = makeTap("127.0.0.1:\(port)", wire: wire)
        #expect(try await produce(tap, principals: ["late"], count: 500) == [0])
        try await Task.sleep(for: .milliseconds(300))  // a few failed connects, backing off
        let first = try await TapTestServer.start(ingestPort: port)
        #expect(try await waitUntil { await first.eventsAccepted() == 500 })
        #expect(tap.stats.connectFailures > 0)
        await first.stop()

        #expect(try await produce(tap, principals: ["late"], count: 300, seqBase: 500) == [0])
        try await Task.sleep(for: .milliseconds(300))
        let second = try await TapTestServer.start(ingestPort: port)
        if wire == .ndjson {
            #expect(try await waitUntil { await second.eventsAccepted() == 300 })
            #expect(await second.events(of: "late") == 300)
        } else {
            // Binary is at least once: what the first collector had not acknowledged
            // when it stopped goes again to the second (a new one, with its own store).
            #expect(try await waitUntil { await second.eventsAccepted() >= 300 })
        }
        tap.close()
        #expect(tap.stats.sent == 800 && tap.stats.droppedAtClose == 0)
        if wire == .binary { #expect(tap.stats.acknowledged == 800 && tap.stats.unacknowledgedAtClose == 0) }
        await second.stop()
    }

    @Test(arguments: [ChunkTap.Wire.ndjson, .binary])
    func authLineOpensATokenProtectedCollector(wire: ChunkTap.Wire) async throws {
        let tokens = TokenAuthority(tokens: [
            .init(name: "gw", role: .ingest, secret: "ingest-secret-0123456789"),
            .init(name: "oncall", role: .read, secret: "read-secret-0123456789ab"),
        ])
        let server = try await TapTestServer.start(tokens: tokens)
        let read = "read-secret-0123456789ab"
        let good = makeTap(server.ingest, token: "ingest-secret-0123456789", wire: wire)
        _ = try await produce(good, principals: ["authed"], count: 200)
        #expect(try await waitUntil { await server.eventsAccepted(token: read) == 200 })
        good.close()

        // A wrong token: the collector answers ERR and closes, the tap
        // reconnects (with backoff) and the collector takes none of its events.
        // The ERR line itself may be lost to the connection reset, so the
        // tap's view is only "the collector keeps closing".
        let bad = makeTap(server.ingest, token: "wrong-secret-0123456789", closeTimeout: .milliseconds(500), wire: wire)
        _ = try await produce(bad, principals: ["refused"], count: 100)
        #expect(try await waitUntil { bad.stats.lastError != nil })
        _ = try await produce(bad, principals: ["refused"], count: 100, seqBase: 100)
        #expect(try await waitUntil { bad.stats.connects >= 2 })
        bad.close()
        #expect(await server.eventsAccepted(token: read) == 200)
        #expect(await server.events(of: "refused", token: read) == -1)
        await server.stop()
    }
}
