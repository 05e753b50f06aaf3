import Alerting
import ChunkModel
import Detectors
import Pipeline
import Workload

/// `gen`'s traffic through the engine, as `chunkwatch backfill` runs it:
/// generator → NDJSON → decoder → engine → alerts, with the labels of what was
/// injected, to ask which anomalies were found and which alerts nothing explains.
public struct GenRun: Sendable {
    public var alerts: [Alert] = []
    public var labels: [LabelWindow] = []
    public var principals: [PrincipalProfile] = []
    public var events = 0

    public init(_ config: WorkloadConfig, registry: DetectorRegistry = .builtIn(), rejected: (String) -> Void = { _ in }) throws {
        var generator = try WorkloadGenerator(config: config)
        labels = generator.labels
        principals = generator.principals
        let symbols = SymbolTable()
        let sink = InMemoryAlertSink()
        let engine = Engine(registry: registry, symbols: symbols, sink: sink, wallClock: { .zero })
        var count = 0
        GeneratedTraffic.forEachEvent(&generator, symbols: symbols, rejected: rejected) { event in
            engine.process(event)
            count += 1
        }
        try engine.finish()
        events = count
        alerts = sink.alerts
    }

    public var firing: [Alert] { alerts.filter { $0.status == .firing } }

    /// Firing alerts for the label's principal with `first_ts` in [start, end + grace] (SPEC §5).
    public func detections(of label: LabelWindow, grace: Duration = .seconds(300)) -> [Alert] {
        firing.filter { $0.principal == label.principal && $0.firstTs >= label.start && $0.firstTs <= label.end + grace }
    }

    /// Firing alerts that no label explains: false alerts.
    public func unexplained(grace: Duration = .seconds(300)) -> [Alert] {
        firing.filter { a in
            !labels.contains { a.principal == $0.principal && a.firstTs >= $0.start && a.firstTs <= $0.end + grace }
        }
    }
}
