#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small blocking HTTP/1.1 client for `tail --server`: one GET, the body
/// handed over as it arrives (chunked transfer decoded), so a Server-Sent
/// Events stream can be read line by line. Plain http only: the daemon's API
/// is meant for loopback or a TLS-terminating proxy in front of it.
public struct HTTPStreamClient: Sendable {
    public let host: String
    public let port: Int
    public let basePath: String
    /// A read that waits longer than this fails, so a dead connection is noticed
    /// (the daemon's streams send a heartbeat every 15 s).
    public var receiveTimeout: Duration = .seconds(45)
    /// When set, bounds connecting and each send (SO_SNDTIMEO, which Linux also
    /// applies to connect), so an unreachable host fails in this time, not the
    /// kernel's two minutes.
    public var connectTimeout: Duration?

    /// `http://host:port[/base]`.
    public init(url: String) throws(ServerError) {
        guard url.hasPrefix("http://") else {
            throw ServerError("expected an http:// URL such as http://127.0.0.1:7070 (got '\(url)')")
        }
        var rest = url.dropFirst(7)
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        if path.hasSuffix("/") { path.removeLast() }
        var hostPart = String(rest)
        var port = 80
        if let colon = hostPart.lastIndex(of: ":"), let p = Int(hostPart[hostPart.index(after: colon)...]) {
            port = p
            hostPart = String(hostPart[..<colon])
        }
        if hostPart.hasPrefix("[") && hostPart.hasSuffix("]") { hostPart = String(hostPart.dropFirst().dropLast()) }
        host = hostPart
        self.port = port
        basePath = path
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The HTTP status, when the server answered.
        public var status: Int?
        /// A refusal (401, 403, 400…) that no reconnect would fix.
        public var permanent: Bool { status.map { (400..<500).contains($0) } ?? false }
    }

    /// Sends a GET and calls `body` with each piece of the response body until
    /// the server ends it (returns normally) or the connection fails (throws).
    public func get(_ pathAndQuery: String, headers: [(String, String)], _ body: ([UInt8]) throws -> Void) throws {
        try request("GET", pathAndQuery, headers: headers, body: [], body)
    }

    /// Sends a request (with a body for POST/PUT) and calls `body` with the
    /// response body as it arrives; throws `Failure` for a status other than 200.
    public func request(
        _ method: String, _ pathAndQuery: String, headers: [(String, String)], body requestBody: [UInt8],
        _ body: ([UInt8]) throws -> Void
    ) throws {
        let fd = try connect()
        defer { close(fd) }
        var request = "\(method) \(basePath)\(pathAndQuery) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        for (k, v) in headers { request += "\(k): \(v)\r\n" }
        if method != "GET" { request += "Content-Length: \(requestBody.count)\r\n" }
        request += "\r\n"
        try send(fd, Array(request.utf8) + requestBody)

        var reader = Reader(fd: fd)
        let status = try reader.line()
        let parts = status.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let code = Int(parts[1]) else { throw Failure(description: "not an HTTP response: \(status)") }
        var chunked = false
        while true {
            let h = try reader.line()
            if h.isEmpty { break }
            if h.lowercased().hasPrefix("transfer-encoding:") && h.lowercased().contains("chunked") { chunked = true }
        }
        guard code == 200 else {
            var text: [UInt8] = []
            while let piece = try reader.some(), text.count < 4096 { text += piece }
            let message = String(decoding: text, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            throw Failure(description: "the server answered \(code): \(message)", status: code)
        }
        if chunked {
            while true {
                let sizeLine = try reader.line()
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                    throw Failure(description: "bad chunk size '\(sizeLine)'")
                }
                if size == 0 { return }
                try body(try reader.exactly(size))
                _ = try reader.line()
            }
        } else {
            while let piece = try reader.some() { try body(piece) }
        }
    }

    private func connect() throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd >= 0 {
                setTimeout(fd, SO_RCVTIMEO, receiveTimeout)
                if let connectTimeout { setTimeout(fd, SO_SNDTIMEO, connectTimeout) }
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
                close(fd)
            }
            ai = a.pointee.ai_next
        }
        throw Failure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
    }

    /// Whole microseconds, at least one: a zero timeval would mean no timeout at all.
    private func setTimeout(_ fd: Int32, _ option: Int32, _ d: Duration) {
        let (seconds, attoseconds) = d.components
        let micros = max(seconds * 1_000_000 + attoseconds / 1_000_000_000_000, 1)
        var tv = timeval(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
        setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "cannot send the request: \(String(cString: strerror(errno)))")
            }
            sent += n
        }
    }

    /// Buffered reads from the socket.
    struct Reader {
        let fd: Int32
        var buffer: [UInt8] = []
        var start = 0

        mutating func fill() throws -> Bool {
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            var chunk = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw Failure(description: "no data within the receive timeout") }
                if n < 0 { throw Failure(description: "connection failed: \(String(cString: strerror(errno)))") }
                if n == 0 { return false }
                buffer += chunk[..<n]
                return true
            }
        }

        mutating func line() throws -> String {
            while true {
                if let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    var end = nl
                    if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                    let s = String(decoding: buffer[start..<end], as: UTF8.self)
                    start = nl + 1
                    return s
                }
                guard try fill() else { throw Failure(description: "the connection closed") }
            }
        }

        mutating func exactly(_ n: Int) throws -> [UInt8] {
            while buffer.count - start < n {
                guard try fill() else { throw Failure(description: "the connection closed") }
            }
            let out = Array(buffer[start..<(start + n)])
            start += n
            return out
        }

        mutating func some() throws -> [UInt8]? {
            if start < buffer.count {
                let out = Array(buffer[start...])
                start = buffer.count
                return out
            }
            return try fill() ? some() : nil
        }
    }
}
