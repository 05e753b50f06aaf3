/// An alert as chunkwatch emits it (SPEC §3).
public struct Alert: Sendable, Hashable {
    public enum Status: String, Sendable, Codable {
        case firing, resolved
    }

    /// 16 hex digits, deterministic from (detector, key, first event time).
    public var id: String
    public var status: Status
    public var detector: String
    public var severity: Severity
    /// 0…1, monotone in the evidence; the maximum over the folded repeats.
    public var score: Double
    /// Event time of the anomaly that this line reports (the latest one folded in).
    public var ts: Timestamp
    /// Wall clock when the line was written.
    public var emittedAt: Timestamp
    public var principal: String
    public var resource: String?
    public var conn: String?
    public var seq: Int64?
    public var observed: Double?
    public var expected: Double?
    public var threshold: Double?
    /// The baseline figures the verdict was made against, in the detector's own
    /// terms (`median`/`mad`/`n` for size, `mean`/`sd`/`n` for rate), in order.
    public var baseline: [(String, Double)]?
    public var message: String
    public var count: Int
    public var firstTs: Timestamp
    public var lastTs: Timestamp
    /// How complete the data behind the verdict was: lines of this principal
    /// rejected (and, from taps, dropped) in the hour before the alert.
    public var coverage: Coverage?

    public init(
        id: String, status: Status, detector: String, severity: Severity, score: Double, ts: Timestamp,
        emittedAt: Timestamp, principal: String, resource: String? = nil, conn: String? = nil, seq: Int64? = nil,
        observed: Double? = nil, expected: Double? = nil, threshold: Double? = nil,
        baseline: [(String, Double)]? = nil, message: String, count: Int = 1, firstTs: Timestamp,
        lastTs: Timestamp, coverage: Coverage? = nil
    ) {
        self.id = id
        self.status = status
        self.detector = detector
        self.severity = severity
        self.score = score
        self.ts = ts
        self.emittedAt = emittedAt
        self.principal = principal
        self.resource = resource
        self.conn = conn
        self.seq = seq
        self.observed = observed
        self.expected = expected
        self.threshold = threshold
        self.baseline = baseline
        self.message = message
        self.count = count
        self.firstTs = firstTs
        self.lastTs = lastTs
        self.coverage = coverage
    }

    /// The deterministic id: a stable hash of the detector, the baseline key as
    /// text and the first event time, so a re-run gives the same ids.
    public static func makeID(detector: String, key: String, firstTs: Timestamp) -> String {
        let h = StableHash.combine(
            StableHash.combine(StableHash.hash(detector), StableHash.hash(key)),
            UInt64(bitPattern: firstTs.epochMilliseconds))
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    public static func == (lhs: Alert, rhs: Alert) -> Bool {
        lhs.id == rhs.id && lhs.status == rhs.status && lhs.count == rhs.count && lhs.score == rhs.score
            && lhs.lastTs == rhs.lastTs && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(status.rawValue)
        hasher.combine(count)
    }
}

extension Alert {
    /// One NDJSON line (with its `\n`), in the field order of SPEC §3.
    public func writeJSON(to out: inout OutputBuffer) {
        out.append("{\"id\":")
        out.append(jsonString: id)
        out.append(",\"status\":\"")
        out.append(status.rawValue)
        out.append("\",\"detector\":")
        out.append(jsonString: detector)
        out.append(",\"severity\":\"")
        out.append(severity.name)
        out.append("\",\"score\":")
        out.append(number: score)
        out.append(",\"ts\":\"")
        ts.writeRFC3339Milliseconds(to: &out)
        out.append("\",\"emitted_at\":\"")
        emittedAt.writeRFC3339Milliseconds(to: &out)
        out.append("\",\"principal\":")
        out.append(jsonString: principal)
        if let resource {
            out.append(",\"resource\":")
            out.append(jsonString: resource)
        }
        if let conn {
            out.append(",\"conn\":")
            out.append(jsonString: conn)
        }
        if let seq {
            out.append(",\"seq\":")
            out.append(integer: seq)
        }
        out.append(",\"observed\":")
        appendOptional(observed, to: &out)
        out.append(",\"expected\":")
        appendOptional(expected, to: &out)
        out.append(",\"threshold\":")
        appendOptional(threshold, to: &out)
        out.append(",\"baseline\":")
        if let baseline {
            out.append(UInt8(ascii: "{"))
            for (i, (name, value)) in baseline.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(jsonString: name)
                out.append(UInt8(ascii: ":"))
                out.append(number: value)
            }
            out.append(UInt8(ascii: "}"))
        } else {
            out.append("null")
        }
        out.append(",\"message\":")
        out.append(jsonString: message)
        out.append(",\"count\":")
        out.append(integer: count)
        out.append(",\"first_ts\":\"")
        firstTs.writeRFC3339Milliseconds(to: &out)
        out.append("\",\"last_ts\":\"")
        lastTs.writeRFC3339Milliseconds(to: &out)
        out.append("\"")
        if let coverage {
            out.append(",\"coverage\":{\"rejected\":")
            out.append(integer: coverage.rejected)
            out.append(",\"dropped\":")
            out.append(integer: coverage.dropped)
            out.append("}")
        }
        out.append("}\n")
    }

    public var jsonLine: String {
        var out = OutputBuffer(capacity: 512)
        writeJSON(to: &out)
        return out.string
    }

    private func appendOptional(_ value: Double?, to out: inout OutputBuffer) {
        if let value { out.append(number: value) } else { out.append("null") }
    }
}

/// The share of a principal's recent data that never reached the detectors.
public struct Coverage: Sendable, Hashable, Codable {
    /// Lines naming this principal rejected by ingest in the last hour of event time.
    public var rejected: Int
    /// Events of this principal dropped before they reached chunkwatch (a tap's full ring), same window.
    public var dropped: Int

    public init(rejected: Int = 0, dropped: Int = 0) {
        self.rejected = rejected
        self.dropped = dropped
    }
}
