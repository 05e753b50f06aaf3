import Alerting
import Benchmark
import BenchmarkFixtures
import ChunkModel
import Detectors
import Ingest
import Pipeline

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: 5
    )

    // The whole backfill path on one core: read an LZ4 archive of 1 M events
    // written by the lz4 tool, decompress, frame, decode, update the baselines,
    // score with size and rate, and run the alert lifecycle into a sink.
    // One iteration is the whole archive; throughput × 1 M = events/s.
    let archive = Fixtures.lz4Archive(count: 1_000_000)
    Benchmark("Backfill 1 M events from LZ4 (size + rate)") { benchmark in
        let symbols = SymbolTable()
        let sink = InMemoryAlertSink()
        let engine = Engine(registry: .builtIn(), symbols: symbols, sink: sink)
        let reader = EventReader(symbols: symbols)
        benchmark.startMeasurement()
        try! reader.read(InputFile(path: archive)) { engine.process($0) }
        try! engine.finish()
        benchmark.stopMeasurement()
        precondition(reader.counts.accepted == 1_000_000)
        blackHole(sink.alerts.count)
    }
}
