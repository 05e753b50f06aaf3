#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel
import ChunkWatchTestKit
import Foundation
import Logging
import Server
import Testing

/// Debian's `prometheus-alertmanager` package installs it here.
private let alertmanagerBinary = "/usr/bin/prometheus-alertmanager"
private let haveAlertmanager = FileManager.default.isExecutableFile(atPath: alertmanagerBinary)

@Suite("AlertmanagerSink")
struct AlertmanagerSinkTests {
    // The tests against a real Alertmanager skip, rather than fail, on a machine
    // without it: `apt-get install prometheus-alertmanager` to run them.

    @Test(
        "firing alerts arrive with chunkwatch's labels, resolved ones end",
        .enabled(if: haveAlertmanager, "needs \(alertmanagerBinary) (apt-get install prometheus-alertmanager)"))
    func firingAndResolved() async throws {
        let am = try await Alertmanager.start()
        defer { am.stop() }
        let sink = try AlertmanagerSink(url: am.url, settings: fastSettings(), logger: quietLogger)
        defer { sink.close() }
        let now = Timestamp(epochMilliseconds: Timestamp.now().epochMilliseconds)  // the API's precision
        let size = testAlert(
            "a000000000000001", .firing, detector: "size", principal: "svc-billing", resource: "pg://orders",
            first: now + .seconds(-120), last: now + .seconds(-120), now: now)
        let rate = testAlert(
            "a000000000000002", .firing, detector: "rate", principal: "alice", first: now + .seconds(-90),
            last: now + .seconds(-30), now: now)
        sink.emit(size)
        sink.emit(rate)
        #expect(try await drain(sink))
        try sink.flush()

        var alerts = try await am.alerts()
        #expect(alerts.count == 2)
        let got = try #require(alerts["a000000000000001"])
        #expect(
            got.labels == [
                "alertname": "chunkwatch_size", "detector": "size", "principal": "svc-billing", "severity": "high",
                "chunkwatch_id": "a000000000000001", "resource": "pg://orders",
            ])
        #expect(got.annotations["summary"] == size.message)
        #expect(got.annotations["description"] == "observed 1048576, expected 16384, threshold 8")
        #expect(got.annotations["score"] == "0.9993")
        #expect(got.startsAt == size.firstTs)
        // No endsAt sent: Alertmanager keeps it active for resolve_timeout (5 m).
        #expect(try #require(got.endsAt) > now + .seconds(60))
        #expect(alerts["a000000000000002"]?.labels["resource"] == nil)
        #expect(alerts["a000000000000002"]?.labels["alertname"] == "chunkwatch_rate")

        var resolved = size
        resolved.status = .resolved
        resolved.lastTs = now + .seconds(-60)
        sink.emit(resolved)
        #expect(try await drain(sink))
        try sink.flush()
        alerts = try await am.alerts()
        // GET /api/v2/alerts lists only alerts whose endsAt is still ahead.
        #expect(alerts["a000000000000001"] == nil)
        #expect(alerts["a000000000000002"] != nil)
        #expect(sink.delivered == 3)
        #expect(sink.failedAttempts == 0 && sink.dropped == 0 && sink.rejected == 0)
    }

    @Test(
        "alerts emitted before Alertmanager is up are delivered once it starts",
        .enabled(if: haveAlertmanager, "needs \(alertmanagerBinary) (apt-get install prometheus-alertmanager)"))
    func deliveredAfterOutage() async throws {
        let port = try freePort()
        let sink = try AlertmanagerSink(url: "http://127.0.0.1:\(port)", settings: fastSettings(), logger: quietLogger)
        defer { sink.close() }
        let now = Timestamp(epochMilliseconds: Timestamp.now().epochMilliseconds)  // the API's precision
        let ids = (1...5).map { "b00000000000000\($0)" }
        for id in ids {
            sink.emit(testAlert(id, .firing, detector: "volume", principal: "batch-7", first: now, last: now, now: now))
        }
        #expect(try await waitUntil { sink.failedAttempts >= 2 })
        #expect(throws: ServerError.self) { try sink.flush() }  // the refused connections
        #expect(sink.queued == 5)

        let am = try await Alertmanager.start(port: port)
        defer { am.stop() }
        #expect(try await drain(sink))
        _ = try? sink.flush()  // the attempts that failed while it started
        try sink.flush()
        #expect(Set(try await am.alerts().keys) == Set(ids))
        #expect(sink.delivered == 5 && sink.dropped == 0 && sink.queued == 0)
    }

    @Test("a full queue drops its oldest alerts and counts them; close does not wait out a backoff")
    func dropsOldest() async throws {
        // A port bound but never listened on: connections are refused, and no other
        // test's server can take it meanwhile (a freed port can be handed out again).
        let (port, holder) = try deadPort()
        defer { close(holder) }
        var settings = fastSettings()
        settings.maxQueued = 3
        settings.batchSize = 1
        settings.initialBackoff = .seconds(30)
        let sink = try AlertmanagerSink(url: "http://127.0.0.1:\(port)", settings: settings, logger: quietLogger)
        let now = Timestamp(epochMilliseconds: Timestamp.now().epochMilliseconds)  // the API's precision
        for i in 0..<10 {
            sink.emit(testAlert("c00000000000000\(i)", .firing, detector: "size", principal: "p", first: now, last: now, now: now))
        }
        // The first alert may already be in flight (kept through retries), the rest
        // queue three deep: six or seven dropped.
        #expect((6...7).contains(sink.dropped))
        #expect(sink.dropped + sink.queued == 10)
        #expect(throws: ServerError.self) { try sink.flush() }

        // Timed on the closing thread itself: getting back onto the test's own
        // threads can take long while other suites block them.
        let took = try await offThePool {
            let started = ContinuousClock.now
            sink.close()
            return ContinuousClock.now - started
        }
        #expect(took < .seconds(5))
        // The last attempt at close fails too: what was left counts as dropped.
        #expect(sink.dropped == 10 && sink.queued == 0 && sink.delivered == 0)
    }

    @Test(
        "after an outage the newest alerts are the ones delivered",
        .enabled(if: haveAlertmanager, "needs \(alertmanagerBinary) (apt-get install prometheus-alertmanager)"))
    func newestSurvive() async throws {
        let port = try freePort()
        var settings = fastSettings()
        settings.maxQueued = 3
        settings.batchSize = 1
        let sink = try AlertmanagerSink(url: "http://127.0.0.1:\(port)", settings: settings, logger: quietLogger)
        defer { sink.close() }
        let now = Timestamp(epochMilliseconds: Timestamp.now().epochMilliseconds)  // the API's precision
        let ids = (0..<10).map { "d00000000000000\($0)" }
        for id in ids { sink.emit(testAlert(id, .firing, detector: "rate", principal: "p", first: now, last: now, now: now)) }

        let am = try await Alertmanager.start(port: port)
        defer { am.stop() }
        #expect(try await drain(sink))
        // The three newest, and perhaps the one that was already in flight
        // (kept through the retries) when the queue overflowed.
        let got = Set(try await am.alerts().keys)
        #expect(got.isSuperset(of: ids[7...]))
        #expect(got.subtracting(ids[7...]).count <= 1)
        #expect(sink.delivered == got.count && sink.delivered + sink.dropped == 10)
    }

    @Test(
        "firing alerts are re-sent, so Alertmanager's resolve_timeout does not end them",
        .enabled(if: haveAlertmanager, "needs \(alertmanagerBinary) (apt-get install prometheus-alertmanager)"))
    func resendsKeepFiringAlertsActive() async throws {
        let am = try await Alertmanager.start(resolveTimeout: "1s")
        defer { am.stop() }
        var settings = fastSettings()
        settings.resendInterval = .milliseconds(250)
        let sink = try AlertmanagerSink(url: am.url, settings: settings, logger: quietLogger)
        defer { sink.close() }
        let now = Timestamp(epochMilliseconds: Timestamp.now().epochMilliseconds)  // the API's precision
        let open = testAlert("e000000000000001", .firing, detector: "silence", principal: "cron", first: now, last: now, now: now)
        var ended = testAlert("e000000000000002", .firing, detector: "silence", principal: "etl", first: now, last: now, now: now)
        sink.emit(open)
        sink.emit(ended)
        #expect(try await drain(sink))
        ended.status = .resolved
        sink.emit(ended)
        #expect(try await drain(sink))
        let resentBefore = sink.resent
        let clock = ContinuousClock()
        let started = clock.now

        try await Task.sleep(for: .milliseconds(2500))  // over twice the resolve_timeout
        let alerts = try await am.alerts()
        #expect(alerts["e000000000000001"] != nil)
        #expect(alerts["e000000000000002"] == nil)
        // Only the open alert is re-sent: about one a quarter second, however
        // long the sleep really took on a loaded machine (two alerts would double it).
        let quarters = Int((clock.now - started) / .milliseconds(250))
        #expect(sink.resent - resentBefore >= 5)
        #expect(sink.resent - resentBefore <= quarters + 2)
    }

    @Test("an unusable URL is refused with a clear error")
    func badURLs() {
        for url in ["https://am:9093", "127.0.0.1:9093", "http://am:90x3", "http://:9093", "http://am:0", "http://am:9093/?x=1"] {
            #expect(throws: ServerError.self, "\(url)") { _ = try AlertmanagerSink(url: url, logger: quietLogger) }
        }
        let sink = try? AlertmanagerSink(url: "http://[::1]:9093/alertmanager", logger: quietLogger)
        #expect(sink != nil)
        sink?.close()
    }
}

// MARK: - Helpers

private let quietLogger: Logger = {
    var logger = Logger(label: "alertmanager-test")
    logger.logLevel = .critical
    return logger
}()

private func fastSettings() -> AlertmanagerSink.Settings {
    var s = AlertmanagerSink.Settings()
    s.initialBackoff = .milliseconds(50)
    s.maxBackoff = .milliseconds(200)
    s.requestTimeout = .seconds(2)
    return s
}

private func testAlert(
    _ id: String, _ status: Alert.Status, detector: String, principal: String, resource: String? = nil,
    first: Timestamp, last: Timestamp, now: Timestamp
) -> Alert {
    Alert(
        id: id, status: status, detector: detector, severity: .high, score: 0.9993, ts: last, emittedAt: now,
        principal: principal, resource: resource, observed: 1_048_576, expected: 16384, threshold: 8,
        message: "chunk of 1.0 MiB is 46 MADs above \(principal)'s usual 16 KiB", firstTs: first, lastTs: last)
}

/// Waits (off the pool: it blocks) until the sink has delivered or refused all it holds.
private func drain(_ sink: AlertmanagerSink, timeout: Duration = .seconds(10)) async throws -> Bool {
    try await offThePool { sink.waitUntilDrained(timeout: timeout) }
}

private func waitUntil(seconds: Double = 10, _ condition: () -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// A loopback port nothing listens on (for a moment).
private func freePort() throws -> Int {
    let (port, fd) = try deadPort()
    close(fd)
    return port
}

/// A loopback port bound (not listening) by the returned descriptor.
private func deadPort() throws -> (port: Int, fd: Int32) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else {
        close(fd)
        throw ServerError("cannot find a free port: \(String(cString: strerror(errno)))")
    }
    return (Int(UInt16(bigEndian: addr.sin_port)), fd)
}

/// An alert as `GET /api/v2/alerts` lists it.
private struct ListedAlert {
    var labels: [String: String]
    var annotations: [String: String]
    var startsAt: Timestamp?
    var endsAt: Timestamp?
}

/// A real Alertmanager on a loopback port, with a temporary storage directory,
/// a one-receiver config and clustering off; `stop()` kills it.
private final class Alertmanager: Sendable {
    let url: String
    let directory: String
    private let process: Process
    private let exit: ExitSignal
    private let client: HTTPStreamClient

    static func start(port: Int? = nil, resolveTimeout: String? = nil) async throws -> Alertmanager {
        let port = try port ?? freePort()
        let directory = try makeTemporaryDirectory()
        var config = "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"
        if let resolveTimeout { config = "global:\n  resolve_timeout: \(resolveTimeout)\n" + config }
        try config.write(toFile: directory + "/alertmanager.yml", atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: directory + "/alertmanager.log", contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: alertmanagerBinary)
        process.arguments = [
            "--config.file=\(directory)/alertmanager.yml", "--storage.path=\(directory)/data",
            "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
        ]
        let log = FileHandle(forWritingAtPath: directory + "/alertmanager.log")
        process.standardOutput = log
        process.standardError = log
        let exit = ExitSignal()
        exit.watch(process)
        try process.run()
        let am = Alertmanager(url: "http://127.0.0.1:\(port)", directory: directory, process: process, exit: exit)
        let client = am.client
        let ready = try await offThePool { () -> Bool in
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline && !exit.hasExited {
                if (try? client.get("/-/ready", headers: [], { _ in })) != nil { return true }
                usleep(50_000)
            }
            return false
        }
        guard ready else {
            am.stop()
            let text = (try? String(contentsOfFile: directory + "/alertmanager.log", encoding: .utf8)) ?? ""
            throw ServerError("alertmanager did not become ready on port \(port): \(text.suffix(2000))")
        }
        return am
    }

    private init(url: String, directory: String, process: Process, exit: ExitSignal) {
        self.exit = exit
        self.url = url
        self.directory = directory
        self.process = process
        var client = try! HTTPStreamClient(url: url)
        client.receiveTimeout = .seconds(5)
        client.connectTimeout = .seconds(5)
        self.client = client
    }

    func stop() {
        exit.wait(process, timeout: 0)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The active alerts, by their `chunkwatch_id` label.
    func alerts() async throws -> [String: ListedAlert] {
        let client = self.client
        let body = try await offThePool { () -> [UInt8] in
            var out: [UInt8] = []
            try client.get("/api/v2/alerts", headers: [("Accept", "application/json")]) { out += $0 }
            return out
        }
        let list = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]])
        var byID: [String: ListedAlert] = [:]
        for item in list {
            let labels = item["labels"] as? [String: String] ?? [:]
            let alert = ListedAlert(
                labels: labels, annotations: item["annotations"] as? [String: String] ?? [:],
                startsAt: (item["startsAt"] as? String).flatMap { Timestamp(rfc3339: $0) },
                endsAt: (item["endsAt"] as? String).flatMap { Timestamp(rfc3339: $0) })
            byID[labels["chunkwatch_id"] ?? "?"] = alert
        }
        return byID
    }
}
