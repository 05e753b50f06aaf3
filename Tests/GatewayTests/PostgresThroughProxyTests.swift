import ChunkTap
import Foundation
import Gateway
import Logging
import Server
import Testing

/// A real `chunkwatch serve` (in process, on free loopback ports, in a
/// temporary directory): the collector the proxy's tap sends to.
final class InProcessCollector: Sendable {
    let http: String
    let ingest: String
    private let client: HTTPStreamClient
    private let task: Task<Void, any Error>

    static func start() async throws -> InProcessCollector {
        let directory = NSTemporaryDirectory() + "chunkwatch-gw-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var settings = ChunkWatchServer.Settings()
        settings.httpPort = 0
        settings.ingestPort = 0
        settings.databasePath = directory + "/chunkwatch.db"
        settings.archiveDirectory = directory + "/archive"
        settings.config.pipeline.workers = 2
        let (addresses, continuation) = AsyncStream<(String, String)>.makeStream()
        let server = ChunkWatchServer(settings: settings, logger: quietLogger())
        let task = Task {
            try await server.run(reloadConfig: nil) { http, ingest in continuation.yield((http, ingest)) }
        }
        for await (http, ingest) in addresses {
            return try InProcessCollector(http: http, ingest: ingest, task: task)
        }
        _ = await task.result
        throw ServerError("the collector did not start")
    }

    private init(http: String, ingest: String, task: Task<Void, any Error>) throws {
        self.http = http
        self.ingest = ingest
        self.task = task
        client = try HTTPStreamClient(url: "http://" + http)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    func get(_ path: String) async throws -> String {
        let client = self.client
        return try await offThePool {
            var out: [UInt8] = []
            try client.request("GET", path, headers: [], body: []) { out += $0 }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// `/v1/baselines`' row for `principal`, if the collector knows it.
    func baseline(of principal: String) async throws -> [String: Any]? {
        let text = try await get("/v1/baselines?principal=\(principal)")
        let view = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let rows = view?["principals"] as? [[String: Any]]
        return rows?.first { $0["principal"] as? String == principal }
    }

    /// The stored alerts of `principal`, as JSON objects.
    func alerts(of principal: String) async throws -> [[String: Any]] {
        try await get("/v1/alerts?principal=\(principal)").split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}

/// PostgreSQL behind `chunkwatch proxy`'s gateway, its tap sending to a real
/// collector: what a user sets up, checked end to end.
@Suite(.serialized) struct PostgresThroughProxyTests {
    static let principal = "svc-pg"

    @Test(
        "psql and pgbench through the proxy: identical results, the principal in the baselines, a large COPY alerts",
        .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason ?? "")"))
    func postgresBehindTheProxy() async throws {
        let database = try await PostgresServer.start()
        defer { database.stop() }
        let collector = try await InProcessCollector.start()
        var tapSettings = ChunkTap.Settings(collector: collector.ingest)
        tapSettings.name = "pg-proxy"
        tapSettings.connPrefix = "pg-proxy-"
        tapSettings.wire = .binary  // as `chunkwatch proxy` sends by default
        let tap = ChunkTap(settings: tapSettings)
        var settings = Gateway.Settings(listeners: [
            Gateway.Listener(
                listenHost: "127.0.0.1", listenPort: 0, upstreamHost: "127.0.0.1", upstreamPort: database.port,
                principal: Self.principal, resource: "pg://postgres")
        ])
        settings.threads = 2
        let gateway = Gateway(settings: settings, tap: tap, logger: quietLogger())
        let address = try #require(try await gateway.start().first)
        let proxyPort = try #require(Int(address.split(separator: ":").last ?? ""))

        // pgbench through the proxy: its own schema, then read-only transactions.
        let initialised = try await pgbench(port: proxyPort, arguments: ["-i", "-s", "1"])
        #expect(initialised.status == 0, "\(initialised)")
        let bench = try await pgbench(port: proxyPort, arguments: ["-c", "2", "-j", "2", "-t", "300", "-S"])
        #expect(bench.stdout.contains("number of transactions actually processed: 600/600"), "\(bench)")

        // The collector sees the principal's traffic, both ways.
        #expect(
            try await waitUntil(seconds: 60) {
                let row = try await collector.baseline(of: Self.principal)
                return (row?["events"] as? Int ?? 0) > 600 && (row?["bytes_in"] as? Int ?? 0) > 0 && (row?["bytes_out"] as? Int ?? 0) > 0
            }, "the principal's events reached /v1/baselines")

        // A large COPY out through the proxy: identical output, and an alert.
        // It is the first large answer this principal gets: until now its
        // chunks out were pgbench's small replies. (An alert that was already
        // open would absorb the COPY's chunks, and show them only when it resolves.)
        let directory = database.directory
        let copyStarted = Date()
        let copy = "COPY (SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, 150000) g) TO STDOUT"
        let copiedDirectly = try await psql(port: database.port, sql: copy, options: ["-o", directory + "/direct.copy"])
        let copiedThrough = try await psql(port: proxyPort, sql: copy, options: ["-o", directory + "/proxied.copy"])
        #expect(copiedDirectly.status == 0 && copiedThrough.status == 0, "\(copiedDirectly)\n\(copiedThrough)")
        let a = try Data(contentsOf: URL(fileURLWithPath: directory + "/direct.copy"))
        let b = try Data(contentsOf: URL(fileURLWithPath: directory + "/proxied.copy"))
        #expect(a.count > 25_000_000)
        #expect(a == b, "the COPY through the proxy differs from the direct one")
        #expect(
            try await waitUntil(seconds: 60) {
                try await collector.alerts(of: Self.principal).contains {
                    Self.isVolumeOrSize($0) && Self.date($0["first_ts"]).map { $0 >= copyStarted.addingTimeInterval(-1) } == true
                }
            }, "the large COPY raised a size or volume alert for \(Self.principal)")

        // The same query, directly and through the proxy: byte for byte the same.
        let query = "SELECT aid, bid, abalance, md5(filler) FROM pgbench_accounts WHERE aid % 7 = 0 ORDER BY aid"
        let direct = try await psql(port: database.port, sql: query)
        let proxied = try await psql(port: proxyPort, sql: query)
        #expect(direct.status == 0 && proxied.status == 0, "\(direct)\n\(proxied)")
        #expect(direct.stdout.utf8.count > 500_000)
        #expect(proxied.stdout == direct.stdout, "the proxy changed the result")

        let stats = gateway.stats.snapshot
        #expect(stats.clientErrors == 0 && stats.upstreamErrors == 0 && stats.upstreamConnectFailures == 0, "\(stats)")
        #expect(stats.bytesOut > 25_000_000)
        await gateway.stop()
        tap.close()
        #expect(tap.stats.dropped == 0, "the tap kept up (\(tap.stats))")
        await collector.stop()
    }

    static func date(_ value: Any?) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return (value as? String).flatMap { formatter.date(from: $0) }
    }

    static func isVolumeOrSize(_ alert: [String: Any]) -> Bool {
        ["size", "volume"].contains(alert["detector"] as? String ?? "")
    }
}
