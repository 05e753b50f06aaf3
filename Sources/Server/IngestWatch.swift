import Logging
import NIOCore
import ServiceLifecycle

/// The ingest listener's watch over its connections: until SIGTERM it closes
/// those past their auth or idle timeout; from SIGTERM it drains them.
extension TCPIngestService {
    func watch() async {
        await cancelWhenGracefulShutdown { await self.enforceTimeouts() }
        await drain()
    }

    /// Auth timeout: a connection that must authenticate and has not. Idle
    /// timeout: no complete line (or record frame) for that long, which also
    /// closes a sender that trickles a line byte by byte.
    private func enforceTimeouts() async {
        let authTimeout = Self.nanoseconds(limits.authTimeout)
        let idleTimeout = Self.nanoseconds(limits.idleTimeout)
        let shortest = auth.requiresTokens ? min(limits.authTimeout, limits.idleTimeout) : limits.idleTimeout
        let tick = max(min(shortest / 4, .seconds(1)), .milliseconds(20))
        while !Task.isCancelled {
            let now = IngestConnection.now()
            for c in connections.all where c.ending == nil {
                if auth.requiresTokens && !c.isAuthenticated {
                    if Self.elapsed(now, since: c.openedAt) >= authTimeout {
                        close(c, .authTimeout, "ERR no AUTH line within \(Self.text(limits.authTimeout)): send 'AUTH <ingest token>' first\n")
                    }
                } else if Self.elapsed(now, since: c.lastProgress) >= idleTimeout {
                    close(c, .idleTimeout, "ERR no complete line for \(Self.text(limits.idleTimeout)): closed; reconnect to send more\n")
                }
            }
            try? await Task.sleep(for: tick)
        }
    }

    /// Ends a connection for a timeout, telling the peer why.
    private func close(_ c: IngestConnection, _ reason: RefusalReason, _ message: String) {
        guard c.end(.refused(reason)) else { return }
        metrics.connections.refused(.ingest, reason)
        let channel = c.channel
        channel.writeAndFlush(ByteBuffer(string: message)).whenComplete { _ in channel.close(promise: nil) }
        // A peer that does not read may keep the ERR line from ever going out.
        channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
    }

    /// Reads the open connections to their end, for up to the drain timeout.
    /// Connections that have not authenticated are closed at once; one that
    /// has sent nothing for a second, with nothing waiting in the kernel, has
    /// finished its writes (a tap between batches) and is closed; at the
    /// deadline what is still open is cut, and `report` logs what it left unread.
    private func drain() async {
        let start = connections.beginDrain()
        let (sum, overflow) = start.addingReportingOverflow(Self.nanoseconds(limits.drainTimeout))
        let deadline = overflow ? UInt64.max : sum
        let quiet = Self.nanoseconds(min(limits.drainTimeout, .seconds(1)))
        while true {
            let open = connections.all
            if open.isEmpty { return }
            let now = IngestConnection.now()
            let over = now >= deadline || Task.isCancelled
            for c in open where c.ending == nil {
                if over {
                    let received = await c.kernelBytesReceived()
                    if c.end(.cut(received: received)) { c.channel.close(promise: nil) }
                } else if !c.isAuthenticated {
                    if c.end(.drained) { c.channel.close(promise: nil) }
                } else if Self.elapsed(now, since: max(c.lastRead, start)) >= quiet {
                    // Bytes in the kernel (or in NIO's buffer) not yet through the loop: not finished.
                    if let received = await c.kernelBytesReceived(), received > c.bytesRead { continue }
                    if c.end(.drained) { c.channel.close(promise: nil) }
                }
            }
            if over { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Refuses a connection past the limit (or one accepted as the drain began).
    func refuse(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let message: String
        if connections.isDraining {
            message = "ERR the daemon is stopping: reconnect when it is back\n"
        } else {
            metrics.connections.refused(.ingest, .limit)
            refusalLog.refused()
            message = "ERR the daemon has \(limits.maxConnections) tap connections open, its limit: retry later\n"
        }
        try? await connection.executeThenClose { _, outbound in
            try await outbound.write(ByteBuffer(string: message))
        }
    }

    /// Logs how the daemon ended a connection, if it did; for a cut, the peer
    /// and what it left unread, and counts it.
    func report(_ c: IngestConnection) {
        let metadata: Logger.Metadata = ["peer": "\(c.peer)", "bytes_read": "\(c.bytesRead)"]
        switch c.ending {
        case nil:
            break
        case .refused(.authTimeout):
            logger.info("closed a tap connection: no AUTH line within \(Self.text(limits.authTimeout))", metadata: metadata)
        case .refused(let reason):
            logger.debug("closed a tap connection: \(reason.rawValue)", metadata: metadata)
        case .drained:
            logger.debug("closed a finished tap connection at shutdown", metadata: metadata)
        case .cut(let received):
            metrics.connections.drainCutConnections.increment()
            let read = c.bytesRead
            var unread = "bytes left unread unknown"
            if let received {
                let left = max(received - read, 0)
                metrics.connections.drainUnreadBytes.increment(by: Int64(left))
                unread = "\(left) bytes it had sent left unread"
            }
            logger.warning(
                "cut a tap connection still open \(Self.text(limits.drainTimeout)) after SIGTERM: \(read) bytes read, \(unread); raise serve.drain_timeout (--drain-timeout) if senders need longer",
                metadata: metadata)
        }
    }

    static func nanoseconds(_ d: Duration) -> UInt64 {
        let (s, atto) = d.components
        guard s >= 0 else { return 0 }
        let (ns, overflow) = UInt64(s).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : ns &+ UInt64(atto / 1_000_000_000)
    }

    /// Nanoseconds from `then` to `now`; 0 when `then` is later (set by another thread meanwhile).
    static func elapsed(_ now: UInt64, since then: UInt64) -> UInt64 { now > then ? now - then : 0 }

    static func text(_ d: Duration) -> String {
        let ms = Self.nanoseconds(d) / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }
}
