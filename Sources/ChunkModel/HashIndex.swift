/// An open-addressing table from a 64-bit key (already a good hash) to a slot
/// number, with linear probing and backward-shift deletion, so removal leaves no
/// tombstones and lookups stay short however long the table lives.
///
/// It holds at most `capacity` entries. Buckets start few and double while
/// the table is at most half full, so a table sized for a million keys that
/// holds three hundred stays small enough for the CPU cache; growing is the
/// only time it allocates. Key 0 marks an empty bucket, so callers never store
/// key 0 (`Symbol.none` is 0 for that reason).
public struct HashIndex: Sendable, Codable {
    @usableFromInline var keys: [UInt64]
    @usableFromInline var values: [Int32]
    @usableFromInline var mask: Int
    public var count: Int = 0
    /// The most entries it holds.
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity >= 0 && capacity < Int(Int32.max))
        self.capacity = capacity
        keys = Array(repeating: 0, count: 16)
        values = Array(repeating: -1, count: 16)
        mask = 15
    }

    /// Doubles the buckets and reinserts every entry.
    @usableFromInline
    mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        let buckets = keys.count * 2
        keys = Array(repeating: 0, count: buckets)
        values = Array(repeating: -1, count: buckets)
        mask = buckets - 1
        for i in oldKeys.indices where oldKeys[i] != 0 {
            var j = Int(truncatingIfNeeded: oldKeys[i]) & mask
            while keys[j] != 0 { j = (j + 1) & mask }
            keys[j] = oldKeys[i]
            values[j] = oldValues[i]
        }
    }

    @inlinable
    public func find(_ key: UInt64) -> Int32? {
        var i = Int(truncatingIfNeeded: key) & mask
        return keys.withUnsafeBufferPointer { keys in
            while true {
                let k = keys[i]
                if k == key { return values[i] }
                if k == 0 { return nil }
                i = (i + 1) & mask
            }
        }
    }

    /// Inserts or replaces. The caller keeps `count < capacity` before inserting a new key.
    @inlinable
    public mutating func insert(_ key: UInt64, value: Int32) {
        precondition(key != 0, "key 0 marks an empty bucket")
        var i = Int(truncatingIfNeeded: key) & mask
        while true {
            let k = keys[i]
            if k == key {
                values[i] = value
                return
            }
            if k == 0 {
                precondition(count < capacity, "HashIndex is full")
                if (count + 1) * 2 > keys.count {
                    grow()
                    insert(key, value: value)
                    return
                }
                keys[i] = key
                values[i] = value
                count += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    @discardableResult
    public mutating func remove(_ key: UInt64) -> Int32? {
        var i = Int(truncatingIfNeeded: key) & mask
        while true {
            let k = keys[i]
            if k == 0 { return nil }
            if k == key { break }
            i = (i + 1) & mask
        }
        let removed = values[i]
        // Backward-shift: pull later members of the probe run into the hole.
        var hole = i
        var j = (i + 1) & mask
        while keys[j] != 0 {
            let home = Int(truncatingIfNeeded: keys[j]) & mask
            // Move j into the hole if its home is not in (hole, j] cyclically.
            let distanceHome = (j - home) & mask
            let distanceHole = (j - hole) & mask
            if distanceHome >= distanceHole {
                keys[hole] = keys[j]
                values[hole] = values[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        keys[hole] = 0
        values[hole] = -1
        count -= 1
        return removed
    }

    public mutating func removeAll() {
        for i in keys.indices { keys[i] = 0 }
        count = 0
    }
}

extension HashIndex {
    private enum CodingKeys: String, CodingKey { case keys, values, mask, count, capacity }

    /// Reads a checkpoint's table, refusing one the lookups cannot trust: the
    /// buckets a power of two and at most half full (so every probe ends),
    /// `count` the keys really there, every value a slot below `capacity`,
    /// and every key found where a lookup looks for it, once. A damaged
    /// checkpoint must fail to restore, not loop or trap on the first event.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        keys = try c.decode([UInt64].self, forKey: .keys)
        values = try c.decode([Int32].self, forKey: .values)
        mask = try c.decode(Int.self, forKey: .mask)
        count = try c.decode(Int.self, forKey: .count)
        capacity = try c.decode(Int.self, forKey: .capacity)
        func refuse(_ what: String) -> DecodingError {
            .dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "hash index: \(what)"))
        }
        guard capacity >= 0 && capacity < Int(Int32.max) else { throw refuse("capacity \(capacity) out of range") }
        let buckets = keys.count
        guard buckets >= 16, buckets & (buckets - 1) == 0, values.count == buckets, mask == buckets - 1 else {
            throw refuse("\(buckets) buckets, \(values.count) values and mask \(mask) do not fit together")
        }
        var held = 0
        for i in 0..<buckets where keys[i] != 0 {
            held += 1
            guard values[i] >= 0 && Int(values[i]) < capacity else { throw refuse("slot \(values[i]) outside \(capacity)") }
        }
        guard held == count, count <= capacity, count * 2 <= buckets else {
            throw refuse("\(held) keys in \(buckets) buckets, count \(count), capacity \(capacity)")
        }
        // A lookup for each key stops at that key's own bucket: it is reachable and held once.
        for i in 0..<buckets where keys[i] != 0 {
            var j = Int(truncatingIfNeeded: keys[i]) & mask
            while keys[j] != keys[i] && keys[j] != 0 { j = (j + 1) & mask }
            guard j == i else { throw refuse("a key is not where a lookup finds it, or held twice") }
        }
    }
}
