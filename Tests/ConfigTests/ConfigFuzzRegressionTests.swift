import Config
import Testing

/// Inputs the config fuzz target (Fuzz/Regressions/config) found.
@Suite struct ConfigFuzzRegressionTests {
    /// libyaml ends the stream with a line break of its own, so it placed an
    /// error at the very end of a file without a final `\n` on a line past the
    /// file's end (`config:3:` for a two-line file).
    @Test(arguments: [
        ("a: b\nc", 2),
        ("pipeline:\n  tick: 5s\nc", 3),
        ("pipeline:\n  tick: 5s\nc\n", 3),
    ])
    func aYAMLErrorAtTheEndOfTheFileNamesItsLastLine(text: String, line: Int) {
        let (_, problems) = ChunkWatchConfig.check(yaml: text, file: "c.yaml")
        #expect(problems.count == 1)
        #expect(problems.first?.line == line, "\(problems)")
        #expect(problems.first?.message.hasPrefix("not valid YAML") == true)
    }
}
