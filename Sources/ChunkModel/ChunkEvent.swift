/// Which way a chunk went through the gateway.
public enum Direction: UInt8, Sendable, Hashable, CaseIterable, Codable {
    /// client → target
    case inbound = 0
    /// target → client
    case outbound = 1

    public var name: String { self == .inbound ? "in" : "out" }

    public init?(name: String) {
        switch name {
        case "in": self = .inbound
        case "out": self = .outbound
        default: return nil
        }
    }
}

/// The metadata of one chunk, as a gateway reports it (SPEC §2).
///
/// A plain value of integers: strings are `Symbol`s whose names live in a
/// `SymbolTable`, so an event copies without reference counting and a queue of
/// them is one flat buffer. Optional fields use sentinels (`Symbol.none`, -1)
/// rather than `Optional` to keep the layout small.
public struct ChunkEvent: Sendable, Hashable {
    public var ts: Timestamp
    public var principal: Symbol
    public var size: Int64
    public var conn: Symbol
    public var resource: Symbol
    public var dir: Direction
    /// Chunk index within (conn, dir); -1 when the event has none.
    public var seq: Int64
    public var checksum: Symbol
    public var expectedChecksum: Symbol
    /// Observation point; `Symbol.gateway` when the event names none.
    public var hop: Symbol
    public var op: Symbol
    /// Chunks per second as the proxy measured it; -1 when absent.
    public var rate: Double

    public init(
        ts: Timestamp, principal: Symbol, size: Int64, conn: Symbol = .none, resource: Symbol = .none,
        dir: Direction = .inbound, seq: Int64 = -1, checksum: Symbol = .none, expectedChecksum: Symbol = .none,
        hop: Symbol = .gateway, op: Symbol = .none, rate: Double = -1
    ) {
        self.ts = ts
        self.principal = principal
        self.size = size
        self.conn = conn
        self.resource = resource
        self.dir = dir
        self.seq = seq
        self.checksum = checksum
        self.expectedChecksum = expectedChecksum
        self.hop = hop
        self.op = op
        self.rate = rate
    }

    /// An empty event to fill in place (decoders reuse one).
    public static let empty = ChunkEvent(ts: .zero, principal: .none, size: 0)
}

extension Symbol {
    /// The default hop, `gateway`.
    public static let gateway = Symbol("gateway")
}
