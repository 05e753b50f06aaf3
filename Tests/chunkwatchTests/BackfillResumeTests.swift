#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing

/// `backfill --db` picks up where an interrupted run stopped.
@Suite struct BackfillResumeTests {
    static func storedAlerts(_ db: String) throws -> [String] {
        let r = try chunkwatch("tail", "--db", db, "--json")
        #expect(r.exitedCleanly, "\(r.stderrText)")
        return r.stdoutText.split(separator: "\n").map { String($0).replacing(/"emitted_at":"[^"]*"/, with: "") }
    }

    @Test func aKilledBackfillResumesAfterItsLastFinishedInputWithTheSameAlerts() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        var paths: [String] = []
        for (i, start) in ["2026-11-23T00:00:00Z", "2026-11-23T08:00:00Z", "2026-11-23T16:00:00Z"].enumerated() {
            let r = try chunkwatch("gen", "--principals", "10", "--hours", "8", "--seed", "12", "--start", start)
            paths.append(try dir.write("part-\(i).ndjson", r.stdoutText))
        }
        let reference = dir.path("reference.db")
        #expect(try chunkwatch(["backfill"] + paths + ["--db", reference, "--workers", "2", "--alerts-out", "/dev/null"]).exitedCleanly)
        let expected = try Self.storedAlerts(reference)
        try #require(!expected.isEmpty)

        // The third input is a FIFO: the first run reads the first two to the end
        // (recording its state after each), then waits on it and is killed.
        let db = dir.path("resumed.db")
        let third = paths[2]
        let text = try String(contentsOfFile: third, encoding: .utf8)
        try FileManager.default.removeItem(atPath: third)
        #expect(mkfifo(third, 0o644) == 0)
        let first = try Child(["backfill"] + paths + ["--db", db, "--workers", "2", "--alerts-out", "/dev/null"], timeout: 60)
        var fd: Int32 = -1
        for _ in 0..<3000 where fd < 0 {
            fd = open(third, O_WRONLY | O_NONBLOCK)  // succeeds once the backfill opens it for reading
            if fd < 0 { usleep(10_000) }
        }
        try #require(fd >= 0, "the first run never reached its third input")
        kill(first.process.processIdentifier, SIGKILL)
        close(fd)
        _ = first.wait()
        #expect(try Self.storedAlerts(db).count < expected.count, "killed before the end")

        try FileManager.default.removeItem(atPath: third)
        _ = try dir.write("part-2.ndjson", text)
        let second = try chunkwatch(["backfill"] + paths + ["--db", db, "--workers", "2", "--alerts-out", "/dev/null"])
        #expect(second.exitedCleanly, "\(second.stderrText)")
        #expect(second.stderrText.contains("2 of 3 inputs already done"))
        #expect(try Self.storedAlerts(db) == expected)

        // Finished: a third run starts over, and adds nothing to the store.
        let third_ = try chunkwatch(["backfill"] + paths + ["--db", db, "--workers", "2", "--alerts-out", "/dev/null"])
        #expect(!third_.stderrText.contains("resuming"))
        #expect(try Self.storedAlerts(db) == expected)
    }
}
