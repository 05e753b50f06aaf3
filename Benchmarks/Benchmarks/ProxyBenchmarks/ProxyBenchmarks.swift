#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Benchmark
import ChunkTap
import Foundation
import Gateway

// `chunkwatch proxy` (the Gateway module) against a direct connection and
// against haproxy in TCP mode, on loopback, in the same run. Each benchmark runs
// in a process of its own (the harness's way), which starts the targets and
// the route in its setup and stops them in its teardown.
//
// Routes (`RouteKind`): direct; the gateway without a tap (it only forwards);
// the gateway with a tap (CRC32C of every chunk, one `ChunkTap.record` per
// chunk, the tap's forwarder sending the records in the binary framing, as
// `chunkwatch proxy` does by default, to a collector on loopback that discards them); haproxy 2.6 in TCP mode with 2 threads and its
// defaults otherwise (no splicing). The gateway runs 2 event loop threads, the
// machine's cores, with its default settings.
//
// The peers are blocking sockets on threads of their own (`Peers.swift`).
// Client, targets, gateway, tap forwarder and collector (and haproxy) all share
// the machine's cores, so these are figures for one host, not for a proxy
// between hosts.
//
// Bulk: 256 MiB per iteration over one connection (kept for all iterations), in
// each direction. "MB/s" is 10⁶ bytes per second of the iteration's wall clock;
// "Proxy CPU (µs/MiB)" is the proxy's time on CPU per MiB moved (the
// gateway's event loop threads, or the whole haproxy process; on loopback it
// includes some of the peers' TCP receive work, done in the sender's context), "Total CPU
// (µs/MiB)" that of everything (this process: client, targets, gateway, tap
// forwarder and collector; plus haproxy when it forwards); "Chunk (B)" the
// average size of the chunks (socket reads) the gateway forwarded in that
// direction and "Chunks" their number, so mallocs per chunk = mallocs ÷ Chunks.
// "Tap drops" counts the records the tap's ring refused during the iteration.
//
// Round trips: one 64-byte request and its 64-byte answer per iteration, over
// one persistent connection with TCP_NODELAY, so the wall clock percentiles are
// those of single round trips (scaling the iterations would report averages of
// many and hide the tail). Each round trip is two chunks through the gateway
// (the request in, the reply out), so mallocs per chunk = mallocs ÷ 2.
//
// Round-trip latency on this kind of machine depends on how busy it is (a
// woken thread waits for an idle virtual CPU to wake up, or does not), and the
// routes above run one after another. So the added latency, the route's p99
// minus the direct p99, is taken from one more benchmark that runs all the
// routes in the same process, in turns (`InterleavedFixture`).

let megabytesPerSecond = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)
let proxyCPUPerMiB = BenchmarkMetric.custom("Proxy CPU (µs/MiB)", polarity: .prefersSmaller, useScalingFactor: false)
let totalCPUPerMiB = BenchmarkMetric.custom("Total CPU (µs/MiB)", polarity: .prefersSmaller, useScalingFactor: false)
let averageChunk = BenchmarkMetric.custom("Chunk (B)", polarity: .prefersLarger, useScalingFactor: false)
let chunks = BenchmarkMetric.custom("Chunks", polarity: .prefersSmaller, useScalingFactor: false)
let tapDrops = BenchmarkMetric.custom("Tap drops", polarity: .prefersSmaller, useScalingFactor: false)

/// What a benchmark's setup starts and its teardown stops.
final class Fixture: @unchecked Sendable {  // set by setup, used by the iterations and the teardown, one at a time
    var route: Route?
    var bulk: BulkClient?
    var echo: EchoClient?
}

let benchmarks: @Sendable () -> Void = {
    var kinds: [RouteKind] = [.direct, .gateway, .gatewayTap]
    if RouteKind.haproxyInstalled {
        kinds.append(.haproxy)
    } else {
        // Listed, so that the run's output says why haproxy is missing.
        Benchmark(
            "haproxy skipped: \(RouteKind.haproxyPath) is not installed",
            configuration: .init(metrics: [.wallClock], warmupIterations: 0, maxIterations: 1)
        ) { _ in } setup: {
            print("ProxyBenchmarks: \(RouteKind.haproxyPath) is not installed; the haproxy benchmarks are skipped")
        }
    }

    let bulkBytes = 256 << 20
    for direction in [BulkClient.Direction.download, .upload] {
        for kind in kinds {
            var metrics: [BenchmarkMetric] = [.wallClock, megabytesPerSecond, totalCPUPerMiB, .mallocCountTotal]
            if kind != .direct { metrics.append(proxyCPUPerMiB) }
            if kind == .gateway || kind == .gatewayTap { metrics += [averageChunk, chunks] }
            if kind == .gatewayTap { metrics.append(tapDrops) }
            let fixture = Fixture()
            let name = "Bulk \(direction.rawValue), 256 MiB: \(kind.name)"
            Benchmark(
                name,
                configuration: .init(
                    metrics: metrics,
                    units: [megabytesPerSecond: .count, totalCPUPerMiB: .count, proxyCPUPerMiB: .count, averageChunk: .count, chunks: .count, tapDrops: .count],
                    warmupIterations: 1,
                    maxDuration: .seconds(10),
                    maxIterations: 20,
                    thresholds: kind == .direct ? [.mallocCountTotal: .init(absolute: [.p90: 0])] : nil
                ),
                closure: { benchmark in
                    guard let route = fixture.route, let client = fixture.bulk else { return }
                    let cpuBefore = route.proxyCPUNanoseconds()
                    let totalBefore = route.totalCPUNanoseconds()
                    let statsBefore = route.gateway?.stats.snapshot
                    let dropsBefore = route.tap?.stats.dropped ?? 0
                    let clock = ContinuousClock()
                    let start = clock.now
                    benchmark.startMeasurement()
                    client.transfer(bulkBytes, direction)
                    benchmark.stopMeasurement()
                    let elapsed = clock.now - start
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                    benchmark.measurement(megabytesPerSecond, Int((Double(bulkBytes) / seconds / 1e6).rounded()))
                    benchmark.measurement(totalCPUPerMiB, (route.totalCPUNanoseconds() - totalBefore) / 1_000 / (bulkBytes >> 20))
                    if let cpuBefore, let cpuAfter = route.proxyCPUNanoseconds() {
                        benchmark.measurement(proxyCPUPerMiB, (cpuAfter - cpuBefore) / 1_000 / (bulkBytes >> 20))
                    }
                    if let statsBefore, let statsAfter = route.gateway?.stats.snapshot {
                        let (n, bytes) =
                            direction == .download
                            ? (statsAfter.chunksOut - statsBefore.chunksOut, statsAfter.bytesOut - statsBefore.bytesOut)
                            : (statsAfter.chunksIn - statsBefore.chunksIn, statsAfter.bytesIn - statsBefore.bytesIn)
                        benchmark.measurement(chunks, n)
                        benchmark.measurement(averageChunk, n == 0 ? 0 : bytes / n)
                    }
                    if let tap = route.tap {
                        benchmark.measurement(tapDrops, tap.stats.dropped - dropsBefore)
                    }
                },
                setup: {
                    let route = try await Route.start(kind, targetPort: BulkTarget().port)
                    fixture.route = route
                    fixture.bulk = BulkClient(port: route.port)
                },
                teardown: {
                    if let fd = fixture.bulk?.fd { close(fd) }
                    if let summary = await fixture.route?.stop(), !summary.isEmpty { print("\(name): \(summary)") }
                    fixture.route = nil
                })
        }
    }

    for kind in kinds {
        let fixture = Fixture()
        let name = "Round trip, 64 B each way: \(kind.name)"
        Benchmark(
            name,
            configuration: .init(
                metrics: [.wallClock, .mallocCountTotal],
                warmupIterations: 1_000,
                maxDuration: .seconds(10),
                maxIterations: 20_000,
                // Neither the gateway nor its tap allocates per round trip (NIO reuses its receive buffer).
                thresholds: kind == .haproxy ? nil : [.mallocCountTotal: .init(absolute: [.p90: 0])]
            ),
            closure: { _ in
                fixture.echo?.roundTrip()
            },
            setup: {
                let route = try await Route.start(kind, targetPort: EchoTarget().port)
                fixture.route = route
                fixture.echo = EchoClient(port: route.port)
            },
            teardown: {
                if let fd = fixture.echo?.fd { close(fd) }
                if let summary = await fixture.route?.stop(), !summary.isEmpty { print("\(name): \(summary)") }
                fixture.route = nil
            })
    }

    // The same round trips over every route in one process, taken in turns
    // of 10 (the order rotating each turn), so that every route sees the
    // same moments of a busy machine: the added p99 compares like with like.
    // Each iteration is 2 000 round trips per route; its metrics are that
    // iteration's percentiles, in µs.
    let interleaved = InterleavedFixture()
    var interleavedMetrics: [BenchmarkMetric] = []
    for kind in kinds {
        interleavedMetrics += [interleaved.metric("p50", kind), interleaved.metric("p99", kind)]
        if kind != .direct { interleavedMetrics.append(interleaved.metric("added p99", kind)) }
    }
    Benchmark(
        "Round trips, all routes in turns: p50, p99 and p99 − direct p99 (µs)",
        configuration: .init(
            metrics: interleavedMetrics,
            units: Dictionary(uniqueKeysWithValues: interleavedMetrics.map { ($0, .count) }),
            warmupIterations: 1,
            maxDuration: .seconds(30),
            maxIterations: 10
        ),
        closure: { benchmark in
            let samples = interleaved.run(turns: 200, perTurn: 10)
            let direct = samples[.direct]!
            for (kind, times) in samples {
                benchmark.measurement(interleaved.metric("p50", kind), percentile(times, 0.50) / 1_000)
                benchmark.measurement(interleaved.metric("p99", kind), percentile(times, 0.99) / 1_000)
                if kind != .direct {
                    // A histogram takes no negative value: a route faster than direct at the p99
                    // (it happens, when the direct round trip waits for an idle CPU to wake) adds 0.
                    let added = max(0, percentile(times, 0.99) - percentile(direct, 0.99))
                    benchmark.measurement(interleaved.metric("added p99", kind), added / 1_000)
                }
            }
        },
        setup: {
            let target = EchoTarget()
            for kind in kinds {
                let route = try await Route.start(kind, targetPort: target.port)
                interleaved.routes.append((kind, route, EchoClient(port: route.port)))
            }
        },
        teardown: {
            for (kind, route, client) in interleaved.routes {
                close(client.fd)
                let summary = await route.stop()
                if !summary.isEmpty { print("Round trips in turns, \(kind.name): \(summary)") }
            }
            interleaved.routes = []
        })
}
