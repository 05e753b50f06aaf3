import Baselines
import Testing

/// The obvious way to compute what `RollingWindows` keeps incrementally.
struct NaiveWindow {
    let window: Int
    var values: [Float] = []

    mutating func push(_ v: Float) {
        values.append(v)
        if values.count > window { values.removeFirst() }
    }

    var sorted: [Float] { values.sorted() }

    static func median(_ sorted: [Float]) -> Float {
        let n = sorted.count
        if n == 0 { return 0 }
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    var median: Float { Self.median(sorted) }

    var mad: Float {
        if values.count < 2 { return 0 }
        let m = median
        return Self.median(values.map { abs($0 - m) }.sorted())
    }

    static func quantile(_ s: [Float], _ q: Double) -> Float {
        if s.isEmpty { return 0 }
        let i = min(s.count - 1, max(0, Int((q * Double(s.count - 1)).rounded())))
        return s[i]
    }
}

@Suite("RollingWindows against a naive recomputation")
struct RollingWindowsTests {
    static let quantiles: [Double] = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1]

    /// Compares every statistic with the model; plain comparisons first (this
    /// runs after every push), an issue only for what differs.
    func check(_ w: RollingWindows, _ slot: Int, _ model: NaiveWindow, _ context: @autoclosure () -> String) {
        let sorted = model.sorted
        var wrong: [String] = []
        if w.count(slot) != model.values.count { wrong.append("count \(w.count(slot)) ≠ \(model.values.count)") }
        if w.values(slot) != model.values { wrong.append("values \(w.values(slot)) ≠ \(model.values)") }
        if w.sortedValues(slot) != sorted { wrong.append("sortedValues \(w.sortedValues(slot)) ≠ \(sorted)") }
        if w.median(slot) != NaiveWindow.median(sorted) { wrong.append("median \(w.median(slot)) ≠ \(NaiveWindow.median(sorted))") }
        if w.mad(slot) != model.mad { wrong.append("mad \(w.mad(slot)) ≠ \(model.mad)") }
        for q in Self.quantiles where w.quantile(slot, q) != NaiveWindow.quantile(sorted, q) {
            wrong.append("quantile \(q): \(w.quantile(slot, q)) ≠ \(NaiveWindow.quantile(sorted, q))")
        }
        if !wrong.isEmpty { Issue.record("\(context()): \(wrong.joined(separator: "; "))") }
    }

    /// Value generators: continuous, heavy duplicates, all equal, sorted runs, extremes.
    static func value(_ kind: Int, _ i: Int, _ rng: inout SplitMix64) -> Float {
        switch kind {
        case 0: Float.random(in: -1000...1000, using: &rng)
        case 1: Float(Int.random(in: 1...3, using: &rng))
        case 2: 7
        case 3: Float(i % 17)  // ascending runs
        case 4: Float(1000 - i % 23)  // descending runs
        case 5: Bool.random(using: &rng) ? Float(Int.random(in: 0...4, using: &rng)) * 0.25 : Float.random(in: 0...1e6, using: &rng)
        default: Float(Int.random(in: 0...1 << 20, using: &rng))  // chunk sizes
        }
    }

    @Test(arguments: Array(1...12) + [96])
    func everyPushMatchesTheNaiveWindow(window: Int) {
        var rng = SplitMix64(seed: UInt64(window) &* 7919)
        for kind in 0...6 {
            var w = RollingWindows(window: window)
            w.reset(0)
            var model = NaiveWindow(window: window)
            check(w, 0, model, "empty")
            let pushes = window == 96 ? 300 : 4 * window + 20
            for i in 0..<pushes {
                let v = Self.value(kind, i, &rng)
                w.push(0, v)
                model.push(v)
                check(w, 0, model, "window \(window), kind \(kind), push \(i) of \(v)")
            }
        }
    }

    @Test func interleavedSlotsStayIndependent() {
        var rng = SplitMix64(seed: 4242)
        for window in [1, 2, 5, 12, 96] {
            var w = RollingWindows(window: window)
            var models: [NaiveWindow] = []
            for slot in 0..<6 {
                w.reset(slot)
                models.append(NaiveWindow(window: window))
            }
            #expect(w.slots == 6)
            for step in 0..<(window * 20 + 50) {
                let slot = Int.random(in: 0..<6, using: &rng)
                // Each slot has its own value range, so mixing them up shows.
                let v = Float(slot * 10_000) + Self.value(step % 7, step, &rng)
                w.push(slot, v)
                models[slot].push(v)
                check(w, slot, models[slot], "window \(window), step \(step), slot \(slot)")
                if step % 37 == 0 {
                    // Reset one slot: it empties, the others keep their values.
                    let r = Int.random(in: 0..<6, using: &rng)
                    w.reset(r)
                    models[r] = NaiveWindow(window: window)
                }
            }
            for slot in 0..<6 { check(w, slot, models[slot], "window \(window), final, slot \(slot)") }
        }
    }

    @Test func resetEmptiesASlotAndItRefillsCorrectly() {
        for window in [1, 3, 8] {
            var w = RollingWindows(window: window)
            w.reset(0)
            w.reset(1)
            for v in 0..<(window * 2 + 1) {
                w.push(0, Float(v))
                w.push(1, Float(-v))
            }
            w.reset(0)
            #expect(w.count(0) == 0)
            #expect(w.values(0).isEmpty)
            #expect(w.sortedValues(0).isEmpty)
            #expect(w.median(0) == 0)
            #expect(w.mad(0) == 0)
            #expect(w.quantile(0, 0.5) == 0)
            #expect(w.count(1) == window, "the other slot is untouched")
            #expect(w.slots == 2, "reset of an existing slot adds none")
            var model = NaiveWindow(window: window)
            for v in [5, 1, 4, 1, 5, 9, 2, 6] as [Float] {
                w.push(0, v)
                model.push(v)
                check(w, 0, model, "window \(window), refill with \(v)")
            }
        }
    }

    @Test func smallKnownWindows() {
        var w = RollingWindows(window: 5)
        w.reset(0)
        for v in [1, 2, 3, 4, 100] as [Float] { w.push(0, v) }
        #expect(w.median(0) == 3)
        #expect(w.mad(0) == 1)  // deviations 2,1,0,1,97 → 1
        #expect(w.quantile(0, 0) == 1)
        #expect(w.quantile(0, 0.5) == 3)
        #expect(w.quantile(0, 0.8) == 4)  // rank round(0.8 × 4) = 3
        #expect(w.quantile(0, 1) == 100)
        w.push(0, 100)  // evicts 1: 2,3,4,100,100
        #expect(w.values(0) == [2, 3, 4, 100, 100])
        #expect(w.median(0) == 4)
        #expect(w.mad(0) == 2)  // deviations 2,1,0,96,96 → 2
        var even = RollingWindows(window: 4)
        even.reset(0)
        for v in [10, 20, 30, 40] as [Float] { even.push(0, v) }
        #expect(even.median(0) == 25)
        #expect(even.mad(0) == 10)  // deviations 15,5,5,15 → 10
        even.push(0, 25)  // evicts 10: 20,25,30,40
        #expect(even.median(0) == 27.5)
        #expect(even.mad(0) == 5)  // deviations 7.5,2.5,2.5,12.5 → 5
        var one = RollingWindows(window: 1)
        one.reset(0)
        one.push(0, 3)
        one.push(0, 8)
        #expect(one.values(0) == [8])
        #expect(one.median(0) == 8)
        #expect(one.mad(0) == 0)
    }
}
