#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import Testing

/// SIGTERM drains: the open tap connections are read to their end, and what
/// is still sending at the drain timeout is cut and logged.
@Suite(.serialized)
struct DrainTests {
    typealias Daemon = ServeTests.Daemon

    static func archived(_ dir: TempDir) throws -> [String] {
        try shellOutput("cat \(dir.path("archive"))/*.ndjson.lz4 | lz4 -dc").split(separator: "\n").map(String.init)
    }

    static func stoppedCount(_ result: RunResult) -> Int? {
        guard let line = result.stderrLines.last(where: { $0.contains("pipeline stopped") }) else { return nil }
        return line.split(separator: "events=").dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
    }

    @Test func sigtermWhileGenStreamsArchivesEverythingItSent() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let args = ["gen", "--principals", "4", "--hours", "6", "--seed", "4"]
        #expect(try chunkwatch(args + ["--output", dir.path("events.ndjson")]).exitedCleanly)
        let expected = try dir.readText("events.ndjson").split(separator: "\n").map(String.init)
        // A drain long enough for the sender on a loaded machine: what is asserted is that nothing is lost.
        let daemon = try Daemon.start(dir, extra: ["--drain-timeout", "60s"])
        let sender = try Child(args + ["--output", "tcp://\(daemon.ingest)"], timeout: 120)
        #expect(eventually { daemon.accepted >= expected.count / 4 })

        let result = daemon.stop()
        #expect(result.exitedCleanly, "\(result)")
        let sent = sender.wait()
        #expect(sent.exitedCleanly, "the sender saw its connection cut: \(sent)")
        #expect(Self.stoppedCount(result) == expected.count)
        let archived = try Self.archived(dir)
        #expect(archived.count == expected.count)
        #expect(archived == expected)
        #expect(!result.stderrText.contains("cut a tap connection"))
    }

    @Test func aSenderStillSendingAtTheDrainTimeoutIsCutAndLogged() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let daemon = try Daemon.start(dir, extra: ["--drain-timeout", "3s"])
        // A tap between batches: connected, sending nothing. It does not hold the stop up.
        let quiet = try RawConnection(daemon.ingest)
        let sender = try RawConnection(daemon.ingest)
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sender.fd, $0, &length) }
        }
        let port = UInt16(bigEndian: local.sin_port)
        let stop = Atomic(false)
        let sent = Atomic(0)
        let feed = Thread {
            var i = 0
            while !stop.load(ordering: .relaxed) {
                let line = #"{"ts":\#(1_764_300_000_000 + i),"principal":"svc-forever","size":\#(i)}"# + "\n"
                guard sender.write(line) else { break }
                i += 1
                sent.store(i, ordering: .relaxed)
                usleep(10_000)
            }
        }
        feed.start()
        defer { stop.store(true, ordering: .relaxed) }
        #expect(eventually { daemon.accepted >= 10 })

        let result = daemon.stop()
        stop.store(true, ordering: .relaxed)
        #expect(result.exitedCleanly, "\(result)")
        let cuts = result.stderrLines.filter { $0.contains("cut a tap connection still open 3 s after SIGTERM") }
        #expect(cuts.count == 1, "\(result.stderrText)")
        let cut = try #require(cuts.first)
        #expect(cut.contains(":\(port)"), "the log names the peer: \(cut)")
        #expect(cut.contains("bytes_read=") && cut.contains("left unread"), "\(cut)")
        #expect(quiet.readToEnd() == "", "the quiet connection is closed, without an ERR line")

        // What was read of it is all archived: a prefix of what it sent, as many as the pipeline took.
        let archived = try Self.archived(dir)
        #expect(archived.count == Self.stoppedCount(result))
        #expect(archived.count >= 10 && archived.count <= sent.load(ordering: .relaxed))
        for (i, line) in archived.enumerated() { #expect(line.contains(#""ts":\#(1_764_300_000_000 + i),"#)) }
    }
}
