import ChunkModel

/// One setting as the configuration file spells it: its key, what it means,
/// and where it lives in `ChunkWatchConfig`.
public struct Parameter: Sendable {
    public enum Value: Sendable, Equatable {
        case double(Double), int(Int), duration(Duration), bool(Bool)
    }

    enum Kind: Sendable { case double, int, duration, bool }

    public let key: String
    public let help: String
    let kind: Kind
    /// The least value accepted (for numbers and durations, in seconds for durations).
    let minimum: Double?
    let get: @Sendable (ChunkWatchConfig) -> Value
    let set: @Sendable (inout ChunkWatchConfig, Value) -> Void

    public init(_ key: String, _ path: WritableKeyPath<ChunkWatchConfig, Double> & Sendable, min: Double? = nil, _ help: String) {
        self.key = key
        self.help = help
        kind = .double
        minimum = min
        get = { .double($0[keyPath: path]) }
        set = { c, v in if case .double(let d) = v { c[keyPath: path] = d } }
    }

    public init(_ key: String, _ path: WritableKeyPath<ChunkWatchConfig, Int> & Sendable, min: Int? = nil, _ help: String) {
        self.key = key
        self.help = help
        kind = .int
        minimum = min.map(Double.init)
        get = { .int($0[keyPath: path]) }
        set = { c, v in if case .int(let i) = v { c[keyPath: path] = i } }
    }

    public init(_ key: String, _ path: WritableKeyPath<ChunkWatchConfig, Duration> & Sendable, min: Duration? = nil, _ help: String) {
        self.key = key
        self.help = help
        kind = .duration
        minimum = min.map { Double($0.nanosecondsClamped) / 1e9 }
        get = { .duration($0[keyPath: path]) }
        set = { c, v in if case .duration(let d) = v { c[keyPath: path] = d } }
    }

    public init(_ key: String, _ path: WritableKeyPath<ChunkWatchConfig, Bool> & Sendable, _ help: String) {
        self.key = key
        self.help = help
        kind = .bool
        minimum = nil
        get = { .bool($0[keyPath: path]) }
        set = { c, v in if case .bool(let b) = v { c[keyPath: path] = b } }
    }

    /// Reads a YAML scalar as this parameter's kind, or says what was expected.
    func parse(_ text: String) -> Result<Value, ConfigProblem> {
        switch kind {
        case .double:
            guard let d = Double(text), d.isFinite else { return .failure(.init("expected a number, got '\(text)'")) }
            return check(d, .double(d))
        case .int:
            guard let i = Int(text) else { return .failure(.init("expected a whole number, got '\(text)'")) }
            return check(Double(i), .int(i))
        case .duration:
            guard let d = Parameter.duration(text) else {
                return .failure(.init("expected a duration such as 90s, 15m, 2h or 500ms, got '\(text)'"))
            }
            return check(Double(d.nanosecondsClamped) / 1e9, .duration(d))
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "on": return .success(.bool(true))
            case "false", "no", "off": return .success(.bool(false))
            default: return .failure(.init("expected true or false, got '\(text)'"))
            }
        }
    }

    private func check(_ number: Double, _ value: Value) -> Result<Value, ConfigProblem> {
        if let minimum, number < minimum {
            return .failure(.init("must be at least \(Parameter.format(minimum, kind))"))
        }
        return .success(value)
    }

    /// `500ms`, `90s`, `15m`, `2h`, `1d`, or a plain number of seconds.
    static func duration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            // "ms" ends in "s" too: only take "s" when what is left is a number.
            guard let v = Double(number), v.isFinite, v >= 0 else { continue }
            return .nanoseconds(Int64((v * scale * 1e9).rounded()))
        }
        guard let v = Double(text), v.isFinite, v >= 0 else { return nil }
        return .nanoseconds(Int64((v * 1e9).rounded()))
    }

    /// A value as the configuration file writes it.
    static func text(_ value: Value) -> String {
        switch value {
        case .double(let d): return Format.decimal(d, 6)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .duration(let d):
            let ns = d.nanosecondsClamped
            if ns % 86_400_000_000_000 == 0 && ns > 0 { return "\(ns / 86_400_000_000_000)d" }
            if ns % 3_600_000_000_000 == 0 && ns > 0 { return "\(ns / 3_600_000_000_000)h" }
            if ns % 60_000_000_000 == 0 && ns > 0 { return "\(ns / 60_000_000_000)m" }
            if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
            return "\(Format.decimal(Double(ns) / 1e6, 3))ms"
        }
    }

    private static func format(_ number: Double, _ kind: Kind) -> String {
        kind == .duration ? text(.duration(.nanoseconds(Int64(number * 1e9)))) : Format.decimal(number, 6)
    }
}

/// What is wrong with one value, before it is placed at a line of a file.
struct ConfigProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
