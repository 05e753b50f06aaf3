#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

// The ends of the proxied connections: plain blocking sockets on threads of
// their own, so that they share no event loop, allocator or buffer with the
// gateway under test. None of them allocates per byte or per round trip.

/// The bulk target: each connection reads 9-byte commands, an op and a
/// little-endian byte count, and carries them out:
/// - `D` (download, target → client, the way a database COPY TO flows): sends that many bytes;
/// - `U` (upload, client → target, a COPY FROM): reads and discards that many, then sends one byte.
final class BulkTarget: Sendable {
    let port: Int

    init() {
        port = serveLoopback { fd in
            var command = [UInt8](repeating: 0, count: 9)
            let block = [UInt8](repeating: 0x5A, count: 1 << 20)
            var sink = [UInt8](repeating: 0, count: 1 << 18)
            while recvExactly(fd, &command) {
                let count = command[1...].reversed().reduce(0) { $0 << 8 | Int($1) }
                switch command[0] {
                case UInt8(ascii: "D"):
                    var left = count
                    while left > 0 {
                        let n = block.withUnsafeBytes { send(fd, $0.baseAddress, min(left, $0.count), Int32(MSG_NOSIGNAL)) }
                        if n <= 0 { return }
                        left -= n
                    }
                case UInt8(ascii: "U"):
                    var left = count
                    while left > 0 {
                        let n = sink.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min(left, $0.count), 0) }
                        if n <= 0 { return }
                        left -= n
                    }
                    guard sendAll(fd, [1]) else { return }
                default:
                    return
                }
            }
        }
    }
}

/// The echo target: reads 64-byte requests and answers each with 64 bytes.
final class EchoTarget: Sendable {
    static let messageSize = 64
    let port: Int

    init() {
        port = serveLoopback { fd in
            setNoDelay(fd)
            var message = [UInt8](repeating: 0, count: EchoTarget.messageSize)
            while recvExactly(fd, &message), sendAll(fd, message) {}
        }
    }
}

/// A TCP listener on a free loopback port that accepts connections and
/// discards what they send (the tap's collector), on threads of its own.
final class DiscardCollector: Sendable {
    let port: Int

    init() {
        port = serveLoopback { fd in
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while buffer.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) > 0 {}
        }
    }
}

/// Listens on a free loopback port and runs `connection` on a thread of its
/// own for each accepted socket, closing it afterwards; returns the port.
func serveLoopback(_ connection: @escaping @Sendable (Int32) -> Void) -> Int {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    let port = bindLoopback(listener)
    listen(listener, 64)
    Thread {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 { return }
            Thread {
                connection(fd)
                close(fd)
            }.start()
        }
    }.start()
    return port
}

/// Binds `fd` to a free loopback port and returns the port.
func bindLoopback(_ fd: Int32) -> Int {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    precondition(bound, "cannot bind a loopback port: \(String(cString: strerror(errno)))")
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A port that was free a moment ago (for haproxy's frontend, which cannot be told to pick one).
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    return bindLoopback(fd)
}

/// A connected socket to `127.0.0.1:port`, or -1.
func connectLoopback(_ port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if rc != 0 {
        close(fd)
        return -1
    }
    return fd
}

func setNoDelay(_ fd: Int32) {
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
}

func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { b in
        var offset = 0
        while offset < b.count {
            let n = send(fd, b.baseAddress! + offset, b.count - offset, Int32(MSG_NOSIGNAL))
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}

/// Fills `buffer` from `fd`; false on EOF or an error.
func recvExactly(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
    buffer.withUnsafeMutableBytes { b in
        var offset = 0
        while offset < b.count {
            let n = recv(fd, b.baseAddress! + offset, b.count - offset, 0)
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}

/// The client's side of the bulk protocol, on the benchmark's thread.
final class BulkClient {
    enum Direction: String {
        /// Target → client: the target sends, the client reads (a COPY TO).
        case download = "target → client"
        /// Client → target: the client sends, the target reads and acknowledges the end (a COPY FROM).
        case upload = "client → target"
    }

    let fd: Int32
    private var buffer = [UInt8](repeating: 0xA5, count: 1 << 20)
    private var command = [UInt8](repeating: 0, count: 9)

    init(port: Int) {
        fd = connectLoopback(port)
        precondition(fd >= 0, "cannot connect to 127.0.0.1:\(port)")
    }

    /// Moves `count` bytes in `direction` over the connection and returns once the
    /// last of them has arrived (the client read it, or the target acknowledged it).
    func transfer(_ count: Int, _ direction: Direction) {
        command[0] = direction == .download ? UInt8(ascii: "D") : UInt8(ascii: "U")
        for i in 0..<8 { command[1 + i] = UInt8(truncatingIfNeeded: count >> (8 * i)) }
        precondition(sendAll(fd, command), "the bulk connection failed")
        var left = count
        let fd = fd
        switch direction {
        case .download:
            while left > 0 {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min(left, $0.count), 0) }
                precondition(n > 0, "the bulk connection ended after \(count - left) of \(count) bytes")
                left -= n
            }
        case .upload:
            while left > 0 {
                let n = buffer.withUnsafeBytes { send(fd, $0.baseAddress, min(left, $0.count), Int32(MSG_NOSIGNAL)) }
                precondition(n > 0, "the bulk connection failed after \(count - left) of \(count) bytes")
                left -= n
            }
            var ack: [UInt8] = [0]
            precondition(recvExactly(fd, &ack), "the target did not acknowledge the upload")
        }
    }
}

/// The client's side of the round trips: one 64-byte request, one 64-byte answer.
final class EchoClient {
    let fd: Int32
    private var request = [UInt8](repeating: 0x42, count: EchoTarget.messageSize)
    private var reply = [UInt8](repeating: 0, count: EchoTarget.messageSize)

    init(port: Int) {
        fd = connectLoopback(port)
        precondition(fd >= 0, "cannot connect to 127.0.0.1:\(port)")
        setNoDelay(fd)
    }

    func roundTrip() {
        precondition(sendAll(fd, request) && recvExactly(fd, &reply), "the echo connection failed")
    }
}
