import ChunkModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a key usually does in one event-time bucket at a given time of the
/// week: the mean and spread of a per-bucket quantity (chunks, bytes) in the
/// buckets where the key was active, and how often it was active at all.
///
/// One profile per slot, like `RollingWindows`: a detector keeps the key → slot
/// mapping in a `KeyedStore` and resets a slot when it is handed a new key.
/// Each profile has 168 hour-of-week cells (UTC, Monday 00:00 first). A cell
/// learns once per occurrence of its hour: the buckets of the hour in progress
/// are summed in a small accumulator and folded into the cell when event time
/// moves past the hour, as an exponentially weighted mixture (an hour full of
/// active buckets has weight `weight`; the first hours are weighed equally).
/// So an expectation never includes the hour it is asked about, and a spell of
/// unusual traffic cannot teach the cell that it is normal while it lasts.
///
/// A cell with too little data falls back to the same hour of day pooled over
/// the other days of the week, then to the whole profile (the key's active
/// time overall). Buckets with no activity are not learned as zeros: they only
/// lower the cell's activity share, so a principal that sleeps at night keeps
/// its daytime level and its first minutes at work are not a surge.
///
/// Memory per slot: 168 cells × 16 bytes (mean, variance and activity as
/// `Float`, learned and seen bucket counts as `UInt16`) plus a 40-byte
/// accumulator: 2,728 bytes. Nothing allocates once a slot exists.
public struct HourOfWeekProfile: Sendable, Codable {
    public static let cells = 168
    private static let hourNanos: Int64 = 3_600_000_000_000

    /// Width of the buckets the profile is fed.
    public let width: BucketWidth
    /// `width` in nanoseconds.
    public var bucketNanos: Int64 { width.nanoseconds }
    /// Buckets per hour (3600 s / bucket; fractional when the bucket does not divide the hour).
    public let bucketsPerHour: Double
    /// Weight of one full hour of data in a cell (0.25: about the last four
    /// occurrences of the hour count).
    public let weight: Double
    /// Hours of active buckets a cell needs before it speaks for itself.
    public let minCellHours: Double
    /// Hours of active buckets a pooled fallback (hour of day, whole profile) needs.
    public let minPooledHours: Double

    // Cell storage, `slot * 168 + cell`.
    private var mean: [Float] = []
    private var variance: [Float] = []
    private var activity: [Float] = []
    private var learned: [UInt16] = []
    private var seen: [UInt16] = []
    // The hour in progress, per slot.
    private var accumulators: [Accumulator] = []

    struct Accumulator: Codable {
        /// Absolute hour (hours since the epoch) being accumulated; `.min` before the first bucket.
        var hour: Int64 = .min
        /// The first bucket this slot observed: buckets before it are unknown, not inactive.
        var origin: Int64 = .min
        var active: Int32 = 0
        var learnedCount: Int32 = 0
        var sum: Double = 0
        var sumOfSquares: Double = 0
    }

    public init(bucket: Duration, weight: Double = 0.25, minCellHours: Double = 2, minPooledHours: Double = 0.5) {
        let ns = bucket.nanosecondsClamped
        precondition(ns > 0 && ns <= Self.hourNanos, "an hour-of-week profile needs buckets of at most an hour")
        precondition(weight > 0 && weight <= 1)
        width = BucketWidth(nanoseconds: ns)!
        bucketsPerHour = Double(Self.hourNanos) / Double(ns)
        self.weight = weight
        self.minCellHours = minCellHours
        self.minPooledHours = minPooledHours
    }

    public var slots: Int { accumulators.count }

    /// Makes `slot` exist (slots are created in order) and empties it.
    public mutating func reset(_ slot: Int) {
        precondition(slot <= accumulators.count, "slots are created in order")
        if slot == accumulators.count {
            mean.append(contentsOf: repeatElement(0, count: Self.cells))
            variance.append(contentsOf: repeatElement(0, count: Self.cells))
            activity.append(contentsOf: repeatElement(0, count: Self.cells))
            learned.append(contentsOf: repeatElement(0, count: Self.cells))
            seen.append(contentsOf: repeatElement(0, count: Self.cells))
            accumulators.append(Accumulator())
        } else {
            let base = slot * Self.cells
            for i in base..<(base + Self.cells) {
                mean[i] = 0
                variance[i] = 0
                activity[i] = 0
                learned[i] = 0
                seen[i] = 0
            }
            accumulators[slot] = Accumulator()
        }
    }

    // MARK: Feeding

    /// Records one active bucket (index `bucket`, in units of the bucket width
    /// since the epoch) whose quantity was `value`. With `learn` false the
    /// bucket counts as active but its value is not learned (a detector that
    /// suspects it is anomalous). A bucket earlier than the hour in progress is
    /// ignored.
    public mutating func add(_ slot: Int, bucket: Int64, value: Double, learn: Bool = true) {
        advance(slot, to: bucket)
        guard hour(of: bucket) == accumulators[slot].hour else { return }
        accumulators[slot].active += 1
        if learn {
            accumulators[slot].learnedCount += 1
            accumulators[slot].sum += value
            accumulators[slot].sumOfSquares += value * value
        }
    }

    /// Event time has reached `bucket`: folds the hours that ended before it,
    /// with the hours in which the key had no bucket as inactive ones.
    public mutating func advance(_ slot: Int, to bucket: Int64) {
        let h = hour(of: bucket)
        var acc = accumulators[slot]
        if acc.hour == .min {
            acc.hour = h
            acc.origin = bucket
            accumulators[slot] = acc
            return
        }
        guard h > acc.hour else { return }
        fold(slot, hour: acc.hour, acc)
        // Whole hours without a bucket; a gap longer than a week visits each
        // cell once, with as many occurrences as it spanned.
        let gap = h.clampedSubtracting(acc.hour) - 1
        if gap > 0 {
            let visits = Swift.min(gap, Int64(Self.cells))
            for i in 0..<visits {
                let empty = acc.hour + 1 + i
                // ⌈(gap − i) / 168⌉, written so that a gap near Int64.max cannot overflow.
                let occurrences = (gap - i - 1) / Int64(Self.cells) + 1
                foldEmpty(slot, hour: empty, occurrences: occurrences)
            }
        }
        accumulators[slot] = Accumulator(hour: h, origin: acc.origin)
    }

    // MARK: Reading

    /// The expectation for the bucket `bucket` from past hours only.
    public func expectation(_ slot: Int, bucket: Int64) -> BucketExpectation {
        let cell = Self.cell(ofHour: hour(of: bucket))
        let base = slot * Self.cells
        var e = BucketExpectation()
        // Level and spread of active buckets.
        let ownHours = Double(learned[base + cell]) / bucketsPerHour
        if ownHours >= minCellHours {
            e.mean = Double(mean[base + cell])
            e.sd = Double(variance[base + cell]).squareRoot()
            e.hours = ownHours
            e.source = .hourOfWeek
        } else {
            let day = pooled(slot, cell % 24, step: 24)
            if day.hours >= minPooledHours {
                e.mean = day.mean
                e.sd = day.sd
                e.hours = day.hours
                e.source = .hourOfDay
            } else {
                let all = pooled(slot, 0, step: 1)
                if all.hours >= minPooledHours {
                    e.mean = all.mean
                    e.sd = all.sd
                    e.hours = all.hours
                    e.source = .overall
                }
            }
        }
        // How often the key is active at this time.
        let ownSeen = Double(seen[base + cell]) / bucketsPerHour
        if ownSeen >= minCellHours {
            e.activity = Double(activity[base + cell])
            e.activityHours = ownSeen
        } else {
            var weighted = 0.0
            var hours = 0.0
            var c = cell % 24
            while c < Self.cells {
                let s = Double(seen[base + c])
                weighted += s * Double(activity[base + c])
                hours += s
                c += 24
            }
            if hours > 0 {
                e.activity = weighted / hours
                e.activityHours = hours / bucketsPerHour
            }
        }
        return e
    }

    /// The cell of an hour of the week: 0 = Monday 00:00–01:00 UTC.
    public static func cell(ofHour hour: Int64) -> Int {
        // 1970-01-01 was a Thursday: hour 0 is cell 3 × 24. The remainder
        // comes first, so no hour is too large to shift.
        let r = Int((hour % Int64(cells) + 72) % Int64(cells))
        return r < 0 ? r + cells : r
    }

    /// One cell's figures, for tests and `/v1/baselines`.
    public func cellSummary(_ slot: Int, cell: Int) -> (mean: Double, sd: Double, activity: Double, learnedHours: Double, seenHours: Double) {
        let i = slot * Self.cells + cell
        return (
            Double(mean[i]), Double(variance[i]).squareRoot(), Double(activity[i]),
            Double(learned[i]) / bucketsPerHour, Double(seen[i]) / bucketsPerHour
        )
    }

    // MARK: Internals

    @inline(__always)
    func hour(of bucket: Int64) -> Int64 {
        Timestamp.start(ofBucket: bucket, width).bucket(.hour)
    }

    /// Buckets whose start lies in `hour`, from the slot's origin on.
    private func bucketsSeen(inHour hour: Int64, origin: Int64) -> Int {
        let start = Self.firstBucket(from: Timestamp.start(ofBucket: hour, .hour), width)
        let end = Self.firstBucket(from: Timestamp.start(ofBucket: hour.clampedAdding(1), .hour), width)
        return Int(Swift.max(0, end.clampedSubtracting(Swift.max(start, origin))))
    }

    /// The first bucket of `width` that starts at or after `t`.
    private static func firstBucket(from t: Timestamp, _ width: BucketWidth) -> Int64 {
        let b = t.bucket(width)
        return Timestamp.start(ofBucket: b, width) < t ? b + 1 : b
    }

    /// The weight of `n` buckets of new data in a cell that has `had` already:
    /// equal weights while the cell is young, then exponential forgetting at
    /// `weight` per hour's worth of buckets.
    @inline(__always)
    private func blend(_ n: Double, had: Double) -> Double {
        let decay = 1 - pow(1 - weight, n / bucketsPerHour)
        return Swift.max(decay, n / (had + n))
    }

    private mutating func fold(_ slot: Int, hour h: Int64, _ acc: Accumulator) {
        let i = slot * Self.cells + Self.cell(ofHour: h)
        let s = Double(bucketsSeen(inHour: h, origin: acc.origin))
        guard s > 0 else { return }
        let active = Swift.min(Double(acc.active), s)
        let wa = blend(s, had: Double(seen[i]))
        activity[i] += Float(wa * (active / s - Double(activity[i])))
        seen[i] = Self.saturating(seen[i], s)
        let n = Double(acc.learnedCount)
        guard n > 0 else { return }
        let m = acc.sum / n
        let v = Swift.max(0, acc.sumOfSquares / n - m * m)
        let w = blend(n, had: Double(learned[i]))
        let old = Double(mean[i])
        // The mixture of the old distribution (1 − w) and this hour's (w).
        mean[i] = Float(old + w * (m - old))
        variance[i] = Float((1 - w) * Double(variance[i]) + w * v + w * (1 - w) * (m - old) * (m - old))
        learned[i] = Self.saturating(learned[i], n)
    }

    private mutating func foldEmpty(_ slot: Int, hour h: Int64, occurrences: Int64) {
        let i = slot * Self.cells + Self.cell(ofHour: h)
        let s = bucketsPerHour * Double(occurrences)
        let wa = blend(s, had: Double(seen[i]))
        activity[i] -= Float(wa) * activity[i]
        seen[i] = Self.saturating(seen[i], s)
    }

    private static func saturating(_ count: UInt16, _ add: Double) -> UInt16 {
        UInt16(Swift.min(Double(UInt16.max), Double(count) + add.rounded()))
    }

    /// Mean and spread pooled over cells `first`, `first + step`, … weighted by
    /// their learned buckets: the mixture's mean and variance.
    private func pooled(_ slot: Int, _ first: Int, step: Int) -> (mean: Double, sd: Double, hours: Double) {
        let base = slot * Self.cells
        var n = 0.0
        var sum = 0.0
        var sumOfSquares = 0.0
        var c = first
        while c < Self.cells {
            let w = Double(learned[base + c])
            if w > 0 {
                let m = Double(mean[base + c])
                n += w
                sum += w * m
                sumOfSquares += w * (Double(variance[base + c]) + m * m)
            }
            c += step
        }
        guard n > 0 else { return (0, 0, 0) }
        let m = sum / n
        return (m, Swift.max(0, sumOfSquares / n - m * m).squareRoot(), n / bucketsPerHour)
    }
}

extension HourOfWeekProfile {
    private enum CodingKeys: String, CodingKey {
        case width, weight, minCellHours, minPooledHours, mean, variance, activity, learned, seen, accumulators
    }

    /// Reads a checkpoint's profile, refusing one that the arithmetic cannot
    /// trust: buckets of at most an hour, a weight in (0, 1], finite minimum
    /// hours, 168 cells of every kind per slot, and accumulators whose hours
    /// and counts are in range. Buckets per hour are derived from the width,
    /// not read. A damaged checkpoint must fail to restore, not trap later.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        width = try c.decode(BucketWidth.self, forKey: .width)
        weight = try c.decode(Double.self, forKey: .weight)
        minCellHours = try c.decode(Double.self, forKey: .minCellHours)
        minPooledHours = try c.decode(Double.self, forKey: .minPooledHours)
        mean = try c.decode([Float].self, forKey: .mean)
        variance = try c.decode([Float].self, forKey: .variance)
        activity = try c.decode([Float].self, forKey: .activity)
        learned = try c.decode([UInt16].self, forKey: .learned)
        seen = try c.decode([UInt16].self, forKey: .seen)
        accumulators = try c.decode([Accumulator].self, forKey: .accumulators)
        let ns = width.nanoseconds
        bucketsPerHour = ns > 0 ? Double(Self.hourNanos) / Double(ns) : 0
        let cells = accumulators.count.multipliedReportingOverflow(by: Self.cells)
        // Hours since the epoch for event times within ±100,000 years.
        let hours: ClosedRange<Int64> = -1 << 40...1 << 40
        guard ns > 0, ns <= Self.hourNanos, weight > 0, weight <= 1, minCellHours.isFinite, minCellHours >= 0,
            minPooledHours.isFinite, minPooledHours >= 0, !cells.overflow,
            [mean.count, variance.count, activity.count, learned.count, seen.count].allSatisfy({ $0 == cells.partialValue }),
            accumulators.allSatisfy({ a in
                (a.hour == .min || hours.contains(a.hour)) && (a.origin == .min || a.origin.magnitude < 1 << 62)
                    && a.active >= 0 && a.learnedCount >= 0 && a.learnedCount <= a.active
            })
        else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription: "hour-of-week profile: settings or \(accumulators.count) slots' cells out of range"))
        }
    }
}
