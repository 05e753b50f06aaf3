/// `exp`, `log` and `sin` built from IEEE-754 additions, multiplications,
/// divisions and `squareRoot()` only.
///
/// Why not libm: glibc, Darwin and musl (and glibc on x86-64 versus arm64, where
/// the compiler may fuse multiply-adds) can differ in the last bit of `exp` or
/// `log`. One differing bit can round a chunk size the other way, and from there
/// every later byte of `gen` differs. The basic operations are correctly rounded
/// everywhere, and Swift never contracts `a * b + c` into an FMA on its own, so
/// these functions give the same bits on every machine. They are accurate to a
/// few ulps, far more than a synthetic workload needs.
enum PortableMath {
    // fdlibm's split of ln 2: the high part has trailing zero bits, so k * ln2Hi is exact.
    static let ln2Hi = 6.931_471_803_691_238_164_90e-01
    static let ln2Lo = 1.908_214_929_270_587_700_02e-10
    static let invLn2 = 1.442_695_040_888_963_387_00e+00
    static let twoPi = 6.283_185_307_179_586_476_925
    static let pi = 3.141_592_653_589_793_238_462

    /// e^x. Reduces x = k ln 2 + r with |r| ≤ ln 2 / 2, where the Taylor series
    /// to r^13 is exact to about 1e-17, then scales by 2^k exactly.
    @inline(__always)
    static func exp(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x > 709.78 { return .infinity }
        if x < -745.2 { return 0 }
        let k = (x * invLn2).rounded()
        let r = (x - k * ln2Hi) - k * ln2Lo
        var p = 1.0 / 6_227_020_800  // 1/13!
        p = p * r + 1.0 / 479_001_600
        p = p * r + 1.0 / 39_916_800
        p = p * r + 1.0 / 3_628_800
        p = p * r + 1.0 / 362_880
        p = p * r + 1.0 / 40_320
        p = p * r + 1.0 / 5_040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        return Double(sign: .plus, exponent: Int(k), significand: p)
    }

    /// Natural logarithm. Splits x = m · 2^e with m in [√½, √2), then
    /// log m = 2 atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.172, summed to s^21.
    @inline(__always)
    static func log(_ x: Double) -> Double {
        if x.isNaN || x < 0 { return .nan }
        if x == 0 { return -.infinity }
        if x == .infinity { return x }
        var e = Int(x.exponent)
        var m = x.significand
        if m > 1.414_213_562_373_095_048_80 {
            m *= 0.5
            e += 1
        }
        let s = (m - 1) / (m + 1)
        let z = s * s
        var p = 1.0 / 21
        p = p * z + 1.0 / 19
        p = p * z + 1.0 / 17
        p = p * z + 1.0 / 15
        p = p * z + 1.0 / 13
        p = p * z + 1.0 / 11
        p = p * z + 1.0 / 9
        p = p * z + 1.0 / 7
        p = p * z + 1.0 / 5
        p = p * z + 1.0 / 3
        p = p * z + 1
        let fe = Double(e)
        return fe * ln2Hi + (2 * s * p + fe * ln2Lo)
    }

    /// sin x, for the slow diurnal curve only (called once per five minutes of
    /// event time), so a plain Taylor series after reduction to [−π/2, π/2].
    static func sin(_ x: Double) -> Double {
        guard x.isFinite else { return .nan }
        var y = x - twoPi * (x / twoPi).rounded()  // now in [−π, π]
        if y > pi / 2 { y = pi - y } else if y < -pi / 2 { y = -pi - y }
        let z = y * y
        var term = y
        var sum = y
        var n = 1.0
        for _ in 0..<11 {
            term = -term * z / ((n + 1) * (n + 2))
            sum += term
            n += 2
        }
        return sum
    }

    static func cos(_ x: Double) -> Double { sin(x + pi / 2) }

    /// log(n!) exactly summed for small n, Stirling's series beyond.
    static func logFactorial(_ n: Int) -> Double {
        if n < 2 { return 0 }
        if n < 64 {
            var sum = 0.0
            for i in 2...n { sum += log(Double(i)) }
            return sum
        }
        let x = Double(n)
        let inv = 1 / x
        let inv2 = inv * inv
        return x * log(x) - x + 0.5 * log(twoPi * x)
            + inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260)))
    }
}
