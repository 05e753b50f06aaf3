import ChunkModel
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The TCP listener taps send to: NDJSON lines or the binary framing of
/// `TapWire` (told apart by the first byte; binary records become the same
/// NDJSON lines here), over plain TCP, many connections at once. Each connection's bytes go to the ingest queue as they
/// arrive (the pipeline frames the lines per connection); when the queue is
/// full, reading stops and TCP flow control slows the sender down.
///
/// When ingest tokens are configured, a connection must first send a line
/// `AUTH <token>` within the auth timeout; anything else closes it with an `ERR` line.
/// A connection that completes no line (or record frame) within the idle
/// timeout is closed too, and past `Limits.maxConnections` new ones are refused
/// (`IngestWatch.swift`).
///
/// On graceful shutdown it stops accepting and drains: the open connections
/// are read to their end for up to the drain timeout, then what is left is
/// cut and logged with the bytes it left unread. Everything read is processed.
public final class TCPIngestService: Service, Sendable {
    /// What a connection may take, and how long the drain lasts.
    public struct Limits: Sendable {
        public var maxConnections = 1024
        public var authTimeout: Duration = .seconds(10)
        public var idleTimeout: Duration = .seconds(300)
        public var drainTimeout: Duration = .seconds(10)
        /// Bytes of source names one binary connection may register.
        public var maxSourceBytes = 4 << 20
        public init() {}
    }

    private let serverChannel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    let queue: IngestQueue
    let auth: TokenAuthority
    let tapSessions: TapSessions
    let metrics: ServerMetrics
    let logger: Logger
    let limits: Limits
    let connections: IngestConnections
    let refusalLog: RefusalLog

    /// Where the listener is bound (the real port when 0 was asked for).
    public let boundAddress: SocketAddress

    /// Binds now, so a port in use is an error before anything starts.
    public init(
        host: String, port: Int, queue: IngestQueue, auth: TokenAuthority, tapSessions: TapSessions = TapSessions(),
        metrics: ServerMetrics, logger: Logger, limits: Limits = Limits(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        guard let address = serverChannel.channel.localAddress else {
            throw ServerError("the ingest listener on \(host):\(port) has no local address")
        }
        boundAddress = address
        self.queue = queue
        self.auth = auth
        self.tapSessions = tapSessions
        self.metrics = metrics
        self.logger = logger
        self.limits = limits
        connections = IngestConnections(limit: limits.maxConnections)
        refusalLog = RefusalLog(listener: .ingest, limit: limits.maxConnections, logger: logger)
        metrics.connections.limits[.ingest]?.record(limits.maxConnections)
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.watch() }
                do {
                    try await serverChannel.executeThenClose { inbound in
                        for try await connection in inbound {
                            guard let state = connections.open(connection.channel) else {
                                group.addTask { await self.refuse(connection) }
                                continue
                            }
                            group.addTask { await self.serve(connection, state) }
                        }
                    }
                } catch {
                    logger.debug("ingest listener closed: \(error)")
                }
            }
        } onGracefulShutdown: {
            // Stop accepting; the watch reads the open connections to their end.
            self.connections.beginDrain()
            self.serverChannel.channel.close(promise: nil)
        }
    }

    public var openConnections: Int { connections.count }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, _ state: IngestConnection) async {
        let source = state.id
        metrics.tcpConnectionsTotal.increment()
        metrics.tcpConnections.record(openConnections)
        defer {
            connections.remove(source)
            metrics.tcpConnections.record(openConnections)
        }
        let peer = state.peer
        do {
            try await connection.executeThenClose { inbound, outbound in
                var authenticated = !auth.requiresTokens
                if authenticated { state.authenticated() }
                var hello = ByteBuffer()
                var format = WireFormat.undecided
                var preamble = ByteBuffer()
                var binary = TapWireDecoder(maxSourceBytes: limits.maxSourceBytes)
                var lines = OutputBuffer(capacity: 64 * 1024)
                for try await var buffer in inbound {
                    state.read(buffer.readableBytes)
                    if !authenticated {
                        // Timed out: what else arrives is not taken.
                        if state.ending != nil { break }
                        hello.writeBuffer(&buffer)
                        guard let nl = hello.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                            if hello.readableBytes > 4096 {
                                metrics.connections.refused(.ingest, .authFailed)
                                throw ServerError("no AUTH line")
                            }
                            continue
                        }
                        let line = hello.readString(length: nl - hello.readerIndex) ?? ""
                        hello.moveReaderIndex(forwardBy: 1)
                        guard auth.allows(authLine: line, role: .ingest) else {
                            metrics.connections.refused(.ingest, .authFailed)
                            try await outbound.write(ByteBuffer(string: "ERR this listener needs 'AUTH <ingest token>' as the first line\n"))
                            throw ServerError("refused a tap connection from \(peer): no valid ingest token")
                        }
                        authenticated = true
                        state.authenticated()
                        buffer = hello
                        if buffer.readableBytes == 0 { continue }
                    }
                    if format == .undecided {
                        // One byte tells them apart: the binary magic starts with 0x89.
                        guard let first = buffer.readableBytesView.first else { continue }
                        if first != TapWire.magic[0] {
                            format = .ndjson
                        } else {
                            preamble.writeBuffer(&buffer)
                            guard preamble.readableBytes >= TapWire.magic.count else { continue }
                            guard preamble.readBytes(length: TapWire.magic.count) == TapWire.magic else {
                                metrics.connections.frameError()
                                try await outbound.write(ByteBuffer(string: "ERR unknown binary framing (see docs/wire-format.md)\n"))
                                throw ServerError("a tap connection from \(peer) sent an unknown binary preamble")
                            }
                            format = .binary
                            buffer = preamble
                        }
                    }
                    var acknowledge: (TapSession, UInt64)?
                    if format == .binary {
                        lines.removeAll()
                        let before = (binary.session, binary.nextSequence)
                        do {
                            try buffer.readableBytesView.withUnsafeBytes {
                                try binary.feed($0, into: &lines) { tap, first in tapSessions.resume(tap, first: first) }
                            }
                        } catch let error as TapWireError {
                            metrics.connections.frameError()
                            if !lines.isEmpty { _ = await queue.push(.bytes(source: source, ByteBuffer(bytes: lines.bytes))) }
                            try await outbound.write(ByteBuffer(string: "ERR \(error)\n"))
                            throw ServerError("closed a tap connection from \(peer): \(error)")
                        }
                        // A tap that numbers its items is told, once they are durable, how far it may forget.
                        if let tap = binary.session, before.0 == nil || binary.nextSequence != before.1 {
                            tapSessions.received(tap, upTo: binary.nextSequence)
                            acknowledge = (tap, binary.nextSequence)
                        }
                        if lines.isEmpty {
                            if let acknowledge {
                                state.progressed()
                                await queue.push(acknowledgement(acknowledge, on: connection.channel))
                            }
                            continue
                        }
                        state.progressed()
                        buffer = ByteBuffer(bytes: lines.bytes)
                    } else if buffer.readableBytesView.lastIndex(of: UInt8(ascii: "\n")) != nil {
                        state.progressed()
                    }
                    guard await queue.push(.bytes(source: source, buffer)) else { break }
                    if let acknowledge { await queue.push(acknowledgement(acknowledge, on: connection.channel)) }
                }
            }
        } catch {
            logger.info("ingest connection ended: \(error)", metadata: ["peer": "\(peer)"])
        }
        report(state)
        await queue.push(.closed(source: source))
    }
}

extension TCPIngestService {
    /// After a tap's items: once they are durable, the pipeline keeps the
    /// tap's mark and the tap gets an `ack` frame.
    private func acknowledgement(_ item: (TapSession, UInt64), on channel: any Channel) -> IngestItem {
        .tapItems(item.0, next: item.1) { next in
            var frame: [UInt8] = []
            TapWire.appendAck(next: next, to: &frame)
            channel.writeAndFlush(ByteBuffer(bytes: frame), promise: nil)
        }
    }
}

/// What a tap connection speaks, known from its first byte after `AUTH`.
private enum WireFormat {
    case undecided, ndjson, binary
}

/// A failure of the daemon's own making, with what to do about it.
public struct ServerError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
