import Foundation
import ChunkModel
import Config
import Tuning

/// What `tune` prints on stdout: a table per detector (or NDJSON rows with
/// `--json`), the budget's explanation, and the alert differences of `--compare`.
struct TuneOutput {
    var json: Bool

    func table(_ choice: TuneChoice, labels: LabelSet?, first: Bool) {
        let r = choice.result
        let s = r.stats
        var text = first ? "" : "\n"
        text += "\(r.detector): \(ProgressBar.count(s.events)) events, \(s.principals) principals over \(Self.duration(s.span)) of event time = "
        text += "\(Format.decimal(s.principalDays, 2)) principal-days\n"
        if let labels {
            let wanted = labels.wanted(by: r.detector).count
            text += "labels: \(labels.labels.count) windows, recall over the \(wanted) \(Self.kindsText(labels.kinds, r.detector)); grace \(ChunkWatchConfig.durationText(labels.grace))\n"
        }
        var header = r.sweeps.map(\.parameter) + ["alerts", "per p-day"]
        if labels != nil { header += ["precision", "recall", "F1", "median TTD"] }
        header.append("run")
        var rows: [[String]] = []
        for row in r.rows {
            var cells = row.candidate.settings.map(\.text) + ["\(row.firing)", BudgetPick.rateText(row.perPrincipalDay)]
            if let l = row.labels {
                cells += [
                    l.precision.map { Format.decimal($0, 2) } ?? "–", "\(l.detected.count)/\(l.wanted)",
                    l.f1.map { Format.decimal($0, 2) } ?? "–", l.medianTimeToDetect.map(Self.duration) ?? "–",
                ]
            }
            cells.append(row.method.rawValue)
            rows.append(cells)
        }
        var widths = header.map(\.count)
        for cells in rows { for (i, c) in cells.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String], mark: String) -> String {
            mark + " " + cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        text += line(header, mark: " ")
        for (i, cells) in rows.enumerated() { text += line(cells, mark: i == choice.chosen ? "*" : " ") }
        if let pick = choice.pick {
            text += pick.explanation(r).map { "  " + $0 }.joined(separator: "\n") + "\n"
        } else if let c = choice.chosen {
            text += "  chosen: \(r.rows[c].candidate.label), the best F1\n"
        }
        writeStdout(text)
    }

    /// Notes on how the sweeps ran, on stderr.
    func notes(_ choices: [TuneChoice]) {
        for c in choices { for n in c.result.notes { printError("tune: \(c.result.detector): \(n)") } }
    }

    func jsonRows(_ choice: TuneChoice) {
        var out = OutputBuffer(capacity: 4096)
        for (i, row) in choice.result.rows.enumerated() {
            out.append("{\"detector\":")
            out.append(jsonString: choice.result.detector)
            out.append(",\"values\":{")
            for (k, s) in row.candidate.settings.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                out.append(jsonString: s.parameter)
                out.append(UInt8(ascii: ":"))
                out.append(jsonString: s.text)
            }
            out.append("},\"alerts\":")
            out.append(integer: row.firing)
            out.append(",\"per_principal_day\":")
            Self.append(row.perPrincipalDay, &out)
            if let l = row.labels {
                out.append(",\"precision\":")
                Self.append(l.precision, &out)
                out.append(",\"recall\":")
                Self.append(l.recall, &out)
                out.append(",\"f1\":")
                Self.append(l.f1, &out)
                out.append(",\"median_ttd_s\":")
                Self.append(l.medianTimeToDetect.map { Double($0.nanosecondsClamped) / 1e9 }, &out)
                out.append(",\"labels_detected\":")
                out.append(integer: l.detected.count)
                out.append(",\"labels_wanted\":")
                out.append(integer: l.wanted)
                out.append(",\"alerts_matching_labels\":")
                out.append(integer: l.matchedAlerts)
            }
            out.append(",\"principal_days\":")
            out.append(number: choice.result.stats.principalDays)
            out.append(",\"run\":\"")
            out.append(row.method.rawValue)
            out.append("\",\"chosen\":")
            out.append(i == choice.chosen ? "true" : "false")
            if let b = choice.pick?.budget {
                out.append(",\"budget\":")
                out.append(number: b)
            }
            out.append("}\n")
        }
        writeStdout(out.string)
    }

    func diff(_ d: ConfigDiff, names: (String, String), stats: StreamStats) {
        if json {
            var out = OutputBuffer(capacity: 4096)
            func line(_ key: String, _ a: Alert) {
                out.append("{\"only\":\"\(key)\",\"alert\":")
                out.append(String(a.jsonLine.dropLast()))
                out.append("}\n")
            }
            for a in d.onlyA { line("a", a) }
            for b in d.onlyB { line("b", b) }
            for c in d.changed {
                out.append("{\"changed\":true,\"a\":")
                out.append(String(c.a.jsonLine.dropLast()))
                out.append(",\"b\":")
                out.append(String(c.b.jsonLine.dropLast()))
                out.append("}\n")
            }
            writeStdout(out.string)
            return
        }
        var text = "compare A = \(names.0) with B = \(names.1): \(ProgressBar.count(stats.events)) events, \(stats.principals) principals over \(Self.duration(stats.span))\n"
        text += "only under A: \(d.onlyA.count) alerts; only under B: \(d.onlyB.count); the same id, other figures: \(d.changed.count); identical: \(d.same)\n"
        if d.isEmpty {
            writeStdout(text + "no difference\n")
            return
        }
        let header = ["detector", "principal", "only A", "only B", "changed"]
        let rows = d.groups.map { [$0.detector, $0.principal, "\($0.onlyA.count)", "\($0.onlyB.count)", "\($0.changed.count)"] }
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            "  " + cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingTrailingSpaces() + "\n"
        }
        text += "\n" + line(header)
        for r in rows { text += line(r) }
        text += "\nexamples (the first \(Self.examples) of each):\n"
        for g in d.groups {
            text += "\(g.detector) \(g.principal):\n"
            for a in g.onlyA.prefix(Self.examples) { text += "  A only  \(a.firstTs.rfc3339)  \(a.severity.name)  \(a.message) (count \(a.count))\n" }
            for b in g.onlyB.prefix(Self.examples) { text += "  B only  \(b.firstTs.rfc3339)  \(b.severity.name)  \(b.message) (count \(b.count))\n" }
            for c in g.changed.prefix(Self.examples) {
                text += "  changed \(c.a.firstTs.rfc3339)  \(Self.changes(c.a, c.b).joined(separator: ", "))\n"
            }
        }
        writeStdout(text)
    }

    static let examples = 3

    /// What differs between two versions of one alert, field by field.
    static func changes(_ a: Alert, _ b: Alert) -> [String] {
        var out: [String] = []
        func num(_ v: Double?) -> String { v.map { Format.decimal($0, 4) } ?? "null" }
        if a.count != b.count { out.append("count \(a.count) → \(b.count)") }
        if a.lastTs != b.lastTs { out.append("last_ts \(a.lastTs.rfc3339) → \(b.lastTs.rfc3339)") }
        if a.severity != b.severity { out.append("severity \(a.severity.name) → \(b.severity.name)") }
        if a.score != b.score { out.append("score \(num(a.score)) → \(num(b.score))") }
        if a.threshold != b.threshold { out.append("threshold \(num(a.threshold)) → \(num(b.threshold))") }
        if a.observed != b.observed { out.append("observed \(num(a.observed)) → \(num(b.observed))") }
        if a.message != b.message && out.isEmpty { out.append("message: \(b.message)") }
        if out.isEmpty { out.append("other figures (baseline, coverage)") }
        return out
    }

    private static func append(_ v: Double?, _ out: inout OutputBuffer) {
        if let v { out.append(number: v) } else { out.append("null") }
    }

    static func kindsText(_ kinds: LabelKinds, _ detector: String) -> String {
        switch kinds {
        case .detector: return "of kind \(detector)"
        case .all: return "of every kind"
        case .only(let k): return "of kinds \(k.sorted().joined(separator: ","))"
        }
    }

    /// `850ms`, `42s`, `3m10s`, `2h05m`, `1d4h`.
    static func duration(_ d: Duration) -> String {
        let ns = d.nanosecondsClamped
        if ns < 0 { return "-" + duration(.nanoseconds(-ns)) }
        if ns < 1_000_000_000 { return "\(ns / 1_000_000)ms" }
        let s = ns / 1_000_000_000
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + (s % 60 == 0 ? "" : String(format2(s % 60)) + "s") }
        if s < 86_400 { return "\(s / 3600)h" + (s % 3600 / 60 == 0 ? "" : format2(s % 3600 / 60) + "m") }
        return "\(s / 86_400)d" + (s % 86_400 / 3600 == 0 ? "" : "\(s % 86_400 / 3600)h")
    }

    private static func format2(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self[...]
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
