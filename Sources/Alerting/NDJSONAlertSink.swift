#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel

/// Writes alerts as NDJSON (SPEC §3) to stdout or a file.
///
/// On a terminal or a pipe each alert is written at once, so `tail -f` and a
/// pager see it immediately; to a regular file lines are batched and written
/// on `flush`.
public final class NDJSONAlertSink: AlertSink {
    public let path: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let writeThrough: Bool
    private var buffer = OutputBuffer(capacity: 1 << 16)
    private var failure: Int32 = 0

    /// `-` writes to stdout; anything else is a file, created or truncated.
    public init(path: String, append: Bool = false) throws(SinkError) {
        self.path = path
        if path == "-" {
            fd = 1
            ownsDescriptor = false
        } else {
            fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
            guard fd >= 0 else { throw SinkError(path: path, errno: errno) }
            ownsDescriptor = true
        }
        var st = stat()
        writeThrough = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG
    }

    deinit {
        try? flush()
        if ownsDescriptor { close(fd) }
    }

    public func emit(_ alert: Alert) {
        alert.writeJSON(to: &buffer)
        if writeThrough || buffer.count >= 1 << 15 { drain() }
    }

    public func flush() throws {
        drain()
        if failure != 0 {
            let e = failure
            failure = 0
            throw SinkError(path: path, errno: e)
        }
    }

    private func drain() {
        var offset = 0
        let total = buffer.count
        while offset < total {
            let n = buffer.bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, total - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                if failure == 0 { failure = errno }
                break
            }
            offset += n
        }
        buffer.removeAll()
    }
}

/// A sink that could not be opened or written.
public struct SinkError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32
    public var description: String {
        "cannot write alerts to \(path == "-" ? "stdout" : path): \(String(cString: strerror(errno)))"
    }
}
