/// The compact binary framing a tap may send instead of NDJSON lines, on the
/// same TCP listener (SPEC §2; docs/wire-format.md has the byte layout).
///
/// A binary stream opens with `magic` (after the optional `AUTH` line). Then
/// frames, each `type: UInt8, length: UInt32 LE, payload[length]`:
/// - `hello`: the tap's connection-id prefix (UTF-8), once, before any event;
/// - `source`: `id: UInt32`, then principal, resource and hop as
///   `UInt16 LE length + UTF-8` (length 0xFFFF: absent) — the names behind an id, once each;
/// - `events`: fixed 48-byte records (`recordSize`), as many as fit the length;
/// - `report`: one NDJSON line (a drop report), as the NDJSON stream would carry it;
/// - `resume`: `instance: UInt64, next: UInt64`, then the tap's name (UTF-8):
///   the items that follow (each event record and each report) are numbered
///   from `next`, and the collector answers with `ack` frames;
/// - `ack` (collector → tap): `next: UInt64`: every item numbered below it is durable.
///
/// The collector turns each record back into the exact NDJSON line an NDJSON
/// tap would have sent (`TapLineFormat`), so archives, rejections and the
/// pipeline see one format. What the binary framing saves is the tap's side:
/// no JSON formatting on the proxy's host, and 48 bytes per event on the wire
/// instead of ~200.
public enum TapWire {
    /// `\x89 C W T \r \n \x1A` and the version, 1. The first byte can start
    /// neither a JSON value nor an `AUTH` line, so one byte tells the formats apart.
    public static let magic: [UInt8] = [0x89, 0x43, 0x57, 0x54, 0x0D, 0x0A, 0x1A, 0x01]

    public enum FrameType: UInt8, Sendable {
        case hello = 1
        case source = 2
        case events = 3
        case report = 4
        case resume = 5
        case ack = 6
    }

    /// Bytes of an `ack` frame: header and `next`.
    public static let ackFrameSize = 13
    /// The longest tap name a `resume` frame may carry (as a principal's).
    public static let maxTapName = 256

    /// Bytes per event record.
    public static let recordSize = 48
    /// The largest frame payload a collector accepts (a frame of 21 845 records).
    public static let maxPayload = 1 << 20

    /// Record flags: which optional fields are present.
    public static let hasSeq: UInt8 = 1
    public static let hasChecksum: UInt8 = 2
    public static let hasRate: UInt8 = 4

    /// One event record as the tap writes it (all integers little-endian):
    ///
    /// | offset | size | field |
    /// |---|---|---|
    /// | 0 | 8 | ts: Int64 nanoseconds since the epoch |
    /// | 8 | 4 | source: UInt32 (a `source` frame's id) |
    /// | 12 | 1 | dir: 0 in, 1 out |
    /// | 13 | 1 | flags: `hasSeq`, `hasChecksum`, `hasRate` |
    /// | 14 | 2 | zero |
    /// | 16 | 8 | conn: UInt64 (the line's `conn` is the hello prefix + this number) |
    /// | 24 | 8 | seq: Int64 |
    /// | 32 | 8 | size: Int64 |
    /// | 40 | 4 | checksum: UInt32 CRC32C |
    /// | 44 | 4 | rate: Float32 chunks per second |
    @inlinable
    public static func appendRecord(
        ts: Int64, source: UInt32, dir: UInt8, conn: UInt64, seq: Int64, size: Int64, checksum: UInt32?, rate: Double,
        to out: inout [UInt8]
    ) {
        var flags: UInt8 = 0
        if seq >= 0 { flags |= hasSeq }
        if checksum != nil { flags |= hasChecksum }
        if rate >= 0, rate.isFinite { flags |= hasRate }
        withUnsafeBytes(of: ts.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: source.littleEndian) { out.append(contentsOf: $0) }
        out.append(dir)
        out.append(flags)
        out.append(0)
        out.append(0)
        withUnsafeBytes(of: conn.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: max(seq, -1).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: size.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: (checksum ?? 0).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: Float(flags & hasRate != 0 ? rate : 0).bitPattern.littleEndian) { out.append(contentsOf: $0) }
    }

    /// A frame header; the payload follows.
    @inlinable
    public static func appendHeader(_ type: FrameType, length: Int, to out: inout [UInt8]) {
        out.append(type.rawValue)
        withUnsafeBytes(of: UInt32(length).littleEndian) { out.append(contentsOf: $0) }
    }

    /// A `source` frame: the names behind `id`.
    public static func appendSource(id: UInt32, principal: String, resource: String?, hop: String?, to out: inout [UInt8]) {
        var payload: [UInt8] = []
        withUnsafeBytes(of: id.littleEndian) { payload.append(contentsOf: $0) }
        for name in [principal as String?, resource, hop] {
            if let name {
                let bytes = Array(name.utf8.prefix(0xFFFE))
                withUnsafeBytes(of: UInt16(bytes.count).littleEndian) { payload.append(contentsOf: $0) }
                payload += bytes
            } else {
                withUnsafeBytes(of: UInt16(0xFFFF).littleEndian) { payload.append(contentsOf: $0) }
            }
        }
        appendHeader(.source, length: payload.count, to: &out)
        out += payload
    }

    /// A `resume` frame: the items after it are numbered from `next`.
    public static func appendResume(name: String, instance: UInt64, next: UInt64, to out: inout [UInt8]) {
        let bytes = Array(name.utf8.prefix(maxTapName))
        appendHeader(.resume, length: 16 + bytes.count, to: &out)
        withUnsafeBytes(of: instance.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: next.littleEndian) { out.append(contentsOf: $0) }
        out += bytes
    }

    /// An `ack` frame: every item numbered below `next` is durable.
    public static func appendAck(next: UInt64, to out: inout [UInt8]) {
        appendHeader(.ack, length: 8, to: &out)
        withUnsafeBytes(of: next.littleEndian) { out.append(contentsOf: $0) }
    }

    /// A `hello` frame with the tap's connection-id prefix.
    public static func appendHello(connPrefix: String, to out: inout [UInt8]) {
        let bytes = Array(connPrefix.utf8)
        appendHeader(.hello, length: bytes.count, to: &out)
        out += bytes
    }
}

/// Writes a tap's chunk event as its SPEC §2 NDJSON line: what an NDJSON tap
/// sends, and what the collector makes of a binary record.
public struct TapLineFormat: Sendable {
    /// `,"conn":"<prefix>` JSON-escaped once: the number and closing quote follow.
    private let connOpening: [UInt8]

    public init(connPrefix: String) {
        var out = OutputBuffer(capacity: 32)
        out.append(jsonString: connPrefix)
        // Drop the closing quote the escaper wrote, so the number continues the string.
        connOpening = Array(",\"conn\":".utf8) + out.bytes.dropLast()
    }

    /// `,"principal":…,"resource":…,"hop":…` for a source, written once per source.
    public static func namesFragment(principal: String, resource: String?, hop: String?) -> [UInt8] {
        var out = OutputBuffer(capacity: 64)
        out.append(",\"principal\":")
        out.append(jsonString: principal)
        if let resource {
            out.append(",\"resource\":")
            out.append(jsonString: resource)
        }
        if let hop {
            out.append(",\"hop\":")
            out.append(jsonString: hop)
        }
        return out.bytes
    }

    /// One line; `names` is the source's `namesFragment`. `seq` < 0, a nil
    /// checksum and a negative or non-finite rate are left out.
    public func write(
        ts: Timestamp, names: [UInt8], size: Int64, conn: UInt64, out dirOut: Bool, seq: Int64, checksum: UInt32?,
        rate: Double, to out: inout OutputBuffer
    ) {
        out.append("{\"ts\":\"")
        ts.writeRFC3339Milliseconds(to: &out)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: names)
        out.append(",\"size\":")
        out.append(integer: size)
        out.append(contentsOf: connOpening)
        if conn <= UInt64(Int64.max) {
            out.append(integer: Int64(conn))
        } else {
            out.append(String(conn))  // beyond Int64: rare enough to pay for a String
        }
        out.append(UInt8(ascii: "\""))
        out.append(dirOut ? ",\"dir\":\"out\"" : ",\"dir\":\"in\"")
        if seq >= 0 {
            out.append(",\"seq\":")
            out.append(integer: seq)
        }
        if let checksum {
            out.append(",\"checksum\":\"crc32c:")
            Self.appendHex(checksum, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        if rate >= 0, rate.isFinite {
            out.append(",\"rate\":")
            out.append(number: rate, decimals: 3)
        }
        out.append("}\n")
    }

    private static func appendHex(_ value: UInt32, to out: inout OutputBuffer) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { d in
            var shift: UInt32 = 28
            while true {
                out.append(d[Int((value >> shift) & 0xF)])
                if shift == 0 { break }
                shift -= 4
            }
        }
    }
}

/// A binary stream's problem: the collector closes the connection with it.
public struct TapWireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset in the connection's binary stream (after the magic) where the bad frame starts.
    public var offset: Int
    public var message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "binary tap stream, byte \(offset): \(message)" }
}

/// The collector's side: takes a binary stream in pieces as they arrive and
/// appends the NDJSON line of every event and report in it. Keeps what it
/// learnt (the prefix, the sources) for the connection's lifetime; a partial
/// frame waits for the rest.
public struct TapWireDecoder: Sendable {
    private var pending: [UInt8] = []
    private var consumed = 0
    private var format = TapLineFormat(connPrefix: "")
    private var sources: [UInt32: [UInt8]] = [:]
    /// Events turned into lines so far.
    public private(set) var events = 0
    /// Maximum number of distinct sources one connection may define.
    public static let maxSources = 65_536
    /// The tap that numbers its items on this connection (after a `resume` frame).
    public private(set) var session: TapSession?
    /// The number of the next item (event record or report) on a resumed stream.
    public private(set) var nextSequence: UInt64 = 0
    /// Items numbered below this were delivered before (a resend after a
    /// reconnect): skipped, and counted in `duplicates`.
    private var skipBelow: UInt64 = 0
    public private(set) var duplicates = 0
    /// Whether an event or report frame has been seen (a `resume` must come before).
    private var sawItems = false

    public init() {}

    /// Appends the lines of every complete frame in `bytes` (plus what was
    /// pending) to `out`. Throws at the first malformed frame; the lines
    /// before it are in `out`. `onResume` is told of a `resume` frame (the
    /// tap and the number of its first item) and answers the number below
    /// which items are duplicates, to be skipped.
    public mutating func feed(
        _ bytes: UnsafeRawBufferPointer, into out: inout OutputBuffer,
        onResume: (TapSession, UInt64) -> UInt64 = { _, first in first }
    ) throws(TapWireError) {
        pending.append(contentsOf: bytes)
        var start = 0
        defer {
            consumed += start
            pending.removeFirst(start)
        }
        while pending.count - start >= 5 {
            let typeByte = pending[start]
            let length = Int(UInt32(pending[start + 1]) | UInt32(pending[start + 2]) << 8 | UInt32(pending[start + 3]) << 16 | UInt32(pending[start + 4]) << 24)
            guard let type = TapWire.FrameType(rawValue: typeByte) else {
                throw TapWireError(offset: consumed + start, message: "unknown frame type \(typeByte)")
            }
            guard length <= TapWire.maxPayload else {
                throw TapWireError(offset: consumed + start, message: "a frame of \(length) bytes is over the limit of \(TapWire.maxPayload)")
            }
            guard pending.count - start - 5 >= length else { break }
            let payload = start + 5..<start + 5 + length
            if type == .resume {
                try resume(payload, at: consumed + start, onResume)
            } else {
                try frame(type, payload, at: consumed + start, into: &out)
            }
            start = payload.upperBound
        }
    }

    private mutating func resume(
        _ range: Range<Int>, at offset: Int, _ onResume: (TapSession, UInt64) -> UInt64
    ) throws(TapWireError) {
        guard session == nil, !sawItems else {
            throw TapWireError(offset: offset, message: "a resume frame must come once, before any events")
        }
        let nameLength = range.count - 16
        guard nameLength >= 1, nameLength <= TapWire.maxTapName else {
            throw TapWireError(offset: offset, message: "a resume frame needs a tap name of 1 to \(TapWire.maxTapName) bytes")
        }
        let tap = TapSession(
            name: String(decoding: pending[range.lowerBound + 16..<range.upperBound], as: UTF8.self),
            instance: readUInt64(at: range.lowerBound))
        let first = readUInt64(at: range.lowerBound + 8)
        session = tap
        nextSequence = first
        skipBelow = onResume(tap, first)
    }

    /// Numbers the next item; false when it is a duplicate to skip.
    private mutating func take() -> Bool {
        sawItems = true
        guard session != nil else { return true }
        let n = nextSequence
        nextSequence &+= 1
        if n < skipBelow {
            duplicates += 1
            return false
        }
        return true
    }

    private mutating func frame(_ type: TapWire.FrameType, _ range: Range<Int>, at offset: Int, into out: inout OutputBuffer) throws(TapWireError) {
        switch type {
        case .resume:
            break  // handled by `resume`
        case .ack:
            throw TapWireError(offset: offset, message: "an ack frame goes from the collector to the tap, not back")
        case .hello:
            format = TapLineFormat(connPrefix: String(decoding: pending[range], as: UTF8.self))
        case .source:
            var cursor = range.lowerBound
            guard range.count >= 4 + 6 else { throw TapWireError(offset: offset, message: "a source frame of \(range.count) bytes is too short") }
            let id = readUInt32(at: cursor)
            cursor += 4
            var names: [String?] = []
            for _ in 0..<3 {
                guard cursor + 2 <= range.upperBound else { throw TapWireError(offset: offset, message: "a source frame ends inside its names") }
                let n = Int(UInt16(pending[cursor]) | UInt16(pending[cursor + 1]) << 8)
                cursor += 2
                if n == 0xFFFF {
                    names.append(nil)
                    continue
                }
                guard cursor + n <= range.upperBound else { throw TapWireError(offset: offset, message: "a source frame ends inside its names") }
                names.append(String(decoding: pending[cursor..<cursor + n], as: UTF8.self))
                cursor += n
            }
            guard let principal = names[0], !principal.isEmpty else {
                throw TapWireError(offset: offset, message: "source \(id) has no principal")
            }
            guard sources.count < Self.maxSources || sources[id] != nil else {
                throw TapWireError(offset: offset, message: "more than \(Self.maxSources) sources on one connection")
            }
            sources[id] = TapLineFormat.namesFragment(principal: principal, resource: names[1], hop: names[2])
        case .events:
            guard range.count % TapWire.recordSize == 0 else {
                throw TapWireError(offset: offset, message: "an events frame of \(range.count) bytes is not a whole number of \(TapWire.recordSize)-byte records")
            }
            var cursor = range.lowerBound
            while cursor < range.upperBound {
                let source = readUInt32(at: cursor + 8)
                guard let names = sources[source] else {
                    throw TapWireError(offset: offset, message: "an event names source \(source), which no source frame defined")
                }
                guard take() else {
                    cursor += TapWire.recordSize
                    continue
                }
                let flags = pending[cursor + 13]
                let rate = Float(bitPattern: readUInt32(at: cursor + 44))
                format.write(
                    ts: Timestamp(nanoseconds: Int64(bitPattern: readUInt64(at: cursor))), names: names,
                    size: Int64(bitPattern: readUInt64(at: cursor + 32)), conn: readUInt64(at: cursor + 16),
                    out: pending[cursor + 12] == 1,
                    seq: flags & TapWire.hasSeq != 0 ? Int64(bitPattern: readUInt64(at: cursor + 24)) : -1,
                    checksum: flags & TapWire.hasChecksum != 0 ? readUInt32(at: cursor + 40) : nil,
                    rate: flags & TapWire.hasRate != 0 ? Double(rate) : -1, to: &out)
                events += 1
                cursor += TapWire.recordSize
            }
        case .report:
            guard take() else { return }
            out.append(contentsOf: Array(pending[range]))
            if pending[range].last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
        }
    }

    private func readUInt32(at i: Int) -> UInt32 {
        UInt32(pending[i]) | UInt32(pending[i + 1]) << 8 | UInt32(pending[i + 2]) << 16 | UInt32(pending[i + 3]) << 24
    }

    private func readUInt64(at i: Int) -> UInt64 {
        UInt64(readUInt32(at: i)) | UInt64(readUInt32(at: i + 4)) << 32
    }
}

