import ChunkModel
import Testing
import Workload

@Suite struct DeterminismTests {
    static let small = WorkloadConfig(principals: 4, hours: 2, seed: 7)

    @Test func sameSeedGivesIdenticalBytes() {
        let a = GeneratedRun(Self.small, parse: false)
        let b = GeneratedRun(Self.small, parse: false)
        #expect(a.bytes.count > 10_000)
        #expect(a.bytes == b.bytes)
        #expect(a.labelLines == b.labelLines)
    }

    @Test func differentSeedGivesDifferentStream() {
        var other = Self.small
        other.seed = 8
        let a = GeneratedRun(Self.small, parse: false)
        let b = GeneratedRun(other, parse: false)
        #expect(a.bytes != b.bytes)
        #expect(Array(a.bytes.prefix(200)) != Array(b.bytes.prefix(200)))
    }

    @Test func lineAtATimeMatchesBufferFills() {
        var generator = try! WorkloadGenerator(config: Self.small)
        var lines = OutputBuffer()
        while let line = generator.nextLine() {
            lines.append(line)
            lines.append(UInt8(ascii: "\n"))
        }
        #expect(lines.bytes == GeneratedRun(Self.small, parse: false).bytes)
        #expect(generator.linesWritten > 0)
        #expect(generator.nextLine() == nil)
    }

    @Test func fillStopsAtTheHorizon() throws {
        var generator = try! WorkloadGenerator(config: Self.small)
        let horizon = Self.small.start + .seconds(60)
        var out = OutputBuffer()
        let n = generator.fill(into: &out, upToBytes: .max, before: horizon)
        #expect(n > 0)
        #expect(out.string.split(separator: "\n").count == n)
        let next = try #require(generator.nextEventTime)
        #expect(next >= horizon)
        // The next line carries the time nextEventTime announced.
        let nextLine = generator.nextLine()
        let line = try #require(nextLine)
        let t = GeneratedRun.timestampMilliseconds(line)
        #expect(t == next.epochMilliseconds)
    }

    @Test func startOptionMovesTheRun() {
        var config = Self.small
        config.start = Timestamp(rfc3339: "2027-01-04T00:00:00Z")!
        config.principals = 2
        config.hours = 0.5
        let run = GeneratedRun(config)
        #expect(run.problems.isEmpty)
        #expect(run.events.allSatisfy { $0.ms >= config.start.epochMilliseconds })
        #expect(run.events.allSatisfy { $0.ms < config.start.epochMilliseconds + 1_800_000 + 20 })
    }

    @Test(arguments: [
        WorkloadConfig(principals: 0), WorkloadConfig(hours: 0), WorkloadConfig(hours: -1),
        WorkloadConfig(hours: .nan), WorkloadConfig(principals: WorkloadConfig.maxPrincipals + 1),
    ])
    func invalidConfigurationsAreRejected(config: WorkloadConfig) {
        #expect(config.problem != nil)
        #expect(throws: InvalidWorkloadConfig.self) { try WorkloadGenerator(config: config) }
    }

    @Test func tinyPopulationsRunAndReportWhatDidNotFit() throws {
        for principals in 1...4 {
            let run = GeneratedRun(WorkloadConfig(principals: principals, hours: 1, seed: 3))
            #expect(run.problems.isEmpty)
            #expect(!run.events.isEmpty)
            let generator = try WorkloadGenerator(config: WorkloadConfig(principals: principals, hours: 1, seed: 3))
            // Every requested kind is either labelled or reported as not injected.
            let covered = Set(generator.labels.map(\.kind)).union(generator.unplacedAnomalies.map(\.kind))
            #expect(covered == Set(AnomalyKind.allCases))
        }
    }
}

extension GeneratedRun {
    /// The `ts` of one line in epoch milliseconds, whichever form it has.
    static func timestampMilliseconds(_ line: String) -> Int64? {
        guard line.hasPrefix("{\"ts\":") else { return nil }
        let rest = line.dropFirst(6)
        if rest.first == "\"" {
            return Timestamp(rfc3339: String(rest.dropFirst().prefix(24)))?.epochMilliseconds
        }
        return Int64(rest.prefix { $0.isNumber })
    }
}
