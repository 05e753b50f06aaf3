import ChunkModel

/// A `KeyedStore` whose keys also carry an event time and leave on their own:
/// maps keys to slots in fixed-capacity state arrays, remembers when each key
/// was stamped, and drops keys whose stamp falls behind a horizon.
///
/// For state that belongs to something short-lived — a chunk waiting for its
/// copy from the next hop, a connection's sequence numbers — where a key that
/// nobody will ask about again should free its slot without waiting to be
/// pushed out by newer keys. Keys sit in a list from most to least recently
/// stamped; `expire(before:_:)` walks it from the old end, so it costs one step
/// per expired key and stops at the first live one. When all `capacity` slots
/// are live, a new key takes the least recently stamped key's slot (counted in
/// `evictions`). Nothing allocates once `capacity` slots have been used.
///
/// Stamps are expected to arrive roughly in time order (event time of one
/// stream). A key stamped out of order sits where it was stamped, so it may
/// outlive its horizon until the keys stamped before it have expired.
public struct ExpiringKeyedStore: Sendable, Codable {
    public let capacity: Int
    private var index: HashIndex
    private var keys: [UInt64] = []
    private var stamps: [Int64] = []
    // Most to least recently stamped; freed slots are chained from `freeHead`.
    private var recency = RecencyList()
    private var freeHead: Int32 = -1
    /// Keys dropped to make room for new ones since creation.
    public private(set) var evictions = 0
    /// Keys dropped by `expire(before:_:)` since creation.
    public private(set) var expirations = 0

    public init(capacity: Int) {
        precondition(capacity >= 1, "a keyed store needs room for at least one key")
        self.capacity = capacity
        index = HashIndex(capacity: capacity)
    }

    /// Keys held now.
    public var count: Int { index.count }

    /// Slots ever used: per-slot state arrays need this many entries.
    public var slotsInUse: Int { keys.count }

    /// The slot for `key`, as it is when the key is held. A new key is stamped
    /// `time` and goes to the recent end; `isNew` tells the caller to reset the
    /// slot's state, and `evicted` is the key whose slot it took when the store
    /// was full (nil otherwise).
    public mutating func slot(for rawKey: UInt64, at time: Int64) -> (slot: Int, isNew: Bool, evicted: UInt64?) {
        let key = Self.storable(rawKey)
        if let s = index.find(key) { return (Int(s), false, nil) }
        let (s, evicted) = insert(key, time)
        return (s, true, evicted)
    }

    /// Marks `slot` seen at `time`: its stamp becomes the later of the two and
    /// it moves to the recent end.
    public mutating func restamp(_ slot: Int, at time: Int64) {
        if time > stamps[slot] { stamps[slot] = time }
        recency.touch(Int32(slot))
    }

    /// The slot of `key` if it is held, without changing anything.
    public func existingSlot(for rawKey: UInt64) -> Int? {
        index.find(Self.storable(rawKey)).map(Int.init)
    }

    /// The key held in `slot`.
    public func key(at slot: Int) -> UInt64 {
        let k = keys[slot]
        return k == Self.zeroStandIn ? 0 : k
    }

    /// The event time `slot` was last stamped with.
    public func stamp(at slot: Int) -> Int64 { stamps[slot] }

    /// Removes `slot`'s key (its slot becomes free for the next new key).
    public mutating func remove(slot s: Int) {
        let s32 = Int32(s)
        index.remove(keys[s])
        recency.unlink(s32)
        keys[s] = 0
        recency.pushFree(s32, onto: &freeHead)
    }

    /// Removes, oldest first, every key stamped before `horizon` that is not
    /// behind a younger one (see the type's note on order), calling `body`
    /// with each slot, key and stamp just before it goes, at most `limit` of
    /// them. `body` must not touch the store. Returns how many it removed.
    @discardableResult
    public mutating func expire(
        before horizon: Int64, limit: Int = .max, _ body: (_ slot: Int, _ key: UInt64, _ stamp: Int64) -> Void
    ) -> Int {
        var removed = 0
        while removed < limit, recency.leastRecent >= 0, stamps[Int(recency.leastRecent)] < horizon {
            let s = Int(recency.leastRecent)
            body(s, key(at: s), stamps[s])
            remove(slot: s)
            removed += 1
        }
        expirations += removed
        return removed
    }

    /// The stamp of the least recently stamped key, nil when empty.
    public var oldestStamp: Int64? { recency.leastRecent >= 0 ? stamps[Int(recency.leastRecent)] : nil }

    /// Keys from most to least recently stamped (allocates; for tests).
    public var keysByRecency: [UInt64] {
        var out: [UInt64] = []
        var s = recency.mostRecent
        while s >= 0 {
            out.append(key(at: Int(s)))
            s = recency.older(than: s)
        }
        return out
    }

    // MARK: - Internals

    /// As in `KeyedStore`: `HashIndex` reserves 0, so key 0 is stored as a constant.
    static let zeroStandIn: UInt64 = 0x9E37_79B9_7F4A_7C15

    static func storable(_ key: UInt64) -> UInt64 { key == 0 ? zeroStandIn : key }

    private mutating func insert(_ key: UInt64, _ time: Int64) -> (Int, UInt64?) {
        let s: Int32
        var evicted: UInt64?
        if let free = recency.popFree(&freeHead) {
            s = free
            keys[Int(s)] = key
            stamps[Int(s)] = time
        } else if keys.count < capacity {
            s = Int32(keys.count)
            keys.append(key)
            stamps.append(time)
            recency.addSlot()
        } else {
            s = recency.leastRecent
            let old = keys[Int(s)]
            evicted = old == Self.zeroStandIn ? 0 : old
            index.remove(old)
            recency.unlink(s)
            keys[Int(s)] = key
            stamps[Int(s)] = time
            evictions += 1
        }
        index.insert(key, value: s)
        recency.linkFront(s)
        return (Int(s), evicted)
    }
}

extension ExpiringKeyedStore {
    private enum CodingKeys: String, CodingKey { case capacity, index, keys, stamps, recency, freeHead, evictions, expirations }

    /// Reads a checkpoint's store, refusing one whose parts disagree: every
    /// slot either in the recency list (its key in the index at that slot) or
    /// in the free list, and the index holding nothing else (see `KeyedStore`).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        capacity = try c.decode(Int.self, forKey: .capacity)
        index = try c.decode(HashIndex.self, forKey: .index)
        keys = try c.decode([UInt64].self, forKey: .keys)
        stamps = try c.decode([Int64].self, forKey: .stamps)
        recency = try c.decode(RecencyList.self, forKey: .recency)
        freeHead = try c.decode(Int32.self, forKey: .freeHead)
        evictions = try c.decode(Int.self, forKey: .evictions)
        expirations = try c.decode(Int.self, forKey: .expirations)
        func linkedSlotsIndexed() -> Bool {
            var s = recency.mostRecent
            while s >= 0 {
                guard keys[Int(s)] != 0, index.find(keys[Int(s)]) == s else { return false }
                s = recency.older(than: s)
            }
            return true
        }
        guard capacity >= 1, index.capacity == capacity, keys.count <= capacity, stamps.count == keys.count,
            evictions >= 0, expirations >= 0, freeHead >= -1, recency.slotCount == keys.count,
            let chains = recency.chains(freeHead: freeHead), chains.linked + chains.free == keys.count,
            index.count == chains.linked, linkedSlotsIndexed()
        else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription: "expiring keyed store: \(keys.count) slots, \(index.count) indexed, capacity \(capacity), not one slot each"))
        }
    }
}
