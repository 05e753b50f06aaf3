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
                usleep(250_000)  // 8,000 events/s at most
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
        // Key limits of a two-hundredth of the defaults, so the state is full
        // within seconds even in a debug build on a busy machine (the full-size
        // figures come from scripts/checkpoint-flood.sh on a release build).
        let config = try dir.write(
            "config.yaml",
            """
            pipeline:
              max_keys: 500
            detectors:
              size:
                max_keys: 500
              rate:
                max_keys: 250
              volume:
                max_keys: 250
              changepoint:
                max_keys: 500
              novelty:
                max_keys: 500
              silence:
                max_keys: 500
              integrity:
                max_keys: 1000

            """)
        let daemon = try ServeTests.Daemon.start(dir, extra: ["--config", config, "--checkpoint-seconds", "1", "--log-level", "info"])
        let pid = daemon.child.process.processIdentifier
        let flood = Flood()
        let ingest = daemon.ingest
        let sender = Thread { flood.run(to: ingest) }
        sender.start()
        defer { flood.stop.store(true, ordering: .relaxed) }

        // Every key limit is reached (the largest is 1,000 per worker) …
        var text = ""
        var deadline = Date().addingTimeInterval(60)
        while Date() < deadline && Self.metric(text, "chunkwatch_events_accepted_total") < 5_000 {
            usleep(50_000)
            text = (try? daemon.get("/metrics")) ?? ""
        }
        try #require(Self.metric(text, "chunkwatch_events_accepted_total") >= 5_000, "the flood did not get through: \(text.prefix(300))")
        // … then memory, less the bytes waiting in the ingest queue (a debug
        // build reads slower than the sender writes), from now through the end of
        // the next checkpoint to be written.
        func state(_ text: String) -> Int {
            Self.rssKiB(pid) - Int(Self.metric(text, "chunkwatch_ingest_queue_bytes") / 1024)
        }
        let between = state(text)
        let written = Self.metric(text, "chunkwatch_checkpoints_total")
        var through = between
        deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            text = (try? daemon.get("/metrics")) ?? ""
            through = max(through, state(text))
            if Self.metric(text, "chunkwatch_checkpoints_total") > written { break }
            usleep(20_000)
        }
        flood.stop.store(true, ordering: .relaxed)
        try #require(Self.metric(text, "chunkwatch_checkpoints_total") > written, "no checkpoint was written in the flood")
        let result = daemon.stop()
        #expect(result.exitedCleanly, "\(result)")

        #expect(between > 0 && Double(through) <= 1.5 * Double(between), "RSS \(between) KiB between checkpoints, \(through) KiB through one")
        // The pipeline went on while the checkpoint was written: events were
        // accepted meanwhile (what the log line counts; the final checkpoint,
        // after the input stopped, has none).
        let lines = result.stderrText.split(separator: "\n").filter { $0.contains("checkpoint written") }
        let meanwhile = lines.compactMap { line -> Int? in
            guard let r = line.range(of: "events_meanwhile=") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        #expect(meanwhile.contains { $0 > 0 }, "checkpoint lines: \(lines)")
        // Each says how long the workers stopped to write their state, as /metrics does.
        #expect(lines.allSatisfy { $0.contains("pause_seconds=") }, "checkpoint lines: \(lines)")
        #expect(Self.metric(text, "chunkwatch_checkpoint_pause_seconds") > 0, "the pause of the checkpoint written in the flood")

        // The final checkpoint, written at SIGTERM, is what a restart goes on from.
        let stopped = try #require(result.stderrText.split(separator: "\n").last { $0.contains("pipeline stopped") })
        let r = try #require(stopped.range(of: "events="))
        let events = try #require(Int(stopped[r.upperBound...].prefix { $0.isNumber }))
        let again = try ServeTests.Daemon.start(dir, name: "again", extra: ["--config", config])
        #expect(again.accepted == events, "restored from the checkpoint written at stop")
        #expect(again.stop().exitedCleanly)
    }
}
