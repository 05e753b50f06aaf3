import Alerting
import ChunkModel
import ChunkWatchTestKit
import Config
import Foundation
import Ingest
import Pipeline
import Tuning
import Workload

/// gen's labelled traffic written to files, as `chunkwatch gen --output` writes
/// it, once per test process (the files go when the process ends).
enum Fixture {
    struct Stream: Sendable {
        var path: String
        var labels: [AnomalyLabel]
    }

    /// 10 principals over 4 hours with every kind of anomaly: about 74 000 events.
    static let traffic = write("traffic", generated.lines, labels: generated.labels)

    /// The same traffic with every 40th line left out: the integrity detector
    /// sees sequence gaps on most connections (gen injects none of its own).
    static let gappy = write("gappy", generated.lines.enumerated().filter { ($0.offset + 1) % 40 != 0 }.map(\.element), labels: generated.labels)

    /// The same traffic with, every 500 lines, a copy of the line with a
    /// negative size: rejected lines that name their principal, so alerts carry
    /// coverage counts.
    static let withRejects = write(
        "rejects",
        generated.lines.enumerated().flatMap { i, line -> [Substring] in
            guard (i + 1) % 500 == 0, let r = line.range(of: "\"size\":") else { return [line] }
            return [line, line[..<r.upperBound] + "-1," + line[r.upperBound...].drop { $0 != "," }.dropFirst()]
        }, labels: generated.labels)

    /// gen's lines (without their newlines) and labels, generated once.
    private static let generated: (lines: [Substring], labels: [AnomalyLabel]) = {
        var generator = try! WorkloadGenerator(config: WorkloadConfig(principals: 10, hours: 4, seed: 3))
        let labels = generator.labels.map {
            AnomalyLabel(principal: $0.principal, start: $0.start, end: $0.end, kind: $0.kind.rawValue)
        }
        var out = OutputBuffer(capacity: 1 << 25)
        while generator.next(into: &out) {}
        return (out.string.split(separator: "\n"), labels)
    }()

    private static let directory: String = {
        let dir = NSTemporaryDirectory() + "/chunkwatch-tuning-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        cleanup = dir
        atexit { if let dir = Fixture.cleanup { try? FileManager.default.removeItem(atPath: dir) } }
        return dir
    }()

    nonisolated(unsafe) private static var cleanup: String?

    private static func write(_ name: String, _ lines: [Substring], labels: [AnomalyLabel]) -> Stream {
        let path = directory + "/\(name).ndjson"
        try! Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return Stream(path: path, labels: labels)
    }
}

/// Plain backfills: each configuration's own `Engine` (one thread, every
/// detector the configuration enables), fed by one `EventReader` — no batches,
/// no threads, none of the tuning code. The events are decoded once and handed
/// to each engine in turn. Alerts as NDJSON lines, `emitted_at` pinned to zero.
func plainBackfills(_ path: String, _ configs: [ChunkWatchConfig]) throws -> [[String]] {
    let symbols = SymbolTable()
    let sinks = configs.map { _ in InMemoryAlertSink() }
    let engines = zip(configs, sinks).map { config, sink in
        Engine(registry: config.registry(), symbols: symbols, sink: sink, settings: config.pipeline, wallClock: { .zero })
    }
    let reader = EventReader(symbols: symbols)
    reader.onRejectedPrincipal = { p, ts in for e in engines { e.rejected(principal: p, at: ts) } }
    try reader.read(InputFile(path: path)) { event in
        for e in engines { e.process(event, scores: nil) }
    }
    for e in engines { try e.finish() }
    return sinks.map { $0.alerts.map(\.jsonLine) }
}

extension ChunkWatchConfig {
    /// Only `detector` on.
    func only(_ detector: String) -> ChunkWatchConfig {
        var c = self
        c.disabled = Set(ChunkWatchConfig.detectorSections.map(\.name)).subtracting([detector])
        return c
    }

    static func from(_ yaml: String) -> ChunkWatchConfig { try! ChunkWatchConfig.load(yaml: yaml) }
}

func tuner(_ path: String, threads: Int = 2) -> Tuner {
    var t = Tuner(inputs: [path], threads: threads)
    t.wallClock = { .zero }
    return t
}
