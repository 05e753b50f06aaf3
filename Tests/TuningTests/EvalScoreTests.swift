import ChunkModel
import Config
import Testing
import Tuning
import Workload

/// `eval`'s figures on a hand-made run where every one is known: the warm-up
/// cut, explained versus found, the grace edges, false alerts per detector.
@Suite("eval scoring")
struct EvalScoreTests {
    static let t0 = Timestamp(rfc3339: "2026-11-23T00:00:00.000Z")!
    /// The warm-up ends at 10:00.
    static let warmupEnd = at(36_000)

    static func at(_ seconds: Int64) -> Timestamp { t0 + .seconds(seconds) }

    static func alert(_ detector: String, _ principal: String, _ first: Int64, status: Alert.Status = .firing) -> Alert {
        Alert(
            id: Alert.makeID(detector: detector, key: principal, firstTs: at(first)), status: status, detector: detector,
            severity: .high, score: 0.9, ts: at(first), emittedAt: .zero, principal: principal, message: "m",
            firstTs: at(first), lastTs: at(first))
    }

    static let labels = [
        // Found by rate 60 s in, and by volume too.
        AnomalyLabel(principal: "svc-a", start: at(40_000), end: at(40_600), kind: "rate", scenario: "burst"),
        // Found only by novelty: counts in found, not in explained.
        AnomalyLabel(principal: "svc-b", start: at(40_000), end: at(40_100), kind: "rate", scenario: "moderate-rise"),
        // Found by size exactly at end + grace.
        AnomalyLabel(principal: "svc-c", start: at(50_000), end: at(50_000), kind: "size"),
        // A size alert one millisecond past end + grace: missed, and that alert is false.
        AnomalyLabel(principal: "svc-d", start: at(50_000), end: at(50_000), kind: "size"),
        // Nothing fires for it.
        AnomalyLabel(principal: "svc-e", start: at(60_000), end: at(61_000), kind: "silence"),
    ]

    static let alerts: [Alert] = {
        var late = alert("size", "svc-d", 0)
        late.firstTs = at(50_300) + .milliseconds(1)
        return [
            alert("rate", "svc-x", 100),  // before the warm-up's end: not counted at all
            alert("size", "svc-x", 35_999),  // a second before it: not counted
            alert("rate", "svc-x", 36_000),  // at its end: counted, and false
            alert("rate", "svc-a", 40_060),  // explains svc-a, 60 s in
            alert("volume", "svc-a", 40_030),  // another detector on the same label: matched, not false
            alert("novelty", "svc-b", 40_050),  // finds svc-b without explaining it
            alert("rate", "svc-b", 39_999),  // a second before svc-b's start: false
            alert("size", "svc-c", 50_300),  // exactly end + grace: explains svc-c, 300 s in
            late,  // 1 ms too late for svc-d: false
            alert("rate", "svc-a", 40_060, status: .resolved),  // resolved lines add nothing
        ]
    }()

    static let scorer = EvalScorer(
        grace: .seconds(300), warmupEnd: warmupEnd, detectors: ["size", "rate", "volume", "novelty", "silence"],
        kinds: ["size", "rate", "volume", "silence"])

    @Test func everyFigureOfAHandMadeRun() throws {
        let s = Self.scorer.score(Self.alerts, labels: Self.labels, principalDays: 2.5)
        #expect(s.runs == 1 && s.principalDays == 2.5)

        #expect(s.detectors.map(\.name) == ["size", "rate", "volume", "novelty", "silence"])
        #expect(s.detectors.map(\.alerts) == [2, 3, 1, 1, 0])
        #expect(s.detectors.map(\.falseAlerts) == [1, 2, 0, 0, 0])
        #expect(s.alerts == 7 && s.falseAlerts == 3)
        #expect(s.perPrincipalDay(s.falseAlerts) == 3 / 2.5)
        #expect(s.precision == 4.0 / 7.0)

        // Rows for every kind asked for, in that order, labelled or not.
        #expect(s.kinds.map(\.name) == ["size", "rate", "volume", "silence"])
        let rate = try #require(s.kinds.first { $0.name == "rate" })
        #expect(rate.labelled == 2 && rate.explained == 1 && rate.found == 2)
        #expect(rate.medianTimeToDetect == .seconds(60))
        #expect(rate.scenarios.map(\.name) == ["burst", "moderate-rise"])
        #expect(rate.scenarios.map(\.explained) == [1, 0])
        #expect(rate.scenarios.map(\.found) == [1, 1])
        let size = try #require(s.kinds.first { $0.name == "size" })
        #expect(size.labelled == 2 && size.explained == 1 && size.found == 1 && size.scenarios.isEmpty)
        #expect(size.medianTimeToDetect == .seconds(300))
        let volume = try #require(s.kinds.first { $0.name == "volume" })
        #expect(volume.labelled == 0 && volume.medianTimeToDetect == nil)
        let silence = try #require(s.kinds.first { $0.name == "silence" })
        #expect(silence.labelled == 1 && silence.found == 0)

        #expect(s.labelled == 5 && s.explained == 2 && s.found == 3)
        #expect(s.recall == 2.0 / 5.0)
        #expect(s.recallByAny == 3.0 / 5.0)
        #expect(s.medianTimeToDetect == .seconds(180))
    }

    @Test func runsAddUp() {
        let one = Self.scorer.score(Self.alerts, labels: Self.labels, principalDays: 2.5)
        var sum = EvalScore()
        sum.add(one)
        sum.add(Self.scorer.score([], labels: [Self.labels[2]], principalDays: 1.5))
        #expect(sum.runs == 2 && sum.principalDays == 4)
        #expect(sum.falseAlerts == 3 && sum.perPrincipalDay(sum.falseAlerts) == 0.75)
        #expect(sum.labelled == 6 && sum.explained == 2)
        // The median over both runs' explained labels: 60 s and 300 s.
        #expect(sum.medianTimeToDetect == .seconds(180))
        #expect(sum.kinds.first { $0.name == "rate" }?.scenarios.map(\.labelled) == [1, 1])
    }

    @Test func noAlertsNoLabels() {
        let s = Self.scorer.score([], labels: [], principalDays: 0)
        #expect(s.precision == nil && s.recall == nil && s.perPrincipalDay(0) == nil)
        #expect(s.detectors.allSatisfy { $0.alerts == 0 })
    }

    /// A whole small evaluation: found never exceeds labelled, the same
    /// figures for one thread and two, and the labels are the generator's.
    @Test func smallEvaluationIsDeterministic() throws {
        var e = Evaluation(profiles: [.steady], seeds: [1, 2], principals: 6, hours: 3, warmupHours: 1.5, threads: 1)
        let one = try e.run()
        e.threads = 2
        let two = try e.run()
        #expect(one.count == 1 && one[0].profile == .steady)
        #expect(one[0].score == two[0].score)
        let s = one[0].score
        #expect(s.runs == 2 && s.events > 0)
        #expect(s.principalDays == 2 * 6 * 1.5 / 24.0)
        let placed = try WorkloadGenerator(config: e.workload(profile: .steady, seed: 1)).labels.count
            + WorkloadGenerator(config: e.workload(profile: .steady, seed: 2)).labels.count
        #expect(s.labelled == placed && placed > 0)
        for k in s.kinds { #expect(k.explained <= k.found && k.found <= k.labelled, "\(k)") }
    }
}

/// The gates `eval` exits 1 on, over the hand-made run (3 false alerts in 2.5
/// principal-days = 1.2; recall 2/5 = 0.4).
@Suite("eval gates")
struct EvalGateTests {
    static let score = EvalScoreTests.scorer.score(EvalScoreTests.alerts, labels: EvalScoreTests.labels, principalDays: 2.5)

    @Test func passAtTheLimitsAndMissPastThem() {
        #expect(EvalGates().misses(profile: "steady", Self.score).isEmpty)
        #expect(EvalGates(maxFalsePerPrincipalDay: 1.2, minRecall: 0.4).misses(profile: "steady", Self.score).isEmpty)
        let both = EvalGates(maxFalsePerPrincipalDay: 1.19, minRecall: 0.41).misses(profile: "steady", Self.score)
        #expect(
            both == [
                "steady: 1.2 false alerts per principal-day after the warm-up (3 in 2.5 principal-days), above --max-false-per-principal-day 1.19",
                "steady: recall 0.4 (2 of 5 labels explained), below --min-recall 0.41",
            ])
    }

    @Test func recallWithoutLabelsMissesAndSaysWhy() {
        let empty = EvalScoreTests.scorer.score([], labels: [], principalDays: 1)
        let m = EvalGates(minRecall: 0).misses(profile: "steady", empty)
        #expect(m.count == 1 && m[0].contains("no anomaly was injected"))
        #expect(EvalGates(maxFalsePerPrincipalDay: 0).misses(profile: "steady", empty).isEmpty)
    }
}
