import ChunkModel
import Testing

@Suite("HashIndex against a Dictionary")
struct HashIndexTests {
    func check(_ index: HashIndex, _ model: [UInt64: Int32], universe: [UInt64], _ context: @autoclosure () -> String) {
        #expect(index.count == model.count, "\(context())")
        for key in universe where index.find(key) != model[key] {
            Issue.record("find(\(key)) = \(String(describing: index.find(key))), want \(String(describing: model[key])): \(context())")
        }
    }

    /// Keys whose low bits fall on few buckets, including the last buckets of
    /// the table so probe runs wrap around to bucket 0.
    static func collidingKeys(mask: Int, count: Int, _ rng: inout SplitMix64) -> [UInt64] {
        let homes = [0, 1, 2, mask - 1, mask, mask / 2]
        var keys = Set<UInt64>()
        while keys.count < count {
            let high = UInt64.random(in: 1...UInt64(UInt32.max), using: &rng) << 16
            keys.insert(high | UInt64(homes.randomElement(using: &rng)!))
        }
        return Array(keys)
    }

    @Test(arguments: [1, 3, 4, 8, 64, 100])
    func randomOperationsMatchADictionary(capacity: Int) {
        var rng = SplitMix64(seed: UInt64(capacity) + 17)
        var buckets = 8
        while buckets < capacity * 2 { buckets <<= 1 }
        let mask = buckets - 1
        let universes = [
            Self.collidingKeys(mask: mask, count: capacity * 2 + 3, &rng),
            (0..<(capacity * 2 + 3)).map { _ in UInt64.random(in: 1...UInt64.max, using: &rng) },
            (1...UInt64(capacity * 2 + 3)).map { $0 },
        ]
        for (u, universe) in universes.enumerated() {
            var index = HashIndex(capacity: capacity)
            #expect(index.capacity == capacity)
            var model: [UInt64: Int32] = [:]
            for step in 0..<(min(capacity, 16) * 60 + 300) {
                let key = universe.randomElement(using: &rng)!
                switch Int.random(in: 0..<5, using: &rng) {
                case 0, 1:
                    // Insert or replace, keeping count within capacity as callers must.
                    if model[key] != nil || model.count < capacity {
                        let value = Int32.random(in: 0...Int32.max, using: &rng)
                        index.insert(key, value: value)
                        model[key] = value
                    }
                case 2, 3:
                    #expect(index.remove(key) == model.removeValue(forKey: key), "remove \(key)")
                default:
                    #expect(index.find(key) == model[key])
                }
                check(index, model, universe: universe, "capacity \(capacity), universe \(u), step \(step)")
            }
            index.removeAll()
            #expect(index.count == 0)
            for key in universe { #expect(index.find(key) == nil) }
            // Usable again after removeAll.
            index.insert(universe[0], value: 9)
            #expect(index.find(universe[0]) == 9)
        }
    }

    @Test func backwardShiftKeepsEveryRunMemberReachable() {
        // Eight buckets (capacity 4): build runs that wrap from bucket 7 to 0
        // and remove each member in turn.
        let homes: [[Int]] = [[7, 7, 0, 0], [6, 7, 7, 6], [7, 0, 7, 1], [0, 0, 0, 0], [5, 6, 7, 0]]
        for hs in homes {
            let keys = hs.enumerated().map { UInt64($0.offset + 1) << 8 | UInt64($0.element) }
            for removed in keys.indices {
                for order in [keys, keys.reversed()] {
                    var index = HashIndex(capacity: 4)
                    for (i, k) in order.enumerated() { index.insert(k, value: Int32(i)) }
                    let expectedValue = Int32(order.firstIndex(of: keys[removed])!)
                    #expect(index.remove(keys[removed]) == expectedValue)
                    #expect(index.find(keys[removed]) == nil)
                    for (i, k) in order.enumerated() where k != keys[removed] {
                        #expect(index.find(k) == Int32(i), "homes \(hs), removed \(removed), key \(k)")
                    }
                    #expect(index.count == 3)
                    #expect(index.remove(keys[removed]) == nil, "removing twice")
                    #expect(index.count == 3)
                }
            }
        }
    }

    @Test func fillToCapacityThenEmpty() {
        for capacity in [1, 2, 7, 16] {
            var index = HashIndex(capacity: capacity)
            let keys = (0..<capacity).map { UInt64($0 + 1) << 20 | 3 }  // all in one bucket
            for (i, k) in keys.enumerated() { index.insert(k, value: Int32(i)) }
            #expect(index.count == capacity)
            for (i, k) in keys.enumerated() { #expect(index.find(k) == Int32(i)) }
            #expect(index.find(UInt64(capacity + 5) << 20 | 3) == nil)
            for (i, k) in keys.enumerated().reversed() { #expect(index.remove(k) == Int32(i)) }
            #expect(index.count == 0)
        }
    }
}
