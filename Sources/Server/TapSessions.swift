import ChunkModel
import Store
import Synchronization

/// What the daemon knows of each tap that numbers its items (a binary
/// stream opened with `resume`): how far they have been received and how far
/// they are durable. A tap resends from its first unacknowledged item after
/// a reconnect; what this collector already has — still queued or already
/// archived — is skipped, so each item is archived once.
///
/// Connections touch it from NIO threads and the pipeline thread acknowledges,
/// so the table is under a lock; it holds at most `capacity` taps (the least
/// recently seen go first), bounded in bytes by the 256-byte tap names.
public final class TapSessions: Sendable {
    struct Entry {
        var received: UInt64
        var durable: UInt64
        var lastSeen: UInt64
    }

    struct State {
        var entries: [TapSession: Entry] = [:]
        var tick: UInt64 = 0
        var evicted = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    /// Starts from how far each tap was durable when the daemon last stopped.
    public init(durable: [TapSession: UInt64] = [:], capacity: Int = 4096) {
        self.capacity = max(1, capacity)
        state.withLock { s in
            for (session, mark) in durable.prefix(capacity) {
                s.tick += 1
                s.entries[session] = Entry(received: mark, durable: mark, lastSeen: s.tick)
            }
        }
    }

    /// A connection resumes `session` at item `first`: returns the number below
    /// which its items are duplicates of what this collector already has.
    public func resume(_ session: TapSession, first: UInt64) -> UInt64 {
        state.withLock { s in
            s.tick += 1
            if var e = s.entries[session] {
                e.lastSeen = s.tick
                s.entries[session] = e
                return max(e.received, first)
            }
            if s.entries.count >= capacity, let oldest = s.entries.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
                s.entries.removeValue(forKey: oldest)
                s.evicted += 1
            }
            s.entries[session] = Entry(received: first, durable: first, lastSeen: s.tick)
            return first
        }
    }

    /// Items of `session` below `next` have been queued for the pipeline.
    public func received(_ session: TapSession, upTo next: UInt64) {
        state.withLock { s in
            if let e = s.entries[session], e.received < next { s.entries[session]!.received = next }
        }
    }

    /// Items of `session` below `next` are durable (called on the pipeline thread after the fsync).
    public func durable(_ session: TapSession, upTo next: UInt64) {
        state.withLock { s in
            guard var e = s.entries[session], e.durable < next else { return }
            e.durable = next
            e.received = max(e.received, next)
            s.entries[session] = e
        }
    }

    /// How far `session` is durable (0 for a tap not known).
    public func durableMark(_ session: TapSession) -> UInt64 {
        state.withLock { $0.entries[session]?.durable ?? 0 }
    }

    public var count: Int { state.withLock { $0.entries.count } }
}
