import ChunkModel

// Plain structs of numbers kept in arrays per key: checkpoints copy those
// arrays as raw memory (BinaryCoding checks that they hold no references).
extension RecencyList.Links: RawCheckpointable {}
extension HourOfWeekProfile.Accumulator: RawCheckpointable {}
extension EWMAStats: RawCheckpointable {}
extension RunningStats: RawCheckpointable {}
