import Alerting
import ChunkModel
import Config
import Detectors
import Pipeline

/// One real pipeline (`makePipeline`, the detectors and alert lifecycle a
/// backfill runs) fed by a shared read, its alerts collected in memory. With a
/// `SweepRecorder` in place of its detector it also scores one-pass candidates.
final class PipelineLane: BatchConsumer, @unchecked Sendable {  // driven by one thread at a time: its worker during the read, the caller after
    let pipeline: any AlertPipeline
    let collector: AlertCollector
    let recorder: SweepRecorder?

    /// A pipeline of `config` (with `workers` threads of its own; 1 when many
    /// pipelines share the read's threads).
    init(
        config: ChunkWatchConfig, symbols: SymbolTable, workers: Int, keepLines: Bool, wallClock: @escaping @Sendable () -> Timestamp
    ) {
        var settings = config.pipeline
        settings.workers = workers
        collector = AlertCollector(keepLines: keepLines)
        pipeline = makePipeline(registry: config.registry(), symbols: symbols, sink: collector, settings: settings, wallClock: wallClock)
        recorder = nil
    }

    /// A one-thread pipeline of `config` whose detector `detector` runs inside a
    /// recorder that folds each of `rewrites`' versions of its anomalies.
    init(
        pass config: ChunkWatchConfig, detector: String, rewrites: [AnomalyRewrite], symbols: SymbolTable, keepLines: Bool,
        wallClock: @escaping @Sendable () -> Timestamp
    ) {
        let inner = config.only(detector).registry().makeAll()[0]
        let folds = rewrites.map {
            SweepRecorder.Fold(
                rewrite: $0, lifecycle: AlertLifecycle(symbols: symbols, wallClock: wallClock), collector: AlertCollector(keepLines: keepLines))
        }
        let recorder = SweepRecorder(inner: inner, folds: folds)
        var registry = DetectorRegistry()
        registry.register(detector) { recorder }
        var settings = config.pipeline
        settings.workers = 1
        collector = AlertCollector(keepLines: keepLines)
        pipeline = makePipeline(registry: registry, symbols: symbols, sink: collector, settings: settings, wallClock: wallClock)
        self.recorder = recorder
    }

    var pipelines: Int { recorder?.folds.count ?? 1 }

    func apply(_ batch: Batch) {
        let marks = batch.marks
        var m = 0
        let pipeline = self.pipeline
        batch.events.withUnsafeBufferPointer { events in
            for i in events.indices {
                while m < marks.count && marks[m].index == i {
                    apply(marks[m].mark)
                    m += 1
                }
                pipeline.process(events[i])
            }
        }
        while m < marks.count {
            apply(marks[m].mark)
            m += 1
        }
    }

    private func apply(_ mark: Batch.Mark) {
        switch mark {
        case .rejected(let principal, let ts): pipeline.rejected(principal: principal, at: ts)
        case .dropped(let report): pipeline.dropped(report)
        }
    }

    /// Ends the stream: open alerts resolve (in the pipeline and in every fold).
    func finish() throws(TuneError) {
        do { try pipeline.finish() } catch { throw TuneError("\(error)") }
        recorder?.finish()
    }
}
