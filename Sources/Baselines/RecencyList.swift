/// A doubly linked list through slot numbers, from the most to the least
/// recently used slot: the bookkeeping behind least-recently-seen eviction,
/// kept in two flat arrays so moving a slot to the front allocates nothing.
struct RecencyList: Sendable, Codable {
    private(set) var newer: [Int32] = []
    private(set) var older: [Int32] = []
    private(set) var mostRecent: Int32 = -1
    private(set) var leastRecent: Int32 = -1

    /// Makes room for one more slot (slots are added in order), not yet linked.
    mutating func addSlot() {
        newer.append(-1)
        older.append(-1)
    }

    /// The slot used just before `s`, or -1.
    func older(than s: Int32) -> Int32 { older[Int(s)] }

    /// Moves a linked slot to the front.
    mutating func touch(_ s: Int32) {
        guard s != mostRecent else { return }
        unlink(s)
        linkFront(s)
    }

    mutating func unlink(_ s: Int32) {
        let n = newer[Int(s)]
        let o = older[Int(s)]
        if n >= 0 { older[Int(n)] = o } else { mostRecent = o }
        if o >= 0 { newer[Int(o)] = n } else { leastRecent = n }
        newer[Int(s)] = -1
        older[Int(s)] = -1
    }

    mutating func linkFront(_ s: Int32) {
        older[Int(s)] = mostRecent
        newer[Int(s)] = -1
        if mostRecent >= 0 { newer[Int(mostRecent)] = s }
        mostRecent = s
        if leastRecent < 0 { leastRecent = s }
    }

    /// Chains an unlinked slot onto a free list whose head is `head` (through `older`).
    mutating func pushFree(_ s: Int32, onto head: inout Int32) {
        older[Int(s)] = head
        head = s
    }

    /// Takes the first slot of a free list, or nil.
    mutating func popFree(_ head: inout Int32) -> Int32? {
        guard head >= 0 else { return nil }
        let s = head
        head = older[Int(s)]
        older[Int(s)] = -1
        return s
    }
}
