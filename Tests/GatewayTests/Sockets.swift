#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

// Plain blocking sockets on threads of their own: the peers of the gateway in
// these tests (a client and a target), written without NIO so that they do
// not share anything with the code under test.

struct SocketError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A TCP listener on a free loopback port whose connections are each served
/// by `serve(fd)` on a thread of their own (the fd is closed afterwards).
final class LoopbackServer: @unchecked Sendable {
    // @unchecked: `listener` is set once in init and only closed in stop().
    let port: Int
    private let listener: Int32

    init(serve: @escaping @Sendable (Int32) -> Void) throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = listener
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok, listen(fd, 64) == 0 else { throw SocketError("cannot listen on loopback") }
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread {
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 { return }
                Thread {
                    serve(connection)
                    close(connection)
                }.start()
            }
        }.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// Echoes every byte back as it arrives; after the client's EOF, closes.
    static func echo() throws -> LoopbackServer {
        try LoopbackServer { fd in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                guard sendAll(fd, buffer[..<n]) else { return }
            }
        }
    }
}

/// A connected blocking TCP socket to 127.0.0.1:`port`.
func connectLoopback(_ port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    guard ok else {
        close(fd)
        throw SocketError("cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
    }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var timeout = timeval(tv_sec: 30, tv_usec: 0)  // a hung test fails instead of hanging
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return fd
}

@discardableResult
func sendAll(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Bool {
    let array = Array(bytes)
    var offset = 0
    while offset < array.count {
        let n = array.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { return false }
        offset += n
    }
    return true
}

/// Reads until EOF (or an error or the receive timeout); returns what came,
/// whether it ended in a clean EOF, and whether it ended at all (EOF or a
/// reset) rather than running into the 30 s receive timeout.
func receiveAll(_ fd: Int32) -> (bytes: [UInt8], eof: Bool, ended: Bool) {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { return (out, true, true) }
        if n < 0 { return (out, false, errno != EAGAIN && errno != EWOULDBLOCK) }
        out += buffer[..<n]
    }
}

/// Sends `payload` on one thread while reading everything back on this one,
/// half-closing after the last byte; returns what came back.
func exchange(_ fd: Int32, _ payload: [UInt8]) -> (bytes: [UInt8], eof: Bool) {
    let sender = Thread {
        sendAll(fd, payload)
        shutdown(fd, Int32(SHUT_WR))
    }
    sender.start()
    let (bytes, eof, _) = receiveAll(fd)
    return (bytes, eof)
}

// offThePool is in PostgresServer.swift.

/// Polls until `condition` holds (at most `seconds`); generous, for a loaded machine.
func waitUntil(seconds: Double = 20, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(25))
    }
    return try await condition()
}

/// Deterministic pseudo-random bytes (xorshift), so a failure can be replayed.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        out[i] = UInt8(truncatingIfNeeded: state)
    }
    return out
}

/// A bare TCP listener that keeps every byte its connections send: the tap's
/// lines exactly as they went out.
final class RecordingCollector: Sendable {
    let address: String
    private let server: LoopbackServer
    private let sink = ReceivedBytes()

    init() throws {
        let received = sink
        server = try LoopbackServer { fd in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                received.bytes.withLock { $0 += buffer[..<n] }
            }
        }
        address = "127.0.0.1:\(server.port)"
    }

    /// The complete lines received so far, parsed as JSON objects.
    var events: [[String: Any]] {
        let text = sink.bytes.withLock { String(decoding: $0, as: UTF8.self) }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        if !text.hasSuffix("\n"), !lines.isEmpty { lines.removeLast() }
        return lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func stop() { server.stop() }
}

final class ReceivedBytes: Sendable {
    let bytes = Mutex<[UInt8]>([])
}
