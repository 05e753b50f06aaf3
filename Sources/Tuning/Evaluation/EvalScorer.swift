import Alerting
import ChunkModel

/// Scores one run's alerts against its labels (see `EvalScore` for the rules),
/// with the label rule of `tune` (`LabelSet`): each detector is held to the
/// labels of its own kind, and every detector's alerts to the labels of any kind.
public struct EvalScorer: Sendable {
    /// How long after a label's end an alert still matches it (SPEC §5).
    public var grace: Duration
    /// Alerts whose `first_ts` is before this are not counted.
    public var warmupEnd: Timestamp
    /// The detectors that ran, in the order their rows are printed (a row each, alerts or not).
    public var detectors: [String]
    /// The label kinds with a row each, labelled or not; other kinds get rows after them.
    public var kinds: [String]

    public init(grace: Duration, warmupEnd: Timestamp, detectors: [String], kinds: [String]) {
        self.grace = grace
        self.warmupEnd = warmupEnd
        self.detectors = detectors
        self.kinds = kinds
    }

    /// The figures of one run: its firing alerts, its labels, and the
    /// principal-days it watched after the warm-up.
    public func score(_ alerts: [Alert], labels: [AnomalyLabel], principalDays: Double) -> EvalScore {
        let firings = alerts.filter { $0.status == .firing }.map {
            AlertCollector.Firing(detector: $0.detector, principal: $0.principal, firstTs: $0.firstTs)
        }
        return score(firings: firings, labels: labels, principalDays: principalDays)
    }

    func score(firings: [AlertCollector.Firing], labels: [AnomalyLabel], principalDays: Double) -> EvalScore {
        let counted = firings.filter { $0.firstTs >= warmupEnd }
        let byKind = LabelSet(labels, grace: grace, kinds: .detector)
        var names = detectors
        for f in counted where !names.contains(f.detector) { names.append(f.detector) }

        var out = EvalScore()
        out.runs = 1
        out.principalDays = principalDays
        var explained: [AnomalyLabel: Duration] = [:]
        for name in names {
            let s = byKind.score(firings: counted.filter { $0.detector == name }, detector: name)
            var row = EvalScore.DetectorRow(name: name)
            row.alerts = s.firing
            row.falseAlerts = s.firing - s.matchedAlerts
            out.detectors.append(row)
            for (label, delay) in zip(s.detected, s.delays) { explained[label] = delay }
        }
        let found = Set(LabelSet(labels, grace: grace, kinds: .all).score(firings: counted, detector: "").detected)

        out.kinds = kinds.map(EvalScore.KindRow.init(name:))
        for label in labels {
            let k = EvalScore.index(of: label.kind, in: &out.kinds)
            out.kinds[k].count(explained: explained[label], found: found.contains(label))
            if let scenario = label.scenario {
                let s = EvalScore.index(of: scenario, in: &out.kinds[k].scenarios)
                out.kinds[k].scenarios[s].count(explained: explained[label], found: found.contains(label))
            }
        }
        for k in out.kinds.indices { out.kinds[k].scenarios.sort { $0.name < $1.name } }
        return out
    }
}
