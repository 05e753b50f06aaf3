#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing

/// Issue 9's crash repros against a real `chunkwatch serve`: times near the
/// limits of the timestamp range over every transport, huge durations over the
/// API and SIGHUP, `since` beyond the range. Each test ends by checking that
/// the daemon still answers and stops with status 0, not a signal.
@Suite(.serialized)
struct HostileServeTests {
    typealias Daemon = ServeTests.Daemon

    static let good = #"{"ts":"2025-11-25T08:00:01Z","principal":"p","size":1}"#
    static let early = #"{"ts":-9223372036853,"principal":"p","size":1}"#
    static let year1677 = #"{"ts":"1677-09-21T00:13:00Z","principal":"p","size":1}"#

    static func expectCleanStop(_ daemon: Daemon, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect((try? daemon.get("/healthz"))?.contains("ok") == true, "the daemon stopped answering", sourceLocation: sourceLocation)
        let result = daemon.stop()
        #expect(!result.signalled && result.status == 0, "\(result)", sourceLocation: sourceLocation)
    }

    /// `chunkwatch_events_rejected_total{reason="…"}` from /metrics, or -1.
    static func rejected(_ daemon: Daemon, _ reason: String) -> Int {
        let metrics = (try? daemon.get("/metrics")) ?? ""
        let prefix = #"chunkwatch_events_rejected_total{reason="\#(reason)"} "#
        guard let line = metrics.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return -1 }
        return Int(Double(line.dropFirst(prefix.count)) ?? -1)
    }

    static func waitFor(_ condition: () -> Bool) -> Bool {
        for _ in 0..<1500 {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    @Test func eventsNearTheLimitsOfTimeAreRejectedOverNDJSONAndPOSTAndCounted() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let daemon = try Daemon.start(dir)
        try sendLines([Self.early, Self.year1677, Self.good], to: daemon.ingest)
        #expect(Self.waitFor { daemon.accepted == 1 && Self.rejected(daemon, "ts_out_of_range") == 2 }, "\(Self.rejected(daemon, "ts_out_of_range"))")

        let body = [Self.early, Self.year1677, #"{"ts":9223372036854,"principal":"p","size":9007199254740993}"#, Self.good].joined(separator: "\n")
        let reply = try httpRequest(daemon.http, "POST", "/v1/events", body: body + "\n")
        #expect(reply.status == 200, "\(reply)")
        let report = try #require(jsonObject(reply.body), "\(reply)")
        #expect(integer(report["accepted"]) == 1, "\(report)")
        #expect((report["rejected_by_reason"] as? [String: Any]).map { integer($0["ts_out_of_range"]) } == 3, "\(report)")
        #expect(Self.waitFor { daemon.accepted == 2 && Self.rejected(daemon, "ts_out_of_range") == 5 })
        Self.expectCleanStop(daemon)
    }

    /// A binary tap stream: magic, hello, one source, then 48-byte records.
    static func binaryStream(timestamps: [Int64]) -> [UInt8] {
        var out: [UInt8] = [0x89, 0x43, 0x57, 0x54, 0x0D, 0x0A, 0x1A, 0x01]
        func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func frame(_ type: UInt8, _ payload: [UInt8]) {
            out.append(type)
            le(UInt32(payload.count))
            out += payload
        }
        frame(1, Array("tap-".utf8))
        var source: [UInt8] = []
        withUnsafeBytes(of: UInt32(1).littleEndian) { source.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(1).littleEndian) { source.append(contentsOf: $0) }
        source.append(UInt8(ascii: "p"))
        withUnsafeBytes(of: UInt16(0xFFFF).littleEndian) { source.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(0xFFFF).littleEndian) { source.append(contentsOf: $0) }
        frame(2, source)
        var records: [UInt8] = []
        for (i, ts) in timestamps.enumerated() {
            let before = out.count
            le(ts)
            le(UInt32(1))  // source
            out += [1, 1, 0, 0]  // dir out, flags: has seq
            le(UInt64(7))  // conn
            le(Int64(i))  // seq
            le(Int64(100))  // size
            le(UInt32(0))  // checksum
            le(UInt32(0))  // rate
            records += out[before...]
            out.removeSubrange(before...)
        }
        frame(3, records)
        return out
    }

    @Test func binaryRecordsNearTheLimitsOfTimeAreRejectedAndCounted() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let daemon = try Daemon.start(dir)
        // Int64.min + 1 ns, 1677-09-21T00:13:00Z, one before 1970, and a good one.
        let stream = Self.binaryStream(timestamps: [.min + 1, -9_223_372_020_000_000_000, -1, 1_764_057_601_000_000_000, .max])
        let fd = try tcpConnect(daemon.ingest)
        let sent = stream.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        close(fd)
        #expect(sent == stream.count)
        #expect(Self.waitFor { daemon.accepted == 1 && Self.rejected(daemon, "ts_out_of_range") == 4 },
                "accepted \(daemon.accepted), ts_out_of_range \(Self.rejected(daemon, "ts_out_of_range"))")
        Self.expectCleanStop(daemon)
    }

    @Test func hugeDurationsOverTheAPIAreRefusedWithTheRange() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let daemon = try Daemon.start(dir)
        for (body, key) in [
            (#"{"cooldown":"99999999999999999d"}"#, "size.cooldown"), (#"{"cooldown":4e40}"#, "size.cooldown"),
            (#"{"cooldown":"nan"}"#, "size.cooldown"), (#"{"threshold":"nan"}"#, "size.threshold"),
            (#"{"threshold":"inf"}"#, "size.threshold"),
        ] {
            let reply = try httpRequest(daemon.http, "PUT", "/v1/detectors/size", body: body)
            #expect(reply.status == 422, "\(body): \(reply)")
            let error = try #require(jsonObject(reply.body)?["error"] as? String, "\(body): \(reply)")
            #expect(error.contains(key), "\(error)")
        }
        let reply = try httpRequest(daemon.http, "PUT", "/v1/detectors/size", body: #"{"cooldown":"99999999999999999d"}"#)
        #expect(jsonObject(reply.body)?["error"] as? String == "size.cooldown: '99999999999999999d' is out of range: a duration from 0s to 18250d (50 years)")
        #expect(try httpRequest(daemon.http, "PUT", "/v1/detectors/size", body: #"{"cooldown":"18250d"}"#).status == 200)
        Self.expectCleanStop(daemon)
    }

    @Test func sinceBeyondTheRangeIsA400NotACrash() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let daemon = try Daemon.start(dir)
        for path in ["/v1/alerts", "/v1/alerts/stream"] {
            for since in ["106752d", "9223372036854775807ms", "99999999999999999999d", "-1h", "nan"] {
                let reply = try httpRequest(daemon.http, "GET", "\(path)?since=\(since)")
                #expect(reply.status == 400, "\(path)?since=\(since): \(reply)")
                let error = try #require(jsonObject(reply.body)?["error"] as? String, "\(reply)")
                #expect(error.hasPrefix("since: ") && error.contains("'\(since)'"), "\(error)")
            }
        }
        let error = jsonObject(try httpRequest(daemon.http, "GET", "/v1/alerts?since=106752d").body)?["error"] as? String
        #expect(error == "since: '106752d' is out of range: a duration from 0s to 18250d (50 years)")
        for since in ["18250d", "2h", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
            #expect(try httpRequest(daemon.http, "GET", "/v1/alerts?since=\(since)").status == 200, "\(since)")
        }
        Self.expectCleanStop(daemon)
    }

    @Test func aSIGHUPReloadOfAHugeCooldownIsRefusedAndTheDaemonGoesOn() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let config = try dir.write("chunkwatch.yaml", "detectors:\n  size:\n    cooldown: 10m\n")
        let daemon = try Daemon.start(dir, extra: ["--config", config])
        _ = try dir.write("chunkwatch.yaml", "detectors:\n  size:\n    cooldown: 4e40\n")
        kill(daemon.child.process.processIdentifier, SIGHUP)
        // The refusal is logged; the live value stays, and later events still flow.
        #expect(Self.waitFor { (try? daemon.get("/healthz")) != nil })
        try sendLines([Self.good], to: daemon.ingest)
        #expect(Self.waitFor { daemon.accepted == 1 })
        #expect(try daemon.get("/v1/detectors/size").contains(#""cooldown":"10m""#))
        let result = daemon.stop()
        #expect(!result.signalled && result.status == 0, "\(result)")
        #expect(result.stderrText.contains("not reloaded"), "\(result.stderrText)")
        #expect(result.stderrText.contains("'4e40' is out of range"), "\(result.stderrText)")
        #expect(result.stderrText.contains("chunkwatch.yaml:3:"), "\(result.stderrText)")
    }

    /// Issue 9: a daemon started cold (no store, no events) logged "checkpoint not
    /// written: Dictionary<Symbol, Entry>…" every interval, its principal table
    /// being empty. It must write them, and a restart must read one back.
    @Test func aColdIdleDaemonWritesItsCheckpoints() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let daemon = try Daemon.start(dir, extra: ["--checkpoint-seconds", "1"])
        func checkpointBytes() -> Double {
            let metrics = (try? daemon.get("/metrics")) ?? ""
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("chunkwatch_checkpoint_bytes ") }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }
        #expect(Self.waitFor { checkpointBytes() > 0 }, "no checkpoint written while idle")
        let result = daemon.stop()
        #expect(!result.signalled && result.status == 0, "\(result)")
        #expect(!result.stderrText.contains("checkpoint not written"), "\(result.stderrText)")

        let again = try Daemon.start(dir, name: "again")
        let second = again.stop()
        #expect(second.stderrText.contains("restored the checkpoint"), "\(second.stderrText)")
        #expect(!second.stderrText.contains("checkpoint not written"), "\(second.stderrText)")
    }
}

/// One HTTP/1.1 request with `Connection: close`: the status and the body as text.
func httpRequest(_ address: String, _ method: String, _ path: String, body: String = "") throws -> (status: Int, body: String) {
    let fd = try tcpConnect(address)
    defer { close(fd) }
    let bytes = Array(body.utf8)
    var head = "\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\n"
    if method != "GET" { head += "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n" }
    let request = Array((head + "\r\n").utf8) + bytes
    var sent = 0
    while sent < request.count {
        let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { throw ServeFailure(description: "send to \(address) failed") }
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
    guard let split = text.range(of: "\r\n\r\n") else { throw ServeFailure(description: "no HTTP reply from \(address): \(text)") }
    let status = Int(text.prefix(while: { $0 != "\r" }).split(separator: " ").dropFirst().first ?? "") ?? -1
    return (status, String(text[split.upperBound...]))
}
