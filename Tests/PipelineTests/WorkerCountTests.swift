import Alerting
import ChunkModel
import Detectors
import Ingest
import Pipeline
import ChunkWatchTestKit
import Testing
import Workload

/// Decoded events of one gen stream, replayed through pipelines of several sizes.
private func events(_ config: WorkloadConfig) throws -> (events: [ChunkEvent], symbols: SymbolTable) {
    let (events, _, symbols) = try GeneratedTraffic.events(config)
    return (events, symbols)
}

/// Alert lines with `emitted_at` blanked, the only field allowed to differ.
private func run(_ events: [ChunkEvent], _ symbols: SymbolTable, workers: Int, batchSize: Int = 1024) throws -> [String] {
    let sink = InMemoryAlertSink()
    var settings = PipelineSettings()
    settings.workers = workers
    settings.batchSize = batchSize
    let pipeline: any AlertPipeline =
        workers == 1
        ? Engine(registry: .builtIn(), symbols: symbols, sink: sink, settings: settings, wallClock: { .zero })
        : ParallelEngine(registry: .builtIn(), symbols: symbols, sink: sink, settings: settings, wallClock: { .zero })
    for e in events { pipeline.process(e) }
    try pipeline.finish()
    return sink.alerts.map(\.jsonLine)
}

@Suite struct WorkerCountTests {
    @Test func alertsAreIdenticalForOneTwoAndEightWorkers() throws {
        let (events, symbols) = try events(WorkloadConfig(principals: 12, hours: 10, seed: 5))
        let one = try run(events, symbols, workers: 1)
        #expect(one.count >= 4, "the stream should raise some alerts to compare")
        #expect(try run(events, symbols, workers: 2) == one)
        #expect(try run(events, symbols, workers: 8) == one)
        // Tiny batches shuffle how work interleaves across threads; the output must not move.
        #expect(try run(events, symbols, workers: 3, batchSize: 7) == one)
    }

    @Test func parallelEngineCountsEveryEventAndDrainsOnFinish() throws {
        let (events, symbols) = try events(WorkloadConfig(principals: 6, hours: 3, seed: 2, anomalies: []))
        let sink = InMemoryAlertSink()
        var settings = PipelineSettings()
        settings.workers = 4
        settings.queueDepth = 1
        settings.batchSize = 16
        let engine = ParallelEngine(registry: .builtIn(), symbols: symbols, sink: sink, settings: settings)
        for e in events { engine.process(e) }
        try engine.finish()
        #expect(engine.eventsProcessed == events.count)
        #expect(engine.openAlerts == 0)
    }
}

@Suite struct LiveEquivalenceTests {
    /// A live daemon flushes partial batches whenever input pauses; where the
    /// pauses fall must not change the alerts.
    @Test func flushingAtRandomPausesChangesNothing() throws {
        let (events, symbols) = try events(WorkloadConfig(principals: 10, hours: 8, seed: 9))
        let reference = try run(events, symbols, workers: 1)
        let sink = InMemoryAlertSink()
        var settings = PipelineSettings()
        settings.workers = 2
        settings.batchSize = 256
        let live = ParallelEngine(registry: .builtIn(), symbols: symbols, sink: sink, settings: settings, wallClock: { .zero })
        var rng = SystemRandomNumberGenerator()
        for e in events {
            live.process(e)
            if Int.random(in: 0..<2000, using: &rng) == 0 { live.flush() }
        }
        try live.finish()
        #expect(sink.alerts.map(\.jsonLine) == reference)
    }
}

@Suite struct CoverageTests {
    @Test func alertsCountTheirPrincipalsRejectedLines() throws {
        let symbols = SymbolTable()
        let sink = InMemoryAlertSink()
        let engine = Engine(registry: .builtIn(), symbols: symbols, sink: sink, wallClock: { .zero })
        let p = Symbol("svc-billing")
        symbols.register(p, name: "svc-billing")
        let t0 = Timestamp(rfc3339: "2026-11-23T10:00:00Z")!
        var ts = t0
        for i in 0..<300 {
            ts = ts + .seconds(1)
            engine.process(ChunkEvent(ts: ts, principal: p, size: 1000 + Int64(i % 7)))
            if i % 100 == 0 { engine.rejected(principal: p, at: ts) }
        }
        engine.rejected(principal: Symbol("someone-else"), at: ts)
        engine.process(ChunkEvent(ts: ts + .seconds(1), principal: p, size: 50_000_000))
        try engine.finish()
        let alert = try #require(sink.alerts.first { $0.detector == "size" })
        #expect(alert.coverage == Coverage(rejected: 3, dropped: 0))
        #expect(alert.jsonLine.contains("\"coverage\":{\"rejected\":3,\"dropped\":0}"))
    }
}
