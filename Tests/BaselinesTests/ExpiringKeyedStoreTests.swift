import Baselines
import ChunkModel
import Testing

/// The obvious model: a recency list of (key, stamp), most recent first.
struct NaiveExpiring {
    let capacity: Int
    var entries: [(key: UInt64, stamp: Int64)] = []
    var evictions = 0
    var expirations = 0

    mutating func slot(for key: UInt64, at time: Int64) -> (isNew: Bool, evicted: UInt64?) {
        if entries.contains(where: { $0.key == key }) { return (false, nil) }
        var evicted: UInt64?
        if entries.count == capacity {
            evicted = entries.removeLast().key
            evictions += 1
        }
        entries.insert((key, time), at: 0)
        return (true, evicted)
    }

    mutating func restamp(_ key: UInt64, at time: Int64) {
        let i = entries.firstIndex { $0.key == key }!
        var e = entries.remove(at: i)
        e.stamp = max(e.stamp, time)
        entries.insert(e, at: 0)
    }

    mutating func expire(before horizon: Int64) -> [UInt64] {
        var gone: [UInt64] = []
        while let last = entries.last, last.stamp < horizon {
            gone.append(last.key)
            entries.removeLast()
        }
        expirations += gone.count
        return gone
    }
}

@Suite("ExpiringKeyedStore: bounded keys that leave with event time")
struct ExpiringKeyedStoreTests {
    @Test(arguments: [1, 2, 3, 8, 33])
    func randomUseMatchesTheModel(capacity: Int) {
        var rng = SplitMix64(seed: UInt64(capacity) * 7 + 1)
        var store = ExpiringKeyedStore(capacity: capacity)
        var model = NaiveExpiring(capacity: capacity)
        var slots: [UInt64: Int] = [:]
        var time: Int64 = 0
        let universe = (0..<(3 * capacity + 4)).map { UInt64($0) }  // key 0 included
        for step in 0..<4000 {
            time += Int64(rng.next() % 4)
            let key = universe[Int(rng.next() % UInt64(universe.count))]
            switch rng.next() % 10 {
            case 0...5:
                let (slot, isNew, evicted) = store.slot(for: key, at: time)
                let (modelNew, modelEvicted) = model.slot(for: key, at: time)
                #expect(isNew == modelNew && evicted == modelEvicted, "step \(step)")
                if let evicted { slots[evicted] = nil }
                if isNew {
                    #expect(!slots.values.contains(slot), "slot \(slot) handed out twice")
                    slots[key] = slot
                } else {
                    #expect(slots[key] == slot)
                }
            case 6...7:
                if let slot = slots[key] {
                    store.restamp(slot, at: time)
                    model.restamp(key, at: time)
                }
            default:
                let horizon = time - Int64(rng.next() % 20)
                var gone: [UInt64] = []
                store.expire(before: horizon) { slot, key, stamp in
                    #expect(slots[key] == slot && stamp < horizon)
                    gone.append(key)
                }
                #expect(gone == model.expire(before: horizon), "step \(step)")
                for k in gone { slots[k] = nil }
            }
            #expect(store.count == model.entries.count)
            #expect(store.keysByRecency == model.entries.map(\.key), "step \(step)")
            #expect(store.evictions == model.evictions && store.expirations == model.expirations)
            #expect(store.slotsInUse <= capacity)
            for (k, s) in slots {
                #expect(store.existingSlot(for: k) == s && store.key(at: s) == k)
                #expect(store.stamp(at: s) == model.entries.first { $0.key == k }!.stamp)
            }
        }
    }

    @Test func expireStopsAtTheLimitAndAtTheFirstLiveKey() {
        var store = ExpiringKeyedStore(capacity: 10)
        for k in 1...6 { _ = store.slot(for: UInt64(k), at: Int64(k)) }
        #expect(store.expire(before: 5, limit: 2) { _, _, _ in } == 2)
        #expect(store.oldestStamp == 3)
        #expect(store.expire(before: 5) { _, _, _ in } == 2)
        #expect(store.count == 2 && store.expirations == 4 && store.evictions == 0)
        // Freed slots are reused before the store grows.
        for k in 7...10 { _ = store.slot(for: UInt64(k), at: 7) }
        #expect(store.slotsInUse == 6)
    }
}
