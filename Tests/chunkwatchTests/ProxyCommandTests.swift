#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing

/// `chunkwatch proxy` as a user runs it, in front of an echo target, tapping
/// into a real `chunkwatch serve`.
@Suite(.serialized)
struct ProxyCommandTests {
    @Test func forwardsTapsIntoServeAndStopsCleanlyOnSIGTERM() throws {
        let dir = try TempDir()
        let daemon = try ServeTests.Daemon.start(dir)
        let echo = try EchoTarget()
        defer { echo.stop() }
        let out = dir.path("proxy.out")
        let proxy = try Child(
            [
                "proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(echo.port)", "--principal", "svc-cli",
                "--resource", "tcp://echo", "--collector", daemon.ingest, "--threads", "2",
            ], stdout: .file(out), timeout: 120)
        // chunkwatch proxy: HOST:PORT → TARGET as PRINCIPAL, tap → COLLECTOR
        var address: String?
        let deadline = Date().addingTimeInterval(30)
        while address == nil, Date() < deadline {
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first {
                #expect(line.contains("as svc-cli") && line.contains("tap → \(daemon.ingest)"), "first line: \(line)")
                address = line.split(separator: " ").dropFirst(2).first.map(String.init)
            }
            usleep(20_000)
        }
        let listen = try #require(address, "no first line from chunkwatch proxy: \(proxy.wait())")

        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let fd = try tcpConnect(listen)
        let sender = Thread {
            var sent = 0
            while sent < payload.count {
                let n = payload[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break }
                sent += n
            }
            shutdown(fd, Int32(SHUT_WR))
        }
        sender.start()
        var back: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            back += buffer[..<n]
        }
        close(fd)
        #expect(back == payload, "the echo came back unchanged through the proxy")

        // The daemon's baselines show the principal's traffic, both ways.
        var row = ""
        let seen = Date().addingTimeInterval(30)
        while Date() < seen {
            row = (try? daemon.get("/v1/baselines?principal=svc-cli")) ?? ""
            if row.contains(#""bytes_in":200000"#) && row.contains(#""bytes_out":200000"#) { break }
            usleep(50_000)
        }
        #expect(row.contains(#""bytes_in":200000"#) && row.contains(#""bytes_out":200000"#), "baselines: \(row)")

        kill(proxy.process.processIdentifier, SIGTERM)
        let stopped = proxy.wait()
        #expect(stopped.exitedCleanly, "\(stopped)")
        #expect(stopped.stderrText.contains("stopped; connections 1 (0 open"), "\(stopped.stderrText)")
        #expect(stopped.stderrText.contains("0 dropped"), "\(stopped.stderrText)")
        #expect(daemon.stop().exitedCleanly)
    }

    @Test func badArgumentsAreOneLineErrorsThatSayWhatToDo() throws {
        let missing = try chunkwatch("proxy", "--listen", "127.0.0.1:0", "--principal", "a")
        #expect(missing.status == 64, "\(missing)")
        #expect(missing.stderrText.contains("--listen, --upstream and --principal go together"), "\(missing)")

        let badAddress = try chunkwatch("proxy", "--listen", "127.0.0.1:0", "--upstream", "db.internal", "--principal", "a")
        #expect(badAddress.status == 64, "\(badAddress)")
        #expect(badAddress.stderrText.contains("--upstream expects host:port"), "\(badAddress)")

        let nothing = try chunkwatch("proxy")
        #expect(nothing.status != 0)
        #expect(nothing.stderrText.contains("nothing to proxy"), "\(nothing)")

        // A port that is taken: a one-line error, not a crash.
        let echo = try EchoTarget()
        defer { echo.stop() }
        let taken = try chunkwatch(
            "proxy", "--listen", "127.0.0.1:\(echo.port)", "--upstream", "127.0.0.1:1", "--principal", "a")
        #expect(taken.status == 1, "\(taken)")
        #expect(taken.stderrText.contains("cannot listen on 127.0.0.1:\(echo.port)"), "\(taken)")
    }
}

/// A loopback echo server on threads of its own.
final class EchoTarget: @unchecked Sendable {
    // @unchecked: `listener` is set once in init and only closed in stop().
    let port: Int
    private let listener: Int32

    init() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = listener
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok, listen(fd, 16) == 0 else { throw ServeFailure(description: "cannot listen on loopback") }
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread {
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                Thread {
                    var buffer = [UInt8](repeating: 0, count: 65536)
                    loop: while true {
                        let n = buffer.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                        if n <= 0 { break }
                        var sent = 0
                        while sent < n {
                            let w = buffer[sent..<n].withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                            if w <= 0 { break loop }
                            sent += w
                        }
                    }
                    close(c)
                }.start()
            }
        }.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
