import CLZ4

/// Streaming compression into the LZ4 frame format, through liblz4's LZ4F API,
/// so the files it writes are read back by `lz4 -dc` and by `EventReader`.
///
/// Frames carry a checksum per block as well as the content checksum: a file
/// cut short by a crash can still be checked block by block up to the cut.
/// Output goes to `write` in pieces of at most one compressed block plus the
/// frame header; memory is fixed at creation.
public final class LZ4FrameEncoder {
    private var context: OpaquePointer?
    private var preferences = LZ4F_preferences_t()
    private let output: UnsafeMutableRawBufferPointer
    /// Largest input handed to one `LZ4F_compressUpdate`, so `output` always fits its result.
    private let maxInput = 64 * 1024
    public private(set) var isOpen = false
    /// Uncompressed bytes taken by the current frame.
    public private(set) var contentBytes = 0

    public init() throws(LZ4Error) {
        var ctx: OpaquePointer?
        let r = LZ4F_createCompressionContext(&ctx, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(r) == 0, let ctx else {
            throw LZ4Error(kind: .corrupt, offset: 0, detail: String(cString: LZ4F_getErrorName(r)))
        }
        context = ctx
        preferences.frameInfo.blockSizeID = LZ4F_max256KB
        preferences.frameInfo.blockMode = LZ4F_blockLinked
        preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        preferences.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled
        let bound = LZ4F_compressBound(maxInput, &preferences) + Int(LZ4F_HEADER_SIZE_MAX) + 64
        output = .allocate(byteCount: bound, alignment: 16)
    }

    deinit {
        LZ4F_freeCompressionContext(context)
        output.deallocate()
    }

    /// Starts a frame: writes its header.
    public func begin<E: Error>(_ write: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        let n = LZ4F_compressBegin(context, output.baseAddress, output.count, &preferences)
        precondition(LZ4F_isError(n) == 0, "LZ4F_compressBegin: \(String(cString: LZ4F_getErrorName(n)))")
        isOpen = true
        contentBytes = 0
        try write(UnsafeRawBufferPointer(start: output.baseAddress, count: n))
    }

    /// Compresses `input` into the open frame; whole blocks go to `write` as they fill.
    public func compress<E: Error>(
        _ input: UnsafeRawBufferPointer, _ write: (UnsafeRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        precondition(isOpen, "compress before begin")
        guard let base = input.baseAddress else { return }
        var offset = 0
        while offset < input.count {
            let take = Swift.min(maxInput, input.count - offset)
            let n = LZ4F_compressUpdate(context, output.baseAddress, output.count, base + offset, take, nil)
            precondition(LZ4F_isError(n) == 0, "LZ4F_compressUpdate: \(String(cString: LZ4F_getErrorName(n)))")
            offset += take
            if n > 0 { try write(UnsafeRawBufferPointer(start: output.baseAddress, count: n)) }
        }
        contentBytes += input.count
    }

    /// Closes the current block early, so everything compressed so far is on disk
    /// in a form a reader (or crash recovery) can use.
    public func flush<E: Error>(_ write: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        precondition(isOpen, "flush before begin")
        let n = LZ4F_flush(context, output.baseAddress, output.count, nil)
        precondition(LZ4F_isError(n) == 0, "LZ4F_flush: \(String(cString: LZ4F_getErrorName(n)))")
        if n > 0 { try write(UnsafeRawBufferPointer(start: output.baseAddress, count: n)) }
    }

    /// Ends the frame: the last block, the end mark and the content checksum.
    public func end<E: Error>(_ write: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        precondition(isOpen, "end before begin")
        let n = LZ4F_compressEnd(context, output.baseAddress, output.count, nil)
        precondition(LZ4F_isError(n) == 0, "LZ4F_compressEnd: \(String(cString: LZ4F_getErrorName(n)))")
        isOpen = false
        try write(UnsafeRawBufferPointer(start: output.baseAddress, count: n))
    }
}
