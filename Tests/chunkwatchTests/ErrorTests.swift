import Foundation
import Testing

/// SPEC §5: non-zero exit with a one-line error on stderr.
@Suite("errors")
struct ErrorTests {
    @Test(arguments: ["backfill", "score"])
    func missingInputFile(command: String) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let missing = dir.path("no-such-file.ndjson")
        let r = try chunkwatch(command, missing)
        #expect(!r.signalled && !r.timedOut && r.status != 0, "\(r)")
        #expect(r.stderrLines.count == 1, "want a one-line error: \(r)")
        #expect(r.stderrText.contains(missing), "the error does not name the file: \(r)")
        #expect(r.stdout.isEmpty)
    }

    /// backfill --help: "Unreadable or corrupt inputs are reported one line each
    /// and skipped; the rest still run, and the exit status is 1."
    @Test func missingInputAmongOthersIsSkippedAndTheRestStillRun() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let good = try dir.write("good.ndjson", #"{"ts":"2026-11-23T00:00:00Z","principal":"svc-a","size":10}"# + "\n")
        let missing = dir.path("missing.ndjson")
        let b = try chunkwatch("backfill", good, missing, good)
        #expect(!b.signalled && !b.timedOut && b.status == 1, "want exit status 1: \(b)")
        #expect(b.stderrLines.filter { $0.contains(missing) }.count == 1, "\(b)")
        #expect(summaryEventCount(b.stderrLines) == 2, "the readable inputs around the missing one were not read: \(b)")

        let s = try chunkwatch("score", missing, good)
        #expect(!s.signalled && !s.timedOut && s.status == 1, "want exit status 1: \(s)")
        #expect(s.stdoutLines.count == 1, "score skipped the readable input after the missing one: \(s)")
    }

    @Test(arguments: ["backfill", "score"])
    func noInputIsAUsageError(command: String) throws {
        let r = try chunkwatch(command)
        #expect(!r.signalled && !r.timedOut && r.status == 64, "want EX_USAGE (64): \(r)")
        #expect(r.stdout.isEmpty)
        let first = try #require(r.stderrLines.first, "\(r)")
        #expect(first.contains("input") && first.contains("stdin"), "\(r)")
        #expect(r.stderrText.contains("Usage: chunkwatch \(command)"), "\(r)")
    }

    @Test func unknownAnomalyKindListsTheValidOnes() throws {
        let r = try chunkwatch("gen", "--anomalies", "size,bogus", "--hours", "1")
        #expect(!r.signalled && !r.timedOut && r.status != 0, "\(r)")
        #expect(r.stdout.isEmpty, "events written despite the error")
        #expect(r.stderrLines.count == 1, "want a one-line error: \(r)")
        let line = r.stderrText
        #expect(line.contains("bogus"), "\(r)")
        for kind in ["size", "rate", "volume", "integrity", "novelty", "changepoint", "silence"] {
            #expect(line.contains(kind), "the error does not list \(kind): \(line)")
        }
    }

    @Test(arguments: [
        (["--principals", "0"], "--principals"),
        (["--principals=-3"], "--principals"),
        (["--hours", "0"], "--hours"),
        (["--hours", "nan"], "--hours"),
        (["--live", "--speed", "0"], "--speed"),
        (["--start", "last tuesday"], "--start"),
    ])
    func genRejectsBadOptions(arguments: [String], option: String) throws {
        let r = try chunkwatch(["gen"] + arguments, timeout: 20)
        #expect(!r.signalled && !r.timedOut && r.status != 0, "\(r)")
        #expect(r.stdout.isEmpty, "events written despite the error")
        #expect(r.stderrLines.count == 1, "want a one-line error: \(r)")
        #expect(r.stderrText.contains(option), "\(r)")
    }

    @Test func backfillRejectsZeroWorkers() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let input = try dir.write("e.ndjson", #"{"ts":"2026-11-23T00:00:00Z","principal":"svc-a","size":10}"# + "\n")
        let r = try chunkwatch("backfill", input, "--workers", "0")
        #expect(!r.signalled && !r.timedOut && r.status != 0, "\(r)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderrLines.first?.contains("--workers") == true, "\(r)")
    }

    @Test func unwritableOutputs() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let input = try dir.write("e.ndjson", #"{"ts":"2026-11-23T00:00:00Z","principal":"svc-a","size":10}"# + "\n")
        let nowhere = dir.path("no-such-dir/out.ndjson")
        for args in [["backfill", input, "--alerts-out", nowhere], ["backfill", input, "--rejects", nowhere],
                     ["score", input, "--output", nowhere], ["gen", "--hours", "0.1", "--anomalies", "none", "--output", nowhere],
                     ["gen", "--hours", "0.1", "--anomalies", "none", "--labels-out", nowhere, "--output", dir.path("g.ndjson")]] {
            let r = try chunkwatch(args)
            #expect(!r.signalled && !r.timedOut && r.status != 0, "\(r)")
            #expect(r.stderrLines.count == 1 && r.stderrText.contains(nowhere), "want one line naming \(nowhere): \(r)")
        }
    }

    @Test func unknownCommand() throws {
        let r = try chunkwatch("frobnicate")
        #expect(!r.signalled && !r.timedOut && r.status != 0, "\(r)")
        #expect(r.stderrText.contains("frobnicate"), "\(r)")
    }
}
