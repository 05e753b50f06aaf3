import Alerting
import ChunkModel
import Dispatch
import Foundation  // Thread: the sender blocks on sockets, so it gets a thread of its own
import Logging
import NIOCore
import Synchronization

/// Sends alerts to a Prometheus Alertmanager (`POST /api/v2/alerts`).
///
/// `emit` and `flush` run on the daemon's pipeline thread, which must never wait
/// on the network, so `emit` only queues the alert; a thread of the sink's own
/// posts the queue in batches, in order, and retries with exponential backoff
/// while Alertmanager is unreachable or answers 5xx. A 4xx answer is permanent:
/// that batch is counted in `rejected`, logged, and the sink goes on.
///
/// Overflow policy: **drop oldest**. The queue holds at most
/// `Settings.maxQueued` alerts (plus the one batch in flight, which is kept until
/// Alertmanager takes or refuses it); when it is full, the oldest queued alert
/// makes room for the new one and is counted in `dropped`. An outage costs the
/// oldest news, never memory, and what reaches Alertmanager once it is back is
/// the newest alerts, still in order.
///
/// Alertmanager resolves a firing alert without an `endsAt` by itself once it
/// has not heard of it for its `resolve_timeout` (5 minutes by default), and
/// expects clients to keep re-sending active alerts. The sink therefore keeps the
/// firing alerts it delivered (at most `Settings.maxActive`) and re-sends them
/// every `Settings.resendInterval` until their `resolved` line goes out. If the
/// daemon stops, they lapse at Alertmanager after `resolve_timeout`.
///
/// Call `close()` when done: it makes a last attempt to deliver and ends the thread.
public final class AlertmanagerSink: AlertSink, Sendable {
    public struct Settings: Sendable {
        /// Alerts per POST.
        public var batchSize = 64
        /// Queued alerts beyond which the oldest is dropped.
        public var maxQueued = 10_000
        /// The first wait after a failed POST; doubled after each further failure.
        public var initialBackoff: Duration = .milliseconds(500)
        public var maxBackoff: Duration = .seconds(30)
        /// Bounds connecting, sending and each wait for the answer.
        public var requestTimeout: Duration = .seconds(10)
        /// How often firing alerts are posted again; keep it well under
        /// Alertmanager's `resolve_timeout` (5 m by default).
        public var resendInterval: Duration = .seconds(60)
        /// Firing alerts remembered for re-sending; past it, the earliest-started
        /// is forgotten (and lapses at Alertmanager). Zero turns re-sending off.
        public var maxActive = 10_000
        /// How long `flush` waits for the queue to drain. Zero by default: the
        /// daemon's AlertRecorder flushes its sinks after every batch of alerts,
        /// on the pipeline thread, which must not wait on Alertmanager.
        public var flushWait: Duration = .zero
        /// chunkwatch's own HTTP API (`http://host:7070`), for each alert's
        /// `generatorURL` (a link to `/v1/alerts` for its principal and detector).
        public var generatorBaseURL: String?

        public init() {}
    }

    public let url: String
    public let settings: Settings
    private let client: HTTPStreamClient
    private let logger: Logger
    private let state: Mutex<State>
    /// Wakes the sending thread (new alerts while it sleeps, or close).
    private let wake = DispatchSemaphore(value: 0)
    /// Tells a waiting `flush` that the queue has drained.
    private let drained = DispatchSemaphore(value: 0)
    /// Signalled once when the sending thread ends.
    private let finished = DispatchSemaphore(value: 0)

    private struct State {
        var queue: CircularBuffer<Alert>
        /// The batch being posted, kept (and retried) until Alertmanager takes or refuses it.
        var inFlight: [Alert] = []
        var inFlightIsResend = false
        /// Firing alerts delivered and not yet resolved, by id.
        var active: [String: Alert] = [:]
        /// Active alerts due to be posted again, in batches.
        var resendQueue: [Alert] = []
        var senderAsleep = false
        var flushWaiting = false
        var closing = false
        var firstFailure: ServerError?
        var delivered = 0
        var dropped = 0
        var rejected = 0
        var resent = 0
        var failedAttempts = 0

        var idle: Bool { queue.isEmpty && inFlight.isEmpty && resendQueue.isEmpty }
    }

    /// `url` is Alertmanager's base, `http://host:port` (a path prefix after it
    /// for `--web.route-prefix`). Throws for a URL the sink cannot use.
    public init(url: String, settings: Settings = Settings(), logger: Logger) throws(ServerError) {
        self.url = url
        self.settings = settings
        self.logger = logger
        client = try Self.makeClient(url: url, timeout: settings.requestTimeout)
        guard settings.batchSize > 0, settings.maxQueued > 0 else {
            throw ServerError("alertmanager: batch size and queue size must be at least 1")
        }
        guard settings.initialBackoff > .zero, settings.resendInterval > .zero, settings.requestTimeout > .zero else {
            throw ServerError("alertmanager: backoff, resend interval and request timeout must be longer than zero")
        }
        state = Mutex(State(queue: CircularBuffer(initialCapacity: min(settings.maxQueued, 1024))))
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "chunkwatch-alertmanager"
        thread.start()
    }

    private static func makeClient(url: String, timeout: Duration) throws(ServerError) -> HTTPStreamClient {
        let example = "http://host:port, such as http://127.0.0.1:9093"
        guard url.hasPrefix("http://") else {
            let why = url.hasPrefix("https://") ? "plain http only (put a TLS proxy in front)" : "expected \(example)"
            throw ServerError("alertmanager URL '\(url)': \(why)")
        }
        // HTTPStreamClient falls back to port 80 on anything it cannot read, so
        // check the authority here: "http://am:90x3" must not quietly mean port 80.
        let authority = url.dropFirst(7).prefix { $0 != "/" && $0 != "?" }
        let hostEnd = authority.hasPrefix("[") ? (authority.firstIndex(of: "]") ?? authority.endIndex) : authority.startIndex
        var host = authority
        if let colon = authority[hostEnd...].lastIndex(of: ":") {
            guard let port = Int(authority[authority.index(after: colon)...]), (1...65535).contains(port) else {
                throw ServerError("alertmanager URL '\(url)': bad port (expected \(example))")
            }
            host = authority[..<colon]
        }
        guard !host.isEmpty, !url.contains("?") else { throw ServerError("alertmanager URL '\(url)': expected \(example)") }
        var client = try HTTPStreamClient(url: url)
        client.receiveTimeout = timeout
        client.connectTimeout = timeout
        return client
    }

    // MARK: - The pipeline thread's side

    public func emit(_ alert: Alert) {
        let wakeSender = state.withLock { s -> Bool in
            guard !s.closing else {
                s.dropped += 1
                s.firstFailure = s.firstFailure ?? ServerError("alertmanager sink closed: alert dropped")
                return false
            }
            if s.queue.count >= settings.maxQueued {
                let oldest = s.queue.removeFirst()
                s.dropped += 1
                s.firstFailure = s.firstFailure ?? ServerError("alertmanager queue full: dropping the oldest alerts")
                // Its firing line was delivered and will never be resolved by us:
                // stop refreshing it, so Alertmanager lets it lapse.
                if oldest.status == .resolved { s.active[oldest.id] = nil }
            }
            s.queue.append(alert)
            let asleep = s.senderAsleep
            s.senderAsleep = false
            return asleep
        }
        if wakeSender { wake.signal() }
    }

    /// Throws the first failure since the last flush (a failed POST, a refused
    /// batch, a drop). Waits for the queue to drain only if `Settings.flushWait` says so.
    public func flush() throws {
        if settings.flushWait > .zero { _ = waitUntilDrained(timeout: settings.flushWait) }
        let failure = state.withLock { s -> ServerError? in
            defer { s.firstFailure = nil }
            return s.firstFailure
        }
        if let failure { throw failure }
    }

    /// Waits until everything queued has been delivered or refused; false on timeout.
    @discardableResult
    public func waitUntilDrained(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let idle = state.withLock { s -> Bool in
                if s.idle { return true }
                s.flushWaiting = true
                return false
            }
            if idle { return true }
            let left = deadline - ContinuousClock.now
            if left <= .zero { return false }
            _ = drained.wait(timeout: .after(left))
        }
    }

    /// Stops the sending thread after one last attempt to deliver what is queued
    /// (without backoff: it gives up at the first failure, counting the rest as dropped).
    public func close() {
        let first = state.withLock { s -> Bool in
            defer { s.closing = true }
            return !s.closing
        }
        guard first else { return }
        wake.signal()
        finished.wait()
        finished.signal()  // for a concurrent close()
    }

    /// Counters since start.
    public var delivered: Int { state.withLock { $0.delivered } }
    public var dropped: Int { state.withLock { $0.dropped } }
    /// Alerts in batches that Alertmanager refused (4xx).
    public var rejected: Int { state.withLock { $0.rejected } }
    /// Firing alerts posted again to keep them active.
    public var resent: Int { state.withLock { $0.resent } }
    /// POSTs that failed, whatever the reason.
    public var failedAttempts: Int { state.withLock { $0.failedAttempts } }
    /// Alerts waiting, including the batch in flight.
    public var queued: Int { state.withLock { $0.queue.count + ($0.inFlightIsResend ? 0 : $0.inFlight.count) } }

    // MARK: - The sending thread

    private enum Step {
        case post([Alert])
        case sleep(Duration?)
        case exit
    }

    private func run() {
        var backoff = settings.initialBackoff
        var failing = false
        var nextResend = ContinuousClock.now + settings.resendInterval
        while true {
            let step = state.withLock { s -> Step in
                if s.inFlight.isEmpty {
                    let now = ContinuousClock.now
                    if now >= nextResend && !s.closing {
                        startResendRound(&s)
                        nextResend = now + settings.resendInterval
                    }
                    takeBatch(&s)
                }
                if !s.inFlight.isEmpty { return .post(s.inFlight) }
                if s.closing { return .exit }
                s.senderAsleep = true
                if s.flushWaiting {
                    s.flushWaiting = false
                    drained.signal()
                }
                return .sleep(s.active.isEmpty ? nil : nextResend - ContinuousClock.now)
            }
            switch step {
            case .exit:
                return
            case .sleep(let timeout):
                if let timeout { _ = wake.wait(timeout: .after(timeout)) } else { wake.wait() }
                state.withLock { $0.senderAsleep = false }
                // An emit may have signalled as the wait timed out; a stale signal
                // would cut the next backoff short. (close() sets `closing` before
                // it signals, so the loop sees it even if its signal goes here.)
                while wake.wait(timeout: .now()) == .success {}
            case .post(let batch):
                let outcome = post(batch)
                let closing = state.withLock { s -> Bool in
                    settle(&s, outcome)
                    return s.closing
                }
                switch outcome {
                case .delivered, .refused:
                    backoff = settings.initialBackoff
                    if failing {
                        failing = false
                        logger.notice("alertmanager reachable again", metadata: ["url": "\(url)"])
                    }
                    if case .refused(let error) = outcome {
                        logger.error("alertmanager refused \(batch.count) alerts; not retrying them", metadata: ["error": "\(error)"])
                    }
                case .retry(let error):
                    if closing {
                        giveUp()
                        return
                    }
                    if !failing {
                        failing = true
                        logger.warning("cannot reach alertmanager; retrying with backoff", metadata: ["error": "\(error)"])
                    }
                    _ = wake.wait(timeout: .after(backoff))  // only close() cuts a backoff short
                    backoff = min(backoff * 2, settings.maxBackoff)
                }
            }
        }
    }

    /// Queues every active alert to be posted again. Alerts whose resolved line
    /// is still queued are left out: posted as firing ahead of it, they would
    /// be revived until it arrives.
    private func startResendRound(_ s: inout State) {
        guard s.resendQueue.isEmpty, !s.active.isEmpty else { return }
        let queuedIDs = Set(s.queue.map(\.id))
        s.resendQueue = s.active.values.filter { !queuedIDs.contains($0.id) }.sorted { $0.firstTs < $1.firstTs }
    }

    /// Moves the next batch into flight: a resend round first (Alertmanager
    /// has those alerts already, and the round left out any whose resolved line
    /// is queued, so going ahead of the queue reorders nothing), then the queue.
    private func takeBatch(_ s: inout State) {
        if s.closing { s.resendQueue.removeAll() }  // the last attempt is for news only
        if !s.resendQueue.isEmpty {
            let n = min(settings.batchSize, s.resendQueue.count)
            s.inFlight = Array(s.resendQueue.prefix(n))
            s.resendQueue.removeFirst(n)
            s.inFlightIsResend = true
            return
        }
        let n = min(settings.batchSize, s.queue.count)
        for _ in 0..<n { s.inFlight.append(s.queue.removeFirst()) }
        s.inFlightIsResend = false
    }

    private enum Outcome {
        case delivered
        case refused(ServerError)
        case retry(ServerError)
    }

    private func post(_ batch: [Alert]) -> Outcome {
        var body = OutputBuffer(capacity: 512 * batch.count)
        Self.writeAlerts(batch, generatorBaseURL: settings.generatorBaseURL, to: &body)
        do {
            try client.request(
                "POST", "/api/v2/alerts", headers: [("Content-Type", "application/json")], body: body.bytes, { _ in })
            return .delivered
        } catch let f as HTTPStreamClient.Failure {
            // 408 and 429 ask to come back later; any other 4xx will not change on a retry.
            let permanent = f.permanent && f.status != 408 && f.status != 429
            let error = ServerError("alertmanager at \(url): \(f.description)")
            return permanent ? .refused(error) : .retry(error)
        } catch {
            return .retry(ServerError("alertmanager at \(url): \(error)"))
        }
    }

    private func settle(_ s: inout State, _ outcome: Outcome) {
        let batch = s.inFlight
        let resend = s.inFlightIsResend
        switch outcome {
        case .retry(let e):
            s.failedAttempts += 1
            s.firstFailure = s.firstFailure ?? e
            return  // the batch stays in flight
        case .refused(let e):
            // Alertmanager has stored the valid alerts of a batch it answers 400 to.
            s.failedAttempts += 1
            s.firstFailure = s.firstFailure ?? e
            if resend {
                for a in batch { s.active[a.id] = nil }  // refused now, refused every minute
            } else {
                s.rejected += batch.count
                for a in batch where a.status == .resolved { s.active[a.id] = nil }
            }
        case .delivered:
            if resend {
                s.resent += batch.count
            } else {
                s.delivered += batch.count
                for a in batch { remember(&s, a) }
            }
        }
        s.inFlight.removeAll(keepingCapacity: true)
        s.inFlightIsResend = false
    }

    private func remember(_ s: inout State, _ alert: Alert) {
        guard alert.status == .firing, settings.maxActive > 0 else {
            s.active[alert.id] = nil
            return
        }
        if s.active[alert.id] == nil && s.active.count >= settings.maxActive,
            let earliest = s.active.values.min(by: { $0.firstTs < $1.firstTs })
        {
            s.active[earliest.id] = nil
        }
        s.active[alert.id] = alert
    }

    /// At close, with Alertmanager failing: what is left will not be delivered.
    private func giveUp() {
        let lost = state.withLock { s -> Int in
            let n = s.queue.count + (s.inFlightIsResend ? 0 : s.inFlight.count)
            s.dropped += n
            s.queue.removeAll()
            s.inFlight.removeAll()
            s.resendQueue.removeAll()
            return n
        }
        if lost > 0 { logger.error("alertmanager sink closed with \(lost) alerts undelivered", metadata: ["url": "\(url)"]) }
    }
}

extension DispatchTime {
    fileprivate static func after(_ d: Duration) -> DispatchTime {
        .now() + .nanoseconds(Int(max(d, .zero).nanosecondsClamped))
    }
}
