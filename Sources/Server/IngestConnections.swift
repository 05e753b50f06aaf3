#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import Synchronization

/// One open tap connection as the listener's watch sees it: what its read
/// loop has read and when, whether it authenticated, and, once the daemon
/// decides to end it, why. The read loop writes a few relaxed atomics per
/// read (not per event); the watch reads them.
final class IngestConnection: Sendable {
    /// How the daemon ended a connection (its peer closing is no ending of ours).
    enum Ending: Sendable, Equatable {
        /// A timeout: counted as a refusal, the peer told with an `ERR` line.
        case refused(RefusalReason)
        /// Closed at shutdown with nothing pending: unauthenticated, or quiet.
        case drained
        /// Still sending when the drain ran out; `received` is what the kernel
        /// had received from the peer by then, when it can tell.
        case cut(received: Int?)
    }

    let id: UInt64
    let channel: any Channel
    let peer: String
    let openedAt: UInt64
    private let bytes = Atomic<Int>(0)
    private let lastReadAt: Atomic<UInt64>
    private let lastProgressAt: Atomic<UInt64>
    private let authenticatedFlag = Atomic<Bool>(false)
    private let endingState = Mutex<Ending?>(nil)

    init(id: UInt64, channel: any Channel, peer: String, now: UInt64) {
        self.id = id
        self.channel = channel
        self.peer = peer
        openedAt = now
        lastReadAt = Atomic(now)
        lastProgressAt = Atomic(now)
    }

    /// The read loop got `count` bytes.
    @inline(__always)
    func read(_ count: Int) {
        bytes.add(count, ordering: .relaxed)
        lastReadAt.store(Self.now(), ordering: .relaxed)
    }

    /// The read loop completed a line or a record frame.
    @inline(__always)
    func progressed() { lastProgressAt.store(Self.now(), ordering: .relaxed) }

    func authenticated() { authenticatedFlag.store(true, ordering: .relaxed) }

    var bytesRead: Int { bytes.load(ordering: .relaxed) }
    var lastRead: UInt64 { lastReadAt.load(ordering: .relaxed) }
    var lastProgress: UInt64 { lastProgressAt.load(ordering: .relaxed) }
    var isAuthenticated: Bool { authenticatedFlag.load(ordering: .relaxed) }
    var ending: Ending? { endingState.withLock { $0 } }

    /// Claims the ending; false when the connection was already being ended.
    func end(_ ending: Ending) -> Bool {
        endingState.withLock { state in
            guard state == nil else { return false }
            state = ending
            return true
        }
    }

    /// Bytes the kernel has received from the peer, read or not (Linux'
    /// `tcpi_bytes_received`); nil where that is not known.
    func kernelBytesReceived() async -> Int? {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        // Linux' struct tcp_info, of which glibc's header has only the start:
        // tcpi_bytes_received is the 64-bit field at byte 128.
        let info: TCPInfoBytes? = try? await provider.unsafeGetSocketOption(
            level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_INFO)
        ).get()
        return info.map { Int(truncatingIfNeeded: $0.words.16) }
        #else
        return nil
        #endif
    }

    /// Monotonic nanoseconds.
    @inline(__always)
    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }
}

/// Room for Linux' struct tcp_info (232 bytes in recent kernels), as 8-byte words.
struct TCPInfoBytes: Sendable {
    var words: (
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64
    ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

/// The open tap connections, under the listener's limit, and whether the
/// listener is draining (SIGTERM came: no new connections, the open ones read
/// to their end).
final class IngestConnections: Sendable {
    private struct State {
        var next: UInt64 = 0
        var open: [UInt64: IngestConnection] = [:]
        var drainStartedAt: UInt64?
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) { self.limit = limit }

    /// Registers a new connection, or nil when `limit` are open or the listener is draining.
    func open(_ channel: any Channel) -> IngestConnection? {
        let peer = channel.remoteAddress.map { "\($0)" } ?? "?"
        return state.withLock { s -> IngestConnection? in
            guard s.open.count < limit, s.drainStartedAt == nil else { return nil }
            s.next += 1
            let c = IngestConnection(id: s.next, channel: channel, peer: peer, now: IngestConnection.now())
            s.open[s.next] = c
            return c
        }
    }

    func remove(_ id: UInt64) { state.withLock { _ = $0.open.removeValue(forKey: id) } }

    var count: Int { state.withLock { $0.open.count } }
    var isDraining: Bool { state.withLock { $0.drainStartedAt != nil } }
    var all: [IngestConnection] { state.withLock { Array($0.open.values) } }

    /// Marks the start of the drain (once); returns when it started.
    @discardableResult
    func beginDrain() -> UInt64 {
        state.withLock { s in
            if let t = s.drainStartedAt { return t }
            let t = IngestConnection.now()
            s.drainStartedAt = t
            return t
        }
    }
}
