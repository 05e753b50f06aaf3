import Yams

/// A configuration file that could not be used: where, and what to change.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based; nil when the problem is not at one place (an unreadable file).
    public var line: Int?
    public var message: String

    public var description: String {
        line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)"
    }
}

extension ChunkWatchConfig {
    /// Reads a configuration file; every problem, with its line, in one error
    /// each (the first of them thrown by `load`, all of them from `check`).
    public static func load(file: String) throws(ConfigError) -> ChunkWatchConfig {
        let (config, problems) = check(file: file)
        if let first = problems.first { throw first }
        return config
    }

    public static func load(yaml: String, file: String = "config") throws(ConfigError) -> ChunkWatchConfig {
        let (config, problems) = check(yaml: yaml, file: file)
        if let first = problems.first { throw first }
        return config
    }

    public static func check(file: String) -> (ChunkWatchConfig, [ConfigError]) {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            return (ChunkWatchConfig(), [ConfigError(file: file, line: nil, message: "cannot read the file (\(error.localizedDescription))")])
        }
        return check(yaml: text, file: file)
    }

    /// Validates YAML text: unknown keys, wrong types and out-of-range values
    /// are all errors, each with its line.
    public static func check(yaml: String, file: String = "config") -> (ChunkWatchConfig, [ConfigError]) {
        var config = ChunkWatchConfig()
        var problems: [ConfigError] = []
        // libyaml can also mark a node that ends the file a line past its end.
        let lastLine = Self.lastLine(of: yaml)
        func problem(_ node: Node?, _ message: String) {
            problems.append(ConfigError(file: file, line: (node?.mark?.line).map { min($0, lastLine) }, message: message))
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            // libyaml ends a stream with a line break of its own, so an error at
            // the end of a file without a final one is a line past its end.
            let line = Self.line(of: error).map { min($0, Self.lastLine(of: yaml)) }
            return (config, [ConfigError(file: file, line: line, message: "not valid YAML: \(Self.problem(of: error))")])
        } catch {
            return (config, [ConfigError(file: file, line: nil, message: "not valid YAML: \(error)")])
        }
        guard let root else { return (config, []) }  // an empty file is the defaults
        guard let top = root.mapping else {
            problem(root, "the top level must be a mapping with 'pipeline', 'detectors', 'alerts', 'proxy' and/or 'serve'")
            return (config, problems)
        }
        for (keyNode, value) in top {
            switch keyNode.string {
            case "pipeline":
                apply(section: pipelineSection, value, at: "pipeline", to: &config, problem)
            case "detectors":
                guard let detectors = value.mapping else {
                    problem(value, "'detectors' must be a mapping of detector names")
                    continue
                }
                for (nameNode, body) in detectors {
                    let name = nameNode.string ?? ""
                    guard let section = detectorSections.first(where: { $0.name == name }) else {
                        problem(nameNode, "unknown detector '\(name)'; known: \(detectorSections.map(\.name).joined(separator: ", "))")
                        continue
                    }
                    apply(section: section, body, at: "detectors.\(name)", to: &config, problem)
                }
            case "alerts":
                applyAlerts(value, to: &config, problem)
            case "proxy":
                applyProxy(value, to: &config, problem)
            case "serve":
                apply(section: serveSection, value, at: "serve", to: &config, problem)
            default:
                problem(keyNode, "unknown key '\(keyNode.string ?? "?")' at the top level; known: pipeline, detectors, alerts, proxy, serve")
            }
        }
        return (config, problems)
    }

    private static func apply(
        section: ConfigSection, _ body: Node, at path: String, to config: inout ChunkWatchConfig,
        _ problem: (Node?, String) -> Void
    ) {
        if case .scalar(let s) = body, s.string.isEmpty || s.string == "~" || s.string == "null" { return }
        guard let mapping = body.mapping else {
            problem(body, "'\(path)' must be a mapping of settings")
            return
        }
        let isDetector = path.hasPrefix("detectors.")
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? ""
            if isDetector && key == "enabled" {
                switch valueNode.string?.lowercased() {
                case "true", "yes", "on": config.disabled.remove(section.name)
                case "false", "no", "off": config.disabled.insert(section.name)
                default: problem(valueNode, "\(path).enabled: expected true or false")
                }
                continue
            }
            guard let parameter = section.parameters.first(where: { $0.key == key }) else {
                let known = (isDetector ? ["enabled"] : []) + section.parameters.map(\.key)
                problem(keyNode, "unknown key '\(key)' in \(path); known: \(known.joined(separator: ", "))")
                continue
            }
            guard case .scalar(let scalar) = valueNode else {
                problem(valueNode, "\(path).\(key): expected a single value")
                continue
            }
            switch parameter.parse(scalar.string) {
            case .success(let value): parameter.set(&config, value)
            case .failure(let p): problem(valueNode, "\(path).\(key): \(p.message)")
            }
        }
    }

    private static func applyAlerts(_ body: Node, to config: inout ChunkWatchConfig, _ problem: (Node?, String) -> Void) {
        if case .scalar(let s) = body, s.string.isEmpty || s.string == "~" || s.string == "null" { return }
        guard let mapping = body.mapping else {
            problem(body, "'alerts' must be a mapping of sinks")
            return
        }
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? ""
            guard case .scalar(let scalar) = valueNode else {
                problem(valueNode, "alerts.\(key): expected a single value")
                continue
            }
            let text = scalar.string
            switch key {
            case "stdout":
                switch text.lowercased() {
                case "true", "yes", "on": config.alerts.stdout = true
                case "false", "no", "off": config.alerts.stdout = false
                default: problem(valueNode, "alerts.stdout: expected true or false")
                }
            case "file":
                config.alerts.file = text.isEmpty ? nil : text
            case "alertmanager":
                if !text.isEmpty && !text.hasPrefix("http://") {
                    problem(valueNode, "alerts.alertmanager: expected an http:// URL such as http://127.0.0.1:9093")
                }
                config.alerts.alertmanager = text.isEmpty ? nil : text
            default:
                problem(keyNode, "unknown key '\(key)' in alerts; known: \(AlertSinkSettings.keys.joined(separator: ", "))")
            }
        }
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams names the first key in its own sort order, which is not a
            // total order once a key is itself a mapping or a list: then the
            // line could change from one load of the same file to the next.
            return duplicates.contains(Self.unnamedKey) ? nil : context.mark.line
        default: return nil
        }
    }

    /// What Yams calls a duplicated key that is not a plain value.
    private static let unnamedKey = "<uncovertable>"

    /// The number of the file's last line (1 for an empty file).
    static func lastLine(of text: String) -> Int {
        var lines = 1
        var last: UInt8 = 0
        for byte in text.utf8 {
            if last == UInt8(ascii: "\n") { lines += 1 }
            last = byte
        }
        return lines
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let p, _, _), .parser(_, let p, _, _), .composer(_, let p, _, _): return p
        case .duplicatedKeysInMapping(let duplicates, _):
            // Yams's own text quotes the whole file after the keys.
            let named = Set(duplicates.filter { $0 != unnamedKey }).sorted().map { "'\($0)'" }
            let unnamed = duplicates.contains(unnamedKey) ? ["a key that is itself a mapping or a list"] : []
            let keys = (named + unnamed).joined(separator: ", ")
            return "a key appears twice in one mapping (\(keys)); keep one of each"
        default: return "\(error)"
        }
    }
}
