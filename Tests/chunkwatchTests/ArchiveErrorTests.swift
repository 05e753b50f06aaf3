import Foundation
import Testing

/// docs/formats.md: a corrupt or truncated archive is reported on one line with
/// the file and byte offset; the events before that point count, the other
/// inputs still run, and the exit status is 1.
@Suite("corrupt and truncated archives")
struct ArchiveErrorTests {
    /// A principal of its own, a day before gen's start, so its events do not
    /// touch the baselines behind the good file's alerts.
    static func archiveLines(_ n: Int) -> String {
        (0..<n).map { i in
            String(format: #"{"ts":"2026-11-22T10:%02d:%02d.000Z","principal":"zz-archive","size":%d,"resource":"pg://x","conn":"c-%06d"}"#,
                   i / 60 % 60, i % 60, 1000 + i, i)
        }.joined(separator: "\n") + "\n"
    }

    /// (offset, compressed size) of each data block of a single LZ4 frame without content size or dictionary id.
    static func blocks(_ archive: [UInt8], blockChecksums: Bool) throws -> [(start: Int, size: Int)] {
        try #require(archive.count > 7 && archive[0..<4] == [0x04, 0x22, 0x4D, 0x18])
        try #require(archive[4] & 0x09 == 0, "content size or dictionary id in the header")
        var p = 7
        var found: [(Int, Int)] = []
        while p + 4 <= archive.count {
            let word = Int(archive[p]) | Int(archive[p + 1]) << 8 | Int(archive[p + 2]) << 16 | Int(archive[p + 3]) << 24
            if word == 0 { break }
            let size = word & 0x7FFF_FFFF
            found.append((p, size))
            p += 4 + size + (blockChecksums ? 4 : 0)
        }
        return found
    }

    struct Fixture {
        let dir: TempDir
        let good: String
        let goodEvents: Int
        let goodAlerts: [String]
        let archiveText: String
        let archive: [UInt8]
        let blocks: [(start: Int, size: Int)]
        /// Complete lines in the first `k` 64 KiB blocks of the archive's content.
        func linesIn(blocks k: Int) -> Int {
            archiveText.utf8.prefix(k * 65536).filter { $0 == 0x0A }.count
        }
    }

    static func fixture(_ function: String = #function) throws -> Fixture {
        let dir = try TempDir(function)
        let good = dir.path("good.ndjson")
        let g = try chunkwatch(["gen", "--principals", "4", "--hours", "3", "--seed", "5", "--anomalies", "size,rate", "--output", good])
        #expect(g.exitedCleanly, "\(g)")
        let alone = try chunkwatch("backfill", good)
        #expect(alone.exitedCleanly, "\(alone)")
        try #require(!alone.stdoutLines.isEmpty)
        let text = archiveLines(3000)
        let plain = try dir.write("archive.ndjson", text)
        // 64 KiB blocks with block checksums: several blocks, each verified on its own.
        try lz4(["-B4", "-BX", plain, dir.path("archive.lz4")])
        let archive = [UInt8](try dir.read("archive.lz4"))
        let blocks = try blocks(archive, blockChecksums: true)
        try #require(blocks.count >= 4, "\(blocks)")
        return Fixture(
            dir: dir, good: good, goodEvents: try #require(summaryEventCount(alone.stderrLines)),
            goodAlerts: alone.stdoutLines.map(withoutEmittedAt), archiveText: text, archive: archive, blocks: blocks)
    }

    /// The stderr line naming `path`, with the byte offset it gives.
    static func errorLine(_ r: RunResult, _ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (line: String, offset: Int) {
        let lines = r.stderrLines.filter { $0.contains(path) }
        try #require(lines.count == 1, "want one stderr line naming \(path): \(r)", sourceLocation: sourceLocation)
        let line = lines[0]
        let range = try #require(line.range(of: #"byte [0-9]+"#, options: .regularExpression), "no byte offset in: \(line)",
                                 sourceLocation: sourceLocation)
        return (line, Int(line[range].dropFirst(5))!)
    }

    @Test func truncatedArchiveAmongOtherInputs() throws {
        let f = try Self.fixture()
        defer { f.dir.remove() }
        // Cut in the middle of the third block: the first two blocks are whole.
        let third = f.blocks[2]
        let cut = third.start + 4 + third.size / 2
        let truncated = try f.dir.write("truncated.lz4", Data(f.archive.prefix(cut)))
        // Only the magic number, then garbage: corrupt from its header on.
        let garbage = try f.dir.write("garbage.lz4", Data([0x04, 0x22, 0x4D, 0x18] + Array("definitely not a frame header".utf8)))

        let r = try chunkwatch("backfill", truncated, garbage, f.good)
        #expect(!r.signalled && !r.timedOut && r.status == 1, "want exit status 1: \(r)")
        let t = try Self.errorLine(r, truncated)
        #expect(t.line.contains("truncated"), "\(t.line)")
        #expect(t.offset > f.blocks[1].start && t.offset <= cut, "truncated at \(cut), reported at byte \(t.offset)")
        let c = try Self.errorLine(r, garbage)
        #expect(c.line.contains("corrupt"), "\(c.line)")
        #expect(c.offset <= 33)
        #expect(r.stderrLines.count == 3, "two error lines and the summary: \(r)")

        // The good file is read in full and gives its alerts.
        #expect(r.stdoutLines.map(withoutEmittedAt) == f.goodAlerts, "the good file's alerts changed next to the bad archives")
        // The truncated archive's two whole blocks count (its cut last line at most is rejected).
        let events = try #require(summaryEventCount(r.stderrLines), "\(r)")
        #expect(events - f.goodEvents == f.linesIn(blocks: 2), "events from the truncated archive: \(events - f.goodEvents), want \(f.linesIn(blocks: 2))")
    }

    /// A flipped byte in the second block, caught by that block's checksum: the
    /// first block was verified and its events count, and the offset points at
    /// the bad block, not the start of the file.
    @Test func corruptBlockAmongOtherInputs() throws {
        let f = try Self.fixture()
        defer { f.dir.remove() }
        var bad = f.archive
        let second = f.blocks[1]
        bad[second.start + 4 + second.size / 2] ^= 0x5A
        let corrupt = try f.dir.write("corrupt.lz4", Data(bad))

        let r = try chunkwatch("backfill", corrupt, f.good)
        #expect(!r.signalled && !r.timedOut && r.status == 1, "want exit status 1: \(r)")
        let c = try Self.errorLine(r, corrupt)
        #expect(c.line.contains("corrupt"), "\(c.line)")
        #expect(r.stderrLines.count == 2, "one error line and the summary: \(r)")
        #expect(r.stdoutLines.map(withoutEmittedAt) == f.goodAlerts, "the good file's alerts changed next to the corrupt archive")

        #expect(c.offset >= second.start && c.offset <= second.start + 4 + second.size + 4,
                "corruption in the block at bytes \(second.start)..<\(second.start + 8 + second.size) reported at byte \(c.offset): \(c.line)")
        let events = try #require(summaryEventCount(r.stderrLines), "\(r)")
        #expect(events - f.goodEvents >= f.linesIn(blocks: 1),
                "events from the corrupt archive before its bad block: \(events - f.goodEvents), want at least \(f.linesIn(blocks: 1)) (the whole verified first block)")
        #expect(events - f.goodEvents <= f.linesIn(blocks: 1) + 1)
    }

    /// The same through `score`: the good file's events all come out, after the archive's.
    @Test func scoreGoesOnAfterABadArchive() throws {
        let f = try Self.fixture()
        defer { f.dir.remove() }
        let truncated = try f.dir.write("truncated.lz4", Data(f.archive.prefix(f.blocks[3].start + 10)))
        let r = try chunkwatch("score", truncated, f.good)
        #expect(!r.signalled && !r.timedOut && r.status == 1, "want exit status 1: \(r)")
        let t = try Self.errorLine(r, truncated)
        #expect(t.line.contains("truncated"), "\(t.line)")
        let principals = r.stdoutLines.compactMap { jsonObject($0)?["principal"] as? String }
        let fromArchive = principals.prefix { $0 == "zz-archive" }.count
        #expect(fromArchive == f.linesIn(blocks: 3))
        #expect(principals.count - fromArchive == f.goodEvents, "the good file after the truncated archive was not read in full")
        #expect(!principals.dropFirst(fromArchive).contains("zz-archive"))
    }
}
