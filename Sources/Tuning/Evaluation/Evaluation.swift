import ChunkModel
import ChunkWatchTestKit
import Config
import Foundation
import Workload

/// `chunkwatch eval`: labelled synthetic traffic of each profile and seed,
/// generated in memory, through the real pipeline (the detectors and alert
/// lifecycle of `backfill`, one worker per run), scored against its labels.
///
/// Deterministic: each run's alerts depend only on its workload and the
/// detectors' settings, and runs are summed in profile and seed order, so the
/// same evaluation gives the same figures whatever `threads` is.
public struct Evaluation: Sendable {
    public var profiles: [TrafficProfile]
    public var seeds: [UInt64]
    public var principals: Int
    public var hours: Double
    /// Hours of clean traffic before the first anomaly; alerts before it are not counted.
    public var warmupHours: Double
    public var grace: Duration
    /// The detectors' settings, as `backfill --config` takes them.
    public var config: ChunkWatchConfig
    /// Runs (a profile × seed each) at once; 0: one per core.
    public var threads: Int
    /// Called once per finished run, from the thread that ran it.
    public var progress: (@Sendable (RunReport) -> Void)?

    public init(
        profiles: [TrafficProfile] = TrafficProfile.allCases, seeds: [UInt64] = [1, 2, 3], principals: Int = 30, hours: Double = 36,
        warmupHours: Double = 24, grace: Duration = .seconds(300), config: ChunkWatchConfig = ChunkWatchConfig(), threads: Int = 0
    ) {
        self.profiles = profiles
        self.seeds = seeds
        self.principals = principals
        self.hours = hours
        self.warmupHours = warmupHours
        self.grace = grace
        self.config = config
        self.threads = threads
    }

    /// One finished run, for a progress line.
    public struct RunReport: Sendable {
        public var profile: TrafficProfile
        public var seed: UInt64
        public var events: Int
        public var alerts: Int
        /// Wall-clock time of the run (generation, decoding, the pipeline).
        public var seconds: Double
    }

    /// The workload of one run: every anomaly kind, injected after the warm-up.
    public func workload(profile: TrafficProfile, seed: UInt64) -> WorkloadConfig {
        WorkloadConfig(principals: principals, hours: hours, seed: seed, profile: profile, warmupHours: warmupHours)
    }

    /// Every profile's figures, summed over the seeds, in `profiles` order.
    public func run() throws(TuneError) -> [(profile: TrafficProfile, score: EvalScore)] {
        for p in profiles {
            if let problem = workload(profile: p, seed: seeds.first ?? 1).problem { throw TuneError(problem) }
        }
        let runs = profiles.flatMap { p in seeds.map { (profile: p, seed: $0) } }
        let count = Swift.min(threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount, runs.count)
        let results = RunResults(count: runs.count)
        let work: @Sendable () -> Void = { [self] in
            while let i = results.claim() {
                results.set(i, Result { () throws(TuneError) in try runOne(runs[i].profile, runs[i].seed) })
            }
        }
        if count <= 1 {
            work()
        } else {
            let done = DispatchGroup()
            for _ in 0..<count {
                done.enter()
                let thread = Thread {
                    work()
                    done.leave()
                }
                thread.name = "eval-run"
                thread.start()
            }
            done.wait()
        }
        var out: [(profile: TrafficProfile, score: EvalScore)] = profiles.map { ($0, EvalScore()) }
        for (i, r) in runs.enumerated() {
            let score = try results.get(i)
            out[profiles.firstIndex(of: r.profile)!].score.add(score)
        }
        return out
    }

    /// One profile × seed: generate, decode, run the pipeline, score.
    func runOne(_ profile: TrafficProfile, _ seed: UInt64) throws(TuneError) -> EvalScore {
        let started = Timestamp.now()
        let workload = workload(profile: profile, seed: seed)
        var generator: WorkloadGenerator
        do { generator = try WorkloadGenerator(config: workload) } catch { throw TuneError(error.message) }
        let symbols = SymbolTable()
        let lane = PipelineLane(config: config, symbols: symbols, workers: 1, keepLines: false, wallClock: { .zero })
        let pipeline = lane.pipeline
        var events = 0
        var rejected: [String] = []
        GeneratedTraffic.forEachEvent(&generator, symbols: symbols, rejected: { rejected.append($0) }) { event in
            pipeline.process(event)
            events += 1
        }
        if let line = rejected.first {
            throw TuneError("gen \(profile.rawValue) seed \(seed) wrote \(rejected.count) lines the decoder rejects, the first: \(line.prefix(200)) (a bug: please report it)")
        }
        try lane.finish()

        let scorer = EvalScorer(
            grace: grace, warmupEnd: workload.start + .seconds(warmupHours * 3600), detectors: config.registry().names,
            kinds: AnomalyKind.allCases.map(\.rawValue))
        var score = scorer.score(
            firings: lane.collector.firings, labels: generator.labels.map(AnomalyLabel.init(window:)),
            principalDays: Double(principals) * (hours - warmupHours) / 24)
        score.events = events
        score.unplaced = generator.unplacedAnomalies.count
        progress?(
            RunReport(
                profile: profile, seed: seed, events: events, alerts: lane.collector.firings.count,
                seconds: (Timestamp.now() - started).secondsValue))
        return score
    }
}

extension AnomalyLabel {
    /// The label `gen --labels-out` writes for this window, with its scenario
    /// (realistic traffic), so an evaluation reports each scenario of a kind.
    public init(window: LabelWindow) {
        self.init(
            principal: window.principal, start: window.start, end: window.end, kind: window.kind.rawValue,
            scenario: window.scenario)
    }
}

extension Duration {
    fileprivate var secondsValue: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}

/// The runs' results, filled in by the run threads.
private final class RunResults: @unchecked Sendable {  // every field is guarded by `lock`
    private let lock = NSLock()
    private var next = 0
    private var results: [Result<EvalScore, TuneError>?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    /// The next run to do, nil when every run is taken or one failed.
    func claim() -> Int? {
        lock.withLock {
            guard next < results.count, !results.contains(where: { if case .failure = $0 { true } else { false } }) else { return nil }
            next += 1
            return next - 1
        }
    }

    func set(_ i: Int, _ r: Result<EvalScore, TuneError>) { lock.withLock { results[i] = r } }

    func get(_ i: Int) throws(TuneError) -> EvalScore {
        let r = lock.withLock { results[i] }
        guard let r else {
            // A run never taken: another failed first; its error is thrown before this one's turn.
            throw TuneError("run \(i + 1) did not run")
        }
        return try r.get()
    }
}
