#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import Testing

/// Connections cannot exhaust `chunkwatch serve`: limits below the fd limit,
/// timeouts for the idle, the unauthenticated and the slow, every refusal counted.
@Suite(.serialized)
struct ConnectionLimitTests {
    typealias Daemon = ServeTests.Daemon
    static let ingestToken = "ingest-secret-0123456789"
    static let readToken = "read-secret-0123456789ab"

    static func refused(_ listener: String, _ reason: String) -> String {
        #"chunkwatch_connections_refused_total{listener="\#(listener)",reason="\#(reason)"}"#
    }

    @Test func anIdleFloodUnderALowFdLimitIsRefusedWhileHealthzKeepsAnswering() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        // 512 descriptors: 256 kept for files, of the rest three quarters (192) for taps.
        let daemon = try Daemon.start(dir, launcher: ["/bin/sh", "-c", #"ulimit -n 512 && exec "$0" "$@""#])
        defer { _ = daemon.stop() }
        #expect(metric(daemon.http, #"chunkwatch_connections_limit{listener="ingest"}"#) == 192)

        var flood: [RawConnection] = []
        for i in 1...3000 {
            flood.append(try RawConnection(daemon.ingest))
            if i % 500 == 0 {
                let health = try httpRequest(daemon.http, "GET", "/healthz")
                #expect(health.status == 200 && health.body.contains("ok"), "after \(i) connections: \(health)")
            }
        }
        let limit = Self.refused("ingest", "limit")
        #expect(eventually { (metric(daemon.http, limit) ?? 0) + (metric(daemon.http, "chunkwatch_ingest_connections") ?? 0) >= 3000 })
        #expect(metric(daemon.http, "chunkwatch_ingest_connections") == 192)
        #expect(metric(daemon.http, limit) == 2808)
        // Those refused were told why.
        let told = try #require(flood.last?.readToEnd())
        #expect(told.hasPrefix("ERR the daemon has 192 tap connections open, its limit"), "\(told)")
        #expect(try httpRequest(daemon.http, "GET", "/healthz").status == 200)
        // The flood gone, the places are free again.
        flood.removeAll()
        #expect(eventually { metric(daemon.http, "chunkwatch_ingest_connections") == 0 })
        try sendLines([#"{"ts":1764300000000,"principal":"after-flood","size":1}"#], to: daemon.ingest)
        #expect(eventually { daemon.accepted == 1 })
    }

    @Test func theUnauthenticatedTheIdleAndTheTricklingAreClosedWithAnERRLine() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let tokens = try dir.write("tokens", "ingest gw \(Self.ingestToken)\nread ops \(Self.readToken)\n")
        let daemon = try Daemon.start(dir, extra: ["--tokens", tokens, "--auth-timeout", "1s", "--idle-timeout", "2s"])
        defer { _ = daemon.stop() }
        let event = #"{"ts":1764300000000,"principal":"svc-a","size":10}"# + "\n"

        // Authenticated first, sending a line now and then: it must outlive the others.
        let steady = try RawConnection(daemon.ingest)
        steady.write("AUTH \(Self.ingestToken)\n" + event)
        let unauthenticated = try RawConnection(daemon.ingest)
        let told = try #require(unauthenticated.readToEnd(), "the unauthenticated connection was never closed")
        #expect(told.hasPrefix("ERR no AUTH line within 1 s"), "\(told)")

        // A slowloris: authenticated, then a line that never ends, one byte at a time.
        let trickler = try RawConnection(daemon.ingest)
        trickler.write("AUTH \(Self.ingestToken)\n{")
        let stop = Atomic(false)
        let steadyFailed = Atomic(false)
        defer { stop.store(true, ordering: .relaxed) }
        let drip = Thread { while !stop.load(ordering: .relaxed) && trickler.write("\"") { usleep(50_000) } }
        drip.start()
        let lines = Thread {
            while !stop.load(ordering: .relaxed) {
                if !steady.write(event) { steadyFailed.store(true, ordering: .relaxed) }
                usleep(50_000)
            }
        }
        lines.start()
        let cut = try #require(trickler.readToEnd(), "the trickling connection was never closed")
        #expect(cut.hasPrefix("ERR no complete line for 2 s"), "\(cut)")
        #expect(!steadyFailed.load(ordering: .relaxed) && steady.isOpen, "a connection sending whole lines is not idle")
        #expect(metric(daemon.http, Self.refused("ingest", "auth_timeout"), token: Self.readToken) == 1)
        #expect(metric(daemon.http, Self.refused("ingest", "idle_timeout"), token: Self.readToken) == 1)

        // A wrong token is refused and counted; so are HTTP calls without the right token.
        let wrong = try RawConnection(daemon.ingest)
        wrong.write("AUTH not-the-token\n")
        #expect(wrong.readToEnd()?.hasPrefix("ERR") == true)
        #expect(try httpRequest(daemon.http, "GET", "/metrics").status == 401)
        #expect(try httpRequest(daemon.http, "GET", "/metrics", token: Self.ingestToken).status == 403)
        #expect(metric(daemon.http, Self.refused("ingest", "auth_failed"), token: Self.readToken) == 1)
        #expect(metric(daemon.http, #"chunkwatch_http_error_responses_total{status="401"}"#, token: Self.readToken) == 1)
        #expect(metric(daemon.http, #"chunkwatch_http_error_responses_total{status="403"}"#, token: Self.readToken) == 1)
    }

    @Test func slowHTTPClientsAreCutTheAlertStreamIsNotAndOversizeBodiesAreRefusedAtOnce() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let config = try dir.write(
            "chunkwatch.yaml", "serve:\n  http_idle_timeout: 1s\n  http_request_timeout: 2s\n  http_max_connections: 3\n")
        let daemon = try Daemon.start(dir, extra: ["--config", config])
        defer { _ = daemon.stop() }

        // A live alert stream: it sends nothing for 15 s, and must outlive every timeout below.
        let stream = try RawConnection(daemon.http)
        stream.write("GET /v1/alerts/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(stream.read(until: ": chunkwatch alert stream") != nil)

        // A request head trickled byte by byte never becomes a request: closed.
        let header = try RawConnection(daemon.http)
        header.write("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        let stop = Atomic(false)
        defer { stop.store(true, ordering: .relaxed) }
        let headDrip = Thread { while !stop.load(ordering: .relaxed) && header.write("a") { usleep(50_000) } }
        headDrip.start()
        #expect(header.readToEnd() != nil, "the trickled head was never cut")
        #expect(metric(daemon.http, Self.refused("http", "idle_timeout")) == 1)

        // A body trickled byte by byte: cut at the request timeout.
        let body = try RawConnection(daemon.http)
        body.write("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        let bodyDrip = Thread { while !stop.load(ordering: .relaxed) && body.write(" ") { usleep(50_000) } }
        bodyDrip.start()
        #expect(body.readToEnd() != nil, "the trickled body was never cut")
        #expect(metric(daemon.http, Self.refused("http", "request_timeout")) == 1)
        #expect(stream.isOpen, "the alert stream was cut")

        // Content-Length over the limit: 413 before any of the body, and the connection closed.
        let huge = try RawConnection(daemon.http)
        huge.write("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2147483648\r\n\r\n{\"ts\":")
        let answer = try #require(huge.readToEnd(), "the oversize request was held open")
        #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
        #expect(answer.lowercased().contains("connection: close"))
        #expect(metric(daemon.http, #"chunkwatch_http_error_responses_total{status="413"}"#) == 1)

        // Three connections at most: two more streams fill them, the next is answered 503.
        var refusals = 0
        func openStream() -> RawConnection? {
            var opened: RawConnection?
            _ = eventually {
                guard let c = try? RawConnection(daemon.http) else { return false }
                c.write("GET /v1/alerts/stream HTTP/1.1\r\nHost: x\r\n\r\n")
                guard let text = c.read(until: "\r\n\r\n") else { return false }
                if text.hasPrefix("HTTP/1.1 503") { refusals += 1 }  // a closed connection not yet let go
                guard text.hasPrefix("HTTP/1.1 200") else { return false }
                if !text.contains(": chunkwatch alert stream") && c.read(until: ": chunkwatch alert stream") == nil { return false }
                opened = c
                return true
            }
            return opened
        }
        let second = try #require(openStream())
        var third: RawConnection? = try #require(openStream())
        let full = try httpRequest(daemon.http, "GET", "/healthz")
        #expect(full.status == 503)
        refusals += 1
        #expect(third?.isOpen == true)
        // Its place is free again once the daemon sees it closed: the stream
        // notices at its next write (a keepalive within 15 s).
        third = nil
        #expect(eventually {
            let r = try? httpRequest(daemon.http, "GET", "/healthz")
            if r?.status == 503 { refusals += 1 }
            return r?.status == 200
        })
        // The count, read once a place is free (a 503 on the way counts too).
        var counted: Double?
        #expect(eventually {
            guard let r = try? httpRequest(daemon.http, "GET", "/metrics") else { return false }
            if r.status == 503 { refusals += 1 }
            counted = r.body.split(separator: "\n").first { $0.hasPrefix(Self.refused("http", "limit") + " ") }
                .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
            return r.status == 200
        })
        #expect(counted == Double(refusals))
        #expect(stream.isOpen && second.isOpen)
    }
}
