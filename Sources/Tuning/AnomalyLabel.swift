import ChunkModel
import Foundation

/// One known anomaly window from a labels file (SPEC §5), as `gen --labels-out`
/// writes them: `{"principal":"svc-a","start":"…","end":"…","kind":"rate"}`.
public struct AnomalyLabel: Sendable, Hashable {
    public var principal: String
    public var start: Timestamp
    public var end: Timestamp
    /// What was injected; `gen` uses the detector's name.
    public var kind: String
    /// Which of the kind's injections it was (`"scenario"`, optional): a kind
    /// can be injected several ways, and an evaluation reports each one.
    public var scenario: String?

    public init(principal: String, start: Timestamp, end: Timestamp, kind: String, scenario: String? = nil) {
        self.principal = principal
        self.start = start
        self.end = end
        self.kind = kind
        self.scenario = scenario
    }

    /// Whether `alert` detects this window: same principal, `first_ts` in
    /// [start, end + grace] (compared at the millisecond precision both files use).
    public func isDetected(by alert: Alert, grace: Duration) -> Bool {
        isDetected(principal: alert.principal, firstTs: alert.firstTs, grace: grace)
    }

    func isDetected(principal: String, firstTs: Timestamp, grace: Duration) -> Bool {
        guard principal == self.principal else { return false }
        let t = firstTs.epochMilliseconds
        return t >= start.epochMilliseconds && t <= (end + grace).epochMilliseconds
    }

    /// Reads a labels file: NDJSON, one window a line; blank lines are skipped.
    /// `start` and `end` are RFC 3339 strings or epoch milliseconds, like events' `ts`.
    public static func load(file: String) throws(TuneError) -> [AnomalyLabel] {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw TuneError("cannot read labels \(file): \((error as NSError).localizedDescription)")
        }
        return try parse(text, file: file)
    }

    public static func parse(_ text: String, file: String = "labels") throws(TuneError) -> [AnomalyLabel] {
        var out: [AnomalyLabel] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw[...]
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let at = "\(file):\(i + 1)"
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TuneError("\(at): not a JSON object")
            }
            guard let principal = object["principal"] as? String, !principal.isEmpty else {
                throw TuneError("\(at): needs a \"principal\" string")
            }
            guard let start = time(object["start"]) else { throw TuneError("\(at): \"start\" must be an RFC 3339 time or epoch milliseconds") }
            guard let end = time(object["end"]) else { throw TuneError("\(at): \"end\" must be an RFC 3339 time or epoch milliseconds") }
            guard end >= start else { throw TuneError("\(at): \"end\" is before \"start\"") }
            let kind = object["kind"] as? String ?? ""
            let scenario = object["scenario"] as? String
            out.append(AnomalyLabel(principal: principal, start: start, end: end, kind: kind, scenario: scenario))
        }
        return out
    }

    private static func time(_ value: Any?) -> Timestamp? {
        if let s = value as? String { return Timestamp(rfc3339: s) }
        if !(value is Bool), let n = value as? NSNumber {
            let d = n.doubleValue
            guard d.isFinite, d == d.rounded(), abs(d) < 9e15 else { return nil }
            return Timestamp(epochMilliseconds: Int64(d))
        }
        return nil
    }
}
