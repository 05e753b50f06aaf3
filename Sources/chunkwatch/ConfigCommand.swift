import ArgumentParser
import Config

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a configuration file, or print the default one.",
        subcommands: [Check.self, Default.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report every problem in a configuration file, one line each with its line number.",
            discussion: "Unknown keys, wrong types and out-of-range values are all errors. Exit status 0 when the file is good."
        )

        @Argument(help: ArgumentHelp("The YAML configuration file.", valueName: "file"))
        var file: String

        func run() throws {
            let (_, problems) = ChunkWatchConfig.check(file: file)
            for p in problems { printError(p.description) }
            if !problems.isEmpty { throw ExitCode(1) }
            writeStdout("\(file): ok\n")
        }
    }

    struct Default: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the full default configuration, with a comment on every key.",
            discussion: "Save it, edit what you need, and pass it with --config: chunkwatch config default > chunkwatch.yaml"
        )

        func run() throws {
            writeStdout(ChunkWatchConfig().yaml())
        }
    }
}

/// `--config FILE` for every command that runs the pipeline.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("YAML configuration (see `chunkwatch config default`).", valueName: "file"))
    var config: String?

    func load() throws -> ChunkWatchConfig {
        guard let config else { return ChunkWatchConfig() }
        do {
            return try ChunkWatchConfig.load(file: config)
        } catch {
            throw CLIError(error.description)
        }
    }
}
