/// One rolling window of the last `window` values per slot, with its median and
/// median absolute deviation (MAD) always at hand.
///
/// Each slot keeps its values twice: in arrival order (a ring, to know which
/// value leaves) and sorted (so the median is a lookup and the MAD one merge of
/// two sorted runs). A push is a binary search and one short memmove. Values
/// are `Float`: 8 bytes per value of window, so a 96-value window costs 768 bytes
/// per key. Storage grows with the number of slots in use, never per push.
public struct RollingWindows: Sendable, Codable {
    public let window: Int
    private var ring: [Float] = []
    private var sorted: [Float] = []
    private var next: [Int32] = []
    private var counts: [Int32] = []

    public init(window: Int) {
        precondition(window >= 1)
        self.window = window
    }

    public var slots: Int { counts.count }

    /// Makes `slot` exist (slots are created in order) and empties it.
    public mutating func reset(_ slot: Int) {
        precondition(slot <= counts.count, "slots are created in order")
        if slot == counts.count {
            ring.append(contentsOf: repeatElement(0, count: window))
            sorted.append(contentsOf: repeatElement(0, count: window))
            next.append(0)
            counts.append(0)
        } else {
            next[slot] = 0
            counts[slot] = 0
        }
    }

    public func count(_ slot: Int) -> Int { Int(counts[slot]) }

    public mutating func push(_ slot: Int, _ value: Float) {
        let base = slot * window
        let n = Int(counts[slot])
        ring.withUnsafeMutableBufferPointer { ring in
            sorted.withUnsafeMutableBufferPointer { sortedAll in
                let s = UnsafeMutableBufferPointer(rebasing: sortedAll[base..<(base + window)])
                if n < window {
                    ring[base + n] = value
                    Self.insert(value, into: s, count: n)
                    counts[slot] = Int32(n + 1)
                } else {
                    let w = Int(next[slot])
                    let old = ring[base + w]
                    ring[base + w] = value
                    next[slot] = Int32(w + 1 == window ? 0 : w + 1)
                    Self.replace(old, with: value, in: s, count: n)
                }
            }
        }
    }

    /// The median of the slot's window (0 when empty).
    public func median(_ slot: Int) -> Float {
        let n = Int(counts[slot])
        guard n > 0 else { return 0 }
        let base = slot * window
        if n & 1 == 1 { return sorted[base + n / 2] }
        return (sorted[base + n / 2 - 1] + sorted[base + n / 2]) / 2
    }

    /// The value at quantile `q` (0…1) of the slot's window, nearest rank.
    public func quantile(_ slot: Int, _ q: Double) -> Float {
        let n = Int(counts[slot])
        guard n > 0 else { return 0 }
        let i = Swift.min(n - 1, Swift.max(0, Int((q * Double(n - 1)).rounded())))
        return sorted[slot * window + i]
    }

    /// The window's upper tail: `edge`, the largest value below the slot's
    /// `k` largest, and `scale`, how far the `m` largest exceed the value
    /// below them on average (the mean excess, taken over more values than
    /// the edge, so one outlier does not stretch it much and a run of equal
    /// values does not shrink it to nothing). The slot holds more than `m ≥ k ≥ 1`.
    public func upperTail(_ slot: Int, edgeCount k: Int, scaleCount m: Int) -> (edge: Float, scale: Float) {
        let n = Int(counts[slot])
        precondition(k >= 1 && m >= k && n > m, "an upper tail needs more values than it takes")
        let base = slot * window
        let edge = sorted[base + n - k - 1]
        let below = sorted[base + n - m - 1]
        var sum: Float = 0
        for i in (base + n - m)..<(base + n) { sum += sorted[i] - below }
        return (edge, sum / Float(m))
    }

    /// The median absolute deviation from the median. The deviations left of
    /// the median, read right to left, and those right of it, read left to
    /// right, are two ascending runs; the middle ranks of their union come
    /// from a binary search on how many each run contributes, in O(log n)
    /// steps without sorting or merging anything.
    public func mad(_ slot: Int) -> Float {
        let n = Int(counts[slot])
        guard n > 1 else { return 0 }
        let m = median(slot)
        return sorted.withUnsafeBufferPointer { all in
            let s = UnsafeBufferPointer(rebasing: all[(slot * window)..<(slot * window + n)])
            // First index with s[i] >= m: the left run has `a` values, the right `b`.
            var lo = 0
            var hi = n
            while lo < hi {
                let mid = (lo + hi) >> 1
                if s[mid] < m { lo = mid + 1 } else { hi = mid }
            }
            let a = lo
            let b = n - lo
            @inline(__always) func left(_ i: Int) -> Float { m - s[a - 1 - i] }
            @inline(__always) func right(_ j: Int) -> Float { s[a + j] - m }
            /// The k-th smallest deviation (0-based).
            func kth(_ k: Int) -> Float {
                var low = Swift.max(0, k + 1 - b)
                var high = Swift.min(k + 1, a)
                while low < high {
                    let i = (low + high) >> 1
                    let j = k + 1 - i
                    if left(i) < right(j - 1) { low = i + 1 } else { high = i }
                }
                let i = low
                let j = k + 1 - i
                let fromLeft = i > 0 ? left(i - 1) : -Float.infinity
                let fromRight = j > 0 ? right(j - 1) : -Float.infinity
                return Swift.max(fromLeft, fromRight)
            }
            let lowRank = (n - 1) / 2
            let highRank = n / 2
            let low = kth(lowRank)
            return lowRank == highRank ? low : (low + kth(highRank)) / 2
        }
    }

    /// The slot's values oldest first (allocates; for tests and snapshots).
    public func values(_ slot: Int) -> [Float] {
        let n = Int(counts[slot])
        let base = slot * window
        if n < window { return Array(ring[base..<(base + n)]) }
        let w = Int(next[slot])
        return Array(ring[(base + w)..<(base + window)] + ring[base..<(base + w)])
    }

    /// The slot's values in ascending order (for tests).
    public func sortedValues(_ slot: Int) -> [Float] {
        Array(sorted[(slot * window)..<(slot * window + Int(counts[slot]))])
    }

    // MARK: Sorted-run maintenance

    /// First index in `s[lo..<hi]` whose value is not less than `v`. Branch-free
    /// halving: the comparisons of a window of noisy sizes are unpredictable,
    /// and a mispredicted branch per step costs more than the step.
    @inline(__always)
    private static func lowerBound(_ v: Float, _ s: UnsafeMutableBufferPointer<Float>, from lo: Int = 0, _ hi: Int) -> Int {
        var base = lo
        var len = hi - lo
        let p = s.baseAddress!
        while len > 1 {
            let half = len >> 1
            base = p[base + half - 1] < v ? base + half : base
            len -= half
        }
        return len == 1 && p[base] < v ? base + 1 : base
    }

    private static func insert(_ v: Float, into s: UnsafeMutableBufferPointer<Float>, count n: Int) {
        let i = lowerBound(v, s, n)
        if i < n { (s.baseAddress! + i + 1).update(from: s.baseAddress! + i, count: n - i) }
        s[i] = v
    }

    /// How many of `p[0..<n]` are less than `v`: in a sorted run, the index of
    /// the first value not less than `v`. A counting pass rather than a binary
    /// search: the window is a few cache lines that this loop reads side by side,
    /// where each step of a search waits for the load before it, often a cache
    /// miss, since windows are touched at random.
    @inline(__always)
    private static func countBelow(_ v: Float, _ p: UnsafeMutablePointer<Float>, _ n: Int) -> Int {
        // Eight lanes at a time, written out: left to itself the compiler turns
        // the comparison into a branch, which mispredicts on half the values.
        let threshold = SIMD8<Float>(repeating: v)
        var lanes = SIMD8<Int32>()
        var k = 0
        while k + 8 <= n {
            let x = UnsafeRawPointer(p + k).loadUnaligned(as: SIMD8<Float>.self)
            lanes &+= SIMD8<Int32>().replacing(with: 1, where: x .< threshold)
            k += 8
        }
        var c = Int(lanes.wrappedSum())
        while k < n {
            c &+= p[k] < v ? 1 : 0
            k += 1
        }
        return c
    }

    /// Removes one `old` and inserts `new`, shifting only the values between them.
    private static func replace(_ old: Float, with new: Float, in s: UnsafeMutableBufferPointer<Float>, count n: Int) {
        let p = s.baseAddress!
        var k = countBelow(old, p, n)  // p[k] == old: it is in the window
        // One step of insertion sort from where `old` was: the shift and the search
        // for `new`'s place are the same walk over short runs (a third of the
        // window on average), cheaper than a second binary search and a move.
        if new > old {
            // Slide left the values after `old` that are smaller than `new`.
            while k + 1 < n && p[k + 1] < new {
                p[k] = p[k + 1]
                k += 1
            }
        } else {
            // Slide right the values before `old` that are not smaller than `new`.
            while k > 0 && p[k - 1] >= new {
                p[k] = p[k - 1]
                k -= 1
            }
        }
        p[k] = new
    }
}

extension RollingWindows {
    private enum CodingKeys: String, CodingKey { case window, ring, sorted, next, counts }

    /// Reads a checkpoint's windows, refusing what the unchecked pushes
    /// cannot trust: a window of 1…65,536, `window` values of each kind per
    /// slot, the ring position and count inside the window, and each slot's
    /// sorted run ascending and holding exactly the ring's values (a push
    /// looks the leaving value up in it, and writes where it finds it).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        window = try c.decode(Int.self, forKey: .window)
        ring = try c.decode([Float].self, forKey: .ring)
        sorted = try c.decode([Float].self, forKey: .sorted)
        next = try c.decode([Int32].self, forKey: .next)
        counts = try c.decode([Int32].self, forKey: .counts)
        func refuse(_ what: String) -> DecodingError {
            .dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "rolling windows: \(what)"))
        }
        let values = counts.count.multipliedReportingOverflow(by: window)
        guard window >= 1, window <= 65_536, !values.overflow, ring.count == values.partialValue,
            sorted.count == values.partialValue, next.count == counts.count
        else { throw refuse("\(counts.count) slots of window \(window) in \(ring.count) values") }
        var run: [Float] = []
        run.reserveCapacity(window)
        for slot in counts.indices {
            let n = Int(counts[slot])
            let base = slot * window
            guard n >= 0, n <= window, next[slot] >= 0, Int(next[slot]) < window, n == window || next[slot] == 0 else {
                throw refuse("slot \(slot) holds \(n) values, next \(next[slot]), in a window of \(window)")
            }
            run.removeAll(keepingCapacity: true)
            run.append(contentsOf: ring[base..<(base + n)])
            run.sort()
            for i in 0..<n {
                guard !sorted[base + i].isNaN, sorted[base + i] == run[i], i == 0 || sorted[base + i - 1] <= sorted[base + i] else {
                    throw refuse("slot \(slot)'s sorted values are not its window's")
                }
            }
        }
    }
}
