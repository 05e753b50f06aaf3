#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel

/// Reads inputs (NDJSON or LZ4-framed NDJSON, files or stdin) and hands out
/// each accepted event, and each tap drop report to `onDropReport`, in input
/// order; every other line is counted by reason and, when a rejects file is
/// set, written there with its line number.
///
/// The format is recognised by content, not name: a stream starting with the
/// LZ4 frame magic is decompressed. Reading is streaming with fixed buffers, so
/// memory does not depend on input size.
public final class EventReader {
    public private(set) var counts = IngestCounts()
    public var rejects: RejectWriter?
    /// Called after each read with the bytes taken from the current file so far
    /// (compressed bytes for archives).
    public var onProgress: ((_ file: InputFile, _ bytesRead: Int) -> Void)?
    /// Called for a rejected line that got as far as naming its principal (and
    /// perhaps its time, else `nil`), so alerts can say how much of that
    /// principal's data was lost.
    public var onRejectedPrincipal: ((_ principal: Symbol, _ ts: Timestamp?) -> Void)?
    /// Called for each tap drop report (docs/wire-format.md), between the
    /// events before and after it. Without it reports are only counted.
    public var onDropReport: ((TapDropReport) -> Void)?

    private var decoder: ChunkEventDecoder
    private let readBuffer: UnsafeMutableRawBufferPointer
    public let symbols: SymbolTable

    public init(symbols: SymbolTable, readBufferSize: Int = 1 << 20) {
        self.symbols = symbols
        decoder = ChunkEventDecoder(symbols: symbols)
        readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
    }

    deinit { readBuffer.deallocate() }

    /// Reads one input to its end, calling `body` for each accepted event in order.
    /// Throws `IngestError` when the input cannot be opened or read, or the archive
    /// is corrupt or truncated (events before that point were delivered), and
    /// rethrows what `body` throws.
    public func read(_ file: InputFile, _ body: (ChunkEvent) throws -> Void) throws {
        let fd: Int32
        if file.path == "-" {
            fd = 0
        } else {
            fd = open(file.path, O_RDONLY)
            guard fd >= 0 else {
                throw IngestError(errno == ENOENT ? .notFound : .cannotOpen, path: file.path, detail: String(cString: strerror(errno)))
            }
        }
        defer { if fd != 0 { close(fd) } }

        var framer = LineFramer(maxLineLength: decoder.maxLineLength)
        var event = ChunkEvent.empty
        var lz4: LZ4FrameDecoder?
        var total = 0
        // The format is decided on the first four bytes, however the reads split them.
        var head: [UInt8] = []
        var decided = false

        func handle(_ line: LineFramer.Line, _ number: Int) throws {
            switch line {
            case .complete(let bytes):
                switch decoder.decode(bytes, into: &event) {
                case .event:
                    counts.accepted += 1
                    try body(event)
                case .dropReport:
                    counts.dropReports += 1
                    onDropReport?(decoder.dropReport)
                case .rejected(let reason):
                    rejectDecoded(reason, file, number, bytes, event)
                }
            case .tooLong:
                reject(.tooLong, file, number, nil)
            }
        }

        func consume(_ chunk: UnsafeRawBufferPointer) throws {
            if let lz4 {
                do {
                    try lz4.decompress(chunk) { (bytes) throws(any Error) in try framer.feed(bytes, handle) }
                } catch .lz4(let e) {
                    throw IngestError(.corruptArchive, path: file.path, byteOffset: e.offset, detail: e.detail)
                } catch .body(let e) {
                    throw e
                }
            } else {
                try framer.feed(chunk, handle)
            }
        }

        while true {
            let n = Glibc.read(fd, readBuffer.baseAddress, readBuffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw IngestError(.readFailed, path: file.path, byteOffset: total, detail: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            total += n
            let chunk = UnsafeRawBufferPointer(start: readBuffer.baseAddress, count: n)
            if !decided {
                let taken = Swift.min(4 - head.count, n)
                head.append(contentsOf: chunk.prefix(taken))
                if head.count < 4 { continue }
                decided = true
                if head == LZ4FrameDecoder.magic { lz4 = try LZ4FrameDecoder() }
                // Hand on the bytes held back from earlier short reads, then this read.
                let heldBack = head.count - taken
                if heldBack > 0 {
                    try head.withUnsafeBytes { try consume(UnsafeRawBufferPointer(rebasing: $0.prefix(heldBack))) }
                }
            }
            try consume(chunk)
            onProgress?(file, total)
        }
        if !decided && !head.isEmpty {
            try head.withUnsafeBytes { try consume($0) }
        }
        if let lz4 {
            do {
                try lz4.finish()
            } catch {
                try framer.finish(handle)
                throw IngestError(.truncatedArchive, path: file.path, byteOffset: error.offset, detail: error.detail)
            }
        }
        try framer.finish(handle)
    }

    private func reject(_ reason: RejectReason, _ file: InputFile, _ line: Int, _ text: UnsafeRawBufferPointer?) {
        counts.reject(reason)
        rejects?.write(file: file.path, line: line, reason: reason, text: text)
    }

    private func rejectDecoded(_ reason: RejectReason, _ file: InputFile, _ line: Int, _ text: UnsafeRawBufferPointer, _ partial: ChunkEvent) {
        reject(reason, file, line, text)
        // The decoder fills the event field by field, so a line rejected late
        // may already have named its principal and time.
        if let onRejectedPrincipal, !partial.principal.isNone {
            onRejectedPrincipal(partial.principal, partial.ts == .zero ? nil : partial.ts)
        }
    }
}
