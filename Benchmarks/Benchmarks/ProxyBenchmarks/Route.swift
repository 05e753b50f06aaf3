#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkTap
import Foundation
import Gateway
import Logging

/// How the client reaches the target in a benchmark.
enum RouteKind: CaseIterable {
    /// Client → target.
    case direct
    /// Client → `Gateway` without a tap (forwarding only) → target.
    case gateway
    /// Client → `Gateway` with a `ChunkTap` (CRC32C on, binary records sent to a discarding collector) → target.
    case gatewayTap
    /// Client → haproxy in TCP mode, 2 threads, a subprocess → target.
    case haproxy

    var name: String {
        switch self {
        case .direct: "direct"
        case .gateway: "gateway without tap"
        case .gatewayTap: "gateway with tap"
        case .haproxy: "haproxy (tcp, nbthread 2)"
        }
    }

    static let haproxyPath = "/usr/sbin/haproxy"
    static var haproxyInstalled: Bool { FileManager.default.isExecutableFile(atPath: haproxyPath) }
}

/// One running route to a target: the port the client connects to and
/// whatever forwards between them.
final class Route: Sendable {
    let kind: RouteKind
    let port: Int
    let gateway: Gateway?
    let tap: ChunkTap?
    let haproxy: HAProxy?

    static func start(_ kind: RouteKind, targetPort: Int) async throws -> Route {
        switch kind {
        case .direct:
            return Route(kind: kind, port: targetPort)
        case .gateway, .gatewayTap:
            var tap: ChunkTap?
            if kind == .gatewayTap {
                // As `chunkwatch proxy` makes it: binary framing, the defaults otherwise
                // (ring of 65 536 records, batches of 1 024).
                let collector = DiscardCollector()
                var tapSettings = ChunkTap.Settings(collector: "127.0.0.1:\(collector.port)")
                tapSettings.wire = .binary
                tap = ChunkTap(settings: tapSettings)
            }
            var settings = Gateway.Settings(listeners: [
                Gateway.Listener(
                    listenHost: "127.0.0.1", listenPort: 0, upstreamHost: "127.0.0.1", upstreamPort: targetPort,
                    principal: "svc-bench", resource: "tcp://bench-target", hop: "proxy")
            ])
            settings.threads = 2  // the machine's cores
            settings.checksums = true
            var logger = Logger(label: "proxy-bench")
            logger.logLevel = .warning
            let gateway = Gateway(settings: settings, tap: tap, logger: logger)
            let address = try await gateway.start()[0]
            return Route(kind: kind, port: Int(address.split(separator: ":").last!)!, gateway: gateway, tap: tap)
        case .haproxy:
            let haproxy = try HAProxy(targetPort: targetPort)
            return Route(kind: kind, port: haproxy.port, haproxy: haproxy)
        }
    }

    private init(kind: RouteKind, port: Int, gateway: Gateway? = nil, tap: ChunkTap? = nil, haproxy: HAProxy? = nil) {
        self.kind = kind
        self.port = port
        self.gateway = gateway
        self.tap = tap
        self.haproxy = haproxy
    }

    /// Stops the forwarder and returns what its counters say.
    func stop() async -> String {
        var summary: [String] = []
        if let gateway {
            await gateway.stop()
            let s = gateway.stats.snapshot
            summary.append("gateway: \(s)")
            summary.append(
                "average chunk: in \(s.chunksIn == 0 ? 0 : s.bytesIn / s.chunksIn) B, out \(s.chunksOut == 0 ? 0 : s.bytesOut / s.chunksOut) B")
        }
        if let tap {
            tap.close()
            let t = tap.stats
            summary.append("tap: recorded \(t.recorded), sent \(t.sent), dropped \(t.dropped), dropped at close \(t.droppedAtClose)")
        }
        haproxy?.stop()
        return summary.joined(separator: "; ")
    }

    /// CPU time the forwarder has used so far, in nanoseconds: the gateway's
    /// event loop threads (not the tap's forwarder, not the peers), or the
    /// whole haproxy process. Nil for a direct connection.
    func proxyCPUNanoseconds() -> Int? {
        switch kind {
        case .direct: nil
        case .gateway, .gatewayTap: cpuNanoseconds(pid: "self") { $0.hasPrefix("NIO-ELT") }
        case .haproxy: haproxy.map { cpuNanoseconds(pid: "\($0.pid)") { _ in true } }
        }
    }
}

extension Route {
    /// CPU time of this whole process (client, targets, gateway, tap forwarder,
    /// collector) plus haproxy's, in nanoseconds: what the transfer cost the machine.
    func totalCPUNanoseconds() -> Int {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        let own = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000_000
            + (Int(usage.ru_utime.tv_usec) + Int(usage.ru_stime.tv_usec)) * 1_000
        return own + (haproxy.map { cpuNanoseconds(pid: "\($0.pid)") { _ in true } } ?? 0)
    }
}

/// The time on CPU of the threads of process `pid` whose names pass `include`,
/// from `/proc/PID/task/TID/schedstat` (nanoseconds, unlike `stat`'s 10 ms ticks).
func cpuNanoseconds(pid: String, include: (String) -> Bool) -> Int {
    let tasks = "/proc/\(pid)/task"
    var total = 0
    for tid in (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? [] {
        guard let comm = try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8), include(comm),
            let schedstat = try? String(contentsOfFile: "\(tasks)/\(tid)/schedstat", encoding: .utf8),
            let onCPU = schedstat.split(separator: " ").first.flatMap({ Int($0) })
        else { continue }
        total += onCPU
    }
    return total
}

/// haproxy in TCP mode as a subprocess: a generated config in a temporary
/// directory, one frontend on a free loopback port, the target as its backend.
final class HAProxy: Sendable {
    let port: Int
    let pid: Int32
    private let process: Process
    private let directory: String

    init(targetPort: Int) throws {
        var template = Array((NSTemporaryDirectory() + "/chunkwatch-proxy-bench-XXXXXX").utf8CString)
        directory = String(cString: mkdtemp(&template)!)
        port = freeLoopbackPort()
        let config = """
            global
                nbthread 2
                maxconn 1024

            defaults
                mode tcp
                timeout connect 5s
                timeout client 60s
                timeout server 60s

            frontend bench
                bind 127.0.0.1:\(port)
                default_backend target

            backend target
                server target 127.0.0.1:\(targetPort)

            """
        try config.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: RouteKind.haproxyPath)
        // -db: stay in the foreground; -q: quiet.
        process.arguments = ["-db", "-q", "-f", directory + "/haproxy.cfg"]
        try process.run()
        pid = process.processIdentifier
        // Ready once its frontend accepts a connection.
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let fd = connectLoopback(port)
            if fd >= 0 {
                close(fd)
                break
            }
            guard process.isRunning, ContinuousClock.now < deadline else {
                process.terminate()
                throw HAProxyError(description: "haproxy did not start listening on 127.0.0.1:\(port) (config: \(directory)/haproxy.cfg)")
            }
            usleep(10_000)
        }
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct HAProxyError: Error, CustomStringConvertible {
    let description: String
}
