import ChunkModel

/// One injected anomaly: the principal it is on, the event-time interval that
/// holds exactly the injected behaviour (both ends inclusive, millisecond
/// precision), and its kind. The labels file of SPEC §5 has one per line.
public struct LabelWindow: Sendable, Hashable {
    public var principal: String
    public var start: Timestamp
    public var end: Timestamp
    public var kind: AnomalyKind
    /// Which way the kind was injected, when the profile has several
    /// (`RealisticScenario`'s names); nil for `steady`, whose labels stay as
    /// they always were.
    public var scenario: String?

    public init(principal: String, start: Timestamp, end: Timestamp, kind: AnomalyKind, scenario: String? = nil) {
        self.principal = principal
        self.start = start
        self.end = end
        self.kind = kind
        self.scenario = scenario
    }

    /// Whether an event time falls in the window, compared at the millisecond
    /// precision the stream and the labels file are written with.
    public func contains(_ ts: Timestamp) -> Bool {
        let ms = ts.epochMilliseconds
        return ms >= start.epochMilliseconds && ms <= end.epochMilliseconds
    }

    /// `{"principal":"svc-a","start":"…","end":"…","kind":"rate"}` and `\n`,
    /// with `,"scenario":"burst"` before the brace when there is one.
    public func writeJSON(to out: inout OutputBuffer) {
        out.append("{\"principal\":")
        out.append(jsonString: principal)
        out.append(",\"start\":\"")
        start.writeRFC3339Milliseconds(to: &out)
        out.append("\",\"end\":\"")
        end.writeRFC3339Milliseconds(to: &out)
        out.append("\",\"kind\":\"")
        out.append(kind.rawValue)
        if let scenario {
            out.append("\",\"scenario\":")
            out.append(jsonString: scenario)
            out.append("}\n")
        } else {
            out.append("\"}\n")
        }
    }

    public var jsonLine: String {
        var out = OutputBuffer(capacity: 128)
        writeJSON(to: &out)
        return out.string
    }
}
