import ChunkModel
import Foundation
import Ingest
import Testing

@Suite("InputFile.expand, EventReader errors and the rejects file")
struct InputFileTests {
    @Test func directoryFilesInNameOrderHiddenAndSubdirectoriesSkipped() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let names = ["b.ndjson", "a.ndjson", "c.ndjson.lz4", "10.ndjson", "9.ndjson", "B.ndjson", "é.ndjson"]
        for (i, name) in names.enumerated() {
            _ = try dir.write(name, [UInt8](repeating: 0x41, count: i + 1))
        }
        _ = try dir.write(".hidden.ndjson", [1, 2, 3])
        _ = try dir.write(".DS_Store", [1])
        try FileManager.default.createDirectory(atPath: dir.path("sub"), withIntermediateDirectories: false)
        _ = try dir.write("sub/inner.ndjson", [1])
        try FileManager.default.createDirectory(atPath: dir.path("0-dir.ndjson"), withIntermediateDirectories: false)

        let files = try InputFile.expand([dir.url.path])
        let expectedOrder = ["10.ndjson", "9.ndjson", "B.ndjson", "a.ndjson", "b.ndjson", "c.ndjson.lz4", "é.ndjson"]
        #expect(files.map { URL(fileURLWithPath: $0.path).lastPathComponent } == expectedOrder)
        #expect(files.map(\.path) == expectedOrder.map { dir.path($0) })
        for f in files {
            let name = URL(fileURLWithPath: f.path).lastPathComponent
            #expect(f.size == names.firstIndex(of: name)! + 1, "\(name)")
        }
        // A trailing slash gives the same paths, not doubled slashes.
        let withSlash = try InputFile.expand([dir.url.path + "/"])
        #expect(withSlash.map(\.path) == files.map(\.path))
    }

    /// Archives whose names do not sort in event time (renamed, or from hosts
    /// whose names sort otherwise) are read in the order of their first
    /// events, LZ4 ones included; a file with no readable event stays after
    /// the file before it by name; a directory in order is left alone.
    @Test func aDirectorysFilesAreReadInTheOrderOfTheirFirstEvents() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        func line(_ hour: Int) -> String { #"{"ts":"2026-11-23T\#(String(format: "%02d", hour)):00:00Z","principal":"p","size":1}"# + "\n" }
        _ = try dir.write("a-host.ndjson", Array((line(9) + line(10)).utf8))
        _ = try dir.write("b-host.ndjson", Array("not an event\n".utf8))  // no readable event: stays after a-host
        _ = try dir.write("c-host.ndjson", Array((line(3) + line(4)).utf8))
        let plain = try dir.write("d-plain.ndjson", Array(line(6).utf8))
        try lz4Compress(plain, dir.path("e-host.ndjson.lz4"))
        try FileManager.default.removeItem(atPath: plain)

        let (files, reordered) = try InputFile.expandInTimeOrder(dir.url.path)
        #expect(reordered)
        #expect(files.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["c-host.ndjson", "e-host.ndjson.lz4", "a-host.ndjson", "b-host.ndjson"])
        #expect(InputFile.firstEventTime(files[1]) == Timestamp(rfc3339: "2026-11-23T06:00:00Z"))

        let inOrder = try TempDir()
        defer { inOrder.remove() }
        _ = try inOrder.write("1.ndjson", Array(line(1).utf8))
        _ = try inOrder.write("2.ndjson", Array(line(2).utf8))
        let kept = try InputFile.expandInTimeOrder(inOrder.url.path)
        let byName = try InputFile.expand([inOrder.url.path])
        #expect(!kept.reordered && kept.files == byName)
    }

    @Test func argumentsKeepTheirOrderAndStdinIsDash() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let z = try dir.write("z.ndjson", [1, 2, 3, 4])
        try FileManager.default.createDirectory(atPath: dir.path("d"), withIntermediateDirectories: false)
        _ = try dir.write("d/x.ndjson", [])
        let files = try InputFile.expand([z, "-", dir.path("d")])
        #expect(files.count == 3)
        #expect(files[0] == InputFile(path: z, size: 4))
        #expect(files[1] == InputFile(path: "-", size: nil))
        #expect(files[2].path == dir.path("d") + "/x.ndjson")
        #expect(files[2].size == 0)
        #expect(try InputFile.expand([]).isEmpty)
        // An empty directory stands for no files.
        try FileManager.default.createDirectory(atPath: dir.path("empty"), withIntermediateDirectories: false)
        #expect(try InputFile.expand([dir.path("empty")]).isEmpty)
    }

    @Test func missingPathThrowsNotFound() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let missing = dir.path("nope.ndjson")
        let error = #expect(throws: IngestError.self) {
            _ = try InputFile.expand([dir.url.path, missing])
        }
        #expect(error?.kind == .notFound)
        #expect(error?.path == missing)
        #expect(error?.description.contains("nope.ndjson") == true)
        // EventReader says the same for a file that vanished after expansion.
        let r = readAll(missing)
        #expect(r.ingestError?.kind == .notFound)
        #expect(r.ingestError?.path == missing)
    }

    @Test func rejectsFileLinesCarryFileLineReasonAndText() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let lines = [
            ok,  // 1
            line(size: "-1"),  // 2
            "",  // 3: empty, skipped
            #"{"principal":"p","size":1}"#,  // 4
            paddedLine(70000),  // 5
            "not \"json\"\t\\ at all",  // 6
            line(ts: #""2026-13-01T00:00:00Z""#),  // 7
            line(principal: "7"),  // 8
            ok,  // 9
        ]
        let path = try dir.write("in \"quoted\".ndjson", Array(lines.joined(separator: "\r\n").utf8))
        let result = readAll(path, rejectsPath: dir.path("rejects.ndjson"))
        #expect(result.error == nil)
        #expect(result.events == [base, base])
        let rejects = try parseRejects(dir.path("rejects.ndjson"))
        #expect(rejects.map(\.line) == [2, 4, 5, 6, 7, 8])
        #expect(rejects.map(\.reason) == ["negative_size", "missing_field", "too_long", "not_json", "bad_timestamp", "wrong_type"])
        #expect(rejects.allSatisfy { $0.file == path })
        #expect(rejects[0].text == line(size: "-1"))
        #expect(rejects[1].text == #"{"principal":"p","size":1}"#)
        #expect(rejects[2].text == nil, "a too-long line is not copied")
        #expect(rejects[3].text == "not \"json\"\t\\ at all")
        #expect(result.counts.accepted == 2)
        #expect(result.counts.totalRejected == 6)
        #expect(result.counts.rejectedSummary
            == "6 rejected (1 not_json, 1 missing_field, 1 wrong_type, 1 negative_size, 1 too_long, 1 bad_timestamp)")
    }

    @Test func rejectWriterDirectly() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let writer = try RejectWriter(path: dir.path("r.ndjson"))
        let text = Array("a\u{1}b\"c\n".utf8)
        text.withUnsafeBytes { writer.write(file: "f.ndjson", line: 12, reason: .wrongType, text: $0) }
        writer.write(file: "-", line: 3_000_000_000, reason: .tooLong, text: nil)
        // Enough lines to pass the internal flush threshold.
        for i in 0..<3000 {
            Array("line \(i)".utf8).withUnsafeBytes { writer.write(file: "g", line: i, reason: .notJSON, text: $0) }
        }
        try writer.close()
        let rejects = try parseRejects(dir.path("r.ndjson"))
        #expect(rejects.count == 3002)
        #expect(rejects[0].file == "f.ndjson" && rejects[0].line == 12 && rejects[0].reason == "wrong_type")
        #expect(rejects[0].text == "a\u{1}b\"c\n")
        #expect(rejects[1].file == "-" && rejects[1].line == 3_000_000_000 && rejects[1].reason == "too_long")
        #expect(rejects[1].text == nil)
        #expect(rejects.last?.text == "line 2999")
        #expect(rejects.last?.line == 2999)
    }

    @Test func rejectWriterCannotOpen() {
        #expect(throws: IngestError.self) {
            _ = try RejectWriter(path: "/nonexistent-dir-for-chunkwatch-tests/r.ndjson")
        }
    }

    @Test func countsAccumulateOverFilesAndEveryLineIsCounted() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let a = try dir.write("a.ndjson", Array((ok + "\n" + line(size: "-1") + "\n\n").utf8))
        let b = try dir.write("b.ndjson", Array(("{\n" + ok).utf8))
        let reader = EventReader(symbols: SymbolTable(capacity: 64))
        var n = 0
        try reader.read(InputFile(path: a)) { _ in n += 1 }
        try reader.read(InputFile(path: b)) { _ in n += 1 }
        #expect(n == 2)
        #expect(reader.counts.accepted == 2)
        #expect(reader.counts[.negativeSize] == 1)
        #expect(reader.counts[.notJSON] == 1)
        #expect(reader.counts.lines == 4)
    }

    @Test func ingestErrorDescriptions() {
        #expect(IngestError(.notFound, path: "-", detail: "").description == "stdin: no such file or directory")
        let e = IngestError(.truncatedArchive, path: "x.lz4", byteOffset: 17, detail: "d")
        #expect(e.description.contains("x.lz4") && e.description.contains("17"))
        #expect(IngestError(.corruptArchive, path: "y", byteOffset: 3, detail: "bad").description.contains("corrupt"))
    }
}
