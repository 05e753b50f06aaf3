import Foundation
import Server
import Testing

/// Taps' drop reports reach `serve` on both ingest paths (TCP and `POST
/// /v1/events`) and show in `/metrics` per tap.
@Suite(.serialized)
struct DropReportAPITests {
    static func report(tap: String, dropped: Int, principal: String = "svc-a", ts: String = "2026-11-28T05:10:00.000Z") -> String {
        #"{"chunkwatch_tap":"drops","tap":"\#(tap)","ts":"\#(ts)","since":"2026-11-28T05:09:50.000Z","dropped":\#(dropped),"dropped_by_principal":{"\#(principal)":\#(dropped)}}"#
    }

    static func metric(_ server: TestServer, _ series: String) async throws -> Int? {
        let body = try await server.call("GET", "/metrics")
        for line in body.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Int(Double(line.dropFirst(series.count + 1)) ?? -1)
        }
        return nil
    }

    @Test func reportsOverHTTPAndTCPAreCountedPerTapNotAsEventsOrRejections() async throws {
        let server = try await TestServer.start()
        let event = #"{"ts":"2026-11-28T05:09:59.000Z","principal":"svc-a","size":100}"#
        let body = [event, Self.report(tap: "gw-http", dropped: 40), Self.report(tap: "gw-http", dropped: -1)].joined(separator: "\n")
        let text = try await server.call("POST", "/v1/events", body: body)
        let reply = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(reply["accepted"] as? Int == 1)
        #expect(reply["drop_reports"] as? Int == 1)
        #expect(reply["rejected"] as? Int == 1)
        #expect((reply["rejected_by_reason"] as? [String: Int]) == ["wrong_type": 1])

        try await server.sendTCP(Self.report(tap: "gw-tcp", dropped: 7, principal: "svc-b") + "\n" + Self.report(tap: "gw-http", dropped: 2) + "\n")
        #expect(try await server.waitUntil { try await Self.metric(server, #"chunkwatch_tap_dropped_events_total{tap="gw-tcp"}"#) == 7 })
        #expect(try await Self.metric(server, #"chunkwatch_tap_dropped_events_total{tap="gw-http"}"#) == 42)
        #expect(try await server.waitUntil { try await Self.metric(server, "chunkwatch_tap_drop_reports_total") == 3 })
        #expect(try await Self.metric(server, "chunkwatch_events_accepted_total") == 1)
        let baselines = try await server.json("/v1/baselines")
        #expect(baselines["events_accepted"] as? Int == 1 && baselines["events_rejected"] as? Int == 1)
        await server.stop()
    }

    /// Tap names come off the wire: past a thousand of them, the rest share one series.
    @Test func theNumberOfTapSeriesIsBounded() async throws {
        let server = try await TestServer.start()
        let body = (0..<1_010).map { Self.report(tap: "gw-\($0)", dropped: 3) }.joined(separator: "\n")
        _ = try await server.call("POST", "/v1/events", body: body)
        #expect(try await server.waitUntil { try await Self.metric(server, #"chunkwatch_tap_dropped_events_total{tap="_other"}"#) == 30 })
        #expect(try await Self.metric(server, #"chunkwatch_tap_dropped_events_total{tap="gw-999"}"#) == 3)
        #expect(try await Self.metric(server, #"chunkwatch_tap_dropped_events_total{tap="gw-1000"}"#) == nil)
        await server.stop()
    }
}
