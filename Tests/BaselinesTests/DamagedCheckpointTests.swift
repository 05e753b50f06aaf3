import Baselines
import ChunkModel
import Foundation
import Testing

/// Baselines read back from a checkpoint must hold together, or fail to
/// restore: the checkpoint fuzz target found damaged checkpoints that
/// restored and then crashed the first event (Fuzz/Regressions/checkpoint:
/// a hash index whose slots, mask or count disagree, a store whose index and
/// recency list name different slots, a profile whose settings trap).
///
/// Each case takes a healthy state through JSON (the same Codable path as the
/// binary checkpoint, with named fields to damage), changes one thing and
/// expects the decode to throw; the healthy state must decode and work.
@Suite struct DamagedCheckpointTests {
    typealias Object = [String: Any]

    func json<T: Encodable>(_ value: T) throws -> Object {
        try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? Object)
    }

    func decode<T: Decodable>(_ type: T.Type, _ object: Object) throws -> T {
        try JSONDecoder().decode(type, from: JSONSerialization.data(withJSONObject: object))
    }

    func index() -> HashIndex {
        var index = HashIndex(capacity: 10)
        for k in 1...5 { index.insert(UInt64(k) * 0x1_0000_0001, value: Int32(k - 1)) }
        return index
    }

    @Test func aHealthyIndexRestoresAndFindsEveryKey() throws {
        let back = try decode(HashIndex.self, try json(index()))
        for k in 1...5 { #expect(back.find(UInt64(k) * 0x1_0000_0001) == Int32(k - 1)) }
        #expect(back.count == 5)
    }

    @Test(arguments: ["count", "mask", "capacity", "value", "misplaced", "duplicate", "full", "buckets"])
    func aDamagedIndexIsRefused(_ damage: String) throws {
        var o = try json(index())
        var keys = try #require(o["keys"] as? [UInt64])
        var values = try #require(o["values"] as? [Int32])
        let used = try #require(keys.indices.first { keys[$0] != 0 })
        switch damage {
        case "count": o["count"] = 4
        case "mask": o["mask"] = 7
        case "capacity": o["capacity"] = 3
        case "value": values[used] = 10
        case "misplaced":
            // The key moved to a bucket before its home: a lookup never reaches it.
            let home = Int(truncatingIfNeeded: keys[used]) & (keys.count - 1)
            let before = (home - 1 + keys.count) & (keys.count - 1)
            if keys[before] == 0 {
                keys[before] = keys[used]
                values[before] = values[used]
                keys[used] = 0
            } else {
                keys[used] = 0
            }
        case "duplicate":
            let free = try #require(keys.indices.first { keys[$0] == 0 && $0 > used })
            keys[free] = keys[used]
            values[free] = values[used]
            o["count"] = 6
        case "full":
            // More than half the buckets: every probe must still end.
            o["capacity"] = 100
            var n = 0
            for i in keys.indices where keys[i] == 0 {
                keys[i] = UInt64(0xABC0_0000 + i) << 8 | UInt64(i)
                values[i] = 0
                n += 1
            }
            o["count"] = 5 + n
        case "buckets":
            keys.removeLast()
            values.removeLast()
        default: Issue.record("unknown damage \(damage)")
        }
        o["keys"] = keys
        o["values"] = values
        #expect(throws: DecodingError.self) { try decode(HashIndex.self, o) }
    }

    func store() -> KeyedStore {
        var store = KeyedStore(capacity: 4)
        for k in 1...4 { _ = store.slot(for: UInt64(k)) }
        return store
    }

    @Test func aHealthyStoreRestoresAndEvictsTheLeastRecent() throws {
        var back = try decode(KeyedStore.self, try json(store()))
        #expect(back.keysByRecency == [4, 3, 2, 1])
        let s = back.slot(for: 9)
        #expect(s.isNew && back.key(at: s.slot) == 9 && back.keysByRecency == [9, 4, 3, 2])
    }

    @Test(arguments: ["missingKey", "cycle", "extraSlot", "otherCapacity"])
    func aStoreWhosePartsDisagreeIsRefused(_ damage: String) throws {
        var o = try json(store())
        switch damage {
        case "missingKey":
            var keys = try #require(o["keys"] as? [UInt64])
            keys[0] = 77
            o["keys"] = keys
        case "cycle":
            var recency = try #require(o["recency"] as? Object)
            var links = try #require(recency["links"] as? [Object])
            let least = try #require(recency["leastRecent"] as? Int)
            let most = try #require(recency["mostRecent"] as? Int)
            links[least]["older"] = most
            recency["links"] = links
            o["recency"] = recency
        case "extraSlot":
            var keys = try #require(o["keys"] as? [UInt64])
            keys.removeLast()
            o["keys"] = keys
        case "otherCapacity":
            o["capacity"] = 8
        default: Issue.record("unknown damage \(damage)")
        }
        #expect(throws: DecodingError.self) { try decode(KeyedStore.self, o) }
    }

    func expiring() -> ExpiringKeyedStore {
        var store = ExpiringKeyedStore(capacity: 5)
        for k in 1...4 { _ = store.slot(for: UInt64(k), at: Int64(k)) }
        _ = store.expire(before: 2) { _, _, _ in }  // slot 0 goes to the free list
        return store
    }

    @Test func aHealthyExpiringStoreRestoresAndReusesItsFreeSlot() throws {
        var back = try decode(ExpiringKeyedStore.self, try json(expiring()))
        #expect(back.keysByRecency == [4, 3, 2])
        let s = back.slot(for: 9, at: 10)
        #expect(s.isNew && s.slot == 0 && back.count == 4)
    }

    @Test(arguments: ["freeInTheList", "freeHeadOutside", "indexCount"])
    func anExpiringStoreWhoseListsOverlapIsRefused(_ damage: String) throws {
        var o = try json(expiring())
        let recency = try #require(o["recency"] as? Object)
        switch damage {
        case "freeInTheList": o["freeHead"] = try #require(recency["mostRecent"] as? Int)
        case "freeHeadOutside": o["freeHead"] = 40
        case "indexCount": o["freeHead"] = -1  // the free slot is then in neither list
        default: Issue.record("unknown damage \(damage)")
        }
        #expect(throws: DecodingError.self) { try decode(ExpiringKeyedStore.self, o) }
    }

    func profile() -> HourOfWeekProfile {
        var p = HourOfWeekProfile(bucket: .seconds(60))
        p.reset(0)
        p.reset(1)
        for b in Int64(29_000_000)..<29_000_200 { p.add(Int(b % 2), bucket: b, value: Double(b % 7)) }
        return p
    }

    @Test func aHealthyProfileRestoresAndGoesOn() throws {
        var back = try decode(HourOfWeekProfile.self, try json(profile()))
        #expect(back.slots == 2 && back.bucketsPerHour == 60)
        back.add(0, bucket: 29_000_400, value: 3)
        #expect(back.expectation(0, bucket: 29_000_401) == profile().advanced(0, to: 29_000_400).expectation(0, bucket: 29_000_401))
    }

    @Test(arguments: ["weight", "negativeWeight", "cells", "hour", "counts", "minHours"])
    func aProfileThatWouldTrapIsRefused(_ damage: String) throws {
        var o = try json(profile())
        switch damage {
        case "weight": o["weight"] = 2.0
        case "negativeWeight": o["weight"] = -0.5
        case "cells":
            var seen = try #require(o["seen"] as? [Int])
            seen.removeLast()
            o["seen"] = seen
        case "hour", "counts":
            var accumulators = try #require(o["accumulators"] as? [Object])
            if damage == "hour" {
                accumulators[0]["hour"] = Int64.max - 3
            } else {
                accumulators[0]["active"] = 1
                accumulators[0]["learnedCount"] = 5
            }
            o["accumulators"] = accumulators
        case "minHours": o["minCellHours"] = -1.0
        default: Issue.record("unknown damage \(damage)")
        }
        #expect(throws: DecodingError.self) { try decode(HourOfWeekProfile.self, o) }
    }
}

extension HourOfWeekProfile {
    fileprivate func advanced(_ slot: Int, to bucket: Int64) -> HourOfWeekProfile {
        var copy = self
        copy.add(slot, bucket: bucket, value: 3)
        return copy
    }
}
