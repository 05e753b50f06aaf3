import ChunkModel

/// Which way a chunk went: `in` is client → target, `out` target → client (SPEC §2).
public enum TapDirection: UInt8, Sendable {
    case `in` = 0
    case out = 1
}

/// A handle the proxy registers once per listener or connection kind
/// (`ChunkTap.register`): it stands for a principal, a resource and a hop, so
/// the hot path carries a 32-bit index instead of three strings.
public struct TapSource: Hashable, Sendable {
    @usableFromInline let index: UInt32

    @inlinable init(index: UInt32) { self.index = index }
}

/// One chunk as the proxy saw it. A plain value with no references, so copying
/// it into the ring costs a few stores and never touches a reference count.
///
/// The fields are declared widest first so that the record packs into 50
/// bytes: with the ring's sequence number it fills one 64-byte cache line
/// (`TapRing`). Keep new fields within that, or each push touches two lines.
public struct TapRecord: Sendable {
    /// When the proxy saw the chunk (event time).
    public var ts: Timestamp
    /// The proxy's own connection number; sent as `conn` = the tap's prefix + this number.
    public var conn: UInt64
    /// Chunk index within (`conn`, `dir`); negative means none.
    public var seq: Int64
    public var size: Int64
    /// Chunks per second on this connection as the proxy measures it; negative or NaN means none.
    public var rate: Double
    public var source: TapSource
    /// CRC32C of the chunk, when the proxy computed one.
    public var checksum: UInt32?
    public var dir: TapDirection

    @inlinable
    public init(
        ts: Timestamp, source: TapSource, conn: UInt64, dir: TapDirection = .in, seq: Int64 = -1, size: Int64,
        checksum: UInt32? = nil, rate: Double = -1
    ) {
        self.ts = ts
        self.source = source
        self.conn = conn
        self.dir = dir
        self.seq = seq
        self.size = size
        self.checksum = checksum
        self.rate = rate
    }
}
