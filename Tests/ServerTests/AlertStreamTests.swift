import ChunkModel
import Foundation
import Server
import Synchronization
import Testing
import Workload

/// `GET /v1/alerts/stream`: Server-Sent Events over a real connection.
@Suite(.serialized)
struct AlertStreamTests {
    /// Reads the stream on a thread of its own until `count` alerts arrived
    /// (or `seconds` passed); returns their ids and lines.
    static func read(
        _ server: TestServer, count: Int, lastEventID: Int? = nil, query: String = "", seconds: Int64 = 20
    ) async -> [(id: Int, line: String)] {
        struct Enough: Error {}
        let client = {
            var c = server.client
            c.receiveTimeout = .seconds(seconds)
            return c
        }()
        // A thread of its own: the client blocks, and the tasks of the test and
        // the server must keep running meanwhile.
        return await withCheckedContinuation { c in
            let thread = Thread {
                var got: [(id: Int, line: String)] = []
                var headers: [(String, String)] = []
                if let lastEventID { headers.append(("Last-Event-ID", String(lastEventID))) }
                var pending: [UInt8] = []
                var id: Int?
                try? client.get("/v1/alerts/stream" + query, headers: headers) { bytes in
                    pending += bytes
                    while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = String(decoding: pending[..<nl], as: UTF8.self)
                        pending.removeFirst(nl + 1)
                        if line.hasPrefix("id: ") { id = Int(line.dropFirst(4)) }
                        if line.hasPrefix("data: "), let id {
                            got.append((id, String(line.dropFirst(6))))
                            if got.count >= count { throw Enough() }
                        }
                    }
                }
                c.resume(returning: got)
            }
            thread.start()
        }
    }

    static func lines(seed: UInt64, hours: Double, start: Double = 0) -> String {
        var config = WorkloadConfig(principals: 8, hours: hours, seed: seed)
        config.start = Timestamp(nanoseconds: config.start.nanoseconds + Int64(start * 3_600_000_000_000))
        var g = try! WorkloadGenerator(config: config)
        var out = ""
        while let l = g.nextLine() { out += l + "\n" }
        return out
    }

    @Test func aReconnectWithLastEventIDGetsExactlyTheAlertsItMissed() async throws {
        let server = try await TestServer.start()
        let first = Self.lines(seed: 9, hours: 6)
        try await server.sendTCP(first)
        let n1 = first.split(separator: "\n").count
        #expect(try await server.waitForEvents(n1))
        let stored1 = try await server.call("GET", "/v1/alerts?limit=100000").split(separator: "\n").map(String.init)
        try #require(stored1.count >= 2)

        // A client reads half, then drops.
        let seen = await Self.read(server, count: stored1.count / 2)
        #expect(seen.map(\.line) == Array(stored1.prefix(stored1.count / 2)))
        let lastID = try #require(seen.last?.id)

        // More alerts arrive while it is away.
        let second = Self.lines(seed: 10, hours: 6, start: 6)
        try await server.sendTCP(second)
        let n2 = n1 + second.split(separator: "\n").count
        #expect(try await server.waitForEvents(n2))
        let stored2 = try await server.call("GET", "/v1/alerts?limit=100000").split(separator: "\n").map(String.init)
        #expect(stored2.count > stored1.count)

        // Resuming gets exactly the rest: nothing lost, nothing twice.
        let missed = Array(stored2.dropFirst(seen.count))
        let resumed = await Self.read(server, count: missed.count, lastEventID: lastID)
        #expect(resumed.map(\.line) == missed)
        #expect(resumed.allSatisfy { $0.id > lastID })
        #expect(Set(resumed.map(\.id)).count == resumed.count)
        await server.stop()
    }

    @Test func aConnectedClientReceivesLiveAlertsWithItsFilters() async throws {
        let server = try await TestServer.start()
        let traffic = Self.lines(seed: 9, hours: 6)
        // Which alerts this traffic raises, from a server of its own.
        let reference = try await TestServer.start()
        try await reference.sendTCP(traffic)
        #expect(try await reference.waitForEvents(traffic.split(separator: "\n").count))
        let expected = try await reference.call("GET", "/v1/alerts?min_severity=high&limit=100000").split(separator: "\n").map(String.init)
        await reference.stop()
        try #require(!expected.isEmpty)

        let reader = Task { await Self.read(server, count: expected.count, query: "?min_severity=high") }
        try await Task.sleep(for: .milliseconds(300))  // let it subscribe first: these alerts arrive live
        try await server.sendTCP(traffic)
        let got = await reader.value
        #expect(got.map { Self.strippingEmittedAt($0.line) } == expected.map(Self.strippingEmittedAt))
        await server.stop()
    }

    static func strippingEmittedAt(_ line: String) -> String {
        line.replacing(/"emitted_at":"[^"]*"/, with: "")
    }
}
