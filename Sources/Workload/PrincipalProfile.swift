/// What a principal is and how it behaves, fixed before the first event:
/// its role, name, resources, the size distribution of every key, its rates
/// and when it is active.
public struct PrincipalProfile: Sendable {
    public enum Role: String, Sendable, Hashable {
        /// A service emitting all day (about 60 % of principals).
        case service
        /// A person working office hours on weekdays (about 30 %).
        case human
        /// A job running once a day at a fixed time (about 10 %).
        case batch
    }

    public let index: Int
    public let name: String
    public let role: Role
    /// Every chunk is reported twice: by the gateway and, 1–20 ms later, by the sink.
    public let twoHop: Bool
    /// `ts` written as integer epoch milliseconds instead of RFC 3339.
    public let epochMillisecondTimestamps: Bool
    /// The resources it uses, the first being its main one; a novelty anomaly
    /// appends one it never used before.
    public internal(set) var resources: [String]
    /// Chunks per second when active, before the diurnal curve and anomalies.
    public let baseRate: Double
    /// The tags written as `labels` on each of its lines, empty for none.
    public let labels: [(key: String, value: String)]

    /// Resources `0..<regularResourceCount` are picked by weight; any beyond are
    /// only touched by injected chunks.
    var regularResourceCount: Int
    var resourceCumulative: [Double]
    /// Per key (resource × dir, index `resource * 2 + dir`): log of the median
    /// size and the natural-log sigma. Lognormal within a key, no Pareto tail,
    /// so a clean stream stays clean.
    var keyLogMedian: [Double]
    var keySigma: [Double]
    /// Share of chunks that are `out` (replies, target → client).
    let outShare: Double
    let writeShare: Double
    let adminShare: Double
    /// Second of the UTC day where a service's diurnal curve peaks.
    let diurnalPeak: Double
    /// When it is active (for a realistic principal, the whole run: its shape decides).
    var schedule: ActivitySchedule
    /// The realistic profile's behaviour; nil for steady principals.
    var realistic: RealisticShape?

    /// The median size of a key, in bytes.
    public func medianSize(resource: Int, outbound: Bool) -> Double {
        PortableMath.exp(keyLogMedian[resource * 2 + (outbound ? 1 : 0)])
    }
}
