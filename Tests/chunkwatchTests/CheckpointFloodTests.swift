#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import Testing

/// Issue 9, deliverable 5: a flood of new principals with checkpoints in the
/// middle, through the real daemon. The checkpoint is written while events go
/// on, and memory through it stays within 1.5× of memory between checkpoints.
/// (Timings — the longest stall, the SIGTERM time — are measured by
/// scripts/checkpoint-flood.sh, not asserted here.)
@Suite(.serialized)
struct CheckpointFloodTests {
    /// A sender of events each with a principal never seen before, until told to stop.
    final class Flood: Sendable {
        let sent = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)

        func run(to address: String) {
            guard let fd = try? tcpConnect(address) else { return }
            defer { close(fd) }
            var i = 0
            while !stop.load(ordering: .relaxed) {
                var text = ""
                for _ in 0..<2_000 {
                    // One ms of event time per event, from 2026-11-01.
                    let ms = i
                    let s = ms / 1000
                    let time = String(format: "2026-11-%02d", 1 + s / 86_400 % 28)
                        + String(format: "T%02d:%02d:%02d.%03dZ", s / 3600 % 24, s / 60 % 60, s % 60, ms % 1000)
                    text += #"{"ts":"\#(time)","principal":"flood-\#(i)","resource":"r","hop":"gateway","size":\#(1000 + i % 4096),"conn":"c-\#(i % 64)","dir":"out","seq":\#(i + 1)}"# + "\n"
                    i += 1
                }
                let bytes = Array(text.utf8)
                var at = 0
                while at < bytes.count {
                    let r = bytes[at...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if r <= 0 { return }
                    at += r
                }
                sent.store(i, ordering: .relaxed)
            }
        }
    }

    static func metric(_ text: String, _ name: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }

    static func rssKiB(_ pid: pid_t) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }

    @Test func aFloodOfNewPrincipalsGoesOnThroughACheckpointWithinOneAndAHalfTimesItsMemory() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        // Key limits of a tenth of the defaults, so the state (~100 MB over
        // two workers) is full within seconds even in a debug build.
        let config = try dir.write(
            "config.yaml",
            """
            pipeline:
              max_keys: 10000
            detectors:
              size:
                max_keys: 10000
              rate:
                max_keys: 5000
              volume:
                max_keys: 5000
              changepoint:
                max_keys: 10000
              novelty:
                max_keys: 10000
              silence:
                max_keys: 10000
              integrity:
                max_keys: 26000

            """)
        let daemon = try ServeTests.Daemon.start(dir, extra: ["--config", config, "--checkpoint-seconds", "2", "--log-level", "info"])
        let pid = daemon.child.process.processIdentifier
        let flood = Flood()
        let ingest = daemon.ingest
        let sender = Thread { flood.run(to: ingest) }
        sender.start()
        defer { flood.stop.store(true, ordering: .relaxed) }

        // Every key limit is reached (the largest is 26,000 per worker) …
        var text = ""
        var deadline = Date().addingTimeInterval(60)
        while Date() < deadline && Self.metric(text, "chunkwatch_events_accepted_total") < 120_000 {
            usleep(50_000)
            text = (try? daemon.get("/metrics")) ?? ""
        }
        try #require(Self.metric(text, "chunkwatch_events_accepted_total") >= 120_000, "the flood did not get through: \(text.prefix(300))")
        // … then: memory between checkpoints, one whole checkpoint, and memory after it.
        var between = 0
        var during = 0
        var acceptedDuring: [Double] = []
        var phase = 0  // 0: wait for no checkpoint in progress, 1: between, 2: during, 3: after
        var written = 0.0
        deadline = Date().addingTimeInterval(60)
        while Date() < deadline && phase < 4 {
            text = (try? daemon.get("/metrics")) ?? ""
            let rss = Self.rssKiB(pid)
            let inProgress = Self.metric(text, "chunkwatch_checkpoint_in_progress") > 0
            let total = Self.metric(text, "chunkwatch_checkpoints_total")
            switch phase {
            case 0:
                if !inProgress {
                    written = total
                    phase = 1
                }
            case 1:
                if inProgress || total > written {
                    phase = 2
                    during = rss
                    acceptedDuring.append(Self.metric(text, "chunkwatch_events_accepted_total"))
                } else {
                    between = max(between, rss)
                }
            case 2:
                during = max(during, rss)
                if inProgress { acceptedDuring.append(Self.metric(text, "chunkwatch_events_accepted_total")) }
                if total > written && !inProgress { phase = 3 }
            default:
                during = max(during, rss)
                phase += 1
            }
            usleep(20_000)
        }
        flood.stop.store(true, ordering: .relaxed)
        try #require(phase >= 3, "no checkpoint was written in the flood (phase \(phase))")
        let result = daemon.stop()
        #expect(result.exitedCleanly, "\(result)")

        #expect(between > 0 && Double(during) <= 1.5 * Double(between), "RSS \(between) KiB between checkpoints, \(during) KiB through one")
        // The pipeline went on while the checkpoint was written: events were
        // accepted meanwhile (what the log line counts; the final checkpoint,
        // after the input stopped, has none).
        let lines = result.stderrText.split(separator: "\n").filter { $0.contains("checkpoint written") }
        let meanwhile = lines.compactMap { line -> Int? in
            guard let r = line.range(of: "events_meanwhile=") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        #expect(meanwhile.contains { $0 > 0 }, "checkpoint lines: \(lines)")
        #expect(!result.stderrText.contains("checkpoint not written"), "\(result.stderrText.suffix(2000))")
    }
}
