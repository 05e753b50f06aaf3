import Alerting
import ChunkModel
import ChunkWatchTestKit
import Detectors
import Pipeline
import Testing
import Workload

/// One thing for a pipeline to take, in stream order: an event, or a tap's
/// report of events it dropped.
private enum Input {
    case event(ChunkEvent)
    case drops(TapDropReport)
}

private func makePipeline(_ symbols: SymbolTable, _ sink: InMemoryAlertSink, workers: Int, batchSize: Int = 1024) -> any AlertPipeline {
    var settings = PipelineSettings()
    settings.workers = workers
    settings.batchSize = batchSize
    return workers == 1
        ? Engine(registry: .builtIn(), symbols: symbols, sink: sink, settings: settings, wallClock: { .zero })
        : ParallelEngine(registry: .builtIn(), symbols: symbols, sink: sink, settings: settings, wallClock: { .zero })
}

private func feed(_ inputs: some Sequence<Input>, to pipeline: any AlertPipeline) {
    for input in inputs {
        switch input {
        case .event(let e): pipeline.process(e)
        case .drops(let r): pipeline.dropped(r)
        }
    }
}

/// Alert lines (`emitted_at` is the wall clock, pinned to zero here).
private func run(_ inputs: [Input], _ symbols: SymbolTable, workers: Int, batchSize: Int = 1024) throws -> [String] {
    let sink = InMemoryAlertSink()
    let pipeline = makePipeline(symbols, sink, workers: workers, batchSize: batchSize)
    feed(inputs, to: pipeline)
    try pipeline.finish()
    return sink.alerts.map(\.jsonLine)
}

private func report(_ ts: Timestamp, _ drops: [(Symbol, Int64)]) -> TapDropReport {
    TapDropReport(
        tap: "gw-test", ts: ts, dropped: drops.reduce(0) { $0 + $1.1 },
        byPrincipal: drops.map { .init(principal: $0.0, dropped: $0.1) })
}

/// gen's traffic with a tap's drop reports among the events: every 400th
/// event, a report for that event's principal (and, now and then, a second
/// one) made a few seconds after the event, as a live tap's wall clock would be.
private func trafficWithReports(_ config: WorkloadConfig) throws -> (inputs: [Input], symbols: SymbolTable) {
    let (events, _, symbols) = try GeneratedTraffic.events(config)
    var inputs: [Input] = []
    for (i, e) in events.enumerated() {
        inputs.append(.event(e))
        guard i % 400 == 399 else { continue }
        var drops: [(Symbol, Int64)] = [(e.principal, Int64(i % 97 + 1))]
        if i % 1200 == 399 { drops.append((events[i / 2].principal, 5)) }
        inputs.append(.drops(report(e.ts + .seconds(3), drops)))
    }
    return (inputs, symbols)
}

@Suite struct DropCoverageTests {
    @Test func alertsCountTheDropsTapsReportedForTheirPrincipal() throws {
        let symbols = SymbolTable()
        let sink = InMemoryAlertSink()
        let engine = Engine(registry: .builtIn(), symbols: symbols, sink: sink, wallClock: { .zero })
        let p = Symbol("svc-billing")
        let other = Symbol("svc-batch")
        symbols.register(p, name: "svc-billing")
        var ts = Timestamp(rfc3339: "2026-11-23T10:00:00Z")!
        for i in 0..<300 {
            ts = ts + .seconds(1)
            engine.process(ChunkEvent(ts: ts, principal: p, size: 1000 + Int64(i % 7)))
            if i % 100 == 0 { engine.rejected(principal: p, at: ts) }
            if i % 60 == 0 { engine.dropped(report(ts, [(p, 250), (other, 7)])) }
        }
        engine.process(ChunkEvent(ts: ts + .seconds(1), principal: p, size: 50_000_000))
        try engine.finish()
        let alert = try #require(sink.alerts.first { $0.detector == "size" })
        #expect(alert.coverage == Coverage(rejected: 3, dropped: 1250))
        #expect(alert.jsonLine.contains("\"coverage\":{\"rejected\":3,\"dropped\":1250}"))
    }

    @Test func alertsAreIdenticalForOneTwoAndFourWorkers() throws {
        let (inputs, symbols) = try trafficWithReports(WorkloadConfig(principals: 12, hours: 10, seed: 5))
        let one = try run(inputs, symbols, workers: 1)
        #expect(one.count >= 4, "the stream should raise some alerts to compare")
        let withDrops = one.filter { $0.contains("\"coverage\":") && !$0.contains("\"dropped\":0}") }
        #expect(!withDrops.isEmpty, "some alerts must show drops, or the comparison says little")
        #expect(try run(inputs, symbols, workers: 4) == one)
        #expect(try run(inputs, symbols, workers: 2) == one)
        // Tiny batches shuffle how work interleaves across threads; the output must not move.
        #expect(try run(inputs, symbols, workers: 3, batchSize: 7) == one)
    }

    /// Drops count in the hour window of the report's time (the tap's wall
    /// clock) — an alert shows those of its hour and the one before — but
    /// never later than the stream's latest event: a tap whose clock runs
    /// ahead cannot move a principal's window past the events.
    @Test func dropsCountInTheHourOfTheReportNoLaterThanTheWatermark() throws {
        let symbols = SymbolTable()
        let sink = InMemoryAlertSink()
        let engine = Engine(registry: .builtIn(), symbols: symbols, sink: sink, wallClock: { .zero })
        let p = Symbol("svc-orders")
        let t0 = Timestamp(rfc3339: "2026-11-23T10:00:00Z")!
        // Before any event there is no watermark: the report's own time counts (hour 9).
        engine.dropped(report(t0 + .seconds(-1800), [(p, 1)]))
        var ts = t0
        for i in 0..<200 {
            ts = t0 + .seconds(Int64(i) * 15)  // 10:00 to 10:50
            engine.process(ChunkEvent(ts: ts, principal: p, size: 1000 + Int64(i % 5)))
        }
        // Three hours ahead of the events: counted at the watermark, in hour 10.
        engine.dropped(report(ts + .seconds(3 * 3600), [(p, 20)]))
        engine.process(ChunkEvent(ts: ts + .seconds(1), principal: p, size: 40_000_000))  // 10:50, hours 10 and 9
        // 11:10: hours 11 and 10.
        for i in 1...80 { engine.process(ChunkEvent(ts: ts + .seconds(Int64(i) * 15), principal: p, size: 1000 + Int64(i % 5))) }
        engine.process(ChunkEvent(ts: t0 + .seconds(4200), principal: Symbol("svc-orders"), size: 1000))
        let late = t0 + .seconds(4200)
        engine.dropped(report(late, [(p, 300)]))
        engine.process(ChunkEvent(ts: late + .seconds(1), principal: p, size: 45_000_000))
        // 12:20: hour 11 is all that is left (hour 10's 20 are too old).
        for i in 1...280 { engine.process(ChunkEvent(ts: late + .seconds(Int64(i) * 15), principal: p, size: 1000 + Int64(i % 5))) }
        engine.process(ChunkEvent(ts: t0 + .seconds(8400), principal: p, size: 47_000_000))
        try engine.finish()
        let firing = sink.alerts.filter { $0.detector == "size" && $0.status == .firing }
        try #require(firing.count == 3, "\(sink.alerts.map(\.message))")
        #expect(firing.map { $0.coverage?.dropped } == [21, 320, 300])
    }

    @Test func aPrincipalSilentWhileItsTapDropsShowsTheDropsOnItsSilenceAlert() throws {
        let symbols = SymbolTable()
        let sink = InMemoryAlertSink()
        let engine = makePipeline(symbols, sink, workers: 2)
        let quiet = Symbol("svc-quiet")
        let steady = Symbol("svc-steady")
        symbols.register(quiet, name: "svc-quiet")
        symbols.register(steady, name: "svc-steady")
        let t0 = Timestamp(rfc3339: "2026-11-23T08:00:00Z")!
        // Three hours of both, every 10 s: the silence detector learns their rhythm.
        var ts = t0
        for _ in 0..<1080 {
            ts = ts + .seconds(10)
            engine.process(ChunkEvent(ts: ts, principal: quiet, size: 2000))
            engine.process(ChunkEvent(ts: ts + .milliseconds(5), principal: steady, size: 2000))
        }
        // Then svc-quiet's events no longer get through: the tap's ring is full,
        // and every 10 s it reports how many it dropped.
        var reported: [(Timestamp, Int64)] = []
        for i in 0..<120 {
            ts = ts + .seconds(10)
            engine.process(ChunkEvent(ts: ts, principal: steady, size: 2000))
            let n = Int64(40 + i % 3)
            engine.dropped(report(ts, [(quiet, n)]))
            reported.append((ts, n))
        }
        try engine.finish()
        let alert = try #require(sink.alerts.first { $0.detector == "silence" && $0.principal == "svc-quiet" })
        // The drops of the alert's hour and the one before, reported before the
        // tick that raised it (a report at the tick's own time comes after it).
        let hour = { (t: Timestamp) in t.nanoseconds / 3_600_000_000_000 }
        let expected = reported.filter { $0.0 < alert.ts && hour(alert.ts) - hour($0.0) <= 1 }.reduce(0) { $0 + $1.1 }
        #expect(expected > 0)
        #expect(alert.coverage?.dropped == Int(expected))
        #expect(!sink.alerts.contains { $0.principal == "svc-steady" && $0.detector == "silence" })
    }

    /// A checkpoint carries the drop counts: restored half way, the alerts are
    /// those of a pipeline that never stopped.
    @Test(arguments: [1, 4])
    func aCheckpointKeepsTheDropCounts(workers: Int) throws {
        let (inputs, symbols) = try trafficWithReports(WorkloadConfig(principals: 10, hours: 8, seed: 4, anomalies: [.size, .rate]))
        let reference = try run(inputs, symbols, workers: workers)
        #expect(reference.contains { $0.contains("\"coverage\":") && !$0.contains("\"dropped\":0}") })

        let half = inputs.count / 2
        let firstSink = InMemoryAlertSink()
        let first = makePipeline(symbols, firstSink, workers: workers)
        feed(inputs[..<half], to: first)
        let checkpoint = try first.checkpoint()
        let secondSink = InMemoryAlertSink()
        let second = makePipeline(symbols, secondSink, workers: workers)
        try second.restore(checkpoint)
        feed(inputs[half...], to: second)
        try second.finish()
        #expect((firstSink.alerts + secondSink.alerts).map(\.jsonLine) == reference)
    }

    @Test func reportsNeverMoveEventTime() throws {
        // A report far in the future is not an event: no tick, no alert resolves.
        let symbols = SymbolTable()
        let sink = InMemoryAlertSink()
        let engine = Engine(registry: .builtIn(), symbols: symbols, sink: sink, wallClock: { .zero })
        let t0 = Timestamp(rfc3339: "2026-11-23T10:00:00Z")!
        engine.process(ChunkEvent(ts: t0, principal: Symbol("a"), size: 1))
        engine.dropped(report(t0 + .seconds(86_400 * 30), [(Symbol("a"), 5), (Symbol("b"), 0)]))
        #expect(engine.watermark == t0)
    }
}
