import Ingest
import Metrics
import Prometheus

/// The daemon's metrics, through swift-metrics into a Prometheus registry of
/// its own (not the process-wide bootstrap, so several servers can run in one
/// process, as the tests do). `GET /metrics` renders `registry`.
///
/// The pipeline thread adds per batch, not per event: counters are cheap but
/// not free, and the hot path stays free of shared writes.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    let eventsAccepted: Metrics.Counter
    let eventsRejected: [Metrics.Counter]  // by RejectReason.rawValue
    let queueBytes: Metrics.Gauge
    let eventTimeLag: Metrics.Gauge
    let watermark: Metrics.Gauge
    let archiveLines: Metrics.Counter
    let archiveErrors: Metrics.Counter
    let tcpConnections: Metrics.Gauge
    let tcpConnectionsTotal: Metrics.Counter
    let sseSubscribers: Metrics.Gauge
    let checkpointBytes: Metrics.Gauge
    let checkpointSeconds: Metrics.Gauge
    let checkpointsWritten: Metrics.Counter
    let checkpointInProgress: Metrics.Gauge
    let checkpointPause: Metrics.Gauge
    let tapDropReports: Metrics.Counter
    /// Refusals, HTTP error statuses, frame errors, the drain's cuts.
    let connections: ConnectionMetrics
    /// The `tap` label of drops from taps past the limit on distinct names.
    static let otherTaps = "_other"

    public init() {
        let factory = PrometheusMetricsFactory(registry: registry)
        self.factory = factory
        eventsAccepted = Metrics.Counter(label: "chunkwatch_events_accepted_total", factory: factory)
        eventsRejected = RejectReason.allCases.map {
            Metrics.Counter(label: "chunkwatch_events_rejected_total", dimensions: [("reason", $0.name)], factory: factory)
        }
        queueBytes = Metrics.Gauge(label: "chunkwatch_ingest_queue_bytes", factory: factory)
        eventTimeLag = Metrics.Gauge(label: "chunkwatch_event_time_lag_seconds", factory: factory)
        watermark = Metrics.Gauge(label: "chunkwatch_watermark_seconds", factory: factory)
        archiveLines = Metrics.Counter(label: "chunkwatch_archive_lines_total", factory: factory)
        archiveErrors = Metrics.Counter(label: "chunkwatch_archive_write_errors_total", factory: factory)
        tcpConnections = Metrics.Gauge(label: "chunkwatch_ingest_connections", factory: factory)
        tcpConnectionsTotal = Metrics.Counter(label: "chunkwatch_ingest_connections_total", factory: factory)
        sseSubscribers = Metrics.Gauge(label: "chunkwatch_alert_stream_subscribers", factory: factory)
        checkpointBytes = Metrics.Gauge(label: "chunkwatch_checkpoint_bytes", factory: factory)
        checkpointSeconds = Metrics.Gauge(label: "chunkwatch_checkpoint_seconds", factory: factory)
        checkpointsWritten = Metrics.Counter(label: "chunkwatch_checkpoints_total", factory: factory)
        checkpointInProgress = Metrics.Gauge(label: "chunkwatch_checkpoint_in_progress", factory: factory)
        checkpointPause = Metrics.Gauge(label: "chunkwatch_checkpoint_pause_seconds", factory: factory)
        tapDropReports = Metrics.Counter(label: "chunkwatch_tap_drop_reports_total", factory: factory)
        connections = ConnectionMetrics(factory: factory)
    }

    /// Events a tap reported dropped (its ring was full), by the tap's name.
    func tapDroppedEvents(tap: String) -> Metrics.Counter {
        Metrics.Counter(label: "chunkwatch_tap_dropped_events_total", dimensions: [("tap", tap)], factory: factory)
    }

    func alertCounter(detector: String, severity: String) -> Metrics.Counter {
        Metrics.Counter(
            label: "chunkwatch_alerts_total", dimensions: [("detector", detector), ("severity", severity)], factory: factory)
    }

    func keysTracked(detector: String) -> Metrics.Gauge {
        Metrics.Gauge(label: "chunkwatch_detector_keys", dimensions: [("detector", detector)], factory: factory)
    }

    func keysEvicted(detector: String) -> Metrics.Gauge {
        Metrics.Gauge(label: "chunkwatch_detector_keys_evicted", dimensions: [("detector", detector)], factory: factory)
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}
