import Foundation
import Testing

/// `chunkwatch eval` on a tiny setup: its JSON per profile, the figures'
/// bounds, the same bytes on a second run, the gates' exit status.
@Suite("eval")
struct EvalTests {
    static let tiny = ["eval", "--profile", "steady", "--seeds", "1", "--principals", "8", "--hours", "6", "--warmup", "3"]

    @Test func jsonShapeAndBounds() throws {
        let r = try chunkwatch(Self.tiny + ["--json"], timeout: 180)
        #expect(r.exitedCleanly, "\(r)")
        let objects = jsonObjects(r.stdoutLines, what: "eval --json")
        #expect(objects.count == 1)
        let o = try #require(objects.first)
        #expect(o["profile"] as? String == "steady")
        #expect(o["seeds"] as? [Int] == [1] && o["principals"] as? Int == 8 && o["runs"] as? Int == 1)
        #expect(o["hours"] as? Double == 6 && o["warmup_hours"] as? Double == 3 && o["grace_s"] as? Double == 300)
        #expect((o["events"] as? Int ?? 0) > 10_000)
        #expect(o["principal_days"] as? Double == 1)

        let kinds = try #require(o["kinds"] as? [[String: Any]])
        #expect(kinds.map { $0["kind"] as? String ?? "" } == ["size", "rate", "volume", "integrity", "novelty", "changepoint", "silence"])
        var labelled = 0
        for k in kinds {
            let (l, e, f) = (k["labelled"] as? Int ?? -1, k["explained"] as? Int ?? -1, k["found"] as? Int ?? -1)
            #expect(0 <= e && e <= f && f <= l, "\(k)")
            #expect(k.keys.contains("median_ttd_s") && k["scenarios"] is [Any], "\(k)")
            #expect((k["median_ttd_s"] is NSNull) == (e == 0), "\(k)")
            labelled += l
        }
        #expect(labelled > 0)

        let detectors = try #require(o["detectors"] as? [[String: Any]])
        #expect(detectors.map { $0["detector"] as? String ?? "" } == ["size", "rate", "volume", "integrity", "novelty", "changepoint", "silence"])
        var alerts = 0, falseAlerts = 0
        for d in detectors {
            let (a, f) = (d["alerts"] as? Int ?? -1, d["false"] as? Int ?? -1)
            #expect(0 <= f && f <= a, "\(d)")
            #expect(d["false_per_principal_day"] as? Double == Double(f), "one principal-day: \(d)")
            alerts += a
            falseAlerts += f
        }
        let t = try #require(o["totals"] as? [String: Any])
        #expect(t["labelled"] as? Int == labelled && t["alerts"] as? Int == alerts && t["false"] as? Int == falseAlerts)
        let explained = t["explained"] as? Int ?? -1, found = t["found"] as? Int ?? -1
        #expect(0 <= explained && explained <= found && found <= labelled)
        // Ratios are written with 4 decimals.
        func near(_ key: String, _ v: Double) -> Bool { abs((t[key] as? Double ?? -1) - v) < 1e-4 }
        #expect(near("recall", Double(explained) / Double(labelled)), "\(t)")
        #expect(near("recall_found", Double(found) / Double(labelled)), "\(t)")
        if alerts > 0 { #expect(near("precision", Double(alerts - falseAlerts) / Double(alerts)), "\(t)") }
        for key in ["median_ttd_s", "false_per_principal_day"] { #expect(t.keys.contains(key), "\(key): \(t)") }

        // One progress line per run, then the whole run's, on stderr only.
        #expect(r.stderrLines.filter { $0.hasPrefix("chunkwatch: eval: steady seed 1: ") && $0.hasSuffix("events/s)") }.count == 1, "\(r)")

        // The same options, the same bytes (the table has no wall-clock figure either).
        let again = try chunkwatch(Self.tiny + ["--json", "--workers", "2"], timeout: 180)
        #expect(again.stdoutText == r.stdoutText)
    }

    @Test func tableAndGates() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        // Passing gates: the table, exit 0.
        let pass = try chunkwatch(Self.tiny + ["--max-false-per-principal-day", "1000", "--min-recall", "0"], timeout: 180)
        #expect(pass.exitedCleanly, "\(pass)")
        for heading in ["kind", "labelled", "explained", "found", "median TTD", "detector", "alerts", "false", "false/p-day"] {
            #expect(pass.stdoutText.contains(heading), "\(heading): \(pass.stdoutText)")
        }
        #expect(pass.stdoutLines.contains { $0.hasPrefix("  false alerts per principal-day after the warm-up: ") })
        #expect(pass.stdoutLines.contains { $0.hasPrefix("  precision: ") } && pass.stdoutLines.contains { $0.hasPrefix("  recall: ") })

        // No detector at all finds nothing: recall 0 misses --min-recall, exit 1, one line why.
        let names = ["size", "rate", "volume", "integrity", "novelty", "changepoint", "silence"]
        let config = try dir.write("none.yaml", "detectors:\n" + names.map { "  \($0):\n    enabled: false\n" }.joined())
        let miss = try chunkwatch(Self.tiny + ["--config", config, "--min-recall", "0.5", "--json"], timeout: 180)
        #expect(miss.status == 1 && !miss.signalled, "\(miss)")
        let reasons = miss.stderrLines.filter { $0.contains("below --min-recall") }
        #expect(reasons.count == 1 && reasons[0].hasPrefix("chunkwatch: eval: steady: recall 0 (0 of "), "\(miss)")
        #expect(jsonObjects(miss.stdoutLines, what: "eval --json").count == 1, "the figures are printed before the verdict")

        let bad = try chunkwatch(["eval", "--profile", "bursty-nope"])
        #expect(bad.status != 0 && bad.stderrText.contains("unknown profile 'bursty-nope'"), "\(bad)")
    }

    /// The realistic profile through eval: its scenarios get rows under their kinds.
    @Test func realisticProfileReportsScenarios() throws {
        let r = try chunkwatch(
            ["eval", "--profile", "realistic", "--seeds", "5", "--principals", "14", "--hours", "6", "--warmup", "3", "--json"], timeout: 300)
        #expect(r.exitedCleanly, "\(r)")
        let o = try #require(jsonObjects(r.stdoutLines, what: "eval --json").first)
        #expect(o["profile"] as? String == "realistic" && o["runs"] as? Int == 1)
        let kinds = try #require(o["kinds"] as? [[String: Any]])
        var scenarios: [String] = []
        for k in kinds {
            for s in k["scenarios"] as? [[String: Any]] ?? [] { scenarios.append(s["scenario"] as? String ?? s["kind"] as? String ?? "") }
        }
        // Six hours from Monday 00:00 hold no person's close after the warm-up,
        // so late_work is left out here (WorkloadTests place it).
        for name in ["burst", "moderate_rise", "night_activity", "replica_stop", "service_stop", "size_spike"] {
            #expect(scenarios.contains(name), "no \(name) row: \(scenarios)")
        }
    }
}
