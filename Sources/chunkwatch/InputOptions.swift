import ArgumentParser
import ChunkModel
import Ingest

/// The inputs every replaying command takes: files, archives, directories or stdin.
struct InputOptions: ParsableArguments {
    @Argument(
        help: ArgumentHelp(
            "Event inputs: .ndjson, .lz4 / .ndjson.lz4 (LZ4 frames), a directory (its files in name order), or - for stdin.",
            valueName: "file"))
    var files: [String] = []

    @Option(name: .long, help: ArgumentHelp("Write each rejected line, with its file, line number and reason, to this NDJSON file.", valueName: "file"))
    var rejects: String?

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one input file, a directory, or - for stdin") }
    }

    /// Reads every input in order, calling `body` for each accepted event and
    /// `dropReport` for each tap drop report among them.
    /// A file that cannot be read or is corrupt is reported on stderr as one
    /// line and skipped; the others still run. Returns the counts and whether
    /// every input was read to its end.
    ///
    /// `skipping` leading inputs are passed over (a resumed backfill has read
    /// them already); `fileDone` is called after each input read to its end.
    func forEachEvent(
        symbols: SymbolTable, progress: ((Int) -> Void)? = nil,
        rejectedPrincipal: ((Symbol, Timestamp?) -> Void)? = nil, dropReport: ((TapDropReport) -> Void)? = nil,
        skipping: Int = 0,
        fileDone: ((_ index: Int, _ input: InputFile) throws -> Void)? = nil, _ body: (ChunkEvent) throws -> Void
    ) throws -> (counts: IngestCounts, complete: Bool, totalBytes: Int?) {
        var (inputs, complete) = expandedInputs()
        let reader = EventReader(symbols: symbols)
        reader.onRejectedPrincipal = rejectedPrincipal
        reader.onDropReport = dropReport
        if let rejects {
            do { reader.rejects = try RejectWriter(path: rejects) } catch { throw CLIError(error.description) }
        }
        var doneBytes = 0
        if let progress {
            reader.onProgress = { _, bytes in progress(doneBytes + bytes) }
        }
        for (index, input) in inputs.enumerated() {
            if index < skipping {
                doneBytes += input.size ?? 0
                continue
            }
            do {
                try reader.read(input, body)
                try fileDone?(index, input)
            } catch let error as IngestError {
                printError(error.description)
                complete = false
            }
            doneBytes += input.size ?? 0
        }
        if let writer = reader.rejects {
            do { try writer.close() } catch { throw CLIError(error.description) }
        }
        let sizes = inputs.map(\.size)
        let total = sizes.contains(where: { $0 == nil }) ? nil : sizes.reduce(0) { $0 + ($1 ?? 0) }
        return (reader.counts, complete, total)
    }

    /// The inputs with directories expanded; a missing one is reported (one
    /// line) and left out, and `complete` is then false.
    func expandedInputs(report: Bool = true) -> (inputs: [InputFile], complete: Bool) {
        var inputs: [InputFile] = []
        var complete = true
        for argument in files {
            do {
                let (expanded, reordered) = try InputFile.expandInTimeOrder(argument)
                if reordered && report {
                    printError("\(argument): its file names are not in event-time order; reading them in the order of their first events")
                }
                inputs += expanded
            } catch {
                if report { printError(error.description) }
                complete = false
            }
        }
        return (inputs, complete)
    }

    /// The byte total of the inputs when every size is known (no stdin), for progress.
    var knownTotalBytes: Int? {
        var total = 0
        for argument in files {
            // Missing inputs are reported when they are read; they add nothing here.
            guard let inputs = try? InputFile.expand([argument]) else { continue }
            for input in inputs {
                guard let size = input.size else { return nil }
                total += size
            }
        }
        return total
    }
}

/// One line on stderr, prefixed with the program's name.
func printError(_ message: String) {
    writeStderr("chunkwatch: " + message + "\n")
}

func writeStdout(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
}

func writeStderr(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
