#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One TCP connection from the forwarder to the collector's ingest listener.
/// Blocking calls with timeouts: it lives on the forwarder's own thread.
struct CollectorConnection {
    private(set) var fd: Int32

    /// Connects to `address` ("host:port"), waiting at most `timeoutMilliseconds`.
    static func connect(to address: String, timeoutMilliseconds: Int32) -> (CollectorConnection?, String?) {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            return (nil, "expected HOST:PORT for the collector (got '\(address)')")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else { return (nil, "cannot resolve \(host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(list) }
        var failure = "no address for \(host)"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let ai = entry {
            entry = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            if fd < 0 { continue }
            if let error = Self.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen, timeoutMilliseconds) {
                failure = "cannot connect to \(address): \(error)"
                _ = Self.closeDescriptor(fd)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            // A bounded send: a collector that stops reading must not hold close() forever.
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            #if canImport(Darwin)
            setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            return (CollectorConnection(fd: fd), nil)
        }
        return (nil, failure)
    }

    /// A non-blocking connect bounded by `timeout`, then back to blocking mode.
    private static func connect(
        _ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t, _ timeout: Int32
    ) -> String? {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if systemConnect(fd, address, length) != 0 {
            guard errno == EINPROGRESS else { return String(cString: strerror(errno)) }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&p, 1, timeout)
            if ready == 0 { return "timed out" }
            var error: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
            if ready < 0 || error != 0 { return String(cString: strerror(error != 0 ? error : errno)) }
        }
        _ = fcntl(fd, F_SETFL, flags)
        return nil
    }

    /// True when the collector closed the connection or wrote to it (it only
    /// ever writes an `ERR` line before closing), so we reconnect before
    /// sending a batch into a dead socket. `message` is what it wrote, if anything.
    func peerClosed() -> (closed: Bool, message: String?) {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) > 0 else { return (false, nil) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return (false, nil) }
        let text = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
        return (true, text)
    }

    /// Reads what has arrived without waiting: the bytes read into `buffer`,
    /// and whether the collector closed its side (or the connection failed).
    func receive(into buffer: inout [UInt8]) -> (count: Int, closed: Bool) {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n > 0 { return (n, false) }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return (0, false) }
        return (0, true)
    }

    /// Waits up to `milliseconds` for something to read.
    func waitReadable(milliseconds: Int32) {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, milliseconds)
    }

    /// Writes `bytes[from...]`; returns how far it got (== count on success).
    func send(_ bytes: [UInt8], from start: Int) -> Int {
        var offset = start
        bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                #if canImport(Glibc)
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                #else
                let n = Darwin.send(fd, raw.baseAddress! + offset, raw.count - offset, 0)
                #endif
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
        return offset
    }

    func close() { _ = Self.closeDescriptor(fd) }

    private static func closeDescriptor(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
        Glibc.close(fd)
        #else
        Darwin.close(fd)
        #endif
    }
}

#if canImport(Glibc)
private let systemConnect = Glibc.connect
#else
private let systemConnect = Darwin.connect
#endif
