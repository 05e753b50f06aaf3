import Synchronization

/// A bounded multi-producer ring of `TapRecord`s (Dmitry Vyukov's bounded
/// queue: one sequence number per slot), allocated once at its full capacity.
///
/// Overflow policy: **drop newest and count** (STYLE #12). A producer that
/// finds the ring full returns at once with `false`; it never waits, never
/// spins on another thread's progress, never allocates. The caller counts.
///
/// One consumer (the forwarder thread) takes records out. Each producer's
/// records come out in the order it put them in, because positions are handed
/// out by one atomic counter.
final class TapRing: @unchecked Sendable {
    // @unchecked: `payload` is plain memory, but every slot is owned by exactly
    // one thread at a time, handed over through its sequence number (a
    // release store paired with an acquire load), which the compiler cannot see.
    let capacity: Int
    private let mask: Int
    private let sequences: UnsafeMutablePointer<Atomic<Int>>
    private let payload: UnsafeMutablePointer<TapRecord>
    private let enqueuePosition = Atomic<Int>(0)
    private let dequeuePosition = Atomic<Int>(0)

    /// `capacity` is rounded up to a power of two (at least 2), so a position
    /// maps to its slot with one mask.
    init(capacity requested: Int) {
        var capacity = 2
        while capacity < requested { capacity <<= 1 }
        self.capacity = capacity
        mask = capacity - 1
        sequences = .allocate(capacity: capacity)
        for i in 0..<capacity { (sequences + i).initialize(to: Atomic(i)) }
        payload = .allocate(capacity: capacity)
    }

    deinit {
        sequences.deinitialize(count: capacity)
        sequences.deallocate()
        payload.deallocate()  // TapRecord is trivial: nothing to deinitialize
    }

    /// Puts `record` in the ring; `false` when the ring is full (the record is dropped).
    @inline(__always)
    func push(_ record: TapRecord) -> Bool {
        var position = enqueuePosition.load(ordering: .relaxed)
        while true {
            let slot = position & mask
            let sequence = sequences[slot].load(ordering: .acquiring)
            let lag = sequence &- position
            if lag == 0 {
                let (won, current) = enqueuePosition.weakCompareExchange(
                    expected: position, desired: position &+ 1, ordering: .relaxed)
                if won {
                    (payload + slot).initialize(to: record)
                    sequences[slot].store(position &+ 1, ordering: .releasing)
                    return true
                }
                position = current
            } else if lag < 0 {
                // The slot still holds a record from one lap ago: the ring is full.
                return false
            } else {
                // Another producer took this position; retry at the newest one.
                position = enqueuePosition.load(ordering: .relaxed)
            }
        }
    }

    /// The oldest record, or nil when the ring is empty (or the oldest slot's
    /// producer has not finished writing it: it will be there next time).
    /// Only the forwarder thread calls this.
    func pop() -> TapRecord? {
        let position = dequeuePosition.load(ordering: .relaxed)
        let slot = position & mask
        let sequence = sequences[slot].load(ordering: .acquiring)
        guard sequence == position &+ 1 else { return nil }
        let record = payload[slot]
        dequeuePosition.store(position &+ 1, ordering: .relaxed)
        sequences[slot].store(position &+ capacity, ordering: .releasing)
        return record
    }

    /// Records ever taken in: every position handed out is a record accepted.
    var pushed: Int { enqueuePosition.load(ordering: .relaxed) }

    /// Records in the ring right now (approximate while producers run).
    var count: Int {
        max(0, enqueuePosition.load(ordering: .relaxed) &- dequeuePosition.load(ordering: .relaxed))
    }
}
