import ChunkModel
import Testing
import Tuning

/// SPEC §5's rule on a hand-made case: an anomaly is detected when an alert for
/// its principal has first_ts in [start, end + grace].
@Suite("label metrics")
struct LabelScoreTests {
    static let t0 = Timestamp(rfc3339: "2026-11-23T08:00:00.000Z")!

    static func at(_ seconds: Int64) -> Timestamp { t0 + .seconds(seconds) }

    static func alert(_ principal: String, _ first: Int64, detector: String = "rate", status: Alert.Status = .firing) -> Alert {
        Alert(
            id: Alert.makeID(detector: detector, key: principal, firstTs: at(first)), status: status, detector: detector,
            severity: .high, score: 0.9, ts: at(first), emittedAt: .zero, principal: principal, message: "m",
            firstTs: at(first), lastTs: at(first))
    }

    static let labels = [
        AnomalyLabel(principal: "svc-a", start: at(0), end: at(600), kind: "rate"),
        AnomalyLabel(principal: "svc-b", start: at(1000), end: at(1000), kind: "rate"),
        AnomalyLabel(principal: "svc-c", start: at(5000), end: at(5100), kind: "rate"),
        AnomalyLabel(principal: "svc-d", start: at(0), end: at(60), kind: "size"),
    ]

    @Test func precisionRecallF1AndTimeToDetect() throws {
        let alerts = [
            Self.alert("svc-a", 120),  // detects svc-a, 2 min in
            Self.alert("svc-a", 300),  // svc-a again: a matching alert, not a second detection
            Self.alert("svc-b", 1300),  // exactly end + grace (300 s): detects svc-b, 5 min in
            Self.alert("svc-c", 4999),  // a second before the window: false
            Self.alert("svc-x", 120),  // no label for svc-x: false
            Self.alert("svc-d", 30),  // detects the size label: matches, but recall is over rate labels
            Self.alert("svc-a", 120, status: .resolved),  // resolved lines are not alerts
        ]
        let set = LabelSet(Self.labels, grace: .seconds(300), kinds: .detector)
        let s = set.score(alerts, detector: "rate")
        #expect(s.firing == 6)
        #expect(s.matchedAlerts == 4)
        #expect(s.precision == 4.0 / 6.0)
        #expect(s.wanted == 3)
        #expect(s.detected.map(\.principal) == ["svc-a", "svc-b"])
        #expect(s.missed.map(\.principal) == ["svc-c"])
        #expect(s.recall == 2.0 / 3.0)
        let p = 4.0 / 6.0, r = 2.0 / 3.0
        #expect(abs(s.f1! - 2 * p * r / (p + r)) < 1e-12)
        // Delays 120 s and 300 s: the median of two is their mean.
        #expect(s.medianTimeToDetect == .seconds(210))
    }

    @Test func graceIsInclusiveAndConfigurable() {
        let late = [Self.alert("svc-b", 1300)]
        #expect(LabelSet(Self.labels, grace: .seconds(300)).score(late, detector: "rate").detected.count == 1)
        #expect(LabelSet(Self.labels, grace: .seconds(299)).score(late, detector: "rate").detected.isEmpty)
        #expect(LabelSet(Self.labels, grace: .zero).score([Self.alert("svc-b", 1000)], detector: "rate").detected.count == 1)
    }

    @Test func labelKindsChooseWhatRecallIsOver() {
        let alerts = [Self.alert("svc-d", 30, detector: "size")]
        #expect(LabelSet(Self.labels, kinds: .detector).score(alerts, detector: "size").recall == 1)
        #expect(LabelSet(Self.labels, kinds: .all).score(alerts, detector: "size").recall == 0.25)
        #expect(LabelSet(Self.labels, kinds: .only(["rate"])).score(alerts, detector: "size").recall == 0)
    }

    @Test func noAlertsOrNoLabels() {
        let none = LabelSet(Self.labels).score([], detector: "rate")
        #expect(none.precision == nil)
        #expect(none.recall == 0)
        #expect(none.f1 == 0)
        #expect(none.medianTimeToDetect == nil)
        let unlabelled = LabelSet(Self.labels).score([Self.alert("svc-x", 1)], detector: "silence")
        #expect(unlabelled.recall == nil && unlabelled.f1 == nil && unlabelled.precision == 0)
    }

    @Test func labelsFileParses() throws {
        let text = """
            {"principal":"svc-a","start":"2026-11-23T08:00:00.000Z","end":"2026-11-23T08:10:00Z","kind":"rate"}

            {"principal":"svc-b","start":1795420800000,"end":1795420860000}\r
            """
        let labels = try AnomalyLabel.parse(text)
        #expect(labels.count == 2)
        #expect(labels[0].end == Self.at(600))
        #expect(labels[1].kind == "")
        #expect(labels[1].start == Timestamp(epochMilliseconds: 1_795_420_800_000))
        #expect(throws: TuneError.self) { try AnomalyLabel.parse("{\"principal\":\"a\",\"start\":\"x\",\"end\":\"y\"}") }
        #expect(throws: TuneError.self) { try AnomalyLabel.parse("not json") }
        do {
            _ = try AnomalyLabel.parse("{\"principal\":\"a\",\"start\":5,\"end\":1}", file: "l.ndjson")
            Issue.record("end before start accepted")
        } catch {
            #expect(error.description.hasPrefix("l.ndjson:1:"))
        }
    }
}
