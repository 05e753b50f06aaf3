#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import ChunkModel
import Config
import Foundation
import Tuning

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Replay archives at candidate thresholds: alerts, alerts per principal-day, precision and recall against labels.",
        discussion: """
            Every candidate runs through the same detectors and alert lifecycle as `backfill`, so each row \
            is exactly what a backfill with that value would fire. Without --sweep the detector's main \
            threshold is swept over a default range. See docs/tuning.md.

            Examples:
              chunkwatch tune day.ndjson.lz4 --detector size --sweep threshold=4:10:0.5 --labels labels.ndjson
              chunkwatch tune day.ndjson.lz4 --budget 1/day --write-config tuned.yaml --report tune.html
              chunkwatch tune day.ndjson.lz4 --compare current.yaml tuned.yaml
            """
    )

    @Argument(
        help: ArgumentHelp(
            "Event inputs: .ndjson, .lz4 / .ndjson.lz4, a directory (its files in name order), or - for stdin.",
            valueName: "file"))
    var files: [String] = []

    @OptionGroup var configOption: ConfigOption

    @Option(name: .long, help: ArgumentHelp("The detector to tune (size, rate, volume, integrity, novelty, changepoint, silence).", valueName: "name"))
    var detector: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A parameter of the detector and the values to try: PARAM=FROM:TO:STEP (numbers or durations, e.g. cooldown=5m:1h:5m) or PARAM=A,B,C. Repeat for a grid of every combination.",
            valueName: "param=from:to:step"))
    var sweep: [String] = []

    @Option(name: .long, help: ArgumentHelp("Known anomaly windows, NDJSON (as `gen --labels-out` writes): adds precision, recall, F1 and time to detect.", valueName: "file"))
    var labels: String?

    @Option(name: .long, help: ArgumentHelp("How long after a label's end an alert still detects it.", valueName: "duration"))
    var grace: String = "5m"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Which labels recall is measured on: detector (those whose kind is the detector's name), all, or a comma-separated list of kinds.",
            valueName: "kinds"))
    var labelKinds: String = "detector"

    @Option(name: .long, help: ArgumentHelp("Pick, per detector, the most sensitive value firing at most N alerts per principal-day. Without --detector, every detector's threshold.", valueName: "n/day"))
    var budget: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Replay two configurations and print the alerts only one of them fires.", valueName: "a.yaml b.yaml"))
    var compare: [String] = []

    @Option(name: .long, help: ArgumentHelp("Write the configuration (--config or the defaults) with the chosen values to this file, for `serve --config`.", valueName: "file"))
    var writeConfig: String?

    @Option(name: .long, help: ArgumentHelp("Write a self-contained HTML report with charts to this file.", valueName: "file.html"))
    var report: String?

    @Option(name: .long, help: ArgumentHelp("The daemon the printed `curl` line applies the chosen value to.", valueName: "url"))
    var server: String = "http://127.0.0.1:7070"

    @Option(name: .long, help: ArgumentHelp("Threads the candidates are spread over. (default: one per core)", valueName: "n"))
    var workers: Int?

    @Flag(name: .long, help: "Print one JSON object per candidate (or per differing alert with --compare) instead of a table.")
    var json = false

    @Flag(name: .long, help: "Score every candidate in a pipeline of its own, even for parameters a single pass can score.")
    var noOnePass = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one input file, a directory, or - for stdin") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if !compare.isEmpty {
            guard compare.count == 2 else {
                throw ValidationError("--compare takes exactly two configuration files (put the input files before it)")
            }
            if !sweep.isEmpty || budget != nil || writeConfig != nil || report != nil {
                throw ValidationError("--compare replays two whole configurations: it takes no --sweep, --budget, --write-config or --report")
            }
            return
        }
        if detector == nil && budget == nil {
            throw ValidationError("name a --detector to sweep, or give --budget N/day to tune every detector's threshold")
        }
        if detector == nil && !sweep.isEmpty { throw ValidationError("--sweep needs --detector") }
        if writeConfig != nil && budget == nil && labels == nil {
            throw ValidationError("--write-config needs a way to choose a value: --budget N/day, or --labels FILE (the best F1)")
        }
    }

    func run() throws {
        let base = try configOption.load()
        var spooled: String?
        defer { if let spooled { unlink(spooled) } }
        var inputs = files
        if inputs.contains("-") {
            let path = try spoolStdin()
            spooled = path
            inputs = inputs.map { $0 == "-" ? path : $0 }
        }
        let progress = TuneProgress()
        var tuner = Tuner(inputs: inputs, threads: workers ?? 0)
        tuner.onePass = !noOnePass
        // Rows keep counts, label matches and their strongest alerts, not every line.
        tuner.keepAlertLines = false
        tuner.progress = { progress.update($0) }
        let started = Timestamp.now()

        if !compare.isEmpty {
            try runCompare(tuner, base: base, progress: progress)
            return
        }
        let labelSet = try loadLabels()
        let requests: [SweepRequest]
        do {
            if let detector {
                try Tuner.checkDetector(detector)
                requests = [SweepRequest(detector: detector, sweeps: try sweep.map { try SweepSpec.parse($0, detector: detector) })]
            } else {
                requests = ChunkWatchConfig.detectorSections.filter { !base.disabled.contains($0.name) }.map { SweepRequest(detector: $0.name) }
            }
        } catch let error as TuneError { throw CLIError(error.description) }
        var budgetValue: Double?
        if let budget {
            do { budgetValue = try BudgetPick.parseBudget(budget) } catch { throw CLIError(error.description) }
        }

        let results: [SweepResult]
        do { results = try tuner.sweep(requests, base: base, labels: labelSet) } catch { throw CLIError(error.description) }
        progress.finish()

        var choices: [TuneChoice] = []
        for result in results {
            let pick = budgetValue.map { BudgetPick(result, budget: $0) }
            let chosen = pick != nil ? pick!.chosen : labelSet != nil ? result.bestF1 : nil
            choices.append(TuneChoice(result: result, pick: pick, chosen: chosen))
        }
        let out = TuneOutput(json: json)
        for (i, c) in choices.enumerated() {
            if json { out.jsonRows(c) } else { out.table(c, labels: labelSet, first: i == 0) }
        }
        if !json { out.notes(choices) }

        if let report {
            do {
                let context = try tuner.alertContexts(for: choices.compactMap { c in c.chosen.map { c.result.rows[$0] } }, base: base)
                let html = TuningReport(choices: choices.map(\.report), labels: labelSet, contexts: context, inputs: files).html()
                try html.write(toFile: report, atomically: true, encoding: .utf8)
            } catch let e as TuneError {
                throw CLIError(e.description)
            } catch {
                throw CLIError("cannot write the report \(report): \((error as NSError).localizedDescription)")
            }
            progress.finish()
            writeStderr("chunkwatch: tune: report written to \(report)\n")
        }
        if let writeConfig { try write(config: base, choices, to: writeConfig) }
        let events = results.first?.stats.events ?? 0
        let seconds = Swift.max((Timestamp.now() - started).secondsDouble, 1e-9)
        let candidates = results.reduce(0) { $0 + $1.rows.count }
        let onePassRows = results.reduce(0) { $0 + $1.rows.filter { $0.method == .onePass }.count }
        printError(
            "tune: \(events) events, \(candidates) candidates (\(onePassRows) scored in one pass) in \(Format.decimal(seconds, 2)) s")
    }

    private func loadLabels() throws -> LabelSet? {
        guard let labels else { return nil }
        guard let g = ChunkWatchConfig.parseDuration(grace) else {
            throw CLIError("--grace '\(grace)': expected a duration such as 5m, 90s or 0s")
        }
        let kinds: LabelKinds
        switch labelKinds {
        case "detector": kinds = .detector
        case "all": kinds = .all
        default: kinds = .only(Set(labelKinds.split(separator: ",").map(String.init)))
        }
        do { return LabelSet(try AnomalyLabel.load(file: labels), grace: g, kinds: kinds) } catch { throw CLIError(error.description) }
    }

    private func runCompare(_ tuner: Tuner, base: ChunkWatchConfig, progress: TuneProgress) throws {
        var configs: [ChunkWatchConfig] = []
        for file in compare {
            do { configs.append(try ChunkWatchConfig.load(file: file)) } catch { throw CLIError(error.description) }
        }
        if let detector {
            do { try Tuner.checkDetector(detector) } catch { throw CLIError(error.description) }
            configs = configs.map { c in
                var c = c
                c.disabled = Set(ChunkWatchConfig.detectorSections.map(\.name)).subtracting([detector])
                return c
            }
        }
        let replay: (alerts: [[Alert]], stats: StreamStats)
        do { replay = try tuner.replay(configs) } catch { throw CLIError(error.description) }
        progress.finish()
        let diff = ConfigDiff(a: replay.alerts[0], b: replay.alerts[1])
        TuneOutput(json: json).diff(diff, names: (compare[0], compare[1]), stats: replay.stats)
    }

    private func write(config base: ChunkWatchConfig, _ choices: [TuneChoice], to path: String) throws {
        var config = base
        var applied: [(detector: String, settings: [Candidate.Setting])] = []
        for c in choices {
            guard let i = c.chosen else { continue }
            let candidate = c.result.rows[i].candidate
            for s in candidate.settings {
                do { try config.set(detector: candidate.detector, parameter: s.parameter, to: s.text) } catch { throw CLIError(error.description) }
            }
            applied.append((candidate.detector, candidate.settings))
        }
        guard !applied.isEmpty else { throw CLIError("--write-config: no candidate was chosen (see above), nothing written") }
        do { try config.yaml().write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw CLIError("cannot write \(path): \((error as NSError).localizedDescription)")
        }
        var text = json ? "" : "\n"
        for a in applied {
            text += "wrote \(path): " + a.settings.map { "detectors.\(a.detector).\($0.parameter) = \($0.text)" }.joined(separator: ", ") + "\n"
        }
        text += "apply it with `chunkwatch serve --config \(path)`, or to a running daemon without a restart:\n"
        for a in applied {
            let live = ChunkWatchConfig.liveParameters[a.detector] ?? []
            let liveSettings = a.settings.filter { live.contains($0.parameter) }
            if !liveSettings.isEmpty {
                let body = liveSettings.map { "\"\($0.parameter)\": \(Self.jsonValue($0, detector: a.detector))" }.joined(separator: ", ")
                text += "  curl -X PUT \(server)/v1/detectors/\(a.detector) -d '{\(body)}'\n"
            }
            for s in a.settings where !live.contains(s.parameter) {
                text += "  (\(a.detector).\(s.parameter) shapes the baselines: it needs the file and a restart)\n"
            }
        }
        text += "  (add -H 'Authorization: Bearer TOKEN' with an admin token when the daemon has tokens)\n"
        if json { writeStderr(text) } else { writeStdout(text) }
    }

    static func jsonValue(_ s: Candidate.Setting, detector: String) -> String {
        switch ChunkWatchConfig.parameterKind(detector: detector, parameter: s.parameter) {
        case .duration: "\"\(s.text)\""
        default: s.text
        }
    }
}

/// Copies stdin to a temporary file: a sweep may read its inputs twice.
private func spoolStdin() throws -> String {
    var template = Array((NSTemporaryDirectory() + "/chunkwatch-tune-XXXXXX").utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { throw CLIError("cannot create a temporary file for stdin: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw CLIError("cannot read stdin: \(String(cString: strerror(errno)))") }
        if n == 0 { break }
        var off = 0
        while off < n {
            let w = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + off, n - off) }
            if w < 0 && errno == EINTR { continue }
            if w < 0 { throw CLIError("cannot spool stdin to \(path): \(String(cString: strerror(errno)))") }
            off += w
        }
    }
    return path
}

/// A sweep's result with the candidate the command settled on.
struct TuneChoice {
    var result: SweepResult
    var pick: BudgetPick?
    var chosen: Int?

    var report: TuningReport.Section { TuningReport.Section(result: result, pick: pick, chosen: chosen) }
}

/// The progress line on stderr while the archives are replayed (only on a terminal).
final class TuneProgress: @unchecked Sendable {  // called only from the thread that reads the inputs
    private let enabled = isatty(2) == 1
    private let started = Timestamp.now()
    private var lastDraw = Timestamp(nanoseconds: 0)
    private var drawn = false

    func update(_ p: ReplayProgress) {
        guard enabled else { return }
        let now = Timestamp.now()
        guard now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = now
        var line = "tune: " + (p.pass > 1 ? "pass \(p.pass) " : "")
        if let total = p.totalBytes, total > 0 {
            let fraction = Swift.min(1, Double(p.bytes) / Double(total))
            let filled = Int(fraction * 24)
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 24 - filled) + "] "
            line += "\(Int(fraction * 100))%  \(Format.bytes(Double(p.bytes)))/\(Format.bytes(Double(total)))  "
        } else {
            line += "\(Format.bytes(Double(p.bytes))) read  "
        }
        let seconds = Swift.max((now - started).secondsDouble, 0.001)
        line += "\(ProgressBar.count(p.events)) events  \(ProgressBar.count(Double(p.events) / seconds))/s  \(p.pipelines) candidates"
        writeStderr("\r\u{1B}[2K" + line)
        drawn = true
    }

    func finish() {
        guard enabled, drawn else { return }
        writeStderr("\r\u{1B}[2K")
        drawn = false
    }
}
