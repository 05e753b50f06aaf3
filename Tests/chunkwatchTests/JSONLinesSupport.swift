import Foundation
import Testing

typealias JSONObject = [String: Any]

/// One NDJSON line as an object, or nil when it is not one.
func jsonObject(_ line: String) -> JSONObject? {
    guard let data = line.data(using: .utf8),
        let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    else { return nil }
    return value as? JSONObject
}

/// Every line of `text` as an object; a line that is not one is recorded as an issue and skipped.
func jsonObjects(_ lines: [String], what: String, sourceLocation: SourceLocation = #_sourceLocation) -> [JSONObject] {
    var objects: [JSONObject] = []
    for (i, line) in lines.enumerated() {
        guard let object = jsonObject(line) else {
            Issue.record("\(what) line \(i + 1) is not a JSON object: \(line.prefix(300))", sourceLocation: sourceLocation)
            continue
        }
        objects.append(object)
    }
    return objects
}

/// A JSON number as a Double, whatever Foundation made of it (Int, Double, NSNumber); nil for anything else.
func number(_ value: Any?) -> Double? {
    switch value {
    case let v as Int: return Double(v)
    case let v as Double: return v
    case let v as NSNumber where !(v is Bool): return v.doubleValue
    default: return nil
    }
}

/// A JSON integer, or nil when the value is not a whole number.
func integer(_ value: Any?) -> Int? {
    guard let d = number(value), d.rounded() == d, abs(d) < 1e15 else { return nil }
    return Int(d)
}

func isNull(_ value: Any?) -> Bool { value is NSNull }

/// Epoch milliseconds of `YYYY-MM-DDTHH:MM:SS.mmmZ`, the only time shape
/// SPEC §3 allows in output (RFC 3339, UTC, milliseconds); nil for anything else.
func utcMillis(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    guard b.count == 24 else { return nil }
    func digits(_ range: Range<Int>) -> Int64? {
        var v: Int64 = 0
        for i in range {
            guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
            v = v * 10 + Int64(b[i] - 0x30)
        }
        return v
    }
    let separators: [(Int, UInt8)] = [(4, 0x2D), (7, 0x2D), (10, 0x54), (13, 0x3A), (16, 0x3A), (19, 0x2E), (23, 0x5A)]
    for (i, c) in separators where b[i] != c { return nil }
    guard let y = digits(0..<4), let mo = digits(5..<7), let d = digits(8..<10), let h = digits(11..<13),
        let mi = digits(14..<16), let s = digits(17..<19), let ms = digits(20..<23),
        (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60
    else { return nil }
    return (daysFromCivil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) * 1000 + ms
}

/// The inverse: epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
func utcString(millis: Int64) -> String {
    let days = millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000
    let rest = millis - days * 86_400_000
    let (y, m, d) = civilFromDays(days)
    return String(
        format: "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", y, m, d, rest / 3_600_000, rest / 60000 % 60,
        rest / 1000 % 60, rest % 1000)
}

// Howard Hinnant's civil calendar algorithms.
private func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
    let y = m <= 2 ? y0 - 1 : y0
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

private func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
}

/// An alert line with `emitted_at` (wall clock, the one field allowed to
/// differ between runs) blanked, everything else byte for byte.
func withoutEmittedAt(_ line: String) -> String {
    guard let range = line.range(of: #""emitted_at":"[^"]*""#, options: .regularExpression) else { return line }
    return line.replacingCharacters(in: range, with: #""emitted_at":"""#)
}

/// A labels-file line: one injected anomaly window.
struct Label: Sendable, CustomStringConvertible {
    var principal: String
    var kind: String
    var start: Int64
    var end: Int64
    var description: String { "\(kind) on \(principal) [\(utcString(millis: start)), \(utcString(millis: end))]" }

    static func parse(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [Label] {
        let lines = text.split(separator: "\n").map(String.init)
        return jsonObjects(lines, what: "labels", sourceLocation: sourceLocation).compactMap { o in
            guard let principal = o["principal"] as? String, let kind = o["kind"] as? String,
                let s = o["start"] as? String, let e = o["end"] as? String,
                let start = utcMillis(s), let end = utcMillis(e)
            else {
                Issue.record("malformed label \(o)", sourceLocation: sourceLocation)
                return nil
            }
            return Label(principal: principal, kind: kind, start: start, end: end)
        }
    }
}

/// The summary `backfill` prints on stderr: `backfill: N events, …`.
func summaryEventCount(_ stderr: [String]) -> Int? {
    guard let line = stderr.last(where: { $0.contains("backfill: ") }),
        let range = line.range(of: #"backfill: [0-9]+ events"#, options: .regularExpression)
    else { return nil }
    return Int(line[range].dropFirst("backfill: ".count).prefix(while: \.isNumber))
}
