import ChunkModel
import Foundation
import Ingest
import Testing

/// The drop report of docs/wire-format.md, as `TapLineWriter.writeDropReport` writes it.
let reportLine =
    #"{"chunkwatch_tap":"drops","tap":"gateway-eu-1","ts":"2026-11-28T05:10:00.000Z","since":"2026-11-28T05:09:50.000Z","dropped":1520,"dropped_by_principal":{"svc-billing":1500,"svc-batch":20}}"#

let report = TapDropReport(
    tap: "gateway-eu-1", ts: Timestamp(rfc3339: "2026-11-28T05:10:00.000Z")!, since: Timestamp(rfc3339: "2026-11-28T05:09:50.000Z")!,
    dropped: 1520,
    byPrincipal: [.init(principal: Symbol("svc-billing"), dropped: 1500), .init(principal: Symbol("svc-batch"), dropped: 20)])

func with(_ r: TapDropReport, _ change: (inout TapDropReport) -> Void) -> TapDropReport {
    var r = r
    change(&r)
    return r
}

/// `{"chunkwatch_tap":"drops",` and the given fields, closed: for reports missing or changing one field.
func reportWith(
    tap: String? = #""gateway-eu-1""#, ts: String? = #""2026-11-28T05:10:00.000Z""#, dropped: String? = "1520",
    byPrincipal: String? = #"{"svc-billing":1500,"svc-batch":20}"#
) -> String {
    var fields = [#""chunkwatch_tap":"drops""#]
    if let tap { fields.append(#""tap":"# + tap) }
    if let ts { fields.append(#""ts":"# + ts) }
    if let dropped { fields.append(#""dropped":"# + dropped) }
    if let byPrincipal { fields.append(#""dropped_by_principal":"# + byPrincipal) }
    return "{" + fields.joined(separator: ",") + "}"
}

let reportWithoutSince = with(report) { $0.since = nil }

@Suite("ChunkEventDecoder reads taps' drop reports")
struct DropReportDecoderTests {
    @Test func theWireFormatsExampleDecodes() {
        let decoder = LineDecoder()
        #expect(decoder.decode(reportLine) == .dropReport(report))
        // Principals are named in the symbol table, for the alerts that show their coverage.
        #expect(decoder.table.name(Symbol("svc-billing")) == "svc-billing")
        #expect(decoder.table.name(Symbol("svc-batch")) == "svc-batch")
    }

    @Test(arguments: [
        (
            "fields in another order, marker last",
            #"{"dropped_by_principal":{"svc-billing":1500,"svc-batch":20},"dropped":1520,"since":"2026-11-28T05:09:50.000Z","ts":"2026-11-28T05:10:00.000Z","tap":"gateway-eu-1","chunkwatch_tap":"drops"}"#,
            report
        ),
        (
            "whitespace everywhere",
            " { \"chunkwatch_tap\" : \"drops\" , \"tap\" : \"gateway-eu-1\" ,\t\"ts\":\"2026-11-28T05:10:00.000Z\", \"since\" : \"2026-11-28T05:09:50.000Z\" , \"dropped\" : 1520 , \"dropped_by_principal\" : { \"svc-billing\" : 1500 , \"svc-batch\" : 20 } } ",
            report
        ),
        ("escaped marker key and value", reportLine.replacingOccurrences(of: #""chunkwatch_tap":"drops""#, with: #""chunkwatch\u005ftap":"dr\u006fps""#), report),
        ("escaped principal", reportLine.replacingOccurrences(of: #""svc-batch""#, with: #""svc\u002dbatch""#), report),
        ("no since", reportWith(), reportWithoutSince),
        ("since null", reportLine.replacingOccurrences(of: #""2026-11-28T05:09:50.000Z""#, with: "null"), reportWithoutSince),
        (
            "epoch milliseconds", reportWith(ts: "1795842600000"), reportWithoutSince
        ),
        (
            "unknown fields of any shape", reportLine.replacingOccurrences(of: #""tap":"#, with: #""v":[1,{"a":null}],"x":{"y":"z"},"tap":"#),
            report
        ),
        (
            "valid event fields are ignored", reportLine.replacingOccurrences(of: #""tap":"#, with: #""principal":"svc-x","size":5,"tap":"#),
            report
        ),
        ("no principal dropped anything", reportWith(dropped: "0", byPrincipal: "{}"), with(reportWithoutSince) {
            $0.dropped = 0
            $0.byPrincipal = []
        }),
        (
            "a principal listed twice keeps its last count", reportWith(byPrincipal: #"{"svc-billing":1,"svc-batch":20,"svc-billing":1500}"#),
            reportWithoutSince
        ),
        ("integers written as 1e3 and 20.0", reportWith(dropped: "1.52e3", byPrincipal: #"{"svc-billing":1500,"svc-batch":20.0}"#), reportWithoutSince),
        ("the marker twice, the last one drops", #"{"chunkwatch_tap":"hello","# + reportWith().dropFirst(), reportWithoutSince),
    ] as [(String, String, TapDropReport)])
    func variantsDecode(_ name: String, _ line: String, _ expected: TapDropReport) {
        let decoder = LineDecoder()
        #expect(decoder.decode(line) == .dropReport(expected), "\(name)")
    }

    @Test(arguments: [
        (RejectReason.missingField, "no tap", reportWith(tap: nil)),
        (.missingField, "no ts", reportWith(ts: nil)),
        (.missingField, "no dropped", reportWith(dropped: nil)),
        (.missingField, "no dropped_by_principal", reportWith(byPrincipal: nil)),
        (.missingField, "only the marker", #"{"chunkwatch_tap":"drops"}"#),
        (.wrongType, "tap a number", reportWith(tap: "7")),
        (.wrongType, "tap null", reportWith(tap: "null")),
        (.wrongType, "tap empty", reportWith(tap: #""""#)),
        (.wrongType, "tap over 256 bytes", reportWith(tap: "\"" + String(repeating: "t", count: 257) + "\"")),
        (.wrongType, "ts an object", reportWith(ts: "{}")),
        (.badTimestamp, "ts not a date", reportWith(ts: #""yesterday""#)),
        (.badTimestamp, "ts with a fraction of a millisecond", reportWith(ts: "1795324200000.5")),
        (.badTimestamp, "since not a date", reportLine.replacingOccurrences(of: #""2026-11-28T05:09:50.000Z""#, with: #""soon""#)),
        (.wrongType, "since a boolean", reportLine.replacingOccurrences(of: #""2026-11-28T05:09:50.000Z""#, with: "true")),
        (.wrongType, "dropped negative", reportWith(dropped: "-1")),
        (.wrongType, "dropped a fraction", reportWith(dropped: "1.5")),
        (.wrongType, "dropped a string", reportWith(dropped: #""1520""#)),
        (.wrongType, "dropped null", reportWith(dropped: "null")),
        (.wrongType, "dropped_by_principal an array", reportWith(byPrincipal: #"[["svc-billing",1500]]"#)),
        (.wrongType, "dropped_by_principal null", reportWith(byPrincipal: "null")),
        (.wrongType, "a principal's count negative", reportWith(byPrincipal: #"{"svc-billing":-1500}"#)),
        (.wrongType, "a principal's count a string", reportWith(byPrincipal: #"{"svc-billing":"1500"}"#)),
        (.wrongType, "a principal's count an object", reportWith(byPrincipal: #"{"svc-billing":{"n":1}}"#)),
        (.wrongType, "an empty principal", reportWith(byPrincipal: #"{"":3}"#)),
        (.wrongType, "a principal over 256 bytes", reportWith(byPrincipal: "{\"" + String(repeating: "p", count: 257) + "\":3}")),
        // Every line is first checked as an event would be: a report has no
        // reason to carry event fields, but those it carries must be valid.
        (.negativeSize, "a negative size", reportLine.replacingOccurrences(of: #""tap":"#, with: #""size":-5,"tap":"#)),
        (.wrongType, "a principal of the wrong type", reportLine.replacingOccurrences(of: #""tap":"#, with: #""principal":5,"tap":"#)),
        (.notJSON, "truncated", String(reportLine.dropLast())),
        (.notJSON, "truncated inside dropped_by_principal", String(reportLine.dropLast(2))),
        (.notJSON, "trailing garbage", reportLine + "x"),
        (.notJSON, "a bad escape in the tap's name", reportWith(tap: #""gw\q""#)),
        (.notJSON, "a missing comma in dropped_by_principal", reportWith(byPrincipal: #"{"a":1 "b":2}"#)),
    ] as [(RejectReason, String, String)])
    func malformedReportsAreRejected(_ reason: RejectReason, _ name: String, _ line: String) {
        let decoder = LineDecoder()
        #expect(decoder.decode(line) == .rejected(reason), "\(name)")
        // The decoder recovers: the next lines decode in full.
        #expect(decoder.decode(reportLine) == .dropReport(report), "after \(name)")
        #expect(decoder.decode(ok) == .event(base), "after \(name)")
    }

    @Test func aReportOverTheLineLimitIsTooLong() {
        let decoder = LineDecoder()
        let pad = String(repeating: "x", count: 65 * 1024)
        #expect(decoder.decode(reportWith(tap: "\"\(pad)\"")) == .rejected(.tooLong))
    }

    /// The collector's choice: `chunkwatch_tap` with any value but `"drops"`
    /// is an unknown field like any other, so the line is judged as an event.
    @Test(arguments: [
        #""chunkwatch_tap":"stats""#, #""chunkwatch_tap":"Drops""#, #""chunkwatch_tap":"drops ""#, #""chunkwatch_tap":"""#,
        #""chunkwatch_tap":5"#, #""chunkwatch_tap":null"#, #""chunkwatch_tap":["drops"]"#, #""chunkwatch_tap":{"kind":"drops"}"#,
        #""chunkwatch_tap":"drops","chunkwatch_tap":"x""#,
    ])
    func anotherMarkerValueLeavesAnEvent(_ marker: String) {
        let decoder = LineDecoder()
        #expect(decoder.decode(line("," + marker)) == .event(base), "\(marker) after the event's fields")
        #expect(decoder.decode("{" + marker + "," + line().dropFirst()) == .event(base), "\(marker) first")
        // Without an event's fields it is rejected as an event would be.
        #expect(decoder.decode(#"{"tap":"gw","# + marker + "}") == .rejected(.missingField), "\(marker) alone")
    }

    @Test func theMarkerWinsOverAnEventsFields() {
        let decoder = LineDecoder()
        let both = reportLine.replacingOccurrences(of: #""tap":"#, with: #""principal":"svc-x","size":1,"tap":"#)
        #expect(decoder.decode(both) == .dropReport(report))
        // Nothing of the line is left in the event for a caller to charge a rejection to.
        var event = ChunkEvent.empty
        Array(both.utf8).withUnsafeBytes { #expect(decoder.decoder.decode($0, into: &event) == .dropReport) }
        #expect(event.principal == .none)
        let broken = both.replacingOccurrences(of: #""dropped":1520"#, with: #""dropped":-1"#)
        Array(broken.utf8).withUnsafeBytes { #expect(decoder.decoder.decode($0, into: &event) == .rejected(.wrongType)) }
        #expect(event.principal == .none)
    }

    @Test func reportsBetweenEventsChangeNothingAroundThem() {
        let decoder = LineDecoder()
        for c in validCases {
            #expect(decoder.decode(c.line) == .event(c.expected), "\(c.name)")
            #expect(decoder.decode(reportLine) == .dropReport(report), "after \(c.name)")
        }
        for c in validCases.reversed() { #expect(decoder.decode(c.line) == .event(c.expected), "\(c.name), after reports") }
    }

    @Test func everyPrefixOfAReportIsRejectedAsNotJSON() {
        let decoder = LineDecoder()
        let full = Array(reportLine.utf8)
        for n in 0..<full.count {
            let outcome = decoder.decode(Array(full.prefix(n)))
            #expect(outcome.reason == .notJSON, "prefix of \(n) bytes gave \(outcome)")
        }
    }

    /// Random damage to a report never crashes the decoder and gets the same answer twice.
    @Test func randomByteMutationsNeverCrash() async {
        await #expect(processExitsWith: .success) {
            var rng = SplitMix64(seed: 0xD80B5)
            let decoder = LineDecoder()
            let alphabet = Array(#"{}[]":,\u0123456789abcdefnrtlseE+-. "#.utf8) + [0x00, 0x0A, 0x1F, 0x7F, 0xC3, 0xA9, 0xFF]
            let original = Array(reportLine.utf8)
            for _ in 0..<2_000 {
                var bytes = original
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let i = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: bytes[i] = alphabet.randomElement(using: &rng)!
                    case 1: bytes.remove(at: i)
                    default: bytes.insert(alphabet.randomElement(using: &rng)!, at: i)
                    }
                    if bytes.isEmpty { bytes = [0x7B] }
                }
                let first = decoder.decode(bytes)
                precondition(decoder.decode(bytes) == first, "not deterministic")
            }
        }
    }

    /// Reports among events and rejects, drip-fed through the line framer in
    /// chunks of many sizes: the same records as splitting the obvious way.
    @Test(arguments: [[1], [2, 3], [7], [64], [4096], [1, 100, 13, 65536]])
    func dripFedAmongOtherLines(_ chunkSizes: [Int]) {
        var rng = SplitMix64(seed: 31)
        var data: [UInt8] = []
        for i in 0..<120 {
            switch i % 4 {
            case 0: data += Array(reportLine.utf8)
            case 1: data += Array(generatedLine(&rng).utf8)
            case 2: data += Array(reportWith(dropped: "-3").utf8)
            default: data += Array(reportWith(byPrincipal: "{\"svc-\(i)\":\(i)}").utf8)
            }
            data += i % 3 == 0 ? [0x0D, 0x0A] : [0x0A]
        }
        let want = referenceRecords(data)
        #expect(want.count(where: { if case .dropReport = $0.outcome { true } else { false } }) == 60)
        expectSameRecords(framedRecords(data, chunkSizes: chunkSizes), want, "chunks \(chunkSizes)")
    }

    @Test func eventReaderHandsReportsOutInTheirPlace() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let text = [line(size: "1"), reportLine, line(size: "2"), reportWith(tap: "7"), line(size: "3"), reportWith()].joined(separator: "\n")
        let path = try dir.write("mixed.ndjson", Array(text.utf8))
        let reader = EventReader(symbols: SymbolTable(capacity: 64))
        var seen: [String] = []
        reader.onDropReport = { seen.append("report \($0.tap) \($0.dropped)") }
        try reader.read(InputFile(path: path)) { seen.append("event \($0.size)") }
        #expect(seen == ["event 1", "report gateway-eu-1 1520", "event 2", "event 3", "report gateway-eu-1 1520"])
        #expect(reader.counts.accepted == 3 && reader.counts.dropReports == 2 && reader.counts[.wrongType] == 1)
        #expect(reader.counts.lines == 6, "every line is an event, a report or a rejection")
    }
}
