/// Mean and variance over everything seen (Welford's algorithm): numerically
/// stable, constant size, no window.
public struct RunningStats: Sendable, Equatable, Codable {
    public var count: Int = 0
    public var mean: Double = 0
    public var m2: Double = 0

    public init() {}

    @inlinable
    public mutating func add(_ x: Double) {
        count += 1
        let delta = x - mean
        mean += delta / Double(count)
        m2 += delta * (x - mean)
    }

    /// The sample variance; 0 until there are two values.
    public var variance: Double { count > 1 ? m2 / Double(count - 1) : 0 }
    public var standardDeviation: Double { variance.squareRoot() }
}

/// An exponentially weighted mean and variance: recent values count more, old
/// ones fade with a half-life of about `0.69 / alpha` updates.
public struct EWMAStats: Sendable, Equatable, Codable {
    public let alpha: Double
    public var mean: Double = 0
    public var variance: Double = 0
    public var count: Int = 0

    public init(alpha: Double) {
        precondition(alpha > 0 && alpha <= 1)
        self.alpha = alpha
    }

    @inlinable
    public mutating func add(_ x: Double) {
        count += 1
        if count == 1 {
            mean = x
            variance = 0
            return
        }
        // Until 1/alpha values are in, weigh them equally, so the start is not
        // dominated by the first value.
        let a = Swift.max(alpha, 1 / Double(count))
        let delta = x - mean
        mean += a * delta
        variance = (1 - a) * (variance + a * delta * delta)
    }

    public var standardDeviation: Double { variance.squareRoot() }

    public mutating func reset() {
        mean = 0
        variance = 0
        count = 0
    }
}
