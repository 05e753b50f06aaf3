import CLZ4
import ChunkModel

// Streamed checkpoints (the daemon's): written in parts of LZ4 blocks by
// `CheckpointWrite`, read back part by part and section by section, so a
// restore never holds more than one section's bytes.
extension CheckpointStore {
    /// A streamed checkpoint's description; its parts are read with `part(_:)`.
    public struct Streamed {
        public var id: Int64
        public var takenAt: Timestamp
        public var watermark: Timestamp
        public var events: Int
        public var fingerprint: String
        public var parts: Int
    }

    /// Starts a streamed checkpoint of `parts` parts, on a connection and a
    /// thread of its own (see `CheckpointWrite`). Unfinished ones left by a
    /// crash or an abandoned write are removed first.
    public func begin(parts: Int, fingerprint: String, blockSize: Int = 1 << 20, maxQueued: Int = 64) throws(StoreError)
        -> CheckpointWrite
    {
        try CheckpointWrite(
            path: database.path, kind: kind, keep: keep, fingerprint: fingerprint, parts: parts, blockSize: blockSize,
            maxQueued: maxQueued)
    }

    /// The newest streamed checkpoint that was committed.
    public func latestStreamed() throws(StoreError) -> Streamed? {
        let s = try database.prepare(
            "SELECT id, taken_at, watermark, events, fingerprint, parts FROM checkpoints WHERE kind = ? AND parts >= 0 ORDER BY id DESC LIMIT 1")
        s.bind(1, kind)
        guard try s.step() else { return nil }
        return Streamed(
            id: Int64(s.int(0)), takenAt: Timestamp(epochMilliseconds: Int64(s.int(1))),
            watermark: Timestamp(nanoseconds: Int64(s.int(2))), events: s.int(3), fingerprint: s.string(4) ?? "", parts: s.int(5))
    }

    /// A reader of part `index` of `checkpoint`.
    public func part(_ index: Int, of checkpoint: Streamed) throws(StoreError) -> any CheckpointPartReader {
        let total = try database.prepare("SELECT coalesce(sum(raw_size), 0) FROM checkpoint_blocks WHERE checkpoint = ? AND part = ?")
        total.bind(1, checkpoint.id)
        total.bind(2, Int64(index))
        let size = try total.step() ? total.int(0) : 0
        let blocks = try database.prepare("SELECT raw_size, data FROM checkpoint_blocks WHERE checkpoint = ? AND part = ? ORDER BY seq")
        blocks.bind(1, checkpoint.id)
        blocks.bind(2, Int64(index))
        return BlockReader(blocks, part: index, size: size)
    }
}

/// Reads a part's blocks in order, decompressing one at a time.
private final class BlockReader: CheckpointPartReader {
    let blocks: Statement
    let part: Int
    /// Bytes of the part not read yet: a section's length is checked against it.
    var remaining: Int
    var block: [UInt8] = []
    var offset = 0

    init(_ blocks: Statement, part: Int, size: Int) {
        self.blocks = blocks
        self.part = part
        remaining = size
    }

    func nextSection() throws -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 8)
        try read(into: &header, 0, 8)
        let n = header.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(remaining) else {
            throw CheckpointStreamError("part \(part) of the checkpoint names a section of \(n) bytes, past its end (\(remaining) left)")
        }
        var out = [UInt8](repeating: 0, count: Int(n))
        try read(into: &out, 0, Int(n))
        return out
    }

    private func read(into out: inout [UInt8], _ start: Int, _ count: Int) throws {
        var at = start
        while at < start + count {
            if offset == block.count { try nextBlock() }
            let n = Swift.min(block.count - offset, start + count - at)
            out.withUnsafeMutableBytes { dst in
                block.withUnsafeBytes { src in
                    dst.baseAddress!.advanced(by: at).copyMemory(from: src.baseAddress!.advanced(by: offset), byteCount: n)
                }
            }
            offset += n
            at += n
            remaining -= n
        }
    }

    private func nextBlock() throws {
        guard try blocks.step() else { throw CheckpointStreamError("part \(part) of the checkpoint ends inside a section") }
        let raw = blocks.int(0)
        let data = blocks.blob(1)
        guard raw > 0, raw <= 1 << 30 else { throw CheckpointStreamError("part \(part) of the checkpoint has a block of \(raw) bytes") }
        block = [UInt8](repeating: 0, count: raw)
        let n = data.withUnsafeBytes { src in
            block.withUnsafeMutableBytes { dst in
                LZ4_decompress_safe(
                    src.baseAddress?.assumingMemoryBound(to: CChar.self), dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                    Int32(src.count), Int32(dst.count))
            }
        }
        guard n == raw else { throw CheckpointStreamError("part \(part) of the checkpoint has a corrupt block") }
        offset = 0
    }
}
