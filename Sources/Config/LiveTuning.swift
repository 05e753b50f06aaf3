import Detectors

/// Changing a detector's parameters while it runs (`PUT /v1/detectors/{name}`,
/// SIGHUP): values are checked exactly as a configuration file's are, and only
/// the parameters that do not shape the baselines may change live — a new
/// window, bucket or key limit needs baselines built anew, so a restart.
extension ChunkWatchConfig {
    /// The parameters each detector takes while running.
    public static let liveParameters: [String: Set<String>] = [
        "size": ["threshold", "cooldown"],
        "rate": ["threshold", "cooldown"],
        "volume": ["threshold", "drift_threshold", "cooldown"],
        "integrity": ["gap_threshold", "reorder_threshold", "cooldown"],
        "novelty": ["hour_threshold", "cooldown"],
        "changepoint": ["threshold", "cooldown"],
        "silence": ["multiple", "cooldown"],
    ]

    public static func section(named name: String) -> ConfigSection? {
        detectorSections.first { $0.name == name }
    }

    /// Every parameter of detector `name` with its value in the text form of the file.
    public func parameterTexts(detector name: String) -> [(key: String, value: String, live: Bool)]? {
        guard let section = Self.section(named: name) else { return nil }
        let live = Self.liveParameters[name] ?? []
        return section.parameters.map { ($0.key, Parameter.text($0.get(self)), live.contains($0.key)) }
    }

    /// The value of one parameter as the file writes it.
    public func parameterText(detector name: String, parameter key: String) -> String? {
        Self.section(named: name)?.parameters.first { $0.key == key }.map { Parameter.text($0.get(self)) }
    }

    /// Sets one live parameter from its text form (`7.5`, `15m`), checked as a
    /// file's value would be.
    public mutating func setLive(detector name: String, parameter key: String, to text: String) throws(TuningError) {
        // An unknown detector or parameter, or a bad value, is `set`'s error; a
        // known parameter that shapes the baselines is refused before its value is read.
        if Self.section(named: name)?.parameters.contains(where: { $0.key == key }) == true,
            Self.liveParameters[name]?.contains(key) != true
        {
            throw TuningError(
                "\(name).\(key) shapes the baselines and cannot change while running: set it in the configuration file and restart")
        }
        try set(detector: name, parameter: key, to: text)
    }

    /// Gives a running detector this configuration's values of its live parameters.
    public func retune(_ detector: any Detector) {
        switch detector {
        case let d as SizeDetector: d.retune(size)
        case let d as RateDetector: d.retune(rate)
        case let d as VolumeDetector: d.retune(volume)
        case let d as IntegrityDetector: d.retune(integrity)
        case let d as NoveltyDetector: d.retune(novelty)
        case let d as ChangepointDetector: d.retune(changepoint)
        case let d as SilenceDetector: d.retune(silence)
        default: break  // a user's own detector: configured by its own means
        }
    }

    /// The live parameters whose values differ between `self` and `other`, as
    /// (detector, parameter, old text, new text).
    public func liveDifferences(to other: ChunkWatchConfig) -> [(detector: String, parameter: String, old: String, new: String)] {
        var out: [(String, String, String, String)] = []
        for section in Self.detectorSections {
            let live = Self.liveParameters[section.name] ?? []
            for p in section.parameters where live.contains(p.key) {
                let (a, b) = (Parameter.text(p.get(self)), Parameter.text(p.get(other)))
                if a != b { out.append((section.name, p.key, a, b)) }
            }
        }
        return out
    }

    /// `other` with this configuration's live values: what SIGHUP may apply
    /// without a restart when `other` is the file as reloaded.
    public func withLiveValues(of other: ChunkWatchConfig) -> ChunkWatchConfig {
        var out = self
        for section in Self.detectorSections {
            let live = Self.liveParameters[section.name] ?? []
            for p in section.parameters where live.contains(p.key) { p.set(&out, p.get(other)) }
        }
        return out
    }
}

/// A live change that cannot be made, and why.
public struct TuningError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
