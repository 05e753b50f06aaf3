import ChunkModel
import Foundation
import Ingest
import Testing

/// Mostly generated events (hex ids that do not compress away, so an archive
/// spans several 64 KiB blocks with `-B4`), with some rejected lines, CRLF
/// ends and no final newline.
func archiveFixture(lines: Int, seed: UInt64) -> [UInt8] {
    var rng = SplitMix64(seed: seed)
    var out: [UInt8] = []
    for i in 0..<lines {
        if i % 50 == 7 {
            out += Array(line(size: "-5").utf8)
        } else if i % 50 == 9 {
            out += Array(#"{"ts":"2026-02-30T00:00:00Z","principal":"p","size":1}"#.utf8)
        } else {
            out += Array(generatedLine(&rng).utf8)
        }
        if i % 3 == 0 { out.append(0x0D) }
        if i + 1 < lines { out.append(0x0A) }
    }
    return out
}

/// What reading the uncompressed file gives; every archive must give the same.
struct Expected {
    var events: [ChunkEvent]
    var counts: IngestCounts
}

@Suite("EventReader on LZ4 archives written by the lz4 tool")
struct LZ4ReaderTests {
    static let plain = archiveFixture(lines: 2500, seed: 11)

    func expected(_ dir: TempDir, _ data: [UInt8], name: String = "plain.ndjson") throws -> Expected {
        let path = try dir.write(name, data)
        let r = readAll(path)
        try #require(r.error == nil)
        return Expected(events: r.events, counts: r.counts)
    }

    @Test func theLZ4ToolIsInstalled() throws {
        // A hard requirement: `make test` installs it. Fail loudly, never skip.
        _ = try lz4Tool()
    }

    @Test(arguments: [
        [], ["--content-size"], ["-BD"], ["--no-frame-crc"], ["-B4"], ["-B4", "-BD"], ["-B4", "-BX"],
        ["-B5", "-BD", "--content-size", "--no-frame-crc"], ["-1"], ["-9"], ["-12", "-B4", "-BD"], ["--fast=3"],
    ] as [[String]])
    func archiveGivesTheEventsOfThePlainFile(_ options: [String]) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let want = try expected(dir, Self.plain)
        #expect(want.events.count > 2000)
        try lz4Compress(dir.path("plain.ndjson"), dir.path("a.lz4"), options: options)
        let archive = try readBytes(dir.path("a.lz4"))
        #expect(Array(archive.prefix(4)) == LZ4FrameDecoder.magic)
        #expect(archive.count < Self.plain.count)
        let got = readAll(dir.path("a.lz4"))
        #expect(got.error == nil, "\(String(describing: got.error))")
        expectSameEvents(got.events, want.events)
        #expect(got.counts == want.counts)
    }

    @Test(arguments: [4, 5, 7, 64, 1000, 65536])
    func archiveReadInSmallBuffers(_ bufferSize: Int) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let data = archiveFixture(lines: 400, seed: 3)
        let want = try expected(dir, data)
        try lz4Compress(dir.path("plain.ndjson"), dir.path("a.lz4"), options: ["-B4", "-BD"])
        let got = readAll(dir.path("a.lz4"), readBufferSize: bufferSize)
        #expect(got.error == nil, "\(String(describing: got.error))")
        expectSameEvents(got.events, want.events)
        #expect(got.counts == want.counts)
    }

    /// The LZ4 magic is recognised only when the first `read` returns at least
    /// four bytes. With a read buffer under 4 bytes (or a pipe on stdin whose
    /// first read is short) the archive is taken for text and every line is
    /// rejected as not JSON.
    @Test(arguments: [1, 2, 3])
    func archiveDetectedWhateverTheFirstReadReturns(_ bufferSize: Int) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let data = archiveFixture(lines: 60, seed: 4)
        let want = try expected(dir, data)
        try lz4Compress(dir.path("plain.ndjson"), dir.path("a.lz4"))
        let got = readAll(dir.path("a.lz4"), readBufferSize: bufferSize)
        #expect(got.error == nil, "\(String(describing: got.error))")
        expectSameEvents(got.events, want.events)
        #expect(got.counts == want.counts)
    }

    @Test func concatenatedFrames() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let want = try expected(dir, Self.plain)
        // Split at a line end and in the middle of a line: frames are a byte stream.
        let lineEnd = try #require(Self.plain[(Self.plain.count / 3)...].firstIndex(of: 0x0A)) + 1
        let midLine = lineEnd + 37
        let parts = [Array(Self.plain[..<lineEnd]), Array(Self.plain[lineEnd..<midLine]), [], Array(Self.plain[midLine...])]
        let options: [[String]] = [[], ["-B4", "-BD"], [], ["--no-frame-crc", "--content-size"]]
        var concatenated: [UInt8] = []
        for (i, part) in parts.enumerated() {
            let p = try dir.write("part\(i).ndjson", part)
            try lz4Compress(p, dir.path("part\(i).lz4"), options: options[i])
            concatenated += try readBytes(dir.path("part\(i).lz4"))
        }
        let path = try dir.write("all.lz4", concatenated)
        let got = readAll(path)
        #expect(got.error == nil, "\(String(describing: got.error))")
        expectSameEvents(got.events, want.events)
        #expect(got.counts == want.counts)

        // The same frames with the lz4 tool's own multi-file output, via `cat`.
        let catted = try readBytes(dir.path("part0.lz4")) + readBytes(dir.path("part1.lz4")) + readBytes(dir.path("part3.lz4"))
        let got2 = readAll(try dir.write("cat.ndjson.lz4", catted))
        expectSameEvents(got2.events, want.events)
        #expect(got2.counts == want.counts)
    }

    @Test func emptyInput() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let p = try dir.write("empty.ndjson", [])
        try lz4Compress(p, dir.path("empty.lz4"))
        let archive = try readBytes(dir.path("empty.lz4"))
        #expect(archive.count > 4)
        let got = readAll(dir.path("empty.lz4"))
        #expect(got.error == nil)
        #expect(got.events.isEmpty)
        #expect(got.counts.lines == 0)
        // And an empty plain file.
        let plain = readAll(p)
        #expect(plain.error == nil)
        #expect(plain.counts.lines == 0)
        // Two empty frames back to back.
        let twice = readAll(try dir.write("twice.lz4", archive + archive))
        #expect(twice.error == nil)
        #expect(twice.counts.lines == 0)
    }

    @Test func formatIsRecognisedByContentNotName() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let data = archiveFixture(lines: 100, seed: 5)
        let want = try expected(dir, data)
        try lz4Compress(dir.path("plain.ndjson"), dir.path("a.lz4"))
        let disguised = try dir.write("archive.ndjson", try readBytes(dir.path("a.lz4")))
        let got = readAll(disguised)
        expectSameEvents(got.events, want.events)
        let plainNamedLZ4 = try dir.write("text.lz4", data)
        expectSameEvents(readAll(plainNamedLZ4).events, want.events)
    }

    /// The `lz4` tool's default block is 4 MiB, the same as the decoder's output
    /// buffer: an archive whose last block decodes to exactly 4 MiB fills the
    /// buffer in the call that ends the frame. It is still a complete archive.
    @Test func archiveOfExactlyFourMiBIsComplete() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let lineBytes = Array(paddedLine(255).utf8) + [0x0A]
        #expect(lineBytes.count == 256)
        var data: [UInt8] = []
        data.reserveCapacity(4 << 20)
        for _ in 0..<((4 << 20) / 256) { data += lineBytes }
        #expect(data.count == 4 << 20)
        let path = try dir.write("four.ndjson", data)
        try lz4Compress(path, dir.path("four.lz4"))
        let got = readAll(dir.path("four.lz4"))
        #expect(got.error == nil, "\(String(describing: got.error))")
        #expect(got.counts.accepted == 16384)
        #expect(got.counts.lines == 16384)
    }

    @Test func truncatedArchives() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let want = try expected(dir, Self.plain)
        try lz4Compress(dir.path("plain.ndjson"), dir.path("a.lz4"), options: ["-B4"])
        let archive = try readBytes(dir.path("a.lz4"))
        let n = archive.count
        #expect(n > 4 * 65536 / 2, "several blocks")
        let cuts = [4, 5, 6, 7, 8, 9, 10, 11, 12, 100, 1000, n / 5, n / 3, n / 2, 2 * n / 3, 4 * n / 5, n - 9, n - 8, n - 5, n - 4, n - 1]
        for cut in cuts {
            let path = try dir.write("cut-\(cut).lz4", Array(archive.prefix(cut)))
            let got = readAll(path)
            let error = try #require(got.ingestError, "cut at \(cut) of \(n): expected an IngestError, got \(String(describing: got.error))")
            #expect([.truncatedArchive, .corruptArchive].contains(error.kind), "cut at \(cut): \(error)")
            #expect(error.path == path)
            let offset = try #require(error.byteOffset, "cut at \(cut)")
            #expect(offset >= 0 && offset <= cut, "cut at \(cut): offset \(offset)")
            #expect(!error.description.isEmpty)
            // Only complete, valid events, and those in order: a prefix of the real ones.
            #expect(isPrefix(got.events, of: want.events), "cut at \(cut)")
            if cut >= n / 2 { #expect(got.events.count > 0, "cut at \(cut): the blocks before the cut are read") }
            if cut >= n - 8 { expectSameEvents(got.events, want.events, "cut at \(cut): every data block is complete") }
        }
    }

    @Test func truncatedSecondFrame() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let first = archiveFixture(lines: 50, seed: 8) + [0x0A]
        let second = archiveFixture(lines: 50, seed: 9)
        _ = try dir.write("second.ndjson", second)
        let wantFirst = try expected(dir, first, name: "first.ndjson")
        let wantBoth = try expected(dir, first + second, name: "both.ndjson")
        try lz4Compress(dir.path("first.ndjson"), dir.path("first.lz4"))
        try lz4Compress(dir.path("second.ndjson"), dir.path("second.lz4"))
        let a = try readBytes(dir.path("first.lz4"))
        let b = try readBytes(dir.path("second.lz4"))
        for keep in [4, 7, b.count / 2, b.count - 1] {
            let path = try dir.write("cut.lz4", a + b.prefix(keep))
            let got = readAll(path)
            let error = try #require(got.ingestError, "second frame cut to \(keep) bytes")
            #expect(error.kind == .truncatedArchive || error.kind == .corruptArchive)
            #expect(error.path == path)
            #expect((error.byteOffset ?? .max) <= a.count + keep)
            #expect(got.events.count >= wantFirst.events.count, "the whole first frame is delivered")
            #expect(isPrefix(got.events, of: wantBoth.events))
            if keep < b.count / 2 + 1 { expectSameEvents(got.events, wantFirst.events) }
        }
    }

    @Test func everyCorruptedByteIsDetectedOrHarmless() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let data = archiveFixture(lines: 10, seed: 6)
        let want = try expected(dir, data)
        try lz4Compress(dir.path("plain.ndjson"), dir.path("a.lz4"))
        let archive = try readBytes(dir.path("a.lz4"))
        expectSameEvents(readAll(dir.path("a.lz4")).events, want.events)
        var undetected: [Int] = []
        for offset in 4..<archive.count {
            for flip: UInt8 in [0x01, 0x80] {
                var bad = archive
                bad[offset] ^= flip
                let path = try dir.write("bad.lz4", bad)
                let got = readAll(path)
                guard let error = got.ingestError else {
                    // Some bits change nothing (the unused match-length nibble of a
                    // block's last sequence); those must decode exactly as before.
                    if got.events != want.events || got.counts != want.counts { undetected.append(offset) }
                    continue
                }
                #expect(error.kind == .corruptArchive || error.kind == .truncatedArchive)
                #expect(error.path == path)
                #expect((error.byteOffset ?? .max) <= bad.count, "offset \(offset)")
            }
        }
        #expect(undetected.isEmpty, "corruption at offsets \(undetected) of \(archive.count) went unnoticed and changed the events")
    }

    @Test func aCorruptedContentByteInALargeArchiveIsDetected() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try lz4Compress(try dir.write("plain.ndjson", Self.plain), dir.path("a.lz4"), options: ["-B4", "-BD"])
        let archive = try readBytes(dir.path("a.lz4"))
        for offset in [20, archive.count / 3, archive.count / 2, archive.count - 20] {
            var bad = archive
            bad[offset] ^= 0x10
            let got = readAll(try dir.write("bad.lz4", bad))
            let error = try #require(got.ingestError, "corruption at \(offset)")
            #expect(error.kind == .corruptArchive || error.kind == .truncatedArchive)
        }
    }

    @Test func errorsFromTheBodyPassThroughUnchanged() throws {
        struct Stop: Error {}
        let dir = try TempDir()
        defer { dir.remove() }
        _ = try dir.write("plain.ndjson", archiveFixture(lines: 100, seed: 10))
        try lz4Compress(dir.path("plain.ndjson"), dir.path("a.lz4"))
        for path in [dir.path("plain.ndjson"), dir.path("a.lz4")] {
            let reader = EventReader(symbols: SymbolTable(capacity: 1024))
            var seen = 0
            #expect(throws: Stop.self) {
                try reader.read(InputFile(path: path)) { _ in
                    seen += 1
                    if seen == 5 { throw Stop() }
                }
            }
            #expect(seen == 5, "\(path)")
        }
    }

    @Test func progressReportsCompressedBytes() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        _ = try dir.write("plain.ndjson", Self.plain)
        try lz4Compress(dir.path("plain.ndjson"), dir.path("a.lz4"))
        let size = try readBytes(dir.path("a.lz4")).count
        let reader = EventReader(symbols: SymbolTable(capacity: 1024), readBufferSize: 4096)
        var reports: [Int] = []
        reader.onProgress = { _, bytes in reports.append(bytes) }
        try reader.read(InputFile(path: dir.path("a.lz4"))) { _ in }
        #expect(reports.last == size)
        #expect(reports == reports.sorted())
        #expect(reports.count == (size + 4095) / 4096)
    }
}

/// `LZ4FrameDecoder` on its own, drip-fed (STYLE item 15): every input chunk
/// size and every output capacity must give back exactly the original bytes.
@Suite("LZ4FrameDecoder drip-fed")
struct LZ4FrameDecoderTests {
    func decompress(_ archive: [UInt8], chunk: Int, outputCapacity: Int) throws -> (bytes: [UInt8], finished: Bool) {
        let decoder = try LZ4FrameDecoder(outputCapacity: outputCapacity)
        var out: [UInt8] = []
        try archive.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let n = min(chunk, all.count - offset)
                do throws(LZ4DecodeFailure<Never>) {
                    try decoder.decompress(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)])) {
                        (bytes: UnsafeRawBufferPointer) throws(Never) in out += bytes
                    }
                } catch {
                    if case .lz4(let e) = error { throw e }
                }
                offset += n
            }
        }
        #expect(decoder.consumed == archive.count)
        do {
            try decoder.finish()
            return (out, true)
        } catch {
            #expect(error.kind == .truncated)
            return (out, false)
        }
    }

    @Test func chunkAndOutputSizes() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let plain = archiveFixture(lines: 300, seed: 21)
        for options in [[], ["-B4", "-BD"], ["--content-size", "-BX"]] as [[String]] {
            try lz4Compress(try dir.write("p.ndjson", plain), dir.path("a.lz4"), options: options)
            let archive = try readBytes(dir.path("a.lz4"))
            for chunk in [1, 2, 3, 7, 64, 4096, archive.count] {
                for capacity in [7, 4096, 1 << 20] where chunk >= 7 || capacity >= 4096 {
                    let (bytes, finished) = try decompress(archive, chunk: chunk, outputCapacity: capacity)
                    #expect(finished, "\(options) chunk \(chunk) capacity \(capacity)")
                    #expect(bytes == plain, "\(options) chunk \(chunk) capacity \(capacity): \(bytes.count) bytes, want \(plain.count)")
                }
            }
            // Cut short: what came out is a prefix, and finish says truncated.
            for cut in [5, archive.count / 2, archive.count - 1] {
                let (bytes, finished) = try decompress(Array(archive.prefix(cut)), chunk: 13, outputCapacity: 4096)
                #expect(!finished, "\(options) cut at \(cut)")
                #expect(bytes == Array(plain.prefix(bytes.count)))
            }
        }
    }

    /// When the call that ends the last frame fills the output buffer exactly,
    /// the archive is still complete: `finish()` must not report it truncated.
    /// (EventReader meets this with a 4 MiB last block, see
    /// `archiveOfExactlyFourMiBIsComplete`.)
    @Test func aFrameEndingOnAFullOutputBufferIsComplete() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let plain = archiveFixture(lines: 300, seed: 21)
        try lz4Compress(try dir.write("p.ndjson", plain), dir.path("a.lz4"))
        let archive = try readBytes(dir.path("a.lz4"))
        for (chunk, capacity) in [(archive.count, plain.count), (archive.count, 1), (64, 1), (4096, 1)] {
            let (bytes, finished) = try decompress(archive, chunk: chunk, outputCapacity: capacity)
            #expect(bytes == plain, "chunk \(chunk) capacity \(capacity)")
            #expect(finished, "chunk \(chunk), output capacity \(capacity): a complete archive reported as truncated")
        }
    }

    @Test func corruptionIsReportedWithAnOffset() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try lz4Compress(try dir.write("p.ndjson", archiveFixture(lines: 50, seed: 22)), dir.path("a.lz4"))
        var archive = try readBytes(dir.path("a.lz4"))
        archive[5] ^= 0x40  // the frame descriptor: caught by its header checksum
        let decoder = try LZ4FrameDecoder()
        var caught: LZ4Error?
        archive.withUnsafeBytes { all in
            do throws(LZ4DecodeFailure<Never>) {
                try decoder.decompress(all) { (_: UnsafeRawBufferPointer) throws(Never) in }
            } catch {
                if case .lz4(let e) = error { caught = e }
            }
        }
        let error = try #require(caught)
        #expect(error.kind == .corrupt)
        #expect(error.offset >= 0 && error.offset <= archive.count)
        #expect(!error.detail.isEmpty)
    }
}
