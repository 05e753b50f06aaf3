/// A two-sided CUSUM on one series of log2 levels (a batch's mean chunk size,
/// a bucket's chunk count), against a slowly learned baseline, that
/// re-baselines on the new level once it alerts.
///
/// Each observation x comes with its sampling variance (how much x wanders
/// when nothing changed). The standard error it is judged by is the larger of
/// that and the observed spread of x around the baseline, floored at
/// `minSpread`: the first is right for independent chunks, the second catches
/// what independence misses (bursts, a baseline that lags a slow drift). The
/// evidence z = (x − baseline) / se, clipped to ±4 so one wild batch cannot
/// alert alone, feeds S⁺ ← max(0, S⁺ + z − k) and S⁻ ← max(0, S⁻ − z − k),
/// where the slack k is `slack` standard errors or half of `minShift`,
/// whichever is larger: on a busy key a real but small wobble is many
/// standard errors and must not add up. When S reaches `threshold` the level
/// of the run since S left zero is estimated, weighting its latest
/// observations most (a run often starts with noise before the change), and
/// the baseline jumps to it, so a lasting change is reported once. It is
/// reported when it is at least `minShift` from the baseline, or from the
/// level before a series of such jumps too small to report, so a change
/// split over two runs, or a slow ramp, is still reported.
///
/// The baseline learns only while both sums are under half the threshold,
/// so a change in progress is not absorbed before it is judged. 112 bytes.
struct ShiftCUSUM: Codable {
    struct Parameters {
        var threshold: Double
        var slack: Double
        var minShift: Double
        var minSpread: Double
        var alpha: Double
        var warmup: Int32
    }

    /// What an alerting step reports.
    struct Shift {
        /// +1 for a rise, −1 for a fall.
        var sign: Double
        /// The baseline before, and the level of the run since the change began (log2).
        var before: Double
        var after: Double
        /// When the run began (the first observation's time, in nanoseconds).
        var since: Int64
        /// The CUSUM that crossed the threshold, in standard errors.
        var evidence: Double
        /// The baseline's observations so far.
        var n: Int32
    }

    var n: Int32 = 0
    var mean: Double = 0
    /// EWMA of the observations' sampling variance, and of their squared deviation from the baseline.
    var noiseVariance: Double = 0
    var deviationVariance: Double = 0
    var up: Double = 0
    var down: Double = 0
    /// The level of each side's run since it left zero, recent observations weighing most.
    var upLevel: Double = 0
    var downLevel: Double = 0
    var upStart: Int64 = 0
    var downStart: Int64 = 0
    var upCount: Int32 = 0
    var downCount: Int32 = 0
    /// Observations to wait after a re-baseline before another alert.
    var holdoff: Int32 = 0
    /// The baseline before the unreported jumps of the last `warmup`
    /// observations (`anchorAge` > 0), and when it was set.
    var anchor: Double = 0
    var anchorAge: Int32 = 0

    /// The larger of the two sums, for scores.
    var evidence: Double { Swift.max(up, down) }

    var standardError: Double {
        Swift.max(noiseVariance, deviationVariance).squareRoot()
    }

    /// Adds observation `x` (log2), with sampling variance `noise`, seen at `time`.
    mutating func step(_ x: Double, noise: Double, time: Int64, _ p: Parameters) -> Shift? {
        if n < p.warmup {
            // Equal weights while warming up, so the start is not the first value's.
            n += 1
            let a = 1 / Double(n)
            let d = x - mean
            mean += a * d
            noiseVariance += a * (noise - noiseVariance)
            if n > 1 { deviationVariance = (1 - a) * (deviationVariance + a * d * d) }
            return nil
        }
        let se = Swift.max(standardError, p.minSpread)
        let z = Swift.min(Swift.max((x - mean) / se, -4), 4)
        let k = Swift.max(p.slack, p.minShift / (2 * se))
        let nextUp = Swift.max(0, up + z - k)
        let nextDown = Swift.max(0, down - z - k)
        if nextUp > 0 {
            if up == 0 {
                upStart = time
                upCount = 0
            }
            upCount += 1
            upLevel += Swift.max(Self.runWeight, 1 / Double(upCount)) * (x - upLevel)
        }
        if nextDown > 0 {
            if down == 0 {
                downStart = time
                downCount = 0
            }
            downCount += 1
            downLevel += Swift.max(Self.runWeight, 1 / Double(downCount)) * (x - downLevel)
        }
        up = nextUp
        down = nextDown
        if holdoff > 0 { holdoff -= 1 }
        if anchorAge > 0 { anchorAge -= 1 }

        var verdict: Shift?
        if up >= p.threshold {
            verdict = settle(rising: true, p)
        } else if down >= p.threshold {
            verdict = settle(rising: false, p)
        }
        if up < p.threshold / 2 && down < p.threshold / 2 {
            // Learn, clipped so one odd observation moves the baseline little.
            let limit = 3 * se
            let d = Swift.min(Swift.max(x - mean, -limit), limit)
            mean += p.alpha * d
            noiseVariance += p.alpha * (noise - noiseVariance)
            deviationVariance = (1 - p.alpha) * (deviationVariance + p.alpha * d * d)
        }
        n &+= 1
        return verdict
    }

    /// The sum on one side crossed the threshold: report the shift if it is
    /// large enough and not right after a re-baseline, and move the baseline
    /// to the run's level either way.
    private mutating func settle(rising: Bool, _ p: Parameters) -> Shift? {
        let after = rising ? upLevel : downLevel
        // Jumps too small to report add up from where they began.
        let before = anchorAge > 0 && abs(after - anchor) > abs(after - mean) ? anchor : mean
        let shift = Shift(
            sign: after >= before ? 1 : -1, before: before, after: after, since: rising ? upStart : downStart,
            evidence: rising ? up : down, n: n)
        let report = abs(after - before) >= p.minShift && holdoff == 0
        if report {
            holdoff = Swift.max(1, p.warmup / 2)
            anchorAge = 0
        } else if anchorAge == 0 {
            anchor = mean
            anchorAge = p.warmup
        }
        mean = after
        up = 0
        down = 0
        upCount = 0
        downCount = 0
        return report ? shift : nil
    }

    /// Weight of the latest observation in a run's level (about the last three count).
    static let runWeight = 0.3
}
