import ChunkModel

/// A checkpoint begun by `AlertPipeline.beginCheckpoint` at one point of the
/// stream: the engine's own state, and where that point is.
public struct CheckpointCut: Sendable {
    /// The stream position and the number of shards, for the caller to store
    /// with its own state and give back to `restore(header:shards:)`.
    public var header: [UInt8]
    /// Every alert raised before the cut has gone to the sink once
    /// `releasedThrough` reaches this.
    public var seq: Int64
}

/// What a streamed checkpoint says of the engine itself.
struct PipelineHeader: Codable {
    var workers: Int
    var sequencer: Sequencer

    static func decode(_ bytes: [UInt8], workers: Int) throws -> PipelineHeader {
        let h = try BinaryCoding.decode(PipelineHeader.self, from: bytes)
        guard h.workers == workers else {
            throw CheckpointMismatch(
                "the checkpoint was taken with \(h.workers) worker(s) and this pipeline has \(workers): start with --workers \(h.workers) to restore it")
        }
        return h
    }
}
