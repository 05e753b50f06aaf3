import Foundation
import Testing

/// Issue 9's crash repros through the real CLI: each ends in a count, a
/// refusal or a one-line error, never in a signal.
@Suite("hostile input")
struct HostileInputTests {
    static let next = #"{"ts":"2025-11-25T08:00:01Z","principal":"p","size":1}"#

    /// The smoke check of issue 9: an odd first line, then a good one.
    static let smoke: [(line: String, rejected: String?)] = [
        (#"{"ts":-9223372036853,"principal":"p","size":1}"#, "ts_out_of_range"),
        (#"{"ts":"1677-09-21T00:13:00Z","principal":"p","size":1}"#, "ts_out_of_range"),
        (#"{"ts":9223372036854,"principal":"p","size":9007199254740993}"#, "ts_out_of_range"),
        (#"{"ts":"2025-11-25T08:00:00Z","principal":"p","size":1,"seq":-1}"#, "wrong_type"),
        (#"{"ts":"2025-11-25T08:00:00Z","principal":"p","size":9007199254740993,"seq":9007199254740993}"#, nil),
        (#"{"ts":"2025-11-25T08:00:00Z","principal":"p","size":9223372036854775807}"#, "wrong_type"),
        (#"{"ts":"2199-12-31T23:59:59.999Z","principal":"p","size":1}"#, nil),
        (#"{"ts":0,"principal":"p","size":1}"#, nil),
    ]

    @Test(arguments: ["backfill", "score"])
    func oneOddLineThenAGoodOneIsCountedNotACrash(command: String) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        for (i, c) in Self.smoke.enumerated() {
            let input = try dir.write("in-\(i).ndjson", c.line + "\n" + Self.next + "\n")
            let r = try chunkwatch([command, "-"], stdin: .file(input))
            #expect(!r.signalled && !r.timedOut && r.status == 0, "\(c.line): \(r)")
            if let reason = c.rejected {
                #expect(r.stderrText.contains("1 rejected (1 \(reason))"), "\(c.line): \(r.stderrText)")
            } else {
                #expect(!r.stderrText.contains("rejected ("), "\(c.line): \(r.stderrText)")
            }
            if command == "backfill" {
                #expect(summaryEventCount(r.stderrLines) == (c.rejected == nil ? 2 : 1), "\(r.stderrText)")
            } else {
                #expect(r.stdoutLines.count == (c.rejected == nil ? 2 : 1), "one score per event: \(r.stdoutText)")
            }
        }
    }

    @Test func outOfRangeLinesGoToTheRejectsFileWithTheirReason() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let input = try dir.write("in.ndjson", Self.smoke.prefix(3).map(\.line).joined(separator: "\n") + "\n" + Self.next + "\n")
        let r = try chunkwatch("backfill", input, "--rejects", dir.path("rejects.ndjson"))
        #expect(r.exitedCleanly, "\(r)")
        let rejects = try dir.readText("rejects.ndjson").split(separator: "\n").compactMap { jsonObject(String($0)) }
        #expect(rejects.map { $0["reason"] as? String } == ["ts_out_of_range", "ts_out_of_range", "ts_out_of_range"])
        #expect(rejects.map { integer($0["line"]) } == [1, 2, 3])
    }

    @Test(arguments: [
        ("pipeline:\n tick: 4e40\n", "pipeline.tick", "'4e40' is out of range: a duration from 1ms to 18250d (50 years)"),
        ("detectors:\n  size:\n    cooldown: 4e40\n", "size.cooldown", "'4e40' is out of range"),
        ("detectors:\n  rate:\n    bucket: 99999999999999999d\n", "rate.bucket", "to 18250d"),
        ("detectors:\n  size:\n    threshold: .nan\n", "size.threshold", "expected a number"),
        ("detectors:\n  size:\n    threshold: nan\n", "size.threshold", "expected a number"),
        ("detectors:\n  size:\n    threshold: inf\n", "size.threshold", "expected a number"),
        ("detectors:\n  silence:\n    multiple: -.inf\n", "silence.multiple", "expected a number"),
        ("detectors:\n  size:\n    cooldown: nan\n", "size.cooldown", "expected a duration"),
        ("detectors:\n  size:\n    max_keys: 9223372036854775807\n", "size.max_keys", "from 1 to 100000000"),
        ("detectors:\n  size:\n    window: 1000000000\n", "size.window", "from 2 to 65536"),
        ("pipeline:\n  workers: 100000\n", "pipeline.workers", "from 0 to 1024"),
    ])
    func configCheckNamesTheLineTheKeyAndTheRange(yaml: String, key: String, message: String) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("c.yaml", yaml)
        let r = try chunkwatch("config", "check", file)
        #expect(!r.signalled && !r.timedOut && r.status != 0, "\(r)")
        #expect(r.stderrLines.count == 1, "want a one-line error: \(r)")
        let line = yaml.split(separator: "\n").count
        #expect(r.stderrText.contains("\(file):\(line):"), "\(r.stderrText)")
        #expect(r.stderrText.contains(key), "\(r.stderrText)")
        #expect(r.stderrText.contains(message), "\(r.stderrText)")
    }

    @Test func theTwentyOneByteConfigOfTheIssueIsAnError() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("tick.yaml", "pipeline:\n tick: 4e40")
        #expect(try dir.read("tick.yaml").count == 21)
        let r = try chunkwatch("config", "check", file)
        #expect(!r.signalled && r.status != 0, "\(r)")
        #expect(r.stderrText.contains("\(file):2:"), "\(r)")
    }

    @Test(arguments: ["106752d", "9223372036854775807ms", "18251d", "-1h", "nan", "inf"])
    func tailSinceOutOfRangeIsAUsageError(since: String) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let r = try chunkwatch("tail", "--db", dir.path("none.db"), "--since=\(since)")
        #expect(!r.signalled && !r.timedOut && r.status == 64, "want EX_USAGE (64): \(r)")
        #expect(r.stderrText.contains("--since"), "\(r)")
        #expect(r.stderrText.contains("'\(since)'"), "names the value: \(r)")
    }

    @Test func tailSinceAnyWellFormedTimeOrShortDurationRuns() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let events = try dir.write("e.ndjson", Self.next + "\n")
        let db = dir.path("a.db")
        #expect(try chunkwatch("backfill", events, "--db", db).exitedCleanly)
        for since in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "18250d", "2h"] {
            let r = try chunkwatch("tail", "--db", db, "--since", since)
            #expect(r.exitedCleanly, "\(since): \(r)")
        }
    }

    @Test func genRefusesAStartOutsideTheAcceptedTimes() throws {
        for start in ["1969-12-31T00:00:00Z", "2199-12-31T00:00:00Z", "2262-04-11T00:00:00Z"] {
            let r = try chunkwatch("gen", "--start", start, "--hours", "48", timeout: 20)
            #expect(!r.signalled && r.status != 0, "\(start): \(r)")
            #expect(r.stdout.isEmpty)
            #expect(r.stderrText.contains("accepted event times"), "\(r)")
        }
    }
}
