import ArgumentParser

@main
struct ChunkWatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chunkwatch",
        abstract: "Watch the chunk metadata of a data-path gateway and alert on anomalies.",
        discussion: """
            Events are NDJSON chunk records (docs/formats.md). FILE arguments may be \
            .ndjson, .lz4 / .ndjson.lz4 (LZ4 frames, as the lz4 tool writes them), a directory \
            (its files in name order) or - for stdin.
            """,
        subcommands: [
            ServeCommand.self, ProxyCommand.self, TailCommand.self, GenCommand.self, ScoreCommand.self, BackfillCommand.self,
            TuneCommand.self, EvalCommand.self, ConfigCommand.self,
        ]
    )
}
