import Foundation
import Testing

/// SPEC §3/§4: the same events give the same alerts, with the same ids,
/// however they are packaged: one file, a directory of parts, an LZ4 archive, stdin.
@Suite("backfill determinism")
struct DeterminismTests {
    static let genArguments = ["gen", "--principals", "4", "--hours", "3", "--seed", "5", "--anomalies", "size,rate"]

    /// Alert lines with `emitted_at` blanked.
    static func alerts(_ r: RunResult, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
        #expect(r.exitedCleanly, "\(r)", sourceLocation: sourceLocation)
        return r.stdoutLines.map(withoutEmittedAt)
    }

    @Test func sameEventsGiveTheSameAlertsHoweverTheyArePackaged() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let events = dir.path("events.ndjson")
        let g = try chunkwatch(Self.genArguments + ["--output", events])
        #expect(g.exitedCleanly, "\(g)")
        // gen itself is deterministic: the same options on stdout give the same bytes.
        let again = try chunkwatch(Self.genArguments)
        #expect(again.exitedCleanly, "\(again)")
        let bytes = try dir.read("events.ndjson")
        #expect(again.stdout == bytes, "two runs of `\(Self.genArguments.joined(separator: " "))` differ")

        let reference = Self.alerts(try chunkwatch("backfill", events))
        try #require(reference.count >= 4, "the workload should raise size and rate alerts: \(reference)")
        #expect(Set(reference).count == reference.count, "duplicate alert lines")

        // Twice the same file; the second time through --alerts-out.
        let second = try chunkwatch("backfill", events, "--alerts-out", dir.path("alerts.ndjson"))
        #expect(second.exitedCleanly, "\(second)")
        #expect(second.stdout.isEmpty)
        let fromFile = try dir.readText("alerts.ndjson").split(separator: "\n").map { withoutEmittedAt(String($0)) }
        #expect(fromFile == reference, "a second backfill of the same file gave other alerts")

        // SPEC §5: --workers never changes which alerts come out, nor their order.
        for workers in ["1", "2", "3"] {
            let r = try chunkwatch("backfill", events, "--workers", workers)
            #expect(Self.alerts(r) == reference, "backfill --workers \(workers) gave other alerts than the default")
        }

        // The events split in two files of a directory, read in name order.
        // The later part is written first and a hidden file is added: neither
        // the creation order nor dot files may matter.
        let text = String(decoding: bytes, as: UTF8.self)
        let cut = try #require(text.index(text.startIndex, offsetBy: text.count / 2, limitedBy: text.endIndex))
        let lineEnd = try #require(text[cut...].firstIndex(of: "\n"))
        let parts = dir.path("parts")
        try FileManager.default.createDirectory(atPath: parts, withIntermediateDirectories: false)
        try Data(text[text.index(after: lineEnd)...].utf8).write(to: URL(fileURLWithPath: parts + "/part-2.ndjson"))
        try Data(text[...lineEnd].utf8).write(to: URL(fileURLWithPath: parts + "/part-1.ndjson"))
        try Data("not an event\n".utf8).write(to: URL(fileURLWithPath: parts + "/.hidden"))
        let split = try chunkwatch("backfill", parts)
        #expect(Self.alerts(split) == reference, "a directory of two parts gave other alerts than the whole file")
        #expect(split.stderrText.contains("0 rejected"), "the hidden file was read: \(split)")
        #expect(summaryEventCount(split.stderrLines) == summaryEventCount(second.stderrLines), "\(split)")

        // Two files named on the command line, in order.
        let named = try chunkwatch("backfill", parts + "/part-1.ndjson", parts + "/part-2.ndjson")
        #expect(Self.alerts(named) == reference, "two files named in order gave other alerts than the whole file")

        // An LZ4 archive, as the lz4 tool writes it (default 4 MiB blocks, and small blocks with block checksums).
        try lz4([events, dir.path("events.ndjson.lz4")])
        try lz4(["-B4", "-BX", events, dir.path("small-blocks.lz4")])
        for archive in ["events.ndjson.lz4", "small-blocks.lz4"] {
            let r = try chunkwatch("backfill", dir.path(archive))
            #expect(Self.alerts(r) == reference, "the LZ4 archive \(archive) gave other alerts than the plain file")
            #expect(summaryEventCount(r.stderrLines) == summaryEventCount(second.stderrLines), "\(r)")
        }

        // The archive on stdin (recognised by content, not name).
        let stdin = try chunkwatch(["backfill", "-"], stdin: .file(dir.path("events.ndjson.lz4")))
        #expect(Self.alerts(stdin) == reference, "the LZ4 archive on stdin gave other alerts than the plain file")
    }
}
