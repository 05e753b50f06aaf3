import Alerting
import ChunkModel
import Detectors

/// Runs events through the detectors and the alert lifecycle into a sink:
/// baselines → detectors → alerting, one event at a time, on event time.
///
/// One engine serves one stream of events in order; it is not thread-safe.
/// After warm-up, an event that raises no anomaly allocates nothing.
public final class Engine {
    public let detectors: [any Detector]
    public let symbols: SymbolTable
    private var context: DetectorContext
    private let lifecycle: AlertLifecycle
    private let sink: any AlertSink
    private var anomalies: [Anomaly] = []
    /// The latest event time seen: alerts resolve against it.
    public private(set) var watermark = Timestamp(nanoseconds: .min)
    public private(set) var eventsProcessed = 0
    public private(set) var alertsFired = 0
    public private(set) var alertsResolved = 0

    public init(
        registry: DetectorRegistry, symbols: SymbolTable, sink: any AlertSink,
        wallClock: @escaping @Sendable () -> Timestamp = Timestamp.now
    ) {
        detectors = registry.makeAll()
        self.symbols = symbols
        context = DetectorContext(symbols: symbols)
        lifecycle = AlertLifecycle(symbols: symbols, wallClock: wallClock)
        self.sink = sink
        anomalies.reserveCapacity(16)
    }

    /// Scores `event` with every detector and raises what it finds. Returns the
    /// highest score; `scores`, when given, receives each detector's score in
    /// the order of `detectors`.
    @discardableResult
    public func process(_ event: ChunkEvent, scores: UnsafeMutableBufferPointer<Double>? = nil) -> Double {
        eventsProcessed += 1
        if event.ts > watermark {
            watermark = event.ts
            context.watermark = watermark
            lifecycle.advance(to: watermark, emit)
        }
        var top = 0.0
        for i in detectors.indices {
            let s = detectors[i].observe(event, context: context, anomalies: &anomalies)
            scores?[i] = s
            if s > top { top = s }
        }
        if !anomalies.isEmpty {
            for a in anomalies { lifecycle.record(a, emit) }
            anomalies.removeAll(keepingCapacity: true)
        }
        return top
    }

    /// Ends the stream: every open alert resolves with its final count.
    public func finish() throws {
        lifecycle.resolveAll(emit)
        try sink.flush()
    }

    public var openAlerts: Int { lifecycle.openCount }

    private func emit(_ alert: Alert) {
        if alert.status == .firing { alertsFired += 1 } else { alertsResolved += 1 }
        sink.emit(alert)
    }
}
