import Alerting
import ArgumentParser
import Config
import Logging
import Server

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: ingest from taps, detect, store alerts, serve the HTTP API and the alert stream.",
        discussion: """
            Taps send NDJSON chunk events over TCP to --ingest; clients POST them to /v1/events. \
            Every accepted event is archived (LZ4, rotated, readable by `lz4 -dc` and `backfill`), \
            every alert is stored in the SQLite database and streamed to `chunkwatch tail`. \
            The first line of output names the addresses bound (port 0 picks a free port).

            SIGTERM or SIGINT: stop taking events, process what was taken, close the archive, exit 0. \
            SIGHUP: reload --config and apply its live values (thresholds, cooldowns). \
            Baselines are checkpointed into the database every --checkpoint-seconds and at \
            shutdown, and restored at start.

            HTTP API: POST /v1/events, GET /v1/alerts, GET /v1/alerts/stream (SSE), GET /v1/baselines, \
            GET|PUT /v1/detectors/{name}, GET /metrics, GET /healthz (docs/api.md).

            Example:
              chunkwatch serve --db chunkwatch.db --archive-dir archive
              chunkwatch gen --live --output tcp://127.0.0.1:7071
              chunkwatch tail --server http://127.0.0.1:7070 --follow
            """
    )

    @Option(name: .long, help: ArgumentHelp("Address of the HTTP API.", valueName: "host:port"))
    var http: String = "127.0.0.1:7070"

    @Option(name: .long, help: ArgumentHelp("Address of the TCP listener for taps (NDJSON lines).", valueName: "host:port"))
    var ingest: String = "127.0.0.1:7071"

    @Option(name: .long, help: ArgumentHelp("SQLite database for alerts, detector changes and checkpoints (created if missing).", valueName: "file"))
    var db: String = "./chunkwatch.db"

    @Option(name: .long, help: ArgumentHelp("Directory for the LZ4 archives of every accepted event.", valueName: "dir"))
    var archiveDir: String = "./archive"

    @Flag(name: .long, help: "Keep no archive of the events.")
    var noArchive = false

    @Option(name: .long, help: ArgumentHelp("Uncompressed MiB per archive file before it rotates.", valueName: "MiB"))
    var archiveRotateMib: Int = 256

    @Option(name: .long, help: ArgumentHelp("Seconds an archive file stays open before it rotates.", valueName: "seconds"))
    var archiveRotateSeconds: Int = 3600

    @Option(name: .long, help: ArgumentHelp("Seconds between checkpoints of the baselines (one is also written at shutdown).", valueName: "seconds"))
    var checkpointSeconds: Int = 60

    @OptionGroup var configOption: ConfigOption

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Bearer tokens, one a line: ROLE NAME SECRET (roles: ingest, read, admin). Without it, only loopback addresses.",
            valueName: "file"))
    var tokens: String?

    @Option(name: .long, help: ArgumentHelp("Also write alerts as NDJSON to this file, or - for stdout.", valueName: "file"))
    var alertsOut: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also send alerts to this Prometheus Alertmanager (API v2), e.g. http://127.0.0.1:9093; retried with backoff.",
            valueName: "url"))
    var alertmanager: String?

    @Option(name: .long, help: ArgumentHelp("Worker threads (default: one per core).", valueName: "n"))
    var workers: Int?

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error.", valueName: "level"))
    var logLevel: String = "info"

    func validate() throws {
        if let workers, !(1...1024).contains(workers) { throw ValidationError("--workers must be from 1 to 1024 (got \(workers))") }
        // Taken in bytes, so bounded well below where MiB << 20 would overflow.
        if !(1...(1 << 20)).contains(archiveRotateMib) {
            throw ValidationError("--archive-rotate-mib must be from 1 to 1048576 (got \(archiveRotateMib))")
        }
        if archiveRotateSeconds < 1 { throw ValidationError("--archive-rotate-seconds must be at least 1") }
        if checkpointSeconds < 1 { throw ValidationError("--checkpoint-seconds must be at least 1") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        _ = try Self.hostPort(http, "--http")
        _ = try Self.hostPort(ingest, "--ingest")
    }

    func run() async throws {
        var settings = ChunkWatchServer.Settings()
        (settings.httpHost, settings.httpPort) = try Self.hostPort(http, "--http")
        (settings.ingestHost, settings.ingestPort) = try Self.hostPort(ingest, "--ingest")
        settings.databasePath = db
        settings.archiveDirectory = noArchive ? nil : archiveDir
        settings.archive.maxBytes = archiveRotateMib << 20
        settings.archive.maxAge = .seconds(archiveRotateSeconds)
        settings.checkpointInterval = .seconds(checkpointSeconds)
        settings.config = try configOption.load()
        settings.configPath = configOption.config
        if let workers { settings.config.pipeline.workers = workers }
        if let tokens {
            do { settings.tokens = try TokenAuthority.load(path: tokens) } catch { throw CLIError(error.description) }
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "chunkwatch")
        // The command line adds to the configuration's sinks.
        let sinkSettings = settings.config.alerts
        var targets: [String] = []
        for target in [sinkSettings.stdout ? "-" : nil, sinkSettings.file, self.alertsOut].compactMap({ $0 })
        where !targets.contains(target) {
            targets.append(target)
        }
        let ndjsonTargets = targets
        let alertmanager = self.alertmanager ?? sinkSettings.alertmanager
        if let alertmanager {
            // Checked now, so a bad URL is a one-line error before anything starts.
            do { _ = try HTTPStreamClient(url: alertmanager) } catch { throw CLIError("--alertmanager: \(error)") }
        }
        settings.extraSinks = {
            var sinks: [any AlertSink] = []
            for target in ndjsonTargets { sinks.append(try NDJSONAlertSink(path: target, append: target != "-")) }
            if let alertmanager { sinks.append(try AlertmanagerSink(url: alertmanager, logger: logger)) }
            return sinks
        }
        let server = ChunkWatchServer(settings: settings, logger: logger)
        let db = self.db
        do {
            try await server.run(reloadConfig: { try ChunkWatchConfig.load(file: $0) }) { http, ingest in
                writeStdout("chunkwatch serve: http \(http) ingest \(ingest) db \(db)\n")
            }
        } catch let error as ServerError {
            throw CLIError(error.description)
        }
    }

    /// `host:port`, `[::1]:port` or `:port` (loopback).
    static func hostPort(_ text: String, _ option: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else {
            throw ValidationError("\(option) expects host:port, e.g. 127.0.0.1:7070 (port 0 picks a free one); got '\(text)'")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }
}
