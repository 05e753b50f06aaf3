#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel
import ChunkWatchTestKit
import Foundation
import Ingest
import Server
import Synchronization
import Testing

/// The archive writer against the real readers: `EventReader` (what backfill
/// uses) and the `lz4` tool.
@Suite struct ArchiveWriterTests {
    static func lines(_ n: Int, from: Int = 0) -> [String] {
        (from..<(from + n)).map { #"{"ts":\#(1_795_392_000_000 + $0 * 1000),"principal":"p\#($0 % 7)","size":\#($0 * 37 % 5000)}"# }
    }

    static func append(_ lines: [String], to writer: ArchiveWriter) {
        for l in lines { Array(l.utf8).withUnsafeBytes { writer.append($0) } }
    }

    static func files(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    /// What backfill would read from the directory, line by line.
    static func readBack(_ dir: String) throws -> (lines: Int, errors: [String]) {
        let reader = EventReader(symbols: SymbolTable())
        var errors: [String] = []
        for f in try InputFile.expand([dir]) {
            do { try reader.read(f) { _ in } } catch { errors.append("\(error)") }
        }
        return (reader.counts.accepted, errors)
    }

    @Test func linesComeBackInOrderThroughTheLZ4ToolAndTheReader() throws {
        let dir = try makeTemporaryDirectory()
        let writer = try ArchiveWriter(directory: dir)
        let lines = Self.lines(20_000)
        Self.append(lines, to: writer)
        // While open, the file is hidden: backfill of the directory sees nothing half-written.
        writer.flush()
        #expect(try Self.files(dir).allSatisfy { $0.hasPrefix(".") })
        #expect(try Self.readBack(dir).lines == 0)
        try writer.close()
        let names = try Self.files(dir)
        #expect(names.count == 1 && names[0].hasPrefix("events-") && names[0].hasSuffix(".ndjson.lz4"))
        #expect(try shell("lz4 -dc \(dir)/\(names[0])").split(separator: "\n").map(String.init) == lines)
        #expect(try Self.readBack(dir) == (lines.count, []))
    }

    @Test func rotatesBySizeAndByAge() throws {
        let dir = try makeTemporaryDirectory()
        var settings = ArchiveWriter.Settings()
        settings.maxBytes = 64 * 1024
        let clock = Mutex(Timestamp(epochMilliseconds: 1_795_392_000_000))
        let writer = try ArchiveWriter(directory: dir, settings: settings, clock: { clock.withLock { $0 } })
        let lines = Self.lines(10_000)
        for chunk in stride(from: 0, to: lines.count, by: 500) {
            Self.append(Array(lines[chunk..<(chunk + 500)]), to: writer)
            writer.maintain()
        }
        try writer.close()
        let bySize = try Self.files(dir)
        #expect(bySize.count > 5, "about 60 bytes a line, 64 KiB a file")
        #expect(try Self.readBack(dir) == (lines.count, []))
        #expect(try shell("cat \(dir)/*.lz4 | lz4 -dc").split(separator: "\n").map(String.init) == lines)

        let aged = try makeTemporaryDirectory()
        let byAge = try ArchiveWriter(directory: aged, clock: { clock.withLock { $0 } })
        for i in 0..<5 {
            Self.append(Self.lines(10, from: i * 10), to: byAge)
            clock.withLock { $0 = $0 + .seconds(3601) }
            byAge.maintain()
        }
        try byAge.close()
        #expect(try Self.files(aged).count == 5)
        #expect(try Self.readBack(aged).lines == 50)
    }

    @Test func aFileLeftOpenByACrashIsRecoveredUpToItsLastCompleteLine() throws {
        let dir = try makeTemporaryDirectory()
        let lines = Self.lines(30_000)
        do {
            let writer = try ArchiveWriter(directory: dir)
            Self.append(lines, to: writer)
            writer.flush()
            // The process "dies": the hidden file is copied as it is now, then the writer goes.
            let hidden = try #require(try Self.files(dir).first { $0.hasPrefix(".events-") })
            _ = try shell("cp \(dir)/\(hidden) \(dir)/crash.tmp")
            try writer.close()
            _ = try shell("rm \(dir)/events-*; mv \(dir)/crash.tmp \(dir)/\(hidden)")
        }
        // Cut it in the middle of a block too, as a crash during a write would.
        let hidden = try #require(try Self.files(dir).first { $0.hasPrefix(".events-") })
        let size = try #require(try FileManager.default.attributesOfItem(atPath: "\(dir)/\(hidden)")[.size] as? Int)
        #expect(truncate("\(dir)/\(hidden)", off_t(size - 1000)) == 0)

        let restarted = try ArchiveWriter(directory: dir)
        let recovered = try #require(restarted.recovered.first)
        #expect(recovered.lines > 0 && recovered.lines < lines.count)
        #expect(recovered.detail.contains("cut") || recovered.detail.contains("corrupt"))
        try restarted.close()
        // Nothing hidden is left, and what was kept is a whole, clean prefix of what was written.
        #expect(try Self.files(dir).allSatisfy { !$0.hasPrefix(".") })
        let back = try shell("cat \(dir)/*.lz4 | lz4 -dc").split(separator: "\n").map(String.init)
        #expect(back == Array(lines.prefix(back.count)))
        #expect(back.count == recovered.lines)
        #expect(try Self.readBack(dir) == (recovered.lines, []))
        // The cut block is evidence: the leftover is kept whole under corrupt/, not deleted.
        let aside = try #require(recovered.movedAside)
        #expect(aside == "\(dir)/corrupt/\(hidden.dropFirst())")
        #expect(try FileManager.default.attributesOfItem(atPath: aside)[.size] as? Int == size - 1000)
    }

    /// What a kill -9 right after `sync()` leaves: every synced line comes back
    /// and, since nothing was lost, the leftover is removed.
    @Test func whatWasSyncedSurvivesAKillAndTheLeftoverIsRemoved() throws {
        let dir = try makeTemporaryDirectory()
        let lines = Self.lines(5_000)
        do {
            let writer = try ArchiveWriter(directory: dir)
            Self.append(lines, to: writer)
            #expect(writer.sync())
            let hidden = try #require(try Self.files(dir).first { $0.hasPrefix(".events-") })
            #expect(writer.position?.file == String(hidden.dropFirst()) && writer.position?.lines == lines.count)
            // The process "dies" now: only what sync() pushed to the file is there.
            _ = try shell("cp \(dir)/\(hidden) \(dir)/crash.tmp")
            Self.append(Self.lines(10, from: 5_000), to: writer)  // staged, never synced
            try writer.close()
            _ = try shell("rm \(dir)/events-*; mv \(dir)/crash.tmp \(dir)/\(hidden)")
        }
        let restarted = try ArchiveWriter(directory: dir)
        let recovered = try #require(restarted.recovered.first)
        #expect(recovered.lines == lines.count)
        #expect(recovered.movedAside == nil, "\(recovered.summary)")
        try restarted.close()
        #expect(try Self.files(dir).allSatisfy { !$0.hasPrefix(".") && $0 != "corrupt" })
        #expect(try shell("cat \(dir)/*.lz4 | lz4 -dc").split(separator: "\n").map(String.init) == lines)
    }

    /// One flipped header byte makes the whole leftover unreadable: it is moved
    /// aside byte for byte, and the summary says nothing was kept and why.
    @Test func anUnreadableLeftoverIsMovedAsideNotDeleted() throws {
        let dir = try makeTemporaryDirectory()
        let original: [UInt8]
        let hidden: String
        do {
            let writer = try ArchiveWriter(directory: dir)
            Self.append(Self.lines(2_000), to: writer)
            #expect(writer.sync())
            hidden = try #require(try Self.files(dir).first { $0.hasPrefix(".events-") })
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(hidden)")))
            bytes[4] ^= 0x40  // the frame descriptor's flags
            original = bytes
            try writer.close()
            _ = try shell("rm \(dir)/events-*")
            try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(hidden)"))
        }
        let restarted = try ArchiveWriter(directory: dir)
        let recovered = try #require(restarted.recovered.first)
        #expect(recovered.lines == 0 && recovered.archive == nil)
        let aside = try #require(recovered.movedAside)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: aside))) == original)
        #expect(recovered.summary.contains("0 lines kept") && recovered.summary.contains("corrupt"))
        try restarted.close()
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(hidden)"))
        #expect(try Self.readBack(dir) == (0, []), "backfill DIR does not read corrupt/")
    }
}
