#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel

/// The dead-letter file: one NDJSON line per rejected input line,
/// `{"file":…,"line":N,"reason":"…","text":"…"}`, so rejected data can be
/// found, fixed and replayed. Opened in a throwing init; writing does not throw
/// (a failing disk is reported once, at close).
public final class RejectWriter {
    public let path: String
    private let fd: Int32
    private var buffer = OutputBuffer(capacity: 1 << 16)
    private var failure: Int32 = 0

    public init(path: String) throws(IngestError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw IngestError(.cannotOpen, path: path, detail: String(cString: strerror(errno))) }
    }

    public func write(file: String, line: Int, reason: RejectReason, text: UnsafeRawBufferPointer?) {
        buffer.append("{\"file\":")
        buffer.append(jsonString: file)
        buffer.append(",\"line\":")
        buffer.append(integer: line)
        buffer.append(",\"reason\":\"")
        buffer.append(reason.name)
        buffer.append("\"")
        if let text {
            buffer.append(",\"text\":")
            buffer.append(jsonString: String(decoding: text, as: UTF8.self))
        }
        buffer.append("}\n")
        if buffer.count >= 1 << 15 { flush() }
    }

    private func flush() {
        var offset = 0
        while offset < buffer.count, failure == 0 {
            let n = buffer.bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno != EINTR { failure = errno }
            } else {
                offset += n
            }
        }
        buffer.removeAll()
    }

    /// Flushes and closes; throws if any write failed.
    public func close() throws(IngestError) {
        flush()
        Glibc.close(fd)
        if failure != 0 {
            throw IngestError(.readFailed, path: path, detail: "writing rejects failed: \(String(cString: strerror(failure)))")
        }
    }
}
