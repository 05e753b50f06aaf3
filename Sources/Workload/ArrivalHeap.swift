/// A binary min-heap of (next event time, principal index), the merge point of
/// the per-principal streams. Ties go to the lower index, so the merged order
/// is a pure function of the seed.
struct ArrivalHeap: Sendable {
    struct Entry: Sendable {
        var time: Int64
        var index: Int32

        @inline(__always)
        static func < (a: Entry, b: Entry) -> Bool {
            a.time < b.time || (a.time == b.time && a.index < b.index)
        }
    }

    private var entries: [Entry] = []

    init(_ entries: [Entry]) {
        self.entries = entries
        var i = entries.count / 2
        while i > 0 {
            i -= 1
            siftDown(i)
        }
    }

    var isEmpty: Bool { entries.isEmpty }
    var top: Entry? { entries.first }

    /// Gives the top entry a new time (or removes it when `time` is nil) and restores order.
    mutating func updateTop(time: Int64?) {
        guard let time else {
            let last = entries.removeLast()
            if !entries.isEmpty {
                entries[0] = last
                siftDown(0)
            }
            return
        }
        entries[0].time = time
        siftDown(0)
    }

    private mutating func siftDown(_ start: Int) {
        let n = entries.count
        var i = start
        let item = entries[i]
        while true {
            let left = 2 * i + 1
            if left >= n { break }
            var child = left
            if left + 1 < n && entries[left + 1] < entries[left] { child = left + 1 }
            if !(entries[child] < item) { break }
            entries[i] = entries[child]
            i = child
        }
        entries[i] = item
    }
}
