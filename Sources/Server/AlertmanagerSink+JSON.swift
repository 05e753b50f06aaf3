import ChunkModel

// The v2 API's alert JSON.
extension AlertmanagerSink {
    /// `[{"labels":{…},"annotations":{…},"startsAt":…,"endsAt":…,"generatorURL":…}, …]`
    /// as `POST /api/v2/alerts` takes it. Labels identify an alert at
    /// Alertmanager (`chunkwatch_id` makes each chunkwatch alert one Alertmanager
    /// alert); annotations carry the figures and are replaced on every post.
    static func writeAlerts(_ alerts: [Alert], generatorBaseURL: String?, to out: inout OutputBuffer) {
        out.append(UInt8(ascii: "["))
        for (i, a) in alerts.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append("{\"labels\":{\"alertname\":")
            out.append(jsonString: "chunkwatch_" + a.detector)
            out.append(",\"detector\":")
            out.append(jsonString: a.detector)
            out.append(",\"principal\":")
            out.append(jsonString: a.principal)
            out.append(",\"severity\":")
            out.append(jsonString: a.severity.name)
            out.append(",\"chunkwatch_id\":")
            out.append(jsonString: a.id)
            if let resource = a.resource {
                out.append(",\"resource\":")
                out.append(jsonString: resource)
            }
            out.append("},\"annotations\":{\"summary\":")
            out.append(jsonString: a.message)
            if let description = description(a) {
                out.append(",\"description\":")
                out.append(jsonString: description)
            }
            out.append(",\"score\":")
            out.append(jsonString: text(a.score))
            out.append(",\"count\":")
            out.append(jsonString: String(a.count))
            out.append("}")
            let (startsAt, endsAt) = activeRange(a)
            out.append(",\"startsAt\":\"")
            startsAt.writeRFC3339Milliseconds(to: &out)
            out.append("\"")
            if let endsAt {
                out.append(",\"endsAt\":\"")
                endsAt.writeRFC3339Milliseconds(to: &out)
                out.append("\"")
            }
            if let base = generatorBaseURL {
                out.append(",\"generatorURL\":")
                out.append(jsonString: "\(base)/v1/alerts?principal=\(percentEncoded(a.principal))&detector=\(percentEncoded(a.detector))")
            }
            out.append("}")
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Event times, as chunkwatch's alerts carry them. A firing alert has no
    /// `endsAt`: Alertmanager then keeps it active for `resolve_timeout` after
    /// each post, which the resends renew. A resolved one ends at its last
    /// anomaly, but never later than when it was emitted: an `endsAt` in the
    /// future (a gateway clock running ahead) would read as still firing.
    static func activeRange(_ a: Alert) -> (startsAt: Timestamp, endsAt: Timestamp?) {
        guard a.status == .resolved else { return (a.firstTs, nil) }
        let endsAt = min(a.lastTs, a.emittedAt)
        return (min(a.firstTs, endsAt), endsAt)  // Alertmanager refuses an end before the start
    }

    /// "observed 1048576, expected 16384, threshold 8": the figures a detector has.
    static func description(_ a: Alert) -> String? {
        var parts: [String] = []
        if let v = a.observed { parts.append("observed \(text(v))") }
        if let v = a.expected { parts.append("expected \(text(v))") }
        if let v = a.threshold { parts.append("threshold \(text(v))") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// A number as the NDJSON alerts write it (`0.9993`, `16384`).
    private static func text(_ value: Double) -> String {
        var out = OutputBuffer(capacity: 24)
        out.append(number: value)
        return out.string
    }

    private static func percentEncoded(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
