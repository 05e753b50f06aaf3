import ChunkModel
import Dispatch
import NIOCore
import Synchronization

/// One thing for the pipeline thread to do, in arrival order.
public enum IngestItem: Sendable {
    /// The next bytes of a tap connection's stream (lines may be split anywhere).
    case bytes(source: UInt64, ByteBuffer)
    /// The connection ended; a last line without a line end still counts.
    case closed(source: UInt64)
    /// A whole `POST /v1/events` body; `reply` gets what became of its lines.
    case body(ByteBuffer, reply: @Sendable (IngestReport) -> Void)
    /// Work that must run between events on the pipeline thread (a threshold
    /// change, a look at the baselines).
    case control(@Sendable (PipelineControl) -> Void)
    /// Called once everything queued before it is durable (`true`: archived
    /// and fsync'd), or could not be made so (`false`: an archive write failed).
    /// How a tap connection learns what it may stop holding.
    case barrier(@Sendable (_ durable: Bool) -> Void)
    /// A tap's items below `next` are in the bytes queued before this: once
    /// they are durable, the pipeline keeps the tap's mark and calls `acknowledge`.
    case tapItems(TapSession, next: UInt64, acknowledge: @Sendable (UInt64) -> Void)

    var byteCount: Int {
        switch self {
        case .bytes(_, let b), .body(let b, _): b.readableBytes
        case .closed, .control, .barrier, .tapItems: 0
        }
    }
}

/// What became of the lines of one request body.
public struct IngestReport: Sendable, Equatable {
    public var accepted = 0
    public var rejected: [String: Int] = [:]
    /// Taps' drop reports among the lines (neither events nor rejected).
    public var dropReports = 0
    /// Whether the accepted lines are durable (archived and fsync'd) as the
    /// reply is sent; false only when the archive could not be written.
    public var durable = true
    public init() {}
}

/// The queue between the network and the pipeline thread. Its overflow policy
/// is block: a producer whose item takes the queue over its byte budget waits
/// (suspends, never blocking a thread) until the pipeline has caught up, so TCP
/// flow control and slow HTTP responses push back on the senders and nothing
/// accepted is ever dropped.
///
/// The pipeline thread takes what is queued in batches of up to `maxBytes`
/// (`take`), which keeps the lock out of the per-event path; a producer that
/// waits goes on as soon as a batch takes the queue back under its budget,
/// not once the whole backlog is processed.
public final class IngestQueue: Sendable {
    struct State {
        var items: [IngestItem] = []
        var bytes = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        var consumerAsleep = false
        var closed = false
        /// Producers that have been made to wait, since start.
        var blockedPushes = 0
    }

    public let capacityBytes: Int
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    public init(capacityBytes: Int = 64 << 20) {
        self.capacityBytes = capacityBytes
    }

    /// Queues `item`; suspends while the queue is over its budget. Returns
    /// false, queuing nothing, once the queue is closed.
    @discardableResult
    public func push(_ item: IngestItem) async -> Bool {
        let (admitted, wakeConsumer, mustWait) = state.withLock { s -> (Bool, Bool, Bool) in
            guard !s.closed else { return (false, false, false) }
            s.items.append(item)
            s.bytes += item.byteCount
            let asleep = s.consumerAsleep
            s.consumerAsleep = false
            return (true, asleep, s.bytes > capacityBytes)
        }
        if wakeConsumer { wake.signal() }
        guard admitted else { return false }
        if mustWait {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.bytes <= capacityBytes || s.closed { return true }
                    s.waiting.append(c)
                    s.blockedPushes += 1
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
        return true
    }

    /// Takes the items queued first, up to `maxBytes` of them (always at least
    /// one), waiting up to `timeout` for something to arrive; an empty result
    /// means the wait timed out, or the queue is closed and drained.
    public func take(timeout: Duration, maxBytes: Int = .max) -> [IngestItem] {
        while true {
            let (items, resume, closed) = state.withLock { s -> ([IngestItem], [CheckedContinuation<Void, Never>], Bool) in
                if !s.items.isEmpty {
                    var n = 0
                    var bytes = 0
                    while n < s.items.count && (n == 0 || bytes + s.items[n].byteCount <= maxBytes) {
                        bytes += s.items[n].byteCount
                        n += 1
                    }
                    let items: [IngestItem]
                    if n == s.items.count {
                        items = s.items
                        s.items.removeAll(keepingCapacity: true)
                    } else {
                        items = Array(s.items[..<n])
                        s.items.removeFirst(n)
                    }
                    s.bytes -= bytes
                    guard s.bytes <= capacityBytes else { return (items, [], s.closed) }
                    let w = s.waiting
                    s.waiting.removeAll()
                    return (items, w, s.closed)
                }
                if !s.closed { s.consumerAsleep = true }
                return ([], [], s.closed)
            }
            for c in resume { c.resume() }
            if !items.isEmpty || closed { return items }
            let nanos = Int(timeout.components.seconds) * 1_000_000_000 + Int(timeout.components.attoseconds / 1_000_000_000)
            if wake.wait(timeout: .now() + .nanoseconds(nanos)) == .timedOut {
                state.withLock { $0.consumerAsleep = false }
                return []
            }
        }
    }

    /// Refuses new items; what is queued is still taken. Waiting producers go on.
    public func close() {
        let (resume, asleep) = state.withLock { s -> ([CheckedContinuation<Void, Never>], Bool) in
            s.closed = true
            let w = s.waiting
            s.waiting.removeAll()
            let asleep = s.consumerAsleep
            s.consumerAsleep = false
            return (w, asleep)
        }
        for c in resume { c.resume() }
        if asleep { wake.signal() }
    }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Bytes queued now, and how many pushes have had to wait since start.
    /// Bytes and items queued, producers made to wait since start, and those waiting now.
    public var depth: (bytes: Int, items: Int, blockedPushes: Int, waitingPushes: Int) {
        state.withLock { ($0.bytes, $0.items.count, $0.blockedPushes, $0.waiting.count) }
    }
}
