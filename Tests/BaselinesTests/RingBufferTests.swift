import Baselines
import Testing

/// Every capacity 0…10 and every start slot (STYLE item 4), checked against an
/// array model after each operation.
@Suite("RingBuffer in every layout")
struct RingBufferTests {
    static let layouts: [(capacity: Int, start: Int)] = (0...10).flatMap { c in (0..<max(c, 1)).map { (c, $0) } }

    /// Checks every observable of `ring` against `model` (oldest first).
    func check(_ ring: borrowing RingBuffer<Int>, _ model: [Int], _ context: @autoclosure () -> String) {
        #expect(ring.count == model.count, "\(context())")
        #expect(ring.isEmpty == model.isEmpty, "\(context())")
        #expect(ring.isFull == (model.count == ring.capacity), "\(context())")
        #expect(ring.elements == model, "\(context())")
        #expect(ring.first == model.first, "\(context())")
        #expect(ring.last == model.last, "\(context())")
        for i in model.indices where ring[i] != model[i] {
            Issue.record("ring[\(i)] = \(ring[i]), want \(model[i]): \(context())")
        }
    }

    @Test func pushBeyondCapacityEvictsOldestFirst() {
        for (capacity, start) in Self.layouts {
            var ring = RingBuffer<Int>(capacity: capacity, startSlot: start)
            #expect(ring.capacity == capacity)
            var model: [Int] = []
            check(ring, model, "empty, capacity \(capacity), start \(start)")
            for value in 1...(3 * capacity + 4) {
                let evicted = ring.push(value)
                if capacity == 0 {
                    #expect(evicted == value, "a ring of capacity 0 hands the element straight back")
                } else if model.count == capacity {
                    #expect(evicted == model.removeFirst(), "capacity \(capacity), start \(start), push \(value)")
                    model.append(value)
                } else {
                    #expect(evicted == nil)
                    model.append(value)
                }
                check(ring, model, "capacity \(capacity), start \(start), after pushing \(value)")
            }
        }
    }

    @Test func popFirstInterleavedWithPushes() {
        var rng = SplitMix64(seed: 99)
        for (capacity, start) in Self.layouts {
            for round in 0..<4 {
                var ring = RingBuffer<Int>(capacity: capacity, startSlot: start)
                var model: [Int] = []
                var next = 0
                for step in 0..<(8 * capacity + 10) {
                    if Int.random(in: 0..<3, using: &rng) == 0 {
                        #expect(ring.popFirst() == (model.isEmpty ? nil : model.removeFirst()))
                    } else {
                        next += 1
                        let evicted = ring.push(next)
                        if capacity == 0 {
                            #expect(evicted == next)
                        } else if model.count == capacity {
                            #expect(evicted == model.removeFirst())
                            model.append(next)
                        } else {
                            #expect(evicted == nil)
                            model.append(next)
                        }
                    }
                    check(ring, model, "capacity \(capacity), start \(start), round \(round), step \(step)")
                }
                // Drain completely, then fill again: the ring works after emptying.
                while let v = ring.popFirst() { #expect(v == model.removeFirst()) }
                #expect(model.isEmpty)
                #expect(ring.popFirst() == nil)
                for v in 0..<(capacity + 2) {
                    ring.push(1000 + v)
                    if capacity > 0 {
                        model.append(1000 + v)
                        if model.count > capacity { model.removeFirst() }
                    }
                }
                check(ring, model, "capacity \(capacity), start \(start), refilled")
            }
        }
    }

    @Test func removeAllAndSubscriptSet() {
        for (capacity, start) in Self.layouts {
            var ring = RingBuffer<Int>(capacity: capacity, startSlot: start)
            var model: [Int] = []
            for v in 0..<(capacity + capacity / 2) {
                ring.push(v)
                model.append(v)
                if model.count > capacity { model.removeFirst() }
            }
            if capacity == 0 { model = [] }
            for i in model.indices {
                ring[i] = -i
                model[i] = -i
            }
            check(ring, model, "capacity \(capacity), start \(start), after writes")
            ring.removeAll()
            check(ring, [], "capacity \(capacity), start \(start), after removeAll")
            ring.removeAll()
            #expect(ring.count == 0)
            for v in 0..<capacity { ring.push(v) }
            check(ring, Array(0..<capacity), "capacity \(capacity), start \(start), refilled after removeAll")
        }
    }

    @Test func classElementsAreReleasedExactlyOnce() {
        final class Counter { var live = 0; var created = 0 }
        final class Tracked {
            let counter: Counter
            let id: Int
            init(_ counter: Counter, _ id: Int) {
                self.counter = counter
                self.id = id
                counter.live += 1
                counter.created += 1
            }
            deinit { counter.live -= 1 }
        }
        for (capacity, start) in Self.layouts {
            for popCount in [0, 1, capacity / 2, capacity] {
                let counter = Counter()
                do {
                    var ring = RingBuffer<Tracked>(capacity: capacity, startSlot: start)
                    var kept: [Tracked] = []
                    for i in 0..<(2 * capacity + 3) {
                        let element = Tracked(counter, i)
                        if let evicted = ring.push(element) {
                            // The evicted element is the oldest, handed back alive.
                            #expect(evicted.id == (capacity == 0 ? i : i - capacity))
                            if i % 3 == 0 { kept.append(evicted) }
                        }
                    }
                    #expect(counter.live == ring.count + kept.count, "capacity \(capacity), start \(start)")
                    for _ in 0..<popCount { _ = ring.popFirst() }
                    #expect(counter.live == ring.count + kept.count)
                    #expect(ring.elements.map(\.id) == Array((2 * capacity + 3 - ring.count)..<(2 * capacity + 3)))
                    kept.removeAll()
                    #expect(counter.live == ring.count)
                    // `ring` is dropped here with elements still in it.
                }
                #expect(counter.live == 0, "capacity \(capacity), start \(start), pops \(popCount): leaked or over-released")
                #expect(counter.created == 2 * capacity + 3)
            }
        }
    }

    @Test func removeAllReleasesClassElements() {
        final class Box { let onDeinit: () -> Void; init(_ f: @escaping () -> Void) { onDeinit = f }; deinit { onDeinit() } }
        for (capacity, start) in Self.layouts where capacity > 0 {
            var released = 0
            var ring = RingBuffer<Box>(capacity: capacity, startSlot: start)
            for _ in 0..<capacity { ring.push(Box { released += 1 }) }
            #expect(released == 0)
            ring.removeAll()
            #expect(released == capacity, "capacity \(capacity), start \(start)")
        }
    }
}
