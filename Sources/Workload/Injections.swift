/// How the anomaly planner alters one principal's traffic. A principal carries
/// at most one anomaly, so each list holds a handful of entries at most.
struct Injections: Sendable {
    var rateWindows: [RateWindow] = []
    /// Extra chunks at planned times, sorted by time.
    var chunks: [InjectedChunk] = []
    var sizeShift: SizeShift?
}

/// Multiplies the arrival rate over [start, end): a surge (× 8–15), a silence
/// (× 0), or an exfiltration drip (× (1 + out share), with the extra chunks all
/// outbound so inbound traffic is unchanged and outbound doubles).
struct RateWindow: Sendable {
    var start: Int64
    var end: Int64
    var multiplier: Double
    var outboundDrip: Bool
}

/// One chunk the planner adds at a fixed time. Its conn and seq come from the
/// connection state when it is emitted, so it sits in the stream like any other.
struct InjectedChunk: Sendable {
    enum Action: Sendable {
        /// `factor` times the key's median size.
        case oversized(factor: Double)
        /// A chunk to a resource the principal never used (the resource index is past the regular ones).
        case newResource
        /// The sink hop reports a different checksum than the gateway.
        case sinkMismatch
        /// `expected_checksum` present and different from `checksum`.
        case expectedMismatch
        /// The previous injected chunk's conn/dir/seq again, with another checksum.
        case replay
    }

    var time: Int64
    var action: Action
    var resource: Int
    var outbound: Bool
}

/// From `at` on, one key's sizes are drawn around a median `exp(logFactor)` times larger.
struct SizeShift: Sendable {
    var at: Int64
    var key: Int
    var logFactor: Double
}

/// An anomaly the run could not hold, and why (too few principals of the right
/// kind, or too short a run for its window).
public struct UnplacedAnomaly: Sendable, Hashable, CustomStringConvertible {
    public var kind: AnomalyKind
    public var reason: String
    public var description: String { "\(kind.rawValue): \(reason)" }
}
