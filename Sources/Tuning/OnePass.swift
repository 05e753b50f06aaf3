import Alerting
import ChunkModel
import Config
import Detectors

/// The parameters whose candidates are all scored in one pass.
///
/// A parameter qualifies only when it is exactly equivalent: the detector's
/// baselines and every other decision are the same whatever its value, and
/// the anomaly it reports at one value is a pure function of the anomaly it
/// reports at the pass's value. Then one run of the real detector at the
/// pass's value, with each candidate's anomalies folded by an `AlertLifecycle`
/// of its own exactly as the pipeline folds them, gives each candidate's alerts.
///
/// - `cooldown` (every detector): only the alert lifecycle reads it, through
///   the anomaly's `cooldown`.
/// - `integrity.gap_threshold`: the missing-chunk counts do not depend on it;
///   a gap anomaly is reported at every confirmation with `missing ≥ threshold`,
///   and carries `missing` as `observed`.
/// - `novelty.hour_threshold`: hours are learned whether or not they alert; an
///   unusual-hour anomaly is reported when the distance `d ≥ threshold`, and
///   carries `d` as `observed`.
///
/// - `size.threshold`: the windows take every chunk whatever its verdict; a
///   chunk is reported when its robust z ≥ threshold (and the ratio test,
///   which does not involve the threshold, passes), and the anomaly carries
///   that z as `evidence`.
///
/// Everything else is replayed per candidate (see docs/tuning.md).
enum OnePass {
    static func isDerivable(detector: String, parameter: String) -> Bool {
        switch (detector, parameter) {
        case (_, "cooldown"), ("integrity", "gap_threshold"), ("novelty", "hour_threshold"), ("size", "threshold"): return true
        default: return false
        }
    }

    /// The settings the pass runs with for the derivable parameters: each
    /// threshold at its smallest positive candidate (every candidate's anomalies
    /// are then among the pass's), the cooldown at any candidate's.
    static func passSettings(detector: String, candidates: [Candidate], derived: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for key in derived {
            let settings = candidates.compactMap { $0.settings.first { $0.parameter == key } }
            if key == "cooldown" {
                out[key] = settings.first?.text
            } else {
                let positive = settings.filter { $0.number > 0 }
                out[key] = (positive.min { $0.number < $1.number } ?? settings.first)?.text
            }
        }
        return out
    }
}

/// Turns an anomaly reported with the pass's settings into the one a candidate's
/// settings give, or nil when that candidate reports none.
struct AnomalyRewrite: Sendable {
    var cooldown: Duration?
    var gapThreshold: (pass: Int, candidate: Int)?
    var hourThreshold: (pass: Int, candidate: Int)?
    var sizeThreshold: (pass: Double, candidate: Double)?

    enum Outcome { case keep(Anomaly), drop, cannot(String) }

    init(detector: String, candidate: ChunkWatchConfig, pass: ChunkWatchConfig, derived: [String]) {
        for key in derived {
            switch (detector, key) {
            case (_, "cooldown"): cooldown = Self.cooldown(detector, candidate)
            case ("integrity", "gap_threshold"): gapThreshold = (pass.integrity.gapThreshold, candidate.integrity.gapThreshold)
            case ("novelty", "hour_threshold"): hourThreshold = (pass.novelty.hourThreshold, candidate.novelty.hourThreshold)
            case ("size", "threshold"): sizeThreshold = (pass.size.threshold, candidate.size.threshold)
            default: break
            }
        }
    }

    private static func cooldown(_ detector: String, _ c: ChunkWatchConfig) -> Duration? {
        switch detector {
        case "size": c.size.cooldown
        case "rate": c.rate.cooldown
        case "volume": c.volume.cooldown
        case "integrity": c.integrity.cooldown
        case "novelty": c.novelty.cooldown
        case "changepoint": c.changepoint.cooldown
        case "silence": c.silence.cooldown
        default: nil
        }
    }

    func apply(_ anomaly: Anomaly) -> Outcome {
        var a = anomaly
        if let cooldown { a.cooldown = cooldown }
        if let t = gapThreshold, a.keyText.hasSuffix("|gap") {
            // IntegrityDetector.confirm: reported when missing ≥ threshold > 0.
            guard let missing = a.observed else { return .cannot("a gap anomaly without its missing count") }
            guard t.candidate > 0, missing >= Double(t.candidate) else { return .drop }
            let old = "(threshold \(t.pass))"
            guard a.message.hasSuffix(old) else { return .cannot("a gap message not ending in '\(old)'") }
            a.message = String(a.message.dropLast(old.count)) + "(threshold \(t.candidate))"
            a.score = thresholdScore(missing, threshold: Double(t.candidate))
            a.threshold = Double(t.candidate)
        }
        if let t = hourThreshold, a.keyText.hasSuffix("|unusual-hour") {
            // NoveltyDetector.judgeHour: reported when the distance d ≥ threshold > 0.
            guard let d = a.observed else { return .cannot("an unusual-hour anomaly without its distance") }
            guard t.candidate > 0, d >= Double(t.candidate) else { return .drop }
            a.score = thresholdScore(d, threshold: Double(t.candidate))
            a.threshold = Double(t.candidate)
        }
        if let t = sizeThreshold, a.detector == "size" {
            // SizeDetector.observe: reported when z ≥ threshold (and the ratio test passed).
            guard let z = a.evidence else { return .cannot("a size anomaly without its robust z") }
            guard z >= t.candidate else { return .drop }
            let old = "threshold \(Format.decimal(t.pass, 1)))"
            guard a.message.hasSuffix(old) else { return .cannot("a size message not ending in '\(old)'") }
            a.message = String(a.message.dropLast(old.count)) + "threshold \(Format.decimal(t.candidate, 1)))"
            a.score = thresholdScore(z, threshold: t.candidate)
            a.severity = thresholdSeverity(z, threshold: t.candidate)
            a.threshold = t.candidate
        }
        return .keep(a)
    }
}

/// Stands in for the swept detector in the pass's pipeline: runs the real
/// detector with the pass's settings, lets its anomalies through to the
/// pipeline unchanged, and folds each candidate's version of them in an
/// `AlertLifecycle` of that candidate's own, calling it exactly where the
/// pipeline calls its lifecycle: `record` after each event's anomalies,
/// `advance` at each tick before the detectors' own `advance`, `resolveAll` at
/// the end. Alerts come out in the pipeline's order: an event's in the order
/// raised, a tick's resolutions and then its new alerts each by id.
///
/// The pipeline also passes each anomaly its principal's coverage counts;
/// they are all zero unless lines were rejected or taps reported drops, and the
/// sweep replays the candidates instead when that happened.
final class SweepRecorder: Detector, @unchecked Sendable {  // owned by one single-threaded pipeline, driven by one thread at a time
    final class Fold {
        let rewrite: AnomalyRewrite
        let lifecycle: AlertLifecycle
        let collector: AlertCollector
        init(rewrite: AnomalyRewrite, lifecycle: AlertLifecycle, collector: AlertCollector) {
            self.rewrite = rewrite
            self.lifecycle = lifecycle
            self.collector = collector
        }
    }

    let inner: any Detector
    let folds: [Fold]
    /// Why a candidate's alerts cannot be derived (the sweep then replays them).
    private(set) var failure: String?
    private var tickAlerts: [Alert] = []

    init(inner: any Detector, folds: [Fold]) {
        self.inner = inner
        self.folds = folds
    }

    var name: String { inner.name }
    var keyedBy: String { inner.keyedBy }
    var keyStats: (tracked: Int, evicted: Int) { inner.keyStats }
    func checkpoint() throws -> [UInt8]? { try inner.checkpoint() }
    func restore(_ bytes: [UInt8]) throws { try inner.restore(bytes) }

    func observe(_ event: ChunkEvent, context: DetectorContext, anomalies: inout [Anomaly]) -> Double {
        let before = anomalies.count
        let score = inner.observe(event, context: context, anomalies: &anomalies)
        if anomalies.count > before {
            for fold in folds {
                for i in before..<anomalies.count { record(anomalies[i], in: fold) { fold.collector.emit($0) } }
            }
        }
        return score
    }

    func advance(context: DetectorContext, anomalies: inout [Anomaly]) {
        for fold in folds {
            fold.lifecycle.advance(to: context.watermark) { fold.collector.emit($0) }
        }
        let before = anomalies.count
        inner.advance(context: context, anomalies: &anomalies)
        guard anomalies.count > before else { return }
        for fold in folds {
            for i in before..<anomalies.count { record(anomalies[i], in: fold) { tickAlerts.append($0) } }
            tickAlerts.sort { $0.id < $1.id }
            for a in tickAlerts { fold.collector.emit(a) }
            tickAlerts.removeAll(keepingCapacity: true)
        }
    }

    /// The end of the stream: every candidate's open alerts resolve.
    func finish() {
        for fold in folds { fold.lifecycle.resolveAll { fold.collector.emit($0) } }
    }

    private func record(_ anomaly: Anomaly, in fold: Fold, _ emit: (Alert) -> Void) {
        switch fold.rewrite.apply(anomaly) {
        case .keep(let a): fold.lifecycle.record(a, coverage: Coverage(), emit)
        case .drop: break
        case .cannot(let why): failure = failure ?? why
        }
    }
}
