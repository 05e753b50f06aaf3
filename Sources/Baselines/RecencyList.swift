/// A doubly linked list through slot numbers, from the most to the least
/// recently used slot: the bookkeeping behind least-recently-seen eviction,
/// kept in one flat array so moving a slot to the front allocates nothing.
///
/// Every keyed detector moves a slot to the front on every event, so each
/// operation goes through the storage once (one uniqueness check for the whole
/// relinking rather than one per link written, which profiles showed at about
/// a tenth of a backfill).
struct RecencyList: Sendable, Codable {
    /// A slot's neighbours, -1 at either end (and for unlinked slots).
    struct Links: Sendable, Codable {
        var newer: Int32 = -1
        var older: Int32 = -1
    }

    private var links: [Links] = []
    private(set) var mostRecent: Int32 = -1
    private(set) var leastRecent: Int32 = -1

    /// Makes room for one more slot (slots are added in order), not yet linked.
    mutating func addSlot() {
        links.append(Links())
    }

    /// The slot used just before `s`, or -1.
    func older(than s: Int32) -> Int32 { links[Int(s)].older }

    /// Moves a linked slot to the front.
    mutating func touch(_ s: Int32) {
        guard s != mostRecent else { return }
        links.withUnsafeMutableBufferPointer { l in
            Self.unlink(s, &l, &mostRecent, &leastRecent)
            Self.linkFront(s, &l, &mostRecent, &leastRecent)
        }
    }

    mutating func unlink(_ s: Int32) {
        links.withUnsafeMutableBufferPointer { l in Self.unlink(s, &l, &mostRecent, &leastRecent) }
    }

    mutating func linkFront(_ s: Int32) {
        links.withUnsafeMutableBufferPointer { l in Self.linkFront(s, &l, &mostRecent, &leastRecent) }
    }

    /// Chains an unlinked slot onto a free list whose head is `head` (through `older`).
    mutating func pushFree(_ s: Int32, onto head: inout Int32) {
        links[Int(s)].older = head
        head = s
    }

    /// Takes the first slot of a free list, or nil.
    mutating func popFree(_ head: inout Int32) -> Int32? {
        guard head >= 0 else { return nil }
        let s = head
        head = links[Int(s)].older
        links[Int(s)].older = -1
        return s
    }

    // The list surgery, on storage already made unique. Slots are only ever
    // ones handed out by `addSlot`, so the indices are in range.

    @inline(__always)
    private static func unlink(
        _ s: Int32, _ l: inout UnsafeMutableBufferPointer<Links>, _ mostRecent: inout Int32, _ leastRecent: inout Int32
    ) {
        let n = l[Int(s)].newer
        let o = l[Int(s)].older
        if n >= 0 { l[Int(n)].older = o } else { mostRecent = o }
        if o >= 0 { l[Int(o)].newer = n } else { leastRecent = n }
        l[Int(s)] = Links()
    }

    @inline(__always)
    private static func linkFront(
        _ s: Int32, _ l: inout UnsafeMutableBufferPointer<Links>, _ mostRecent: inout Int32, _ leastRecent: inout Int32
    ) {
        l[Int(s)] = Links(newer: -1, older: mostRecent)
        if mostRecent >= 0 { l[Int(mostRecent)].newer = s }
        mostRecent = s
        if leastRecent < 0 { leastRecent = s }
    }
}

extension RecencyList {
    private enum CodingKeys: String, CodingKey { case links, mostRecent, leastRecent }

    /// Reads a checkpoint's list, refusing links outside its slots: the list
    /// surgery trusts its indices, and a damaged checkpoint must fail to
    /// restore rather than write outside the storage later.
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        links = try c.decode([Links].self, forKey: .links)
        mostRecent = try c.decode(Int32.self, forKey: .mostRecent)
        leastRecent = try c.decode(Int32.self, forKey: .leastRecent)
        let slots = links.count
        func valid(_ s: Int32) -> Bool { s >= -1 && Int(s) < slots }
        guard valid(mostRecent), valid(leastRecent), links.allSatisfy({ valid($0.newer) && valid($0.older) }) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "recency links outside the \(slots) slots"))
        }
    }
}

extension RecencyList {
    /// Slots with room made by `addSlot`.
    var slotCount: Int { links.count }

    /// Checks a decoded list against what the stores' surgery relies on: from
    /// `mostRecent` the `older` links run through distinct slots to
    /// `leastRecent`, each slot's `newer` pointing back, and the free list
    /// from `freeHead` runs through other distinct slots. Returns how many
    /// slots each holds, or nil when they are not such lists.
    func chains(freeHead: Int32 = -1) -> (linked: Int, free: Int)? {
        var seen = [Bool](repeating: false, count: links.count)
        var linked = 0
        var previous: Int32 = -1
        var s = mostRecent
        while s >= 0 {
            guard !seen[Int(s)], links[Int(s)].newer == previous else { return nil }
            seen[Int(s)] = true
            linked += 1
            previous = s
            s = links[Int(s)].older
        }
        guard previous == leastRecent else { return nil }
        var free = 0
        var f = freeHead
        while f >= 0 {
            guard Int(f) < links.count, !seen[Int(f)] else { return nil }
            seen[Int(f)] = true
            free += 1
            f = links[Int(f)].older
        }
        return (linked, free)
    }
}
