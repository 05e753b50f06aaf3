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
        let detectors = s.detectors.map { d in
            Self.object([
                ("detector", .string(d.name)), ("alerts", .int(d.alerts)), ("false", .int(d.falseAlerts)),
                ("false_per_principal_day", .number(s.perPrincipalDay(d.falseAlerts))),
            ])
        }
        let totals = Self.object(
            Self.kindFields(s.total) + [
                ("alerts", .int(s.alerts)), ("false", .int(s.falseAlerts)),
                ("false_per_principal_day", .number(s.perPrincipalDay(s.falseAlerts))), ("precision", .number(s.precision)),
                ("recall", .number(s.recall)), ("recall_found", .number(s.recallByAny)),
            ])
        let kinds = s.kinds.map { k in
            let scenarios = k.scenarios.map { Self.object([("scenario", .string($0.name))] + Self.kindFields($0)) }
            return Self.object([("kind", .string(k.name))] + Self.kindFields(k) + [("scenarios", .array(scenarios))])
        }
        return Self.object([
            ("profile", .string(profile.rawValue)), ("seeds", .array(e.seeds.map(String.init))), ("principals", .int(e.principals)),
            ("hours", .number(e.hours)), ("warmup_hours", .number(e.warmupHours)), ("grace_s", .number(e.grace.secondsDouble)),
            ("runs", .int(s.runs)), ("events", .int(s.events)), ("principal_days", .number(s.principalDays)),
            ("unplaced", .int(s.unplaced)), ("kinds", .array(kinds)), ("detectors", .array(detectors)), ("totals", .raw(totals)),
        ]) + "\n"
    }

    private static func kindFields(_ k: EvalScore.KindRow) -> [(String, Field)] {
        [
            ("labelled", .int(k.labelled)), ("explained", .int(k.explained)), ("found", .int(k.found)),
            ("median_ttd_s", .number(k.medianTimeToDetect?.secondsDouble)),
        ]
    }

    private enum Field {
        case int(Int), number(Double?), string(String)
        /// JSON texts, written as an array of them.
        case array([String])
        /// A JSON text written as it is.
        case raw(String)
    }

    /// `{"key":value,…}` in the order given (numbers with at most 4 decimals, nil as null).
    private static func object(_ fields: [(String, Field)]) -> String {
        var out = OutputBuffer(capacity: 512)
        out.append(UInt8(ascii: "{"))
        for (i, (key, value)) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(jsonString: key)
            out.append(UInt8(ascii: ":"))
            switch value {
            case .int(let n): out.append(integer: n)
            case .number(let v?): out.append(number: v)
            case .number(nil): out.append("null")
            case .string(let text): out.append(jsonString: text)
            case .array(let items): out.append("[" + items.joined(separator: ",") + "]")
            case .raw(let text): out.append(text)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out.string
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
