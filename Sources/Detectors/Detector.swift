#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel

/// A detector: keeps baselines for the keys it cares about, scores every
/// event against them, and reports the events that cross its threshold.
///
/// Conformers are classes owned by one pipeline shard: `observe` is called
/// from one thread at a time, in event order for each principal. It runs once
/// per event, so it must not allocate except when it reports an anomaly.
public protocol Detector: AnyObject {
    /// The name in configurations and alerts (`size`, `rate`…).
    var name: String { get }
    /// What the baselines are keyed by, for docs and `/v1/baselines`.
    var keyedBy: String { get }
    /// Updates the baselines with `event` and returns its score in 0…1
    /// (monotone in the evidence, 0.5 at the threshold). When the event is
    /// anomalous after warm-up, appends an `Anomaly` to `anomalies`.
    func observe(_ event: ChunkEvent, context: DetectorContext, anomalies: inout [Anomaly]) -> Double
    /// Event time has moved on: called at every tick (a fixed step of event
    /// time, the same in every shard and every run), after the events before it.
    /// Detectors that judge an absence (silence) or close time buckets without
    /// waiting for the key's next event do it here. The default does nothing.
    func advance(context: DetectorContext, anomalies: inout [Anomaly])
    /// Keys tracked now and keys evicted to stay within the key limit.
    var keyStats: (tracked: Int, evicted: Int) { get }
    /// The baselines as bytes, for a checkpoint the daemon restores at its next
    /// start; nil when the detector keeps none (it then warms up again). Called
    /// between events, from the thread that owns the detector.
    func checkpoint() throws -> [UInt8]?
    /// The baselines as a value whose `BinaryCoding` encoding is what
    /// `checkpoint` gives, for a checkpoint streamed without that copy (its
    /// arrays share storage with the detector's until either changes; the
    /// caller encodes it before the detector sees another event). Nil: the
    /// caller uses `checkpoint`.
    func checkpointValue() throws -> (any Encodable)?
    /// Takes back what `checkpoint` gave, from a detector made with the same
    /// settings by the same build (the daemon checks both before calling).
    func restore(_ bytes: [UInt8]) throws
}

extension Detector {
    public func advance(context: DetectorContext, anomalies: inout [Anomaly]) {}
    public func checkpoint() throws -> [UInt8]? { nil }
    public func checkpointValue() throws -> (any Encodable)? { nil }
    public func restore(_ bytes: [UInt8]) throws {}
}

/// What detectors may consult besides the event.
public struct DetectorContext: Sendable {
    /// Names of symbols, for messages and key texts.
    public var symbols: SymbolTable
    /// The latest event time of the whole stream so far (not just of this
    /// shard's principals): "now" in event time. At a tick, the tick's time.
    public var watermark: Timestamp
    /// The time of the stream's first event (`.max` before it), the same in
    /// every shard: what "since the stream began" is measured from.
    public var streamStart: Timestamp

    public init(
        symbols: SymbolTable, watermark: Timestamp = Timestamp(nanoseconds: .min), streamStart: Timestamp = Timestamp(nanoseconds: .max)
    ) {
        self.symbols = symbols
        self.watermark = watermark
        self.streamStart = streamStart
    }
}

/// The score curve every built-in detector shares: 0 at no evidence, 0.5 at
/// the threshold, approaching 1 as the evidence grows (0.94 at twice the
/// threshold, 0.998 at three times).
@inlinable
public func thresholdScore(_ evidence: Double, threshold: Double) -> Double {
    guard evidence > 0, threshold > 0 else { return 0 }
    let r = evidence / threshold
    return 1 - exp2(-r * r)
}

/// Severity from how far past its threshold the evidence is.
@inlinable
public func thresholdSeverity(_ evidence: Double, threshold: Double) -> Severity {
    let r = evidence / threshold
    if r >= 4 { return .critical }
    if r >= 2.5 { return .high }
    if r >= 1.5 { return .medium }
    return .low
}
