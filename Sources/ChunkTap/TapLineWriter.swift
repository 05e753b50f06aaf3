import ChunkModel

/// Formats tap records and drop reports as NDJSON lines (docs/wire-format.md).
/// Runs on the forwarder thread; appends into a reused buffer.
struct TapLineWriter {
    private let format: TapLineFormat

    init(connPrefix: String) { format = TapLineFormat(connPrefix: connPrefix) }

    /// One SPEC §2 chunk event line; `names` are the record's source's. The
    /// same formatting the collector applies to a binary record (`TapLineFormat`).
    func write(_ record: TapRecord, names: TapRegistry.Names, to out: inout OutputBuffer) {
        format.write(
            ts: record.ts, names: names.fragment, size: record.size, conn: record.conn, out: record.dir == .out,
            seq: record.seq, checksum: record.checksum, rate: record.rate, to: &out)
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
}
