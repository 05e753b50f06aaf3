/// Reading and setting any detector parameter by its key, checked exactly as a
/// configuration file's value is: for `chunkwatch tune`, which sweeps
/// parameters by name and writes the chosen values back into a file.
extension ChunkWatchConfig {
    /// What kind of value a parameter takes.
    public enum ParameterKind: Sendable, Equatable {
        case number, wholeNumber, duration, flag
    }

    /// The kind of `detector`'s parameter `key`, or nil when there is no such parameter.
    public static func parameterKind(detector: String, parameter key: String) -> ParameterKind? {
        guard let p = section(named: detector)?.parameters.first(where: { $0.key == key }) else { return nil }
        switch p.kind {
        case .double: return .number
        case .int: return .wholeNumber
        case .duration: return .duration
        case .bool: return .flag
        }
    }

    /// Sets any parameter of detector `name` (live or not) from its text form
    /// (`7.5`, `15m`, `true`), checked as a file's value would be.
    public mutating func set(detector name: String, parameter key: String, to text: String) throws(TuningError) {
        guard let section = Self.section(named: name) else {
            throw TuningError("unknown detector '\(name)'; known detectors: \(Self.detectorSections.map(\.name).joined(separator: ", "))")
        }
        guard let parameter = section.parameters.first(where: { $0.key == key }) else {
            throw TuningError("\(name) has no parameter '\(key)'; it has: \(section.parameters.map(\.key).joined(separator: ", "))")
        }
        switch parameter.parse(text) {
        case .success(let value): parameter.set(&self, value)
        case .failure(let problem): throw TuningError("\(name).\(key): \(problem.message)")
        }
    }

    /// A parameter's value as a number: durations in seconds, flags as 0 or 1
    /// (for charts and for ordering candidates).
    public func parameterNumber(detector name: String, parameter key: String) -> Double? {
        guard let p = Self.section(named: name)?.parameters.first(where: { $0.key == key }) else { return nil }
        switch p.get(self) {
        case .double(let d): return d
        case .int(let i): return Double(i)
        case .duration(let d): return Double(d.nanosecondsClamped) / 1e9
        case .bool(let b): return b ? 1 : 0
        }
    }

    /// `500ms`, `90s`, `15m`, `2h`, `1d` or a plain number of seconds, as a
    /// configuration file reads durations.
    public static func parseDuration(_ text: String) -> Duration? { Parameter.duration(text) }

    /// A duration as a configuration file writes it (`15m`, `90s`).
    public static func durationText(_ d: Duration) -> String { Parameter.text(.duration(d)) }
}
