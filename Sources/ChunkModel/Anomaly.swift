/// What a detector reports when an event crosses its threshold: the raw
/// material of an alert, before deduplication and cooldown.
public struct Anomaly: Sendable {
    /// The detector's name, e.g. `size`.
    public var detector: String
    /// The baseline key the verdict is about (principal × resource × dir for
    /// size, principal for rate); repeats on the same key fold into one alert.
    public var key: UInt64
    /// The key as text (`svc-billing|pg://orders|out`): part of the alert id,
    /// so ids are the same in every run.
    public var keyText: String
    public var ts: Timestamp
    public var score: Double
    public var severity: Severity
    public var principal: Symbol
    public var resource: Symbol
    public var conn: Symbol
    public var seq: Int64
    public var observed: Double?
    public var expected: Double?
    public var threshold: Double?
    public var baseline: [(String, Double)]?
    public var message: String
    /// How long a quiet spell must last before the alert resolves.
    public var cooldown: Duration
    /// The exact figure the detector compared with its threshold, when it is
    /// not `observed` (the size detector's robust z): what lets `tune` derive
    /// the anomaly another threshold gives without running the detector again.
    public var evidence: Double?

    public init(
        detector: String, key: UInt64, keyText: String, ts: Timestamp, score: Double, severity: Severity,
        principal: Symbol, resource: Symbol = .none, conn: Symbol = .none, seq: Int64 = -1,
        observed: Double? = nil, expected: Double? = nil, threshold: Double? = nil,
        baseline: [(String, Double)]? = nil, message: String, cooldown: Duration, evidence: Double? = nil
    ) {
        self.detector = detector
        self.key = key
        self.keyText = keyText
        self.ts = ts
        self.score = score
        self.severity = severity
        self.principal = principal
        self.resource = resource
        self.conn = conn
        self.seq = seq
        self.observed = observed
        self.expected = expected
        self.threshold = threshold
        self.baseline = baseline
        self.message = message
        self.cooldown = cooldown
        self.evidence = evidence
    }
}
