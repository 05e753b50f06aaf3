import CLZ4

/// Streaming decompression of the LZ4 frame format (as the `lz4` tool writes
/// it), through liblz4's LZ4F API: constant memory whatever the archive size,
/// concatenated frames read one after another, content and block checksums
/// verified when the frame carries them.
///
/// Content checksums are verified here (`XXHash32`), not by the library, which
/// is told to skip them: see `XXHash32` for why. Frames with block checksums
/// are left to the library entirely, since skipping would also skip those of
/// its uncompressed blocks.
public final class LZ4FrameDecoder {
    /// LZ4 frames start with this little-endian magic number.
    public static let magic: [UInt8] = [0x04, 0x22, 0x4D, 0x18]

    private var context: OpaquePointer?
    private let output: UnsafeMutableRawBufferPointer
    /// Compressed bytes consumed so far, for error offsets and progress.
    public private(set) var consumed = 0
    /// liblz4's hint of what it still expects; 0 between frames.
    private var pending = 0
    /// liblz4's hint of how many input bytes its next step wants.
    private var nextHint = 7

    /// Who verifies the content checksum of the frame being read.
    private enum Checking {
        /// Its header is not decoded yet.
        case undecided
        /// The library: no content checksum, or block checksums too, or output
        /// came before the header was known.
        case library
        /// We do, over the output so far.
        case ours(XXHash32)
    }
    private var checking = Checking.undecided
    /// The last four compressed bytes taken: at the end of a frame, its content checksum.
    private var lastFour: UInt32 = 0

    public init(outputCapacity: Int = 4 << 20) throws(LZ4Error) {
        var ctx: OpaquePointer?
        let r = LZ4F_createDecompressionContext(&ctx, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(r) == 0, let ctx else {
            throw LZ4Error(kind: .corrupt, offset: 0, detail: String(cString: LZ4F_getErrorName(r)))
        }
        context = ctx
        output = .allocate(byteCount: outputCapacity, alignment: 16)
    }

    deinit {
        LZ4F_freeDecompressionContext(context)
        output.deallocate()
    }

    /// Decompresses `input` and calls `body` with each run of decoded bytes.
    public func decompress<E: Error>(
        _ input: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(E) -> Void
    ) throws(LZ4DecodeFailure<E>) {
        guard let base = input.baseAddress else { return }
        var offset = 0
        while true {
            var dstSize = output.count
            // At most what liblz4 says it needs next (one block, or a header): each
            // block is verified and handed on before the next is read, so a corrupt
            // block costs only itself and its offset is exact.
            var srcSize = Swift.min(input.count - offset, Swift.max(nextHint, 1))
            var options = LZ4F_decompressOptions_t()
            if case .ours = checking { options.skipChecksums = 1 }
            let r = LZ4F_decompress(context, output.baseAddress, &dstSize, base + offset, &srcSize, &options)
            if LZ4F_isError(r) != 0 {
                throw .lz4(LZ4Error(kind: .corrupt, offset: consumed + offset, detail: String(cString: LZ4F_getErrorName(r))))
            }
            remember(UnsafeRawBufferPointer(start: base + offset, count: srcSize))
            let callStart = offset
            offset += srcSize
            nextHint = r
            let decoded = UnsafeRawBufferPointer(start: output.baseAddress, count: dstSize)
            if case .ours(var hash) = checking {
                hash.update(decoded)
                checking = .ours(hash)
            } else if case .undecided = checking {
                decide(outputSeen: dstSize > 0)
            }
            if r == 0 && (srcSize > 0 || dstSize > 0) {
                // The end of a frame, whose last four bytes were its checksum. The
                // offset and text are those the library reports for a mismatch.
                if case .ours(let hash) = checking, hash.digest() != lastFour {
                    throw .lz4(LZ4Error(kind: .corrupt, offset: consumed + callStart, detail: "ERROR_contentChecksum_invalid"))
                }
                checking = .undecided
            }
            // A call that took and gave nothing (the flush after a frame ended on a
            // full output buffer) only says what a next frame would need.
            if srcSize > 0 || dstSize > 0 { pending = r }
            if dstSize > 0 {
                do throws(E) {
                    try body(decoded)
                } catch {
                    consumed += offset
                    throw .body(error)
                }
            }
            // Stop once the input is used up and the library had nothing more to flush.
            if offset >= input.count && dstSize < output.count { break }
        }
        consumed += offset
    }

    /// Takes the verification of the frame's content checksum over from the
    /// library once its header is decoded, if nothing came out before.
    private func decide(outputSeen: Bool) {
        var info = LZ4F_frameInfo_t()
        var none = 0
        // Fails (harmlessly) while the header is still incomplete.
        guard LZ4F_isError(LZ4F_getFrameInfo(context, &info, nil, &none)) == 0 else { return }
        let ours = !outputSeen && info.frameType == LZ4F_frame && info.contentChecksumFlag == LZ4F_contentChecksumEnabled
            && info.blockChecksumFlag == LZ4F_noBlockChecksum
        checking = ours ? .ours(XXHash32()) : .library
    }

    private func remember(_ taken: UnsafeRawBufferPointer) {
        let n = taken.count
        if n >= 4 {
            lastFour = UInt32(littleEndian: taken.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
        } else {
            for b in taken { lastFour = lastFour >> 8 | UInt32(b) << 24 }
        }
    }

    /// Whether the input so far ended exactly where a block (or a frame) did:
    /// nothing decoded is held back waiting for the rest of a block. liblz4's
    /// hint is then the 4 bytes of the next block's header, or 0 between frames.
    public var atBlockBoundary: Bool { pending == 0 || pending == 4 }

    /// Checks that the stream did not stop inside a frame.
    public func finish() throws(LZ4Error) {
        if pending != 0 {
            throw LZ4Error(kind: .truncated, offset: consumed, detail: "the archive ends inside a frame")
        }
    }
}

/// A corrupt or truncated LZ4 archive, with the compressed byte offset at which it was noticed.
public struct LZ4Error: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case corrupt, truncated }
    public var kind: Kind
    public var offset: Int
    public var detail: String
}

/// Either the archive was bad, or the consumer of its bytes failed.
public enum LZ4DecodeFailure<E: Error>: Error {
    case lz4(LZ4Error)
    case body(E)
}
