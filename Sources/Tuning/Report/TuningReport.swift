import ChunkModel
import Config
import Foundation

/// `tune --report FILE.html`: one self-contained page (inline CSS and SVG, no
/// scripts, no external references) that shows why a threshold sits where it
/// does — alerts against the swept value with the budget and the choice marked,
/// the precision/recall curve when labels exist, and the strongest alerts at
/// the chosen value against their principal's baseline band.
public struct TuningReport {
    public struct Section: Sendable {
        public var result: SweepResult
        public var pick: BudgetPick?
        public var chosen: Int?

        public init(result: SweepResult, pick: BudgetPick?, chosen: Int?) {
            self.result = result
            self.pick = pick
            self.chosen = chosen
        }
    }

    public var sections: [Section]
    public var labels: LabelSet?
    public var contexts: [AlertContext]
    public var inputs: [String]
    public var generated: Timestamp

    public init(choices: [Section], labels: LabelSet?, contexts: [AlertContext], inputs: [String], generated: Timestamp = .now()) {
        sections = choices
        self.labels = labels
        self.contexts = contexts
        self.inputs = inputs
        self.generated = generated
    }

    static let palette = ["#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#9f1239"]
    static let chosenColor = "#16a34a"
    static let budgetColor = "#dc2626"

    public func html() -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>chunkwatch tune report</title>
            <style>
            body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",Helvetica,Arial,sans-serif;color:#1f2933;margin:24px auto;max-width:1080px;padding:0 16px;background:#fff}
            h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 6px;border-bottom:2px solid #e4e7eb;padding-bottom:4px}
            h3{font-size:15px;margin:22px 0 4px}.muted{color:#616e7c}.why{background:#f0f7ff;border-left:4px solid #2563eb;padding:8px 12px;margin:8px 0}
            table{border-collapse:collapse;margin:10px 0;font-variant-numeric:tabular-nums}th,td{padding:3px 10px;text-align:right;border-bottom:1px solid #e4e7eb}
            th{background:#f5f7fa}tr.chosen td{background:#dcfce7;font-weight:600}tr.over td{color:#9aa5b1}
            .chart{display:block;margin:8px 0;max-width:100%;height:auto}.row{display:flex;gap:8px;flex-wrap:wrap}
            .title{font-size:14px;font-weight:600;fill:#1f2933}.tick{font-size:11px;fill:#52606d}.axis{font-size:12px;fill:#3e4c59}
            .small{font-size:11px;fill:#3e4c59}.mark{font-size:12px;font-weight:600}.grid{stroke:#e4e7eb;stroke-width:1}
            .caption{font-size:13px;margin:-2px 0 14px;color:#3e4c59}.caption code{font-size:12px}
            </style></head><body>

            """
        out += "<h1>chunkwatch tune report</h1>\n"
        if let s = sections.first?.result.stats {
            out += "<p class=\"muted\">\(escapeHTML(inputs.joined(separator: ", "))): \(s.events) events of \(s.principals) principals from "
            out += "\(s.firstTs?.rfc3339 ?? "–") to \(s.lastTs?.rfc3339 ?? "–") = \(Format.decimal(s.principalDays, 2)) principal-days"
            if let labels { out += "; \(labels.labels.count) labelled anomalies, grace \(ChunkWatchConfig.durationText(labels.grace))" }
            out += ". Generated \(generated.rfc3339).</p>\n"
        }
        for section in sections { out += render(section) }
        out += """
            <p class="muted">Each candidate ran through the same detectors and alert lifecycle as <code>chunkwatch backfill</code>; \
            "per principal-day" is alerts fired ÷ (principals × days of event time). An anomaly counts as detected when an alert \
            for its principal has <code>first_ts</code> in [start, end + grace]. See docs/tuning.md.</p>
            </body></html>

            """
        return out
    }

    private func render(_ s: Section) -> String {
        let r = s.result
        var out = "<h2>\(escapeHTML(r.detector))</h2>\n"
        if let pick = s.pick {
            out += "<div class=\"why\">" + pick.explanation(r).map(escapeHTML).joined(separator: "<br>") + "</div>\n"
        } else if let c = s.chosen {
            out += "<div class=\"why\">Chosen: \(escapeHTML(r.rows[c].candidate.label)), the best F1 against the labels.</div>\n"
        }
        out += alertsChart(s)
        if labels != nil && r.rows.contains(where: { $0.labels?.wanted ?? 0 > 0 }) {
            out += "<div class=\"row\">" + qualityChart(s) + prCurve(s) + "</div>\n"
        }
        out += table(s)
        if let c = s.chosen {
            let mine = contexts.filter { $0.detector == r.detector }
            if !mine.isEmpty {
                out += "<h3>The strongest alerts at \(escapeHTML(r.rows[c].candidate.label))</h3>\n"
                out += "<p class=\"muted\">The principal's traffic around each alert; the band is the baseline the detector judged it against "
                out += "(from the alert's own figures), the dashed red line roughly where this threshold starts alerting.</p>\n"
                for ctx in mine { out += contextChart(ctx) }
            }
        }
        return out
    }

    // MARK: - Alerts against the swept value

    /// Rows grouped into lines: one per combination of every swept parameter but the first.
    private func lines(_ r: SweepResult) -> [(name: String, rows: [Int])] {
        var order: [String] = []
        var byRest: [String: [Int]] = [:]
        for (i, row) in r.rows.enumerated() {
            let rest = row.candidate.settings.dropFirst().map { "\($0.parameter)=\($0.text)" }.joined(separator: " ")
            if byRest[rest] == nil { order.append(rest) }
            byRest[rest, default: []].append(i)
        }
        return order.prefix(Self.palette.count).map { ($0, byRest[$0]!) }
    }

    private func alertsChart(_ s: Section) -> String {
        let r = s.result
        let param = r.sweeps.first?.parameter ?? "value"
        let xs = r.rows.compactMap { $0.candidate.settings.first?.number }
        let rates = r.rows.map { $0.perPrincipalDay ?? 0 }
        let positive = rates.filter { $0 > 0 }
        var top = Swift.max(rates.max() ?? 1, s.pick?.budget ?? 0) * 1.08
        let useLog = (positive.min().map { (positive.max() ?? 1) / $0 > 100 } ?? false)
        var bottom = 0.0
        if useLog {
            bottom = Swift.min(positive.min() ?? 0.01, s.pick?.budget ?? .infinity) / 2
            top *= 1.5
        }
        if top <= 0 { top = 1 }
        var plot = SVGPlot(
            title: "Alerts per principal-day against \(param)",
            x: .init(min: xs.min() ?? 0, max: xs.max() ?? 1, label: param + unit(r.detector, param), format: { Format.decimal($0, 2) }),
            y: .init(min: bottom, max: top, scale: useLog ? .log : .linear, label: "alerts per principal-day" + (useLog ? " (log)" : ""),
                     format: { Format.decimal($0, $0 < 1 ? 2 : 1) }))
        if let budget = s.pick?.budget {
            plot.hband(bottom, budget, color: Self.chosenColor, opacity: 0.07)
            plot.hline(budget, color: Self.budgetColor, label: "budget \(Format.decimal(budget, 2))/principal-day", legend: "budget")
        }
        if let c = s.chosen, let x = r.rows[c].candidate.settings.first?.number {
            plot.vline(x, color: Self.chosenColor, label: "chosen \(r.rows[c].candidate.label)")
        }
        let groups = lines(r)
        for (k, g) in groups.enumerated() {
            let color = Self.palette[k]
            let pts = g.rows.map { (r.rows[$0].candidate.settings.first?.number ?? 0, Swift.max(rates[$0], useLog ? bottom : 0)) }
            plot.line(pts, color: color, legend: groups.count > 1 ? g.name : "alerts per principal-day")
            plot.dots(pts, color: color, r: 3.5, titles: g.rows.map { "\(r.rows[$0].candidate.label): \(r.rows[$0].firing) alerts" })
        }
        if let c = s.chosen, let x = r.rows[c].candidate.settings.first?.number {
            plot.dots([(x, Swift.max(rates[c], useLog ? bottom : 0))], color: Self.chosenColor, r: 6.5)
            plot.label("\(r.rows[c].firing) alerts", at: (x, Swift.max(rates[c], useLog ? bottom : 0)), color: Self.chosenColor, dx: 9, dy: -9)
        }
        return plot.svg()
    }

    // MARK: - Precision and recall

    private func qualityChart(_ s: Section) -> String {
        let r = s.result
        let param = r.sweeps.first?.parameter ?? "value"
        let xs = r.rows.compactMap { $0.candidate.settings.first?.number }
        var plot = SVGPlot(
            title: "Precision, recall and F1 against \(param)",
            x: .init(min: xs.min() ?? 0, max: xs.max() ?? 1, label: param + unit(r.detector, param)),
            y: .init(min: 0, max: 1.05, label: "share"), height: 300)
        plot.width = 516
        let g = lines(r).first?.rows ?? []
        func series(_ f: (LabelScore) -> Double?) -> [(Double, Double)] {
            g.compactMap { i in r.rows[i].labels.flatMap(f).map { (r.rows[i].candidate.settings.first?.number ?? 0, $0) } }
        }
        if let c = s.chosen, let x = r.rows[c].candidate.settings.first?.number { plot.vline(x, color: Self.chosenColor, dash: "4 3") }
        plot.line(series { $0.precision }, color: Self.palette[0], legend: "precision")
        plot.line(series { $0.recall }, color: Self.palette[1], legend: "recall")
        plot.line(series { $0.f1 }, color: Self.palette[3], dash: "5 3", legend: "F1")
        return plot.svg()
    }

    private func prCurve(_ s: Section) -> String {
        let r = s.result
        var plot = SVGPlot(
            title: "Precision against recall",
            x: .init(min: 0, max: 1.05, label: "recall (labels detected)"), y: .init(min: 0, max: 1.05, label: "precision (alerts matching a label)"),
            height: 300)
        plot.width = 516
        let g = lines(r).first?.rows ?? []
        let pts = g.compactMap { i -> (Int, (Double, Double))? in
            guard let l = r.rows[i].labels, let p = l.precision, let rc = l.recall else { return nil }
            return (i, (rc, p))
        }
        plot.line(pts.map(\.1), color: Self.palette[0], width: 1.5)
        plot.dots(pts.map(\.1), color: Self.palette[0], r: 3.5, titles: pts.map { r.rows[$0.0].candidate.label })
        // Label the points with their values (those at the same place together,
        // `5–7`), so the curve reads as a path through the thresholds.
        var places: [(at: (Double, Double), first: String, last: String)] = []
        for p in pts {
            let text = r.rows[p.0].candidate.settings.first?.text ?? ""
            if let k = places.firstIndex(where: { abs($0.at.0 - p.1.0) < 0.02 && abs($0.at.1 - p.1.1) < 0.02 }) {
                places[k].last = text
            } else {
                places.append((p.1, text, text))
            }
        }
        let every = Swift.max(1, places.count / 8)
        for (k, place) in places.enumerated() where k % every == 0 || k == places.count - 1 {
            plot.label(place.first == place.last ? place.first : "\(place.first)–\(place.last)", at: place.at)
        }
        if let c = s.chosen, let p = pts.first(where: { $0.0 == c }) {
            plot.dots([p.1], color: Self.chosenColor, r: 6.5)
            plot.label("chosen", at: p.1, color: Self.chosenColor, dx: 9, dy: 14)
        }
        return plot.svg()
    }

    // MARK: - The table

    private func table(_ s: Section) -> String {
        let r = s.result
        var out = "<table><tr>"
        for sw in r.sweeps { out += "<th>\(escapeHTML(sw.parameter))</th>" }
        out += "<th>alerts</th><th>per principal-day</th>"
        let withLabels = r.rows.contains { $0.labels != nil }
        if withLabels { out += "<th>precision</th><th>recall</th><th>F1</th><th>median time to detect</th>" }
        out += "<th>run</th></tr>\n"
        for (i, row) in r.rows.enumerated() {
            let over = s.pick.map { (row.perPrincipalDay ?? 0) > $0.budget } ?? false
            out += "<tr\(i == s.chosen ? " class=\"chosen\"" : over ? " class=\"over\"" : "")>"
            for st in row.candidate.settings { out += "<td>\(escapeHTML(st.text))</td>" }
            out += "<td>\(row.firing)</td><td>\(BudgetPick.rateText(row.perPrincipalDay))</td>"
            if withLabels {
                let l = row.labels
                out += "<td>\(l?.precision.map { Format.decimal($0, 2) } ?? "–")</td>"
                out += "<td>\(l.map { "\($0.detected.count)/\($0.wanted)" } ?? "–")</td>"
                out += "<td>\(l?.f1.map { Format.decimal($0, 2) } ?? "–")</td>"
                out += "<td>\(l?.medianTimeToDetect.map { Self.seconds($0) } ?? "–")</td>"
            }
            out += "<td>\(row.method.rawValue)</td></tr>\n"
        }
        return out + "</table>\n"
    }

    static func seconds(_ d: Duration) -> String {
        let s = Double(d.nanosecondsClamped) / 1e9
        return s < 120 ? "\(Format.decimal(s, 1)) s" : s < 7200 ? "\(Format.decimal(s / 60, 1)) min" : "\(Format.decimal(s / 3600, 1)) h"
    }

    private func unit(_ detector: String, _ parameter: String) -> String {
        switch ChunkWatchConfig.parameterKind(detector: detector, parameter: parameter) {
        case .duration: return " (seconds)"
        default: return ""
        }
    }
}
