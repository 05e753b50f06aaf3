import ChunkModel
import Foundation
import Workload

/// Workloads shared by the suites: `gen`'s traffic, made once per process.
public enum Fixtures {
    /// NDJSON lines from the generator (20 principals, all anomaly kinds), and
    /// the byte range of each line without its `\n`.
    public static func lines(count: Int, seed: UInt64 = 1) -> (bytes: [UInt8], ranges: [Range<Int>]) {
        var generator = try! WorkloadGenerator(config: WorkloadConfig(principals: 20, hours: 48, seed: seed))
        var out = OutputBuffer(capacity: count * 220)
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(count)
        while ranges.count < count {
            let start = out.count
            guard generator.next(into: &out) else { break }
            ranges.append(start..<(out.count - 1))
        }
        return (out.bytes, ranges)
    }

    /// An LZ4 archive of `count` generated events, written by the `lz4` tool
    /// into the temporary directory (reused when it is already there).
    public static func lz4Archive(count: Int, seed: UInt64 = 1) -> String {
        let dir = FileManager.default.temporaryDirectory.path
        let plain = "\(dir)/chunkwatch-bench-\(count)-\(seed).ndjson"
        let archive = plain + ".lz4"
        if FileManager.default.fileExists(atPath: archive) { return archive }
        let (bytes, _) = lines(count: count, seed: seed)
        FileManager.default.createFile(atPath: plain, contents: Data(bytes))
        let lz4 = Process()
        lz4.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        lz4.arguments = ["lz4", "-q", "-f", plain, archive]
        try! lz4.run()
        lz4.waitUntilExit()
        precondition(lz4.terminationStatus == 0, "the lz4 tool is needed: apt-get install lz4")
        try? FileManager.default.removeItem(atPath: plain)
        return archive
    }
}
