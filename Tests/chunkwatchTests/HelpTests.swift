import Testing

/// SPEC §5: every command has `--help`, exits 0, and names its options.
@Suite("chunkwatch --help")
struct HelpTests {
    @Test func rootHelpListsTheCommands() throws {
        let r = try chunkwatch("--help")
        #expect(r.exitedCleanly, "\(r)")
        let text = r.stdoutText
        for command in ["gen", "score", "backfill", "serve", "proxy", "tail"] {
            #expect(text.contains("  \(command) "), "root --help does not list \(command):\n\(text)")
        }
        #expect(text.contains("USAGE: chunkwatch"))
    }

    @Test(arguments: [
        ("gen", ["--principals", "--hours", "--seed", "--anomalies", "--labels-out", "--live", "--speed", "--output"]),
        ("backfill", ["--alerts-out", "--rejects", "--workers", "<file>"]),
        ("score", ["--rejects", "--output", "<file>"]),
        ("proxy", ["--listen", "--upstream", "--principal", "--collector", "--resource", "--config", "SIGTERM"]),
    ])
    func commandHelpNamesItsOptions(command: String, options: [String]) throws {
        for form in [[command, "--help"], [command, "-h"], ["help", command]] {
            let r = try chunkwatch(form)
            #expect(r.exitedCleanly, "\(r)")
            #expect(r.stderr.isEmpty, "\(r)")
            let text = r.stdoutText
            #expect(text.contains("USAGE: chunkwatch \(command)"), "\(form): \(text)")
            for option in options {
                #expect(text.contains(option), "chunkwatch \(form.joined(separator: " ")) does not mention \(option)")
            }
        }
    }

    @Test func genHelpNamesEveryAnomalyKind() throws {
        let r = try chunkwatch("gen", "--help")
        #expect(r.exitedCleanly, "\(r)")
        for kind in ["size", "rate", "volume", "integrity", "novelty", "changepoint", "silence", "none"] {
            #expect(r.stdoutText.contains(kind), "gen --help does not name the anomaly kind \(kind)")
        }
    }

    /// SPEC §5 fixes the shape of a score line; the help must show it.
    @Test func scoreHelpDocumentsTheOutputShape() throws {
        let r = try chunkwatch("score", "--help")
        #expect(r.exitedCleanly, "\(r)")
        let text = r.stdoutText
        for piece in [#""ts""#, #""principal""#, #""score""#, #""scores""#, #""size""#, #""rate""#, "input order", "0..1"] {
            #expect(text.contains(piece), "score --help does not mention \(piece):\n\(text)")
        }
    }
}
