import ChunkModel

/// The whole pipeline's state in a checkpoint: the stream position and each
/// shard's detectors, open alerts and coverage. Principals are spread over
/// shards by worker count, so a checkpoint restores only into a pipeline with
/// as many workers as the one that took it.
struct PipelineSnapshot: Codable {
    var workers: Int
    var sequencer: Sequencer
    var shards: [Shard.Snapshot]

    static func decode(_ bytes: [UInt8], workers: Int) throws -> PipelineSnapshot {
        let s = try BinaryCoding.decode(PipelineSnapshot.self, from: bytes)
        guard s.workers == workers, s.shards.count == workers else {
            throw CheckpointMismatch(
                "the checkpoint was taken with \(s.workers) worker(s) and this pipeline has \(workers): start with --workers \(s.workers) to restore it")
        }
        return s
    }
}

/// A checkpoint that does not fit the pipeline it is given to.
public struct CheckpointMismatch: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
