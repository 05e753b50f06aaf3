import Alerting
import ChunkModel
import Detectors
import Ingest
import Pipeline
import Testing
import Workload

/// Runs `gen`'s traffic through the whole pipeline in memory: generator →
/// NDJSON bytes → decoder → engine → alerts.
struct Replay {
    var alerts: [Alert] = []
    var labels: [LabelWindow] = []
    var events = 0

    init(_ config: WorkloadConfig) throws {
        var generator = try WorkloadGenerator(config: config)
        labels = generator.labels
        let symbols = SymbolTable()
        let sink = InMemoryAlertSink()
        let engine = Engine(registry: .builtIn(), symbols: symbols, sink: sink, wallClock: { .zero })
        var decoder = ChunkEventDecoder(symbols: symbols)
        var buffer = OutputBuffer(capacity: 1 << 20)
        var event = ChunkEvent.empty
        while generator.fill(into: &buffer, upToBytes: 1 << 20) > 0 {
            buffer.bytes.withUnsafeBytes { raw in
                var start = 0
                for i in 0..<raw.count where raw[i] == UInt8(ascii: "\n") {
                    let line = UnsafeRawBufferPointer(rebasing: raw[start..<i])
                    start = i + 1
                    guard decoder.decode(line, into: &event) == nil else {
                        Issue.record("gen wrote a line the decoder rejects: \(String(decoding: line, as: UTF8.self))")
                        continue
                    }
                    engine.process(event)
                    events += 1
                }
            }
            buffer.removeAll()
        }
        try engine.finish()
        alerts = sink.alerts
    }

    var firing: [Alert] { alerts.filter { $0.status == .firing } }

    /// Firing alerts for the label's principal that start inside its window (plus grace).
    func detections(of label: LabelWindow, grace: Duration = .seconds(300)) -> [Alert] {
        firing.filter { $0.principal == label.principal && $0.firstTs >= label.start && $0.firstTs <= label.end + grace }
    }

    func isExplained(_ alert: Alert) -> Bool {
        labels.contains { alert.principal == $0.principal && alert.firstTs >= $0.start && alert.firstTs <= $0.end + .seconds(300) }
    }
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
