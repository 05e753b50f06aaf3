import ChunkModel
import Foundation
import Store
import Testing

private func temporaryPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("chunkwatch-ckpt-\(UUID().uuidString).db").path
}

private func removeDatabase(_ path: String) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

/// Streamed checkpoints: parts written from their own threads in LZ4 blocks,
/// read back section by section; only committed ones are ever read.
@Suite struct CheckpointStreamTests {
    static let fingerprint = "build-1"

    static func section(_ part: Int, _ n: Int) -> [UInt32] { (0..<n).map { UInt32($0 &* 2_654_435_761 % 1000) &+ UInt32(part) } }

    /// Three parts, written at once from three threads, with sections larger than a block.
    static func write(_ store: CheckpointStore, events: Int, commit: Bool = true) throws -> CheckpointWrite {
        let w = try store.begin(parts: 3, fingerprint: fingerprint, blockSize: 4096, maxQueued: 2)
        let threads = (0..<3).map { i in
            let part = w.part(i)
            return Thread {
                do {
                    try part.section(Self.section(i, 10_000))
                    try part.section(bytes: [UInt8(i)])
                    try part.section(Self.section(i, 3))
                    try part.close()
                } catch {
                    part.fail(error)
                }
            }
        }
        for t in threads { t.start() }
        try #require(Self.waitUntilWritten(w), "the parts were not written within 60 s")
        #expect(w.failure == nil)
        if commit {
            w.commit(takenAt: Timestamp(epochMilliseconds: 1_000), watermark: Timestamp(nanoseconds: 5), events: events)
            w.wait()
            #expect(w.progress.committed)
        }
        return w
    }

    /// Waits (60 s at most) for every part to be stored or the write to fail.
    static func waitUntilWritten(_ w: CheckpointWrite) -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while !w.isWritten && w.failure == nil {
            if ContinuousClock.now > deadline {
                w.abort()
                return false
            }
            usleep(1000)
        }
        return true
    }

    /// Many parts at once, each block incompressible and the queue one block
    /// long: no part waits forever for room another holds. (Parts took room
    /// slot by slot: several parts could each hold some, none enough, with
    /// nothing queued to give any back, and the write hung.)
    @Test func manyPartsWritingAtOnceNeverWaitForEachOther() throws {
        let path = temporaryPath()
        defer { removeDatabase(path) }
        let store = try CheckpointStore(database: try Database(path: path))
        let parts = 8
        let w = try store.begin(parts: parts, fingerprint: Self.fingerprint, blockSize: 4096, maxQueued: 1)
        let sections = (0..<parts).map { p -> [UInt8] in
            var rng = UInt64(p + 1)
            return (0..<40_000).map { _ in
                rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: rng >> 56)
            }
        }
        for i in 0..<parts {
            let part = w.part(i)
            let bytes = sections[i]
            Thread {
                do {
                    for _ in 0..<4 { try part.section(bytes: bytes) }
                    try part.close()
                } catch {
                    part.fail(error)
                }
            }.start()
        }
        try #require(Self.waitUntilWritten(w), "the parts were not written within 60 s")
        w.commit(takenAt: Timestamp(epochMilliseconds: 1_000), watermark: Timestamp(nanoseconds: 5), events: 1)
        w.wait()
        let c = try #require(try store.latestStreamed())
        for i in 0..<parts {
            let r = try store.part(i, of: c)
            for _ in 0..<4 { #expect(try r.nextSection() == sections[i]) }
        }
    }

    @Test func partsComeBackSectionBySection() throws {
        let path = temporaryPath()
        defer { removeDatabase(path) }
        let store = try CheckpointStore(database: try Database(path: path))
        let w = try Self.write(store, events: 12)
        #expect(w.progress.rawBytes > 3 * 40_000)
        #expect(w.progress.storedBytes < w.progress.rawBytes, "the blocks are compressed")
        let c = try #require(try store.latestStreamed())
        #expect(c.events == 12 && c.parts == 3 && c.fingerprint == Self.fingerprint)
        for i in 0..<3 {
            let r = try store.part(i, of: c)
            #expect(try r.nextSection([UInt32].self) == Self.section(i, 10_000))
            #expect(try r.nextSection() == [UInt8(i)])
            #expect(try r.nextSection([UInt32].self) == Self.section(i, 3))
            #expect(throws: (any Error).self) { try r.nextSection() }
        }
    }

    @Test func onlyCommittedCheckpointsAreReadAndTheOldOnesGo() throws {
        let path = temporaryPath()
        defer { removeDatabase(path) }
        let store = try CheckpointStore(database: try Database(path: path), keep: 2)
        for n in 1...3 { _ = try Self.write(store, events: n) }
        #expect(try store.count == 2)
        // Written but never committed (a crash): not read, and removed by the next one.
        let open = try Self.write(store, events: 99, commit: false)
        #expect(try store.latestStreamed()?.events == 3)
        open.abort()
        open.wait()
        let left = try Database(path: path).prepare("SELECT count(*) FROM checkpoint_blocks WHERE checkpoint = ?")
        left.bind(1, open.id)
        #expect(try left.step() && left.int(0) == 0, "an abandoned checkpoint leaves no blocks")
        _ = try Self.write(store, events: 4)
        #expect(try store.latestStreamed()?.events == 4)
        let rows = try Database(path: path).prepare("SELECT count(DISTINCT checkpoint) FROM checkpoint_blocks")
        #expect(try rows.step() && rows.int(0) == 2, "blocks only of the two kept")
    }

    @Test func aWriteThatIsAbandonedMakesItsWritersFail() throws {
        let path = temporaryPath()
        defer { removeDatabase(path) }
        let store = try CheckpointStore(database: try Database(path: path))
        let w = try store.begin(parts: 1, fingerprint: Self.fingerprint, blockSize: 4096, maxQueued: 1)
        let part = w.part(0)
        w.abort()
        w.wait()
        #expect(throws: CheckpointStreamError.self) {
            for _ in 0..<10 { try part.section(Self.section(0, 10_000)) }
        }
        #expect(try store.latestStreamed() == nil)
    }
}
