/// A tap that numbers what it sends (a `resume` frame): its name and the
/// instance, a random number drawn when the tap starts, so a restarted tap
/// whose numbers begin again is not taken for a resend.
public struct TapSession: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var instance: UInt64

    public init(name: String, instance: UInt64) {
        self.name = name
        self.instance = instance
    }

    public var description: String { "\(name)#\(String(instance, radix: 16))" }
}

/// The tap's side of the collector's answers on a binary stream: `ack`
/// frames, or an `ERR …` line before the collector closes.
public struct TapAckReader: Sendable {
    private var pending: [UInt8] = []
    /// The highest `next` acknowledged so far.
    public private(set) var acknowledged: UInt64?
    /// What the collector wrote instead of frames (an `ERR` line), if anything.
    public private(set) var message: String?

    public init() {}

    /// Takes what arrived; false once the stream holds something other than
    /// ack frames (the collector is closing: `message` says why).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard message == nil else { return false }
        pending.append(contentsOf: bytes)
        var start = 0
        defer { pending.removeFirst(start) }
        while start < pending.count {
            guard pending[start] == TapWire.FrameType.ack.rawValue else {
                message = String(decoding: pending[start...].prefix(512), as: UTF8.self)
                return false
            }
            guard pending.count - start >= TapWire.ackFrameSize else { break }
            let length = Int(pending[start + 1]) | Int(pending[start + 2]) << 8 | Int(pending[start + 3]) << 16 | Int(pending[start + 4]) << 24
            guard length == 8 else {
                message = "an ack frame of \(length) bytes"
                return false
            }
            var next: UInt64 = 0
            for i in 0..<8 { next |= UInt64(pending[start + 5 + i]) << (8 * UInt64(i)) }
            acknowledged = max(acknowledged ?? 0, next)
            start += TapWire.ackFrameSize
        }
        return true
    }
}
