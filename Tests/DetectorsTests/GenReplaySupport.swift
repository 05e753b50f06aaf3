import ChunkModel
import Detectors
import Ingest
import ChunkWatchTestKit
import Testing
import Workload

/// Runs `gen`'s traffic through one detector the way the pipeline does:
/// generator → NDJSON bytes → decoder → `observe` per event, with the stream
/// watermark in the context and `advance` at every 10 s boundary of event
/// time that the stream crosses (before the event that crosses it). Anomalies
/// are folded per (detector, key) within their cooldown, as the alert
/// lifecycle does, so `alerts` carries first and last times like alerts do.
struct GenReplay {
    struct FoldedAlert {
        var principal: String
        var key: UInt64
        var firstTs: Timestamp
        var lastTs: Timestamp
        var count: Int
        var message: String
        var severity: Severity
    }

    var alerts: [FoldedAlert] = []
    var labels: [LabelWindow] = []
    var events = 0
    var ticks = 0
    var principals: [PrincipalProfile] = []
    var start = Timestamp.zero
    var end = Timestamp.zero

    static let tick: Int64 = 10_000_000_000

    init(_ config: WorkloadConfig, detector: any Detector) throws {
        var generator = try WorkloadGenerator(config: config)
        labels = generator.labels
        principals = generator.principals
        start = config.start
        let symbols = SymbolTable()
        var context = DetectorContext(symbols: symbols)
        var anomalies: [Anomaly] = []
        var lastBoundary = Int64.min
        var open: [UInt64: Int] = [:]
        func fold() {
            for a in anomalies {
                if let i = open[a.key], a.ts <= alerts[i].lastTs + a.cooldown {
                    alerts[i].count += 1
                    if a.ts > alerts[i].lastTs { alerts[i].lastTs = a.ts }
                    continue
                }
                open[a.key] = alerts.count
                alerts.append(
                    FoldedAlert(
                        principal: symbols.display(a.principal), key: a.key, firstTs: a.ts, lastTs: a.ts, count: 1,
                        message: a.message, severity: a.severity))
            }
            anomalies.removeAll(keepingCapacity: true)
        }
        GeneratedTraffic.forEachEvent(&generator, symbols: symbols, rejected: { Issue.record("gen wrote a line the decoder rejects: \($0)") }) { event in
            if event.ts > context.watermark {
                let boundary = event.ts.nanoseconds / Self.tick
                if lastBoundary == .min { lastBoundary = boundary }
                while lastBoundary < boundary {
                    lastBoundary += 1
                    context.watermark = Timestamp(nanoseconds: lastBoundary * Self.tick)
                    detector.advance(context: context, anomalies: &anomalies)
                    ticks += 1
                    if !anomalies.isEmpty { fold() }
                }
                context.watermark = event.ts
            }
            _ = detector.observe(event, context: context, anomalies: &anomalies)
            if !anomalies.isEmpty { fold() }
            events += 1
        }
        end = context.watermark
    }

    /// Alerts on the label's principal whose first time is inside its window, plus grace.
    func detections(of label: LabelWindow, grace: Duration = .seconds(300)) -> [FoldedAlert] {
        alerts.filter { $0.principal == label.principal && $0.firstTs >= label.start && $0.firstTs <= label.end + grace }
    }

    /// Alerts no label explains.
    func unexplained(grace: Duration = .seconds(300)) -> [FoldedAlert] {
        alerts.filter { a in
            !labels.contains { a.principal == $0.principal && a.firstTs >= $0.start && a.firstTs <= $0.end + grace }
        }
    }

    /// Principal-days of the run, for false alerts per principal-day.
    var principalDays: Double { Double(principals.count) * Double((end - start).components.seconds) / 86_400 }
}

/// Feeds hand-made events to one detector as the pipeline would: the stream
/// watermark in the context, and `advance` at every 10 s boundary of event
/// time crossed, before the event that crosses it.
final class ClockedHarness {
    let detector: any Detector
    var context = DetectorContext(symbols: SymbolTable())
    var anomalies: [Anomaly] = []
    private var lastBoundary = Int64.min

    init(_ detector: any Detector) { self.detector = detector }

    func name(_ s: String) -> Symbol {
        let symbol = Symbol(s)
        context.symbols.register(symbol, name: s)
        return symbol
    }

    @discardableResult
    func feed(_ event: ChunkEvent) -> Double {
        tick(to: event.ts)
        if event.ts > context.watermark { context.watermark = event.ts }
        return detector.observe(event, context: context, anomalies: &anomalies)
    }

    /// Event time moves on to `ts` with no events: the ticks up to it run.
    func tick(to ts: Timestamp) {
        let boundary = ts.nanoseconds / GenReplay.tick
        if lastBoundary == .min {
            lastBoundary = boundary
            return
        }
        while lastBoundary < boundary {
            lastBoundary += 1
            context.watermark = Timestamp(nanoseconds: lastBoundary * GenReplay.tick)
            detector.advance(context: context, anomalies: &anomalies)
        }
    }
}
