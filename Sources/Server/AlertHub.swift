import ServiceLifecycle
import Store
import Synchronization

/// Hands stored alerts to the live streams (`GET /v1/alerts/stream`).
///
/// Each subscriber has a bounded buffer. Its overflow policy is disconnect,
/// never drop: a subscriber that falls more than `bufferLimit` alerts behind
/// is ended, and its client resumes from the store with `Last-Event-ID`, so a
/// slow reader can neither lose alerts nor hold up the pipeline.
///
/// As a service it sends a heartbeat now and then (so proxies keep idle
/// streams open), and on graceful shutdown ends every stream first, so the
/// HTTP server can close its connections.
public final class AlertHub: Service, Sendable {
    public enum Event: Sendable {
        case alert(StoredAlert)
        case heartbeat
    }

    struct State {
        var subscribers: [Int: AsyncStream<Event>.Continuation] = [:]
        var nextID = 0
        var closed = false
        var disconnectedSlow = 0
    }

    public let bufferLimit: Int
    public let heartbeat: Duration
    private let state = Mutex(State())

    public init(bufferLimit: Int = 10_000, heartbeat: Duration = .seconds(15)) {
        self.bufferLimit = bufferLimit
        self.heartbeat = heartbeat
    }

    /// A stream of every alert published from now on; nil once the hub is closed.
    public func subscribe() -> AsyncStream<Event>? {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingOldest(bufferLimit))
        let id = state.withLock { s -> Int? in
            guard !s.closed else { return nil }
            s.nextID += 1
            s.subscribers[s.nextID] = continuation
            return s.nextID
        }
        guard let id else { return nil }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public func publish(_ alerts: [StoredAlert]) {
        guard !alerts.isEmpty else { return }
        let subscribers = state.withLock { Array($0.subscribers) }
        for (id, c) in subscribers {
            for a in alerts {
                if case .dropped = c.yield(.alert(a)) {
                    state.withLock {
                        $0.disconnectedSlow += 1
                        _ = $0.subscribers.removeValue(forKey: id)
                    }
                    c.finish()
                    break
                }
            }
        }
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
    /// Streams ended because their reader fell too far behind.
    public var disconnectedSlow: Int { state.withLock { $0.disconnectedSlow } }

    /// Ends every stream and refuses new ones.
    public func close() {
        let subscribers = state.withLock { s -> [AsyncStream<Event>.Continuation] in
            s.closed = true
            let all = Array(s.subscribers.values)
            s.subscribers.removeAll()
            return all
        }
        for c in subscribers { c.finish() }
    }

    public func run() async throws {
        // Sleeps end with an error on cancellation or shutdown; either way, close.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: self.heartbeat) } catch { break }
                let subscribers = self.state.withLock { Array($0.subscribers.values) }
                for c in subscribers { c.yield(.heartbeat) }
            }
        }
        close()
    }
}
