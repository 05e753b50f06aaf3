import ChunkModel
import Foundation
import Workload

/// One generated line, parsed with Foundation (the generator itself never uses it),
/// so the tests read the stream the way an outside consumer would.
struct ParsedEvent: Sendable {
    var ms: Int64
    var tsIsInteger: Bool
    var principal: String
    var size: Int64
    var conn: String
    var resource: String
    var dir: String
    var seq: Int64
    var checksum: String
    var expectedChecksum: String?
    var hop: String?
    var op: String
    var rate: Double
    var labels: [String: String]?

    /// The UTC hour of day.
    var hour: Int { Int((ms / 3_600_000) % 24) }
}

/// A whole generated run: its bytes, parsed events and labels, and any line
/// that failed to parse or lacked a field.
struct GeneratedRun: Sendable {
    var config: WorkloadConfig
    var bytes: [UInt8]
    var events: [ParsedEvent]
    var labels: [LabelWindow]
    var labelLines: [String]
    var principals: [PrincipalProfile]
    var problems: [String]

    init(_ config: WorkloadConfig, parse: Bool = true) {
        self.config = config
        var generator = try! WorkloadGenerator(config: config)
        var out = OutputBuffer(capacity: 1 << 20)
        while generator.fill(into: &out, upToBytes: .max) > 0 {}
        bytes = out.bytes
        labels = generator.labels
        principals = generator.principals
        var labelBuffer = OutputBuffer()
        generator.writeLabels(to: &labelBuffer)
        labelLines = labelBuffer.string.split(separator: "\n").map(String.init)
        events = []
        problems = []
        if parse { parseLines() }
    }

    private mutating func parseLines() {
        var lineStart = 0
        var number = 0
        events.reserveCapacity(bytes.count / 200)
        for i in bytes.indices where bytes[i] == UInt8(ascii: "\n") {
            number += 1
            let data = Data(bytes[lineStart..<i])
            lineStart = i + 1
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                problems.append("line \(number): not a JSON object")
                continue
            }
            if let event = GeneratedRun.event(object) {
                events.append(event)
            } else {
                problems.append("line \(number): missing or mistyped field: \(String(decoding: data, as: UTF8.self))")
            }
        }
        if lineStart != bytes.count { problems.append("output does not end with a newline") }
    }

    private static func event(_ o: [String: Any]) -> ParsedEvent? {
        let ms: Int64
        let tsIsInteger: Bool
        if let s = o["ts"] as? String {
            guard let t = Timestamp(rfc3339: s), s.hasSuffix("Z"), s.count == 24 else { return nil }
            ms = t.epochMilliseconds
            tsIsInteger = false
        } else if let n = integer(o["ts"]) {
            ms = n
            tsIsInteger = true
        } else {
            return nil
        }
        guard let principal = o["principal"] as? String, !principal.isEmpty, principal.utf8.count <= 256,
            let size = integer(o["size"]), size >= 0,
            let conn = o["conn"] as? String, let resource = o["resource"] as? String,
            let dir = o["dir"] as? String, dir == "in" || dir == "out",
            let seq = integer(o["seq"]), seq >= 0,
            let checksum = o["checksum"] as? String, isChecksum(checksum),
            let op = o["op"] as? String, let rate = (o["rate"] as? NSNumber)?.doubleValue, rate >= 0
        else { return nil }
        let expected = o["expected_checksum"] as? String
        if let expected, !isChecksum(expected) { return nil }
        var labels: [String: String]?
        if let raw = o["labels"] {
            guard let l = raw as? [String: String] else { return nil }
            labels = l
        }
        return ParsedEvent(
            ms: ms, tsIsInteger: tsIsInteger, principal: principal, size: size, conn: conn, resource: resource,
            dir: dir, seq: seq, checksum: checksum, expectedChecksum: expected, hop: o["hop"] as? String, op: op,
            rate: rate, labels: labels)
    }

    /// A JSON integer (no fraction or exponent), as Int64.
    private static func integer(_ value: Any?) -> Int64? {
        guard let n = value as? NSNumber else { return nil }
        let d = n.doubleValue
        guard d == d.rounded(), abs(d) < 9e15 else { return nil }
        return n.int64Value
    }

    /// `crc32c:` and eight lowercase hex digits.
    private static func isChecksum(_ s: String) -> Bool {
        guard s.hasPrefix("crc32c:") else { return false }
        let hex = s.dropFirst(7)
        return hex.count == 8 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    func events(of principal: String) -> [ParsedEvent] { events.filter { $0.principal == principal } }

    /// The raw lines of each principal, to compare byte for byte.
    func linesByPrincipal() -> [String: [ArraySlice<UInt8>]] {
        let marker = Array(",\"principal\":\"".utf8)
        var result: [String: [ArraySlice<UInt8>]] = [:]
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            // The principal follows ts, the first field; names have no escapes.
            guard let at = line.firstRange(of: marker) else { continue }
            let rest = line[at.upperBound...]
            let name = rest.prefix { $0 != UInt8(ascii: "\"") }
            result[String(decoding: name, as: UTF8.self), default: []].append(line)
        }
        return result
    }
}

extension LabelWindow {
    func holds(_ e: ParsedEvent) -> Bool { e.ms >= start.epochMilliseconds && e.ms <= end.epochMilliseconds }
}

func median<T: Comparable>(_ xs: [T]) -> T {
    let s = xs.sorted()
    return s[s.count / 2]
}

/// The runs the tests share, generated once per test process.
enum Runs {
    /// Nine principals over twelve hours from Monday 00:00 UTC: enough for every
    /// anomaly kind (03:00 is past the quarter mark, people work 08:00–12:00).
    /// Seed 14 makes a light population (about 160 000 lines), which keeps the
    /// JSON parsing of a debug test run short.
    static let anomalous = GeneratedRun(WorkloadConfig(principals: 9, hours: 12, seed: 14))
    /// The same population without anomalies, over three hours.
    static let clean = GeneratedRun(WorkloadConfig(principals: 9, hours: 3, seed: 14, anomalies: []))
}

