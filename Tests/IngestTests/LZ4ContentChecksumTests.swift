import Ingest
import Testing

/// `LZ4FrameDecoder` verifies content checksums itself for frames without
/// block checksums and leaves the others to liblz4: a wrong content checksum
/// is caught whichever does it, in any frame of a concatenated archive, and
/// reported at the byte where the checksum starts, as liblz4 reports it.
@Suite("LZ4 content checksums")
struct LZ4ContentChecksumTests {
    @Test(arguments: [[], ["-BX"], ["-B4", "-BD"], ["-B4", "-BX", "--content-size"]] as [[String]])
    func aWrongContentChecksumIsCaughtInAnyFrame(secondFrameOptions: [String]) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try lz4Compress(try dir.write("a.ndjson", archiveFixture(lines: 300, seed: 21) + [0x0A]), dir.path("a.lz4"), options: ["-BX"])
        try lz4Compress(try dir.write("b.ndjson", archiveFixture(lines: 300, seed: 22)), dir.path("b.lz4"), options: secondFrameOptions)
        let a = try readBytes(dir.path("a.lz4"))
        let b = try readBytes(dir.path("b.lz4"))
        let intact = readAll(try dir.write("intact.lz4", a + b))
        #expect(intact.error == nil, "\(String(describing: intact.error))")

        // The last four bytes of each frame are its content checksum.
        for (name, archive, checksumAt) in [("first", a + b, a.count - 4), ("second", a + b, a.count + b.count - 4)] {
            var bad = archive
            bad[checksumAt + 2] ^= 0x10
            let got = readAll(try dir.write("bad-\(name).lz4", bad))
            let error = try #require(got.ingestError, "\(name) frame's checksum changed")
            #expect(error.kind == .corruptArchive, "\(name): \(error)")
            #expect(error.byteOffset == checksumAt, "\(name): \(error)")
        }
    }

    @Test func aFrameWithoutContentChecksumNeedsNone() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let plain = archiveFixture(lines: 300, seed: 23)
        try lz4Compress(try dir.write("a.ndjson", plain), dir.path("a.lz4"), options: ["--no-frame-crc"])
        let got = readAll(dir.path("a.lz4"))
        #expect(got.error == nil, "\(String(describing: got.error))")
        #expect(got.counts.lines > 0)
    }
}
