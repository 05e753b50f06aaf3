#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Benchmark
import ChunkModel
import ChunkTap
import Foundation
import Synchronization

// The tap's hot path, `ChunkTap.record`, as a proxy calls it: one call per
// chunk, from 1, 2 or 4 producer threads at once, while the forwarder drains
// the ring to a collector on loopback (a socket that reads and discards).
//
// How the figures are computed: each iteration makes 1 M calls in all, split
// evenly over the producer threads (one thread: the benchmark's own; several:
// threads made before the measurement starts, which then start together).
// Every figure is per iteration, unscaled, so µs read as ns per call:
// - Time (wall clock) is the iteration's wall clock over all 1 M calls,
//   whichever thread made them: 12 μs means 12 ns per call. A thread's own
//   wall time per call is n times that with n producers. The machine's 2
//   cores are shared by the producers, the forwarder, the discarding
//   collector and whatever else runs, so this figure moves with the load.
// - Producer CPU time is the producer threads' CPU time
//   (`CLOCK_THREAD_CPUTIME_ID` around each thread's loop), summed: what the
//   calls cost, cache misses and waiting on the shared counter included, apart
//   from time spent waiting for a core. Same reading: μs per 1 M calls.
// - Mallocs (total) are the whole process's over the 1 M calls, the
//   forwarder's included, counted exactly (not rounded per call).
//
// What is `record`'s cost and what is the caller's: the loop changes `seq`
// in one prebuilt record and counts refusals, a few instructions a call. It
// reads no clock: a proxy stamps each chunk itself (`Timestamp.now()`, a vDSO
// `clock_gettime`, ~25 ns here) and computes its rate and checksum, and that
// is the same with or without the tap.
//
// Two paths, measured apart:
// - accepted: the ring holds 2^20 records (64 MiB, more than the L3 cache:
//   each slot comes from memory, where the default 4 MiB ring would stay in
//   cache), more than an iteration makes, and the iteration starts once the
//   forwarder has sent everything before it, so every call is accepted
//   (checked). One tap serves all the iterations of a benchmark, so its ring
//   is warm, as in a proxy that has run a while.
// - full ring (drop and count): the collector refuses connections, the
//   forwarder keeps its one batch and the ring stays full, so every call is
//   refused and counted (checked). All producers share one source, as a
//   proxy's connections through one listener do, so they share its counter.

/// A TCP listener on a free loopback port that accepts connections and
/// discards what they send, on threads of its own.
final class DiscardCollector: @unchecked Sendable {  // the fd is set once, read by the accept thread
    let port: Int
    private let listener: Int32

    init() {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        port = bindLoopback(listener)
        listen(listener, 16)
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

/// Binds `fd` to a free loopback port and returns the port.
func bindLoopback(_ fd: Int32) -> Int {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A tap and its source, made by a benchmark's setup and closed by its teardown.
final class TapFixture: @unchecked Sendable {  // set by setup and read by the iterations, on the runner's thread
    var tap: ChunkTap?
    var source: TapSource?
}

/// Calls per iteration, in all threads together: with time shown in µs per
/// iteration, the figure reads as nanoseconds per call.
let callsPerIteration = 1_000_000

/// The producers' own CPU time, summed over their threads: what the calls
/// cost, apart from the time the threads waited for a core. In µs per iteration.
let producerCPU = BenchmarkMetric.custom("Producer CPU time (μs)", polarity: .prefersSmaller, useScalingFactor: false)

/// Makes `callsPerIteration` calls of `record`, split evenly over `threads`
/// threads that start together, inside the benchmark's measurement (thread
/// creation is not); returns how many calls were refused.
func produce(_ tap: ChunkTap, _ source: TapSource, threads: Int, _ benchmark: Benchmark) -> Int {
    final class Run: Sendable {
        let ready = Atomic<Int>(0)
        let go = Atomic<Bool>(false)
        let refused = Atomic<Int>(0)
        let cpu = Atomic<Int>(0)
    }
    let run = Run()
    let done = DispatchSemaphore(value: 0)
    @Sendable func calls(_ p: Int, _ count: Int) {
        var r = TapRecord(
            ts: Timestamp(epochMilliseconds: 1_795_392_000_000), source: source, conn: UInt64(p), size: 16_384,
            checksum: 0x1a2b_3c4d)
        var refused = 0
        let start = threadCPUTime()
        for i in 0..<count {
            r.seq = Int64(i)
            if !tap.record(r) { refused &+= 1 }
        }
        run.cpu.add(threadCPUTime() - start, ordering: .relaxed)
        run.refused.add(refused, ordering: .relaxed)
    }
    if threads == 1 {
        benchmark.startMeasurement()
        calls(0, callsPerIteration)
        benchmark.stopMeasurement()
    } else {
        for p in 0..<threads {
            Thread {
                run.ready.add(1, ordering: .relaxed)
                while !run.go.load(ordering: .acquiring) { sched_yield() }
                calls(p, callsPerIteration / threads)
                done.signal()
            }.start()
        }
        while run.ready.load(ordering: .relaxed) < threads { sched_yield() }
        benchmark.startMeasurement()
        run.go.store(true, ordering: .releasing)
        for _ in 0..<threads { done.wait() }
        benchmark.stopMeasurement()
    }
    benchmark.measurement(producerCPU, run.cpu.load(ordering: .relaxed) / 1_000)
    return run.refused.load(ordering: .relaxed)
}

func threadCPUTime() -> Int {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return t.tv_sec * 1_000_000_000 + t.tv_nsec
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, producerCPU, .mallocCountTotal],
        timeUnits: .microseconds,
        units: [producerCPU: .count, .mallocCountTotal: .count],
        warmupIterations: 1,
        scalingFactor: .one,
        maxDuration: .seconds(20),
        maxIterations: 20
    )
    let collector = DiscardCollector()
    // Bound but not listening: connecting to it is refused at once.
    let refusing = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    let refusingPort = bindLoopback(refusing)

    for threads in [1, 2, 4] {
        let accepted = TapFixture()
        Benchmark(
            "ChunkTap.record (\(threads) producer\(threads == 1 ? "" : "s"))",
            closure: { benchmark in
                guard let tap = accepted.tap, let source = accepted.source else { return }
                // Start with an empty ring, so that no call of this iteration finds it full.
                while tap.stats.sent < tap.stats.recorded { usleep(1_000) }
                let refused = produce(tap, source, threads: threads, benchmark)
                if refused > 0 { benchmark.error("\(refused) calls found the ring full: this measures the accepted path") }
            },
            setup: {
                var settings = ChunkTap.Settings(collector: "127.0.0.1:\(collector.port)")
                settings.capacity = 1 << 20
                accepted.tap = ChunkTap(settings: settings)
                accepted.source = try accepted.tap!.register(principal: "svc-bench", resource: "pg://orders", hop: "gateway")
            },
            teardown: {
                accepted.tap?.close()
                accepted.tap = nil
            })

        let full = TapFixture()
        Benchmark(
            "ChunkTap.record, ring full: drop and count (\(threads) producer\(threads == 1 ? "" : "s"))",
            closure: { benchmark in
                guard let tap = full.tap, let source = full.source else { return }
                let refused = produce(tap, source, threads: threads, benchmark)
                if refused != callsPerIteration {
                    benchmark.error("\(callsPerIteration - refused) calls were accepted: this measures the full ring")
                }
            },
            setup: {
                var settings = ChunkTap.Settings(collector: "127.0.0.1:\(refusingPort)")
                settings.capacity = 1_024
                settings.closeTimeout = .milliseconds(1)
                let tap = ChunkTap(settings: settings)
                let source = try tap.register(principal: "svc-bench", resource: "pg://orders", hop: "gateway")
                // The forwarder takes one batch and keeps it (no collector); the ring fills behind it.
                // Once more after it had time to take that batch, in case the ring filled before it did.
                let r = TapRecord(ts: Timestamp(epochMilliseconds: 1_795_392_000_000), source: source, conn: 0, size: 16_384)
                while tap.record(r) {}
                usleep(50_000)
                while tap.record(r) {}
                full.tap = tap
                full.source = source
            },
            teardown: {
                full.tap?.close()
                full.tap = nil
            })
    }
}
