/// The ways the realistic profile injects each anomaly kind. A label's `kind`
/// stays the detector that should explain it, and its `scenario` names one of
/// these, so an evaluation reports separately the ones detectors catch and the
/// ones they miss (a one-hour late working day, a +50 % rise, one replica
/// stopping while its siblings go on).
public enum RealisticScenario: String, CaseIterable, Sendable, Hashable {
    /// 1–3 chunks 600–2,000× the key's usual size: beyond even its bulk mode.
    case sizeSpike = "size_spike"
    /// A service at 8–15× its rate for 5–15 minutes.
    case burst
    /// A service at +50 % for 15 minutes.
    case moderateRise = "moderate_rise"
    /// Extra outbound chunks doubling outbound bytes for 2 hours.
    case exfilDrip = "exfil_drip"
    /// Sink checksum ≠ gateway's, checksum ≠ expected, a replayed seq.
    case checksumMismatch = "checksum_mismatch"
    /// A service's chunks to a sensitive resource it never used.
    case newResource = "new_resource"
    /// An office-hours person still active an hour past their usual end.
    case lateWork = "late_work"
    /// An office-hours person active at 03:00 local time on a weekday.
    case nightActivity = "night_activity"
    /// One key's usual size ×1.6–2.5 for the rest of the run.
    case sizeShift = "size_shift"
    /// A service silent for an hour.
    case serviceStop = "service_stop"
    /// One replica of a group silent for 45 minutes while its siblings go on.
    case replicaStop = "replica_stop"

    /// The detector that should explain it, which is the label's `kind`.
    public var kind: AnomalyKind {
        switch self {
        case .sizeSpike: .size
        case .burst, .moderateRise: .rate
        case .exfilDrip: .volume
        case .checksumMismatch: .integrity
        case .newResource, .lateWork, .nightActivity: .novelty
        case .sizeShift: .changepoint
        case .serviceStop, .replicaStop: .silence
        }
    }

    /// The scenarios injected for the requested kinds, in declaration order.
    static func injected(for kinds: [AnomalyKind]) -> [RealisticScenario] {
        allCases.filter { kinds.contains($0.kind) }
    }
}
