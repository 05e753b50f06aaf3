/// Durations as people write them: `500ms`, `90s`, `15m`, `2h`, `7d`, or a
/// plain number of seconds. The one parser for the configuration file, the
/// HTTP API (`PUT /v1/detectors/…`, `?since=`) and the CLI (`--since`), with
/// one range: from zero to `DurationText.maximum`, 50 years, so any accepted
/// event time plus any accepted duration still fits in a `Timestamp`.
public enum DurationText {
    /// The longest duration accepted anywhere: 18250 days (50 years).
    public static let maximum: Duration = .seconds(maximumSeconds)
    static let maximumSeconds: Int64 = 18_250 * 86_400

    /// The units, with what one of each is in seconds.
    static let units: [(suffix: String, seconds: Double)] = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]

    /// Reads `text` as a duration of at least `minimum` and at most `maximum`.
    /// A plain number counts as seconds unless `plainSeconds` is false.
    public static func parse(_ text: String, minimum: Duration = .zero, plainSeconds: Bool = true) throws(DurationError) -> Duration {
        guard let seconds = number(text, plainSeconds: plainSeconds) else { throw DurationError(text: text, kind: .malformed, minimum: minimum) }
        // Compared in seconds before any conversion, so no value is too large to convert.
        guard seconds <= Double(maximumSeconds) else { throw DurationError(text: text, kind: .outOfRange, minimum: minimum) }
        let d = Duration.nanoseconds(Int64((seconds * 1e9).rounded()))
        guard seconds >= 0, d >= minimum else { throw DurationError(text: text, kind: .outOfRange, minimum: minimum) }
        return d
    }

    /// The number of seconds `text` says (negative ones included, so they can be
    /// called out of range), or nil when it is not a finite number with a unit.
    private static func number(_ text: String, plainSeconds: Bool) -> Double? {
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            // "ms" ends in "s" too: only take "s" when what is left is a number.
            guard let v = plain(text.dropLast(suffix.count)) else { continue }
            return v * scale
        }
        return plainSeconds ? plain(Substring(text)) : nil
    }

    /// A decimal number such as `90`, `1.5` or `2e3`: no signs but a leading
    /// minus, no hexadecimal, no `nan` or `inf`.
    private static func plain(_ s: Substring) -> Double? {
        guard let first = s.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: ".") || (first >= 0x30 && first <= 0x39),
            s.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }),
            let v = Double(s), v.isFinite
        else { return nil }
        return v
    }

    /// A duration as the configuration file writes it: `15m`, `90s`, `2d`, `1.500ms`.
    public static func text(_ d: Duration) -> String {
        let ns = d.nanosecondsClamped
        if ns % 86_400_000_000_000 == 0 && ns > 0 { return "\(ns / 86_400_000_000_000)d" }
        if ns % 3_600_000_000_000 == 0 && ns > 0 { return "\(ns / 3_600_000_000_000)h" }
        if ns % 60_000_000_000 == 0 && ns > 0 { return "\(ns / 60_000_000_000)m" }
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        return "\(Format.decimal(Double(ns) / 1e6, 3))ms"
    }
}

/// Why a duration's text was refused; `description` is the one-line message
/// (the caller puts the key or flag in front of it).
public struct DurationError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable { case malformed, outOfRange }

    /// The text as given.
    public let text: String
    public let kind: Kind
    /// The least value the setting takes.
    public let minimum: Duration

    public var description: String {
        switch kind {
        case .malformed:
            "expected a duration such as 90s, 15m, 2h, 7d or 500ms, got '\(text)'"
        case .outOfRange:
            "'\(text)' is out of range: a duration from \(DurationText.text(minimum)) to \(DurationText.text(DurationText.maximum)) (50 years)"
        }
    }
}
