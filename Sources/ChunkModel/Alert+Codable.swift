/// Alerts in checkpoints (the open ones, so a restart folds repeats into them
/// and resolves them as if it had never stopped). The wire form of an alert is
/// its NDJSON line (`jsonLine`); this is only for `BinaryCoding`.
extension Alert: Codable {
    private enum CodingKeys: CodingKey {
        case id, status, detector, severity, score, ts, emittedAt, principal, resource, conn, seq, observed, expected
        case threshold, baselineNames, baselineValues, message, count, firstTs, lastTs, coverage
    }

    /// Fields are read in the order `encode` writes them: `BinaryCoding` is positional.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let id = try c.decode(String.self, forKey: .id)
        let status = try c.decode(Status.self, forKey: .status)
        let detector = try c.decode(String.self, forKey: .detector)
        let severity = try c.decode(Severity.self, forKey: .severity)
        let score = try c.decode(Double.self, forKey: .score)
        let ts = try c.decode(Timestamp.self, forKey: .ts)
        let emittedAt = try c.decode(Timestamp.self, forKey: .emittedAt)
        let principal = try c.decode(String.self, forKey: .principal)
        let resource = try c.decodeIfPresent(String.self, forKey: .resource)
        let conn = try c.decodeIfPresent(String.self, forKey: .conn)
        let seq = try c.decodeIfPresent(Int64.self, forKey: .seq)
        let observed = try c.decodeIfPresent(Double.self, forKey: .observed)
        let expected = try c.decodeIfPresent(Double.self, forKey: .expected)
        let threshold = try c.decodeIfPresent(Double.self, forKey: .threshold)
        let names = try c.decodeIfPresent([String].self, forKey: .baselineNames)
        let values = try c.decodeIfPresent([Double].self, forKey: .baselineValues)
        let message = try c.decode(String.self, forKey: .message)
        let count = try c.decode(Int.self, forKey: .count)
        let firstTs = try c.decode(Timestamp.self, forKey: .firstTs)
        let lastTs = try c.decode(Timestamp.self, forKey: .lastTs)
        let coverage = try c.decodeIfPresent(Coverage.self, forKey: .coverage)
        self.init(
            id: id, status: status, detector: detector, severity: severity, score: score, ts: ts, emittedAt: emittedAt,
            principal: principal, resource: resource, conn: conn, seq: seq, observed: observed, expected: expected,
            threshold: threshold, baseline: names.map { Array(zip($0, values ?? [])) }, message: message, count: count,
            firstTs: firstTs, lastTs: lastTs, coverage: coverage)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(status, forKey: .status)
        try c.encode(detector, forKey: .detector)
        try c.encode(severity, forKey: .severity)
        try c.encode(score, forKey: .score)
        try c.encode(ts, forKey: .ts)
        try c.encode(emittedAt, forKey: .emittedAt)
        try c.encode(principal, forKey: .principal)
        try c.encodeIfPresent(resource, forKey: .resource)
        try c.encodeIfPresent(conn, forKey: .conn)
        try c.encodeIfPresent(seq, forKey: .seq)
        try c.encodeIfPresent(observed, forKey: .observed)
        try c.encodeIfPresent(expected, forKey: .expected)
        try c.encodeIfPresent(threshold, forKey: .threshold)
        try c.encodeIfPresent(baseline?.map(\.0), forKey: .baselineNames)
        try c.encodeIfPresent(baseline?.map(\.1), forKey: .baselineValues)
        try c.encode(message, forKey: .message)
        try c.encode(count, forKey: .count)
        try c.encode(firstTs, forKey: .firstTs)
        try c.encode(lastTs, forKey: .lastTs)
        try c.encodeIfPresent(coverage, forKey: .coverage)
    }
}
