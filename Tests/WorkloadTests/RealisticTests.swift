import ChunkModel
import Foundation
import Testing

@testable import Workload

/// The realistic profile: deterministic, and every feature it promises is
/// visible in the stream it writes.
@Suite struct RealisticDeterminismTests {
    static let small = WorkloadConfig(principals: 6, hours: 6, seed: 7, profile: .realistic, warmupHours: 3)

    @Test func sameSeedGivesIdenticalBytesAndAnotherSeedOthers() {
        let a = RealisticRun(Self.small)
        let b = RealisticRun(Self.small)
        var other = Self.small
        other.seed = 8
        let c = RealisticRun(other)
        #expect(a.bytes.count > 10_000)
        #expect(a.bytes == b.bytes)
        #expect(a.labelLines == b.labelLines)
        #expect(a.bytes != c.bytes)
        #expect(Array(a.bytes.prefix(200)) != Array(c.bytes.prefix(200)))
    }

    /// The steady profile's bytes, labels first, for one small configuration:
    /// pinned from the generator before the realistic profile existed.
    @Test func steadyIsUnchanged() {
        var generator = try! WorkloadGenerator(config: WorkloadConfig(principals: 6, hours: 4, seed: 5))
        var out = OutputBuffer(capacity: 1 << 20)
        generator.writeLabels(to: &out)
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var count = 0
        repeat {
            for byte in out.bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
            count += out.count
            out.removeAll()
        } while generator.fill(into: &out, upToBytes: 1 << 20) > 0
        #expect(count == 9_148_310)
        #expect(String(hash, radix: 16) == "8a5497753f456bbc")
    }
}

@Suite struct RealisticShapeTests {
    let run = RealisticRuns.weekend
    static let day: Int64 = 86_400_000

    func local(_ ms: Int64, _ p: PrincipalProfile) -> Int64 { ms + (p.realistic?.utcOffset ?? 0) / 1_000_000 }
    func weekday(_ localMs: Int64) -> Int { Timestamp(epochMilliseconds: localMs).dayOfWeek }

    @Test func everyLineIsAChunkEventInTimeOrder() {
        #expect(run.problems.isEmpty, "\(run.problems.prefix(3))")
        #expect(run.events.count > 100_000)
        #expect(run.labels.isEmpty)
    }

    @Test func peopleWorkTheirOwnWeekdaysInTheirOwnTimeZones() throws {
        let people = run.principals.filter { $0.role == .human }
        #expect(people.count == 3)
        #expect(Set(people.map { $0.realistic?.utcOffset ?? 0 }).count >= 2, "people share one time zone")
        for p in people {
            let days = run.events(of: p.index).map { weekday(local($0.ms, p)) }
            #expect(!days.contains { $0 >= 5 }, "\(p.name) has events on a local weekend day")
        }
        // Friday afternoon in the Americas is inside the run, so someone works.
        #expect(people.contains { !run.events(of: $0.index).isEmpty })
    }

    @Test func peopleDipAtLunch() {
        var byHour = Array(repeating: 0, count: 24)
        for p in run.principals where p.role == .human {
            for e in run.events(of: p.index) { byHour[Int((local(e.ms, p) % Self.day) / 3_600_000)] += 1 }
        }
        let around = Double(byHour[10] + byHour[14]) / 2
        #expect(Double(byHour[12]) < 0.4 * around, "lunch \(byHour[12]) against \(around) around it")
    }

    @Test func nightlyJobsRunAtLeastTwentyTimesTheirDaytimeRate() throws {
        let job = try #require(run.principals.first { $0.realistic?.pattern == .nightlyJob })
        let shape = try #require(job.realistic)
        var night = 0
        var nightMs: Int64 = 0
        var plans: [RealisticShape.DayPlan] = []
        for d in shape.localDay(of: run.config.start.nanoseconds)...shape.localDay(of: run.config.endNanoseconds) {
            plans.append(shape.plan(localDay: d))
        }
        let events = run.events(of: job.index)
        for plan in plans {
            let a = max(plan.jobStart, run.config.start.nanoseconds) / 1_000_000
            let b = min(plan.jobEnd, run.config.endNanoseconds) / 1_000_000
            guard b > a else { continue }
            nightMs += b - a
            night += events.filter { $0.ms >= a && $0.ms < b }.count
        }
        // Daytime: 10:00-16:00 local.
        let day = events.filter {
            let h = (local($0.ms, job) % Self.day) / 3_600_000
            return h >= 10 && h < 16
        }.count
        let dayMs = Double(plans.filter { p in
            let a = p.midnight / 1_000_000 + 10 * 3_600_000
            return a >= run.config.start.epochMilliseconds && a + 6 * 3_600_000 <= run.config.endNanoseconds / 1_000_000
        }.count) * 6 * 3_600_000
        #expect(nightMs > 0 && dayMs > 0)
        let ratio = (Double(night) / Double(nightMs)) / (Double(day) / dayMs)
        #expect(ratio >= 20, "nightly rate only \(ratio)× the daytime rate")
    }

    @Test func sizesHaveABulkModeOfTenToTwentyPercentWithFrameSizes() {
        var keyCounts: [Int: (all: Int, bulk: Int)] = [:]
        var frames: [Int64: Int] = [:]
        for e in run.events {
            let p = run.principals[e.principal]
            guard let r = p.resources.firstIndex(of: e.resource) else { continue }
            let key = e.principal * 64 + r * 2 + (e.outbound ? 1 : 0)
            let usual = p.medianSize(resource: r, outbound: e.outbound)
            var c = keyCounts[key, default: (0, 0)]
            c.all += 1
            if Double(e.size) >= 10 * usual { c.bulk += 1 }
            keyCounts[key] = c
            if RealisticPopulation.frameSizes.contains(e.size) { frames[e.size, default: 0] += 1 }
        }
        let total = keyCounts.values.reduce(0) { $0 + $1.all }
        let bulk = keyCounts.values.reduce(0) { $0 + $1.bulk }
        let share = Double(bulk) / Double(total)
        #expect(share >= 0.10 && share <= 0.20, "bulk share \(share)")
        for (key, c) in keyCounts where c.all >= 5_000 {
            let s = Double(c.bulk) / Double(c.all)
            #expect(s >= 0.08 && s <= 0.22, "key \(key): bulk share \(s) of \(c.all)")
        }
        #expect(frames.count >= 2, "frame sizes seen: \(frames)")
        #expect(Double(frames.values.reduce(0, +)) > 0.03 * Double(total))
    }

    /// Sessions are connections of their own: P(N ≥ k) ≈ k^-α with α in 1.3–1.8.
    @Test func chunksPerSessionHaveAParetoTail() {
        var perConn: [String: Int] = [:]
        for e in run.events { perConn[e.conn, default: 0] += 1 }
        let n = Double(perConn.count)
        let ge10 = Double(perConn.values.filter { $0 >= 10 }.count)
        let ge100 = Double(perConn.values.filter { $0 >= 100 }.count)
        let alpha = PortableMath.log(ge10 / ge100) / PortableMath.log(10)
        #expect(ge10 / n > 0.01 && ge10 / n < 0.06, "P(N ≥ 10) = \(ge10 / n)")
        #expect(alpha > 1.1 && alpha < 2.0, "tail index \(alpha)")
        #expect((perConn.values.max() ?? 0) >= 500)
    }

    @Test func replicasShareOneLoad() throws {
        let replicas = run.principals.filter(\.isReplica)
        let group = try #require(replicas.first?.realistic?.replicaGroup)
        let members = replicas.filter { $0.realistic?.replicaGroup == group }
        #expect(members.count >= 2)
        #expect(Set(members.map(\.resources)).count == 1, "replicas serve different resources")
        func counts(_ p: PrincipalProfile) -> [Double] {
            var c = Array(repeating: 0.0, count: Int(run.config.hours * 4))
            for e in run.events(of: p.index) {
                c[min(c.count - 1, Int((e.ms - run.config.start.epochMilliseconds) / 900_000))] += 1
            }
            return c
        }
        let a = counts(members[0])
        let b = counts(members[1])
        #expect(correlation(a, b) > 0.5, "replicas' 15-minute counts correlate only \(correlation(a, b))")
    }

    @Test func servicesRunRoundTheClockWithADiurnalSwing() {
        for p in run.principals where p.role == .service {
            var hours = Array(repeating: 0, count: Int(run.config.hours))
            for e in run.events(of: p.index) {
                hours[Int((e.ms - run.config.start.epochMilliseconds) / 3_600_000)] += 1
            }
            #expect(hours.allSatisfy { $0 > 0 }, "\(p.name) has a silent hour")
            let sorted = hours.sorted()
            #expect(Double(sorted[sorted.count - 3]) > 1.5 * Double(sorted[2]), "\(p.name) is flat: \(hours)")
        }
    }

    private func correlation(_ a: [Double], _ b: [Double]) -> Double {
        let ma = a.reduce(0, +) / Double(a.count)
        let mb = b.reduce(0, +) / Double(b.count)
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in a.indices {
            sab += (a[i] - ma) * (b[i] - mb)
            saa += (a[i] - ma) * (a[i] - ma)
            sbb += (b[i] - mb) * (b[i] - mb)
        }
        return sab / (saa * sbb).squareRoot()
    }
}

@Suite struct RealisticAnomalyTests {
    let run = RealisticRuns.anomalous

    func window(_ scenario: RealisticScenario) throws -> (label: LabelWindow, principal: Int) {
        let label = try #require(run.labels.first { $0.scenario == scenario.rawValue }, "no \(scenario.rawValue) label")
        return (label, try #require(run.index(of: label.principal)))
    }

    func inside(_ e: RealisticRun.Event, _ l: LabelWindow) -> Bool {
        e.ms > l.start.epochMilliseconds && e.ms < l.end.epochMilliseconds
    }

    /// The evaluation's setup (30 principals, 36 h, warm-up 24 h) holds every
    /// scenario on a principal of its own, after the warm-up, for each seed.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func everyScenarioIsLabelledAfterTheWarmUp(seed: UInt64) throws {
        let config = WorkloadConfig(principals: 30, hours: 36, seed: seed, profile: .realistic, warmupHours: 24)
        let generator = try WorkloadGenerator(config: config)
        #expect(generator.unplacedAnomalies.isEmpty, "\(generator.unplacedAnomalies)")
        #expect(generator.labels.count == RealisticScenario.allCases.count)
        #expect(Set(generator.labels.map(\.principal)).count == generator.labels.count)
        let warmupEnd = config.start + .seconds(24 * 3600)
        for scenario in RealisticScenario.allCases {
            let label = try #require(generator.labels.first { $0.scenario == scenario.rawValue }, "no \(scenario.rawValue)")
            #expect(label.kind == scenario.kind)
            #expect(label.start >= warmupEnd && label.end <= generator.end && label.start <= label.end)
            #expect(label.jsonLine.contains("\"scenario\":\"\(scenario.rawValue)\""))
        }
    }

    @Test func theStreamIsValidAndEveryScenarioPlaced() {
        #expect(run.problems.isEmpty, "\(run.problems.prefix(3))")
        #expect(Set(run.labels.compactMap(\.scenario)) == Set(RealisticScenario.allCases.map(\.rawValue)))
    }

    @Test func replicaStopSilencesOneReplicaWhileItsSiblingsGoOn() throws {
        let (label, p) = try window(.replicaStop)
        #expect(label.end - label.start == .seconds(45 * 60))
        #expect(!run.events(of: p).contains { inside($0, label) })
        let group = run.principals[p].realistic?.replicaGroup
        let siblings = run.principals.filter { $0.index != p && $0.isReplica && $0.realistic?.replicaGroup == group }
        #expect(!siblings.isEmpty)
        for s in siblings { #expect(run.events(of: s.index).contains { inside($0, label) }, "\(s.name) stopped too") }
        // And it comes back.
        #expect(run.events(of: p).contains { $0.ms > label.end.epochMilliseconds })
    }

    @Test func serviceStopIsSilentThenResumes() throws {
        let (label, p) = try window(.serviceStop)
        let events = run.events(of: p)
        #expect(!events.contains { inside($0, label) })
        #expect(events.contains { $0.ms > label.end.epochMilliseconds })
        #expect(events.contains { $0.ms < label.start.epochMilliseconds })
    }

    @Test func lateWorkIsAnHourPastTheDaysClose() throws {
        let (label, p) = try window(.lateWork)
        let person = run.principals[p]
        let shape = try #require(person.realistic)
        let plan = shape.plan(localDay: shape.localDay(of: label.start.nanoseconds))
        #expect(plan.weekday < 5 && label.start.nanoseconds == plan.close)
        #expect(label.end - label.start == .seconds(3600))
        let late = run.events(of: p).filter { $0.ms > label.start.epochMilliseconds + 40 * 60_000 && $0.ms <= label.end.epochMilliseconds }
        #expect(late.count > 10, "only \(late.count) events in the last 20 minutes of late work")
    }

    @Test func nightActivityIsAtThreeInTheMorningLocalOnAWeekday() throws {
        let (label, p) = try window(.nightActivity)
        let offset = (run.principals[p].realistic?.utcOffset ?? 0) / 1_000_000
        let local = label.start.epochMilliseconds + offset
        #expect((local % 86_400_000) / 3_600_000 == 3)
        #expect(Timestamp(epochMilliseconds: local).dayOfWeek < 5)
        #expect(run.events(of: p).contains { inside($0, label) })
    }

    @Test func burstMultipliesTheRateAndModerateRiseIsFifteenMinutes() throws {
        let (burst, p) = try window(.burst)
        let events = run.events(of: p)
        let length = burst.end.epochMilliseconds - burst.start.epochMilliseconds
        let during = Double(events.filter { inside($0, burst) }.count)
        let before = Double(events.filter { $0.ms >= burst.start.epochMilliseconds - 6 * length && $0.ms < burst.start.epochMilliseconds }.count) / 6
        #expect(during > 3 * before, "burst \(during) against \(before) before")
        let (rise, _) = try window(.moderateRise)
        #expect(rise.end - rise.start == .seconds(15 * 60))
        #expect(rise.kind == .rate)
    }

    @Test func sizeSpikeIsBeyondTheBulkMode() throws {
        let (label, p) = try window(.sizeSpike)
        let profile = run.principals[p]
        var largest = 0.0
        for r in 0..<profile.regularResourceCount {
            largest = max(largest, profile.medianSize(resource: r, outbound: false), profile.medianSize(resource: r, outbound: true))
        }
        let spikes = run.events(of: p).filter { inside($0, label) || $0.ms == label.start.epochMilliseconds || $0.ms == label.end.epochMilliseconds }
        #expect(spikes.contains { Double($0.size) >= 500 * largest }, "no chunk 500× the usual \(largest)")
        // Its bulk mode stays below that.
        let bulkMax = run.events(of: p).filter { !label.holds($0) }.map(\.size).max() ?? 0
        #expect(Double(bulkMax) < 500 * largest)
    }
}

extension LabelWindow {
    func holds(_ e: RealisticRun.Event) -> Bool { e.ms >= start.epochMilliseconds && e.ms <= end.epochMilliseconds }
}
