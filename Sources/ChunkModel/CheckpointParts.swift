/// A checkpoint is written as a few parts (the daemon's own state, then one
/// per worker shard), each a stream of sections written by one thread: the
/// thread that owns that state, so nothing is paused for another to read it.
/// A section is a length and then `BinaryCoding` bytes, streamed, so no part
/// is ever held whole in memory on either side.

/// Where one part of a checkpoint goes.
public protocol CheckpointPartWriter: AnyObject, Sendable {
    /// The next bytes of the part.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// The part is complete (nothing is written after this).
    func close() throws
    /// The part cannot be completed: the checkpoint is abandoned.
    func fail(_ error: any Error)
}

/// Where a part is read back from, section by section.
public protocol CheckpointPartReader: AnyObject {
    /// The bytes of the next section.
    func nextSection() throws -> [UInt8]
}

extension CheckpointPartWriter {
    /// One section: `value` as `BinaryCoding.encode` gives it, streamed.
    public func section<T: Encodable>(_ value: T) throws {
        let n = try BinaryCoding.encodedCount(value)
        try length(n)
        try BinaryCoding.encode(value) { try write($0) }
    }

    /// One section of bytes already encoded.
    public func section(bytes: [UInt8]) throws {
        try length(bytes.count)
        try bytes.withUnsafeBytes { try write($0) }
    }

    private func length(_ n: Int) throws {
        try withUnsafeBytes(of: UInt64(n).littleEndian) { try write($0) }
    }
}

extension CheckpointPartReader {
    /// The next section decoded as `type`.
    public func nextSection<T: Decodable>(_ type: T.Type) throws -> T {
        try BinaryCoding.decode(type, from: nextSection())
    }
}

/// A checkpoint that cannot be written or read back, and why.
public struct CheckpointStreamError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
