import Logging
import ServiceLifecycle

/// The TCP ingest listener and the HTTP API as one service, so that SIGTERM
/// stops both from accepting at the same moment and they drain side by side:
/// the TCP listener reads its open connections to their end (it cuts what is
/// left at the drain timeout itself); the HTTP server answers the requests in
/// flight, and whatever of it still runs at the drain timeout is cancelled.
/// The pipeline, shut down after this service, so still takes all they queue.
struct ListenersService: Service {
    let tcp: TCPIngestService
    let http: any Service
    let drainTimeout: Duration
    let logger: Logger

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await tcp.run() }
            group.addTask { try await runHTTP() }
        }
    }

    private func runHTTP() async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await http.run()
                return false
            }
            group.addTask {
                // True when the drain timeout passes before the HTTP server is done.
                do { try await gracefulShutdown() } catch { return false }
                do { try await Task.sleep(for: drainTimeout) } catch { return false }
                return true
            }
            let timedOut = try await group.next() ?? false
            if timedOut {
                logger.warning("HTTP requests still in flight \(TCPIngestService.text(drainTimeout)) after SIGTERM were cut")
            }
            group.cancelAll()
        }
    }
}
