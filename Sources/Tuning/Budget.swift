import ChunkModel

/// The most sensitive candidate whose alert rate stays within a budget of
/// alerts per principal-day, and what it costs against the others.
///
/// "Most sensitive" is the most alerts fired; among candidates firing as many,
/// the one detecting more labels, then the one with the lower values (for the
/// thresholds, multiples and cooldowns this sweeps, lower is more sensitive).
public struct BudgetPick: Sendable {
    public var detector: String
    /// Alerts per principal-day.
    public var budget: Double
    /// Indices into the sweep's rows; `chosen` is nil when no candidate fits.
    public var chosen: Int?
    /// The candidate that fires the most.
    public var mostSensitive: Int
    /// The candidate that fires the fewest alerts more than the chosen one (over the budget).
    public var nextMoreSensitive: Int?
    /// The quietest candidate (when none fits, what comes closest).
    public var quietest: Int
    /// Alerts the chosen candidate does not fire that the most sensitive does,
    /// and of them those that matched a label.
    public var gaveUpAlerts: Int
    public var gaveUpMatched: Int
    /// Labels the most sensitive candidate detects and the chosen one misses.
    public var missedLabels: [AnomalyLabel]

    public init(_ result: SweepResult, budget: Double) {
        detector = result.detector
        self.budget = budget
        let rows = result.rows
        let order = rows.indices.sorted { Self.moreSensitive(rows[$0], than: rows[$1]) }
        mostSensitive = order.first ?? 0
        quietest = order.last ?? 0
        chosen = order.first { (rows[$0].perPrincipalDay ?? 0) <= budget }
        gaveUpAlerts = 0
        gaveUpMatched = 0
        missedLabels = []
        guard let chosen else { return }
        let c = rows[chosen]
        nextMoreSensitive = order.filter { rows[$0].firing > c.firing }.last
        let m = rows[mostSensitive]
        gaveUpAlerts = Swift.max(0, m.firing - c.firing)
        gaveUpMatched = Swift.max(0, (m.labels?.matchedAlerts ?? 0) - (c.labels?.matchedAlerts ?? 0))
        let kept = Set(c.labels?.detected ?? [])
        missedLabels = (m.labels?.detected ?? []).filter { !kept.contains($0) }
    }

    static func moreSensitive(_ a: SweepRow, than b: SweepRow) -> Bool {
        if a.firing != b.firing { return a.firing > b.firing }
        let (da, db) = (a.labels?.detected.count ?? 0, b.labels?.detected.count ?? 0)
        if da != db { return da > db }
        for (x, y) in zip(a.candidate.settings, b.candidate.settings) where x.number != y.number { return x.number < y.number }
        return false
    }

    /// A few sentences for the terminal and the report: what was chosen, what
    /// the next more sensitive value would cost, what was given up.
    public func explanation(_ result: SweepResult) -> [String] {
        let rows = result.rows
        func rate(_ r: SweepRow) -> String { Self.rateText(r.perPrincipalDay) }
        func alerts(_ n: Int) -> String { n == 1 ? "1 alert" : "\(n) alerts" }
        guard let chosen else {
            let q = rows[quietest]
            return [
                "\(detector): no candidate stays within \(Self.number(budget))/principal-day; the quietest, \(q.candidate.label), "
                    + "fires \(alerts(q.firing)) (\(rate(q))/principal-day)."
            ]
        }
        let c = rows[chosen]
        var lines = ["\(detector): \(c.candidate.label) fires \(alerts(c.firing)), \(rate(c))/principal-day, within the budget of \(Self.number(budget))."]
        if let n = nextMoreSensitive {
            let r = rows[n]
            lines.append("The next more sensitive candidate, \(r.candidate.label), fires \(alerts(r.firing)) (\(rate(r))/principal-day): over the budget.")
        } else {
            lines.append("No candidate fires more: the budget costs nothing here.")
        }
        if gaveUpAlerts > 0 {
            let m = rows[mostSensitive]
            var text = "Against the most sensitive, \(m.candidate.label) (\(alerts(m.firing))), it gives up \(alerts(gaveUpAlerts))"
            if m.labels != nil { text += ", \(gaveUpMatched) of which matched a label" }
            if let rm = m.labels?.recall, let rc = c.labels?.recall {
                text += rm == rc ? "; recall stays \(Self.number(rc))" : "; recall \(Self.number(rm)) → \(Self.number(rc))"
            }
            lines.append(text + ".")
            if !missedLabels.isEmpty {
                let shown = missedLabels.prefix(3).map { "\($0.principal) (\($0.kind.isEmpty ? "unlabelled" : $0.kind), \($0.start.rfc3339))" }
                lines.append("No longer detected: \(shown.joined(separator: ", "))\(missedLabels.count > 3 ? " and \(missedLabels.count - 3) more" : "").")
            }
        }
        if let best = result.bestF1, best != chosen, let f = rows[best].labels?.f1, let fc = c.labels?.f1, f > fc {
            let b = rows[best]
            let fits = (b.perPrincipalDay ?? 0) <= budget ? "also within the budget" : "over the budget"
            lines.append(
                "Against the labels the best F1 is \(b.candidate.label): \(Self.number(f)) (\(alerts(b.firing)), recall "
                    + "\(b.labels?.recall.map { Self.number($0) } ?? "–")), \(fits); this one's is \(Self.number(fc)).")
        }
        return lines
    }

    /// A rate as the table prints it; `–` when unknown.
    public static func rateText(_ v: Double?) -> String { v.map { number($0) } ?? "–" }

    static func number(_ v: Double) -> String {
        Format.decimal(v, abs(v) >= 100 ? 0 : abs(v) >= 10 ? 1 : 2)
    }
}

extension BudgetPick {
    /// Reads `N/day` (or `N`, `N/d`): alerts per principal-day.
    public static func parseBudget(_ text: String) throws(TuneError) -> Double {
        var t = text.lowercased()
        for suffix in ["/principal-day", "/day", "/d"] where t.hasSuffix(suffix) {
            t = String(t.dropLast(suffix.count))
            break
        }
        guard let v = Double(t), v.isFinite, v >= 0 else {
            throw TuneError("--budget '\(text)': expected alerts per principal-day, e.g. 2/day or 0.5/day")
        }
        return v
    }
}

extension SweepResult {
    /// The row with the best F1 against the labels; ties go to the higher
    /// recall, then the shorter median time to detect, then the fewer alerts,
    /// then the lower values. nil without labels.
    public var bestF1: Int? {
        let scored = rows.indices.filter { rows[$0].labels?.f1 != nil }
        return scored.max { a, b in
            let (x, y) = (rows[a], rows[b])
            let (fx, fy) = (x.labels!.f1!, y.labels!.f1!)
            if fx != fy { return fx < fy }
            let (rx, ry) = (x.labels?.recall ?? 0, y.labels?.recall ?? 0)
            if rx != ry { return rx < ry }
            let (tx, ty) = (x.labels?.medianTimeToDetect ?? .zero, y.labels?.medianTimeToDetect ?? .zero)
            if tx != ty { return tx > ty }
            if x.firing != y.firing { return x.firing > y.firing }
            // max picks the greatest: the higher values count as "less".
            for (p, q) in zip(x.candidate.settings, y.candidate.settings) where p.number != q.number { return p.number > q.number }
            return false
        }
    }
}
