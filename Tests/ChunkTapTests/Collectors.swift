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

// A few helpers copied from Tests/ServerTests/TestServer.swift (test targets
// cannot import each other), cut down to what the tap's tests need.

/// A real `ChunkWatchServer` on loopback, in a temporary directory.
final class TapTestServer: Sendable {
    let http: String
    let ingest: String
    private let client: HTTPStreamClient
    private let task: Task<Void, any Error>

    /// `ingestPort` 0 picks a free port; a fixed one lets a test restart the collector where the tap points.
    static func start(ingestPort: Int = 0, tokens: TokenAuthority = TokenAuthority()) async throws -> TapTestServer {
        let directory = try makeTemporaryDirectory()
        var settings = ChunkWatchServer.Settings()
        settings.httpPort = 0
        settings.ingestPort = ingestPort
        settings.databasePath = directory + "/chunkwatch.db"
        settings.archiveDirectory = directory + "/archive"
        settings.config.pipeline.workers = 2
        settings.tokens = tokens
        let (addresses, continuation) = AsyncStream<(String, String)>.makeStream()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = ChunkWatchServer(settings: settings, logger: logger)
        let task = Task {
            try await server.run(reloadConfig: nil) { http, ingest in continuation.yield((http, ingest)) }
        }
        for await (http, ingest) in addresses {
            return TapTestServer(http: http, ingest: ingest, task: task)
        }
        _ = await task.result
        throw ServerError("the server did not start")
    }

    private init(http: String, ingest: String, task: Task<Void, any Error>) {
        self.http = http
        self.ingest = ingest
        self.task = task
        client = try! HTTPStreamClient(url: "http://" + http)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    func json(_ path: String, token: String? = nil) async throws -> [String: Any] {
        let client = self.client
        let text = try await offThePool {
            var out: [UInt8] = []
            let headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
            try client.request("GET", path, headers: headers, body: []) { out += $0 }
            return String(decoding: out, as: UTF8.self)
        }
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func eventsAccepted(token: String? = nil) async -> Int {
        ((try? await json("/v1/baselines", token: token))?["events_accepted"] as? Int) ?? -1
    }

    /// Events the server counts for `principal` (-1 when it does not know it).
    func events(of principal: String, token: String? = nil) async -> Int {
        let view = try? await json("/v1/baselines?principal=\(principal)", token: token)
        let rows = view?["principals"] as? [[String: Any]]
        return rows?.first(where: { $0["principal"] as? String == principal })?["events"] as? Int ?? -1
    }
}

/// Polls until `condition` holds (at most `seconds`); generous, for a loaded machine.
func waitUntil(seconds: Double = 15, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(25))
    }
    return try await condition()
}

/// Runs blocking work on a thread of its own, off Swift's shared pool.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try work() }) }.start()
    }
}

func makeTemporaryDirectory() throws -> String {
    var template = Array((NSTemporaryDirectory() + "/chunktap-test-XXXXXX").utf8CString)
    guard let p = mkdtemp(&template) else { throw ServerError("mkdtemp failed") }
    return String(cString: p)
}

/// A free loopback port right now (bound, then released), for a collector that starts late.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard ok else { throw ServerError("cannot bind a free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A bare TCP listener that keeps every byte any connection sends: it shows
/// the tap's lines exactly as they went out (AUTH, events, drop reports).
final class RecordingCollector: @unchecked Sendable {
    // @unchecked: `listener` is set once in init; the bytes are behind a Mutex.
    let address: String
    private let listener: Int32
    private let received = Mutex<[UInt8]>([])

    init(port: Int = 0) throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = listener
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok, listen(fd, 16) == 0 else { throw ServerError("cannot listen") }
        address = "127.0.0.1:\(UInt16(bigEndian: addr.sin_port))"
        Thread { [self] in acceptLoop() }.start()
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 { return }  // the listener was closed
            Thread { [self] in
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    received.withLock { $0 += buffer[..<n] }
                }
                close(connection)
            }.start()
        }
    }

    var lines: [String] {
        received.withLock { String(decoding: $0, as: UTF8.self) }.split(separator: "\n").map(String.init)
    }

    func stop() { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }
}
