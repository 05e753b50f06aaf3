import Logging
import Metrics
import Prometheus
import Synchronization

/// Which listener a connection came to.
enum Listener: String, CaseIterable, Sendable {
    case ingest, http
}

/// Why a connection was refused or closed by the daemon rather than by its peer.
enum RefusalReason: String, CaseIterable, Sendable {
    /// The listener was at its limit of concurrent connections.
    case limit
    /// No valid `AUTH` line in time (ingest, with tokens).
    case authTimeout = "auth_timeout"
    /// A wrong token, or no `AUTH` line where one was due (ingest).
    case authFailed = "auth_failed"
    /// No complete line or frame (ingest), or no complete request head (HTTP), in time.
    case idleTimeout = "idle_timeout"
    /// An HTTP request's head and body were not in within the request timeout.
    case requestTimeout = "request_timeout"
    /// A malformed binary stream (ingest): the frame errors, counted on their own too.
    case frameError = "frame_error"

    /// The reasons each listener has.
    static func of(_ listener: Listener) -> [RefusalReason] {
        switch listener {
        case .ingest: [.limit, .authTimeout, .authFailed, .idleTimeout, .frameError]
        case .http: [.limit, .idleTimeout, .requestTimeout]
        }
    }
}

/// The metrics of connection handling: refusals by listener and reason, HTTP
/// error responses by status, binary frame errors, and what the drain at
/// SIGTERM had to cut. Every series exists from the start, at 0.
final class ConnectionMetrics: Sendable {
    private let factory: PrometheusMetricsFactory
    private let refusals: [String: Metrics.Counter]
    private let statuses: [Int: Metrics.Counter]
    let frameErrors: Metrics.Counter
    let drainCutConnections: Metrics.Counter
    let drainUnreadBytes: Metrics.Counter
    let httpConnections: Metrics.Gauge
    let limits: [Listener: Metrics.Gauge]

    /// The statuses the API answers with; any other is created when first seen.
    static let knownStatuses = [400, 401, 403, 404, 405, 408, 413, 422, 500, 503]

    init(factory: PrometheusMetricsFactory) {
        self.factory = factory
        var refusals: [String: Metrics.Counter] = [:]
        for listener in Listener.allCases {
            for reason in RefusalReason.of(listener) {
                refusals[Self.key(listener, reason)] = Metrics.Counter(
                    label: "chunkwatch_connections_refused_total",
                    dimensions: [("listener", listener.rawValue), ("reason", reason.rawValue)], factory: factory)
            }
        }
        self.refusals = refusals
        var statuses: [Int: Metrics.Counter] = [:]
        for status in Self.knownStatuses { statuses[status] = Self.statusCounter(status, factory) }
        self.statuses = statuses
        frameErrors = Metrics.Counter(label: "chunkwatch_ingest_frame_errors_total", factory: factory)
        drainCutConnections = Metrics.Counter(label: "chunkwatch_ingest_drain_cut_connections_total", factory: factory)
        drainUnreadBytes = Metrics.Counter(label: "chunkwatch_ingest_drain_unread_bytes_total", factory: factory)
        httpConnections = Metrics.Gauge(label: "chunkwatch_http_connections", factory: factory)
        var limits: [Listener: Metrics.Gauge] = [:]
        for listener in Listener.allCases {
            limits[listener] = Metrics.Gauge(
                label: "chunkwatch_connections_limit", dimensions: [("listener", listener.rawValue)], factory: factory)
        }
        self.limits = limits
    }

    func refused(_ listener: Listener, _ reason: RefusalReason) {
        refusals[Self.key(listener, reason)]?.increment()
    }

    /// A malformed binary stream: the connection is closed for it.
    func frameError() {
        frameErrors.increment()
        refused(.ingest, .frameError)
    }

    /// An HTTP response of 400 or more.
    func errorResponse(status: Int) {
        guard status >= 400 else { return }
        (statuses[status] ?? Self.statusCounter(status, factory)).increment()
    }

    private static func key(_ listener: Listener, _ reason: RefusalReason) -> String {
        listener.rawValue + "/" + reason.rawValue
    }

    private static func statusCounter(_ status: Int, _ factory: PrometheusMetricsFactory) -> Metrics.Counter {
        Metrics.Counter(label: "chunkwatch_http_error_responses_total", dimensions: [("status", String(status))], factory: factory)
    }
}

/// One warning per ten seconds at most while a listener refuses connections
/// at its limit: a flood must not flood the log too.
final class RefusalLog: Sendable {
    private let listener: Listener
    private let limit: Int
    private let logger: Logger
    private let state = Mutex<(count: Int, loggedAt: UInt64?)>((0, nil))

    init(listener: Listener, limit: Int, logger: Logger) {
        self.listener = listener
        self.limit = limit
        self.logger = logger
    }

    func refused() {
        let now = IngestConnection.now()
        let due = state.withLock { s -> Int? in
            s.count += 1
            if let at = s.loggedAt, now - at < 10_000_000_000 { return nil }
            defer { s.count = 0 }
            s.loggedAt = now
            return s.count
        }
        guard let due else { return }
        logger.warning(
            "refused \(due) \(listener.rawValue) connection(s): \(limit) are open, the limit; raise serve.\(listener.rawValue)_max_connections (and ulimit -n) if this is not a flood")
    }
}
