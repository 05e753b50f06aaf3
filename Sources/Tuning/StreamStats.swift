import ChunkModel

/// What a replay read: the denominator of every alert rate.
public struct StreamStats: Sendable, Equatable {
    public var events = 0
    /// Distinct principals among the accepted events.
    public var principals = 0
    public var firstTs: Timestamp?
    public var lastTs: Timestamp?
    /// Lines rejected, and of them those that named a principal (which then
    /// count in its alerts' coverage).
    public var rejected = 0
    public var rejectedWithPrincipal = 0
    /// Tap drop reports, and those that reported a drop.
    public var dropReports = 0
    public var dropReportsWithDrops = 0

    public init() {}

    /// The event time the archives cover: last − first event time.
    public var span: Duration {
        guard let firstTs, let lastTs else { return .zero }
        return lastTs - firstTs
    }

    /// The shortest span rates are computed over, so a handful of events does not
    /// give an absurd rate.
    public static let minimumSpan = Duration.seconds(60)

    /// Principals × days of event time covered (with a span of at least a
    /// minute): a day of archives of 20 principals is 20 principal-days. A
    /// principal that appears for an hour of that day counts as a whole
    /// principal-day, so a rate is per principal watched, not per principal busy.
    public var principalDays: Double {
        let seconds = Swift.max(Double(span.nanosecondsClamped), Double(Self.minimumSpan.nanosecondsClamped)) / 1e9
        return Double(principals) * seconds / 86_400
    }

    /// Alerts per principal-day; nil when no principal was seen.
    public func perPrincipalDay(_ alerts: Int) -> Double? {
        principalDays > 0 ? Double(alerts) / principalDays : nil
    }

    /// Whether alerts carry coverage counts (from rejected lines or tap drop
    /// reports naming their principal); one-pass sweeps do not reproduce them.
    var hasCoverage: Bool { rejectedWithPrincipal > 0 || dropReportsWithDrops > 0 }
}
