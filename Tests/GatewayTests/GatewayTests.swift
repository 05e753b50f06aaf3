#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkTap
import Foundation
import Gateway
import Logging
import Synchronization
import Testing

func quietLogger() -> Logger {
    var logger = Logger(label: "gateway-test")
    logger.logLevel = .critical
    return logger
}

/// A gateway on a free loopback port in front of `upstreamPort`.
func startGateway(upstreamPort: Int, principal: String = "svc-test", tap: ChunkTap?, checksums: Bool = true) async throws
    -> (Gateway, Int)
{
    var settings = Gateway.Settings(listeners: [
        Gateway.Listener(
            listenHost: "127.0.0.1", listenPort: 0, upstreamHost: "127.0.0.1", upstreamPort: upstreamPort,
            principal: principal, resource: "tcp://echo", hop: "proxy")
    ])
    settings.threads = 2
    settings.checksums = checksums
    settings.connectTimeout = .seconds(2)
    let gateway = Gateway(settings: settings, tap: tap, logger: quietLogger())
    let addresses = try await gateway.start()
    let address = try #require(addresses.first)
    let port = try #require(Int(address.split(separator: ":").last ?? ""))
    return (gateway, port)
}

@Suite struct GatewayTests {
    @Test func bytesPassUnchangedBothWaysAndEveryChunkIsTappedWithItsCRC() async throws {
        let echo = try LoopbackServer.echo()
        defer { echo.stop() }
        let collector = try RecordingCollector()
        defer { collector.stop() }
        var tapSettings = ChunkTap.Settings(collector: collector.address)
        tapSettings.name = "gw-test"
        tapSettings.connPrefix = "gw-test-"
        let tap = ChunkTap(settings: tapSettings)
        let (gateway, port) = try await startGateway(upstreamPort: echo.port, tap: tap)

        let payload = pseudoRandomBytes(3 << 20, seed: 42)
        let (back, eof) = try await offThePool {
            let fd = try connectLoopback(port)
            defer { close(fd) }
            return exchange(fd, payload)
        }
        #expect(eof, "the client's EOF went through to the target and the target's close came back")
        #expect(back.count == payload.count)
        #expect(back == payload, "the bytes came back unchanged")

        // Every chunk the proxy read is an event; in seq order their sizes tile
        // the stream, and each checksum is the CRC32C of its slice of it.
        #expect(try await waitUntil { collector.events.filter { $0["dir"] as? String == "out" }.reduce(0) { $0 + ($1["size"] as? Int ?? 0) } == payload.count })
        for dir in ["in", "out"] {
            let events = collector.events.filter { $0["dir"] as? String == dir }.sorted { ($0["seq"] as? Int ?? 0) < ($1["seq"] as? Int ?? 0) }
            #expect(events.map { $0["seq"] as? Int } == Array(0..<events.count), "\(dir): seq counts the chunks from 0")
            #expect(Set(events.compactMap { $0["conn"] as? String }).count == 1, "\(dir): one connection")
            #expect(events.allSatisfy { $0["principal"] as? String == "svc-test" && $0["resource"] as? String == "tcp://echo" && $0["hop"] as? String == "proxy" })
            var offset = 0
            var mismatches = 0
            for event in events {
                let size = try #require(event["size"] as? Int)
                let checksum = try #require(event["checksum"] as? String)
                let slice = payload[offset..<min(offset + size, payload.count)]
                let expected = slice.withContiguousStorageIfAvailable { CRC32C.checksum(UnsafeRawBufferPointer($0)) }
                    ?? Array(slice).withUnsafeBytes { CRC32C.checksum($0) }
                if checksum != "crc32c:" + String(format: "%08x", expected) { mismatches += 1 }
                offset += size
            }
            #expect(offset == payload.count, "\(dir): the chunks add up to the stream")
            #expect(mismatches == 0, "\(dir): every chunk's checksum is its bytes' CRC32C")
        }
        let stats = gateway.stats.snapshot
        #expect(stats.bytesIn == payload.count && stats.bytesOut == payload.count)
        #expect(stats.clientErrors == 0 && stats.upstreamErrors == 0)
        await gateway.stop()
        tap.close()
        #expect(tap.stats.dropped == 0)
    }

    @Test func anUnreachableTargetClosesTheClientAndIsCounted() async throws {
        // A port that was free a moment ago: nothing listens there.
        let closed = try LoopbackServer { _ in }
        let deadPort = closed.port
        closed.stop()
        let (gateway, port) = try await startGateway(upstreamPort: deadPort, tap: nil)
        let ended = try await offThePool {
            let fd = try connectLoopback(port)
            defer { close(fd) }
            sendAll(fd, Array("hello".utf8))
            return receiveAll(fd).ended  // EOF, or a reset since "hello" was never read
        }
        #expect(ended, "the client sees the connection end, not a hang")
        #expect(try await waitUntil { gateway.stats.snapshot.upstreamConnectFailures == 1 })
        #expect(try await waitUntil { gateway.stats.snapshot.active == 0 })
        await gateway.stop()
    }

    @Test func aClientResetClosesTheTargetSideAndIsCounted() async throws {
        let targetSawEnd = Mutex(false)
        let target = try LoopbackServer { fd in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
            }
            targetSawEnd.withLock { $0 = true }
        }
        defer { target.stop() }
        let (gateway, port) = try await startGateway(upstreamPort: target.port, tap: nil)
        try await offThePool {
            let fd = try connectLoopback(port)
            sendAll(fd, pseudoRandomBytes(100_000, seed: 7))
            usleep(100_000)
            // SO_LINGER 0: close sends a reset instead of a FIN.
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            close(fd)
        }
        #expect(try await waitUntil { targetSawEnd.withLock { $0 } }, "the target's side was closed too")
        #expect(try await waitUntil { gateway.stats.snapshot.active == 0 })
        #expect(gateway.stats.snapshot.clientErrors == 1)
        #expect(gateway.stats.snapshot.bytesIn == 100_000)
        await gateway.stop()
    }

    @Test func manyConnectionsAtOnceEachGetTheirOwnBytesBack() async throws {
        let echo = try LoopbackServer.echo()
        defer { echo.stop() }
        let (gateway, port) = try await startGateway(upstreamPort: echo.port, tap: nil)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask {
                    try await offThePool {
                        let payload = pseudoRandomBytes(200_000 + i * 1000, seed: UInt64(i + 1))
                        let fd = try connectLoopback(port)
                        defer { close(fd) }
                        let (back, eof) = exchange(fd, payload)
                        return eof && back == payload
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 16 && results.allSatisfy { $0 })
        #expect(try await waitUntil { gateway.stats.snapshot.active == 0 })
        #expect(gateway.stats.snapshot.accepted == 16)
        await gateway.stop()
    }
}
