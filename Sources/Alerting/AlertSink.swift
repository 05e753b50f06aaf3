import ChunkModel

/// Where alerts go. Sinks open their resources in a throwing initializer; the
/// per-alert `emit` does not throw (a sink that cannot deliver keeps the
/// failure and reports it from `flush`), so one bad sink never stops the pipeline.
public protocol AlertSink: AnyObject {
    func emit(_ alert: Alert)
    /// Pushes out anything buffered; throws the first delivery failure since the last flush.
    func flush() throws
}

/// Drops every alert (for `score`, which wants the scores only).
public final class NoOpAlertSink: AlertSink {
    public init() {}
    public func emit(_ alert: Alert) {}
    public func flush() {}
}

/// Sends each alert to several sinks in order.
public final class MultiplexAlertSink: AlertSink {
    public let sinks: [any AlertSink]
    public init(_ sinks: [any AlertSink]) { self.sinks = sinks }

    public func emit(_ alert: Alert) {
        for sink in sinks { sink.emit(alert) }
    }

    public func flush() throws {
        var firstError: (any Error)?
        for sink in sinks {
            do { try sink.flush() } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }
}

/// Keeps alerts in memory, for tests and for callers that post-process them.
public final class InMemoryAlertSink: AlertSink {
    public private(set) var alerts: [Alert] = []
    public init() {}
    public func emit(_ alert: Alert) { alerts.append(alert) }
    public func flush() {}
    public var firing: [Alert] { alerts.filter { $0.status == .firing } }
}
