import Alerting
import Benchmark
import BenchmarkFixtures
import ChunkModel
import Detectors
import Ingest
import Pipeline

/// Reads the archive through `pipeline`; returns the events accepted.
func backfill(_ archive: String, into pipeline: any AlertPipeline, symbols: SymbolTable) -> Int {
    let reader = EventReader(symbols: symbols)
    try! reader.read(InputFile(path: archive)) { pipeline.process($0) }
    try! pipeline.finish()
    return reader.counts.accepted
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(30),
        maxIterations: 5
    )

    // The whole backfill path: read an LZ4 archive of 1 M events of gen's
    // traffic written by the lz4 tool, decompress, frame, decode, update the
    // baselines, score, and run the alert lifecycle into a sink. One iteration
    // is the whole archive; events/s = 1 M / wall clock.
    let archive = Fixtures.lz4Archive(count: 1_000_000)

    Benchmark("Backfill 1 M events from LZ4 (size + rate, 1 worker)") { benchmark in
        let symbols = SymbolTable()
        let registry = try! DetectorRegistry.builtIn().only(["size", "rate"])
        let engine = Engine(registry: registry, symbols: symbols, sink: InMemoryAlertSink())
        benchmark.startMeasurement()
        let n = backfill(archive, into: engine, symbols: symbols)
        benchmark.stopMeasurement()
        precondition(n == 1_000_000)
    }

    for workers in [1, 2] {
        Benchmark("Backfill 1 M events from LZ4 (all detectors, \(workers) worker\(workers == 1 ? "" : "s"))") { benchmark in
            let symbols = SymbolTable()
            var settings = PipelineSettings()
            settings.workers = workers
            let pipeline = makePipeline(registry: .builtIn(), symbols: symbols, sink: InMemoryAlertSink(), settings: settings)
            benchmark.startMeasurement()
            let n = backfill(archive, into: pipeline, symbols: symbols)
            benchmark.stopMeasurement()
            precondition(n == 1_000_000)
        }
    }
}
