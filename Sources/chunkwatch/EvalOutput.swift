import ChunkModel
import Config
import Tuning
import Workload

/// What `eval` prints per profile: the tables, or one JSON object with `--json`.
/// Nothing in it reads the wall clock, so the same evaluation prints the same bytes.
struct EvalOutput {
    var evaluation: Evaluation

    private var setup: String {
        let e = evaluation
        let seeds = e.seeds.map(String.init).joined(separator: ", ")
        return "\(e.seeds.count) seed\(e.seeds.count == 1 ? "" : "s") (\(seeds)) × \(e.principals) principals × \(Format.decimal(e.hours, 1)) h, "
            + "warm-up \(Format.decimal(e.warmupHours, 1)) h, grace \(ChunkWatchConfig.durationText(e.grace))"
    }

    func table(_ profile: TrafficProfile, _ s: EvalScore) -> String {
        var text = "\(profile.rawValue): \(setup)\n"
        text += "  \(ProgressBar.count(s.events)) events; \(Self.fixed(s.principalDays, 2)) principal-days after the warm-up\n"
        if s.unplaced > 0 {
            text += "  \(s.unplaced) requested anomalies did not fit the population or the run and were not injected\n"
        }
        var kinds = TextTable(header: ["kind", "labelled", "explained", "found", "median TTD"])
        for k in s.kinds {
            kinds.add(kindCells(k, name: k.name))
            for sc in k.scenarios { kinds.add(kindCells(sc, name: "  " + sc.name)) }
        }
        kinds.add(kindCells(s.total, name: "all"))
        text += "\n" + kinds.text

        var detectors = TextTable(header: ["detector", "alerts", "false", "false/p-day"])
        for d in s.detectors { detectors.add([d.name, "\(d.alerts)", "\(d.falseAlerts)", rate(s.perPrincipalDay(d.falseAlerts))]) }
        detectors.add(["all", "\(s.alerts)", "\(s.falseAlerts)", rate(s.perPrincipalDay(s.falseAlerts))])
        text += "\n" + detectors.text

        text += "\n  false alerts per principal-day after the warm-up: \(rate(s.perPrincipalDay(s.falseAlerts)))\n"
        text += "  precision: \(fraction(s.precision, s.alerts - s.falseAlerts, s.alerts))\n"
        text += "  recall: \(fraction(s.recall, s.explained, s.labelled)) explained, \(fraction(s.recallByAny, s.found, s.labelled)) found\n"
        return text
    }

    private func kindCells(_ k: EvalScore.KindRow, name: String) -> [String] {
        [name, "\(k.labelled)", "\(k.explained)", "\(k.found)", k.medianTimeToDetect.map(TuneOutput.duration) ?? "–"]
    }

    private func rate(_ v: Double?) -> String { v.map { Self.fixed($0, 2) } ?? "–" }

    private func fraction(_ v: Double?, _ n: Int, _ d: Int) -> String { "\(v.map { Self.fixed($0, 2) } ?? "–") (\(n)/\(d))" }

    /// `0.00`, `1.50`, `12.25`: always `places` decimals, so columns of rates line up and diffs stay small.
    static func fixed(_ v: Double, _ places: Int) -> String {
        var text = Format.decimal(v, places)
        let decimals = text.firstIndex(of: ".").map { text.distance(from: $0, to: text.endIndex) - 1 }
        if decimals == nil { text += "." }
        text += String(repeating: "0", count: places - (decimals ?? 0))
        return text
    }

    func json(_ profile: TrafficProfile, _ s: EvalScore) -> String {
        let e = evaluation
        var out = OutputBuffer(capacity: 4096)
        out.append("{\"profile\":")
        out.append(jsonString: profile.rawValue)
        out.append(",\"seeds\":[")
        out.append(e.seeds.map(String.init).joined(separator: ","))
        out.append("],\"principals\":")
        out.append(integer: e.principals)
        out.append(",\"hours\":")
        out.append(number: e.hours)
        out.append(",\"warmup_hours\":")
        out.append(number: e.warmupHours)
        out.append(",\"grace_s\":")
        out.append(number: e.grace.secondsDouble)
        out.append(",\"runs\":")
        out.append(integer: s.runs)
        out.append(",\"events\":")
        out.append(integer: s.events)
        out.append(",\"principal_days\":")
        out.append(number: s.principalDays)
        out.append(",\"unplaced\":")
        out.append(integer: s.unplaced)
        out.append(",\"kinds\":[")
        for (i, k) in s.kinds.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            kindJSON(k, key: "kind", &out)
        }
        out.append("],\"detectors\":[")
        for (i, d) in s.detectors.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append("{\"detector\":")
            out.append(jsonString: d.name)
            out.append(",\"alerts\":")
            out.append(integer: d.alerts)
            out.append(",\"false\":")
            out.append(integer: d.falseAlerts)
            out.append(",\"false_per_principal_day\":")
            Self.append(s.perPrincipalDay(d.falseAlerts), &out)
            out.append("}")
        }
        out.append("],\"totals\":{\"labelled\":")
        out.append(integer: s.labelled)
        out.append(",\"explained\":")
        out.append(integer: s.explained)
        out.append(",\"found\":")
        out.append(integer: s.found)
        out.append(",\"median_ttd_s\":")
        Self.append(s.medianTimeToDetect.map(\.secondsDouble), &out)
        out.append(",\"alerts\":")
        out.append(integer: s.alerts)
        out.append(",\"false\":")
        out.append(integer: s.falseAlerts)
        out.append(",\"false_per_principal_day\":")
        Self.append(s.perPrincipalDay(s.falseAlerts), &out)
        out.append(",\"precision\":")
        Self.append(s.precision, &out)
        out.append(",\"recall\":")
        Self.append(s.recall, &out)
        out.append(",\"recall_found\":")
        Self.append(s.recallByAny, &out)
        out.append("}}\n")
        return out.string
    }

    private func kindJSON(_ k: EvalScore.KindRow, key: String, _ out: inout OutputBuffer) {
        out.append("{\"\(key)\":")
        out.append(jsonString: k.name)
        out.append(",\"labelled\":")
        out.append(integer: k.labelled)
        out.append(",\"explained\":")
        out.append(integer: k.explained)
        out.append(",\"found\":")
        out.append(integer: k.found)
        out.append(",\"median_ttd_s\":")
        Self.append(k.medianTimeToDetect.map(\.secondsDouble), &out)
        if key == "kind" {
            out.append(",\"scenarios\":[")
            for (i, sc) in k.scenarios.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                kindJSON(sc, key: "scenario", &out)
            }
            out.append("]")
        }
        out.append("}")
    }

    private static func append(_ v: Double?, _ out: inout OutputBuffer) {
        if let v { out.append(number: v) } else { out.append("null") }
    }
}

/// Columns padded to their widest cell: the first left-aligned, the rest right-aligned.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(header: [String]) { self.header = header }

    mutating func add(_ cells: [String]) { rows.append(cells) }

    var text: String {
        var widths = header.map(\.count)
        for cells in rows { for (i, c) in cells.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for cells in [header] + rows {
            var line = " "
            for (i, c) in cells.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                line += i == 0 ? " " + c + pad : "  " + pad + c
            }
            out += line + "\n"
        }
        return out
    }
}
