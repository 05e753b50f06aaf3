import ChunkModel
import Config

/// One `--sweep PARAM=FROM:TO:STEP` (or `PARAM=A,B,C`): a parameter of the
/// swept detector and the values to try, as the configuration file writes them.
public struct SweepSpec: Sendable, Equatable {
    public var parameter: String
    /// Each value's text (`6.5`, `15m`, `true`), checked against the parameter's limits.
    public var values: [String]

    public init(parameter: String, values: [String]) {
        self.parameter = parameter
        self.values = values
    }

    /// Candidates one sweep may have; a grid of several sweeps at most `maxGrid`.
    public static let maxValues = 200
    public static let maxGrid = 500

    /// The parameter each detector's budget and default sweep move: the one that
    /// decides how much evidence makes an alert.
    public static let mainParameter: [String: String] = [
        "size": "threshold", "rate": "threshold", "volume": "threshold", "changepoint": "threshold",
        "integrity": "gap_threshold", "novelty": "hour_threshold", "silence": "multiple",
    ]

    /// The sweep used when none is given: the main parameter over a range that
    /// goes from chatty to quiet on gen's traffic.
    public static func defaultSweep(for detector: String) throws(TuneError) -> SweepSpec {
        let range: String
        switch detector {
        case "size": range = "3:12:0.5"
        case "rate", "volume": range = "2:12:0.5"
        case "changepoint": range = "2:16:1"
        case "integrity": range = "1:32:1"
        case "novelty": range = "1:8:1"
        case "silence": range = "2:40:2"
        default: throw TuneError(Self.unknownDetector(detector))
        }
        return try parse("\(mainParameter[detector]!)=\(range)", detector: detector)
    }

    /// Reads `PARAM=FROM:TO:STEP` (numbers, whole numbers or durations such as
    /// `5m:1h:5m`) or `PARAM=A,B,C`, for a parameter of `detector`'s section of
    /// the configuration; every value is checked as the file's would be.
    public static func parse(_ text: String, detector: String) throws(TuneError) -> SweepSpec {
        guard ChunkWatchConfig.section(named: detector) != nil else { throw TuneError(unknownDetector(detector)) }
        guard let eq = text.firstIndex(of: "=") else {
            throw TuneError("--sweep '\(text)': expected PARAM=FROM:TO:STEP or PARAM=A,B,C")
        }
        let key = String(text[..<eq]).trimmingCharacters(in: " ")
        let body = String(text[text.index(after: eq)...]).trimmingCharacters(in: " ")
        guard let kind = ChunkWatchConfig.parameterKind(detector: detector, parameter: key) else {
            let keys = ChunkWatchConfig.section(named: detector)!.parameters.map(\.key)
            throw TuneError("\(detector) has no parameter '\(key)'; it has: \(keys.joined(separator: ", "))")
        }
        let values: [String]
        if body.contains(":") {
            values = try range(body, kind: kind, name: "\(detector).\(key)")
        } else {
            values = body.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
            guard !values.isEmpty else { throw TuneError("--sweep \(key): no values given") }
        }
        var unique: [String] = []
        var probe = ChunkWatchConfig()
        for v in values where !unique.contains(v) {
            do { try probe.set(detector: detector, parameter: key, to: v) } catch { throw TuneError(error.description) }
            unique.append(v)
        }
        guard unique.count <= maxValues else {
            throw TuneError("--sweep \(key): \(unique.count) values; at most \(maxValues), use a larger step")
        }
        return SweepSpec(parameter: key, values: unique)
    }

    private static func range(_ body: String, kind: ChunkWatchConfig.ParameterKind, name: String) throws(TuneError) -> [String] {
        let parts = body.split(separator: ":", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: " ") }
        guard parts.count == 3 else { throw TuneError("--sweep \(name): expected FROM:TO:STEP, got '\(body)'") }
        switch kind {
        case .number:
            guard let from = Double(parts[0]), let to = Double(parts[1]), let step = Double(parts[2]),
                from.isFinite, to.isFinite, step.isFinite
            else { throw TuneError("--sweep \(name): FROM, TO and STEP must be numbers, got '\(body)'") }
            let n = try count(from: from, to: to, step: step, name: name)
            return (0..<n).map { Format.decimal(from + Double($0) * step, 6) }
        case .wholeNumber:
            guard let from = Int(parts[0]), let to = Int(parts[1]), let step = Int(parts[2]) else {
                throw TuneError("--sweep \(name): FROM, TO and STEP must be whole numbers, got '\(body)'")
            }
            let n = try count(from: Double(from), to: Double(to), step: Double(step), name: name)
            return (0..<n).map { String(from + $0 * step) }
        case .duration:
            guard let from = ChunkWatchConfig.parseDuration(parts[0]), let to = ChunkWatchConfig.parseDuration(parts[1]),
                let step = ChunkWatchConfig.parseDuration(parts[2])
            else { throw TuneError("--sweep \(name): FROM, TO and STEP must be durations such as 90s, 15m or 2h, got '\(body)'") }
            let (f, t, s) = (from.nanosecondsClamped, to.nanosecondsClamped, step.nanosecondsClamped)
            let n = try count(from: Double(f), to: Double(t), step: Double(s), name: name)
            return (0..<n).map { ChunkWatchConfig.durationText(.nanoseconds(f + Int64($0) * s)) }
        case .flag:
            throw TuneError("--sweep \(name): a true/false parameter takes a list, e.g. \(name.split(separator: ".").last!)=true,false")
        }
    }

    private static func count(from: Double, to: Double, step: Double, name: String) throws(TuneError) -> Int {
        guard step > 0 else { throw TuneError("--sweep \(name): STEP must be greater than 0") }
        guard to >= from else { throw TuneError("--sweep \(name): TO must not be below FROM") }
        let n = Int(((to - from) / step * (1 + 1e-12)).rounded(.down)) + 1
        guard n <= maxValues else { throw TuneError("--sweep \(name): \(n) values; at most \(maxValues), use a larger step") }
        return n
    }

    static func unknownDetector(_ name: String) -> String {
        "unknown detector '\(name)'; known detectors: \(ChunkWatchConfig.detectorSections.map(\.name).joined(separator: ", "))"
    }
}

/// One point of a sweep's grid: the swept parameters' values and the
/// configuration they give.
public struct Candidate: Sendable {
    public struct Setting: Sendable, Equatable {
        public var parameter: String
        /// As the configuration file writes it.
        public var text: String
        /// As a number (durations in seconds), for charts and ordering.
        public var number: Double
    }

    public var detector: String
    public var settings: [Setting]
    /// The base configuration with these values: what `--write-config` saves.
    public var config: ChunkWatchConfig

    /// `threshold=6.5 cooldown=15m`.
    public var label: String { settings.map { "\($0.parameter)=\($0.text)" }.joined(separator: " ") }

    /// The configuration replayed for this candidate: only its detector runs
    /// (detectors keep separate baselines and alert lifecycles, so its alerts
    /// are the ones it raises with every detector on).
    var replayConfig: ChunkWatchConfig { config.only(detector) }

    /// The cross product of `sweeps` over `base`, the first sweep varying slowest.
    static func grid(detector: String, sweeps: [SweepSpec], base: ChunkWatchConfig) throws(TuneError) -> [Candidate] {
        var seen = Set<String>()
        for s in sweeps {
            guard seen.insert(s.parameter).inserted else { throw TuneError("--sweep \(s.parameter) is given twice") }
        }
        let total = sweeps.reduce(1) { $0 * $1.values.count }
        guard total <= SweepSpec.maxGrid else {
            throw TuneError("the sweeps make \(total) candidates; at most \(SweepSpec.maxGrid), use fewer values")
        }
        var out = [Candidate(detector: detector, settings: [], config: base)]
        for s in sweeps {
            var next: [Candidate] = []
            for c in out {
                for v in s.values {
                    var config = c.config
                    do { try config.set(detector: detector, parameter: s.parameter, to: v) } catch { throw TuneError(error.description) }
                    let number = config.parameterNumber(detector: detector, parameter: s.parameter) ?? .nan
                    next.append(Candidate(detector: detector, settings: c.settings + [Setting(parameter: s.parameter, text: v, number: number)], config: config))
                }
            }
            out = next
        }
        return out
    }
}

extension ChunkWatchConfig {
    /// This configuration with every detector but `detector` switched off.
    func only(_ detector: String) -> ChunkWatchConfig {
        var c = self
        c.disabled = Set(Self.detectorSections.map(\.name)).subtracting([detector])
        return c
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = self[...]
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
