import ChunkModel

/// The figures an evaluation must reach for `eval` to exit 0: what CI and a
/// reviewer hold a change of the detectors to.
public struct EvalGates: Sendable {
    /// The most false alerts per principal-day after the warm-up a profile may have.
    public var maxFalsePerPrincipalDay: Double?
    /// The least recall (explained / labelled) a profile may have.
    public var minRecall: Double?

    public init(maxFalsePerPrincipalDay: Double? = nil, minRecall: Double? = nil) {
        self.maxFalsePerPrincipalDay = maxFalsePerPrincipalDay
        self.minRecall = minRecall
    }

    /// Why `profile`'s figures miss a gate, a phrase per gate missed; empty when they pass.
    public func misses(profile: String, _ s: EvalScore) -> [String] {
        var out: [String] = []
        if let max = maxFalsePerPrincipalDay, let rate = s.perPrincipalDay(s.falseAlerts), rate > max {
            out.append(
                "\(profile): \(Format.decimal(rate, 3)) false alerts per principal-day after the warm-up (\(s.falseAlerts) in "
                    + "\(Format.decimal(s.principalDays, 2)) principal-days), above --max-false-per-principal-day \(Format.decimal(max, 3))")
        }
        if let min = minRecall {
            if let recall = s.recall {
                if recall < min {
                    out.append(
                        "\(profile): recall \(Format.decimal(recall, 3)) (\(s.explained) of \(s.labelled) labels explained), "
                            + "below --min-recall \(Format.decimal(min, 3))")
                }
            } else {
                out.append("\(profile): no anomaly was injected, so there is no recall for --min-recall; give more --principals or --hours")
            }
        }
        return out
    }
}
