import ChunkModel

// Per-key detector state: plain structs of numbers, which checkpoints copy as
// raw memory (BinaryCoding checks that they hold no references).
extension ChangepointDetector.State: RawCheckpointable {}
extension IntegrityDetector.ChunkCopies: RawCheckpointable {}
extension IntegrityDetector.Stream: RawCheckpointable {}
extension NoveltyDetector.Profile: RawCheckpointable {}
extension RateDetector.State: RawCheckpointable {}
extension SilenceDetector.Rhythm: RawCheckpointable {}
extension VolumeDetector.State: RawCheckpointable {}
