import Alerting
import ChunkModel
import Detectors
import Ingest
import Pipeline
import Testing
import Workload

/// Decoded events of one gen stream, replayed through pipelines of several sizes.
private func events(_ config: WorkloadConfig) throws -> (events: [ChunkEvent], symbols: SymbolTable) {
    var generator = try WorkloadGenerator(config: config)
    let symbols = SymbolTable()
    var decoder = ChunkEventDecoder(symbols: symbols)
    var buffer = OutputBuffer(capacity: 1 << 20)
    var event = ChunkEvent.empty
    var out: [ChunkEvent] = []
    while generator.fill(into: &buffer, upToBytes: 1 << 20) > 0 {
        buffer.bytes.withUnsafeBytes { raw in
            var start = 0
            for i in 0..<raw.count where raw[i] == UInt8(ascii: "\n") {
                if decoder.decode(UnsafeRawBufferPointer(rebasing: raw[start..<i]), into: &event) == nil { out.append(event) }
                start = i + 1
            }
        }
        buffer.removeAll()
    }
    return (out, symbols)
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
