import ChunkModel

/// Which labels a detector is held to for recall.
public enum LabelKinds: Sendable, Equatable {
    /// Labels whose kind is the detector's name (`gen` labels each injected
    /// anomaly with the detector meant to find it).
    case detector
    /// Every label, whatever its kind.
    case all
    /// Labels of these kinds.
    case only(Set<String>)

    func includes(_ label: AnomalyLabel, detector: String) -> Bool {
        switch self {
        case .detector: return label.kind == detector
        case .all: return true
        case .only(let kinds): return kinds.contains(label.kind)
        }
    }
}

/// Known anomaly windows and the rule that matches alerts to them (SPEC §5):
/// an alert for the label's principal with `first_ts` in [start, end + grace].
public struct LabelSet: Sendable {
    public var labels: [AnomalyLabel]
    public var grace: Duration
    public var kinds: LabelKinds
    private var byPrincipal: [String: [Int]] = [:]

    public init(_ labels: [AnomalyLabel], grace: Duration = .seconds(300), kinds: LabelKinds = .detector) {
        self.labels = labels
        self.grace = grace
        self.kinds = kinds
        for (i, l) in labels.enumerated() { byPrincipal[l.principal, default: []].append(i) }
    }

    /// The labels `detector`'s recall is measured on.
    public func wanted(by detector: String) -> [AnomalyLabel] {
        labels.filter { kinds.includes($0, detector: detector) }
    }

    /// Scores `detector`'s alerts (firing lines are used; resolved lines add nothing).
    ///
    /// - precision: firing alerts that detect any label (of any kind: an alert
    ///   explained by a known anomaly is not a false alarm) / firing alerts;
    /// - recall: wanted labels detected by at least one alert / wanted labels;
    /// - F1: their harmonic mean;
    /// - time to detect: per detected wanted label, `first_ts` of its earliest
    ///   matching alert − the label's start; the median over those labels.
    public func score(_ alerts: [Alert], detector: String) -> LabelScore {
        score(firings: alerts.filter { $0.status == .firing }.map { AlertCollector.Firing(detector: $0.detector, principal: $0.principal, firstTs: $0.firstTs) }, detector: detector)
    }

    func score(firings: [AlertCollector.Firing], detector: String) -> LabelScore {
        var matched = 0
        var firing = 0
        var earliest = [Timestamp?](repeating: nil, count: labels.count)
        for a in firings {
            firing += 1
            var hit = false
            for i in byPrincipal[a.principal] ?? [] where labels[i].isDetected(principal: a.principal, firstTs: a.firstTs, grace: grace) {
                hit = true
                if earliest[i].map({ a.firstTs < $0 }) ?? true { earliest[i] = a.firstTs }
            }
            if hit { matched += 1 }
        }
        var wanted = 0
        var detected: [AnomalyLabel] = []
        var missed: [AnomalyLabel] = []
        var delays: [Duration] = []
        for (i, l) in labels.enumerated() where kinds.includes(l, detector: detector) {
            wanted += 1
            if let t = earliest[i] {
                detected.append(l)
                delays.append(t - l.start)
            } else {
                missed.append(l)
            }
        }
        return LabelScore(firing: firing, matchedAlerts: matched, wanted: wanted, detected: detected, missed: missed, delays: delays)
    }
}

/// How one candidate's alerts compare with the labels.
public struct LabelScore: Sendable {
    /// Firing alerts, and those that match a label of any kind.
    public var firing: Int
    public var matchedAlerts: Int
    /// Labels the detector is held to, and those it detected or missed.
    public var wanted: Int
    public var detected: [AnomalyLabel]
    public var missed: [AnomalyLabel]
    /// Per detected label, its earliest matching alert's `first_ts` − its start.
    public var delays: [Duration]

    /// nil when no alert fired.
    public var precision: Double? { firing > 0 ? Double(matchedAlerts) / Double(firing) : nil }
    /// nil when the labels hold none the detector is held to.
    public var recall: Double? { wanted > 0 ? Double(detected.count) / Double(wanted) : nil }

    /// nil when precision or recall is; 0 when both are 0.
    public var f1: Double? {
        guard let p = precision, let r = recall else {
            // No alert at all against labels that want some: nothing found.
            return wanted > 0 && firing == 0 ? 0 : nil
        }
        return p + r > 0 ? 2 * p * r / (p + r) : 0
    }

    /// The median time to detect; nil when nothing was detected.
    public var medianTimeToDetect: Duration? { Self.median(delays) }

    /// The median of `delays` (the mean of the middle two for an even count); nil when empty.
    public static func median(_ delays: [Duration]) -> Duration? {
        guard !delays.isEmpty else { return nil }
        let sorted = delays.sorted()
        let mid = sorted.count / 2
        if sorted.count % 2 == 1 { return sorted[mid] }
        return .nanoseconds((sorted[mid - 1].nanosecondsClamped / 2) + (sorted[mid].nanosecondsClamped / 2))
    }
}
