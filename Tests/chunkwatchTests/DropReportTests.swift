#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing

/// Taps' drop reports (docs/wire-format.md) through the commands: `backfill`
/// and `serve` count them into the coverage of the alerts, the same way live
/// and replayed, for any number of workers.
@Suite(.serialized)
struct DropReportTests {
    /// gen's traffic with a drop report after every 250th event, for that
    /// event's principal, made two seconds later (a live tap's wall clock).
    static let traffic: (lines: [String], events: Int, reports: Int, dropped: Int) = {
        let lines = (try? ServeTests.gen("--principals", "8", "--hours", "6", "--seed", "5")) ?? []
        var out: [String] = []
        var reports = 0
        var dropped = 0
        for (i, line) in lines.enumerated() {
            out.append(line)
            guard i % 250 == 249, let o = jsonObject(line), let principal = o["principal"] as? String,
                let ts = (o["ts"] as? String).flatMap(utcMillis)
            else { continue }
            let n = 10 + i % 37
            let at = utcString(millis: ts + 2_000)
            out.append(
                #"{"chunkwatch_tap":"drops","tap":"gw-live","ts":"\#(at)","since":"\#(utcString(millis: ts - 8_000))","dropped":\#(n),"dropped_by_principal":{"\#(principal)":\#(n)}}"#
            )
            reports += 1
            dropped += n
        }
        return (out, lines.count, reports, dropped)
    }()

    /// Firing lines that show drops in their coverage.
    static func firingWithDrops(_ lines: [String]) -> [String] {
        lines.filter { $0.contains(#""status":"firing""#) && $0.contains(#""coverage":"#) && !$0.contains(#""dropped":0}"#) }
    }

    @Test func backfillCountsReportsIntoCoverageForAnyNumberOfWorkers() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let t = Self.traffic
        try #require(t.reports > 50)
        let input = try dir.write("with-reports.ndjson", t.lines.joined(separator: "\n") + "\n")
        let one = try chunkwatch("backfill", input, "--workers", "1")
        #expect(one.exitedCleanly, "\(one)")
        #expect(!Self.firingWithDrops(one.stdoutLines).isEmpty, "some alerts show the drops of their principal")
        let summary = one.stderrLines.last { $0.contains("backfill: ") } ?? ""
        #expect(summary.contains("\(t.events) events, 0 rejected, \(t.reports) tap drop reports"), "\(summary)")
        let four = try chunkwatch("backfill", input, "--workers", "4")
        #expect(four.stdoutLines.map(withoutEmittedAt) == one.stdoutLines.map(withoutEmittedAt))

        // `score` prints one line per event: a report is neither an event nor a rejection.
        let score = try chunkwatch("score", input)
        #expect(score.exitedCleanly && score.stdoutLines.count == t.events && score.stderrText.isEmpty, "\(score)")
    }

    @Test func serveArchivesReportsSoABackfillOfTheArchiveShowsTheSameCoverage() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let t = Self.traffic
        let daemon = try ServeTests.Daemon.start(dir)
        try sendLines(t.lines, to: daemon.ingest, pauseEvery: 5_000)
        var waited = 0
        while daemon.accepted < t.events && waited < 6_000 {
            usleep(10_000)
            waited += 1
        }
        #expect(daemon.accepted == t.events)
        var metrics = ""
        waited = 0
        while !metrics.contains("chunkwatch_tap_drop_reports_total \(t.reports)") && waited < 1_000 {
            metrics = (try? daemon.get("/metrics")) ?? ""
            usleep(20_000)
            waited += 1
        }
        #expect(metrics.contains(#"chunkwatch_tap_dropped_events_total{tap="gw-live"} \#(t.dropped)"#))
        #expect(metrics.contains("chunkwatch_tap_drop_reports_total \(t.reports)"))
        #expect(metrics.contains(#"chunkwatch_events_rejected_total{reason="missing_field"} 0"#))
        let result = daemon.stop()
        #expect(result.status == 0 && !result.signalled, "\(result.stderrText)")

        // Every line is archived in its place, reports too.
        let archived = try shellOutput("cat \(dir.path("archive"))/*.ndjson.lz4 | lz4 -dc").split(separator: "\n").map(String.init)
        #expect(archived == t.lines)

        // The daemon's alerts and a backfill's of its archive: the same, coverage included.
        let stored = try chunkwatch("tail", "--db", dir.path("chunkwatch.db"), "--json")
        #expect(stored.exitedCleanly)
        let replay = try chunkwatch("backfill", dir.path("archive"), "--workers", "3")
        #expect(replay.exitedCleanly)
        let firing = { (lines: [String]) in lines.filter { $0.contains(#""status":"firing""#) }.map(withoutEmittedAt) }
        #expect(!Self.firingWithDrops(stored.stdoutLines).isEmpty)
        #expect(firing(stored.stdoutLines) == firing(replay.stdoutLines))
    }
}
