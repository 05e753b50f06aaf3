#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Benchmark
import ChunkModel
import Foundation
import Logging
import Server
import Synchronization
import Workload

// Sustained TCP ingest into the daemon, the way taps feed it: a real
// `ChunkWatchServer` in this process (temporary directory, SQLite store, LZ4
// archive on, every detector, two workers) and `connections` sender threads
// writing gen's traffic (1 000 principals) over loopback as fast as the daemon
// takes it, each principal on one connection. One iteration is the whole
// workload: from the first byte sent until the daemon has accepted every event. The server is started before and stopped after
// the measurement, fresh each iteration, so every iteration sees the same
// event times from a cold start (warm-up alerts included).
//
// "Throughput (events/s)" is events ÷ wall clock of the iteration: the built-in
// throughput metric counts iterations per second, which rounds to 0 for
// iterations of seconds. Mallocs are the whole process's: the daemon's, plus
// a few from the sender threads and the progress polls.

/// gen's traffic split for `connections` taps the way gateways would send it:
/// each principal's events on one connection (chosen by a hash of its name),
/// in order, so per-principal order and every conn × dir × seq survive. Each
/// connection's bytes are cut into blocks of whole lines (~64 KiB) that the
/// senders send in step (see `feed`).
struct TapWorkload: Sendable {
    let events: Int
    let bytes: Int
    let streams: [[UInt8]]
    /// Each stream's block ends (offsets into it).
    let blockEnds: [[Int]]

    static func make(events target: Int, connections: Int) -> TapWorkload {
        // 1 000 principals over 2 hours: ~4 M events; the first 1.5 M are 45 minutes of event time.
        var generator = try! WorkloadGenerator(config: WorkloadConfig(principals: 1000, hours: 2, seed: 1))
        var out = OutputBuffer(capacity: target * 230)
        var events = 0
        while events < target, generator.next(into: &out) { events += 1 }
        let all = out.bytes
        var streams = [[UInt8]](repeating: [], count: connections)
        var blockEnds = [[Int]](repeating: [], count: connections)
        for i in streams.indices { streams[i].reserveCapacity(all.count / connections + (1 << 20)) }
        let key = Array(#""principal":""#.utf8)
        all.withUnsafeBufferPointer { b in
            var start = 0
            while start < b.count {
                var end = start
                while b[end] != UInt8(ascii: "\n") { end += 1 }
                end += 1
                // FNV-1a of the principal's name picks the connection.
                var hash: UInt64 = 0xcbf2_9ce4_8422_2325
                var i = start
                while i + key.count < end && !key.indices.allSatisfy({ b[i + $0] == key[$0] }) { i += 1 }
                i += key.count
                while i < end && b[i] != UInt8(ascii: "\"") {
                    hash = (hash ^ UInt64(b[i])) &* 0x100_0000_01b3
                    i += 1
                }
                let c = Int(hash % UInt64(connections))
                streams[c] += b[start..<end]
                if streams[c].count - (blockEnds[c].last ?? 0) >= 64 * 1024 { blockEnds[c].append(streams[c].count) }
                start = end
            }
        }
        for c in streams.indices where blockEnds[c].last != streams[c].count { blockEnds[c].append(streams[c].count) }
        return TapWorkload(events: events, bytes: all.count, streams: streams, blockEnds: blockEnds)
    }
}

/// A daemon on free loopback ports in a temporary directory.
final class BenchServer: Sendable {
    let directory: String
    let http: String
    let ingest: String
    private let task: Task<Void, any Error>

    static func start() async -> BenchServer {
        var template = Array((NSTemporaryDirectory() + "/chunkwatch-serve-bench-XXXXXX").utf8CString)
        let directory = String(cString: mkdtemp(&template)!)
        var settings = ChunkWatchServer.Settings()
        settings.httpPort = 0
        settings.ingestPort = 0
        settings.databasePath = directory + "/chunkwatch.db"
        settings.archiveDirectory = directory + "/archive"
        settings.config.pipeline.workers = 2
        var logger = Logger(label: "serve-bench")
        logger.logLevel = .critical  // the stop by cancellation logs errors that mean nothing here
        let server = ChunkWatchServer(settings: settings, logger: logger)
        let (addresses, continuation) = AsyncStream<(String, String)>.makeStream()
        let task = Task { try await server.run(reloadConfig: nil) { continuation.yield(($0, $1)) } }
        for await (http, ingest) in addresses {
            return BenchServer(directory: directory, http: http, ingest: ingest, task: task)
        }
        fatalError("the server did not start")
    }

    private init(directory: String, http: String, ingest: String, task: Task<Void, any Error>) {
        self.directory = directory
        self.http = http
        self.ingest = ingest
        self.task = task
    }

    func stop() async {
        task.cancel()
        _ = await task.result
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `chunkwatch_events_accepted_total` from `GET /metrics`. The pipeline
    /// thread adds to it after each batch it takes, so it trails by one batch
    /// at most; unlike `/v1/baselines`, asking does not pause the workers.
    func eventsAccepted(_ client: HTTPStreamClient) -> Int {
        var text: [UInt8] = []
        guard (try? client.request("GET", "/metrics", headers: [], body: []) { text += $0 }) != nil else { return -1 }
        let name = "chunkwatch_events_accepted_total"
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name + " ") {
            return Int(Double(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)) ?? -1)
        }
        return 0
    }
}

func connectTCP(_ address: String) -> Int32 {
    let colon = address.lastIndex(of: ":")!
    let port = UInt16(address[address.index(after: colon)...])!
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    inet_pton(AF_INET, String(address[..<colon]), &addr.sin_addr)
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    precondition(rc == 0, "cannot connect to \(address): \(String(cString: strerror(errno)))")
    return fd
}

/// Sends every stream on its own thread and waits until the daemon has
/// accepted `workload.events`. The senders go in step: none runs more than
/// `lead` blocks ahead of the slowest, so the connections move through event
/// time together, as taps in front of one clock do (a connection far ahead
/// would make the others' events late and raise alerts no gateway would).
/// Runs on threads of its own: blocking one of the two threads Swift's tasks
/// share would stall the daemon's own tasks.
func feed(_ workload: TapWorkload, into server: BenchServer, sockets: [Int32]) -> Int {
    let client = try! HTTPStreamClient(url: "http://" + server.http)
    let lead = 4
    let progress = SenderProgress(count: sockets.count)
    let senders = sockets.enumerated().map { i, fd in
        let t = Thread {
            workload.streams[i].withUnsafeBytes { bytes in
                var offset = 0
                for (k, end) in workload.blockEnds[i].enumerated() {
                    while progress.blocks.withLock({ k > $0.min()! + lead }) { usleep(20) }
                    while offset < end {
                        let n = send(fd, bytes.baseAddress! + offset, end - offset, Int32(MSG_NOSIGNAL))
                        precondition(n > 0, "send failed: \(String(cString: strerror(errno)))")
                        offset += n
                    }
                    progress.blocks.withLock { $0[i] = k + 1 }
                }
                // Done: no longer holds the others back.
                progress.blocks.withLock { $0[i] = .max - lead }
            }
        }
        t.name = "tap-\(i)"
        return t
    }
    for t in senders { t.start() }
    let deadline = Date().addingTimeInterval(120)
    var accepted = 0
    while accepted < workload.events {
        precondition(Date() < deadline, "the daemon accepted \(accepted) of \(workload.events) events in 120 s")
        usleep(10_000)
        accepted = server.eventsAccepted(client)
    }
    return accepted
}

/// Blocks sent per connection.
final class SenderProgress: Sendable {
    let blocks: Mutex<[Int]>
    init(count: Int) { blocks = Mutex([Int](repeating: 0, count: count)) }
}

func offThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { c in Thread { c.resume(returning: work()) }.start() }
}

let eventsPerSecond = BenchmarkMetric.custom("Throughput (events/s)", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    let connections = 4
    let workload = TapWorkload.make(events: 1_500_000, connections: connections)

    Benchmark(
        "serve: TCP ingest of 1.5 M events, 4 taps (all detectors, archive, 2 workers)",
        configuration: .init(
            metrics: [.wallClock, eventsPerSecond, .mallocCountTotal, .peakMemoryResident],
            warmupIterations: 1,
            maxDuration: .seconds(60),
            maxIterations: 5
        )
    ) { benchmark in
        let server = await BenchServer.start()
        let sockets = (0..<connections).map { _ in connectTCP(server.ingest) }
        let start = ContinuousClock.now
        benchmark.startMeasurement()
        let accepted = await offThePool { feed(workload, into: server, sockets: sockets) }
        benchmark.stopMeasurement()
        let elapsed = start.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        benchmark.measurement(eventsPerSecond, Int(Double(accepted) / seconds))
        for fd in sockets { close(fd) }
        await server.stop()
    }
}
