#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Alerting
import ArgumentParser
import ChunkModel
import Config
import Detectors
import Pipeline

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Print every event's anomaly scores, one NDJSON line per event, in input order.",
        discussion: """
            Each line is {"ts":…,"principal":…,"score":S,"scores":{"size":…,"rate":…}}: the score of each \
            detector in 0..1 (0.5 at its threshold) and the highest of them. Rejected lines produce no \
            output; they are counted on stderr.
            """
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var configOption: ConfigOption

    @Option(name: .long, help: ArgumentHelp("Write to this file instead of stdout.", valueName: "file"))
    var output: String = "-"

    func run() throws {
        // A reader that goes away (`score … | head`) shows up as EPIPE from
        // write(2), which ends the run quietly, as a SIGPIPE would; the signal
        // may be ignored anyway, since an ignored disposition is inherited.
        signal(SIGPIPE, SIG_IGN)
        do {
            try score()
        } catch let error as CLIError where error.isBrokenPipe {
            return
        }
    }

    private func score() throws {
        let symbols = SymbolTable()
        let config = try configOption.load()
        // One thread: scores come out in input order, one line per event.
        let engine = Engine(registry: config.registry(), symbols: symbols, sink: NoOpAlertSink(), settings: config.pipeline)
        let out = try OutputFile(path: output)
        let names = engine.detectors.map(\.name)
        let scores = UnsafeMutableBufferPointer<Double>.allocate(capacity: names.count)
        defer { scores.deallocate() }
        var lastPrincipal = Symbol.none
        var principalName = ""
        let (counts, complete, _) = try input.forEachEvent(symbols: symbols) { event in
            let top = engine.process(event, scores: scores)
            if event.principal != lastPrincipal {
                lastPrincipal = event.principal
                principalName = symbols.display(event.principal)
            }
            out.buffer.append("{\"ts\":\"")
            event.ts.writeRFC3339Milliseconds(to: &out.buffer)
            out.buffer.append("\",\"principal\":")
            out.buffer.append(jsonString: principalName)
            out.buffer.append(",\"score\":")
            out.buffer.append(number: top)
            out.buffer.append(",\"scores\":{")
            for (i, name) in names.enumerated() {
                if i > 0 { out.buffer.append(UInt8(ascii: ",")) }
                out.buffer.append(UInt8(ascii: "\""))
                out.buffer.append(name)
                out.buffer.append("\":")
                out.buffer.append(number: scores[i])
            }
            out.buffer.append("}}\n")
            try out.lineDone()
        }
        try out.close()
        if counts.totalRejected > 0 { printError("score: \(counts.rejectedSummary)") }
        if !complete { throw ExitCode(1) }
    }
}
