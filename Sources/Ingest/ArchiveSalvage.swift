/// The byte side of recovering an archive a crash left open (`ArchiveRecovery`
/// in Server does the files): decompresses the leftover as far as its blocks
/// check out and writes its complete lines, compressed again, as one closed
/// frame. A function of the bytes alone, so it can be fuzzed without a daemon.
public final class ArchiveSalvage {
    /// Complete lines written so far.
    public private(set) var lines = 0
    /// Why the leftover stopped where it did (a cut frame, a corrupt block); final after `finish`.
    public private(set) var detail = "the frame was cut before its end mark"
    /// Whether everything in the leftover could be read: false after a corrupt
    /// block, or a block cut short (final after `finish`). A leftover that is
    /// not whole is evidence to keep, never to delete.
    public private(set) var whole = true
    private var stopped = false
    private var read = 0
    private let encoder: LZ4FrameEncoder
    private let decoder: LZ4FrameDecoder
    /// Decompressed bytes after the last line end, waiting for the next block (or dropped at the cut).
    private var tail: [UInt8] = []

    public init() throws(LZ4Error) {
        encoder = try LZ4FrameEncoder()
        decoder = try LZ4FrameDecoder()
    }

    /// Writes the new frame's header.
    public func begin(_ put: (UnsafeRawBufferPointer) -> Void) { encoder.begin(put) }

    /// Takes the next piece of the leftover; false once a corrupt block has
    /// ended the salvage (the caller can stop reading).
    @discardableResult
    public func feed(_ piece: UnsafeRawBufferPointer, _ put: (UnsafeRawBufferPointer) -> Void) -> Bool {
        guard !stopped else { return false }
        read += piece.count
        do {
            try decoder.decompress(piece) { (bytes: UnsafeRawBufferPointer) in
                tail.append(contentsOf: bytes)
                guard let last = tail.lastIndex(of: UInt8(ascii: "\n")) else { return }
                lines += tail[...last].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
                tail.withUnsafeBytes { encoder.compress(UnsafeRawBufferPointer(rebasing: $0.prefix(last + 1)), put) }
                tail.removeFirst(last + 1)
            }
        } catch {
            if case .lz4(let e) = error { detail = "corrupt at byte \(e.offset): \(e.detail)" }
            whole = false
            stopped = true
        }
        return !stopped
    }

    /// Ends the new frame (its end mark and checksum) and settles `detail` and `whole`.
    public func finish(_ put: (UnsafeRawBufferPointer) -> Void) {
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
    }
}
