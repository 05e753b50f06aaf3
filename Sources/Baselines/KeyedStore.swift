import ChunkModel

/// Maps baseline keys to slots in fixed-capacity state arrays, evicting the
/// least-recently-seen key when full, so a flood of new principals (or
/// connections) cannot exhaust memory.
///
/// It stores only the key → slot mapping and recency order; a detector keeps
/// its per-key state in its own arrays indexed by slot and resets a slot when
/// `slot(for:)` reports it as new. Nothing allocates once `capacity` slots are in use.
public struct KeyedStore: Sendable, Codable {
    public let capacity: Int
    private var index: HashIndex
    private var keys: [UInt64] = []
    private var recency = RecencyList()
    /// Keys dropped to make room since creation.
    public private(set) var evictions = 0

    public init(capacity: Int) {
        precondition(capacity >= 1, "a keyed store needs room for at least one key")
        self.capacity = capacity
        index = HashIndex(capacity: capacity)
    }

    public var count: Int { index.count }

    /// The slot for `key`, marking it most recently seen. `isNew` is true when
    /// the slot's state must be reset: the key is new, and when the store was
    /// full it took the slot of the least recently seen key.
    public mutating func slot(for rawKey: UInt64) -> (slot: Int, isNew: Bool) {
        let key = Self.storable(rawKey)
        if let s = index.find(key) {
            touch(s)
            return (Int(s), false)
        }
        return (insert(key), true)
    }

    /// The slot of `key` if it is tracked, without changing its recency.
    public func existingSlot(for rawKey: UInt64) -> Int? {
        index.find(Self.storable(rawKey)).map(Int.init)
    }

    /// The key held in `slot`.
    public func key(at slot: Int) -> UInt64 {
        let k = keys[slot]
        return k == Self.zeroStandIn ? 0 : k
    }

    /// `HashIndex` reserves 0 for empty buckets, so key 0 is stored as a fixed
    /// odd constant; that constant meeting a real key is as likely as any other
    /// 64-bit hash collision.
    static let zeroStandIn: UInt64 = 0x9E37_79B9_7F4A_7C15

    static func storable(_ key: UInt64) -> UInt64 { key == 0 ? zeroStandIn : key }

    mutating func touch(_ s: Int32) { recency.touch(s) }

    mutating func insert(_ key: UInt64) -> Int {
        let s: Int32
        if keys.count < capacity {
            s = Int32(keys.count)
            keys.append(key)
            recency.addSlot()
        } else {
            s = recency.leastRecent
            index.remove(keys[Int(s)])
            recency.unlink(s)
            keys[Int(s)] = key
            evictions += 1
        }
        index.insert(key, value: s)
        recency.linkFront(s)
        return Int(s)
    }

    /// Keys from most to least recently seen (allocates; for tests and snapshots).
    public var keysByRecency: [UInt64] {
        var out: [UInt64] = []
        var s = recency.mostRecent
        while s >= 0 {
            out.append(key(at: Int(s)))
            s = recency.older(than: s)
        }
        return out
    }
}

extension KeyedStore {
    private enum CodingKeys: String, CodingKey { case capacity, index, keys, recency, evictions }

    /// Reads a checkpoint's store, refusing one whose parts disagree: every
    /// slot's key in the index at that slot and nothing else there, every
    /// slot once in the recency list. A damaged checkpoint must fail to
    /// restore rather than evict through a broken list or overfill the index.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        capacity = try c.decode(Int.self, forKey: .capacity)
        index = try c.decode(HashIndex.self, forKey: .index)
        keys = try c.decode([UInt64].self, forKey: .keys)
        recency = try c.decode(RecencyList.self, forKey: .recency)
        evictions = try c.decode(Int.self, forKey: .evictions)
        guard capacity >= 1, index.capacity == capacity, keys.count <= capacity, evictions >= 0,
            recency.slotCount == keys.count, let chains = recency.chains(), chains.linked == keys.count,
            index.count == keys.count, keys.indices.allSatisfy({ keys[$0] != 0 && index.find(keys[$0]) == Int32($0) })
        else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription: "keyed store: \(keys.count) keys, \(index.count) indexed, capacity \(capacity), not one slot each"))
        }
    }
}
