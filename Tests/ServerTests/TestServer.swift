#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import Server
import Synchronization
import Testing

/// A real `ChunkWatchServer` on free loopback ports, in a temporary directory,
/// for one test; `stop()` shuts it down the way cancellation does.
final class TestServer: Sendable {
    let directory: String
    let http: String
    let ingest: String
    let client: HTTPStreamClient
    private let task: Task<Void, any Error>

    static func start(_ configure: (inout ChunkWatchServer.Settings) -> Void = { _ in }) async throws -> TestServer {
        let directory = try makeTemporaryDirectory()
        var settings = ChunkWatchServer.Settings()
        settings.httpPort = 0
        settings.ingestPort = 0
        settings.databasePath = directory + "/chunkwatch.db"
        settings.archiveDirectory = directory + "/archive"
        settings.config.pipeline.workers = 2
        configure(&settings)
        let (addresses, continuation) = AsyncStream<(String, String)>.makeStream()
        var logger = Logger(label: "test")
        logger.logLevel = .critical  // cancellation at stop() logs errors that mean nothing here
        let server = ChunkWatchServer(settings: settings, logger: logger)
        let task = Task {
            try await server.run(reloadConfig: nil) { http, ingest in continuation.yield((http, ingest)) }
        }
        for await (http, ingest) in addresses {
            return TestServer(directory: directory, http: http, ingest: ingest, task: task)
        }
        throw ServerError("the server did not start")
    }

    private init(directory: String, http: String, ingest: String, task: Task<Void, any Error>) {
        self.directory = directory
        self.http = http
        self.ingest = ingest
        self.task = task
        client = try! HTTPStreamClient(url: "http://" + http)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    /// The response body of a request, as text; throws for a status other than 200.
    func call(_ method: String, _ path: String, body: String = "", token: String? = nil) async throws -> String {
        let client = self.client
        return try await offThePool {
            var out: [UInt8] = []
            let headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
            try client.request(method, path, headers: headers, body: Array(body.utf8)) { out += $0 }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The HTTP status of a request (200, or the refusal's).
    func status(_ method: String, _ path: String, body: String = "", token: String? = nil) async -> Int {
        do {
            _ = try await call(method, path, body: body, token: token)
            return 200
        } catch let f as HTTPStreamClient.Failure {
            return f.status ?? -1
        } catch {
            return -1
        }
    }

    func json(_ path: String, token: String? = nil) async throws -> [String: Any] {
        let text = try await call("GET", path, token: token)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// Sends `text` to the TCP ingest listener and closes the connection.
    func sendTCP(_ text: String) async throws {
        let ingest = self.ingest
        try await offThePool { try Self.write(text, to: ingest) }
    }

    private static func write(_ text: String, to ingest: String) throws {
        let fd = try connectTCP(ingest)
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw ServerError("send failed: \(String(cString: strerror(errno)))") }
            bytes = bytes.dropFirst(n)
        }
    }

    /// Polls until `condition` holds (at most `seconds`).
    func waitUntil(seconds: Double = 20, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? await condition()) == true { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    var eventsAccepted: Int {
        get async { ((try? await json("/v1/baselines"))?["events_accepted"] as? Int) ?? -1 }
    }

    /// Waits until the server has accepted `n` events in all.
    func waitForEvents(_ n: Int) async throws -> Bool {
        try await waitUntil { await self.eventsAccepted == n }
    }
}

/// Runs blocking work (sockets) on a thread of its own: blocking one of the
/// few threads Swift's tasks share would stall the server under test.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try work() }) }.start()
    }
}

func connectTCP(_ address: String) throws -> Int32 {
    let colon = address.lastIndex(of: ":")!
    let host = String(address[..<colon])
    let port = UInt16(address[address.index(after: colon)...])!
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    inet_pton(AF_INET, host, &addr.sin_addr)
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else {
        close(fd)
        throw ServerError("cannot connect to \(address): \(String(cString: strerror(errno)))")
    }
    return fd
}

func makeTemporaryDirectory() throws -> String {
    var template = Array((NSTemporaryDirectory() + "/chunkwatch-test-XXXXXX").utf8CString)
    guard let p = mkdtemp(&template) else { throw ServerError("mkdtemp failed") }
    return String(cString: p)
}
