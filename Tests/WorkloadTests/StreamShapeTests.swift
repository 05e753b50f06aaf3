import ChunkModel
import Foundation
import Testing
import Workload

/// The stream as a consumer sees it: valid SPEC §2 lines, in time order, with
/// the variety the detectors need to be exercised.
@Suite struct StreamShapeTests {
    let run = Runs.anomalous

    @Test func everyLineIsAValidChunkEvent() {
        #expect(run.problems.isEmpty, "\(run.problems.prefix(3))")
        #expect(run.events.count > 100_000)
    }

    @Test func timestampsNeverGoBackwards() {
        var previous = Int64.min
        var backwards = 0
        for e in run.events {
            if e.ms < previous { backwards += 1 }
            previous = e.ms
        }
        #expect(backwards == 0)
        let start = run.config.start.epochMilliseconds
        #expect(run.events.first!.ms >= start)
        // Sink copies may trail the last chunk by up to 20 ms.
        #expect(run.events.last!.ms <= start + Int64(run.config.hours * 3_600_000) + 20)
    }

    @Test func bothTimestampFormsAppear() {
        #expect(run.events.contains { $0.tsIsInteger })
        #expect(run.events.contains { !$0.tsIsInteger })
        // A principal sticks to one form.
        var form: [String: Bool] = [:]
        for e in run.events {
            if let f = form[e.principal] { #expect(f == e.tsIsInteger) } else { form[e.principal] = e.tsIsInteger }
        }
    }

    @Test func populationHasEveryRole() {
        let roles = run.principals.map(\.role)
        #expect(roles.filter { $0 == .service }.count == 5)
        #expect(roles.filter { $0 == .human }.count == 3)
        #expect(roles.filter { $0 == .batch }.count == 1)
        #expect(Set(run.principals.map(\.name)).count == run.principals.count)
        #expect(run.principals.contains { $0.name.hasPrefix("svc-") })
        #expect(run.principals.contains { $0.name.hasSuffix("@corp") })
        #expect(run.principals.contains { $0.name.hasPrefix("job-") })
    }

    @Test func peopleWorkOfficeHoursOnly() {
        // 12 h from Monday 00:00: people are active 08:00–12:00, apart from the
        // one an off-hours novelty was injected on.
        let night = Set(run.labels.filter { $0.kind == .novelty }.map(\.principal))
        for p in run.principals where p.role == .human && !night.contains(p.name) {
            let events = run.events(of: p.name)
            #expect(!events.isEmpty)
            #expect(events.allSatisfy { (8..<18).contains($0.hour) }, "\(p.name)")
        }
    }

    @Test func labelsAppearOnSomeLines() {
        let labelled = run.events.filter { $0.labels != nil }
        #expect(!labelled.isEmpty)
        #expect(labelled.count < run.events.count)
        #expect(labelled.allSatisfy { !$0.labels!.isEmpty })
    }

    @Test func bothDirectionsAndSeveralOps() {
        #expect(Set(run.events.map(\.dir)) == ["in", "out"])
        #expect(Set(run.events.map(\.op)).isSuperset(of: ["read", "write"]))
        let out = run.events.filter { $0.dir == "out" }.count
        #expect(out > run.events.count / 2)  // replies are the majority
    }

    /// Each two-hop principal reports every chunk at the gateway and again at
    /// the sink, with the same conn/dir/seq/size, 1–20 ms later.
    @Test func twoHopPrincipalsReportEveryChunkTwice() throws {
        let twoHop = run.principals.filter(\.twoHop).map(\.name)
        #expect(!twoHop.isEmpty)
        let name = try #require(twoHop.first)
        let events = run.events(of: name)
        struct Key: Hashable {
            var conn: String
            var dir: String
            var seq: Int64
        }
        var gateway: [Key: [ParsedEvent]] = [:]
        for e in events where e.hop == "gateway" { gateway[Key(conn: e.conn, dir: e.dir, seq: e.seq), default: []].append(e) }
        var sinks = 0
        for e in events where e.hop == "sink" {
            sinks += 1
            let matches = gateway[Key(conn: e.conn, dir: e.dir, seq: e.seq)] ?? []
            #expect(matches.contains { g in g.size == e.size && e.ms - g.ms >= 0 && e.ms - g.ms <= 20 })
        }
        #expect(sinks == events.count / 2)
        #expect(events.allSatisfy { $0.hop == "gateway" || $0.hop == "sink" })
        // Single-hop principals do not name a hop.
        #expect(run.events.filter { !twoHop.contains($0.principal) }.allSatisfy { $0.hop == nil })
    }

    /// seq counts 0, 1, 2 … per conn × dir (× hop); the only exception is the
    /// replay injected for the integrity anomaly.
    @Test func seqIsConsecutivePerConnectionAndDirection() {
        struct Key: Hashable {
            var conn: String
            var dir: String
            var hop: String?
        }
        var next: [Key: Int64] = [:]
        var breaks: [(ParsedEvent, Int64)] = []
        for e in run.events {
            let key = Key(conn: e.conn, dir: e.dir, hop: e.hop)
            let expected = next[key] ?? 0
            if e.seq != expected { breaks.append((e, expected)) }
            next[key] = max(expected, e.seq + 1)
        }
        let integrity = run.labels.first { $0.kind == .integrity }
        #expect(integrity != nil)
        #expect(breaks.count == 2, "one replay at each hop")
        for (e, expected) in breaks {
            #expect(e.principal == integrity?.principal)
            #expect(e.seq < expected, "a replay repeats an earlier seq")
            #expect(integrity?.holds(e) == true)
        }
    }

    @Test func connectionsBelongToOnePrincipal() {
        var owner: [String: String] = [:]
        for e in run.events {
            if let o = owner[e.conn] { #expect(o == e.principal) } else { owner[e.conn] = e.principal }
        }
        #expect(owner.count > 50)
    }

    /// Sizes are lognormal per key, so its median and spread stay plausible and
    /// the population spans small and large principals.
    @Test func sizesAreLognormalPerKeyAndVaryAcrossPrincipals() {
        let clean = Runs.clean
        struct Key: Hashable {
            var principal: String
            var resource: String
            var dir: String
        }
        var byKey: [Key: [Double]] = [:]
        for e in clean.events where e.hop != "sink" {
            byKey[Key(principal: e.principal, resource: e.resource, dir: e.dir), default: []].append(Double(e.size))
        }
        var medians: [Double] = []
        for (_, sizes) in byKey where sizes.count >= 200 {
            let logs = sizes.map { Foundation.log($0) }.sorted()
            let m = logs[logs.count / 2]
            medians.append(Foundation.exp(m))
            // Quartiles of a normal sit 0.674 sigma from the median: sigma 0.3–0.8.
            let sigma = (logs[logs.count * 3 / 4] - logs[logs.count / 4]) / (2 * 0.674)
            #expect(sigma > 0.2 && sigma < 0.95)
            #expect(Foundation.exp(logs.last!) / Foundation.exp(m) < 100, "no heavy tail within a key")
        }
        #expect(medians.count >= 5)
        #expect(medians.min()! >= 150 && medians.max()! <= 300_000)
        #expect(medians.max()! / medians.min()! > 10)
    }
}
