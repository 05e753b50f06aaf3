import Config
import Testing
import Tuning

@Suite("sweep specifications")
struct SweepSpecTests {
    @Test func rangesOfEveryKind() throws {
        #expect(try SweepSpec.parse("threshold=4:6:0.5", detector: "size").values == ["4", "4.5", "5", "5.5", "6"])
        // 0.1 steps do not drift (0.30000000000000004) and include the end.
        #expect(try SweepSpec.parse("min_spread=0.1:0.3:0.1", detector: "size").values == ["0.1", "0.2", "0.3"])
        #expect(try SweepSpec.parse("gap_threshold=2:9:3", detector: "integrity").values == ["2", "5", "8"])
        #expect(try SweepSpec.parse("cooldown=5m:1h:15m", detector: "rate").values == ["5m", "20m", "35m", "50m"])
        #expect(try SweepSpec.parse("cooldown=90s,15m,2h", detector: "rate").values == ["90s", "15m", "2h"])
        #expect(try SweepSpec.parse("time_of_day=true,false", detector: "rate").values == ["true", "false"])
        #expect(try SweepSpec.parse(" threshold = 7 ", detector: "size").values == ["7"])
        #expect(try SweepSpec.parse("threshold=6,6,7", detector: "size").values == ["6", "7"])
    }

    @Test(arguments: [
        ("threshold=1:2", "expected FROM:TO:STEP"),
        ("threshold=3:1:1", "TO must not be below FROM"),
        ("threshold=1:3:0", "STEP must be greater than 0"),
        ("threshold=a:b:c", "must be numbers"),
        ("threshold=0:1000:0.1", "at most 200"),
        ("threshold=0.05,1", "must be at least 0.1"),
        ("thresold=1:2:1", "size has no parameter 'thresold'"),
        ("threshold", "expected PARAM=FROM:TO:STEP"),
        ("window=2.5", "expected a whole number"),
        ("cooldown=1m:5x:1m", "must be durations"),
        ("time_of_day=true:false:1", "takes a list"),
    ])
    func errorsSayWhatIsWrong(_ text: String, _ expected: String) {
        let detector = text.hasPrefix("time_of_day") ? "rate" : "size"
        do {
            let s = try SweepSpec.parse(text, detector: detector)
            Issue.record("'\(text)' parsed as \(s.values)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func unknownDetectorAndDefaults() throws {
        #expect(throws: TuneError.self) { try SweepSpec.parse("threshold=1", detector: "sizes") }
        #expect(throws: TuneError.self) { try Tuner.checkDetector("sizes") }
        for section in ChunkWatchConfig.detectorSections {
            let d = try SweepSpec.defaultSweep(for: section.name)
            #expect(d.parameter == SweepSpec.mainParameter[section.name])
            #expect(d.values.count >= 5, "\(section.name): \(d.values)")
        }
    }

    @Test func everyParameterCanBeSetByKey() throws {
        var c = ChunkWatchConfig()
        try c.set(detector: "volume", parameter: "bucket", to: "10m")
        #expect(c.volume.bucket == .seconds(600))
        try c.set(detector: "silence", parameter: "multiple", to: "12.5")
        #expect(c.silence.multiple == 12.5)
        #expect(c.parameterNumber(detector: "volume", parameter: "bucket") == 600)
        #expect(throws: TuningError.self) { try c.set(detector: "volume", parameter: "bucket", to: "0s") }
    }
}
