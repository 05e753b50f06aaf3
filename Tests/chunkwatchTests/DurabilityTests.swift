#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel
import ChunkTap
import Foundation
import Testing

/// "Accepted means durable" (docs/api.md), checked the hard way: a real
/// daemon killed with SIGKILL, restarted on the same store and archive.
@Suite(.serialized)
struct DurabilityTests {
    typealias Daemon = ServeTests.Daemon

    /// Every event line in the archive directory, as (principal, size).
    static func archived(_ dir: TempDir) throws -> [(String, Int)] {
        let text = try shellOutput("cat \(dir.path("archive"))/*.ndjson.lz4 2>/dev/null | lz4 -dc")
        return text.split(separator: "\n").compactMap { line in
            guard let p = line.range(of: #""principal":""#), let s = line.range(of: #""size":"#) else { return nil }
            let principal = String(line[p.upperBound...].prefix { $0 != "\"" })
            return (principal, Int(line[s.upperBound...].prefix { $0.isNumber }) ?? -1)
        }
    }

    static func kill9(_ daemon: Daemon) {
        kill(daemon.child.process.processIdentifier, SIGKILL)
        _ = daemon.child.wait()
    }

    @Test func everyPostAnsweredOKSurvivesKillNine() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let daemon = try Daemon.start(dir)
        var acknowledged: [Int] = []
        for batch in 0..<20 {
            let sizes = (0..<250).map { batch * 250 + $0 }
            let body = sizes.map { #"{"ts":\#(1_795_392_000_000 + $0),"principal":"durable-post","size":\#($0)}"# }
                .joined(separator: "\n")
            let (status, reply) = try httpPost(daemon.http, "/v1/events", body)
            #expect(status == 200, "\(reply)")
            #expect(reply.contains(#""accepted":250"#), "\(reply)")
            acknowledged += sizes
        }
        // Killed the moment the last answer arrived: no graceful stop, no flush.
        Self.kill9(daemon)

        let again = try Daemon.start(dir, name: "serve2")
        #expect(again.stop().status == 0)
        let sizes = try Self.archived(dir).filter { $0.0 == "durable-post" }.map(\.1)
        #expect(sizes.count == acknowledged.count, "every acknowledged event once, none lost, none twice")
        #expect(Set(sizes) == Set(acknowledged))
    }

    @Test func aTapWhoseCollectorIsKilledAndRestartedLosesNothingAndDuplicatesNothing() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let first = try Daemon.start(dir)
        var settings = ChunkTap.Settings(collector: first.ingest)
        settings.wire = .binary
        settings.name = "durability-tap"
        settings.batchSize = 128
        settings.backoffInitial = .milliseconds(10)
        settings.backoffMax = .milliseconds(100)
        settings.closeTimeout = .seconds(60)
        let tap = ChunkTap(settings: settings)
        let source = try tap.register(principal: "durable-tap", resource: "pg://orders")
        func record(_ range: Range<Int>) {
            for i in range {
                let r = TapRecord(
                    ts: Timestamp(epochMilliseconds: 1_795_392_000_000 + Int64(i)), source: source, conn: 1, seq: Int64(i),
                    size: Int64(i))
                #expect(tap.record(r), "the ring holds the whole test: nothing may drop")
            }
        }
        record(0..<10_000)
        // Killed while the stream is going: some batches durable and acknowledged,
        // some durable and not yet acknowledged, some only in the socket.
        #expect(try waitFor { first.accepted >= 3_000 })
        Self.kill9(first)
        record(10_000..<20_000)

        let second = try Daemon.start(dir, ingest: first.ingest, name: "serve2")
        #expect(try waitFor { second.accepted >= 1 })
        tap.close()
        let stats = tap.stats
        #expect(stats.dropped == 0 && stats.droppedAtClose == 0)
        #expect(stats.unacknowledgedAtClose == 0, "the restarted collector acknowledged everything: \(stats)")
        #expect(stats.acknowledged >= 20_000 - stats.resent)
        #expect(second.stop().status == 0)

        let sizes = try Self.archived(dir).filter { $0.0 == "durable-tap" }.map(\.1)
        #expect(Set(sizes) == Set(0..<20_000), "nothing the tap held is lost")
        #expect(sizes.count == 20_000, "what the first collector archived is not archived again")
    }
}

/// Waits up to `seconds` for `condition`, checking every 10 ms.
func waitFor(seconds: Double = 60, _ condition: () throws -> Bool) throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(10_000)
    }
    return try condition()
}

/// A plain HTTP/1.1 POST; the status code and the body.
func httpPost(_ address: String, _ path: String, _ body: String) throws -> (Int, String) {
    let fd = try tcpConnect(address)
    defer { close(fd) }
    let payload = Array(body.utf8)
    var request = Array(
        "POST \(path) HTTP/1.1\r\nHost: \(address)\r\nContent-Type: application/x-ndjson\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n"
            .utf8)
    request += payload
    var sent = 0
    while sent < request.count {
        let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
        guard n > 0 else { throw ServeFailure(description: "cannot send to \(address): \(String(cString: strerror(errno)))") }
        sent += n
    }
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        data += buffer[..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
    guard let split = text.range(of: "\r\n\r\n") else { return (status, "") }
    return (status, String(text[split.upperBound...]))
}
