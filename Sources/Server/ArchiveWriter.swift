#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel
import Dispatch
import Ingest
import Synchronization

/// Appends every accepted line (chunk events, and taps' drop reports in their
/// place among them) to LZ4 archives under one directory, rotated by size and
/// age, that `backfill` and `lz4 -dc` read back.
///
/// The file being written is hidden (`.events-….ndjson.lz4`), so `backfill DIR`
/// never reads a frame that has not ended; closing it renames it into view. A
/// hidden file left by a crash is recovered at start: its blocks up to the cut
/// are checked, and their complete lines become a closed archive of their own.
/// Like a sink, the writer opens in a throwing init and the per-line call does
/// not throw: a failed write is counted and reported by `close`, and ingest goes on.
public final class ArchiveWriter {
    public struct Settings: Sendable, Equatable {
        /// Uncompressed bytes per file before it is closed and a new one started.
        public var maxBytes = 256 << 20
        /// Wall-clock age at which a file is closed even if not full.
        public var maxAge: Duration = .seconds(3600)
        /// How often what has been compressed is pushed to the file (closing a block):
        /// at most this much of the archive is lost if the process is killed.
        public var flushInterval: Duration = .seconds(1)
        public init() {}
    }

    public let directory: String
    public let settings: Settings
    private let encoder: LZ4FrameEncoder
    /// Lines are gathered here and compressed 128 KiB at a time (a line of the
    /// longest accepted length always fits).
    private let staging: UnsafeMutableRawBufferPointer
    private var staged = 0
    private var fd: Int32 = -1
    private var hiddenPath = ""
    private var finalPath = ""
    private var openedAt = Timestamp.zero
    private var lastFlush = Timestamp.zero
    private var fileIndex = 0
    private let clock: @Sendable () -> Timestamp
    /// Lines appended since start, and files closed.
    public private(set) var linesWritten = 0
    public private(set) var filesClosed = 0
    /// The first write failure since the last `close`, with how many writes failed.
    public private(set) var failure: ArchiveError?
    public private(set) var failedWrites = 0
    /// What start-up recovery did with files a crash left open.
    public private(set) var recovered: [RecoveredArchive] = []
    /// Closes files in the background, in order.
    private let closer = DispatchQueue(label: "chunkwatch.archive-closer")
    private let closed = ClosedFiles()

    public init(directory: String, settings: Settings = .init(), clock: @escaping @Sendable () -> Timestamp = Timestamp.now)
        throws(ArchiveError)
    {
        self.directory = directory
        self.settings = settings
        self.clock = clock
        do { encoder = try LZ4FrameEncoder() } catch { throw ArchiveError(path: directory, message: error.detail) }
        staging = .allocate(byteCount: 128 * 1024, alignment: 16)
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw ArchiveError(path: directory, message: "cannot create the archive directory: \(String(cString: strerror(errno)))")
        }
        recovered = try ArchiveRecovery.recoverLeftovers(in: directory)
    }

    deinit {
        if fd >= 0 { try? close() }
        staging.deallocate()
    }

    /// Appends one accepted line (without its line end).
    public func append(_ line: UnsafeRawBufferPointer) {
        if fd < 0 { openFile() }
        if staged + line.count + 1 > staging.count { compressStaged() }
        if line.count + 1 > staging.count {
            compress(line)
            withUnsafeBytes(of: UInt8(ascii: "\n")) { compress($0) }
        } else {
            (staging.baseAddress! + staged).copyMemory(from: line.baseAddress!, byteCount: line.count)
            staging[staged + line.count] = UInt8(ascii: "\n")
            staged += line.count + 1
        }
        linesWritten += 1
        linesInFile += 1
    }

    /// Pushes compressed data out when the flush interval has passed, and rotates
    /// when the file is full or old. Call it often (each batch, and when idle).
    public func maintain() {
        guard fd >= 0 else { return }
        let now = clock()
        if encoder.contentBytes + staged >= settings.maxBytes || now - openedAt >= settings.maxAge {
            closeFile()
            settleReported()
        } else if now - lastFlush >= settings.flushInterval {
            flush()
        }
    }

    /// Closes and renames the current file (and waits for every file closed
    /// before); throws the first write failure since the last close.
    public func close() throws(ArchiveError) {
        if fd >= 0 { closeFile() }
        settleClosed()
        if let failure {
            self.failure = nil
            failedWrites = 0
            throw failure
        }
    }

    /// Pushes everything appended so far into the file (without ending the frame).
    public func flush() {
        guard fd >= 0 else { return }
        compressStaged()
        encoder.flush(writeOut)
        pushOut()
        lastFlush = clock()
    }

    /// Makes every line appended so far durable: flushed into complete blocks
    /// and on disk (fsync), the files handed to the closer included. What a
    /// kill -9 leaves after this returns is recovered at the next start.
    /// Returns false when the lines cannot be promised (a write or fsync failed).
    public func sync() -> Bool {
        let done = Mutex<Bool?>(nil)
        syncInBackground { ok in done.withLock { $0 = ok } }
        closer.sync {}
        return done.withLock { $0 } ?? false
    }

    /// What `sync` does without waiting for the disk: the lines appended so
    /// far go into the file now, and the fsync runs on the closer's thread,
    /// after the files closed before (so it covers them too). `done` is called
    /// there, once, with whether every line is on disk. The caller keeps
    /// what it promises (replies, acknowledgements) until then, and the
    /// pipeline thread reads on while the disk is busy (a checkpoint's
    /// writes can hold an fsync for seconds).
    public func syncInBackground(_ done: @escaping @Sendable (Bool) -> Void) {
        let file = fd >= 0 && linesWritten != linesSynced ? fd : -1
        if file >= 0 { flush() }
        linesSynced = linesWritten
        closesPending = false
        // Any write failure since the last sync: those lines are not all there.
        let wrote = failedWrites == failuresAtLastSync
        failuresAtLastSync = failedWrites
        closer.async { [closed, hiddenPath] in
            var ok = wrote
            if file >= 0 && fsync(file) != 0 {
                let failure = "cannot fsync \(hiddenPath): \(String(cString: strerror(errno)))"
                closed.state.withLock { $0.failures.append(failure) }
                ok = false
            }
            // A file before it that could not be closed and renamed.
            if closed.state.withLock({ !$0.failures.isEmpty }) { ok = false }
            done(ok)
        }
    }
    private var failuresAtLastSync = 0
    private var linesSynced = 0
    /// Lines in the file being written (or the last one closed), for `position`.
    private var linesInFile = 0
    private var positionName: String?

    /// The archive file the last line went to (its visible name) and how many
    /// lines it holds up to it: what recovery must find after a crash for
    /// those lines to be there.
    public var position: (file: String, lines: Int)? { positionName.map { ($0, linesInFile) } }
    /// A file was handed to the closer since the last `sync`: its fsync must be waited for.
    private var closesPending = false

    private func openFile() {
        let now = clock()
        // Names sort by time, so `backfill DIR` replays them in order; the index
        // keeps names unique when several files open within one second.
        let stamp = Self.fileStamp(now)
        fileIndex += 1
        let name = "events-\(stamp)-\(String(getpid()))-\(fileIndex).ndjson.lz4"
        hiddenPath = directory + "/." + name
        finalPath = directory + "/" + name
        fd = open(hiddenPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            fail("cannot create \(hiddenPath): \(String(cString: strerror(errno)))")
            return
        }
        openedAt = now
        lastFlush = now
        positionName = name
        linesInFile = 0
        encoder.begin(writeOut)
    }

    private func closeFile() {
        compressStaged()
        encoder.end(writeOut)
        pushOut()
        // fsync takes tens of milliseconds on a full file: it runs on a thread of
        // its own, so ingest (and the alerts behind it) never waits for the disk.
        // The file is renamed into view only once it is on disk.
        let (file, hidden, final) = (fd, hiddenPath, finalPath)
        fd = -1
        closesPending = true
        closer.async { [closed] in
            fsync(file)
            Glibc.close(file)
            let failure = rename(hidden, final) == 0 ? nil : "cannot rename \(hidden): \(String(cString: strerror(errno)))"
            closed.state.withLock { c in
                if let failure { c.failures.append(failure) } else { c.files += 1 }
            }
        }
    }

    /// Takes in what the closer has reported so far, without waiting.
    private func settleReported() {
        let (files, failures) = closed.state.withLock { c in
            defer { c = (0, []) }
            return (c.files, c.failures)
        }
        filesClosed += files
        for f in failures { fail(f) }
    }

    /// Waits for the files handed to the closer, and takes in what it reported.
    private func settleClosed() {
        closer.sync {}
        settleReported()
    }

    private func compressStaged() {
        guard staged > 0 else { return }
        compress(UnsafeRawBufferPointer(start: staging.baseAddress, count: staged))
        staged = 0
    }

    private func compress(_ bytes: UnsafeRawBufferPointer) {
        encoder.compress(bytes, writeOut)
    }

    /// Compressed output waits here until the batch's commit (`sync`), so the
    /// file never holds lines of a batch whose taps' marks are not yet stored
    /// (what would be archived twice after a crash); past `maxUnwritten` it
    /// goes out early, so memory stays bounded.
    private func writeOut(_ bytes: UnsafeRawBufferPointer) {
        unwritten.append(contentsOf: bytes)
        if unwritten.count >= Self.maxUnwritten { pushOut() }
    }
    private var unwritten: [UInt8] = []
    static let maxUnwritten = 16 << 20

    /// Writes what `writeOut` gathered to the file.
    private func pushOut() {
        guard !unwritten.isEmpty else { return }
        unwritten.withUnsafeBytes { write($0) }
        unwritten.removeAll(keepingCapacity: unwritten.count <= 1 << 20)
    }

    private func write(_ bytes: UnsafeRawBufferPointer) {
        guard fd >= 0, var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                fail("cannot write \(hiddenPath): \(String(cString: strerror(errno)))")
                return
            }
            p += n
            left -= n
        }
    }

    private func fail(_ message: String) {
        failedWrites += 1
        if failure == nil { failure = ArchiveError(path: directory, message: message) }
    }

    /// `20261125T080003Z`: UTC, sortable, safe in file names.
    static func fileStamp(_ t: Timestamp) -> String {
        let iso = t.rfc3339  // 2026-11-25T08:00:03.120Z
        var out = ""
        for c in iso.prefix(19) where c != "-" && c != ":" { out.append(c) }
        return out + "Z"
    }
}

/// An archive directory or file that could not be created, written or recovered.
public struct ArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// What the closer thread reports back: files closed, and failures.
private final class ClosedFiles: Sendable {
    let state = Mutex<(files: Int, failures: [String])>((0, []))
}
