import ChunkModel
import Config
import Testing
import Tuning

/// Each sweep row is exactly what a plain backfill with that value fires:
/// the same alert lines (ids, content, order), for parameters replayed per
/// candidate and for those scored in one pass.
@Suite("sweep rows equal plain backfills")
struct SweepEquivalenceTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var detector: String
        var sweeps: [String]
        var base = ""
        var gappy = false
        /// Whether the one-pass path must be the one taken.
        var onePass: Bool
        var testDescription: String { "\(detector) \(sweeps.joined(separator: " "))" }
    }

    static let cases: [Case] = [
        Case(detector: "size", sweeps: ["threshold=2,3.5,5"], onePass: true),
        // One candidate: a single pipeline over every thread (the sharded engine).
        Case(detector: "size", sweeps: ["min_ratio=3"], onePass: false),
        Case(detector: "size", sweeps: ["threshold=2,4", "cooldown=1m,30m"], onePass: true),
        Case(detector: "rate", sweeps: ["threshold=2,3.5,6"], onePass: false),
        Case(detector: "rate", sweeps: ["cooldown=30s,5m,1h"], onePass: true),
        Case(detector: "volume", sweeps: ["drift_threshold=1.5,4", "threshold=3,6"], onePass: false),
        Case(detector: "changepoint", sweeps: ["threshold=3,8"], onePass: false),
        Case(detector: "integrity", sweeps: ["gap_threshold=0,1,8", "cooldown=1m,10m"], gappy: true, onePass: true),
        Case(
            detector: "novelty", sweeps: ["hour_threshold=1:3:2", "cooldown=5m,1h"],
            base: "detectors:\n  novelty:\n    hour_warmup: 1h\n    warmup_events: 10\n", onePass: true),
        Case(detector: "silence", sweeps: ["multiple=3,20", "cooldown=5m,30m"], onePass: true),
    ]

    @Test(arguments: cases)
    func eachRowEqualsAPlainBackfillAtThatValue(_ c: Case) throws {
        let stream = c.gappy ? Fixture.gappy : Fixture.traffic
        let base = ChunkWatchConfig.from(c.base)
        let specs = try c.sweeps.map { try SweepSpec.parse($0, detector: c.detector) }
        let result = try tuner(stream.path).sweep([SweepRequest(detector: c.detector, sweeps: specs)], base: base)[0]
        #expect(result.notes.isEmpty, "\(result.notes)")
        #expect(result.rows.count == specs.reduce(1) { $0 * $1.values.count })

        // The plain backfills: the base configuration with each row's values set
        // exactly as a configuration file would set them.
        var configs: [ChunkWatchConfig] = []
        for row in result.rows {
            var config = base
            for s in row.candidate.settings { try config.set(detector: c.detector, parameter: s.parameter, to: s.text) }
            configs.append(config.only(c.detector))
        }
        let plain = try plainBackfills(stream.path, configs)
        for (row, expected) in zip(result.rows, plain) {
            let got = row.alerts.map(\.jsonLine)
            #expect(got == expected, "\(row.candidate.label) (\(row.method.rawValue)): \(got.count) lines, the backfill \(expected.count)\n\(firstDifference(got, expected))")
            #expect(row.firing == expected.filter { $0.contains("\"status\":\"firing\"") }.count)
            #expect(row.method == (c.onePass ? .onePass : .replay), "\(row.candidate.label)")
        }
        // The sweep is not vacuous: alerts fire, and the values change them.
        let counts = result.rows.map(\.firing)
        #expect(counts.contains { $0 > 0 }, "no alert in any row: \(counts)")
        if result.rows.count > 1 {
            #expect(Set(result.rows.map { $0.alerts.map(\.jsonLine) }).count > 1, "every row fires the same alerts: \(counts)")
        }
    }

    /// With one-pass off, the one-pass parameters are replayed per candidate and give the same rows.
    @Test func onePassOffGivesTheSameRows() throws {
        let specs = [try SweepSpec.parse("hour_threshold=1,2", detector: "novelty"), try SweepSpec.parse("cooldown=5m,1h", detector: "novelty")]
        let base = ChunkWatchConfig.from("detectors:\n  novelty:\n    hour_warmup: 1h\n    warmup_events: 10\n")
        var t = tuner(Fixture.traffic.path)
        let fast = try t.sweep([SweepRequest(detector: "novelty", sweeps: specs)], base: base)[0]
        t.onePass = false
        let slow = try t.sweep([SweepRequest(detector: "novelty", sweeps: specs)], base: base)[0]
        #expect(fast.rows.allSatisfy { $0.method == .onePass })
        #expect(slow.rows.allSatisfy { $0.method == .replay })
        #expect(fast.rows.map { $0.alerts.map(\.jsonLine) } == slow.rows.map { $0.alerts.map(\.jsonLine) })
    }

    /// Rejected lines naming a principal put coverage counts on its alerts,
    /// which one pass does not see: the sweep replays those candidates instead,
    /// says so, and the rows still equal plain backfills.
    @Test func onePassIsNotUsedWhenAlertsCarryCoverage() throws {
        let stream = Fixture.withRejects
        let spec = try SweepSpec.parse("cooldown=1m,1h", detector: "size")
        let base = ChunkWatchConfig.from("detectors:\n  size:\n    threshold: 2.5\n")
        let result = try tuner(stream.path).sweep([SweepRequest(detector: "size", sweeps: [spec])], base: base)[0]
        #expect(result.stats.rejectedWithPrincipal > 50, "\(result.stats)")
        #expect(result.rows.allSatisfy { $0.method == .replay })
        #expect(result.notes.count == 1 && result.notes[0].contains("rejected"), "\(result.notes)")
        var configs: [ChunkWatchConfig] = []
        for row in result.rows {
            var c = base
            try c.set(detector: "size", parameter: "cooldown", to: row.candidate.settings[0].text)
            configs.append(c.only("size"))
        }
        let plain = try plainBackfills(stream.path, configs)
        #expect(result.rows.map { $0.alerts.map(\.jsonLine) } == plain)
        #expect(plain[0].contains { $0.contains("\"coverage\":{\"rejected\":1") }, "no alert carries a rejection")
    }

    /// Without alert lines a row keeps the same counts, label scores and strongest alerts.
    @Test func rowsWithoutAlertLinesKeepTheirFigures() throws {
        let specs = [try SweepSpec.parse("threshold=2:4:1", detector: "size"), try SweepSpec.parse("cooldown=1m,1h", detector: "size")]
        let labels = LabelSet(Fixture.traffic.labels, kinds: .all)
        var t = tuner(Fixture.traffic.path)
        let full = try t.sweep([SweepRequest(detector: "size", sweeps: specs)], base: ChunkWatchConfig(), labels: labels)[0]
        t.keepAlertLines = false
        let lean = try t.sweep([SweepRequest(detector: "size", sweeps: specs)], base: ChunkWatchConfig(), labels: labels)[0]
        for (a, b) in zip(full.rows, lean.rows) {
            #expect(b.alerts.isEmpty)
            #expect(a.firing == b.firing && a.firing == a.alerts.filter { $0.status == .firing }.count)
            let byLines = labels.score(a.alerts, detector: "size")
            #expect(b.labels?.matchedAlerts == byLines.matchedAlerts && b.labels?.detected == byLines.detected)
            #expect(b.labels?.delays == byLines.delays)
            // The strongest: the final lines with the highest scores, the earliest first among equals.
            let finals = Alert.final(a.alerts).sorted { ($0.score, $1.firstTs, $1.id) > ($1.score, $0.firstTs, $0.id) }
            #expect(b.strongest.map(\.final.id) == finals.prefix(5).map(\.id), "\(a.candidate.label)")
            for s in b.strongest { #expect(s.firing.status == .firing && s.firing.id == s.final.id) }
        }
    }

    /// A detector's alerts with every detector on are the ones it fires alone:
    /// what lets a sweep run only the swept detector.
    @Test func aDetectorAloneFiresWhatItFiresAmongAllOfThem() throws {
        let names = ChunkWatchConfig.detectorSections.map(\.name)
        let base = ChunkWatchConfig()
        let runs = try plainBackfills(Fixture.traffic.path, [base] + names.map { base.only($0) })
        for (i, name) in names.enumerated() {
            let together = runs[0].filter { $0.contains("\"detector\":\"\(name)\"") }
            #expect(together == runs[i + 1], "\(name): \(together.count) lines among all, \(runs[i + 1].count) alone")
        }
    }

    /// One read serves several detectors' sweeps, on one thread or several.
    @Test func severalDetectorsInOneReadOnAnyNumberOfThreads() throws {
        let requests = [
            SweepRequest(detector: "size", sweeps: [try SweepSpec.parse("threshold=3,5", detector: "size")]),
            SweepRequest(detector: "rate", sweeps: [try SweepSpec.parse("cooldown=1m,15m", detector: "rate")]),
        ]
        let one = try tuner(Fixture.traffic.path, threads: 1).sweep(requests, base: ChunkWatchConfig())
        let three = try tuner(Fixture.traffic.path, threads: 3).sweep(requests, base: ChunkWatchConfig())
        #expect(one.map(\.detector) == ["size", "rate"])
        #expect(one.flatMap { $0.rows.map { $0.alerts.map(\.jsonLine) } } == three.flatMap { $0.rows.map { $0.alerts.map(\.jsonLine) } })
        #expect(one[0].stats == three[0].stats)
        #expect(one[0].stats.events > 50_000 && one[0].stats.principals >= 5)
    }
}

func firstDifference(_ a: [String], _ b: [String]) -> String {
    for (i, (x, y)) in zip(a, b).enumerated() where x != y { return "line \(i + 1):\n  sweep    \(x)  backfill \(y)" }
    if a.count != b.count { return "line \(min(a.count, b.count) + 1): \(a.count > b.count ? "sweep" : "backfill") has more: \((a.count > b.count ? a : b)[min(a.count, b.count)])" }
    return "identical"
}
