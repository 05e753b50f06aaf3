import Foundation
import Testing

/// `chunkwatch tune` as a user runs it: gen's labelled day (a few hours of it),
/// a sweep with labels, the chosen value written to a configuration `serve`
/// loads, the `curl` line that applies it live.
@Suite("tune")
struct TuneTests {
    /// Writes gen's traffic and labels into `dir`; returns (events, labels).
    static func generate(_ dir: TempDir) throws -> (String, String) {
        let events = dir.path("day.ndjson"), labels = dir.path("labels.ndjson")
        let g = try chunkwatch(["gen", "--principals", "10", "--hours", "4", "--seed", "3", "--labels-out", labels, "--output", events])
        #expect(g.exitedCleanly, "\(g)")
        return (events, labels)
    }

    @Test func sweepWithLabelsWritesAConfigThatServeLoads() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (events, labels) = try Self.generate(dir)
        let tuned = dir.path("tuned.yaml")
        let r = try chunkwatch(["tune", events, "--detector", "size", "--sweep", "threshold=2:6:1", "--labels", labels, "--write-config", tuned], timeout: 120)
        #expect(r.exitedCleanly, "\(r)")

        // The table: a header, a row per candidate, the chosen one marked.
        let lines = r.stdoutLines
        let header = try #require(lines.firstIndex { $0.contains("threshold") && $0.contains("precision") && $0.contains("recall") }, "\(r.stdoutText)")
        for column in ["alerts", "per p-day", "F1", "median TTD"] { #expect(lines[header].contains(column)) }
        let rows = Array(lines[(header + 1)...].prefix { $0.hasPrefix("  ") || $0.hasPrefix("* ") }).filter { $0.dropFirst(2).first?.isNumber == true }
        #expect(rows.map { $0.split(separator: " ").first { $0 != "*" }.map(String.init) ?? "" } == ["2", "3", "4", "5", "6"], "\(r.stdoutText)")
        let chosen = try #require(rows.first { $0.hasPrefix("*") }, "no row marked chosen: \(r.stdoutText)")
        let value = String(chosen.split(separator: " ")[1])
        #expect(r.stdoutText.contains("the best F1"))

        // The configuration: valid, with the chosen value, the rest the defaults.
        let check = try chunkwatch("config", "check", tuned)
        #expect(check.exitedCleanly, "\(check)")
        let yaml = try dir.readText("tuned.yaml")
        #expect(Self.value(in: yaml, detector: "size", key: "threshold") == value, "\(yaml)")
        #expect(Self.value(in: yaml, detector: "rate", key: "threshold") == "6")
        #expect(r.stdoutText.contains("curl -X PUT http://127.0.0.1:7070/v1/detectors/size -d '{\"threshold\": \(value)}'"), "\(r.stdoutText)")
        #expect(r.stdoutText.contains("serve --config \(tuned)"))

        // The same rows as JSON, with the same choice.
        let j = try chunkwatch(["tune", events, "--detector", "size", "--sweep", "threshold=2:6:1", "--labels", labels, "--json"], timeout: 120)
        #expect(j.exitedCleanly, "\(j)")
        let objects = jsonObjects(j.stdoutLines, what: "tune --json")
        #expect(objects.count == 5)
        let picked = objects.filter { $0["chosen"] as? Bool == true }
        #expect(picked.count == 1 && (picked.first?["values"] as? [String: Any])?["threshold"] as? String == value)
        for o in objects {
            for key in ["alerts", "per_principal_day", "precision", "recall", "f1", "median_ttd_s", "run"] {
                #expect(o.keys.contains(key), "\(key) missing: \(o)")
            }
        }
    }

    /// A budget, a report, stdin: the report is one HTML file with its charts inline.
    @Test func budgetAndReportFromStdin() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (events, labels) = try Self.generate(dir)
        let report = dir.path("tune.html")
        // Without size's tail test, so the threshold alone decides and the budget bites inside the sweep.
        let base = try dir.write("base.yaml", "detectors:\n  size:\n    tail_threshold: 0\n")
        let r = try chunkwatch(
            [
                "tune", "-", "--detector", "size", "--sweep", "threshold=2:6:0.5", "--labels", labels, "--budget", "4/day",
                "--report", report, "--config", base,
            ],
            stdin: .file(events), timeout: 120)
        #expect(r.exitedCleanly, "\(r)")
        #expect(r.stdoutText.contains("within the budget of 4"), "\(r.stdoutText)")
        #expect(r.stdoutText.contains("The next more sensitive candidate"), "\(r.stdoutText)")
        let html = try dir.readText("tune.html")
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg") && !html.contains("<script"))
        #expect(html.contains("The strongest alerts at threshold="))
    }

    @Test func aConfigurationComparedWithItselfHasNoDifference() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (events, _) = try Self.generate(dir)
        let a = try dir.write("a.yaml", "detectors:\n  size:\n    threshold: 3\n")
        let b = try dir.write("b.yaml", "detectors:\n  size:\n    threshold: 5\n")
        let same = try chunkwatch(["tune", events, "--compare", a, a], timeout: 120)
        #expect(same.exitedCleanly, "\(same)")
        #expect(same.stdoutText.contains("no difference"), "\(same.stdoutText)")
        let differ = try chunkwatch(["tune", events, "--detector", "size", "--compare", a, b], timeout: 120)
        #expect(differ.exitedCleanly, "\(differ)")
        #expect(differ.stdoutText.contains("A only"), "\(differ.stdoutText)")
    }

    @Test(arguments: [
        (["--detector", "sizes"], "unknown detector 'sizes'"),
        (["--detector", "size", "--sweep", "threshold=5:1:1"], "TO must not be below FROM"),
        (["--detector", "size", "--sweep", "windw=1:2:1"], "size has no parameter 'windw'"),
        (["--detector", "size", "--labels", "/no/such/labels.ndjson"], "/no/such/labels.ndjson"),
        (["--detector", "size", "--budget", "lots"], "--budget 'lots'"),
    ])
    func errorsAreOneLine(_ arguments: [String], _ expected: String) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let events = try dir.write("e.ndjson", #"{"ts":"2026-11-23T00:00:00Z","principal":"svc-a","size":10}"# + "\n")
        let r = try chunkwatch(["tune", events] + arguments)
        #expect(!r.signalled && !r.timedOut && r.status != 0, "\(r)")
        #expect(r.stderrLines.count == 1, "want a one-line error: \(r)")
        #expect(r.stderrText.contains(expected), "\(r)")
        #expect(r.stdout.isEmpty)
    }

    @Test func missingInputIsOneLine() throws {
        let r = try chunkwatch("tune", "/no/such/day.ndjson", "--detector", "size")
        #expect(r.status != 0 && r.stderrLines.count == 1 && r.stderrText.contains("/no/such/day.ndjson"), "\(r)")
    }

    @Test func helpNamesTheOptions() throws {
        let r = try chunkwatch("tune", "--help")
        #expect(r.exitedCleanly, "\(r)")
        for option in ["--detector", "--sweep", "--labels", "--grace", "--budget", "--compare", "--write-config", "--report", "--config", "--workers", "--json"] {
            #expect(r.stdoutText.contains(option), "tune --help does not mention \(option)")
        }
    }

    /// `key: value` under `detectors:` → `name:`.
    static func value(in yaml: String, detector: String, key: String) -> String? {
        var inSection = false
        for line in yaml.split(separator: "\n") {
            if line.hasPrefix("  ") && !line.hasPrefix("    ") { inSection = line.trimmingCharacters(in: .whitespaces) == "\(detector):" }
            if inSection, line.hasPrefix("    \(key): ") { return String(line.dropFirst("    \(key): ".count)) }
        }
        return nil
    }
}
