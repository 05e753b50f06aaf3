import Alerting
import ChunkModel
import Detectors
import Ingest
import Pipeline
import Testing
import Workload

/// `gen`'s traffic run through the engine with only the detectors under test:
/// generator → NDJSON → decoder → engine → alerts, as `chunkwatch` runs it.
struct GenDetectorRun: Sendable {
    var alerts: [Alert] = []
    var labels: [LabelWindow] = []
    var principals: [PrincipalProfile] = []
    var events = 0

    init(_ config: WorkloadConfig, _ detectors: [(String, DetectorRegistry.Factory)]) throws {
        var generator = try WorkloadGenerator(config: config)
        labels = generator.labels
        principals = generator.principals
        var registry = DetectorRegistry()
        for (name, make) in detectors { registry.register(name, make) }
        let symbols = SymbolTable()
        let sink = InMemoryAlertSink()
        let engine = Engine(registry: registry, symbols: symbols, sink: sink, wallClock: { .zero })
        var decoder = ChunkEventDecoder(symbols: symbols)
        var buffer = OutputBuffer(capacity: 1 << 20)
        var event = ChunkEvent.empty
        var count = 0
        while generator.fill(into: &buffer, upToBytes: 1 << 20) > 0 {
            buffer.bytes.withUnsafeBytes { raw in
                var start = 0
                for i in 0..<raw.count where raw[i] == UInt8(ascii: "\n") {
                    let line = UnsafeRawBufferPointer(rebasing: raw[start..<i])
                    start = i + 1
                    guard decoder.decode(line, into: &event) == nil else {
                        Issue.record("gen wrote a line the decoder rejects")
                        continue
                    }
                    engine.process(event)
                    count += 1
                }
            }
            buffer.removeAll()
        }
        try engine.finish()
        events = count
        alerts = sink.alerts
    }

    var firing: [Alert] { alerts.filter { $0.status == .firing } }

    /// Firing alerts for the label's principal with `first_ts` in [start, end + grace].
    func detections(of label: LabelWindow, grace: Duration = .seconds(300)) -> [Alert] {
        firing.filter { $0.principal == label.principal && $0.firstTs >= label.start && $0.firstTs <= label.end + grace }
    }

    /// Firing alerts no label explains.
    var unexplained: [Alert] {
        firing.filter { a in
            !labels.contains { a.principal == $0.principal && a.firstTs >= $0.start && a.firstTs <= $0.end + .seconds(300) }
        }
    }

    /// Principal-days of the run, for false-alert rates.
    func principalDays(_ config: WorkloadConfig) -> Double { Double(config.principals) * config.hours / 24 }
}

extension GenDetectorRun {
    /// Three clean days, Monday to Wednesday, of services with a diurnal
    /// curve, office workers and a nightly batch job (584,839 events).
    static let cleanConfig = WorkloadConfig(principals: 6, hours: 72, seed: 3, anomalies: [])

    /// `cleanConfig` through volume, changepoint and rate at once: generated
    /// once (about 10 s in a debug build) and shared by their suites.
    static let cleanThreeDays: Result<GenDetectorRun, any Error> = Result {
        try GenDetectorRun(
            cleanConfig,
            [
                ("volume", { VolumeDetector() }), ("changepoint", { ChangepointDetector() }),
                ("rate", { RateDetector() }),
            ])
    }
}
