#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Benchmark

/// The routes of the round trips taken in turns, each with its client.
final class InterleavedFixture: @unchecked Sendable {  // set by setup, used by the iterations and the teardown, one at a time
    var routes: [(RouteKind, Route, EchoClient)] = []

    func metric(_ statistic: String, _ kind: RouteKind) -> BenchmarkMetric {
        .custom("\(statistic) \(kind.name) (µs)", polarity: .prefersSmaller, useScalingFactor: false)
    }

    /// `turns` × `perTurn` round trips per route; each one's time in nanoseconds.
    func run(turns: Int, perTurn: Int) -> [RouteKind: [Int]] {
        var samples = [RouteKind: [Int]]()
        for (kind, _, _) in routes { samples[kind] = [Int](repeating: 0, count: turns * perTurn) }
        for turn in 0..<turns {
            for r in routes.indices {
                let (kind, _, client) = routes[(r + turn) % routes.count]
                samples[kind]!.withUnsafeMutableBufferPointer { times in
                    for i in (turn * perTurn)..<((turn + 1) * perTurn) {
                        let start = monotonicNanoseconds()
                        client.roundTrip()
                        times[i] = monotonicNanoseconds() - start
                    }
                }
            }
        }
        return samples
    }
}

func monotonicNanoseconds() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// The `p` quantile (0…1) of `values`, nearest rank.
func percentile(_ values: [Int], _ p: Double) -> Int {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
}
