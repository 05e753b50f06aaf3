#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing

/// A plain TCP connection to the daemon that sends what a test tells it to,
/// hostile or not. Every read has a receive timeout, only as a guard so a
/// daemon that never answers fails the test instead of hanging it.
final class RawConnection: Sendable {
    let fd: Int32

    init(_ address: String, guardSeconds: Int = 60) throws {
        fd = try tcpConnect(address)
        var tv = timeval(tv_sec: guardSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// False once the daemon has closed the connection.
    @discardableResult
    func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// Everything the daemon sends until it closes the connection; nil when
    /// it did not close it within the guard.
    func readToEnd() -> String? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 || (n < 0 && errno == ECONNRESET) { return String(decoding: data, as: UTF8.self) }
            if n < 0 { return nil }
            data += buffer[..<n]
        }
    }

    /// What arrives until `marker` has been seen (nil if the connection ends first).
    func read(until marker: String) -> String? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            data += buffer[..<n]
            let text = String(decoding: data, as: UTF8.self)
            if text.contains(marker) { return text }
        }
    }

    /// Whether the daemon still holds the connection open: what it sent so
    /// far is read and dropped, and no end of stream follows.
    var isOpen: Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { continue }
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
        }
    }
}

/// One HTTP/1.1 request on a connection of its own: the status and the body.
func httpRequest(
    _ address: String, _ method: String, _ path: String, token: String? = nil, body: String = ""
) throws -> (status: Int, body: String) {
    let c = try RawConnection(address)
    var head = "\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n"
    if let token { head += "Authorization: Bearer \(token)\r\n" }
    c.write(head + "\r\n" + body)
    let text = c.readToEnd() ?? ""
    let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? -1
    let bodyText = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    return (status, bodyText)
}

/// The value of one series in the daemon's `/metrics` (its full name with labels), or nil.
func metric(_ http: String, _ series: String, token: String? = nil) -> Double? {
    guard let r = try? httpRequest(http, "GET", "/metrics", token: token), r.status == 200 else { return nil }
    for line in r.body.split(separator: "\n") where line.hasPrefix(series + " ") {
        return line.split(separator: " ").last.flatMap { Double($0) }
    }
    return nil
}

/// Polls `condition` until it holds; false when `guardSeconds` pass first (a
/// guard against a hang, not a timing the test asserts).
func eventually(guardSeconds: Double = 60, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(guardSeconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}
