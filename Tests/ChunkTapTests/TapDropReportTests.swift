import ChunkModel
import ChunkTap
import Foundation
import Server
import Testing

/// The whole path of a drop: a real `ChunkTap` whose tiny ring overflows, its
/// drop report over the real TCP listener, the collector's metric, and the
/// coverage on an alert for the principal whose events were lost.
@Suite(.serialized) struct TapDropReportTests {
    @Test func aFullRingsDropsShowInTheMetricAndOnTheAlertsCoverage() async throws {
        let port = try freePort()
        var settings = ChunkTap.Settings(collector: "127.0.0.1:\(port)")
        settings.name = "gw-tiny"
        settings.capacity = 64
        settings.batchSize = 32
        settings.backoffInitial = .milliseconds(10)
        settings.backoffMax = .milliseconds(100)
        settings.dropReportInterval = .milliseconds(100)
        let tap = ChunkTap(settings: settings)
        let source = try tap.register(principal: "svc-drops", resource: "pg://orders", hop: "gateway")
        // Event time is the wall clock, as for any live tap (the report's time is the tap's wall clock).
        let base = Timestamp.now()
        var seq: Int64 = 0
        func chunk(size: Int64) -> TapRecord {
            defer { seq += 1 }
            return TapRecord(ts: base + .milliseconds(seq), source: source, conn: 7, dir: .out, seq: seq, size: size)
        }

        // No collector yet: the forwarder holds one batch, the ring 64 records, the rest are dropped.
        var refused = 0
        for i in 0..<2_000 where !tap.record(chunk(size: 16_384 + Int64(i % 16))) { refused += 1 }
        let recorded = 2_000 - refused
        #expect(recorded <= 64 + 32 && refused == tap.stats.dropped)

        let server = try await TapTestServer.start(ingestPort: port)
        let client = try HTTPStreamClient(url: "http://" + server.http)
        // What the tap held arrives, then its report of the drops.
        #expect(try await waitUntil(seconds: 60) { await server.eventsAccepted() == recorded })
        #expect(try await waitUntil(seconds: 60) { try await metric(client, #"chunkwatch_tap_dropped_events_total{tap="gw-tiny"}"#) == refused })
        // One report, or two when the tap's first report went out while it was still dropping.
        let reports = tap.stats.dropReports
        #expect(reports >= 1)
        #expect(try await waitUntil(seconds: 60) { try await metric(client, "chunkwatch_tap_drop_reports_total") == reports })
        #expect(try await server.json("/v1/baselines")["events_rejected"] as? Int == 0, "a report is not a rejected line")

        // More of the usual chunks, a few at a time so the ring never fills, warm
        // the size baseline up; then a chunk 4 000 times the usual one.
        var accepted = recorded
        for _ in 0..<4 {
            for i in 0..<25 { #expect(tap.record(chunk(size: 16_384 + Int64(i % 16)))) }
            accepted += 25
            let want = accepted
            #expect(try await waitUntil(seconds: 60) { await server.eventsAccepted() == want })
        }
        #expect(tap.record(chunk(size: 64 << 20)))
        let line = try await waitForLine(seconds: 60) {
            try await text(client, "/v1/alerts?principal=svc-drops&detector=size").split(separator: "\n").first.map(String.init)
        }
        let found = try #require(line, "no size alert for svc-drops")
        let alert = try #require(try JSONSerialization.jsonObject(with: Data(found.utf8)) as? [String: Any])
        let coverage = try #require(alert["coverage"] as? [String: Any], "\(found)")
        #expect(coverage["dropped"] as? Int == refused)
        #expect(coverage["rejected"] as? Int == 0)

        tap.close()
        #expect(tap.stats.dropReports == reports, "no new drops since: the tap reports nothing more at close")
        await server.stop()
    }
}

/// The body of a GET, as text.
private func text(_ client: HTTPStreamClient, _ path: String) async throws -> String {
    try await offThePool {
        var out: [UInt8] = []
        try client.request("GET", path, headers: [], body: []) { out += $0 }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The value of one series in `GET /metrics` (`name{labels}` as rendered), or nil when absent.
private func metric(_ client: HTTPStreamClient, _ series: String) async throws -> Int? {
    let body = try await text(client, "/metrics")
    for line in body.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Int(Double(line.dropFirst(series.count + 1)) ?? -1)
    }
    return nil
}

/// Polls `fetch` until it gives a value (at most `seconds`).
private func waitForLine(seconds: Double, _ fetch: () async throws -> String?) async throws -> String? {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let value = try? await fetch() { return value }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await fetch()
}
