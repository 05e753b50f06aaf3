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

/// A detector's restored state whose parts do not fit together: the restore
/// fails (the detectors warm up again) rather than the next event reading
/// outside an array.
public struct DamagedDetectorState: Error, CustomStringConvertible {
    public let description: String
}

/// Checks a decoded detector state before it replaces the live one: its key
/// store was made for this detector's number of keys, and each per-key array
/// has `per` entries for every slot the store has handed out.
func checkRestored(
    _ detector: String, capacity: Int, expected: Int, slots: Int, _ arrays: [(name: String, count: Int, per: Int)]
) throws {
    guard capacity == expected else {
        throw DamagedDetectorState(description: "\(detector): the checkpoint's store holds \(capacity) keys, the detector \(expected)")
    }
    for a in arrays {
        let want = slots.multipliedReportingOverflow(by: a.per)
        guard !want.overflow, a.count == want.partialValue else {
            throw DamagedDetectorState(
                description: "\(detector): \(a.count) entries of \(a.name) for \(slots) keys (\(a.per) each)")
        }
    }
}
