import Synchronization

/// A bounded multi-producer, single-consumer ring of `TapRecord`s, allocated
/// once at its full capacity.
///
/// Overflow policy: **drop newest and count** (STYLE #12). A producer that
/// finds the ring full returns at once with `false`; it never waits, never
/// spins on another thread's progress, never allocates. The caller counts.
///
/// Producers take positions from one counter with a compare-and-swap, so each
/// producer's records come out in the order it put them in; a position is
/// taken only while fewer than `capacity` records are waiting. The producer
/// then writes its slot and publishes it by storing the position + 1 in the
/// slot's sequence number (a release store, paired with the forwarder's
/// acquire load). The forwarder (the one consumer) takes slots in position
/// order and frees them by advancing its own position (a release store, read
/// by producers with an acquire load). This is the LMAX Disruptor's
/// multi-producer claim (`tryNext`) over Dmitry Vyukov's per-slot sequence numbers.
///
/// Where the time goes is in docs/performance.md, "The tap"; what shapes this
/// code:
/// - A producer decides "full" against `dequeueSeen`, the forwarder's position
///   as producers last read it, which sits in the same cache line as the
///   enqueue position: in the common case a push reads and swaps one line it
///   already holds, with nothing between the read and the swap for another
///   producer to slip into, and the forwarder's line is read only once per
///   lap (or on every call while the ring is full).
/// - The enqueue block and the forwarder's position each have 128 bytes to
///   themselves (some x86 prefetchers fetch lines in pairs).
/// - A slot is one 64-byte line, its sequence number then its record: a push
///   writes one line, and producers on neighbouring slots share none. The
///   forwarder only reads slots.
/// - `init` writes every slot, so the pages are mapped before the first
///   record: no page fault on the data path.
@usableFromInline
final class TapRing: @unchecked Sendable {
    // @unchecked: the slots are plain memory, but every slot is owned by exactly
    // one thread at a time, handed over through the positions and sequence
    // numbers (release stores paired with acquire loads), which the compiler cannot see.
    @usableFromInline let capacity: Int
    @usableFromInline let mask: Int
    /// `capacity` slots of `slotSize` bytes.
    @usableFromInline let slots: UnsafeMutableRawPointer
    /// Handed to producers, one position per accepted record.
    @usableFromInline let enqueuePosition: UnsafeMutablePointer<Atomic<Int>>
    /// A recent `dequeuePosition`, never ahead of it: in the enqueue position's line.
    @usableFromInline let dequeueSeen: UnsafeMutablePointer<Atomic<Int>>
    /// The forwarder's next position: every slot before it is free. Alone in its block.
    @usableFromInline let dequeuePosition: UnsafeMutablePointer<Atomic<Int>>
    /// The allocation holding the enqueue block, the dequeue block, then the slots.
    private let storage: UnsafeMutableRawPointer

    private static var positionBlock: Int { 128 }

    /// A slot's bytes: the sequence number, then the record, in whole cache lines.
    /// One line while `TapRecord` fits in 56 bytes (TapRingTests checks that it does).
    @usableFromInline @inline(__always)
    static var slotSize: Int { (recordOffset + MemoryLayout<TapRecord>.size + 63) & ~63 }

    @usableFromInline @inline(__always)
    static var recordOffset: Int {
        max(MemoryLayout<Atomic<Int>>.stride, MemoryLayout<TapRecord>.alignment)
    }

    /// `capacity` is rounded up to a power of two (at least 2), so a position
    /// maps to its slot with one mask.
    init(capacity requested: Int) {
        var capacity = 2
        while capacity < requested { capacity <<= 1 }
        self.capacity = capacity
        mask = capacity - 1
        storage = .allocate(byteCount: 2 * Self.positionBlock + capacity * Self.slotSize, alignment: Self.positionBlock)
        enqueuePosition = storage.initializeMemory(as: Atomic<Int>.self, to: Atomic(0))
        dequeueSeen = (storage + MemoryLayout<Atomic<Int>>.stride).initializeMemory(as: Atomic<Int>.self, to: Atomic(0))
        dequeuePosition = (storage + Self.positionBlock).initializeMemory(as: Atomic<Int>.self, to: Atomic(0))
        slots = storage + 2 * Self.positionBlock
        for i in 0..<capacity {
            // -1: no position's record (the forwarder waits for position + 1).
            (slots + i * Self.slotSize).initializeMemory(as: Atomic<Int>.self, to: Atomic(-1))
        }
    }

    deinit {
        // Atomic<Int> and TapRecord are trivial: nothing to deinitialize.
        storage.deallocate()
    }

    /// Puts `record` in the ring; `false` when the ring is full (the record is dropped).
    @inlinable @inline(__always)
    func push(_ record: TapRecord) -> Bool {
        var position = enqueuePosition.pointee.load(ordering: .relaxed)
        while true {
            if position &- dequeueSeen.pointee.load(ordering: .acquiring) >= capacity {
                // Full as far as the producers last saw: look at the forwarder's position itself.
                let dequeued = dequeuePosition.pointee.load(ordering: .acquiring)
                if position &- dequeued >= capacity { return false }
                // Racing producers may store an older position here; that only costs a later look.
                dequeueSeen.pointee.store(dequeued, ordering: .releasing)
            }
            let (won, current) = enqueuePosition.pointee.weakCompareExchange(
                expected: position, desired: position &+ 1, ordering: .relaxed)
            if won { break }
            // Another producer took this position; try the next one.
            position = current
        }
        let slot = slots + (position & mask) &* Self.slotSize
        slot.storeBytes(of: record, toByteOffset: Self.recordOffset, as: TapRecord.self)
        slot.assumingMemoryBound(to: Atomic<Int>.self).pointee.store(position &+ 1, ordering: .releasing)
        return true
    }

    /// The oldest record, or nil when the ring is empty (or the oldest slot's
    /// producer has not finished writing it: it will be there next time).
    /// Only the forwarder thread calls this.
    func pop() -> TapRecord? {
        let position = dequeuePosition.pointee.load(ordering: .relaxed)
        let slot = slots + (position & mask) &* Self.slotSize
        guard slot.assumingMemoryBound(to: Atomic<Int>.self).pointee.load(ordering: .acquiring) == position &+ 1 else {
            return nil
        }
        let record = slot.load(fromByteOffset: Self.recordOffset, as: TapRecord.self)
        // Frees the slot: a producer that reads this position may write over it.
        dequeuePosition.pointee.store(position &+ 1, ordering: .releasing)
        return record
    }

    /// Records ever taken in: every position handed out is a record accepted.
    var pushed: Int { enqueuePosition.pointee.load(ordering: .relaxed) }

    /// Records in the ring right now (approximate while producers run).
    var count: Int {
        max(0, enqueuePosition.pointee.load(ordering: .relaxed) &- dequeuePosition.pointee.load(ordering: .relaxed))
    }
}
