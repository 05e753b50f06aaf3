import Baselines
import ChunkModel
import Testing

/// The obvious model of a bounded key → slot map with least-recently-seen eviction.
struct NaiveLRU {
    let capacity: Int
    var recency: [UInt64] = []  // most recent first
    var slots: [UInt64: Int] = [:]
    var evictions = 0

    mutating func slot(for key: UInt64) -> (slot: Int, isNew: Bool) {
        if let s = slots[key] {
            recency.removeAll { $0 == key }
            recency.insert(key, at: 0)
            return (s, false)
        }
        let s: Int
        if slots.count < capacity {
            s = slots.count
        } else {
            let victim = recency.removeLast()
            s = slots.removeValue(forKey: victim)!
            evictions += 1
        }
        slots[key] = s
        recency.insert(key, at: 0)
        return (s, true)
    }
}

@Suite("KeyedStore: bounded keys, least-recently-seen eviction")
struct KeyedStoreTests {
    func check(_ store: KeyedStore, _ model: NaiveLRU, universe: [UInt64], _ context: @autoclosure () -> String) {
        #expect(store.count == model.slots.count, "\(context())")
        #expect(store.evictions == model.evictions, "\(context())")
        #expect(store.keysByRecency == model.recency, "\(context())")
        for key in universe where store.existingSlot(for: key) != model.slots[key] {
            Issue.record("existingSlot(\(key)) = \(String(describing: store.existingSlot(for: key))), want \(String(describing: model.slots[key])): \(context())")
        }
        for (key, slot) in model.slots where store.key(at: slot) != key {
            Issue.record("key(at: \(slot)) = \(store.key(at: slot)), want \(key): \(context())")
        }
    }

    /// Key sets: small integers, random 64-bit, and keys sharing their low bits
    /// (the same home bucket in the store's hash index).
    static func universe(_ kind: Int, _ size: Int, _ rng: inout SplitMix64) -> [UInt64] {
        switch kind {
        case 0: return (0..<size).map { UInt64($0) + 2 }
        case 1: return (0..<size).map { _ in UInt64.random(in: 2...UInt64.max, using: &rng) }
        default: return (0..<size).map { UInt64($0 + 1) << 32 | 0x5 }
        }
    }

    @Test(arguments: 1...5)
    func randomAccessMatchesTheModel(capacity: Int) {
        var rng = SplitMix64(seed: UInt64(capacity) * 31)
        for kind in 0...2 {
            for universeSize in [capacity, capacity + 1, capacity + 3, 3 * capacity + 5] {
                let universe = Self.universe(kind, universeSize, &rng)
                var store = KeyedStore(capacity: capacity)
                var model = NaiveLRU(capacity: capacity)
                check(store, model, universe: universe, "empty")
                for step in 0..<300 {
                    // Skewed access: a few hot keys and a cold tail.
                    let key = Bool.random(using: &rng)
                        ? universe[Int.random(in: 0..<min(2, universe.count), using: &rng)]
                        : universe.randomElement(using: &rng)!
                    let got = store.slot(for: key)
                    let want = model.slot(for: key)
                    #expect(got == want, "capacity \(capacity), kind \(kind), step \(step), key \(key)")
                    #expect(got.slot >= 0 && got.slot < capacity)
                    check(store, model, universe: universe, "capacity \(capacity), kind \(kind), universe \(universeSize), step \(step)")
                }
            }
        }
    }

    @Test func touchingAKeyProtectsItFromEviction() {
        var store = KeyedStore(capacity: 3)
        #expect(store.slot(for: 10) == (0, true))
        #expect(store.slot(for: 20) == (1, true))
        #expect(store.slot(for: 30) == (2, true))
        #expect(store.keysByRecency == [30, 20, 10])
        #expect(store.slot(for: 10) == (0, false))  // 10 is now the most recent
        #expect(store.keysByRecency == [10, 30, 20])
        #expect(store.slot(for: 40) == (1, true))  // evicts 20, the least recently seen, reusing its slot
        #expect(store.evictions == 1)
        #expect(store.existingSlot(for: 20) == nil)
        #expect(store.existingSlot(for: 10) == 0)
        #expect(store.keysByRecency == [40, 10, 30])
        // existingSlot does not count as seeing the key.
        #expect(store.existingSlot(for: 30) == 2)
        #expect(store.slot(for: 50) == (2, true))  // evicts 30 despite the lookup
        #expect(store.evictions == 2)
        #expect(store.keysByRecency == [50, 40, 10])
        // A returning key is new again and gets the slot of the current LRU.
        #expect(store.slot(for: 20) == (0, true))
        #expect(store.key(at: 0) == 20)
        #expect(store.evictions == 3)
        #expect(store.count == 3)
    }

    @Test func capacityOneAlternatingKeys() {
        var store = KeyedStore(capacity: 1)
        for i in 0..<10 {
            let key = UInt64(i % 2 + 100)
            #expect(store.slot(for: key) == (0, true))
            #expect(store.slot(for: key) == (0, false))
            #expect(store.evictions == i)
            #expect(store.keysByRecency == [key])
        }
    }

    @Test func keyZeroIsAnOrdinaryKey() {
        var store = KeyedStore(capacity: 2)
        #expect(store.slot(for: 0) == (0, true))
        #expect(store.slot(for: 0) == (0, false))
        #expect(store.existingSlot(for: 0) == 0)
        #expect(store.slot(for: UInt64.max) == (1, true))
        #expect(store.slot(for: 0) == (0, false))
        #expect(store.slot(for: 7) == (1, true), "UInt64.max was the least recent")
        #expect(store.existingSlot(for: 0) == 0)
    }

    /// Keys 0 and 1 are different keys, so they need different slots and
    /// separate baselines, and `key(at:)` must give back the key that was stored.
    @Test func keyZeroAndKeyOneAreDistinct() {
        var store = KeyedStore(capacity: 4)
        #expect(store.slot(for: 0) == (0, true))
        #expect(store.slot(for: 1) == (1, true), "key 1 must not share key 0's slot")
        #expect(store.count == 2)
        #expect(store.key(at: 0) == 0)
        #expect(store.keysByRecency == [1, 0])
    }

    @Test func manyKeysThroughASmallStore() {
        // A flood of distinct keys: memory stays bounded, every new key evicts one.
        var store = KeyedStore(capacity: 64)
        var rng = SplitMix64(seed: 5)
        for i in 0..<10_000 {
            let (slot, isNew) = store.slot(for: UInt64.random(in: 2...UInt64.max, using: &rng))
            #expect(isNew)
            #expect(slot < 64)
            if i < 64 { #expect(slot == i, "slots are handed out in order until full") }
        }
        #expect(store.count == 64)
        #expect(store.evictions == 10_000 - 64)
        #expect(store.keysByRecency.count == 64)
    }
}
