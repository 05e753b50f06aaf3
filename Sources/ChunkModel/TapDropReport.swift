/// A tap's report of the chunk events it could not take (its ring was full),
/// as a `{"chunkwatch_tap":"drops",…}` line carries it (docs/wire-format.md).
///
/// Counts are deltas since the tap's previous report, so a collector adds
/// them up. Unlike `ChunkEvent` this holds a string and an array: reports are
/// rare (one per tap every few seconds at most), so they may allocate.
public struct TapDropReport: Sendable, Equatable {
    /// The drops of one principal in this report.
    public struct PrincipalDrops: Sendable, Equatable {
        public var principal: Symbol
        public var dropped: Int64

        public init(principal: Symbol, dropped: Int64) {
            self.principal = principal
            self.dropped = dropped
        }
    }

    /// The tap's name (`ChunkTap.Settings.name`).
    public var tap: String
    /// The tap's wall clock when it made the report.
    public var ts: Timestamp
    /// The tap's wall clock at its previous report, when given (informational).
    public var since: Timestamp?
    /// Events dropped in (`since`, `ts`], all principals together.
    public var dropped: Int64
    /// The same per principal, in the order the line lists them.
    public var byPrincipal: [PrincipalDrops]

    public init(tap: String, ts: Timestamp, since: Timestamp? = nil, dropped: Int64, byPrincipal: [PrincipalDrops]) {
        self.tap = tap
        self.ts = ts
        self.since = since
        self.dropped = dropped
        self.byPrincipal = byPrincipal
    }

    /// An empty report to fill in place (the decoder reuses one).
    public static let empty = TapDropReport(tap: "", ts: .zero, dropped: 0, byPrincipal: [])
}
