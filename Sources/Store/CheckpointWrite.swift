import CLZ4
import ChunkModel
import Dispatch
import Foundation
import Synchronization

/// One checkpoint being written while the daemon goes on: each part's bytes
/// are cut into blocks of `blockSize`, LZ4-compressed on the thread that
/// writes the part, and handed to a thread of this write's own that stores
/// them as rows of `checkpoint_blocks` through its own connection, a block
/// per transaction, so the daemon's alert commits are never held up for long.
/// At most `maxQueued` blocks' worth of compressed bytes wait for that thread
/// (a part's writer waits for room), so memory stays bounded whatever the
/// size of the state. Counted in compressed bytes, not blocks: state
/// compresses well, so the pipeline thread that writes a shard rarely waits
/// for the disk.
///
/// The checkpoint is read back only once `commit` has stored its description:
/// until then (and after `abort`, or a crash) its row says `parts = -1`, and
/// the next write removes it.
public final class CheckpointWrite: @unchecked Sendable {  // state behind `state`; `database` used by the writer thread only
    public struct Progress: Sendable {
        public var partsClosed = 0
        /// Blocks stored, and blocks the closed parts sent.
        public var blocks = 0
        public var blocksSent = 0
        /// Bytes of the parts, and as stored (compressed).
        public var rawBytes = 0
        public var storedBytes = 0
        public var failure: String?
        public var committed = false
        public var finished = false
    }

    public let id: Int64
    public let parts: Int
    public let blockSize: Int
    let maxQueued: Int
    /// Room is counted in slots of `slotBytes` compressed bytes.
    private static let slotsPerBlock = 16
    private let slotBytes: Int
    private let slots: Int
    private let database: Database
    private let kind: String
    private let keep: Int
    private let state = Mutex(Progress())
    private let queue = Mutex<[Op]>([])
    private let items = DispatchSemaphore(value: 0)
    /// Slots free in the queue. A block takes all it needs at once, and may
    /// take it while fewer are free (the count goes below zero), so the queue
    /// holds at most `slots` plus one block per part. Taking slots one at a
    /// time let several parts each hold some while none held enough, with
    /// nothing queued to give any back: a deadlock.
    private let room: Mutex<Int>
    private let roomFreed = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    enum Op {
        case block(part: Int, seq: Int, raw: Int, data: [UInt8], slots: Int)
        case commit(takenAt: Timestamp, watermark: Timestamp, events: Int)
        case abort
    }

    /// Opens a connection of its own to `path` and records a checkpoint in progress.
    init(path: String, kind: String, keep: Int, fingerprint: String, parts: Int, blockSize: Int, maxQueued: Int) throws(StoreError) {
        let database = try Database(path: path)
        self.database = database
        self.kind = kind
        self.keep = keep
        self.parts = parts
        self.blockSize = blockSize
        self.maxQueued = maxQueued
        slotBytes = Swift.max(1, blockSize / Self.slotsPerBlock)
        slots = maxQueued * Self.slotsPerBlock
        room = Mutex(slots)
        id = try database.transaction { () throws(StoreError) -> Int64 in
            try Self.removeUnfinished(database, kind: kind)
            let insert = try database.prepare(
                "INSERT INTO checkpoints (taken_at, watermark, events, fingerprint, data, kind, parts) VALUES (0, 0, 0, ?, x'', ?, -1)")
            insert.bind(1, fingerprint)
            insert.bind(2, kind)
            try insert.step()
            return try database.lastInsertedRow
        }
        let thread = Thread { [self] in run() }
        thread.name = "chunkwatch-checkpoint"
        thread.start()
    }

    /// The writer of part `i`, for one thread to write through (ask once per part).
    public func part(_ i: Int) -> any CheckpointPartWriter {
        precondition(i >= 0 && i < parts, "no part \(i) in a checkpoint of \(parts)")
        return PartWriter(write: self, part: i)
    }

    public var progress: Progress { state.withLock { $0 } }

    /// Every part closed and every block stored: ready to `commit`.
    public var isWritten: Bool {
        state.withLock { $0.partsClosed == parts && $0.failure == nil && $0.blocks == $0.blocksSent }
    }

    public var failure: String? { state.withLock { $0.failure } }

    /// Makes it the newest checkpoint (once `isWritten`) and drops those past `keep`; returns at once.
    public func commit(takenAt: Timestamp, watermark: Timestamp, events: Int) {
        enqueue(.commit(takenAt: takenAt, watermark: watermark, events: events))
    }

    /// Gives it up: its rows go, and part writers fail from now on.
    public func abort() {
        state.withLock { if $0.failure == nil { $0.failure = "abandoned" } }
        enqueue(.abort)
    }

    /// Waits until the writer thread is done (after `commit` or `abort`).
    public func wait() {
        finished.wait()
        finished.signal()
    }

    /// The parts' writers hand their blocks over here (waiting for room).
    fileprivate func send(part: Int, seq: Int, raw: Int, data: [UInt8]) throws {
        let need = Swift.max(1, (data.count + slotBytes - 1) / slotBytes)
        while true {
            if let f = failure { throw CheckpointStreamError("the checkpoint was not written: \(f)") }
            let taken = room.withLock { free -> Bool in
                guard free > 0 else { return false }
                free -= need
                return true
            }
            if taken { break }
            _ = roomFreed.wait(timeout: .now() + .milliseconds(50))
        }
        enqueue(.block(part: part, seq: seq, raw: raw, data: data, slots: need))
    }

    fileprivate func partClosed(blocks: Int) {
        state.withLock {
            $0.partsClosed += 1
            $0.blocksSent += blocks
        }
    }

    fileprivate func partFailed(_ error: any Error) {
        state.withLock { if $0.failure == nil { $0.failure = "\(error)" } }
    }

    private func enqueue(_ op: Op) {
        queue.withLock { $0.append(op) }
        items.signal()
    }

    private func run() {
        var insert: Statement?
        loop: while true {
            items.wait()
            let op = queue.withLock { $0.removeFirst() }
            switch op {
            case .block(let part, let seq, let raw, let data, let slots):
                room.withLock { $0 += slots }
                roomFreed.signal()
                guard failure == nil else { continue }
                do {
                    if insert == nil {
                        insert = try database.prepare(
                            "INSERT INTO checkpoint_blocks (checkpoint, part, seq, raw_size, data) VALUES (?, ?, ?, ?, ?)")
                    }
                    let s = insert!
                    try database.transaction { () throws(StoreError) in
                        s.reset()
                        s.bind(1, id)
                        s.bind(2, Int64(part))
                        s.bind(3, Int64(seq))
                        s.bind(4, Int64(raw))
                        s.bind(5, data)
                        try s.step()
                    }
                    state.withLock {
                        $0.blocks += 1
                        $0.rawBytes += raw
                        $0.storedBytes += data.count
                    }
                } catch {
                    partFailed(error)
                }
            case .commit(let takenAt, let watermark, let events):
                if failure == nil {
                    do {
                        try finish(takenAt: takenAt, watermark: watermark, events: events)
                        state.withLock { $0.committed = true }
                    } catch {
                        partFailed(error)
                    }
                }
                if failure != nil { try? removeSelf() }
                break loop
            case .abort:
                try? removeSelf()
                break loop
            }
        }
        insert = nil
        state.withLock { $0.finished = true }
        finished.signal()
    }

    private func finish(takenAt: Timestamp, watermark: Timestamp, events: Int) throws(StoreError) {
        try database.transaction { () throws(StoreError) in
            let update = try database.prepare("UPDATE checkpoints SET taken_at = ?, watermark = ?, events = ?, parts = ? WHERE id = ?")
            update.bind(1, takenAt.epochMilliseconds)
            update.bind(2, watermark.nanoseconds)
            update.bind(3, Int64(events))
            update.bind(4, Int64(parts))
            update.bind(5, id)
            try update.step()
        }
        // The oldest beyond `keep` go, a few blocks per transaction.
        let old = try database.prepare(
            "SELECT id FROM checkpoints WHERE kind = ? AND (parts IS NULL OR parts >= 0) ORDER BY id DESC LIMIT -1 OFFSET ?")
        old.bind(1, kind)
        old.bind(2, Int64(keep))
        var ids: [Int64] = []
        while try old.step() { ids.append(Int64(old.int(0))) }
        for stale in ids { try Self.remove(database, id: stale) }
    }

    private func removeSelf() throws(StoreError) { try Self.remove(database, id: id) }

    /// Deletes a checkpoint's blocks in small transactions, then its row.
    static func remove(_ database: Database, id: Int64) throws(StoreError) {
        let blocks = try database.prepare(
            "DELETE FROM checkpoint_blocks WHERE rowid IN (SELECT rowid FROM checkpoint_blocks WHERE checkpoint = ? LIMIT 16)")
        while true {
            blocks.reset()
            blocks.bind(1, id)
            let removed = try database.transaction { () throws(StoreError) -> Int in
                try blocks.step()
                return database.changes
            }
            if removed == 0 { break }
        }
        let row = try database.prepare("DELETE FROM checkpoints WHERE id = ?")
        row.bind(1, id)
        try row.step()
    }

    /// Checkpoints left half-written by a crash or an abandoned write.
    static func removeUnfinished(_ database: Database, kind: String) throws(StoreError) {
        let s = try database.prepare("SELECT id FROM checkpoints WHERE kind = ? AND parts < 0")
        s.bind(1, kind)
        var ids: [Int64] = []
        while try s.step() { ids.append(Int64(s.int(0))) }
        let blocks = try database.prepare("DELETE FROM checkpoint_blocks WHERE checkpoint = ?")
        let row = try database.prepare("DELETE FROM checkpoints WHERE id = ?")
        for id in ids {
            blocks.reset()
            blocks.bind(1, id)
            try blocks.step()
            row.reset()
            row.bind(1, id)
            try row.step()
        }
    }
}

/// One part's writer: fills a block, compresses it, hands it over.
private final class PartWriter: CheckpointPartWriter, @unchecked Sendable {  // used by one thread at a time
    let write: CheckpointWrite
    let part: Int
    private var block: [UInt8] = []
    private var compressed: [UInt8] = []
    private(set) var blocksSent = 0
    private var closed = false

    init(write: CheckpointWrite, part: Int) {
        self.write = write
        self.part = part
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !closed else { throw CheckpointStreamError("part \(part) of the checkpoint was written after it was closed") }
        if block.capacity < write.blockSize { block.reserveCapacity(write.blockSize) }
        var at = 0
        while at < bytes.count {
            let n = Swift.min(write.blockSize - block.count, bytes.count - at)
            block.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)]))
            at += n
            if block.count == write.blockSize { try sendBlock() }
        }
    }

    func close() throws {
        guard !closed else { return }
        if !block.isEmpty { try sendBlock() }
        closed = true
        block = []
        compressed = []
        write.partClosed(blocks: blocksSent)
    }

    func fail(_ error: any Error) { write.partFailed(error) }

    private func sendBlock() throws {
        let bound = Int(LZ4_compressBound(Int32(block.count)))
        if compressed.count < bound { compressed = [UInt8](repeating: 0, count: bound) }
        let n = block.withUnsafeBytes { src in
            compressed.withUnsafeMutableBytes { dst in
                LZ4_compress_default(
                    src.baseAddress!.assumingMemoryBound(to: CChar.self), dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                    Int32(src.count), Int32(dst.count))
            }
        }
        guard n > 0 else { throw CheckpointStreamError("LZ4 could not compress a block of part \(part)") }
        let raw = block.count
        block.removeAll(keepingCapacity: true)
        try write.send(part: part, seq: blocksSent, raw: raw, data: Array(compressed[0..<Int(n)]))
        blocksSent += 1
    }
}
