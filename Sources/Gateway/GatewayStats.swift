import ChunkTap
import Synchronization

/// The gateway's counters: connections, errors per side, chunks and bytes per
/// direction. Updated with relaxed atomic adds from the event loops.
public final class GatewayStats: Sendable {
    /// A copy of the counters at one moment.
    public struct Snapshot: Sendable, Equatable, CustomStringConvertible {
        public var accepted: Int
        public var active: Int
        /// Connections closed because the target could not be reached.
        public var upstreamConnectFailures: Int
        /// Connections that ended with an error on the client's side (reset, …).
        public var clientErrors: Int
        /// Connections that ended with an error on the target's side.
        public var upstreamErrors: Int
        /// Chunks and bytes client → target (`in`) and target → client (`out`).
        public var chunksIn: Int
        public var bytesIn: Int
        public var chunksOut: Int
        public var bytesOut: Int

        public var description: String {
            "connections \(accepted) (\(active) open, \(upstreamConnectFailures) target unreachable, "
                + "\(clientErrors) client errors, \(upstreamErrors) target errors), "
                + "in \(chunksIn) chunks / \(bytesIn) bytes, out \(chunksOut) chunks / \(bytesOut) bytes"
        }
    }

    private let accepted = Atomic<Int>(0)
    private let active = Atomic<Int>(0)
    private let upstreamConnectFailures = Atomic<Int>(0)
    private let clientErrors = Atomic<Int>(0)
    private let upstreamErrors = Atomic<Int>(0)
    private let chunksIn = Atomic<Int>(0)
    private let bytesIn = Atomic<Int>(0)
    private let chunksOut = Atomic<Int>(0)
    private let bytesOut = Atomic<Int>(0)

    public init() {}

    public var snapshot: Snapshot {
        Snapshot(
            accepted: accepted.load(ordering: .relaxed), active: active.load(ordering: .relaxed),
            upstreamConnectFailures: upstreamConnectFailures.load(ordering: .relaxed),
            clientErrors: clientErrors.load(ordering: .relaxed), upstreamErrors: upstreamErrors.load(ordering: .relaxed),
            chunksIn: chunksIn.load(ordering: .relaxed), bytesIn: bytesIn.load(ordering: .relaxed),
            chunksOut: chunksOut.load(ordering: .relaxed), bytesOut: bytesOut.load(ordering: .relaxed))
    }

    func opened() {
        accepted.add(1, ordering: .relaxed)
        active.add(1, ordering: .relaxed)
    }

    func closed() { active.subtract(1, ordering: .relaxed) }

    func upstreamUnreachable() { upstreamConnectFailures.add(1, ordering: .relaxed) }

    func count(error side: RelayHandler.Side) {
        switch side {
        case .client: clientErrors.add(1, ordering: .relaxed)
        case .upstream: upstreamErrors.add(1, ordering: .relaxed)
        }
    }

    @inline(__always)
    func count(chunkOf size: Int, dir: TapDirection) {
        switch dir {
        // Wrapping adds: one locked add each, where the overflow-checked `add`
        // compiles to a compare-and-swap loop (event loops share these counters).
        case .in:
            chunksIn.wrappingAdd(1, ordering: .relaxed)
            bytesIn.wrappingAdd(size, ordering: .relaxed)
        case .out:
            chunksOut.wrappingAdd(1, ordering: .relaxed)
            bytesOut.wrappingAdd(size, ordering: .relaxed)
        }
    }
}
