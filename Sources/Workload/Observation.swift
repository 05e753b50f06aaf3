import ChunkModel

/// One line of output: a chunk as one hop saw it. Plain integers, so the queue
/// of pending observations copies without reference counting.
struct Observation: Sendable {
    enum Hop: UInt8, Sendable {
        /// Single-hop principals do not name the hop (SPEC default: gateway).
        case unnamed, gateway, sink
    }

    var time: Int64
    var size: Int64
    var conn: UInt64
    var seq: Int64
    var rate: Double
    var checksum: UInt32
    var expectedChecksum: UInt32
    var hasExpectedChecksum: Bool
    var resource: Int32
    var outbound: Bool
    var op: UInt8
    var hop: Hop
}

/// Writes a principal's observations as NDJSON (SPEC §2), with the parts that
/// never change for the principal rendered once up front.
struct LineFormat: Sendable {
    /// `,"principal":"svc-billing"`
    private let principalField: [UInt8]
    /// `,"resource":"pg://orders"` per resource.
    private let resourceFields: [[UInt8]]
    /// `,"labels":{…}` or empty.
    private let labelsField: [UInt8]
    private let epochMilliseconds: Bool

    init(profile: PrincipalProfile) {
        var b = OutputBuffer(capacity: 64)
        b.append(",\"principal\":")
        b.append(jsonString: profile.name)
        principalField = b.bytes
        resourceFields = profile.resources.map { name in
            var b = OutputBuffer(capacity: 64)
            b.append(",\"resource\":")
            b.append(jsonString: name)
            return b.bytes
        }
        if profile.labels.isEmpty {
            labelsField = []
        } else {
            var b = OutputBuffer(capacity: 64)
            b.append(",\"labels\":{")
            for (i, label) in profile.labels.enumerated() {
                if i > 0 { b.append(UInt8(ascii: ",")) }
                b.append(jsonString: label.key)
                b.append(UInt8(ascii: ":"))
                b.append(jsonString: label.value)
            }
            b.append(UInt8(ascii: "}"))
            labelsField = b.bytes
        }
        epochMilliseconds = profile.epochMillisecondTimestamps
    }

    /// Appends the line and its `\n`.
    @inline(__always)
    func write(_ o: Observation, to out: inout OutputBuffer) {
        out.reserve(320)
        let ts = Timestamp(nanoseconds: o.time)
        if epochMilliseconds {
            out.append("{\"ts\":")
            out.append(integer: ts.epochMilliseconds)
        } else {
            out.append("{\"ts\":\"")
            ts.writeRFC3339Milliseconds(to: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: principalField)
        out.append(",\"size\":")
        out.append(integer: o.size)
        out.append(",\"conn\":\"c-")
        appendHex(o.conn, digits: 12, to: &out)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: resourceFields[Int(o.resource)])
        out.append(o.outbound ? ",\"dir\":\"out\",\"seq\":" : ",\"dir\":\"in\",\"seq\":")
        out.append(integer: o.seq)
        out.append(",\"checksum\":\"crc32c:")
        appendHex(UInt64(o.checksum), digits: 8, to: &out)
        if o.hasExpectedChecksum {
            out.append("\",\"expected_checksum\":\"crc32c:")
            appendHex(UInt64(o.expectedChecksum), digits: 8, to: &out)
        }
        switch o.hop {
        case .unnamed: out.append("\",\"op\":\"")
        case .gateway: out.append("\",\"hop\":\"gateway\",\"op\":\"")
        case .sink: out.append("\",\"hop\":\"sink\",\"op\":\"")
        }
        switch o.op {
        case 0: out.append("read")
        case 1: out.append("write")
        case 2: out.append("delete")
        default: out.append("admin")
        }
        out.append("\",\"rate\":")
        out.append(number: o.rate, decimals: 2)
        out.append(contentsOf: labelsField)
        out.append("}\n")
    }

    @inline(__always)
    private func appendHex(_ value: UInt64, digits: Int, to out: inout OutputBuffer) {
        var shift = UInt64(digits * 4)
        while shift > 0 {
            shift -= 4
            let nibble = UInt8(truncatingIfNeeded: (value >> shift) & 0xF)
            out.append(nibble < 10 ? 48 + nibble : 87 + nibble)
        }
    }
}
