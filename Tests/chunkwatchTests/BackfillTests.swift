import Foundation
import Testing

/// `gen | backfill -` end to end: the alert lines SPEC §3 promises, and the
/// injected anomalies found.
@Suite("backfill")
struct BackfillTests {
    static let severities: Set<String> = ["info", "low", "medium", "high", "critical"]

    /// The detectors SPEC §4 builds in.
    static let builtInDetectors: Set<String> = ["size", "rate", "volume", "integrity", "novelty", "changepoint", "silence"]

    /// Checks one alert line against SPEC §3; returns its parsed object.
    static func checkAlertShape(_ line: String, _ n: Int, sourceLocation: SourceLocation = #_sourceLocation) -> JSONObject? {
        guard let a = jsonObject(line) else {
            Issue.record("alert line \(n) is not a JSON object: \(line.prefix(300))", sourceLocation: sourceLocation)
            return nil
        }
        func check(_ ok: Bool, _ what: String) {
            if !ok { Issue.record("alert line \(n): \(what): \(line)", sourceLocation: sourceLocation) }
        }
        let id = a["id"] as? String ?? ""
        check(id.count == 16 && id.allSatisfy(\.isHexDigit), "id is not 16 hex digits")
        check(["firing", "resolved"].contains(a["status"] as? String ?? ""), "status is not firing/resolved")
        check(Self.builtInDetectors.contains(a["detector"] as? String ?? ""), "detector is not a built-in one")
        check(severities.contains(a["severity"] as? String ?? ""), "severity is not one of \(severities.sorted())")
        if let score = number(a["score"]) { check(score >= 0 && score <= 1, "score outside 0…1") } else { check(false, "score is not a number") }
        for field in ["ts", "emitted_at", "first_ts", "last_ts"] {
            check(utcMillis(a[field] as? String ?? "") != nil, "\(field) is not RFC 3339 UTC with milliseconds")
        }
        check(!(a["principal"] as? String ?? "").isEmpty, "principal missing or empty")
        for field in ["observed", "expected", "threshold"] {
            check(a.keys.contains(field), "\(field) absent (must be present, null when unknown)")
            check(number(a[field]) != nil || isNull(a[field]), "\(field) is neither a number nor null")
        }
        check(a.keys.contains("baseline"), "baseline absent (must be present, null when unknown)")
        check(a["baseline"] is JSONObject || isNull(a["baseline"]), "baseline is neither an object nor null")
        let message = a["message"] as? String ?? ""
        check(!message.isEmpty && !message.contains("\n"), "message is not one non-empty line")
        check((integer(a["count"]) ?? 0) >= 1, "count is not an integer ≥ 1")
        if let first = utcMillis(a["first_ts"] as? String ?? ""), let last = utcMillis(a["last_ts"] as? String ?? "") {
            check(first <= last, "first_ts after last_ts")
        }
        if let seq = a["seq"] { check((integer(seq) ?? -1) >= 0, "seq is not an integer ≥ 0") }
        return a
    }

    /// Every firing alert resolves exactly once, later, with the same id and figures.
    static func checkLifecycle(_ alerts: [JSONObject], sourceLocation: SourceLocation = #_sourceLocation) {
        var firingAt: [String: Int] = [:]
        var resolvedAt: [String: Int] = [:]
        for (i, a) in alerts.enumerated() {
            let id = a["id"] as? String ?? "?"
            switch a["status"] as? String {
            case "firing":
                if firingAt[id] != nil { Issue.record("id \(id) fires twice", sourceLocation: sourceLocation) }
                firingAt[id] = i
                #expect(integer(a["count"]) == 1, "a firing line has count \(a["count"] ?? "nil"), want 1", sourceLocation: sourceLocation)
                #expect(a["first_ts"] as? String == a["ts"] as? String, "firing \(id): first_ts ≠ ts", sourceLocation: sourceLocation)
            case "resolved":
                if resolvedAt[id] != nil { Issue.record("id \(id) resolves twice", sourceLocation: sourceLocation) }
                resolvedAt[id] = i
                guard let f = firingAt[id] else {
                    Issue.record("id \(id) resolves without having fired before", sourceLocation: sourceLocation)
                    continue
                }
                let firing = alerts[f]
                for field in ["detector", "principal", "first_ts"] {
                    #expect(
                        firing[field] as? String == a[field] as? String, "id \(id): \(field) changed between firing and resolved",
                        sourceLocation: sourceLocation)
                }
                #expect((number(a["score"]) ?? -1) >= (number(firing["score"]) ?? 2), "id \(id): resolved score below the firing one",
                        sourceLocation: sourceLocation)
            default: break
            }
        }
        for (id, _) in firingAt where resolvedAt[id] == nil {
            Issue.record("id \(id) fired and never resolved (every open alert resolves at the end of a backfill)", sourceLocation: sourceLocation)
        }
    }

    @Test func genPipedIntoBackfillRaisesWellFormedAlertsForTheInjectedAnomalies() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let labelsPath = dir.path("labels.ndjson")
        let pipe = Pipe()
        let gen = try Child(
            ["gen", "--principals", "12", "--hours", "6", "--seed", "3", "--labels-out", labelsPath], stdout: .pipe(pipe))
        let backfill = try Child(["backfill", "-"], stdin: .pipe(pipe))
        // The parent's copies of both ends closed: backfill sees EOF when gen ends.
        try? pipe.fileHandleForWriting.close()
        try? pipe.fileHandleForReading.close()
        let g = gen.wait()
        let b = backfill.wait()
        #expect(g.exitedCleanly, "\(g)")
        #expect(g.stderr.isEmpty, "12 principals over 6 hours hold every kind: \(g)")
        #expect(b.exitedCleanly, "\(b)")

        // stderr: exactly the summary line.
        #expect(b.stderrLines.count == 1, "\(b)")
        let events = try #require(summaryEventCount(b.stderrLines), "no summary line: \(b)")
        #expect(events > 50_000, "\(b)")
        #expect(b.stderrText.contains("0 rejected"), "\(b)")

        let lines = b.stdoutLines
        let alerts = lines.enumerated().compactMap { Self.checkAlertShape($1, $0 + 1) }
        #expect(alerts.count == lines.count)
        #expect(!alerts.isEmpty, "no alerts at all from a run with injected anomalies")
        Self.checkLifecycle(alerts)
        #expect(b.stderrText.contains("; \(alerts.filter { $0["status"] as? String == "firing" }.count) alerts fired"), "\(b)")

        // The injected size and rate windows are detected (SPEC §5: first_ts in [start, end + grace]).
        let labels = Label.parse(try dir.readText("labels.ndjson"))
        let kinds = Set(labels.map(\.kind))
        #expect(kinds == ["size", "rate", "volume", "integrity", "novelty", "changepoint", "silence"], "labels: \(labels)")
        let grace: Int64 = 5 * 60 * 1000
        for label in labels where label.kind == "size" || label.kind == "rate" {
            let hit = alerts.contains { a in
                guard a["status"] as? String == "firing", a["principal"] as? String == label.principal,
                    let first = utcMillis(a["first_ts"] as? String ?? "")
                else { return false }
                return first >= label.start && first <= label.end + grace
            }
            #expect(hit, "no firing alert for the injected \(label)")
        }
    }

    /// A clean stream (no injected anomaly) over several hours: nothing fires.
    @Test(arguments: [(10, UInt64(11)), (6, UInt64(4))])
    func cleanTrafficRaisesNoAlert(principals: Int, seed: UInt64) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let events = dir.path("clean.ndjson")
        let g = try chunkwatch([
            "gen", "--anomalies", "none", "--principals", "\(principals)", "--hours", "6", "--seed", "\(seed)",
            "--labels-out", dir.path("labels.ndjson"), "--output", events,
        ])
        #expect(g.exitedCleanly, "\(g)")
        #expect(try dir.read("labels.ndjson").isEmpty, "--anomalies none still wrote labels")
        let b = try chunkwatch(["backfill", events, "--alerts-out", dir.path("alerts.ndjson")])
        #expect(b.exitedCleanly, "\(b)")
        #expect(b.stdout.isEmpty, "--alerts-out given, yet alerts on stdout: \(b.stdoutText.prefix(500))")
        let alerts = try dir.readText("alerts.ndjson")
        #expect(alerts.isEmpty, "alerts on clean traffic:\n\(alerts.prefix(3000))")
        #expect(b.stderrText.contains("; 0 alerts fired"), "\(b)")
        let lines = try dir.readText("clean.ndjson").split(separator: "\n").count
        #expect(summaryEventCount(b.stderrLines) == lines, "\(b)")
    }
}
