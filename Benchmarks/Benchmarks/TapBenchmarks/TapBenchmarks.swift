#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Benchmark
import ChunkModel
import ChunkTap
import Foundation

// The tap's hot path, `ChunkTap.record`, as a proxy calls it: one call per
// chunk, from one or several threads, while the forwarder drains the ring to a
// collector on loopback (here a socket that reads and discards). Time per call
// is the iteration's wall clock over its calls (scaled iterations, ×1 M).
// Mallocs are the whole process's, the forwarder's included.

/// A TCP listener on a free loopback port that accepts connections and
/// discards what they send, on threads of its own.
final class DiscardCollector: @unchecked Sendable {  // the fd is set once, read by the accept thread
    let port: Int
    private let listener: Int32

    init() {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) == 0 && getsockname(listener, $0, &len) == 0 }
        }
        listen(listener, 16)
        port = Int(UInt16(bigEndian: addr.sin_port))
        let fd = listener
        Thread {
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                Thread {
                    var buffer = [UInt8](repeating: 0, count: 1 << 16)
                    while buffer.withUnsafeMutableBytes({ recv(c, $0.baseAddress, $0.count, 0) }) > 0 {}
                    close(c)
                }.start()
            }
        }.start()
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: 1,
        scalingFactor: .mega,
        maxDuration: .seconds(10),
        maxIterations: 10
    )
    let collector = DiscardCollector()

    func makeTap() -> (ChunkTap, TapSource) {
        var settings = ChunkTap.Settings(collector: "127.0.0.1:\(collector.port)")
        settings.capacity = 1 << 16
        let tap = ChunkTap(settings: settings)
        let source = try! tap.register(principal: "svc-bench", resource: "pg://orders", hop: "gateway")
        return (tap, source)
    }

    Benchmark("ChunkTap.record (1 producer)") { benchmark in
        let (tap, source) = makeTap()
        var r = TapRecord(ts: Timestamp(epochMilliseconds: 1_795_392_000_000), source: source, conn: 42, size: 16_384, checksum: 0x1a2b_3c4d)
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            r.seq = Int64(i)
            blackHole(tap.record(r))
        }
        benchmark.stopMeasurement()
        tap.close()
    }

    Benchmark("ChunkTap.record (2 producers)") { benchmark in
        let (tap, source) = makeTap()
        let total = benchmark.scaledIterations.count
        let done = DispatchSemaphore(value: 0)
        benchmark.startMeasurement()
        for p in 0..<2 {
            Thread {
                var r = TapRecord(
                    ts: Timestamp(epochMilliseconds: 1_795_392_000_000), source: source, conn: UInt64(p), size: 16_384,
                    checksum: 0x1a2b_3c4d)
                for i in 0..<(total / 2) {
                    r.seq = Int64(i)
                    blackHole(tap.record(r))
                }
                done.signal()
            }.start()
        }
        done.wait()
        done.wait()
        benchmark.stopMeasurement()
        tap.close()
    }
}
