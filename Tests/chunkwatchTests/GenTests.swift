#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing

@Suite("gen")
struct GenTests {
    /// `gen | head -n 5`: the reader goes away after a few lines. gen must end
    /// at once, quietly: no crash report, no error about the broken pipe.
    @Test func readerClosingEarly() throws {
        let pipe = Pipe()
        let child = try Child(["gen", "--principals", "12", "--hours", "6"], stdout: .pipe(pipe), timeout: 30)
        try? pipe.fileHandleForWriting.close()
        let reader = pipe.fileHandleForReading
        var received = Data()
        while received.filter({ $0 == 0x0A }).count < 5 {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            received.append(chunk)
        }
        try reader.close()
        let r = child.wait()
        let lines = received.split(separator: 0x0A)
        #expect(lines.count >= 5, "gen wrote fewer than 5 lines before: \(r)")
        #expect(lines.prefix(5).allSatisfy { jsonObject(String(decoding: $0, as: UTF8.self)) != nil })
        #expect(!r.timedOut, "gen kept running after its reader went away: \(r)")
        #expect(r.stderr.isEmpty, "gen printed on stderr after its reader went away: \(r)")
        // gen ignores SIGPIPE and treats EPIPE as the end: a clean exit.
        #expect(!r.signalled && r.status == 0, "\(r)")
        #expect(r.seconds < 20)
    }

    /// `--live` paces event time by the wall clock divided by --speed.
    @Test func liveRunsAtTheRequestedSpeed() throws {
        // 0.05 h = 180 s of event time; at 100000× that is 1.8 ms: done at once.
        let fast = try chunkwatch(["gen", "--live", "--speed", "100000", "--hours", "0.05", "--principals", "3"], timeout: 20)
        #expect(fast.exitedCleanly, "\(fast)")
        #expect(fast.stdoutLines.count > 50, "\(fast.stdoutLines.count) events")
        #expect(fast.seconds < 10, "\(fast)")

        // At 200× the same run takes 0.9 s; each event is written when its time comes.
        let speed = 200.0
        let hours = 0.05
        let pipe = Pipe()
        let child = try Child(["gen", "--live", "--speed", "\(Int(speed))", "--hours", "\(hours)", "--principals", "3"],
                              stdout: .pipe(pipe), timeout: 20)
        try? pipe.fileHandleForWriting.close()
        let started = DispatchTime.now()
        var arrivals: [Double] = []  // seconds since start of each read
        var text = Data()
        while true {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            arrivals.append(Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9)
            text.append(chunk)
        }
        let r = child.wait()
        #expect(r.exitedCleanly, "\(r)")
        let expected = hours * 3600 / speed
        #expect(r.seconds >= expected * 0.9, "a \(hours) h run at \(speed)× took \(r.seconds) s, want at least \(expected) s")
        #expect(r.seconds < expected + 10, "\(r)")
        // Paced, not one burst at the end: output arrives over the run.
        #expect(arrivals.count >= 5, "\(arrivals.count) reads")
        if let first = arrivals.first { #expect(first < expected / 2, "the first events arrived only after \(first) s") }

        // The events are those of the same run unpaced, with the same start.
        let lines = text.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
        let firstTs = try #require(lines.first.flatMap(jsonObject)?["ts"] as? String)
        let lastTs = try #require(lines.last.flatMap(jsonObject)?["ts"] as? String)
        let span = Double(try #require(utcMillis(lastTs)) - (try #require(utcMillis(firstTs)))) / 1000
        #expect(span > hours * 3600 * 0.8 && span <= hours * 3600, "events span \(span) s of event time")
    }

    /// `--profile realistic`: labels name their scenario, the same seed gives
    /// the same bytes, and the help says what the profile models.
    @Test func realisticProfileLabelsItsScenarios() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let labels = dir.path + "/labels.ndjson"
        let args = ["gen", "--profile", "realistic", "--principals", "14", "--hours", "4", "--warmup", "2", "--seed", "5"]
        let r = try chunkwatch(args + ["--labels-out", labels], timeout: 120)
        #expect(r.exitedCleanly, "\(r)")
        #expect(r.stdoutLines.count > 10_000 && r.stdoutLines.prefix(100).allSatisfy { jsonObject($0) != nil })
        let windows = try String(contentsOfFile: labels, encoding: .utf8).split(separator: "\n").compactMap { jsonObject(String($0)) }
        #expect(!windows.isEmpty)
        for w in windows {
            #expect(w["scenario"] is String && w["kind"] is String, "\(w)")
        }
        let again = try chunkwatch(args, timeout: 120)
        #expect(again.stdoutText == r.stdoutText)

        let help = try chunkwatch("gen", "--help")
        #expect(help.stdoutText.contains("realistic") && help.stdoutText.contains("replica_stop"), "\(help)")
    }
}
