import Alerting
import ChunkModel
import Foundation
import Testing

@Suite struct AlertLifecycleTests {
    let symbols = SymbolTable()
    let t0 = Timestamp(rfc3339: "2026-11-25T08:00:00Z")!

    func anomaly(_ ts: Timestamp, score: Double = 0.9, key: UInt64 = 42, severity: Severity = .high) -> Anomaly {
        let p = Symbol("svc-billing")
        symbols.register(p, name: "svc-billing")
        return Anomaly(
            detector: "size", key: key, keyText: "svc-billing|pg://orders|out", ts: ts, score: score,
            severity: severity, principal: p, observed: 1_048_576, expected: 16384, threshold: 6,
            baseline: [("median", 16384), ("mad", 1900), ("n", 96)], message: "big chunk",
            cooldown: .seconds(600))
    }

    @Test func repeatsFoldIntoOneAlertThatResolvesAfterTheCooldown() throws {
        let life = AlertLifecycle(symbols: symbols, wallClock: { Timestamp(nanoseconds: 0) })
        var out: [Alert] = []
        life.record(anomaly(t0), { out.append($0) })
        life.record(anomaly(t0 + .seconds(60), score: 0.99, severity: .critical), { out.append($0) })
        life.record(anomaly(t0 + .seconds(300), score: 0.95), { out.append($0) })
        #expect(out.count == 1)
        #expect(out[0].status == .firing)
        life.advance(to: t0 + .seconds(899)) { out.append($0) }
        #expect(out.count == 1, "still within 600 s of the last repeat")
        life.advance(to: t0 + .seconds(901)) { out.append($0) }
        let resolved = try #require(out.last)
        #expect(out.count == 2)
        #expect(resolved.status == .resolved)
        #expect(resolved.id == out[0].id)
        #expect(resolved.count == 3)
        #expect(resolved.score == 0.99)
        #expect(resolved.severity == .critical)
        #expect(resolved.firstTs == t0)
        #expect(resolved.lastTs == t0 + .seconds(300))
        #expect(life.openCount == 0)
    }

    @Test func anAnomalyAfterTheCooldownOpensANewAlertWithANewID() {
        let life = AlertLifecycle(symbols: symbols)
        var out: [Alert] = []
        life.record(anomaly(t0), { out.append($0) })
        life.record(anomaly(t0 + .seconds(3600)), { out.append($0) })
        #expect(out.map(\.status) == [.firing, .resolved, .firing])
        #expect(out[0].id == out[1].id)
        #expect(out[2].id != out[0].id)
    }

    /// A key that fires again after its cooldown resolves its own alert
    /// first, and only its own: another key's expired alert waits for the
    /// next tick, which every shard sees at the same place in the stream.
    /// (It used to resolve every expired alert of the detector in the shard,
    /// so which alerts resolved when depended on how keys were sharded.)
    @Test func firingAgainResolvesOnlyThatKeysExpiredAlert() {
        let life = AlertLifecycle(symbols: symbols)
        var out: [Alert] = []
        life.record(anomaly(t0, key: 1), { out.append($0) })
        life.record(anomaly(t0, key: 2), { out.append($0) })
        life.record(anomaly(t0 + .seconds(3600), key: 1), { out.append($0) })
        #expect(out.map(\.status) == [.firing, .firing, .resolved, .firing])
        #expect(out[2].id == out[0].id, "key 1's own alert resolved")
        #expect(life.openCount == 2, "key 2's expired alert is still open until the next tick")
        life.advance(to: t0 + .seconds(3601)) { out.append($0) }
        #expect(out.last?.id == out[1].id && out.last?.status == .resolved)
    }

    @Test func idsAreDeterministic() {
        let a = Alert.makeID(detector: "size", key: "svc|pg://x|in", firstTs: t0)
        #expect(a == Alert.makeID(detector: "size", key: "svc|pg://x|in", firstTs: t0))
        #expect(a != Alert.makeID(detector: "rate", key: "svc|pg://x|in", firstTs: t0))
        #expect(a != Alert.makeID(detector: "size", key: "svc|pg://x|out", firstTs: t0))
        #expect(a != Alert.makeID(detector: "size", key: "svc|pg://x|in", firstTs: t0 + .milliseconds(1)))
        #expect(a.count == 16 && a.allSatisfy(\.isHexDigit))
    }

    @Test func alertLineHasEverySpecField() throws {
        let life = AlertLifecycle(symbols: symbols, wallClock: { Timestamp(rfc3339: "2026-11-25T08:00:03.121Z")! })
        var out: [Alert] = []
        life.record(anomaly(Timestamp(rfc3339: "2026-11-25T08:00:03.12Z")!), { out.append($0) })
        let line = try #require(out.first).jsonLine
        #expect(line.hasSuffix("}\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        for key in ["id", "status", "detector", "severity", "score", "ts", "emitted_at", "principal", "observed", "expected",
            "threshold", "baseline", "message", "count", "first_ts", "last_ts"]
        {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["ts"] as? String == "2026-11-25T08:00:03.120Z")
        #expect(object["emitted_at"] as? String == "2026-11-25T08:00:03.121Z")
        #expect((object["baseline"] as? [String: Any])?["median"] as? Int == 16384)
        #expect(object["resource"] == nil, "resource is written only when known")
    }

    @Test func nullFiguresAreWrittenAsNull() throws {
        let alert = Alert(
            id: "0000000000000001", status: .firing, detector: "custom", severity: .info, score: 0.5, ts: t0,
            emittedAt: t0, principal: "p\"q", message: "line\nbreak", firstTs: t0, lastTs: t0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(alert.jsonLine.utf8)) as? [String: Any])
        #expect(object["observed"] is NSNull)
        #expect(object["baseline"] is NSNull)
        #expect(object["principal"] as? String == "p\"q")
        #expect(object["message"] as? String == "line\nbreak")
    }

    @Test func ndjsonFileSinkWritesEachAlertOnItsOwnLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-\(UInt32.random(in: 0...UInt32.max)).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try NDJSONAlertSink(path: path)
        let life = AlertLifecycle(symbols: symbols)
        life.record(anomaly(t0), sink.emit)
        life.resolveAll(sink.emit)
        try sink.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains("\"status\":\"firing\"") && lines[1].contains("\"status\":\"resolved\""))
    }
}
