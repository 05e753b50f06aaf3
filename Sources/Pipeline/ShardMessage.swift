import ChunkModel

/// What the reader sends a shard, in stream order. Every message carries its
/// position in the stream (`seq`), which orders the alerts it produces.
public struct ShardMessage: Sendable {
    public enum Kind: UInt8, Sendable {
        /// An accepted event of one of the shard's principals.
        case event
        /// Event time reached `watermark` (sent to every shard).
        case tick
        /// A line naming one of the shard's principals was rejected (for coverage).
        case rejected
        /// A tap reported events of one of the shard's principals dropped (for coverage).
        case dropped
        /// Write the shard's state to the checkpoint it was given (`Shard.checkpointTarget`),
        /// at this point of the stream (sent to every shard; takes no number of its own).
        case checkpoint
    }

    public var kind: Kind
    public var seq: Int64
    /// The stream's latest event time when this message was read.
    public var watermark: Timestamp
    /// The time of the stream's first event (`.max` before it): the same in
    /// every shard at the same place in the stream, however many shards there are.
    public var streamStart: Timestamp
    /// The event (for `.rejected`, only `principal` and `ts` mean anything;
    /// for `.dropped`, `principal`, `ts` and `size`, the number of events dropped).
    public var event: ChunkEvent

    public init(
        kind: Kind, seq: Int64, watermark: Timestamp, streamStart: Timestamp = Timestamp(nanoseconds: .max), event: ChunkEvent
    ) {
        self.kind = kind
        self.seq = seq
        self.watermark = watermark
        self.streamStart = streamStart
        self.event = event
    }
}

/// Where an alert sits in the output: alerts come out sorted by tag, which
/// depends only on the input, never on how principals were spread over shards.
struct AlertTag: Comparable, Sendable {
    /// The stream position of the message that produced it.
    var seq: Int64
    /// 0: from the event itself, or resolved at a tick; 1: raised at a tick.
    var phase: UInt8
    /// The anomaly's index within its event, or the detector's index at a tick.
    var index: Int
    /// At ticks, shards' alerts are ordered by id.
    var id: String

    static func < (a: AlertTag, b: AlertTag) -> Bool {
        (a.seq, a.phase, a.index, a.id) < (b.seq, b.phase, b.index, b.id)
    }
}

struct TaggedAlert: Sendable {
    var tag: AlertTag
    var alert: Alert
}
