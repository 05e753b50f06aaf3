#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkWatchTestKit
import Foundation
import Testing

/// `chunkwatch serve` as a user runs it: a real process, real sockets, signals.
@Suite(.serialized)
struct ServeTests {
    /// A running daemon and the addresses it printed on its first line.
    struct Daemon {
        let child: Child
        let http: String
        let ingest: String
        let stdoutPath: String

        static func start(
            _ dir: TempDir, http: String = "127.0.0.1:0", ingest: String = "127.0.0.1:0", name: String = "serve",
            extra: [String] = [], launcher: [String] = []
        ) throws -> Daemon {
            let out = dir.path("\(name).out")
            let child = try Child(
                [
                    "serve", "--http", http, "--ingest", ingest, "--db", dir.path("chunkwatch.db"), "--archive-dir",
                    dir.path("archive"), "--workers", "2",
                ] + extra, stdout: .file(out), timeout: 120, launcher: launcher)
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
                if let line = text.split(separator: "\n").first {
                    let f = line.split(separator: " ")
                    // chunkwatch serve: http HOST:PORT ingest HOST:PORT db FILE
                    try #require(f.count >= 6 && f[2] == "http" && f[4] == "ingest", "first line: \(line)")
                    return Daemon(child: child, http: String(f[3]), ingest: String(f[5]), stdoutPath: out)
                }
                usleep(20_000)
            }
            kill(child.process.processIdentifier, SIGKILL)
            throw ServeFailure(description: "no first line from chunkwatch serve: \(child.wait().stderrText)")
        }

        func get(_ path: String) throws -> String { try httpGet(http, path) }

        var accepted: Int {
            let text = (try? get("/v1/baselines")) ?? ""
            guard let r = text.range(of: #""events_accepted":"#) else { return -1 }
            return Int(text[r.upperBound...].prefix { $0.isNumber }) ?? -1
        }

        func stop() -> RunResult {
            kill(child.process.processIdentifier, SIGTERM)
            return child.wait()
        }
    }

    static func gen(_ args: String...) throws -> [String] {
        let r = try chunkwatch(["gen"] + args)
        #expect(r.exitedCleanly)
        return r.stdoutText.split(separator: "\n").map(String.init)
    }

    @Test func sigtermMidStreamLosesNoAcceptedEventAndNoAlert() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let lines = try Self.gen("--principals", "12", "--hours", "12", "--seed", "4")
        let daemon = try Daemon.start(dir)
        // A tap streams everything on one connection; the daemon is stopped part way.
        let ingest = daemon.ingest
        let sender = Thread { try? sendLines(lines, to: ingest, pauseEvery: 5_000) }
        sender.start()
        var waited = 0
        while daemon.accepted < lines.count / 3 && waited < 3000 {
            usleep(10_000)
            waited += 1
        }
        let result = daemon.stop()
        #expect(result.status == 0 && !result.signalled, "\(result.stderrText)")
        let stopped = try #require(result.stderrText.split(separator: "\n").last { $0.contains("pipeline stopped") })
        let accepted = try #require(Int(stopped.split(separator: "events=")[1].prefix { $0.isNumber }))
        #expect(accepted >= lines.count / 3)

        // Every accepted event is in the archive, in order: exactly a prefix of what was sent.
        let archived = try shellOutput("cat \(dir.path("archive"))/*.ndjson.lz4 | lz4 -dc").split(separator: "\n").map(String.init)
        #expect(archived.count == accepted)
        #expect(archived == Array(lines.prefix(archived.count)))

        // Every alert those events raise is in the store: the same firing alerts a
        // backfill of the archive gives.
        let stored = try chunkwatch("tail", "--db", dir.path("chunkwatch.db"), "--json")
        #expect(stored.exitedCleanly)
        let replay = try chunkwatch("backfill", dir.path("archive"), "--workers", "1")
        let firing = { (text: String) in
            Set(text.split(separator: "\n").filter { $0.contains(#""status":"firing""#) }.map { String($0.split(separator: "\"")[3]) })
        }
        #expect(!firing(stored.stdoutText).isEmpty)
        #expect(firing(stored.stdoutText) == firing(replay.stdoutText))

        // A restart on the same store and archive keeps both and takes more.
        let again = try Daemon.start(dir, name: "serve2")
        #expect(try chunkwatch("tail", "--db", dir.path("chunkwatch.db"), "--json").stdoutText == stored.stdoutText)
        try sendLines(Array(lines.suffix(1000)), to: again.ingest)
        waited = 0
        while again.accepted < 1000 && waited < 2000 {
            usleep(10_000)
            waited += 1
        }
        #expect(again.stop().status == 0)
        let archivedAfter = try shellOutput("cat \(dir.path("archive"))/*.ndjson.lz4 | lz4 -dc").split(separator: "\n")
        #expect(archivedAfter.count == accepted + 1000)
    }

    @Test func tailFollowsTheServerAndResumesAfterItRestarts() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let first = try Self.gen("--principals", "8", "--hours", "6", "--seed", "9")
        let second = try Self.gen("--principals", "8", "--hours", "6", "--seed", "10", "--start", "2026-11-23T06:00:00Z")
        let daemon = try Daemon.start(dir)
        let tailOut = dir.path("tail.out")
        let tail = try Child(["tail", "--server", "http://\(daemon.http)", "--follow", "--json"], stdout: .file(tailOut), timeout: 120)
        defer { kill(tail.process.processIdentifier, SIGKILL) }

        try sendLines(first, to: daemon.ingest)
        var waited = 0
        while daemon.accepted < first.count && waited < 2000 {
            usleep(10_000)
            waited += 1
        }
        #expect(daemon.stop().status == 0)
        // The same ports again, so tail's URL still holds.
        let again = try Daemon.start(dir, http: daemon.http, ingest: daemon.ingest, name: "serve2")
        try sendLines(second, to: again.ingest)
        waited = 0
        while again.accepted < second.count && waited < 2000 {
            usleep(10_000)
            waited += 1
        }
        let stored = try chunkwatch("tail", "--db", dir.path("chunkwatch.db"), "--json").stdoutText
        let storedLines = stored.split(separator: "\n").map(String.init)
        #expect(storedLines.count > 0)
        // tail shows every stored alert once, in order, across the restart.
        waited = 0
        var shown: [String] = []
        while waited < 1500 {
            shown = ((try? String(contentsOfFile: tailOut, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            if shown.count >= storedLines.count { break }
            usleep(20_000)
            waited += 1
        }
        // The daemon may store more alerts after the snapshot above (its
        // workers run behind the accepted count): those follow, in order.
        #expect(Array(shown.prefix(storedLines.count)) == storedLines)
        #expect(Set(shown).count == shown.count, "an alert shown twice")
        _ = again.stop()
    }
}

extension ServeTests {
    @Test func sighupAppliesTheLiveValuesOfTheReloadedConfigAndRecordsThem() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let config = try dir.write("chunkwatch.yaml", "detectors:\n  size:\n    threshold: 6\n")
        let daemon = try Daemon.start(dir, extra: ["--config", config])
        #expect(try daemon.get("/v1/detectors/size").contains(#""threshold":"6""#))

        _ = try dir.write("chunkwatch.yaml", "detectors:\n  size:\n    threshold: 11\n    window: 50\n")
        kill(daemon.child.process.processIdentifier, SIGHUP)
        var view = ""
        for _ in 0..<200 {
            view = try daemon.get("/v1/detectors/size")
            if view.contains(#""threshold":"11""#) { break }
            usleep(20_000)
        }
        #expect(view.contains(#""threshold":"11""#))
        #expect(view.contains(#""window":"96""#), "a window change waits for a restart")
        #expect(view.contains(#""source":"sighup""#))
        let result = daemon.stop()
        #expect(result.status == 0)
        #expect(result.stderrText.contains("apply at the next start"))
    }
}

/// Sends NDJSON lines over one TCP connection, then closes it.
func sendLines(_ lines: [String], to address: String, pauseEvery: Int = 0) throws {
    let fd = try tcpConnect(address)
    defer { close(fd) }
    var i = 0
    while i < lines.count {
        let n = pauseEvery > 0 ? min(pauseEvery, lines.count - i) : lines.count - i
        let bytes = Array((lines[i..<(i + n)].joined(separator: "\n") + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let r = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if r <= 0 { return }  // the daemon went away: what it read, it keeps
            sent += r
        }
        i += n
        if pauseEvery > 0 { usleep(2_000) }
    }
}

func tcpConnect(_ address: String) throws -> Int32 {
    let colon = address.lastIndex(of: ":")!
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(address[address.index(after: colon)...])!.bigEndian
    inet_pton(AF_INET, String(address[..<colon]), &addr.sin_addr)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else {
        close(fd)
        throw ServeFailure(description: "cannot connect to \(address): \(String(cString: strerror(errno)))")
    }
    return fd
}

/// A plain HTTP/1.1 GET; the body as text (the daemon's JSON replies are not chunked).
func httpGet(_ address: String, _ path: String) throws -> String {
    let fd = try tcpConnect(address)
    defer { close(fd) }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        data += buffer[..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { return "" }
    return String(text[split.upperBound...])
}

func shellOutput(_ command: String) throws -> String { try shell(command) }

struct ServeFailure: Error, CustomStringConvertible {
    var description: String
}
