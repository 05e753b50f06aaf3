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
    /// The largest whole number accepted (durations are bounded by `DurationText.maximum`).
    let maximum: Int?
    let get: @Sendable (ChunkWatchConfig) -> Value
    let set: @Sendable (inout ChunkWatchConfig, Value) -> Void

    public init(_ key: String, _ path: WritableKeyPath<ChunkWatchConfig, Double> & Sendable, min: Double? = nil, _ help: String) {
        self.key = key
        self.help = help
        kind = .double
        minimum = min
        maximum = nil
        get = { .double($0[keyPath: path]) }
        set = { c, v in if case .double(let d) = v { c[keyPath: path] = d } }
    }

    /// Whole numbers go up to `max`: counts of keys, windows, workers and
    /// batches size allocations, so none may be large enough to fail one.
    public init(
        _ key: String, _ path: WritableKeyPath<ChunkWatchConfig, Int> & Sendable, min: Int? = nil, max: Int = Parameter.largestCount,
        _ help: String
    ) {
        self.key = key
        self.help = help
        kind = .int
        minimum = min.map(Double.init)
        maximum = max
        get = { .int($0[keyPath: path]) }
        set = { c, v in if case .int(let i) = v { c[keyPath: path] = i } }
    }

    public init(_ key: String, _ path: WritableKeyPath<ChunkWatchConfig, Duration> & Sendable, min: Duration? = nil, _ help: String) {
        self.key = key
        self.help = help
        kind = .duration
        minimum = min.map { Double($0.nanosecondsClamped) / 1e9 }
        maximum = nil
        get = { .duration($0[keyPath: path]) }
        set = { c, v in if case .duration(let d) = v { c[keyPath: path] = d } }
    }

    public init(_ key: String, _ path: WritableKeyPath<ChunkWatchConfig, Bool> & Sendable, _ help: String) {
        self.key = key
        self.help = help
        kind = .bool
        minimum = nil
        maximum = nil
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
            if let maximum, i > maximum {
                let least = minimum.map { Format.decimal($0, 0) } ?? "0"
                return .failure(.init("'\(text)' is out of range: a whole number from \(least) to \(maximum)"))
            }
            return check(Double(i), .int(i))
        case .duration:
            do {
                let least = Duration.nanoseconds(Int64(((minimum ?? 0) * 1e9).rounded()))
                return .success(.duration(try DurationText.parse(text, minimum: least)))
            } catch {
                return .failure(.init(error.description))
            }
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

    /// `500ms`, `90s`, `15m`, `2h`, `1d`, or a plain number of seconds, up to `DurationText.maximum`.
    static func duration(_ text: String) -> Duration? { try? DurationText.parse(text) }

    /// The default largest whole-number setting: far beyond any useful count,
    /// and below `Int32.max`, which key tables and counters are built on.
    public static let largestCount = 100_000_000

    /// A value as the configuration file writes it.
    static func text(_ value: Value) -> String {
        switch value {
        case .double(let d): return Format.decimal(d, 6)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .duration(let d): return DurationText.text(d)
        }
    }

    private static func format(_ number: Double, _ kind: Kind) -> String {
        kind == .duration ? DurationText.text(.nanoseconds(Int64((number * 1e9).rounded()))) : Format.decimal(number, 6)
    }
}

/// What is wrong with one value, before it is placed at a line of a file.
struct ConfigProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
