import Alerting
import ArgumentParser
import ChunkModel
import Config
import Detectors
import Ingest
import Pipeline
import Server
import Store

struct BackfillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Replay event archives through the detectors and write the alerts they raise.",
        discussion: """
            Event time drives every window, so a backfill gives the same alerts, with the same ids, \
            as a live run of the same events. A progress bar is drawn on stderr when it is a terminal. \
            Unreadable or corrupt inputs are reported one line each and skipped; the rest still run, \
            and the exit status is 1.

            Example:
              chunkwatch gen --hours 24 | lz4 > day.ndjson.lz4
              chunkwatch backfill day.ndjson.lz4 --alerts-out alerts.ndjson
            """
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var configOption: ConfigOption

    @Option(name: .long, help: ArgumentHelp("Write alerts as NDJSON to this file, or - for stdout.", valueName: "file"))
    var alertsOut: String = "-"

    @Option(name: .long, help: ArgumentHelp("Also store the alerts in this SQLite database (created if missing). Re-running a backfill adds no duplicates: alert ids are deterministic.", valueName: "file"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("Worker threads; principals are sharded across them. The alerts are the same for any number. (default: one per core)", valueName: "n"))
    var workers: Int?

    @Flag(name: .long, help: "Print no summary line on stderr.")
    var quiet = false

    func validate() throws {
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
    }

    func run() throws {
        let symbols = SymbolTable()
        var sinks: [any AlertSink] = []
        do { sinks.append(try NDJSONAlertSink(path: alertsOut)) } catch { throw CLIError(error.description) }
        if let db {
            do { sinks.append(try SQLiteAlertSink(path: db)) } catch { throw CLIError(error.description) }
        }
        let sink = sinks.count == 1 ? sinks[0] : MultiplexAlertSink(sinks)
        let config = try configOption.load()
        var settings = config.pipeline
        if let workers { settings.workers = workers }
        let engine = makePipeline(registry: config.registry(), symbols: symbols, sink: sink, settings: settings)
        var resume: BackfillResume?
        var skip = 0
        if let db {
            var resumeConfig = config
            resumeConfig.pipeline = settings
            do {
                resume = try BackfillResume(
                    databasePath: db, fingerprint: CheckpointFingerprint.of(resumeConfig),
                    inputs: input.expandedInputs(report: false).inputs)
            } catch {
                throw CLIError(error.description)
            }
            let (n, note) = resume!.resume(into: engine, symbols: symbols)
            skip = n
            if let note, !quiet { printError("backfill: " + note) }
        }
        let bar = ProgressBar(totalBytes: input.knownTotalBytes)
        let started = Timestamp.now()
        var bytesSeen = 0
        var lastFlush = Timestamp.now()
        let (counts, complete, _) = try input.forEachEvent(
            symbols: symbols,
            progress: { bytes in
                bytesSeen = bytes
                bar.update(bytes: bytes, events: engine.eventsProcessed, alerts: engine.alertsFired)
                // Live input (a pipe from `gen --live` or a gateway) arrives slowly:
                // hand partial batches to the workers at least every 200 ms, so an
                // alert is never held back waiting for a batch to fill.
                if let parallel = engine as? ParallelEngine {
                    let now = Timestamp.now()
                    if now - lastFlush >= .milliseconds(200) {
                        lastFlush = now
                        parallel.flush()
                    }
                }
            },
            rejectedPrincipal: { principal, ts in engine.rejected(principal: principal, at: ts) },
            dropReport: { engine.dropped($0) },
            skipping: skip,
            fileDone: { index, _ in
                try resume?.fileDone(index, engine: engine, symbols: symbols, events: engine.eventsProcessed) { try sink.flush() }
            }
        ) { event in
            engine.process(event)
        }
        do { try engine.finish() } catch { throw CLIError("\(error)") }
        if complete { try resume?.finished() }
        bar.finish()
        // When nothing could be read, the error lines above say all there is.
        if !quiet && (complete || counts.lines > 0 || bytesSeen > 0) {
            let seconds = max((Timestamp.now() - started).secondsDouble, 1e-9)
            printError(
                "backfill: \(counts.accepted) events, \(counts.rejectedSummary), "
                    + (counts.dropReports > 0 ? "\(counts.dropReports) tap drop reports, " : "")
                    + "\(Format.bytes(Double(bytesSeen))) read in "
                    + "\(Format.decimal(seconds, 2)) s (\(ProgressBar.count(Double(counts.lines) / seconds)) lines/s); "
                    + "\(engine.alertsFired) alerts fired")
        }
        if !complete { throw ExitCode(1) }
    }
}
