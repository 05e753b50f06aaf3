#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cuts a byte stream, arriving in chunks of any size, into lines.
///
/// Lines end in `\n` or `\r\n` (the `\r` is dropped). A line split across two
/// chunks is carried in a buffer of `maxLineLength` bytes allocated once; a
/// line longer than that is not kept but reported as too long when its end
/// arrives, so a single huge line costs no memory. Empty lines are skipped.
public struct LineFramer: ~Copyable {
    public enum Line {
        case complete(UnsafeRawBufferPointer)
        case tooLong
    }

    public let maxLineLength: Int
    /// The number of the line most recently handed out, from 1.
    public private(set) var lineNumber = 0
    private let carry: UnsafeMutableRawBufferPointer
    private var carried = 0
    private var discarding = false

    public init(maxLineLength: Int = 64 * 1024) {
        self.maxLineLength = maxLineLength
        carry = .allocate(byteCount: maxLineLength + 1, alignment: 8)
    }

    deinit { carry.deallocate() }

    /// Feeds the next chunk and calls `body` for each line it completes.
    public mutating func feed<E: Error>(
        _ chunk: UnsafeRawBufferPointer, _ body: (Line, _ lineNumber: Int) throws(E) -> Void
    ) throws(E) {
        guard var p = chunk.baseAddress else { return }
        let end = p + chunk.count
        while p < end {
            guard let nl = memchr(p, 0x0A, end - p) else {
                keep(UnsafeRawBufferPointer(start: p, count: end - p))
                return
            }
            let newline = UnsafeRawPointer(nl)
            let piece = UnsafeRawBufferPointer(start: p, count: newline - p)
            p = newline + 1
            lineNumber += 1
            if discarding {
                discarding = false
                carried = 0
                try body(.tooLong, lineNumber)
            } else if carried == 0 {
                try emit(piece, body)
            } else {
                keep(piece)
                if discarding {
                    discarding = false
                    carried = 0
                    try body(.tooLong, lineNumber)
                } else {
                    let whole = UnsafeRawBufferPointer(start: carry.baseAddress, count: carried)
                    carried = 0
                    try emit(whole, body)
                }
            }
        }
    }

    /// Hands out a last line that had no line end.
    public mutating func finish<E: Error>(_ body: (Line, _ lineNumber: Int) throws(E) -> Void) throws(E) {
        if discarding {
            lineNumber += 1
            discarding = false
            carried = 0
            try body(.tooLong, lineNumber)
        } else if carried > 0 {
            lineNumber += 1
            let whole = UnsafeRawBufferPointer(start: carry.baseAddress, count: carried)
            carried = 0
            try emit(whole, body)
        }
    }

    private func emit<E: Error>(
        _ raw: UnsafeRawBufferPointer, _ body: (Line, _ lineNumber: Int) throws(E) -> Void
    ) throws(E) {
        var line = raw
        if let last = line.last, last == 0x0D {
            line = UnsafeRawBufferPointer(rebasing: line.dropLast())
        }
        if line.isEmpty { return }
        if line.count > maxLineLength {
            try body(.tooLong, lineNumber)
        } else {
            try body(.complete(line), lineNumber)
        }
    }

    private mutating func keep(_ piece: UnsafeRawBufferPointer) {
        guard !discarding else { return }
        // One byte of slack so a line of exactly maxLineLength plus its `\r` fits.
        if carried + piece.count > maxLineLength + 1 {
            discarding = true
            return
        }
        if piece.count > 0 {
            (carry.baseAddress! + carried).copyMemory(from: piece.baseAddress!, byteCount: piece.count)
            carried += piece.count
        }
    }
}
