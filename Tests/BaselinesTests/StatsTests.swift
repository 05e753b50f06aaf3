import Baselines
import Testing

func close(_ a: Double, _ b: Double, relative: Double = 1e-9) -> Bool {
    abs(a - b) <= relative * max(1, abs(a), abs(b))
}

@Suite("RunningStats and EWMAStats against direct formulas")
struct StatsTests {
    static func sequences() -> [[Double]] {
        var rng = SplitMix64(seed: 77)
        return [
            [],
            [5],
            [1, 2],
            [2, 4, 4, 4, 5, 5, 7, 9],
            (0..<500).map { _ in Double.random(in: -1e3...1e3, using: &rng) },
            // A large offset with a small spread: the naive sum-of-squares formula fails here.
            (0..<500).map { _ in 1e9 + Double.random(in: 0...1, using: &rng) },
            Array(repeating: 3.25, count: 50),
            (0..<300).map { Double($0 % 7) * 1024 },
        ]
    }

    @Test func runningStatsMatchesTwoPassFormulas() {
        for xs in Self.sequences() {
            var s = RunningStats()
            for (i, x) in xs.enumerated() {
                s.add(x)
                if i > 60 && i % 20 != 0 && i != xs.count - 1 { continue }
                let seen = Array(xs[...i])
                let n = Double(seen.count)
                let mean = seen.reduce(0, +) / n
                let variance = seen.count > 1 ? seen.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1) : 0
                #expect(s.count == seen.count)
                #expect(close(s.mean, mean), "mean after \(seen.count): \(s.mean) vs \(mean)")
                #expect(close(s.variance, variance, relative: 1e-7), "variance after \(seen.count): \(s.variance) vs \(variance)")
                #expect(close(s.standardDeviation, variance.squareRoot(), relative: 1e-7))
            }
            if xs.isEmpty {
                #expect(s.count == 0 && s.mean == 0 && s.variance == 0)
            }
        }
        var known = RunningStats()
        for x in [2, 4, 4, 4, 5, 5, 7, 9] as [Double] { known.add(x) }
        #expect(known.mean == 5)
        #expect(close(known.variance, 32.0 / 7))
        var one = RunningStats()
        one.add(42)
        #expect(one.variance == 0 && one.standardDeviation == 0 && one.mean == 42)
        #expect(one == one)
    }

    /// The EWMA as explicit weights: value k (1-based) enters with weight
    /// a_k = max(alpha, 1/k) (so the first values are weighed equally), and every
    /// later value scales the older weights by (1 - a). Mean and variance are the
    /// weighted mean and weighted population variance.
    static func direct(_ xs: [Double], alpha: Double) -> (mean: Double, variance: Double) {
        var weights: [Double] = []
        for k in 1...xs.count {
            let a = k == 1 ? 1 : max(alpha, 1 / Double(k))
            weights = weights.map { $0 * (1 - a) }
            weights.append(a)
        }
        let mean = zip(weights, xs).map { $0 * $1 }.reduce(0, +)
        let variance = zip(weights, xs).map { $0 * ($1 - mean) * ($1 - mean) }.reduce(0, +)
        return (mean, variance)
    }

    @Test(arguments: [1.0, 0.5, 0.3, 0.1, 0.05, 0.01])
    func ewmaMatchesExplicitWeights(alpha: Double) {
        for xs in Self.sequences() where !xs.isEmpty {
            var s = EWMAStats(alpha: alpha)
            for i in xs.indices {
                s.add(xs[i])
                let seen = Array(xs[...i])
                let (mean, variance) = Self.direct(seen, alpha: alpha)
                #expect(s.count == seen.count)
                #expect(close(s.mean, mean), "alpha \(alpha), after \(seen.count): mean \(s.mean) vs \(mean)")
                #expect(close(s.variance, variance, relative: 1e-6), "alpha \(alpha), after \(seen.count): variance \(s.variance) vs \(variance)")
                #expect(s.variance >= 0)
                if i >= 150 { break }
            }
        }
    }

    @Test func ewmaWarmUpIsThePlainMeanAndPopulationVariance() {
        // With alpha = 0.1 the first ten values are weighed equally.
        var s = EWMAStats(alpha: 0.1)
        let xs: [Double] = [3, 9, 1, 4, 1, 5, 9, 2, 6, 5]
        for (i, x) in xs.enumerated() {
            s.add(x)
            let seen = Array(xs[...i])
            let mean = seen.reduce(0, +) / Double(seen.count)
            let variance = seen.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(seen.count)
            #expect(close(s.mean, mean))
            #expect(close(s.variance, variance))
        }
        // From then on a new value moves the mean by alpha times its distance.
        let before = s.mean
        s.add(100)
        #expect(close(s.mean, before + 0.1 * (100 - before)))
    }

    @Test func ewmaEdgeCases() {
        var one = EWMAStats(alpha: 1)
        for x in [5.0, -3, 12] { one.add(x) }
        #expect(one.mean == 12, "alpha 1 keeps only the last value")
        #expect(one.variance == 0)
        var s = EWMAStats(alpha: 0.2)
        s.add(7)
        #expect(s.mean == 7 && s.variance == 0 && s.count == 1)
        s.add(7)
        #expect(s.mean == 7 && s.variance == 0)
        s.reset()
        #expect(s.count == 0 && s.mean == 0 && s.variance == 0)
        s.add(-4)
        #expect(s.mean == -4 && s.variance == 0, "after reset the first value starts afresh")
        #expect(s.alpha == 0.2)
        #expect(close(s.standardDeviation, s.variance.squareRoot()))
    }
}
