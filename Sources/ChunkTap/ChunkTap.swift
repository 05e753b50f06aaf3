import ChunkModel
import Synchronization

/// The tap a proxy links: `record(_:)` puts a chunk's metadata in a bounded
/// ring without blocking or allocating; a forwarder thread sends the records
/// to the collector (`chunkwatch serve`'s TCP ingest listener) as NDJSON lines.
///
/// Overflow policy: **drop newest and count**. When the ring is full (the
/// collector is slow or away longer than the ring can hold), `record` returns
/// `false`, the drop is counted per source, and the forwarder reports the
/// counts to the collector (docs/wire-format.md). The data path never waits.
///
/// Call `close()` when done: it flushes the ring (bounded wait) and ends the thread.
public final class ChunkTap: Sendable {
    public struct Settings: Sendable {
        /// The collector's ingest listener, `HOST:PORT`.
        public var collector: String
        /// An ingest token: sent as `AUTH <token>` first on every connection.
        public var token: String?
        /// Names this tap in its drop reports.
        public var name = "chunktap"
        /// `conn` in the lines is this prefix followed by the record's connection number.
        public var connPrefix = "c-"
        /// Records the ring holds; rounded up to a power of two. 64 bytes each: 64 Ki records = 4 MiB.
        public var capacity = 65_536
        /// How many sources (`register`) the tap can hold; their drop counters are preallocated.
        public var maxSources = 4_096
        /// How events travel: NDJSON lines (any NDJSON collector reads them)
        /// or the compact binary framing (`chunkwatch serve` reads both on one port).
        public var wire: Wire = .ndjson
        /// Records per write to the collector.
        public var batchSize = 1_024
        /// How long the forwarder sleeps when the ring is empty.
        public var idleWait: Duration = .milliseconds(1)
        public var connectTimeout: Duration = .seconds(2)
        /// Reconnect backoff: doubles from `backoffInitial` up to `backoffMax`.
        public var backoffInitial: Duration = .milliseconds(50)
        public var backoffMax: Duration = .seconds(5)
        /// How often the forwarder reports new drops (only when there are some).
        public var dropReportInterval: Duration = .seconds(10)
        /// The longest `close()` waits for the collector to take what is left
        /// (and, in binary, to acknowledge it).
        public var closeTimeout: Duration = .seconds(5)
        /// Binary: event records (and reports) kept after sending until the
        /// collector acknowledges them as durable, to send again after a
        /// reconnect; 48 bytes each. When they fill up, no more is taken from
        /// the ring until acknowledgements come (the ring then drops and counts).
        public var maxUnacknowledged = 65_536

        public init(collector: String) { self.collector = collector }
    }

    /// The forwarder's format on the wire (docs/wire-format.md).
    public enum Wire: Sendable {
        /// SPEC §2 chunk event lines.
        case ndjson
        /// `TapWire` frames: 48 bytes per event, no JSON formatting on the proxy's host.
        case binary
    }

    /// Counters since the tap started.
    public struct Stats: Sendable, Equatable {
        /// Records taken into the ring.
        public var recorded: Int
        /// Records `record` refused because the ring was full.
        public var dropped: Int
        /// Records still in the ring or in the forwarder's batch at `close()` when its wait ran out.
        public var droppedAtClose: Int
        /// Event lines the collector's socket accepted.
        public var sent: Int
        /// Binary: events the collector acknowledged as durable.
        public var acknowledged: Int = 0
        /// Binary: events sent again after a reconnect because no acknowledgement had come.
        public var resent: Int = 0
        /// Binary: events sent but not acknowledged when `close()` gave up waiting
        /// (they may have arrived; the collector skips them if they come again).
        public var unacknowledgedAtClose: Int = 0
        public var dropReports: Int
        public var connects: Int
        public var connectFailures: Int
        /// Why the last connection failed or ended, if one did.
        public var lastError: String?
        /// The last line the collector wrote before closing (an `ERR …` for a
        /// refused token), when it arrived before the close reset the connection.
        public var collectorMessage: String?
    }

    let settings: Settings
    @usableFromInline let ring: TapRing
    @usableFromInline let registry: TapRegistry
    let stopRequested = Atomic<Bool>(false)
    let counters = Mutex(Stats(recorded: 0, dropped: 0, droppedAtClose: 0, sent: 0, dropReports: 0, connects: 0, connectFailures: 0))
    private let thread = Mutex<TapThread?>(nil)

    public init(settings: Settings) {
        self.settings = settings
        ring = TapRing(capacity: settings.capacity)
        registry = TapRegistry(maxSources: settings.maxSources)
        let forwarder = TapForwarder(tap: self)
        thread.withLock { $0 = TapThread(forwarder.run) }
    }

    /// Registers the names behind a source, once per listener or connection
    /// kind, off the data path (it takes a lock and allocates). The same
    /// names give the same source.
    public func register(principal: String, resource: String? = nil, hop: String? = nil) throws(TapError) -> TapSource {
        try registry.register(principal: principal, resource: resource, hop: hop)
    }

    /// Records one chunk. Never blocks, never allocates: `false` means the
    /// ring was full and the record was dropped (and counted).
    ///
    /// Inlinable, because the proxy calls it from its own module: inlined, the
    /// record's fields go straight from the caller's registers into the slot,
    /// with no call and no copy through the stack (30 instructions a call
    /// instead of 52 with the caller's loop; docs/performance.md).
    @discardableResult @inlinable
    public func record(_ record: TapRecord) -> Bool {
        if ring.push(record) { return true }
        registry.countDrop(record.source)
        return false
    }

    public var stats: Stats {
        var s = counters.withLock { $0 }
        s.dropped = registry.totalDrops
        s.recorded = ring.pushed
        return s
    }

    /// Sends what the ring holds (waiting at most `settings.closeTimeout` for
    /// the collector), then stops the forwarder. Records after this stay in the ring, unsent.
    public func close() {
        stopRequested.store(true, ordering: .releasing)
        let running = thread.withLock { t in
            defer { t = nil }
            return t
        }
        running?.join()
    }
}
