/// The anomalies `gen` can inject, one per detector of SPEC §4. The raw value is
/// the detector's name, which is also the `kind` of a label window.
public enum AnomalyKind: String, CaseIterable, Sendable, Hashable, Codable {
    case size, rate, volume, integrity, novelty, changepoint, silence

    /// Parses a comma-separated list such as `size,rate`; `none` (or an empty
    /// string) means a clean stream, `all` every kind. Repeats are dropped.
    /// Returns the first unknown word as the failure.
    public static func parseList(_ text: String) -> Result<[AnomalyKind], UnknownAnomalyKind> {
        var kinds: [AnomalyKind] = []
        for raw in text.split(separator: ",", omittingEmptySubsequences: true) {
            let word = raw.trimmingSpaces().lowercased()
            if word.isEmpty || word == "none" { continue }
            if word == "all" {
                for kind in allCases where !kinds.contains(kind) { kinds.append(kind) }
                continue
            }
            guard let kind = AnomalyKind(rawValue: word) else { return .failure(UnknownAnomalyKind(word: word)) }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        return .success(kinds)
    }

    /// `size, rate, …` for error messages and help.
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A word in an anomaly list that names no kind.
public struct UnknownAnomalyKind: Error, Sendable, CustomStringConvertible {
    public var word: String
    public var description: String {
        "unknown anomaly kind '\(word)'; valid kinds: \(AnomalyKind.validNames), all, none"
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        var s = self[...]
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
