import ChunkWatchTestKit
import Foundation
import Server
import Testing
import Workload

/// `serve`'s API end to end in one process: real listeners on loopback, the
/// real pipeline, SQLite store and archive in a temporary directory.
@Suite(.serialized)
struct ServerAPITests {
    /// Six hours of gen's traffic with its injected anomalies, as NDJSON lines.
    static let traffic: [String] = {
        var g = try! WorkloadGenerator(config: WorkloadConfig(principals: 8, hours: 6, seed: 5))
        var lines: [String] = []
        while let l = g.nextLine() { lines.append(l) }
        return lines
    }()

    @Test func eventsOverTCPAndHTTPAreCountedArchivedAndRaiseStoredAlerts() async throws {
        let server = try await TestServer.start()
        let lines = Self.traffic
        let half = lines.count / 2
        try await server.sendTCP(lines[..<half].joined(separator: "\n") + "\n")
        // The second half over HTTP, with two bad lines: the reply says what became of them.
        let body = lines[half...].joined(separator: "\n") + "\nnot json\n{\"ts\":1,\"principal\":\"p\",\"size\":-1}\n"
        let reply = try JSONSerialization.jsonObject(with: Data(try await server.call("POST", "/v1/events", body: body).utf8)) as? [String: Any]
        #expect(reply?["accepted"] as? Int == lines.count - half)
        #expect(reply?["rejected"] as? Int == 2)
        #expect(try await server.waitForEvents(lines.count))

        let alerts = try await server.call("GET", "/v1/alerts?limit=100000").split(separator: "\n")
        #expect(!alerts.isEmpty, "gen's injected anomalies raise alerts")
        let high = try await server.call("GET", "/v1/alerts?min_severity=high&limit=100000").split(separator: "\n")
        #expect(high.count < alerts.count)
        #expect(high.allSatisfy { $0.contains("\"severity\":\"high\"") || $0.contains("\"severity\":\"critical\"") })

        let metrics = try await server.call("GET", "/metrics")
        #expect(metrics.contains("chunkwatch_events_accepted_total \(lines.count)"))
        #expect(metrics.contains("chunkwatch_events_rejected_total{reason=\"not_json\"} 1"))
        await server.stop()

        // Stopped: the archive holds every accepted line, readable by the lz4 tool.
        let archived = try shell("cat \(server.directory)/archive/*.ndjson.lz4 | lz4 -dc")
        #expect(archived.split(separator: "\n").map(String.init) == lines)
    }

    @Test func baselinesShowEachPrincipalAndDetectorKeys() async throws {
        let server = try await TestServer.start()
        try await server.sendTCP(Self.traffic.joined(separator: "\n") + "\n")
        #expect(try await server.waitForEvents(Self.traffic.count))
        let all = try await server.json("/v1/baselines")
        let principals = try #require(all["principals"] as? [[String: Any]])
        let sent = Set(Self.traffic.map { $0.split(separator: "\"principal\":\"")[1].prefix { $0 != "\"" } })
        #expect(Set(principals.compactMap { $0["principal"] as? String }) == Set(sent.map(String.init)))
        let name = try #require(principals.first?["principal"] as? String)
        let one = try await server.json("/v1/baselines?principal=\(name)")
        #expect((one["principals"] as? [[String: Any]])?.count == 1)
        let detectors = try #require(all["detectors"] as? [[String: Any]])
        #expect(detectors.map { $0["name"] as? String } == ["size", "rate", "volume", "integrity", "novelty", "changepoint", "silence"])
        #expect(detectors.allSatisfy { ($0["keys_tracked"] as? Int ?? 0) > 0 })
        await server.stop()
    }

    @Test func pastItsLimitTheBaselinesViewForgetsThePrincipalsSeenLeastRecently() async throws {
        let server = try await TestServer.start { $0.maxPrincipals = 20 }
        // p-0 … p-29, one a second, and p-0 again last: it is seen most recently of all.
        var lines = (0..<30).map { #"{"ts":"2026-11-01T00:00:\#(String(format: "%02d", $0))Z","principal":"p-\#($0)","size":100}"# }
        lines.append(#"{"ts":"2026-11-01T00:01:00Z","principal":"p-0","size":100}"#)
        try await server.sendTCP(lines.joined(separator: "\n") + "\n")
        #expect(try await server.waitForEvents(lines.count))
        let all = try await server.json("/v1/baselines")
        let names = Set(try #require(all["principals"] as? [[String: Any]]).compactMap { $0["principal"] as? String })
        // At 20, each new principal first drops the oldest tenth (2): p-0 … p-9
        // go as p-20 … p-29 come; p-0 comes back and p-10, p-11 make room for it.
        #expect(names == Set(["p-0"] + (12..<30).map { "p-\($0)" }), "\(names.sorted())")
        #expect(all["principals_forgotten"] as? Int == 12)
        await server.stop()
    }

    @Test func thresholdChangesApplyLiveAreRecordedAndRefuseStructuralOnes() async throws {
        let server = try await TestServer.start()
        #expect(try await server.call("PUT", "/v1/detectors/size", body: #"{"threshold": 9.5, "cooldown": "20m"}"#).contains(#""threshold":"9.5""#))
        let view = try await server.json("/v1/detectors/size")
        let parameters = try #require(view["parameters"] as? [String: String])
        #expect(parameters["threshold"] == "9.5")
        #expect(parameters["cooldown"] == "20m")
        let changes = try #require(view["changes"] as? [[String: Any]])
        #expect(changes.count == 2)
        #expect(changes.contains { $0["parameter"] as? String == "threshold" && $0["old"] as? String == "6" && $0["new"] as? String == "9.5" })

        #expect(await server.status("PUT", "/v1/detectors/size", body: #"{"window": 10}"#) == 422)
        #expect(await server.status("PUT", "/v1/detectors/size", body: #"{"threshold": -1}"#) == 422)
        #expect(await server.status("PUT", "/v1/detectors/size", body: "not json") == 400)
        #expect(await server.status("PUT", "/v1/detectors/nope", body: #"{"threshold": 1}"#) == 404)

        // New alerts carry the new threshold.
        try await server.sendTCP(Self.traffic.joined(separator: "\n") + "\n")
        #expect(try await server.waitForEvents(Self.traffic.count))
        let sizeAlerts = try await server.call("GET", "/v1/alerts?detector=size&limit=1000").split(separator: "\n")
        #expect(sizeAlerts.allSatisfy { $0.contains("\"threshold\":9.5") })
        await server.stop()

        // A restart keeps the value set through the API.
        let again = try await TestServer.start { $0.databasePath = server.directory + "/chunkwatch.db" }
        #expect((try await again.json("/v1/detectors/size")["parameters"] as? [String: String])?["threshold"] == "9.5")
        await again.stop()
    }

    @Test func eachRoleIsRefusedOutsideItsJob() async throws {
        let secrets = ["ingest": "ingest-secret-0123456789", "read": "read-secret-0123456789", "admin": "admin-secret-0123456789"]
        let server = try await TestServer.start { s in
            s.tokens = TokenAuthority(tokens: secrets.map { TokenAuthority.Token(name: "\($0.key)-token", role: Role(rawValue: $0.key)!, secret: $0.value) })
        }
        let event = #"{"ts":"2026-11-23T00:00:00Z","principal":"p","size":10}"#
        // No token, or a wrong one: 401 everywhere but the health check.
        #expect(await server.status("GET", "/healthz") == 200)
        #expect(await server.status("GET", "/v1/alerts") == 401)
        #expect(await server.status("GET", "/v1/alerts", token: "wrong-secret-0123456789") == 401)
        #expect(await server.status("POST", "/v1/events", body: event) == 401)
        // ingest: send only.
        #expect(await server.status("POST", "/v1/events", body: event, token: secrets["ingest"]) == 200)
        #expect(await server.status("GET", "/v1/alerts", token: secrets["ingest"]) == 403)
        #expect(await server.status("GET", "/metrics", token: secrets["ingest"]) == 403)
        #expect(await server.status("PUT", "/v1/detectors/size", body: #"{"threshold":7}"#, token: secrets["ingest"]) == 403)
        // read: read only.
        #expect(await server.status("GET", "/v1/alerts", token: secrets["read"]) == 200)
        #expect(await server.status("GET", "/v1/baselines", token: secrets["read"]) == 200)
        #expect(await server.status("GET", "/metrics", token: secrets["read"]) == 200)
        #expect(await server.status("POST", "/v1/events", body: event, token: secrets["read"]) == 403)
        #expect(await server.status("PUT", "/v1/detectors/size", body: #"{"threshold":7}"#, token: secrets["read"]) == 403)
        // admin: read and change detectors, not send events.
        #expect(await server.status("PUT", "/v1/detectors/size", body: #"{"threshold":7}"#, token: secrets["admin"]) == 200)
        #expect(await server.status("GET", "/v1/alerts", token: secrets["admin"]) == 200)
        #expect(await server.status("POST", "/v1/events", body: event, token: secrets["admin"]) == 403)
        let changes = try await server.json("/v1/detectors/size", token: secrets["admin"])["changes"] as? [[String: Any]]
        #expect(changes?.first?["token"] as? String == "admin-token")

        // The TCP listener wants an ingest token too, as its first line.
        try await server.sendTCP(event + "\n")
        try await server.sendTCP("AUTH \(secrets["read"]!)\n" + event + "\n")
        try await server.sendTCP("AUTH \(secrets["ingest"]!)\n" + event + "\n")
        #expect(try await server.waitUntil { ((try? await server.json("/v1/baselines", token: secrets["read"]))?["events_accepted"] as? Int) == 2 })
        await server.stop()
    }

    @Test func malformedInputIsCountedNeverFatal() async throws {
        let server = try await TestServer.start()
        var garbage = ""
        for i in 0..<200 { garbage += String(repeating: "{\"\\", count: i % 7) + "\u{1}\n" }
        garbage += String(repeating: "x", count: 100_000) + "\n"
        try await server.sendTCP(garbage)
        _ = try? await server.call("POST", "/v1/events", body: garbage)
        try await server.sendTCP(#"{"ts":"2026-11-23T00:00:00Z","principal":"p","size":10}"# + "\n")
        #expect(try await server.waitForEvents(1))
        let metrics = try await server.call("GET", "/metrics")
        #expect(metrics.contains("chunkwatch_events_rejected_total{reason=\"too_long\"} 2"))
        #expect(await server.status("GET", "/healthz") == 200)
        await server.stop()
    }
}
