import ChunkModel
import Foundation

@testable import Workload

/// A realistic run read with a byte scanner instead of Foundation: its runs
/// are several times the size of the steady fixtures, and a debug build parses
/// JSON too slowly for them. A sample of lines is parsed with Foundation too,
/// to hold the scanner to the real format.
struct RealisticRun: Sendable {
    struct Event: Sendable {
        var ms: Int64
        var principal: Int
        var size: Int64
        var conn: String
        var resource: String
        var outbound: Bool
    }

    var config: WorkloadConfig
    var bytes: [UInt8]
    var labels: [LabelWindow]
    var labelLines: [String]
    var principals: [PrincipalProfile]
    /// Every gateway (or unnamed-hop) observation; sink copies are left out.
    var events: [Event] = []
    var problems: [String] = []

    init(_ config: WorkloadConfig) {
        self.config = config
        var generator = try! WorkloadGenerator(config: config)
        var out = OutputBuffer(capacity: 1 << 24)
        while generator.fill(into: &out, upToBytes: .max) > 0 {}
        bytes = out.bytes
        labels = generator.labels
        principals = generator.principals
        var labelBuffer = OutputBuffer()
        generator.writeLabels(to: &labelBuffer)
        labelLines = labelBuffer.string.split(separator: "\n").map(String.init)
        scan()
    }

    func index(of name: String) -> Int? { principals.firstIndex { $0.name == name } }
    func events(of p: Int) -> [Event] { events.filter { $0.principal == p } }

    private mutating func scan() {
        let names = Dictionary(uniqueKeysWithValues: principals.map { ($0.name, $0.index) })
        var lineStart = 0
        var number = 0
        var lastMs = Int64.min
        events.reserveCapacity(bytes.count / 220)
        bytes.withUnsafeBufferPointer { all in
            for i in all.indices where all[i] == UInt8(ascii: "\n") {
                number += 1
                let line = UnsafeBufferPointer(rebasing: all[lineStart..<i])
                lineStart = i + 1
                if number % 997 == 1,
                    (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] == nil
                {
                    problems.append("line \(number): not a JSON object")
                }
                guard let e = Self.event(line, names: names) else {
                    problems.append("line \(number): \(String(decoding: line, as: UTF8.self))")
                    continue
                }
                if e.ms < lastMs { problems.append("line \(number): time went backwards") }
                lastMs = e.ms
                if !Self.contains(line, "\"hop\":\"sink\"") { events.append(e) }
            }
        }
    }

    private static func event(_ line: UnsafeBufferPointer<UInt8>, names: [String: Int]) -> Event? {
        var at = 0
        guard let ts = field(line, "{\"ts\":", &at) else { return nil }
        let ms: Int64
        if ts.first == UInt8(ascii: "\"") {
            let text = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: ts.dropFirst().dropLast()))
            guard let t = Timestamp(rfc3339: text) else { return nil }
            ms = t.epochMilliseconds
        } else {
            guard let n = Int64(String(decoding: ts, as: UTF8.self)) else { return nil }
            ms = n
        }
        guard let principal = string(line, ",\"principal\":\"", &at), let p = names[principal],
            let size = field(line, ",\"size\":", &at).flatMap({ Int64(String(decoding: $0, as: UTF8.self)) }),
            let conn = string(line, ",\"conn\":\"", &at),
            let resource = string(line, ",\"resource\":\"", &at),
            let dir = string(line, ",\"dir\":\"", &at)
        else { return nil }
        return Event(ms: ms, principal: p, size: size, conn: conn, resource: resource, outbound: dir == "out")
    }

    /// The raw value after `key` up to the next `,` or `}`, moving `at` past it.
    private static func field(_ line: UnsafeBufferPointer<UInt8>, _ key: String, _ at: inout Int) -> Slice<UnsafeBufferPointer<UInt8>>? {
        guard let start = find(line, key, from: at) else { return nil }
        var end = start
        while end < line.count && line[end] != UInt8(ascii: ",") && line[end] != UInt8(ascii: "}") { end += 1 }
        at = end
        return line[start..<end]
    }

    /// The string after `key` (which ends in its opening quote), moving `at` past it.
    private static func string(_ line: UnsafeBufferPointer<UInt8>, _ key: String, _ at: inout Int) -> String? {
        guard let start = find(line, key, from: at) else { return nil }
        var end = start
        while end < line.count && line[end] != UInt8(ascii: "\"") { end += 1 }
        at = end
        return String(decoding: line[start..<end], as: UTF8.self)
    }

    private static func find(_ line: UnsafeBufferPointer<UInt8>, _ key: String, from: Int) -> Int? {
        let k = Array(key.utf8)
        var i = from
        while i + k.count <= line.count {
            var j = 0
            while j < k.count && line[i + j] == k[j] { j += 1 }
            if j == k.count { return i + k.count }
            i += 1
        }
        return nil
    }

    private static func contains(_ line: UnsafeBufferPointer<UInt8>, _ key: String) -> Bool {
        find(line, key, from: 0) != nil
    }
}

/// The realistic runs the tests share, generated once per test process.
enum RealisticRuns {
    /// 2026-11-27T12:00:00Z, a Friday.
    static let friday = Timestamp(epochMilliseconds: 1_796_212_800_000)

    /// Ten principals, clean, from Friday noon over a weekend to Monday
    /// midnight: two and a half days (about 700 000 lines with seed 1).
    static let weekend = RealisticRun(
        WorkloadConfig(principals: 10, hours: 60, seed: 1, anomalies: [], start: friday, profile: .realistic))

    /// Fourteen principals over 30 hours from Monday 00:00 UTC with every
    /// anomaly after an 18-hour warm-up: the window reaches a western
    /// person's close and an eastern one's 03:00.
    static let anomalous = RealisticRun(
        WorkloadConfig(principals: 14, hours: 30, seed: anomalousSeed, profile: .realistic, warmupHours: 18))
    static let anomalousSeed: UInt64 = 5
}
