import Foundation
import Testing

@Suite("PostgresServer")
struct PostgresServerTests {
    // Skips, rather than fails, on a machine without PostgreSQL:
    // `apt-get install postgresql` (make test does) to run it.

    @Test(
        "a throwaway PostgreSQL answers psql and pgbench, and leaves nothing behind",
        .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason ?? "")"))
    func startQueryBenchStop() async throws {
        let server = try await PostgresServer.start()
        defer { server.stop() }

        let sum = try await psql(port: server.port, sql: "SELECT sum(g) FROM generate_series(1, 1000) g")
        #expect(sum.status == 0, "\(sum)")
        #expect(sum.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "500500", "\(sum)")

        let failed = try await psql(port: server.port, sql: "SELECT * FROM no_such_table")
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("no_such_table"), "\(failed)")

        let initialised = try await pgbench(port: server.port, arguments: ["-i", "-s", "1"])
        #expect(initialised.status == 0, "\(initialised)")
        let bench = try await pgbench(port: server.port, arguments: ["-c", "2", "-j", "2", "-t", "100", "-S"])
        #expect(bench.status == 0, "\(bench)")
        #expect(bench.stdout.contains("number of transactions actually processed: 200/200"), "\(bench)")

        server.stop()
        #expect(!FileManager.default.fileExists(atPath: server.directory))
        let refused = try await psql(port: server.port, sql: "SELECT 1")
        #expect(refused.status != 0, "\(refused)")
    }
}
