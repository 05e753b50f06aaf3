import ChunkModel
import Config
import Testing
import Tuning

@Suite("budgets and configuration diffs")
struct BudgetAndDiffTests {
    /// One sweep for every budget below.
    static let sizeSweep: Result<SweepResult, any Error> = Result {
        let spec = try SweepSpec.parse("threshold=1.5:6:0.5", detector: "size")
        // Without the tail test, so the threshold alone decides and the budget bites inside the range.
        var base = ChunkWatchConfig()
        base.size.tailThreshold = 0
        return try tuner(Fixture.traffic.path).sweep([SweepRequest(detector: "size", sweeps: [spec])], base: base)[0]
    }

    /// The pick stays within its budget, and the next more sensitive value does not.
    @Test(arguments: [1.0, 4.0, 20.0])
    func theBudgetPickHoldsAndTheNextMoreSensitiveValueDoesNot(budget: Double) throws {
        let result = try Self.sizeSweep.get()
        let rates = result.rows.map { $0.perPrincipalDay ?? 0 }
        // The budget must bite somewhere in the range for the test to say anything.
        #expect(rates.first! > budget && rates.last! <= budget, "rates \(rates)")
        let pick = BudgetPick(result, budget: budget)
        let chosen = try #require(pick.chosen)
        #expect(rates[chosen] <= budget)
        // The thresholds run upward: the next more sensitive value is the one before.
        #expect(chosen > 0 && rates[chosen - 1] > budget, "rates \(rates), chosen \(chosen)")
        // Nothing that fires more stays within the budget.
        for (i, row) in result.rows.enumerated() where row.firing > result.rows[chosen].firing {
            #expect(rates[i] > budget, "\(row.candidate.label) fires more and fits")
        }
        let next = try #require(pick.nextMoreSensitive)
        #expect(rates[next] > budget)
        #expect(pick.gaveUpAlerts == result.rows[pick.mostSensitive].firing - result.rows[chosen].firing)
        #expect(pick.explanation(result).joined().contains("within the budget"))
    }

    @Test func aBudgetNoCandidateMeetsChoosesNothingAndSaysSo() throws {
        let spec = try SweepSpec.parse("threshold=1,1.5", detector: "size")
        let result = try tuner(Fixture.traffic.path).sweep([SweepRequest(detector: "size", sweeps: [spec])], base: ChunkWatchConfig())[0]
        let pick = BudgetPick(result, budget: 0)
        #expect(result.rows.allSatisfy { $0.firing > 0 })
        #expect(pick.chosen == nil)
        #expect(pick.explanation(result).joined().contains("no candidate stays within"))
    }

    @Test func budgetsParse() throws {
        #expect(try BudgetPick.parseBudget("2/day") == 2)
        #expect(try BudgetPick.parseBudget("0.5") == 0.5)
        #expect(try BudgetPick.parseBudget("3/d") == 3)
        #expect(throws: TuneError.self) { try BudgetPick.parseBudget("lots") }
        #expect(throws: TuneError.self) { try BudgetPick.parseBudget("-1/day") }
    }

    /// A configuration compared with itself: no difference at all.
    @Test func aConfigurationComparedWithItselfGivesAnEmptyDiff() throws {
        let config = ChunkWatchConfig.from("detectors:\n  size:\n    threshold: 3\n")
        let (alerts, _) = try tuner(Fixture.traffic.path).replay([config, config])
        #expect(!alerts[0].isEmpty)
        let diff = ConfigDiff(a: alerts[0], b: alerts[1])
        #expect(diff.isEmpty)
        #expect(diff.groups.isEmpty)
        #expect(diff.same == Alert.final(alerts[0]).count)
    }

    /// A lower size threshold fires every alert a higher one does (the baselines
    /// do not depend on it), so what is only under the higher threshold is an
    /// alert whose first chunk the lower one folded into an alert opened earlier.
    @Test func twoThresholdsGiveTheExpectedOneSidedDifferences() throws {
        let low = ChunkWatchConfig.from("detectors:\n  size:\n    threshold: 2\n")
        let high = ChunkWatchConfig.from("detectors:\n  size:\n    threshold: 5\n")
        let never = ChunkWatchConfig.from("detectors:\n  size:\n    threshold: 1000\n")
        let (alerts, _) = try tuner(Fixture.traffic.path).replay([low, high, never])
        let size = alerts.map { $0.filter { $0.detector == "size" } }
        let lowFinal = Alert.final(size[0])
        let highFinal = Alert.final(size[1])
        #expect(lowFinal.count > highFinal.count && !highFinal.isEmpty, "\(lowFinal.count) vs \(highFinal.count)")

        let diff = ConfigDiff(a: size[0], b: size[1])
        #expect(!diff.onlyA.isEmpty)
        #expect(diff.onlyA.count + diff.same + diff.changed.count == lowFinal.count)
        #expect(diff.onlyB.count + diff.same + diff.changed.count == highFinal.count)
        for b in diff.onlyB {
            let folded = lowFinal.contains { $0.principal == b.principal && $0.resource == b.resource && $0.firstTs < b.firstTs && $0.lastTs >= b.firstTs }
            #expect(folded, "only under the higher threshold and not folded under the lower one: \(b.jsonLine)")
        }
        // Grouped by detector and principal, every difference once.
        #expect(diff.groups.reduce(0) { $0 + $1.onlyA.count } == diff.onlyA.count)
        #expect(diff.groups.reduce(0) { $0 + $1.onlyB.count } == diff.onlyB.count)

        // Against a threshold that never fires, everything is on one side.
        let none = ConfigDiff(a: size[0], b: size[2])
        #expect(none.onlyA.map(\.id) == lowFinal.map(\.id))
        #expect(none.onlyB.isEmpty && none.changed.isEmpty && none.same == 0)
        let reversed = ConfigDiff(a: size[2], b: size[0])
        #expect(reversed.onlyB.count == lowFinal.count && reversed.onlyA.isEmpty)
    }

    /// Same id, other figures: a longer cooldown folds more repeats into the same alerts.
    @Test func aLongerCooldownChangesCountsNotIds() throws {
        let short = ChunkWatchConfig.from("detectors:\n  integrity:\n    cooldown: 10s\n")
        let long = ChunkWatchConfig.from("detectors:\n  integrity:\n    cooldown: 1h\n")
        let (alerts, _) = try tuner(Fixture.gappy.path).replay([short.only("integrity"), long.only("integrity")])
        let diff = ConfigDiff(a: alerts[0], b: alerts[1])
        #expect(!diff.isEmpty)
        #expect(diff.onlyB.isEmpty, "a longer cooldown opens no alert the shorter one does not: \(diff.onlyB.first?.jsonLine ?? "")")
        for c in diff.changed { #expect(c.b.count >= c.a.count) }
    }
}
