import ChunkModel
import Config
import Foundation
import Ingest

/// What-if replays of archives through the real pipeline: every candidate
/// value of a sweep, or whole configurations side by side.
///
/// The inputs are read once per replay for all candidates together (see
/// `SharedRead`), and candidates of one-pass parameters are scored together in
/// one pipeline (see `OnePass`). Inputs are read again only when a one-pass
/// result cannot be trusted (lines rejected or tap drops reported, which its
/// alerts' coverage would miss) or for a report's event series, so they must be
/// files (the command spools stdin to one first).
public struct Tuner: Sendable {
    public var inputs: [String]
    /// Threads the candidates' pipelines are spread over; 0: one per core.
    public var threads: Int
    /// Whether one-pass parameters are scored in one pass (off: every candidate
    /// is a pipeline of its own, as a plain backfill would run it).
    public var onePass = true
    /// Whether each row keeps every alert line (`SweepRow.alerts`); off, a row
    /// keeps its counts, what the labels need and its strongest alerts, so a
    /// sweep of chatty candidates over long archives stays small.
    public var keepAlertLines = true
    /// The clock of the alerts' `emitted_at` (the tests fix it).
    public var wallClock: @Sendable () -> Timestamp = Timestamp.now
    public var progress: (@Sendable (ReplayProgress) -> Void)?

    public init(inputs: [String], threads: Int = 0) {
        self.inputs = inputs
        self.threads = threads
    }

    /// Throws the one-line error for a name that is no built-in detector.
    public static func checkDetector(_ name: String) throws(TuneError) {
        guard ChunkWatchConfig.section(named: name) != nil else { throw TuneError(SweepSpec.unknownDetector(name)) }
    }

    var threadCount: Int { threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount }

    func expandedInputs() throws(TuneError) -> [InputFile] {
        guard !inputs.isEmpty else { throw TuneError("name at least one input file or directory") }
        // In event time, as backfill reads them, so a sweep row equals a backfill.
        var files: [InputFile] = []
        for input in inputs {
            do { files += try InputFile.expandInTimeOrder(input).files } catch { throw TuneError(error.description) }
        }
        return files
    }

    /// Replays `configs` side by side: each one's alerts (every line, in output
    /// order, as `backfill --alerts-out` writes them) and what was read.
    public func replay(_ configs: [ChunkWatchConfig]) throws(TuneError) -> (alerts: [[Alert]], stats: StreamStats) {
        let files = try expandedInputs()
        let symbols = SymbolTable()
        let workers = configs.count == 1 ? threadCount : 1
        let lanes = configs.map { PipelineLane(config: $0, symbols: symbols, workers: workers, keepLines: true, wallClock: wallClock) }
        let read = SharedRead(inputs: files, symbols: symbols, threads: threadCount, pass: 1, progress: progress)
        let stats = try read.run(lanes)
        for lane in lanes { try lane.finish() }
        return (lanes.map(\.collector.lines), stats)
    }

    /// Runs every request's sweep over the inputs (one read for all of them) and
    /// scores each candidate: alerts, alerts per principal-day and, with
    /// `labels`, precision, recall, F1 and the median time to detect.
    public func sweep(_ requests: [SweepRequest], base: ChunkWatchConfig, labels: LabelSet? = nil) throws(TuneError) -> [SweepResult] {
        let files = try expandedInputs()
        let symbols = SymbolTable()
        var plans: [Plan] = []
        for r in requests {
            let sweeps = try r.sweeps.isEmpty ? [SweepSpec.defaultSweep(for: r.detector)] : r.sweeps
            let candidates = try Candidate.grid(detector: r.detector, sweeps: sweeps, base: base)
            plans.append(Plan(request: SweepRequest(detector: r.detector, sweeps: sweeps), candidates: candidates))
        }

        // Pass 1: one lane per group of candidates that differ only in one-pass parameters.
        var lanes: [PipelineLane] = []
        var groups: [(plan: Int, lane: Int, members: [Int], passConfig: ChunkWatchConfig?)] = []
        for (p, plan) in plans.enumerated() {
            let detector = plan.request.detector
            let derived = onePass ? plan.request.sweeps.map(\.parameter).filter { OnePass.isDerivable(detector: detector, parameter: $0) } : []
            var byRest: [[String]: [Int]] = [:]
            var order: [[String]] = []
            for (i, c) in plan.candidates.enumerated() {
                let rest = c.settings.filter { !derived.contains($0.parameter) }.map(\.text)
                if byRest[rest] == nil { order.append(rest) }
                byRest[rest, default: []].append(i)
            }
            for rest in order {
                let members = byRest[rest]!
                if derived.isEmpty {
                    for i in members {
                        groups.append((p, lanes.count, [i], nil))
                        lanes.append(
                            PipelineLane(
                                config: plan.candidates[i].replayConfig, symbols: symbols, workers: 1, keepLines: keepAlertLines,
                                wallClock: wallClock))
                    }
                    continue
                }
                var pass = plan.candidates[members[0]].replayConfig
                let passTexts = OnePass.passSettings(detector: detector, candidates: members.map { plan.candidates[$0] }, derived: derived)
                for (key, text) in passTexts {
                    do { try pass.set(detector: detector, parameter: key, to: text) } catch { throw TuneError(error.description) }
                }
                let rewrites = members.map {
                    AnomalyRewrite(detector: detector, candidate: plan.candidates[$0].replayConfig, pass: pass, derived: derived)
                }
                groups.append((p, lanes.count, members, pass))
                lanes.append(
                    PipelineLane(
                        pass: pass, detector: detector, rewrites: rewrites, symbols: symbols, keepLines: keepAlertLines,
                        wallClock: wallClock))
            }
        }
        // A single plain pipeline may use every thread itself.
        if lanes.count == 1 && lanes[0].recorder == nil && threadCount > 1 {
            let c = plans[0].candidates[0]
            lanes[0] = PipelineLane(config: c.replayConfig, symbols: symbols, workers: threadCount, keepLines: keepAlertLines, wallClock: wallClock)
        }
        let stats = try SharedRead(inputs: files, symbols: symbols, threads: threadCount, pass: 1, progress: progress).run(lanes)
        for lane in lanes { try lane.finish() }

        var outcomes = plans.map { [Outcome?](repeating: nil, count: $0.candidates.count) }
        var replayAgain: [(plan: Int, candidate: Int)] = []
        for g in groups {
            let lane = lanes[g.lane]
            guard let recorder = lane.recorder, let passConfig = g.passConfig else {
                outcomes[g.plan][g.members[0]] = Outcome(alerts: lane.collector, method: .replay)
                continue
            }
            var distrust = recorder.failure
            if distrust == nil && stats.hasCoverage {
                distrust = "lines were rejected or taps reported drops, which one-pass alerts do not count in their coverage"
            }
            if distrust == nil {
                // The candidate run with the pass's own settings must give the pipeline's alerts.
                for (k, i) in g.members.enumerated() where plans[g.plan].candidates[i].replayConfig == passConfig {
                    let (fold, real) = (recorder.folds[k].collector, lane.collector)
                    if fold.digest != real.digest || fold.lineCount != real.lineCount {
                        distrust = "the one-pass alerts at the pass's own settings differ from the pipeline's"
                    }
                }
            }
            if let distrust {
                plans[g.plan].notes.append("one pass not used for \(g.members.count) candidates (\(distrust)); replayed each")
                replayAgain += g.members.map { (g.plan, $0) }
                continue
            }
            for (k, i) in g.members.enumerated() { outcomes[g.plan][i] = Outcome(alerts: recorder.folds[k].collector, method: .onePass) }
        }

        // Pass 2, rarely: the candidates whose one-pass result is not trusted, each replayed.
        if !replayAgain.isEmpty {
            let symbols2 = SymbolTable()
            let lanes2 = replayAgain.map {
                PipelineLane(
                    config: plans[$0.plan].candidates[$0.candidate].replayConfig, symbols: symbols2, workers: 1, keepLines: keepAlertLines,
                    wallClock: wallClock)
            }
            _ = try SharedRead(inputs: files, symbols: symbols2, threads: threadCount, pass: 2, progress: progress).run(lanes2)
            for (lane, at) in zip(lanes2, replayAgain) {
                try lane.finish()
                outcomes[at.plan][at.candidate] = Outcome(alerts: lane.collector, method: .replay)
            }
        }

        return plans.enumerated().map { p, plan in
            let rows = plan.candidates.enumerated().map { i, c in
                let o = outcomes[p][i]!
                let firing = o.alerts.firings.count
                return SweepRow(
                    candidate: c, alerts: o.alerts.lines, method: o.method, firing: firing, perPrincipalDay: stats.perPrincipalDay(firing),
                    labels: labels?.score(firings: o.alerts.firings, detector: c.detector), strongest: o.alerts.strongest)
            }
            return SweepResult(detector: plan.request.detector, sweeps: plan.request.sweeps, rows: rows, stats: stats, notes: plan.notes)
        }
    }

    /// The same alert lines, `emitted_at` aside (which reads the wall clock).
    static func same(_ a: [Alert], _ b: [Alert]) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) {
            var y = y
            y.emittedAt = x.emittedAt
            guard x.jsonLine == y.jsonLine else { return false }
        }
        return true
    }

    private struct Plan {
        var request: SweepRequest
        var candidates: [Candidate]
        var notes: [String] = []
    }

    private struct Outcome {
        var alerts: AlertCollector
        var method: SweepRow.Method
    }
}

/// One detector's sweep: `--detector NAME --sweep …`; no sweeps means its
/// default sweep (`SweepSpec.defaultSweep`).
public struct SweepRequest: Sendable {
    public var detector: String
    public var sweeps: [SweepSpec]

    public init(detector: String, sweeps: [SweepSpec] = []) {
        self.detector = detector
        self.sweeps = sweeps
    }
}

/// One candidate's outcome.
public struct SweepRow: Sendable {
    public enum Method: String, Sendable {
        /// Scored with the other candidates of its group in one pipeline.
        case onePass = "one-pass"
        /// A pipeline of its own.
        case replay
    }

    public var candidate: Candidate
    /// Every alert line (firing and resolved), in output order; empty unless
    /// the tuner keeps alert lines.
    public var alerts: [Alert]
    public var method: Method
    /// Alerts fired (firing lines).
    public var firing: Int
    public var perPrincipalDay: Double?
    /// With labels: precision, recall, F1, time to detect.
    public var labels: LabelScore?
    /// The strongest alerts by final score, strongest first (at most five).
    public var strongest: [StrongAlert]
}

/// A detector's sweep: a row per candidate, in grid order.
public struct SweepResult: Sendable {
    public var detector: String
    public var sweeps: [SweepSpec]
    public var rows: [SweepRow]
    public var stats: StreamStats
    /// What the sweep could not do as planned (a one-pass group replayed instead).
    public var notes: [String]
}

extension Alert {
    /// One alert per id with its final figures: the resolved line where there
    /// is one (same id, final count), else the firing line; in firing order.
    public static func final(_ lines: [Alert]) -> [Alert] {
        var index: [String: Int] = [:]
        var out: [Alert] = []
        for a in lines {
            if let i = index[a.id] {
                out[i] = a
            } else {
                index[a.id] = out.count
                out.append(a)
            }
        }
        return out
    }
}
