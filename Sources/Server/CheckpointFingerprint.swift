#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel
import Config

/// What a checkpoint must match to be read back: the build that wrote it (its
/// binary layout of the baselines) and every setting that shapes baselines.
/// Live values (thresholds, cooldowns) are left out: changing them keeps the
/// checkpoint good.
public enum CheckpointFingerprint {
    public static func of(_ config: ChunkWatchConfig) -> String {
        var shaping = config.withLiveValues(of: ChunkWatchConfig())
        shaping.pipeline.batchSize = 0  // batching does not change any state
        shaping.pipeline.queueDepth = 0
        shaping.serve = ServeSettings()  // connection handling shapes no baseline
        let settings = StableHash.hash(Array("\(shaping)".utf8))
        return String(build, radix: 16) + "-" + String(settings, radix: 16)
    }

    /// A hash of the running executable, read once.
    static let build: UInt64 = {
        guard let f = fopen("/proc/self/exe", "rb") else { return 0 }
        defer { fclose(f) }
        var hash: UInt64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n == 0 { break }
            hash = StableHash.combine(hash, buffer.withUnsafeBytes { StableHash.hash(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) })
        }
        return hash
    }()
}

extension StableHash {
    static func hash(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { hash($0) } }
}
