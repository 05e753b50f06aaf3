/// The sequence numbers one hop has reported on one connection direction: the
/// next seq it expects and which of the 64 seqs before it have arrived.
///
/// A seq beyond the next one opens holes; a hole filled later is a reordered
/// (late) chunk, and a hole still open when it leaves the 64-seq window, or
/// when the caller gives up waiting, is a missing chunk. Seqs before the first
/// one reported are unknown and count as arrived, so a stream picked up in the
/// middle has no holes behind it.
struct SequenceWindow: Sendable, Equatable, Codable {
    static let width: Int64 = 64

    /// The next seq expected; -1 before the first.
    var next: Int64 = -1
    /// Bit i: seq `next - 1 - i` has arrived.
    var seen: UInt64 = ~0
    /// Event time at which the newest open hole appeared; `.min` when none is open.
    var holeSince: Int64 = .min

    enum Arrival: Equatable {
        case inOrder
        /// Past the next seq: this many seqs were skipped.
        case ahead(skipped: Int64)
        /// Filled a hole.
        case late
        /// A seq that already arrived.
        case duplicate
        /// Behind the window: too old to tell late from duplicate.
        case tooLate
    }

    /// Holes that became missing chunks: how many, and the lowest seq among them (-1 when none).
    struct Confirmed: Equatable {
        var count: Int64 = 0
        var first: Int64 = -1
    }

    var openHoles: Int { (~seen).nonzeroBitCount }

    /// Records that `seq` arrived at event time `t`; holes pushed out of the
    /// window by it are confirmed missing.
    mutating func record(_ rawSeq: Int64, at t: Int64) -> (Arrival, Confirmed) {
        // Keeps `seq + 1` representable; a stream that long is not a concern.
        let seq = Swift.min(Swift.max(rawSeq, 0), Int64.max - 1)
        if next < 0 {
            next = seq + 1
            seen = ~0
            return (.inOrder, Confirmed())
        }
        if seq >= next {
            let skipped = seq - next
            var confirmed = Confirmed()
            if skipped >= Self.width - 1 {
                // The whole old window leaves, and seqs skipped beyond 63 never enter it.
                let lost = ~seen
                if lost != 0 {
                    confirmed.count = Int64(lost.nonzeroBitCount)
                    confirmed.first = next - 1 - Int64(63 - lost.leadingZeroBitCount)
                }
                if skipped > 63 {
                    confirmed.count += skipped - 63
                    if confirmed.first < 0 { confirmed.first = next }
                }
                seen = 1
            } else {
                // Old bits i ≥ 64 - shift leave the window.
                let shift = skipped + 1
                let lost = ~seen >> UInt64(Self.width - shift)
                if lost != 0 {
                    confirmed.count = Int64(lost.nonzeroBitCount)
                    let i = Int64(63 - lost.leadingZeroBitCount) + Self.width - shift
                    confirmed.first = next - 1 - i
                }
                seen = seen << UInt64(shift) | 1
            }
            next = seq + 1
            if skipped > 0 { holeSince = t } else if seen == ~0 { holeSince = .min }
            return (skipped > 0 ? .ahead(skipped: skipped) : .inOrder, confirmed)
        }
        let i = next - 1 - seq
        if i >= Self.width { return (.tooLate, Confirmed()) }
        let bit: UInt64 = 1 << UInt64(i)
        if seen & bit != 0 { return (.duplicate, Confirmed()) }
        seen |= bit
        if seen == ~0 { holeSince = .min }
        return (.late, Confirmed())
    }

    /// Gives up on every open hole: they are missing chunks.
    mutating func confirmOpenHoles() -> Confirmed {
        let holes = ~seen
        guard holes != 0 else { return Confirmed() }
        let c = Confirmed(
            count: Int64(holes.nonzeroBitCount), first: next - 1 - Int64(63 - holes.leadingZeroBitCount))
        seen = ~0
        holeSince = .min
        return c
    }
}
