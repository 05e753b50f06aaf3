#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing

/// `chunkwatch score`: one line per accepted event, in input order (SPEC §5).
@Suite("score")
struct ScoreTests {
    @Test func oneScoreLinePerAcceptedEventInInputOrder() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let g = try chunkwatch([
            "gen", "--principals", "4", "--hours", "3", "--seed", "5", "--anomalies", "size,rate", "--output", dir.path("gen.ndjson"),
        ])
        #expect(g.exitedCleanly, "\(g)")
        var lines = try dir.readText("gen.ndjson").split(separator: "\n").map(String.init)
        try #require(lines.count > 10_000)

        // Rejected lines among the events, and two events whose times are not
        // already in the output's shape (an offset, an integer epoch).
        lines.insert("not json at all", at: 10)
        lines.insert(#"{"ts":"2026-11-23T00:00:01.000Z","principal":"p-missing"}"#, at: 1000)
        lines.insert(#"{"ts":"2026-11-23T00:00:01.000Z","principal":"p-negative","size":-1}"#, at: 5000)
        lines.append(#"{"ts":"2026-11-23T05:30:00.5+02:00","principal":"p-offset","size":5}"#)
        lines.append(#"{"ts":1795392005123,"principal":"p-epoch","size":7}"#)
        let input = try dir.write("input.ndjson", lines.joined(separator: "\n") + "\n")

        let r = try chunkwatch("score", input)
        #expect(r.exitedCleanly, "\(r)")
        #expect(r.stderrLines == ["chunkwatch: score: 3 rejected (1 not_json, 1 missing_field, 1 negative_size)"], "\(r)")

        let rejected: Set<Int> = [10, 1000, 5000]
        let accepted = lines.enumerated().filter { !rejected.contains($0.offset) }.map(\.element)
        let out = r.stdoutLines
        try #require(out.count == accepted.count, "\(out.count) score lines for \(accepted.count) accepted events")

        let expectedTimes: [String: String] = ["p-offset": "2026-11-23T03:30:00.500Z", "p-epoch": "2026-11-23T00:00:05.123Z"]
        var mismatches = 0
        for (i, (line, event)) in zip(out, accepted).enumerated() {
            guard let s = jsonObject(line), let e = jsonObject(event) else {
                Issue.record("score line \(i + 1) is not JSON: \(line)")
                mismatches += 1
                continue
            }
            let principal = e["principal"] as? String ?? ""
            let wantTs = expectedTimes[principal] ?? (e["ts"] as? String ?? "")
            var problems: [String] = []
            if s["principal"] as? String != principal { problems.append("principal \(s["principal"] ?? "nil"), want \(principal)") }
            if s["ts"] as? String != wantTs { problems.append("ts \(s["ts"] ?? "nil"), want \(wantTs)") }
            let scores = s["scores"] as? JSONObject ?? [:]
            if Set(scores.keys) != BackfillTests.builtInDetectors { problems.append("scores keys \(scores.keys.sorted()), want \(BackfillTests.builtInDetectors.sorted())") }
            let values = scores.values.compactMap(number)
            if values.count != scores.count || values.contains(where: { !($0 >= 0 && $0 <= 1) }) {
                problems.append("a detector score outside 0…1")
            }
            if let top = number(s["score"]) {
                if abs(top - (values.max() ?? -1)) > 1e-9 { problems.append("score \(top) is not the highest detector score") }
            } else {
                problems.append("score is not a number")
            }
            if !problems.isEmpty {
                mismatches += 1
                if mismatches <= 5 { Issue.record("score line \(i + 1) for input \(event): \(problems.joined(separator: "; ")): \(line)") }
            }
        }
        #expect(mismatches == 0)

        // The scores agree with the alerts: the event that opened each alert
        // scores at least 0.5 (the threshold) on that detector, the alert's own score.
        let b = try chunkwatch("backfill", input)
        #expect(b.status == 0, "\(b)")
        // size and rate raise their anomaly on the event itself, with that event's
        // score; others judge buckets, runs or absences (silence fires at a tick).
        let firing = b.stdoutLines.compactMap(jsonObject).filter {
            $0["status"] as? String == "firing" && ["size", "rate"].contains($0["detector"] as? String ?? "")
        }
        try #require(firing.count >= 2, "gen --anomalies size,rate should fire both detectors: \(b.stdoutText)")
        let scored = out.compactMap(jsonObject)
        for alert in firing {
            let detector = alert["detector"] as? String ?? "?"
            let score = try #require(number(alert["score"]))
            let matching = scored.filter { $0["ts"] as? String == alert["first_ts"] as? String && $0["principal"] as? String == alert["principal"] as? String }
            let best = matching.compactMap { number(($0["scores"] as? JSONObject)?[detector]) }.max()
            #expect(best != nil && best! >= 0.5, "the event behind \(detector) alert \(alert["id"] ?? "") scores \(String(describing: best))")
            #expect(best.map { abs($0 - score) < 1e-3 } ?? false, "alert score \(score), event's \(detector) score \(String(describing: best))")
        }
    }

    /// A file of rejected lines only: no output, a count on stderr, exit 0.
    @Test func onlyRejectedLinesGiveNoOutput() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let input = try dir.write("bad.ndjson", "nope\n{\"ts\":\"x\",\"principal\":\"a\",\"size\":1}\n\n")
        let r = try chunkwatch("score", input)
        #expect(r.exitedCleanly, "\(r)")
        #expect(r.stdout.isEmpty, "\(r.stdoutText)")
        #expect(r.stderrLines == ["chunkwatch: score: 2 rejected (1 not_json, 1 bad_timestamp)"], "\(r)")
    }

    /// `score big.ndjson | head`: the reader goes away. Ending quietly, by a
    /// clean exit or by SIGPIPE as most Unix tools do, is fine; an error
    /// message about the broken pipe or a hang is not.
    @Test func readerClosingEarly() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let events = dir.path("e.ndjson")
        let g = try chunkwatch(["gen", "--principals", "4", "--hours", "3", "--seed", "5", "--anomalies", "none", "--output", events])
        #expect(g.exitedCleanly, "\(g)")
        let pipe = Pipe()
        let child = try Child(["score", events], stdout: .pipe(pipe), timeout: 30)
        try? pipe.fileHandleForWriting.close()
        var received = Data()
        while received.filter({ $0 == 0x0A }).count < 3 {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            received.append(chunk)
        }
        try pipe.fileHandleForReading.close()
        let r = child.wait()
        #expect(received.filter { $0 == 0x0A }.count >= 3, "\(r)")
        #expect(!r.timedOut, "\(r)")
        #expect(r.stderr.isEmpty, "score printed on stderr after its reader went away: \(r)")
        #expect((!r.signalled && r.status == 0) || (r.signalled && r.status == SIGPIPE), "\(r)")
    }
}
