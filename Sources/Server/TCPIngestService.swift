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
/// `AUTH <token>`; anything else closes it with an `ERR` line.
///
/// On graceful shutdown it stops accepting and closes open connections after
/// queueing what it has read: everything read is processed.
public final class TCPIngestService: Service, Sendable {
    private let serverChannel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let queue: IngestQueue
    private let auth: TokenAuthority
    private let tapSessions: TapSessions
    private let metrics: ServerMetrics
    private let logger: Logger
    private let connections = Mutex<(next: UInt64, open: [UInt64: any Channel])>((0, [:]))

    /// Where the listener is bound (the real port when 0 was asked for).
    public let boundAddress: SocketAddress

    /// Binds now, so a port in use is an error before anything starts.
    public init(
        host: String, port: Int, queue: IngestQueue, auth: TokenAuthority, tapSessions: TapSessions = TapSessions(),
        metrics: ServerMetrics, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
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
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                do {
                    try await serverChannel.executeThenClose { inbound in
                        for try await connection in inbound {
                            group.addTask { await self.serve(connection) }
                        }
                    }
                } catch {
                    logger.debug("ingest listener closed: \(error)")
                }
            }
        } onGracefulShutdown: {
            self.serverChannel.channel.close(promise: nil)
            let open = self.connections.withLock { Array($0.open.values) }
            for c in open { c.close(promise: nil) }
        }
    }

    public var openConnections: Int { connections.withLock { $0.open.count } }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let source = connections.withLock { c -> UInt64 in
            c.next += 1
            c.open[c.next] = connection.channel
            return c.next
        }
        metrics.tcpConnectionsTotal.increment()
        metrics.tcpConnections.record(openConnections)
        defer {
            connections.withLock { _ = $0.open.removeValue(forKey: source) }
            metrics.tcpConnections.record(openConnections)
        }
        let peer = connection.channel.remoteAddress.map { "\($0)" } ?? "?"
        do {
            try await connection.executeThenClose { inbound, outbound in
                var authenticated = !auth.requiresTokens
                var hello = ByteBuffer()
                var format = WireFormat.undecided
                var preamble = ByteBuffer()
                var binary = TapWireDecoder()
                var lines = OutputBuffer(capacity: 64 * 1024)
                for try await var buffer in inbound {
                    if !authenticated {
                        hello.writeBuffer(&buffer)
                        guard let nl = hello.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                            if hello.readableBytes > 4096 { throw ServerError("no AUTH line") }
                            continue
                        }
                        let line = hello.readString(length: nl - hello.readerIndex) ?? ""
                        hello.moveReaderIndex(forwardBy: 1)
                        guard auth.allows(authLine: line, role: .ingest) else {
                            try await outbound.write(ByteBuffer(string: "ERR this listener needs 'AUTH <ingest token>' as the first line\n"))
                            throw ServerError("refused a tap connection from \(peer): no valid ingest token")
                        }
                        authenticated = true
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
                            if let acknowledge { await queue.push(acknowledgement(acknowledge, on: connection.channel)) }
                            continue
                        }
                        buffer = ByteBuffer(bytes: lines.bytes)
                    }
                    guard await queue.push(.bytes(source: source, buffer)) else { break }
                    if let acknowledge { await queue.push(acknowledgement(acknowledge, on: connection.channel)) }
                }
            }
        } catch {
            logger.info("ingest connection ended: \(error)", metadata: ["peer": "\(peer)"])
        }
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
