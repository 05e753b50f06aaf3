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

    /// Yams sorts duplicated keys to pick the line it names, and that order is
    /// not total once a key is a mapping: the same file loaded twice named
    /// line 2 once and line 3 the next time, and the message quoted the whole
    /// file. Now the message names the keys, sorted, and no line when one of
    /// them is not a plain value.
    @Test func aDuplicatedKeyIsNamedTheSameWayOnEveryLoad() {
        let text = "\nproxy:\n? collector: x\n  a: 1\nproxy:\n? collector: x\n  a: 1\n"
        let first = ChunkWatchConfig.check(yaml: text, file: "c.yaml").1
        for _ in 0..<20 {
            #expect(ChunkWatchConfig.check(yaml: text, file: "c.yaml").1 == first)
        }
        #expect(first.count == 1)
        #expect(first.first?.line == nil)
        #expect(first.first?.message.contains("'proxy', a key that is itself a mapping") == true, "\(first)")
        #expect(first.first?.message.contains("collector: x") == false, "the file is not quoted: \(first)")
    }

    @Test func aDuplicatedPlainKeyKeepsItsLine() {
        let (_, problems) = ChunkWatchConfig.check(yaml: "pipeline:\n  tick: 5s\n  tick: 6s\n", file: "c.yaml")
        #expect(problems.count == 1)
        #expect(problems.first?.line == 2, "\(problems)")
        #expect(problems.first?.message == "not valid YAML: a key appears twice in one mapping ('tick'); keep one of each")
    }
}
