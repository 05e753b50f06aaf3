import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// What every HTTP connection's guard shares: the count of open connections
/// against the limit, the timeouts, the metrics.
final class HTTPConnectionGate: Sendable {
    let maxConnections: Int
    let idleTimeout: TimeAmount
    let requestTimeout: TimeAmount
    let metrics: ConnectionMetrics
    let refusalLog: RefusalLog
    private let open = Atomic<Int>(0)

    init(maxConnections: Int, idleTimeout: Duration, requestTimeout: Duration, metrics: ConnectionMetrics, refusalLog: RefusalLog) {
        self.maxConnections = maxConnections
        self.idleTimeout = TimeAmount(idleTimeout)
        self.requestTimeout = TimeAmount(requestTimeout)
        self.metrics = metrics
        self.refusalLog = refusalLog
        metrics.limits[.http]?.record(maxConnections)
    }

    /// Takes a place for a new connection; false at the limit.
    func admit() -> Bool {
        let n = open.add(1, ordering: .relaxed).newValue
        guard n <= maxConnections else {
            open.subtract(1, ordering: .relaxed)
            metrics.refused(.http, .limit)
            refusalLog.refused()
            return false
        }
        metrics.httpConnections.record(n)
        return true
    }

    func release() {
        metrics.httpConnections.record(open.subtract(1, ordering: .relaxed).newValue)
    }

    var openConnections: Int { open.load(ordering: .relaxed) }
}

/// One HTTP connection's guard, between the HTTP codec and Hummingbird:
/// - past the limit of open connections, it answers 503 and closes;
/// - waiting for a request, it closes the connection when no complete head
///   comes within the idle timeout (an idle keep-alive, or a head trickled byte
///   by byte, a slowloris, which never becomes a part);
/// - reading a request, it cuts it when head and body take longer than the
///   request timeout (a body trickled forever);
/// - while a response is being written there is no limit, so the alert
///   stream (SSE, which sends a keepalive comment every 15 s) runs for as long as its client stays;
/// - a response sent before its request's body was read (a 413 for a
///   `Content-Length` over the limit, a 401) closes the connection, so the
///   unread body is never read;
/// - every response of 400 or more is counted by status.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let gate: HTTPConnectionGate
    private var activated = false
    private var admitted = false
    /// A request head is in and its end is not.
    private var reading = false
    /// Requests whose response has not ended.
    private var inProgress = 0
    private var closeAfterResponse = false
    private var timer: Scheduled<Void>?

    init(gate: HTTPConnectionGate) { self.gate = gate }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            // The rest of the pipeline is still being set up: decide on the next tick.
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.execute { loopBound.value.0.activate(loopBound.value.1) }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) { finish() }

    func channelActive(context: ChannelHandlerContext) {
        activate(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    private func activate(_ context: ChannelHandlerContext) {
        guard !activated else { return }
        activated = true
        guard gate.admit() else {
            var head = HTTPResponse(status: .serviceUnavailable)
            head.headerFields[.connection] = "close"
            head.headerFields[.contentLength] = "0"
            head.headerFields[.retryAfter] = "1"
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.close(promise: nil)
            return
        }
        admitted = true
        arm(context, gate.idleTimeout)
    }

    private func finish() {
        timer?.cancel()
        timer = nil
        if admitted {
            admitted = false
            gate.release()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !activated { activate(context) }
        guard admitted else { return }  // refused: nothing it sends is handled
        switch unwrapInboundIn(data) {
        case .head:
            reading = true
            inProgress += 1
            arm(context, gate.requestTimeout)
        case .body:
            break
        case .end:
            reading = false
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            // Counted when it can still be sent (not the answer to a request cut by a timeout).
            if context.channel.isActive { gate.metrics.errorResponse(status: head.status.code) }
            if reading && inProgress == 1 {
                // Answered before its body was in: close rather than read what is left.
                closeAfterResponse = true
                head.headerFields[.connection] = "close"
                context.write(wrapOutboundOut(.head(head)), promise: promise)
                return
            }
        case .body:
            break
        case .end:
            inProgress = max(inProgress - 1, 0)
            if closeAfterResponse {
                context.writeAndFlush(data, promise: promise)
                context.close(promise: nil)
                return
            }
            if inProgress == 0 && !reading { arm(context, gate.idleTimeout) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ after: TimeAmount) {
        timer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: after) {
            let (handler, context) = loopBound.value
            handler.timedOut(context)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }

    private func timedOut(_ context: ChannelHandlerContext) {
        timer = nil
        if reading {
            gate.metrics.refused(.http, .requestTimeout)
        } else if inProgress == 0 {
            gate.metrics.refused(.http, .idleTimeout)
        } else {
            return  // a response is being written: not ours to limit
        }
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension HTTPConnectionGuard: Sendable {}
