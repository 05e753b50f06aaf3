import ChunkModel
import ChunkTap
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The reference TCP gateway behind `chunkwatch proxy`: it accepts
/// connections on each listener, opens one to the listener's target per
/// connection, forwards the bytes both ways unchanged and records every chunk
/// it reads (one socket read = one chunk) in a `ChunkTap`.
///
/// The tap is the only thing on the data path besides the copy itself: a
/// CRC32C of the chunk and a `record` that never blocks. Without a tap the
/// gateway only forwards (the baseline its cost is measured against).
public final class Gateway: Sendable {
    /// One listening address and where its connections go.
    public struct Listener: Sendable, Equatable {
        public var listenHost: String
        public var listenPort: Int
        public var upstreamHost: String
        public var upstreamPort: Int
        /// Who the traffic through this listener belongs to (SPEC §2 `principal`).
        public var principal: String
        /// The `resource` of its events; `tcp://UPSTREAM` when nil.
        public var resource: String?
        /// The `hop` of its events.
        public var hop: String?

        public init(
            listenHost: String, listenPort: Int, upstreamHost: String, upstreamPort: Int, principal: String,
            resource: String? = nil, hop: String? = "proxy"
        ) {
            self.listenHost = listenHost
            self.listenPort = listenPort
            self.upstreamHost = upstreamHost
            self.upstreamPort = upstreamPort
            self.principal = principal
            self.resource = resource
            self.hop = hop
        }

        var resourceName: String { resource ?? "tcp://\(upstreamHost):\(upstreamPort)" }
    }

    public struct Settings: Sendable {
        public var listeners: [Listener]
        /// Event loop threads; connections are spread over them.
        public var threads = System.coreCount
        /// How long a new connection waits for its target before it is closed.
        public var connectTimeout: Duration = .seconds(5)
        /// Whether each chunk's CRC32C goes into its event.
        public var checksums = true
        /// The largest read, so the largest chunk: NIO's adaptive receive
        /// buffer grows towards it while reads fill the buffer.
        public var maxChunkSize = 256 * 1024
        /// Bytes a side may have queued towards the other before it stops reading.
        public var writeBufferHighWatermark = 1024 * 1024
        public var writeBufferLowWatermark = 256 * 1024

        public init(listeners: [Listener]) { self.listeners = listeners }
    }

    public let settings: Settings
    public let stats = GatewayStats()
    private let tap: ChunkTap?
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let nextConnection = Atomic<UInt64>(1)
    private let state = Mutex(State())

    private struct State {
        var servers: [any Channel] = []
        var connections: [ObjectIdentifier: any Channel] = [:]
        var stopped = false
    }

    /// `tap` nil: forward only, record nothing.
    public init(settings: Settings, tap: ChunkTap?, logger: Logger) {
        self.settings = settings
        self.tap = tap
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, settings.threads))
    }

    /// Resolves each listener's target once (a connection does not wait for
    /// DNS) and binds every listener; returns their addresses (`host:port`, the real
    /// port when 0 was asked for) in the order of `settings.listeners`.
    public func start() async throws(GatewayError) -> [String] {
        var bound: [String] = []
        for listener in settings.listeners {
            let source: TapSource?
            do {
                source = try tap?.register(principal: listener.principal, resource: listener.resourceName, hop: listener.hop)
            } catch {
                await stop()
                throw GatewayError("listener \(listener.listenHost):\(listener.listenPort): \(error)")
            }
            let upstream: SocketAddress
            do {
                upstream = try SocketAddress.makeAddressResolvingHost(listener.upstreamHost, port: listener.upstreamPort)
            } catch {
                await stop()
                throw GatewayError("cannot resolve the target \(listener.upstreamHost):\(listener.upstreamPort): \(error)")
            }
            let channel: any Channel
            do {
                channel = try await serverBootstrap(listener, upstream: upstream, source: source)
                    .bind(host: listener.listenHost, port: listener.listenPort).get()
            } catch {
                await stop()
                throw GatewayError(
                    "cannot listen on \(listener.listenHost):\(listener.listenPort): \(error); is the port free and the address local?")
            }
            state.withLock { $0.servers.append(channel) }
            bound.append("\(listener.listenHost):\(channel.localAddress?.port ?? listener.listenPort)")
        }
        return bound
    }

    /// Stops accepting, closes the open connections, and ends the event loops.
    /// The tap is the caller's to close (it flushes what the ring holds).
    public func stop() async {
        let (servers, connections) = state.withLock { s in
            s.stopped = true
            defer {
                s.servers = []
                s.connections = [:]
            }
            return (s.servers, Array(s.connections.values))
        }
        for server in servers { try? await server.close() }
        for connection in connections { try? await connection.close() }
        try? await group.shutdownGracefully()
    }

    private var recvAllocator: AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: max(1024, settings.maxChunkSize))
    }

    private func serverBootstrap(_ listener: Listener, upstream: SocketAddress, source: TapSource?) -> ServerBootstrap {
        let watermarks = ChannelOptions.Types.WriteBufferWaterMark(
            low: settings.writeBufferLowWatermark, high: settings.writeBufferHighWatermark)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: watermarks)
            .childChannelOption(.recvAllocator, value: recvAllocator)
            .childChannelInitializer { [self] client in
                client.eventLoop.makeCompletedFuture {
                    try self.accept(client, listener: listener, upstream: upstream, source: source, watermarks: watermarks)
                }
            }
    }

    /// Sets up one proxied connection: the client's handler now, the target's
    /// once connected on the same event loop. The client's reads wait until then.
    private func accept(
        _ client: any Channel, listener: Listener, upstream address: SocketAddress, source: TapSource?,
        watermarks: ChannelOptions.Types.WriteBufferWaterMark
    ) throws {
        let admitted = state.withLock { s in
            guard !s.stopped else { return false }
            s.connections[ObjectIdentifier(client)] = client
            return true
        }
        guard admitted else {
            client.close(promise: nil)
            return
        }
        stats.opened()
        client.closeFuture.whenComplete { [self] _ in
            stats.closed()
            _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(client)) }
        }
        let conn = nextConnection.add(1, ordering: .relaxed).oldValue
        let opened = Timestamp.now()
        func recorder(_ dir: TapDirection) -> ChunkRecorder {
            ChunkRecorder(
                tap: tap, source: source, conn: conn, dir: dir, stats: stats, checksums: settings.checksums, opened: opened)
        }
        let front = RelayHandler(side: .client, recorder: recorder(.in), stats: stats)
        let back = RelayHandler(side: .upstream, recorder: recorder(.out), stats: stats)
        RelayHandler.pair(front, back)
        try client.pipeline.syncOperations.addHandler(front)

        let loop = client.eventLoop
        let backOnLoop = NIOLoopBound(back, eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.writeBufferWaterMark, value: watermarks)
            .channelOption(.recvAllocator, value: recvAllocator)
            .connectTimeout(TimeAmount.nanoseconds(settings.connectTimeout.nanosecondsClamped))
            .channelInitializer { upstream in
                upstream.eventLoop.makeCompletedFuture {
                    try upstream.pipeline.syncOperations.addHandler(backOnLoop.value)
                }
            }
            .connect(to: address)
            .whenComplete { [self, logger] result in
                switch result {
                case .success(let upstream):
                    // The client may go (or have gone) before the relay
                    // handlers could tell each other; then the target goes too.
                    // (Not `client.isActive`: on loopback the target can answer
                    // before the accepted channel is even registered.)
                    client.closeFuture.whenComplete { _ in upstream.close(promise: nil) }
                case .failure(let error):
                    stats.upstreamUnreachable()
                    logger.warning(
                        "cannot reach the target; closing the client's connection",
                        metadata: [
                            "target": "\(listener.upstreamHost):\(listener.upstreamPort)", "error": "\(error)", "conn": "\(conn)",
                        ])
                    client.close(promise: nil)
                }
            }
    }
}

/// A gateway that cannot start, with what to do about it.
public struct GatewayError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
