import ChunkModel

/// One injected anomaly: the principal it is on, the event-time interval that
/// holds exactly the injected behaviour (both ends inclusive, millisecond
/// precision), and its kind. The labels file of SPEC §5 has one per line.
public struct LabelWindow: Sendable, Hashable {
    public var principal: String
    public var start: Timestamp
    public var end: Timestamp
    public var kind: AnomalyKind

    public init(principal: String, start: Timestamp, end: Timestamp, kind: AnomalyKind) {
        self.principal = principal
        self.start = start
        self.end = end
        self.kind = kind
    }

    /// Whether an event time falls in the window, compared at the millisecond
    /// precision the stream and the labels file are written with.
    public func contains(_ ts: Timestamp) -> Bool {
        let ms = ts.epochMilliseconds
        return ms >= start.epochMilliseconds && ms <= end.epochMilliseconds
    }

    /// `{"principal":"svc-a","start":"…","end":"…","kind":"rate"}` and `\n`.
    public func writeJSON(to out: inout OutputBuffer) {
        out.append("{\"principal\":")
        out.append(jsonString: principal)
        out.append(",\"start\":\"")
        start.writeRFC3339Milliseconds(to: &out)
        out.append("\",\"end\":\"")
        end.writeRFC3339Milliseconds(to: &out)
        out.append("\",\"kind\":\"")
        out.append(kind.rawValue)
        out.append("\"}\n")
    }

    public var jsonLine: String {
        var out = OutputBuffer(capacity: 128)
        writeJSON(to: &out)
        return out.string
    }
}
