import Foundation
import Testing

/// SPEC §2: bad lines never stop ingest; each is counted by reason and, with
/// `--rejects`, kept with its line number.
@Suite("rejected lines")
struct RejectTests {
    struct Line {
        var text: String
        var reason: String?  // nil: accepted
    }

    static let lines: [Line] = [
        Line(text: #"{"ts":"2026-11-23T00:00:00.000Z","principal":"svc-a","size":100}"#, reason: nil),
        Line(text: "this is not json", reason: "not_json"),
        Line(text: #"{"ts":"2026-11-23T00:00:01Z","principal":"svc-a","size":1} trailing"#, reason: "not_json"),
        Line(text: #"{"ts":"2026-11-23T00:00:01Z","principal":"svc-a"}"#, reason: "missing_field"),
        Line(text: #"{"principal":"svc-a","size":3}"#, reason: "missing_field"),
        Line(text: #"{"ts":"2026-11-23T00:00:02Z","principal":"svc-a","size":"big"}"#, reason: "wrong_type"),
        Line(text: #"{"ts":"2026-11-23T00:00:02Z","principal":"svc-a","size":10,"dir":"sideways"}"#, reason: "wrong_type"),
        Line(text: #"{"ts":"2026-11-23T00:00:02Z","principal":"","size":10}"#, reason: "wrong_type"),
        Line(text: #"{"ts":"2026-11-23T00:00:03Z","principal":"svc-a","size":-5}"#, reason: "negative_size"),
        Line(text: #"{"ts":"2026-11-23T00:00:04Z","principal":"svc-a","size":1,"pad":""# + String(repeating: "x", count: 70_000) + #""}"#,
             reason: "too_long"),
        Line(text: #"{"ts":"yesterday","principal":"svc-a","size":10}"#, reason: "bad_timestamp"),
        Line(text: #"{"ts":"2026-02-30T00:00:00Z","principal":"svc-a","size":10}"#, reason: "bad_timestamp"),
        Line(text: #"{"ts":"1677-09-21T00:13:00Z","principal":"svc-a","size":10}"#, reason: "ts_out_of_range"),
        Line(text: #"{"ts":-9223372036853,"principal":"svc-a","size":10}"#, reason: "ts_out_of_range"),
        Line(text: "", reason: nil),  // empty: skipped, neither accepted nor rejected
        Line(text: #"{"ts":"2026-11-23T00:00:05.000Z","principal":"svc-b","size":20,"conn":"c-1","dir":"out","seq":3}"# + "\r", reason: nil),
        Line(text: #"{"ts":1795392006000,"principal":"svc-b","size":1e3,"unknown":{"nested":[1,2,{"x":null}]}}"#, reason: nil),
        Line(text: #"{"ts":"2026-11-23T00:00:07Z","principal":"svc-c","size":0}"#, reason: nil),  // no final newline
    ]

    @Test func badLinesAreCountedAndKeptAndIngestGoesOn() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let input = try dir.write("mixed.ndjson", Self.lines.map(\.text).joined(separator: "\n"))
        let rejectsPath = dir.path("rejects.ndjson")
        let r = try chunkwatch("backfill", input, "--rejects", rejectsPath)
        #expect(r.exitedCleanly, "\(r)")
        #expect(r.stdout.isEmpty, "alerts from a handful of events: \(r.stdoutText)")

        let accepted = Self.lines.filter { $0.reason == nil && !$0.text.isEmpty }.count
        #expect(accepted == 4)
        var byReason: [String: Int] = [:]
        for line in Self.lines { if let reason = line.reason { byReason[reason, default: 0] += 1 } }
        let total = byReason.values.reduce(0, +)
        // The summary, with the reasons in SPEC order.
        let order = ["not_json", "missing_field", "wrong_type", "negative_size", "too_long", "bad_timestamp", "ts_out_of_range"]
        let want = "backfill: \(accepted) events, \(total) rejected ("
            + order.map { "\(byReason[$0]!) \($0)" }.joined(separator: ", ") + ")"
        #expect(r.stderrLines.count == 1, "\(r)")
        #expect(r.stderrText.contains(want), "summary: \(r.stderrText)\nwant it to contain: \(want)")

        // One rejects line per rejected input line, in order, with its number and reason.
        let rejects = jsonObjects(try dir.readText("rejects.ndjson").split(separator: "\n").map(String.init), what: "rejects")
        let wanted = Self.lines.enumerated().compactMap { i, l in l.reason.map { (line: i + 1, reason: $0, text: l.text) } }
        try #require(rejects.count == wanted.count, "\(rejects.count) rejects lines, want \(wanted.count): \(rejects)")
        for (got, want) in zip(rejects, wanted) {
            #expect(got["file"] as? String == input, "\(got)")
            #expect(integer(got["line"]) == want.line, "\(got), want line \(want.line)")
            #expect(got["reason"] as? String == want.reason, "line \(want.line): \(got), want \(want.reason)")
            if want.reason == "too_long" {
                #expect(got["text"] == nil, "too_long lines are not kept: \(got.keys.sorted())")
            } else {
                #expect(got["text"] as? String == want.text, "line \(want.line): text \(got["text"] ?? "nil")")
            }
        }

        // score sees the same lines the same way: the four accepted events, in order.
        let s = try chunkwatch("score", input)
        #expect(s.exitedCleanly, "\(s)")
        #expect(s.stdoutLines.compactMap { jsonObject($0)?["principal"] as? String } == ["svc-a", "svc-b", "svc-b", "svc-c"], "\(s.stdoutText)")
        #expect(s.stderrText.contains("\(total) rejected ("), "\(s)")
    }

    /// The same bad lines through stdin and inside an LZ4 archive: the same counts.
    @Test func rejectsAreCountedTheSameFromStdinAndArchives() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let input = try dir.write("mixed.ndjson", Self.lines.map(\.text).joined(separator: "\n") + "\n")
        try lz4([input, dir.path("mixed.lz4")])
        let plain = try chunkwatch("score", input)
        let fromStdin = try chunkwatch(["score", "-"], stdin: .file(input))
        let archive = try chunkwatch("score", dir.path("mixed.lz4"))
        for r in [plain, fromStdin, archive] {
            #expect(r.exitedCleanly, "\(r)")
            #expect(r.stdout == plain.stdout, "\(r.arguments): other scores")
            #expect(r.stderrText == plain.stderrText, "\(r.arguments): \(r.stderrText) vs \(plain.stderrText)")
        }
        let rejectsFromStdin = dir.path("r.ndjson")
        let b = try chunkwatch(["backfill", "-", "--rejects", rejectsFromStdin], stdin: .file(input))
        #expect(b.exitedCleanly, "\(b)")
        let first = try #require(try dir.readText("r.ndjson").split(separator: "\n").first.map(String.init).flatMap(jsonObject))
        #expect(first["file"] as? String == "-" || first["file"] as? String == "stdin", "\(first)")
    }
}
