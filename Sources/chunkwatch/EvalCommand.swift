import ArgumentParser
import ChunkModel
import Config
import Foundation
import Tuning
import Workload

/// `chunkwatch eval`: how well the detectors do on labelled synthetic traffic.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Judge the detectors on labelled synthetic traffic: found anomalies, false alerts per principal-day, precision, recall.",
        discussion: """
            For each profile and seed, `gen`'s traffic (every anomaly kind, injected after --warmup) is generated \
            in memory and run through the same detectors and alert lifecycle as `backfill` (one worker per run; \
            --workers runs at once), and the alerts are scored against the labels. The figures are summed over \
            the seeds, per profile; the same options always print the same figures. A line per finished run \
            (with its events/s) goes to stderr. See docs/detectors.md, "Evaluation".

            Only firing alerts whose first_ts is at or after the warm-up's end count. An alert matches a label \
            when it is for the label's principal with first_ts in [start, end + --grace] (SPEC §5).
              labelled      anomalies injected (a label each) of that kind, or scenario of the kind
              explained     labels matched by an alert of the detector the kind names
              found         labels matched by an alert of any detector
              median TTD    over explained labels: the earliest explaining alert's first_ts - the label's start
              alerts        a detector's firing alerts after the warm-up
              false         alerts that match no label of their principal, of any kind
              false/p-day   false alerts / principal-days after the warm-up
                            (principals x (hours - warm-up) / 24, summed over seeds)
              precision     (alerts - false) / alerts
              recall        explained / labelled (found / labelled is printed beside it)
            The headline figure is the total false/p-day.

            --max-false-per-principal-day X and --min-recall R make the command exit 1, with a one-line reason \
            on stderr, when any profile's total is above X or its recall below R, for CI and review.

            Examples:
              chunkwatch eval
              chunkwatch eval --profile steady --seeds 1 --principals 12 --hours 8 --warmup 4
              chunkwatch eval --config tuned.yaml --json --max-false-per-principal-day 0.5 --min-recall 1
            """
    )

    @Option(help: ArgumentHelp("Traffic profiles, comma-separated: \(TrafficProfile.validNames), or all. (default: all)", valueName: "name,..."))
    var profile: String = "all"

    @Option(help: ArgumentHelp("Seeds, comma-separated: one run of each profile per seed.", valueName: "s,..."))
    var seeds: String = "1,2,3"

    @Option(help: ArgumentHelp("Principals per run.", valueName: "n"))
    var principals: Int = 30

    @Option(help: ArgumentHelp("Hours of event time per run (fractions allowed).", valueName: "h"))
    var hours: Double = 36

    @Option(
        name: .customLong("warmup"),
        help: ArgumentHelp("Hours of clean traffic before any anomaly; alerts before its end are not counted.", valueName: "h"))
    var warmupHours: Double = 24

    @OptionGroup var configOption: ConfigOption

    @Option(help: ArgumentHelp("How long after a label's end an alert still matches it.", valueName: "duration"))
    var grace: String = "5m"

    @Option(help: ArgumentHelp("Runs at once, each on a thread of its own. The figures are the same for any number. (default: one per core)", valueName: "n"))
    var workers: Int?

    @Flag(help: "Print one JSON object per profile instead of the tables.")
    var json = false

    @Option(
        name: .customLong("max-false-per-principal-day"),
        help: ArgumentHelp("Exit 1 when a profile's false alerts per principal-day after the warm-up are above this.", valueName: "x"))
    var maxFalsePerPrincipalDay: Double?

    @Option(name: .customLong("min-recall"), help: ArgumentHelp("Exit 1 when a profile's recall (explained / labelled) is below this.", valueName: "r"))
    var minRecall: Double?

    func validate() throws {
        if principals < 1 || principals > WorkloadConfig.maxPrincipals {
            throw ValidationError("--principals must be from 1 to \(WorkloadConfig.maxPrincipals) (got \(principals))")
        }
        if !(hours > 0) || !hours.isFinite || hours > WorkloadConfig.maxHours {
            throw ValidationError("--hours must be a positive number up to \(Int(WorkloadConfig.maxHours)) (got \(hours))")
        }
        if !(warmupHours >= 0 && warmupHours < hours) {
            throw ValidationError("--warmup must be at least 0 and less than --hours \(Format.decimal(hours, 1)) (got \(warmupHours))")
        }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if let x = maxFalsePerPrincipalDay, !(x >= 0 && x.isFinite) {
            throw ValidationError("--max-false-per-principal-day must be a number of at least 0 (got \(x))")
        }
        if let r = minRecall, !(r >= 0 && r <= 1) { throw ValidationError("--min-recall must be from 0 to 1 (got \(r))") }
        _ = try parsedProfiles()
        _ = try parsedSeeds()
        _ = try parsedGrace()
    }

    func parsedProfiles() throws -> [TrafficProfile] {
        var out: [TrafficProfile] = []
        for word in profile.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !word.isEmpty {
            if word == "all" {
                out += TrafficProfile.allCases.filter { !out.contains($0) }
                continue
            }
            guard let p = TrafficProfile(rawValue: word) else {
                throw ValidationError("--profile: unknown profile '\(word)'; valid profiles: \(TrafficProfile.validNames), all")
            }
            if !out.contains(p) { out.append(p) }
        }
        if out.isEmpty { throw ValidationError("--profile names no profile; valid profiles: \(TrafficProfile.validNames), all") }
        return out
    }

    func parsedSeeds() throws -> [UInt64] {
        var out: [UInt64] = []
        for word in seeds.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !word.isEmpty {
            guard let s = UInt64(word) else { throw ValidationError("--seeds: '\(word)' is not a whole number from 0 to \(UInt64.max)") }
            if !out.contains(s) { out.append(s) }
        }
        if out.isEmpty { throw ValidationError("--seeds names no seed; give a comma-separated list such as 1,2,3") }
        return out
    }

    func parsedGrace() throws -> Duration {
        guard let g = ChunkWatchConfig.parseDuration(grace) else {
            throw ValidationError("--grace '\(grace)': expected a duration such as 5m, 90s or 0s")
        }
        return g
    }

    func run() throws {
        var evaluation = Evaluation(
            profiles: try parsedProfiles(), seeds: try parsedSeeds(), principals: principals, hours: hours, warmupHours: warmupHours,
            grace: try parsedGrace(), config: try configOption.load(), threads: workers ?? 0)
        evaluation.progress = { r in
            let rate = Double(r.events) / Swift.max(r.seconds, 1e-9)
            printError(
                "eval: \(r.profile.rawValue) seed \(r.seed): \(ProgressBar.count(r.events)) events, \(r.alerts) alerts "
                    + "in \(Format.decimal(r.seconds, 2)) s (\(ProgressBar.count(rate)) events/s)")
        }
        let started = Timestamp.now()
        let results: [(profile: TrafficProfile, score: EvalScore)]
        do { results = try evaluation.run() } catch { throw CLIError(error.description) }
        let seconds = (Timestamp.now() - started).secondsDouble
        let events = results.reduce(0) { $0 + $1.score.events }
        let runs = results.reduce(0) { $0 + $1.score.runs }
        printError("eval: \(runs) run\(runs == 1 ? "" : "s"), \(ProgressBar.count(events)) events in \(Format.decimal(seconds, 2)) s")

        let output = EvalOutput(evaluation: evaluation)
        for (i, r) in results.enumerated() {
            writeStdout(json ? output.json(r.profile, r.score) : (i > 0 ? "\n" : "") + output.table(r.profile, r.score))
        }
        let gates = EvalGates(maxFalsePerPrincipalDay: maxFalsePerPrincipalDay, minRecall: minRecall)
        let misses = results.flatMap { gates.misses(profile: $0.profile.rawValue, $0.score) }
        if !misses.isEmpty {
            printError("eval: " + misses.joined(separator: "; "))
            throw ExitCode(1)
        }
    }
}
