import ArgumentParser
import ChunkTap
import Config
import Gateway
import Logging
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Run a TCP gateway that forwards connections to a target and taps every chunk to chunkwatch.",
        discussion: """
            Each connection to --listen is forwarded to --upstream, bytes unchanged both ways. \
            Every socket read is one chunk: its size, CRC32C, direction, sequence number and rate \
            go, as the --principal's event, through a non-blocking tap to the collector \
            (`chunkwatch serve --ingest`). The tap never slows the traffic: when the collector \
            is slow or away, events are dropped and counted, and the counts are reported to it.

            More listeners, each with its own principal, go in the configuration's `proxy:` \
            section (see `chunkwatch config default`); --listen/--upstream/--principal add one.

            SIGTERM or SIGINT: stop accepting, close the open connections, send what the tap \
            holds (up to 5 s), print the counters, exit 0.

            Example, PostgreSQL behind the proxy:
              chunkwatch serve &
              chunkwatch proxy --listen 127.0.0.1:6432 --upstream 127.0.0.1:5432 \\
                --principal svc-billing --resource pg://orders --collector 127.0.0.1:7071
              psql -h 127.0.0.1 -p 6432 -U app orders
              chunkwatch tail --server http://127.0.0.1:7070 --follow
            """
    )

    @Option(name: .long, help: ArgumentHelp("Address to accept connections on (port 0 picks a free one).", valueName: "host:port"))
    var listen: String?

    @Option(name: .long, help: ArgumentHelp("The target each connection is forwarded to.", valueName: "host:port"))
    var upstream: String?

    @Option(name: .long, help: ArgumentHelp("Who the traffic through --listen belongs to (the events' principal).", valueName: "name"))
    var principal: String?

    @Option(name: .long, help: ArgumentHelp("The events' resource (default tcp://UPSTREAM), e.g. pg://orders.", valueName: "name"))
    var resource: String?

    @Option(name: .long, help: ArgumentHelp("The events' hop: which gateway saw the chunk.", valueName: "name"))
    var hop: String = "proxy"

    @Option(
        name: .long,
        help: ArgumentHelp("The collector's TCP ingest listener (serve --ingest). Without it the proxy only forwards.", valueName: "host:port"))
    var collector: String?

    @Option(name: .long, help: ArgumentHelp("A file whose first line is an ingest token for the collector.", valueName: "file"))
    var tokenFile: String?

    @Option(name: .long, help: ArgumentHelp("This tap's name in its drop reports and connection ids (default proxy-HOSTNAME).", valueName: "name"))
    var name: String?

    @Option(name: .long, help: ArgumentHelp("Events the tap's ring holds while the collector is slow or away.", valueName: "n"))
    var ring: Int = 65_536

    @Option(
        name: .long,
        help: ArgumentHelp(
            "How the tap sends events: binary (48 bytes an event, chunkwatch serve reads it) or ndjson (any NDJSON collector).",
            valueName: "binary|ndjson"))
    var wire: String = "binary"

    @Flag(name: .long, help: "Leave the CRC32C out of the events (it is most of the tap's cost on large chunks).")
    var noChecksums = false

    @Option(name: .long, help: ArgumentHelp("Event loop threads (default: one per core).", valueName: "n"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Seconds between counter lines on stderr; 0: only at exit.", valueName: "seconds"))
    var statsSeconds: Int = 0

    @OptionGroup var configOption: ConfigOption

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error.", valueName: "level"))
    var logLevel: String = "info"

    func validate() throws {
        let given = [listen, upstream, principal].filter { $0 != nil }.count
        if given != 0 && given != 3 {
            throw ValidationError("--listen, --upstream and --principal go together: give all three (or listeners in --config)")
        }
        for (value, option) in [(listen, "--listen"), (upstream, "--upstream"), (collector, "--collector")] {
            if let value, !ProxySettings.isHostPort(value) {
                throw ValidationError("\(option) expects host:port, e.g. 127.0.0.1:6432; got '\(value)'")
            }
        }
        if let principal, principal.isEmpty || principal.utf8.count > 256 {
            throw ValidationError("--principal must have 1 to 256 bytes")
        }
        if ring < 2 { throw ValidationError("--ring must be at least 2") }
        if wire != "binary" && wire != "ndjson" { throw ValidationError("--wire must be binary or ndjson; got '\(wire)'") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if statsSeconds < 0 { throw ValidationError("--stats-seconds must be 0 or more") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        let config = try configOption.load()
        var listeners = config.proxy.listeners
        if let listen, let upstream, let principal {
            listeners.append(ProxySettings.Listener(listen: listen, upstream: upstream, principal: principal, resource: resource, hop: hop))
        }
        guard !listeners.isEmpty else {
            throw CLIError(
                "nothing to proxy: give --listen, --upstream and --principal, or listeners in the proxy section of --config")
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "chunkwatch.proxy")

        var settings = Gateway.Settings(listeners: try listeners.map(Self.gatewayListener))
        if let threads { settings.threads = threads }
        settings.checksums = !noChecksums

        let collector = self.collector ?? config.proxy.collector
        let tap: ChunkTap?
        if let collector {
            var tapSettings = ChunkTap.Settings(collector: collector)
            tapSettings.name = name ?? "proxy-\(Self.hostname())"
            tapSettings.connPrefix = tapSettings.name + "-"
            tapSettings.capacity = ring
            tapSettings.wire = wire == "ndjson" ? .ndjson : .binary
            if let tokenFile { tapSettings.token = try Self.readToken(tokenFile) }
            tap = ChunkTap(settings: tapSettings)
        } else {
            tap = nil
            logger.notice("no --collector: forwarding only, no events are recorded")
        }

        let gateway = Gateway(settings: settings, tap: tap, logger: logger)
        let addresses: [String]
        do {
            addresses = try await gateway.start()
        } catch {
            tap?.close()
            throw CLIError(error.description)
        }
        for (listener, address) in zip(settings.listeners, addresses) {
            writeStdout(
                "chunkwatch proxy: \(address) → \(listener.upstreamHost):\(listener.upstreamPort) as \(listener.principal)"
                    + (collector.map { ", tap → \($0)" } ?? ", no tap") + "\n")
        }

        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals { return }
            }
            if statsSeconds > 0 {
                let interval = statsSeconds
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(interval))
                        if Task.isCancelled { break }
                        writeStderr("chunkwatch proxy: \(Self.summary(gateway, tap))\n")
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
        await gateway.stop()
        tap?.close()
        writeStderr("chunkwatch proxy: stopped; \(Self.summary(gateway, tap))\n")
    }

    static func summary(_ gateway: Gateway, _ tap: ChunkTap?) -> String {
        var text = gateway.stats.snapshot.description
        if let s = tap?.stats {
            text += "; tap: \(s.recorded) recorded, \(s.sent) sent, \(s.acknowledged) acknowledged, \(s.dropped) dropped"
            if s.resent > 0 { text += ", \(s.resent) sent again after reconnects" }
            if s.droppedAtClose > 0 { text += ", \(s.droppedAtClose) unsent at exit" }
            if s.unacknowledgedAtClose > 0 { text += ", \(s.unacknowledgedAtClose) not acknowledged at exit" }
            if let error = s.lastError { text += " (last collector problem: \(error))" }
        }
        return text
    }

    static func gatewayListener(_ l: ProxySettings.Listener) throws -> Gateway.Listener {
        let (listenHost, listenPort) = try ServeCommand.hostPort(l.listen, "listen")
        let (upstreamHost, upstreamPort) = try ServeCommand.hostPort(l.upstream, "upstream")
        return Gateway.Listener(
            listenHost: listenHost, listenPort: listenPort, upstreamHost: upstreamHost, upstreamPort: upstreamPort,
            principal: l.principal, resource: l.resource, hop: l.hop ?? "proxy")
    }

    static func readToken(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CLIError("--token-file: cannot read \(path)")
        }
        let token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !token.isEmpty else { throw CLIError("--token-file: \(path) is empty; its first line should be an ingest token") }
        return token
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
