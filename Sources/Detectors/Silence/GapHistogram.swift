/// How a principal's time splits between gaps of each length: for every
/// closed gap between two of its events, the gap's length is added to the bin
/// of its power-of-two length class, so a bin holds the time spent in such
/// gaps. The `q` quantile of this time-weighted distribution is the gap length
/// that covers share `q` of the principal's time — a service's long gaps are
/// seconds, a person's are nights and weekends, whatever their counts.
///
/// Bins are 2^30 ns (≈ 1.07 s) units: bin 0 holds gaps under one unit, bin b
/// gaps of [2^(b-1), 2^b) units, the last everything longer (about 52 days).
/// The caller keeps `GapHistogram.bins` floats per principal in one flat array.
enum GapHistogram {
    static let bins = 24
    static let unitShift: UInt64 = 30
    static let unitSeconds = Double(1 << 30) / 1e9

    /// The bin of a gap of `nanoseconds` (> 0).
    @inline(__always)
    static func bin(_ nanoseconds: Int64) -> Int {
        let units = UInt64(nanoseconds) >> unitShift
        return Swift.min(bins - 1, 64 - units.leadingZeroBitCount)
    }

    /// The longest gap of bin `b`, in seconds.
    static func upperEdge(_ b: Int) -> Double {
        Double(UInt64(1) << UInt64(b)) * unitSeconds
    }

    /// The upper edge, in seconds, of the bin in which the cumulative time
    /// reaches share `q` of the total; nil when the bins are empty.
    static func quantile(_ q: Double, _ weights: UnsafeBufferPointer<Float>) -> Double? {
        var total = 0.0
        for w in weights { total += Double(w) }
        guard total > 0 else { return nil }
        let target = q * total
        var cumulative = 0.0
        for b in 0..<weights.count {
            cumulative += Double(weights[b])
            if cumulative >= target { return upperEdge(b) }
        }
        return upperEdge(weights.count - 1)
    }
}
