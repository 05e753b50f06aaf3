import ChunkModel

/// Formats tap records and drop reports as NDJSON lines (docs/wire-format.md).
/// Runs on the forwarder thread; appends into a reused buffer.
struct TapLineWriter {
    /// `,"conn":"<prefix>` JSON-escaped once: the number and closing quote follow.
    private let connOpening: [UInt8]

    init(connPrefix: String) {
        var out = OutputBuffer(capacity: 32)
        out.append(jsonString: connPrefix)
        // Drop the closing quote the escaper wrote, so the number continues the string.
        connOpening = Array(",\"conn\":".utf8) + out.bytes.dropLast()
    }

    /// One SPEC §2 chunk event line; `names` are the record's source's.
    func write(_ record: TapRecord, names: TapRegistry.Names, to out: inout OutputBuffer) {
        out.append("{\"ts\":\"")
        record.ts.writeRFC3339Milliseconds(to: &out)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: names.fragment)
        out.append(",\"size\":")
        out.append(integer: record.size)
        out.append(contentsOf: connOpening)
        if record.conn <= UInt64(Int64.max) {
            out.append(integer: Int64(record.conn))
        } else {
            out.append(String(record.conn))  // beyond Int64: rare enough to pay for a String
        }
        out.append(UInt8(ascii: "\""))
        out.append(record.dir == .out ? ",\"dir\":\"out\"" : ",\"dir\":\"in\"")
        if record.seq >= 0 {
            out.append(",\"seq\":")
            out.append(integer: record.seq)
        }
        if let checksum = record.checksum {
            out.append(",\"checksum\":\"crc32c:")
            Self.appendHex(checksum, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        if record.rate >= 0, record.rate.isFinite {
            out.append(",\"rate\":")
            out.append(number: record.rate, decimals: 3)
        }
        out.append("}\n")
    }

    /// The drop report (docs/wire-format.md, "Drop report lines"): the
    /// collector counts it per tap in `/metrics`, adds each principal's count
    /// to the `coverage.dropped` of that principal's alerts, and archives it.
    static func writeDropReport(
        tap: String, now: Timestamp, since: Timestamp, dropped: Int, byPrincipal: [(String, Int)],
        to out: inout OutputBuffer
    ) {
        out.append("{\"chunkwatch_tap\":\"drops\",\"tap\":")
        out.append(jsonString: tap)
        out.append(",\"ts\":\"")
        now.writeRFC3339Milliseconds(to: &out)
        out.append("\",\"since\":\"")
        since.writeRFC3339Milliseconds(to: &out)
        out.append("\",\"dropped\":")
        out.append(integer: dropped)
        out.append(",\"dropped_by_principal\":{")
        for (i, (principal, n)) in byPrincipal.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(jsonString: principal)
            out.append(UInt8(ascii: ":"))
            out.append(integer: n)
        }
        out.append("}}\n")
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
