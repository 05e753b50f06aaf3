import ChunkModel
import Testing
import Workload

/// Each label window holds the behaviour it claims, and nothing of it leaks
/// into a clean run.
@Suite struct AnomalyTests {
    let run = Runs.anomalous

    func window(_ kind: AnomalyKind) throws -> LabelWindow {
        try #require(run.labels.first { $0.kind == kind }, "no \(kind) label")
    }

    @Test func everyKindHasAWindowOnItsOwnPrincipal() {
        #expect(Set(run.labels.map(\.kind)) == Set(AnomalyKind.allCases))
        #expect(run.labels.filter { $0.kind == .novelty }.count == 2)
        #expect(Set(run.labels.map(\.principal)).count == run.labels.count)
        let start = run.config.start.epochMilliseconds
        let end = start + Int64(run.config.hours * 3_600_000)
        for label in run.labels {
            // After the first quarter (3 h here) and within the run.
            #expect(label.start.epochMilliseconds >= start + 3 * 3_600_000, "\(label.jsonLine)")
            #expect(label.start <= label.end)
            #expect(label.end.epochMilliseconds <= end)
        }
    }

    @Test func labelLinesHaveTheSpecShape() {
        #expect(run.labelLines.count == run.labels.count)
        for (line, label) in zip(run.labelLines, run.labels) {
            let expected =
                "{\"principal\":\"\(label.principal)\",\"start\":\"\(label.start.rfc3339)\",\"end\":\"\(label.end.rfc3339)\",\"kind\":\"\(label.kind.rawValue)\"}"
            #expect(line == expected)
            #expect(line.contains(".") && line.contains("Z\""))
        }
    }

    @Test func sizeWindowHoldsAChunkFiftyTimesTheMedian() throws {
        let w = try window(.size)
        let events = run.events(of: w.principal)
        let typical = median(events.map(\.size))
        let inside = events.filter { w.holds($0) }
        #expect(inside.contains { $0.size >= 50 * typical })
        #expect(w.end.epochMilliseconds - w.start.epochMilliseconds <= 60_000 + 20)
        // Nothing that large outside the window.
        #expect(!events.contains { !w.holds($0) && $0.size >= 50 * typical })
    }

    @Test func rateWindowIsASurge() throws {
        let w = try window(.rate)
        let events = run.events(of: w.principal)
        var perMinute: [Int64: Int] = [:]
        for e in events { perMinute[e.ms / 60_000, default: 0] += 1 }
        let typical = median(Array(perMinute.values))
        let firstFull = w.start.epochMilliseconds / 60_000 + 1
        let lastFull = (w.end.epochMilliseconds + 1) / 60_000 - 1
        #expect(lastFull >= firstFull + 2)
        for minute in firstFull..<lastFull {
            #expect(perMinute[minute, default: 0] >= 5 * typical, "minute \(minute)")
        }
        // The sizes stay normal during the surge.
        let inside = events.filter { w.holds($0) }
        #expect(median(inside.map(\.size)) < 2 * median(events.map(\.size)))
    }

    @Test func volumeWindowDoublesOutboundBytes() throws {
        let w = try window(.volume)
        let events = run.events(of: w.principal)
        let a = w.start.epochMilliseconds
        let length = w.end.epochMilliseconds - a
        let inside = events.filter { w.holds($0) }
        let before = events.filter { $0.ms >= a - length && $0.ms < a }
        func outBytes(_ xs: [ParsedEvent]) -> Double { Double(xs.filter { $0.dir == "out" }.reduce(0) { $0 + $1.size }) }
        func inCount(_ xs: [ParsedEvent]) -> Double { Double(xs.filter { $0.dir == "in" }.count) }
        #expect(outBytes(inside) >= 1.5 * outBytes(before))
        // Inbound traffic is unchanged: only outbound grows.
        let ratio = inCount(inside) / inCount(before)
        #expect(ratio > 0.8 && ratio < 1.25)
    }

    @Test func silenceWindowIsEmptyAndTrafficResumes() throws {
        let w = try window(.silence)
        let events = run.events(of: w.principal)
        #expect(!events.contains { w.holds($0) })
        #expect(events.contains { $0.ms < w.start.epochMilliseconds })
        #expect(events.contains { $0.ms > w.end.epochMilliseconds })
        #expect(w.end.epochMilliseconds - w.start.epochMilliseconds == 90 * 60_000)
    }

    @Test func integrityWindowHoldsEachKindOfMismatch() throws {
        let w = try window(.integrity)
        let inside = run.events(of: w.principal).filter { w.holds($0) }
        struct Chunk: Hashable {
            var conn: String
            var dir: String
            var seq: Int64
        }
        var byHop: [String: [Chunk: Set<String>]] = [:]
        for e in inside {
            byHop[e.hop ?? "gateway", default: [:]][Chunk(conn: e.conn, dir: e.dir, seq: e.seq), default: []].insert(e.checksum)
        }
        let gateway = byHop["gateway"] ?? [:]
        let sink = byHop["sink"] ?? [:]
        // The same chunk with different checksums at two hops.
        let hopMismatches = gateway.filter { key, sums in sums.count == 1 && sink[key].map { $0 != sums } == true }
        #expect(hopMismatches.count >= 2)
        // A declared checksum that does not match.
        #expect(inside.contains { $0.expectedChecksum != nil && $0.expectedChecksum != $0.checksum })
        // A replayed seq: one conn/dir/seq seen twice at a hop with different content.
        #expect(gateway.values.contains { $0.count == 2 })
        // Outside the window, everything agrees.
        let outside = run.events(of: w.principal).filter { !w.holds($0) }
        #expect(outside.allSatisfy { $0.expectedChecksum == nil || $0.expectedChecksum == $0.checksum })
    }

    @Test func noveltyWindowsHoldANewResourceAndOffHoursActivity() throws {
        let windows = run.labels.filter { $0.kind == .novelty }
        var newResource = false
        var offHours = false
        for w in windows {
            let events = run.events(of: w.principal)
            let inside = events.filter { w.holds($0) }
            let outside = events.filter { !w.holds($0) }
            #expect(!inside.isEmpty)
            let usual = Set(outside.map(\.resource))
            if inside.contains(where: { !usual.contains($0.resource) }) {
                newResource = true
                // The unknown resource appears nowhere else for this principal.
                #expect(inside.filter { !usual.contains($0.resource) }.count >= 3)
            }
            let usualHours = Set(outside.map(\.hour))
            if inside.allSatisfy({ !(8..<18).contains($0.hour) && !usualHours.contains($0.hour) }) {
                offHours = true
                #expect(inside.allSatisfy { $0.hour == 3 }, "03:00 UTC fits in this run")
            }
        }
        #expect(newResource)
        #expect(offHours)
    }

    @Test func changepointShiftsOneKeysMedianForTheRestOfTheRun() throws {
        let w = try window(.changepoint)
        #expect(w.end.epochMilliseconds == run.config.start.epochMilliseconds + Int64(run.config.hours * 3_600_000))
        let events = run.events(of: w.principal)
        var before: [String: [Int64]] = [:]
        var after: [String: [Int64]] = [:]
        for e in events {
            let key = e.resource + " " + e.dir
            if e.ms < w.start.epochMilliseconds { before[key, default: []].append(e.size) } else { after[key, default: []].append(e.size) }
        }
        var shifted = 0
        for (key, b) in before {
            guard let a = after[key], a.count >= 50, b.count >= 50 else { continue }
            let ratio = Double(median(a)) / Double(median(b))
            if ratio >= 1.4 { shifted += 1 } else { #expect(ratio > 0.8 && ratio < 1.25, "\(key)") }
        }
        #expect(shifted == 1)
        // The rate is unchanged: chunks per hour before and after within 30 %.
        let hoursBefore = Double(w.start.epochMilliseconds - run.config.start.epochMilliseconds) / 3_600_000
        let hoursAfter = Double(w.end.epochMilliseconds - w.start.epochMilliseconds) / 3_600_000
        let rateBefore = Double(before.values.reduce(0) { $0 + $1.count }) / hoursBefore
        let rateAfter = Double(after.values.reduce(0) { $0 + $1.count }) / hoursAfter
        #expect(rateAfter / rateBefore > 0.7 && rateAfter / rateBefore < 1.3)
    }

    @Test func cleanRunHasNoLabelsAndNoAnomalies() throws {
        let clean = Runs.clean
        #expect(clean.problems.isEmpty)
        #expect(clean.labels.isEmpty)
        #expect(clean.labelLines.isEmpty)
        #expect(clean.events.allSatisfy { $0.expectedChecksum == nil || $0.expectedChecksum == $0.checksum })
        let generator = try WorkloadGenerator(config: clean.config)
        #expect(generator.unplacedAnomalies.isEmpty)
        // No chunk 100× its key's median.
        var byKey: [String: [Int64]] = [:]
        for e in clean.events { byKey[e.principal + e.resource + e.dir, default: []].append(e.size) }
        for (_, sizes) in byKey where sizes.count >= 20 {
            #expect(sizes.max()! < 100 * median(sizes))
        }
    }

    @Test func anomaliesOnlyAlterTheirOwnPrincipals() {
        // Per-principal random streams: a principal without an anomaly sends the
        // same chunks whether or not others carry one.
        var config = Runs.clean.config
        config.anomalies = AnomalyKind.allCases
        let withAnomalies = GeneratedRun(config, parse: false)
        let touched = Set(withAnomalies.labels.map(\.principal))
        #expect(touched.count >= 3)
        var compared = 0
        let linesA = withAnomalies.linesByPrincipal()
        let linesB = Runs.clean.linesByPrincipal()
        for p in withAnomalies.principals {
            let a = linesA[p.name] ?? []
            let b = linesB[p.name] ?? []
            #expect(!a.isEmpty || p.role != .service)
            if touched.contains(p.name) {
                #expect(a != b, "\(p.name) carries an anomaly")
            } else {
                #expect(a == b, "\(p.name)")
                compared += 1
            }
        }
        #expect(compared >= 3)
    }
}

@Suite struct AnomalyKindTests {
    @Test func parsesLists() throws {
        #expect(try AnomalyKind.parseList("size,rate").get() == [.size, .rate])
        #expect(try AnomalyKind.parseList(" size , size,silence ").get() == [.size, .silence])
        #expect(try AnomalyKind.parseList("none").get() == [])
        #expect(try AnomalyKind.parseList("").get() == [])
        #expect(try AnomalyKind.parseList("all").get() == AnomalyKind.allCases)
        #expect(try AnomalyKind.parseList("Rate").get() == [.rate])
    }

    @Test func unknownKindIsNamedWithTheValidOnes() {
        guard case .failure(let error) = AnomalyKind.parseList("size,spike") else {
            Issue.record("accepted an unknown kind")
            return
        }
        #expect(error.word == "spike")
        #expect(error.description.contains("spike"))
        for kind in AnomalyKind.allCases { #expect(error.description.contains(kind.rawValue)) }
        #expect(!error.description.contains("\n"))
    }
}
