import Alerting
import ChunkModel

/// Where a candidate's alerts go: counted, summed up for the labels, the
/// strongest kept whole for the report, and every line kept only when asked
/// (tests, `--json` consumers of the library): a chatty candidate over a week
/// of archives fires hundreds of thousands of alerts, and a sweep has many.
final class AlertCollector: AlertSink {
    /// An alert reduced to what the label rule reads.
    struct Firing: Sendable {
        var detector: String
        var principal: String
        var firstTs: Timestamp
    }

    private let keepLines: Bool
    private(set) var lines: [Alert] = []
    private(set) var firings: [Firing] = []
    /// The firing lines of the alerts still open, to pair with their final line.
    private var open: [String: Alert] = [:]
    /// The strongest alerts by final score (then the earliest), at most `strongestCount`.
    private(set) var strongest: [StrongAlert] = []
    static let strongestCount = 5
    /// Every line, `emitted_at` aside, hashed in order: two collectors saw the
    /// same alerts when their digests and line counts agree.
    private(set) var digest: UInt64 = 0
    private(set) var lineCount = 0

    init(keepLines: Bool) { self.keepLines = keepLines }

    func emit(_ alert: Alert) {
        if keepLines { lines.append(alert) }
        var pinned = alert
        pinned.emittedAt = .zero
        digest = StableHash.combine(digest, StableHash.hash(pinned.jsonLine))
        lineCount += 1
        switch alert.status {
        case .firing:
            firings.append(Firing(detector: alert.detector, principal: alert.principal, firstTs: alert.firstTs))
            open[alert.id] = alert
        case .resolved:
            let firing = open.removeValue(forKey: alert.id) ?? alert
            consider(StrongAlert(firing: firing, final: alert))
        }
    }

    func flush() {}

    private func consider(_ a: StrongAlert) {
        if strongest.count == Self.strongestCount, let last = strongest.last, !a.isStronger(than: last) { return }
        let at = strongest.firstIndex { a.isStronger(than: $0) } ?? strongest.count
        strongest.insert(a, at: at)
        if strongest.count > Self.strongestCount { strongest.removeLast() }
    }
}

/// An alert as it opened (the figures it was judged on) and as it ended.
public struct StrongAlert: Sendable {
    public var firing: Alert
    public var final: Alert

    func isStronger(than other: StrongAlert) -> Bool {
        (final.score, other.firing.firstTs, other.final.id) > (other.final.score, firing.firstTs, final.id)
    }
}
