/// The binary batches a tap has sent but the collector has not yet
/// acknowledged as durable, oldest first. Each batch's items (event records,
/// then a report if any) are numbered consecutively, and the batches follow
/// each other without gaps, so after a reconnect the tap resumes at
/// `firstUnacknowledged` and sends them all again; the collector skips what it
/// already has.
///
/// Bounded by `capacityItems`: when full, the forwarder stops taking records
/// from the ring, which then fills and drops (and counts) as it would for an
/// absent collector. The data path never waits.
struct TapResendBuffer {
    struct Batch {
        var first: UInt64
        var items: Int
        var events: Int
        var bytes: [UInt8]
        /// Whether the socket has taken it whole at least once (for `Stats.sent`).
        var sent: Bool
        var end: UInt64 { first &+ UInt64(items) }
    }

    let capacityItems: Int
    private(set) var batches: [Batch] = []
    private var head = 0
    private(set) var items = 0
    private(set) var events = 0

    init(capacityItems: Int) { self.capacityItems = max(1, capacityItems) }

    var isEmpty: Bool { head == batches.count }
    var isFull: Bool { items >= capacityItems }
    var firstUnacknowledged: UInt64? { isEmpty ? nil : batches[head].first }
    var pendingIndices: Range<Int> { head..<batches.count }

    mutating func markSent(_ i: Int) { batches[i].sent = true }

    mutating func append(_ batch: Batch) {
        batches.append(batch)
        items += batch.items
        events += batch.events
    }

    /// Forgets every batch wholly below `next`; returns the events acknowledged.
    mutating func acknowledge(below next: UInt64) -> Int {
        var acknowledged = 0
        while head < batches.count, batches[head].end <= next {
            items -= batches[head].items
            events -= batches[head].events
            acknowledged += batches[head].events
            batches[head].bytes = []
            head += 1
        }
        // Compact now and then, so the array does not grow with the stream.
        if head > 64 && head * 2 > batches.count {
            batches.removeFirst(head)
            head = 0
        }
        return acknowledged
    }
}
