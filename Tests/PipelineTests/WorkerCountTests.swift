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
private func run(
    _ events: [ChunkEvent], _ symbols: SymbolTable, workers: Int, batchSize: Int = 1024, tick: Duration = .seconds(10)
) throws -> [String] {
    let sink = InMemoryAlertSink()
    var settings = PipelineSettings()
    settings.workers = workers
    settings.batchSize = batchSize
    settings.tick = tick
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

    /// Random streams, ticks and batch sizes: one engine and 2, 3 and 8
    /// workers give the same alert lines. (With a 2-minute tick, a new
    /// principal alerted on one worker and not on two, since each shard
    /// guessed when the stream began from its own ticks; and an alert that
    /// fired again resolved every expired alert of its detector in its shard,
    /// so resolutions came out in an order that depended on the sharding.)
    @Test(arguments: [UInt64(11), 12, 13])
    func randomStreamsTicksAndBatchesGiveTheSameAlertsOnAnyNumberOfWorkers(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let config = WorkloadConfig(
            principals: Int.random(in: 5...10, using: &rng), hours: Double(Int.random(in: 5...9, using: &rng)),
            seed: UInt64.random(in: 1...1_000, using: &rng))
        let tick = [Duration.seconds(10), .seconds(30), .seconds(120), .seconds(300)].randomElement(using: &rng)!
        let (events, symbols) = try events(config)
        let one = try run(events, symbols, workers: 1, tick: tick)
        #expect(!one.isEmpty, "the stream should raise some alerts to compare")
        for workers in [2, 3, 8] {
            let batch = Int.random(in: 1...2_048, using: &rng)
            let lines = try run(events, symbols, workers: workers, batchSize: batch, tick: tick)
            #expect(lines == one, "\(workers) workers, batches of \(batch), tick \(tick), \(config)")
        }
    }

    /// Principals first seen just past the stream's warm-up (24 h from its
    /// first event), with 5-minute ticks: new on every number of workers.
    /// Each shard used to guess the stream's start from its own first event
    /// or tick minus 10 s; a shard that saw no event before its first tick
    /// put the start minutes late, and its principals were still "warming up".
    @Test func aPrincipalNewAfterTheWarmUpIsNewOnEveryWorkerWhateverTheTick() throws {
        let symbols = SymbolTable()
        func principal(_ name: String) -> Symbol {
            let s = Symbol(name)
            symbols.register(s, name: name)
            return s
        }
        let start = Timestamp(rfc3339: "2026-11-23T00:00:10Z")!
        let early = principal("svc-early")
        let resource = principal("pg://orders")
        var events: [ChunkEvent] = []
        for minute in 0..<(24 * 60 + 10) {
            events.append(ChunkEvent(ts: start + .seconds(60 * minute), principal: early, size: 1_000, resource: resource))
        }
        let late = (0..<8).map { principal("svc-late-\($0)") }
        for (i, p) in late.enumerated() {
            let ts = start + .seconds(24 * 3600 + 60 + i)
            let at = events.firstIndex { $0.ts > ts } ?? events.count
            events.insert(ChunkEvent(ts: ts, principal: p, size: 1_000, resource: resource), at: at)
        }
        let one = try run(events, symbols, workers: 1, tick: .seconds(300))
        #expect(one.filter { $0.contains("is a new principal") && $0.contains("\"firing\"") }.count == late.count, "\(one)")
        #expect(try run(events, symbols, workers: 8, tick: .seconds(300)) == one)
        #expect(try run(events, symbols, workers: 3, batchSize: 5, tick: .seconds(300)) == one)
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
