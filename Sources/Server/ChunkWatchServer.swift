import Alerting
import ChunkModel
import Config
import Detectors
import Hummingbird
import Logging
import NIOCore
import Pipeline
import ServiceLifecycle
import Store
import UnixSignals

/// `chunkwatch serve`: the parts of the daemon as services in one ServiceGroup.
///
/// Order matters for shutdown, which goes in reverse: the alert streams end
/// first (so HTTP can close its connections), then the HTTP API and the TCP
/// listener stop taking events, and last the pipeline drains what they queued,
/// writes the archive and the store, and stops. SIGTERM or SIGINT starts it;
/// SIGHUP reloads the live values of the configuration file.
public struct ChunkWatchServer {
    public struct Settings: Sendable {
        public var httpHost = "127.0.0.1"
        public var httpPort = 7070
        public var ingestHost = "127.0.0.1"
        public var ingestPort = 7071
        public var databasePath = "./chunkwatch.db"
        /// nil: no archive.
        public var archiveDirectory: String? = "./archive"
        public var archive = ArchiveWriter.Settings()
        public var configPath: String?
        public var config = ChunkWatchConfig()
        public var tokens = TokenAuthority()
        /// Further alert sinks besides the store and the live stream (stdout, a file).
        public var extraSinks: @Sendable () throws -> [any AlertSink] = { [] }
        public var queueBytes = 64 << 20
        public var maxBody = 64 << 20
        public var maxPrincipals = 100_000
        /// Wall-clock time between checkpoints of the baselines (one is also written at shutdown).
        public var checkpointInterval: Duration = .seconds(60)
        public init() {}
    }

    /// Reloads the configuration file for SIGHUP; nil when there is none.
    public typealias ConfigLoader = @Sendable (String) throws -> ChunkWatchConfig

    let settings: Settings
    let logger: Logger

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// Runs until SIGTERM/SIGINT (or the task is cancelled). `onListening` gets the
    /// bound HTTP and ingest addresses once both listen.
    public func run(
        reloadConfig: ConfigLoader?, onListening: @escaping @Sendable (_ http: String, _ ingest: String) -> Void
    ) async throws {
        let s = settings
        if !s.tokens.requiresTokens {
            for host in [s.httpHost, s.ingestHost] where !Self.isLoopback(host) {
                throw ServerError(
                    "\(host) is not a loopback address and no tokens are configured: pass --tokens FILE, or listen on 127.0.0.1")
            }
        }
        let metrics = ServerMetrics()
        let queue = IngestQueue(capacityBytes: s.queueBytes)
        let hub = AlertHub()

        // The store: the pipeline's own connection for writes, another for API reads.
        let writeStore: AlertStore
        let reads: ReadStore
        let settingsStore: DetectorSettingsStore
        let checkpoints: CheckpointStore
        let tapMarks: TapMarkStore
        let storedMarks: [TapMarkStore.Mark]
        do {
            writeStore = try AlertStore(path: s.databasePath)
            reads = try ReadStore(path: s.databasePath)
            settingsStore = try DetectorSettingsStore(database: try Database(path: s.databasePath))
            checkpoints = try CheckpointStore(database: writeStore.database)
            tapMarks = try TapMarkStore(database: writeStore.database)
            storedMarks = try tapMarks.all()
        } catch {
            throw ServerError("\(error): check the path and its permissions")
        }
        // Values set live through the API outlive restarts: they go over the file's.
        var config = s.config
        for (detector, parameter, value) in try settingsStore.currentValues() {
            let fileValue = config.parameterText(detector: detector, parameter: parameter) ?? "?"
            do {
                try config.setLive(detector: detector, parameter: parameter, to: value)
                if fileValue != value {
                    logger.notice("\(detector).\(parameter) = \(value), as set while running (the configuration says \(fileValue))")
                }
            } catch {
                logger.warning("ignoring the stored value of \(detector).\(parameter): \(error)")
            }
        }

        let archive: ArchiveWriter?
        if let dir = s.archiveDirectory {
            do { archive = try ArchiveWriter(directory: dir, settings: s.archive) } catch { throw ServerError("\(error)") }
            for r in archive!.recovered {
                let message: Logger.Message = "recovered an archive left open: \(r.summary)"
                let metadata: Logger.Metadata = ["file": "\(r.archive ?? r.leftover)"]
                if r.movedAside == nil {
                    logger.notice(message, metadata: metadata)
                } else {
                    logger.warning(message, metadata: metadata)
                }
            }
        } else {
            archive = nil
        }

        let tapSessions = TapSessions(durable: Self.settle(storedMarks, recovered: archive?.recovered ?? []))
        let symbols = SymbolTable()
        let recorder = AlertRecorder(store: writeStore, hub: hub, sinks: try s.extraSinks(), metrics: metrics, logger: logger)
        let engine = makePipeline(registry: config.registry(), symbols: symbols, sink: recorder, settings: config.pipeline)
        let runner = PipelineRunner(
            engine: engine, symbols: symbols, queue: queue, archive: archive, recorder: recorder, metrics: metrics,
            maxPrincipals: s.maxPrincipals, logger: logger, checkpoints: checkpoints,
            checkpointInterval: s.checkpointInterval, fingerprint: CheckpointFingerprint.of(config),
            tapSessions: tapSessions, tapMarks: tapMarks)
        // Restored here, not inside the log call: a message is not built below the log level.
        let restored = runner.restoreLatestCheckpoint()
        logger.notice("\(restored)")
        let detectors = DetectorControl(config: config, store: settingsStore, queue: queue, logger: logger)

        let tcp = try await TCPIngestService(
            host: s.ingestHost, port: s.ingestPort, queue: queue, auth: s.tokens, tapSessions: tapSessions, metrics: metrics,
            logger: logger)
        let api = HTTPAPI(
            queue: queue, hub: hub, reads: reads, auth: s.tokens, metrics: metrics, detectors: detectors, maxBody: s.maxBody)
        let ingestAddress = Self.text(tcp.boundAddress)
        let app = Application(
            router: api.router(),
            configuration: .init(address: .hostname(s.httpHost, port: s.httpPort), serverName: "chunkwatch"),
            onServerRunning: { channel in
                onListening(channel.localAddress.map(Self.text) ?? "?", ingestAddress)
            },
            logger: logger)

        runner.start()
        let pipeline = PipelineService(runner: runner)
        let reloader = ReloadService(configPath: s.configPath, load: reloadConfig, detectors: detectors, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: pipeline), .init(service: reloader), .init(service: tcp), .init(service: app),
                    .init(service: hub),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    /// How far each tap is durable, now that recovery has said how many lines
    /// it kept of the files a crash left open.
    static func settle(_ marks: [TapMarkStore.Mark], recovered: [RecoveredArchive]) -> [TapSession: UInt64] {
        var kept: [String: Int] = [:]
        for r in recovered {
            let hidden = String(r.leftover.split(separator: "/").last ?? "")
            kept[String(hidden.dropFirst())] = r.lines
        }
        var out: [TapSession: UInt64] = [:]
        for m in marks { out[m.session] = m.effectiveDurable(recoveredLines: kept[m.file]) }
        return out
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    static func text(_ address: SocketAddress) -> String {
        let ip = address.ipAddress ?? "?"
        let host = ip.contains(":") ? "[\(ip)]" : ip
        return "\(host):\(address.port ?? 0)"
    }
}

/// The pipeline thread as a service: on graceful shutdown (after the listeners
/// have stopped) it drains the queue and stops.
struct PipelineService: Service {
    let runner: PipelineRunner

    func run() async throws {
        try? await gracefulShutdown()
        await runner.stop()
    }
}

/// SIGHUP: reload the configuration file and apply its live values.
struct ReloadService: Service {
    let configPath: String?
    let load: ChunkWatchServer.ConfigLoader?
    let detectors: DetectorControl
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                guard let configPath, let load else {
                    logger.notice("SIGHUP: no configuration file to reload (start with --config FILE)")
                    continue
                }
                do {
                    let file = try load(configPath)
                    let changes = try await detectors.reload(file)
                    logger.notice("SIGHUP: reloaded \(configPath): \(changes.count) live value(s) changed")
                    if file != detectors.current {
                        logger.notice("SIGHUP: other changes in \(configPath) (windows, buckets, key limits, workers) apply at the next start")
                    }
                } catch {
                    logger.error("SIGHUP: \(configPath) not reloaded: \(error)")
                }
            }
        }
    }
}
