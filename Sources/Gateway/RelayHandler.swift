import ChunkModel
import ChunkTap
import NIOCore

/// One side of a proxied connection: what this channel reads goes to its
/// partner's channel unchanged, and each read is recorded as one chunk.
///
/// The two handlers of a connection live on the same event loop (the upstream
/// connection is made on the client channel's loop), so they call each other
/// directly. Back-pressure: a side reads only while its partner's channel is
/// writable; a slow receiver stops the sender's reads instead of growing a
/// buffer. Half-closes pass through (a client's EOF becomes the upstream's EOF),
/// and an error or a full close on either side closes both.
final class RelayHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Side {
        /// The accepted connection: what it reads flows `in` (client → target).
        case client
        /// The connection to the target: what it reads flows `out`.
        case upstream
    }

    private let side: Side
    private var recorder: ChunkRecorder
    private let stats: GatewayStats
    private var partner: RelayHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private var errorCounted = false

    init(side: Side, recorder: ChunkRecorder, stats: GatewayStats) {
        self.side = side
        self.recorder = recorder
        self.stats = stats
    }

    /// Pairs the two handlers of a connection; called on their event loop.
    static func pair(_ a: RelayHandler, _ b: RelayHandler) {
        a.partner = b
        b.partner = a
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    // MARK: inbound: this side's reads go to the partner

    func channelActive(context: ChannelHandlerContext) {
        partner?.partnerBecameWritable()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let chunk = unwrapInboundIn(data)
        recorder.record(chunk)
        partner?.partnerWrite(chunk)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            // This side sent EOF: pass it on, keep the other direction open.
            partner?.partnerWriteEOF()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClose()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        countError()
        partner?.partnerClose()
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    // MARK: outbound: reads wait while the partner cannot take more

    func read(context: ChannelHandlerContext) {
        if let partner, partner.isWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }

    // MARK: what the partner asks of this side

    private var isWritable: Bool {
        guard let channel = context?.channel else { return false }
        return channel.isActive && channel.isWritable
    }

    private func partnerWrite(_ chunk: ByteBuffer) {
        context?.write(wrapOutboundOut(chunk), promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    /// The partner read EOF: pass it on once what it forwarded has been
    /// written (an empty write completes after every write before it), since
    /// closing with writes pending would drop them — and when this side's
    /// input is shut too, NIO makes the output close a full close.
    private func partnerWriteEOF() {
        guard let context else { return }
        let channel = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0)), promise: written)
        written.futureResult.whenComplete { _ in
            channel.close(mode: .output).whenFailure { _ in
                // The socket cannot half-close (or is gone already): close it all.
                channel.close(promise: nil)
            }
        }
    }

    private func partnerClose() {
        context?.close(promise: nil)
    }

    private func partnerBecameWritable() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    private func countError() {
        guard !errorCounted else { return }
        errorCounted = true
        stats.count(error: side)
    }
}

/// Records each chunk one direction of a connection carries: its size, its
/// CRC32C, its sequence number and the connection's chunk rate. No allocation.
struct ChunkRecorder {
    let tap: ChunkTap?
    let source: TapSource?
    let conn: UInt64
    let dir: TapDirection
    let stats: GatewayStats
    /// Whether to compute each chunk's CRC32C (the bulk of the tap's cost on large chunks).
    let checksums: Bool
    private var seq: Int64 = 0
    private let opened: Timestamp

    init(tap: ChunkTap?, source: TapSource?, conn: UInt64, dir: TapDirection, stats: GatewayStats, checksums: Bool, opened: Timestamp) {
        self.tap = tap
        self.source = source
        self.conn = conn
        self.dir = dir
        self.stats = stats
        self.checksums = checksums
        self.opened = opened
    }

    mutating func record(_ chunk: ByteBuffer) {
        let size = chunk.readableBytes
        stats.count(chunkOf: size, dir: dir)
        guard let tap, let source else { return }
        let checksum: UInt32? = checksums ? chunk.withUnsafeReadableBytes { CRC32C.checksum($0) } : nil
        let now = Timestamp.now()
        // Chunks per second since the connection opened (at least a millisecond, so the first chunk is not infinite).
        let elapsed = Double(max(now.nanoseconds - opened.nanoseconds, 1_000_000)) / 1e9
        let rate = Double(seq + 1) / elapsed
        tap.record(
            TapRecord(
                ts: now, source: source, conn: conn, dir: dir, seq: seq, size: Int64(size), checksum: checksum, rate: rate))
        seq += 1
    }
}
