import ChunkModel

/// How a set of alerts compares with the labels of what was injected, in the
/// figures `chunkwatch eval` prints (docs/detectors.md, "Evaluation"), summed
/// over runs with `add`.
///
/// Only firing alerts whose `first_ts` is at or after the warm-up's end count
/// (labels all start after it). An alert *matches* a label when it is for the
/// label's principal and its `first_ts` lies in [start, end + grace] (SPEC §5);
/// it is *false* when it matches no label of its principal, of any kind. A
/// label is *explained* when an alert of the detector named by its kind
/// matches it, and *found* when any alert does.
public struct EvalScore: Sendable, Equatable {
    /// A label kind's figures, or one scenario's of that kind.
    public struct KindRow: Sendable, Equatable {
        public var name: String
        public var labelled = 0
        public var explained = 0
        public var found = 0
        /// Per explained label: the earliest explaining alert's `first_ts` − the label's start.
        public var delays: [Duration] = []
        /// Rows per scenario (labels that name one), by name; empty for a scenario row.
        public var scenarios: [KindRow] = []

        public init(name: String) { self.name = name }

        public var medianTimeToDetect: Duration? { LabelScore.median(delays) }

        mutating func count(explained e: Duration?, found f: Bool) {
            labelled += 1
            if let e {
                explained += 1
                delays.append(e)
            }
            if f { found += 1 }
        }

        mutating func add(_ other: KindRow) {
            labelled += other.labelled
            explained += other.explained
            found += other.found
            delays += other.delays
            for s in other.scenarios { scenarios[EvalScore.index(of: s.name, in: &scenarios)].add(s) }
            scenarios.sort { $0.name < $1.name }
        }
    }

    /// A detector's alerts after the warm-up, and those that match no label.
    public struct DetectorRow: Sendable, Equatable {
        public var name: String
        public var alerts = 0
        public var falseAlerts = 0

        public init(name: String) { self.name = name }
    }

    /// Runs summed (a profile × seed each).
    public var runs = 0
    public var events = 0
    /// Principals × days after the warm-up, summed over runs: the denominator of every false-alert rate.
    public var principalDays = 0.0
    /// Anomalies requested that the population or the run could not hold (no label was written for them).
    public var unplaced = 0
    public var kinds: [KindRow] = []
    public var detectors: [DetectorRow] = []

    public init() {}

    /// Every kind's figures together (a row named `all`, without scenarios).
    public var total: KindRow {
        var all = KindRow(name: "all")
        for k in kinds {
            all.labelled += k.labelled
            all.explained += k.explained
            all.found += k.found
            all.delays += k.delays
        }
        return all
    }

    /// Labels, those explained, those found by any detector.
    public var labelled: Int { kinds.reduce(0) { $0 + $1.labelled } }
    public var explained: Int { kinds.reduce(0) { $0 + $1.explained } }
    public var found: Int { kinds.reduce(0) { $0 + $1.found } }
    /// Alerts after the warm-up, and those that match no label.
    public var alerts: Int { detectors.reduce(0) { $0 + $1.alerts } }
    public var falseAlerts: Int { detectors.reduce(0) { $0 + $1.falseAlerts } }

    /// False alerts per principal-day after the warm-up; nil when no principal-day was watched.
    public func perPrincipalDay(_ falseAlerts: Int) -> Double? {
        principalDays > 0 ? Double(falseAlerts) / principalDays : nil
    }

    /// Alerts that match a label / alerts (after the warm-up); nil when none fired.
    public var precision: Double? { alerts > 0 ? Double(alerts - falseAlerts) / Double(alerts) : nil }
    /// Explained labels / labels; nil when there are none.
    public var recall: Double? { labelled > 0 ? Double(explained) / Double(labelled) : nil }
    /// Labels found by any detector / labels; nil when there are none.
    public var recallByAny: Double? { labelled > 0 ? Double(found) / Double(labelled) : nil }
    /// The median time to detect over every explained label.
    public var medianTimeToDetect: Duration? { total.medianTimeToDetect }

    /// Adds another run's (or profile's) figures; rows are matched by name,
    /// new ones go at the end, scenarios stay in name order.
    public mutating func add(_ other: EvalScore) {
        runs += other.runs
        events += other.events
        principalDays += other.principalDays
        unplaced += other.unplaced
        for k in other.kinds { kinds[Self.index(of: k.name, in: &kinds)].add(k) }
        for d in other.detectors {
            let i = Self.index(of: d.name, in: &detectors)
            detectors[i].alerts += d.alerts
            detectors[i].falseAlerts += d.falseAlerts
        }
    }

    /// The index of the row named `name`, appended when there is none.
    static func index<Row: NamedRow>(of name: String, in rows: inout [Row]) -> Int {
        if let i = rows.firstIndex(where: { $0.name == name }) { return i }
        rows.append(Row(name: name))
        return rows.count - 1
    }
}

protocol NamedRow {
    var name: String { get }
    init(name: String)
}

extension EvalScore.KindRow: NamedRow {}
extension EvalScore.DetectorRow: NamedRow {}
