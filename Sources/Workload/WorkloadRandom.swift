/// xoshiro256** (Blackman & Vigna), seeded through SplitMix64, with the draws the
/// workload needs.
///
/// Not `SystemRandomNumberGenerator` and not Swift's `Double.random(in:using:)`:
/// the generator's output must be the same bytes for the same seed on every
/// machine and every Swift version, so each draw is defined here from the raw
/// 64-bit stream, and the transcendental functions come from `PortableMath`.
public struct WorkloadRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64
    /// The polar method makes normals in pairs; the second waits here.
    @usableFromInline var spareNormal: Double?

    /// One independent stream per (seed, stream): each principal draws from its
    /// own, so its traffic does not depend on how the others interleave.
    public init(seed: UInt64, stream: UInt64 = 0) {
        var sm = SplitMix64(state: seed ^ SplitMix64.mix(stream &+ 0x6A09_E667_F3BC_C909))
        s0 = sm.next()
        s1 = sm.next()
        s2 = sm.next()
        s3 = sm.next()
        // xoshiro's state must not be all zeros; SplitMix64 makes that practically
        // impossible, but a zero state would emit zeros forever.
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }
        spareNormal = nil
    }

    /// Raw state, for checking the core against xoshiro's reference outputs.
    init(state: (UInt64, UInt64, UInt64, UInt64)) {
        (s0, s1, s2, s3) = state
        spareNormal = nil
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @usableFromInline @inline(__always)
    func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1), 53 random bits.
    @inlinable
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [a, b).
    @inlinable
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * uniform() }

    /// Log-uniform in [a, b): every factor of two in the range equally likely.
    public mutating func logUniform(_ a: Double, _ b: Double) -> Double {
        a * PortableMath.exp(uniform() * PortableMath.log(b / a))
    }

    /// Uniform integer in 0..<n (Lemire's multiply-high; the bias is below 2^-40 for our n).
    @inlinable
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0)
        return Int(truncatingIfNeeded: UInt64(n).multipliedFullWidth(by: next()).high)
    }

    /// Uniform integer in the closed range.
    @inlinable
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(below: range.upperBound - range.lowerBound + 1)
    }

    @inlinable
    public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }

    /// Standard normal, Marsaglia's polar method (no trigonometry, so no libm).
    public mutating func normal() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        while true {
            let u = 2 * uniform() - 1
            let v = 2 * uniform() - 1
            let s = u * u + v * v
            if s >= 1 || s == 0 { continue }
            let f = (-2 * PortableMath.log(s) / s).squareRoot()
            spareNormal = v * f
            return u * f
        }
    }

    public mutating func normal(mean: Double, sd: Double) -> Double { mean + sd * normal() }

    /// Lognormal with the given median and natural-log sigma.
    public mutating func lognormal(median: Double, sigma: Double) -> Double {
        median * PortableMath.exp(sigma * normal())
    }

    /// Exponential with the given rate (mean 1/rate).
    public mutating func exponential(rate: Double) -> Double {
        -PortableMath.log(1 - uniform()) / rate
    }

    /// Poisson with the given mean: Knuth's product method for small means,
    /// Hörmann's transformed rejection (PTRS) for large ones.
    public mutating func poisson(mean: Double) -> Int {
        precondition(mean >= 0 && mean.isFinite)
        if mean == 0 { return 0 }
        if mean < 30 {
            let limit = PortableMath.exp(-mean)
            var k = 0
            var p = uniform()
            while p > limit {
                k += 1
                p *= uniform()
            }
            return k
        }
        let slam = mean.squareRoot()
        let loglam = PortableMath.log(mean)
        let b = 0.931 + 2.53 * slam
        let a = -0.059 + 0.024_83 * b
        let invAlpha = 1.1239 + 1.1328 / (b - 3.4)
        let vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = uniform() - 0.5
            let v = uniform()
            let us = 0.5 - abs(u)
            let k = ((2 * a / us + b) * u + mean + 0.43).rounded(.down)
            if us >= 0.07 && v <= vr { return Int(k) }
            if k < 0 || (us < 0.013 && v > us) { continue }
            let lhs = PortableMath.log(v) + PortableMath.log(invAlpha) - PortableMath.log(a / (us * us) + b)
            if lhs <= -mean + k * loglam - PortableMath.logFactorial(Int(k)) { return Int(k) }
        }
    }

    /// Shuffles in place (Fisher–Yates over our own draws, not Swift's `shuffle(using:)`,
    /// whose algorithm is not promised to stay the same across releases).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, int(below: i + 1))
        }
    }
}

/// SplitMix64 (Steele, Lea & Flood): spreads one 64-bit seed into xoshiro's
/// 256 bits of state, as xoshiro's authors recommend.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
