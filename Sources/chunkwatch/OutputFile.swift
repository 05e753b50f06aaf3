#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel

/// Where a command writes its lines: stdout or a file, through one
/// `OutputBuffer` flushed with write(2) once it holds `flushThreshold` bytes.
final class OutputFile {
    let fd: Int32
    let path: String
    private let ownsDescriptor: Bool
    var buffer = OutputBuffer(capacity: 1 << 17)
    var flushThreshold = 1 << 16

    /// `-` means stdout; `tcp://HOST:PORT` a connection to a daemon's ingest
    /// listener (tried for a few seconds, so it may still be starting).
    init(path: String) throws(CLIError) {
        self.path = path
        if path == "-" {
            fd = 1
            ownsDescriptor = false
        } else if path.hasPrefix("tcp://") {
            fd = try Self.connect(String(path.dropFirst(6)))
            ownsDescriptor = true
        } else {
            let d = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard d >= 0 else {
                throw CLIError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            fd = d
            ownsDescriptor = true
        }
    }

    var isTerminal: Bool { isatty(fd) == 1 }

    private static func connect(_ address: String) throws(CLIError) -> Int32 {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw CLIError("tcp://\(address): expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:7071")
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var lastError = ""
        for attempt in 0..<50 {
            if attempt > 0 { usleep(100_000) }
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(String(address[..<colon]), String(port), &hints, &result) == 0, let first = result else {
                throw CLIError("tcp://\(address): cannot resolve the host")
            }
            defer { freeaddrinfo(result) }
            let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
            if fd >= 0 && Glibc.connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 { return fd }
            lastError = String(cString: strerror(errno))
            if fd >= 0 { Glibc.close(fd) }
        }
        throw CLIError("tcp://\(address): cannot connect (\(lastError)); is `chunkwatch serve` running?")
    }

    /// Flushes when the buffer is past the threshold; call after each line.
    @inline(__always)
    func lineDone() throws(CLIError) {
        if buffer.count >= flushThreshold { try flush() }
    }

    func flush() throws(CLIError) {
        var offset = 0
        let total = buffer.count
        while offset < total {
            let n = buffer.bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, total - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                throw CLIError("cannot write \(path == "-" ? "stdout" : path): \(String(cString: strerror(code)))", errno: code)
            }
            offset += n
        }
        buffer.removeAll()
    }

    func close() throws(CLIError) {
        try flush()
        if ownsDescriptor { _ = Glibc.close(fd) }
    }
}

/// A one-line error for the user: what went wrong and, where it helps, what to do.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    /// The system error behind it, when there is one (EPIPE tells a reader that went away).
    var errno: Int32?
    init(_ description: String, errno: Int32? = nil) {
        self.description = description
        self.errno = errno
    }

    var isBrokenPipe: Bool { errno == EPIPE }
}
