#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Ingest

/// What recovery made of one archive a crash left open.
public struct RecoveredArchive: Sendable, Equatable {
    /// The hidden file as found.
    public var leftover: String
    /// The closed archive written from it (nil when it held no complete line).
    public var archive: String?
    /// Complete lines kept.
    public var lines: Int
    /// Why the leftover stopped where it did (a cut frame, a corrupt block).
    public var detail: String
    /// Where the leftover was moved when not all of it could be recovered
    /// (under `corrupt/`); nil when everything in it was kept and it was removed.
    public var movedAside: String?

    /// One line for the log: what was kept and what was not.
    public var summary: String {
        if let movedAside { return "\(lines) lines kept; the rest could not be read (\(detail)) and the file is kept as \(movedAside)" }
        return "\(lines) lines kept (\(detail))"
    }
}

/// Turns the hidden, unfinished archives a killed daemon left behind into
/// closed ones: decompresses each as far as its blocks check out, keeps the
/// complete lines, and writes them as a normal archive under the visible name.
enum ArchiveRecovery {
    static func recoverLeftovers(in directory: String) throws(ArchiveError) -> [RecoveredArchive] {
        guard let dir = opendir(directory) else {
            throw ArchiveError(path: directory, message: "cannot read the archive directory: \(String(cString: strerror(errno)))")
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(".events-") && name.hasSuffix(".ndjson.lz4") { names.append(name) }
        }
        closedir(dir)
        var out: [RecoveredArchive] = []
        for name in names.sorted() {
            out.append(
                try recover(
                    directory + "/" + name, into: directory + "/" + String(name.dropFirst()),
                    corruptDirectory: directory + "/corrupt"))
        }
        return out
    }

    /// Recovers `leftover` into `target`. A leftover recovered whole is
    /// removed; one with anything unreadable (a corrupt block, a block or a
    /// line cut short) is moved into `corruptDirectory`, never deleted.
    static func recover(_ leftover: String, into target: String, corruptDirectory: String) throws(ArchiveError)
        -> RecoveredArchive
    {
        guard let input = fopen(leftover, "rb") else {
            throw ArchiveError(path: leftover, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(input) }
        let encoder: LZ4FrameEncoder
        let decoder: LZ4FrameDecoder
        do {
            encoder = try LZ4FrameEncoder()
            decoder = try LZ4FrameDecoder()
        } catch {
            throw ArchiveError(path: leftover, message: error.detail)
        }
        let partial = target + ".recovering"
        guard let output = fopen(partial, "wb") else {
            throw ArchiveError(path: partial, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        func put(_ bytes: UnsafeRawBufferPointer) { fwrite(bytes.baseAddress, 1, bytes.count, output) }

        // Decompressed bytes up to the last line end go to the new archive; the
        // tail after it waits for the next block (or is dropped at the cut).
        var tail: [UInt8] = []
        var lines = 0
        var detail = "the frame was cut before its end mark"
        var whole = true
        var read = 0
        encoder.begin(put)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = fread(buffer.baseAddress, 1, buffer.count, input)
            if n == 0 { break }
            read += n
            do {
                try decoder.decompress(UnsafeRawBufferPointer(rebasing: buffer.prefix(n))) { (bytes: UnsafeRawBufferPointer) in
                    tail.append(contentsOf: bytes)
                    guard let last = tail.lastIndex(of: UInt8(ascii: "\n")) else { return }
                    lines += tail[...last].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
                    tail.withUnsafeBytes { encoder.compress(UnsafeRawBufferPointer(rebasing: $0.prefix(last + 1)), put) }
                    tail.removeFirst(last + 1)
                }
            } catch {
                if case .lz4(let e) = error { detail = "corrupt at byte \(e.offset): \(e.detail)" }
                whole = false
                break
            }
        }
        if whole {
            if (try? decoder.finish()) != nil {
                detail = "the frame was complete"
            } else if decoder.atBlockBoundary {
                detail = "the frame was cut at a block boundary: every block written was kept"
            } else {
                detail = "the last block was cut short at byte \(read)"
                whole = false
            }
        }
        if !tail.isEmpty {
            // Everything synced ends with a whole line: a cut line after the
            // last whole block was never acknowledged to anyone.
            detail += "; the last \(tail.count) bytes, a line the crash cut short, were never acknowledged"
        }
        encoder.end(put)
        let ok = fflush(output) == 0 && fsync(fileno(output)) == 0
        fclose(output)
        guard ok else { throw ArchiveError(path: partial, message: "cannot write: \(String(cString: strerror(errno)))") }
        if lines > 0 {
            guard rename(partial, target) == 0 else {
                throw ArchiveError(path: target, message: "cannot rename: \(String(cString: strerror(errno)))")
            }
        } else {
            unlink(partial)
        }
        var movedAside: String?
        if whole {
            unlink(leftover)
        } else {
            movedAside = try moveAside(leftover, into: corruptDirectory)
        }
        return RecoveredArchive(
            leftover: leftover, archive: lines > 0 ? target : nil, lines: lines, detail: detail, movedAside: movedAside)
    }

    /// Moves a leftover that could not be read whole into `directory` (made
    /// if needed), under a name that does not replace an earlier one.
    private static func moveAside(_ leftover: String, into directory: String) throws(ArchiveError) -> String {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw ArchiveError(path: directory, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        let name = String(leftover.split(separator: "/").last ?? "leftover").drop { $0 == "." }
        var destination = directory + "/" + name
        var n = 1
        while access(destination, F_OK) == 0 {
            n += 1
            destination = directory + "/" + name + ".\(n)"
        }
        guard rename(leftover, destination) == 0 else {
            throw ArchiveError(path: leftover, message: "cannot move to \(destination): \(String(cString: strerror(errno)))")
        }
        return destination
    }
}
