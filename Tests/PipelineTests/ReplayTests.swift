import Alerting
import ChunkModel
import Detectors
import Ingest
import Pipeline
import ChunkWatchTestKit
import Testing
import Workload

/// `gen`'s traffic through the whole pipeline in memory, every line decoded.
typealias Replay = GenRun

extension GenRun {
    init(_ config: WorkloadConfig) throws {
        try self.init(config, registry: .builtIn()) { Issue.record("gen wrote a line the decoder rejects: \($0)") }
    }

    func isExplained(_ alert: Alert) -> Bool { !unexplained().contains { $0.id == alert.id } }
}

@Suite struct ReplayTests {
    @Test func injectedSizeSpikesAndRateSurgesAreFound() throws {
        let replay = try Replay(WorkloadConfig(principals: 10, hours: 8, seed: 4, anomalies: [.size, .rate]))
        let wanted = replay.labels.filter { $0.kind == .size || $0.kind == .rate }
        #expect(wanted.count == 2, "gen placed \(replay.labels)")
        for label in wanted {
            let hits = replay.detections(of: label)
            #expect(!hits.isEmpty, "missed \(label.kind) on \(label.principal) at \(label.start)")
            #expect(hits.contains { $0.detector == label.kind.rawValue }, "found by \(hits.map(\.detector)), not \(label.kind)")
        }
        let unexplained = replay.firing.filter { !replay.isExplained($0) }
        #expect(unexplained.count <= 1, "false alerts: \(unexplained.map(\.message))")
    }

    @Test func aCleanDayIsQuiet() throws {
        // Services, office-hours people and batch jobs over a full simulated day,
        // morning ramps and night-time quiet included.
        let replay = try Replay(WorkloadConfig(principals: 8, hours: 24, seed: 11, anomalies: []))
        #expect(replay.events > 100_000)
        #expect(replay.firing.isEmpty, "false alerts: \(replay.firing.map(\.message))")
    }

    @Test func everyFiringAlertResolvesOnceWithTheSameID() throws {
        let replay = try Replay(WorkloadConfig(principals: 10, hours: 8, seed: 4, anomalies: [.size, .rate]))
        let firing = replay.firing
        let resolved = replay.alerts.filter { $0.status == .resolved }
        #expect(!firing.isEmpty)
        #expect(Set(firing.map(\.id)) == Set(resolved.map(\.id)))
        #expect(resolved.count == firing.count)
        for r in resolved {
            let f = try #require(firing.first { $0.id == r.id })
            #expect(r.count >= 1 && r.firstTs == f.firstTs && r.lastTs >= f.firstTs && r.score >= f.score)
        }
    }

    @Test func theSameEventsGiveTheSameAlerts() throws {
        let config = WorkloadConfig(principals: 10, hours: 8, seed: 4, anomalies: [.size, .rate])
        let a = try Replay(config).alerts
        let b = try Replay(config).alerts
        #expect(a.map(\.jsonLine) == b.map(\.jsonLine))
    }
}
