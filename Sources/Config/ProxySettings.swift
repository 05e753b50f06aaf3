import Yams

/// The gateway `chunkwatch proxy --config FILE` runs: the configuration's
/// `proxy:` section. Its listeners each give their traffic a principal, so
/// one proxy can front several targets for several identities; the command
/// line's `--listen/--upstream/--principal` add one more.
public struct ProxySettings: Sendable, Equatable {
    public struct Listener: Sendable, Equatable {
        /// `host:port` to accept connections on.
        public var listen: String
        /// `host:port` of the target each connection is forwarded to.
        public var upstream: String
        public var principal: String
        /// The events' `resource`; `tcp://UPSTREAM` when nil.
        public var resource: String?
        /// The events' `hop`; "proxy" when nil.
        public var hop: String?

        public init(listen: String, upstream: String, principal: String, resource: String? = nil, hop: String? = nil) {
            self.listen = listen
            self.upstream = upstream
            self.principal = principal
            self.resource = resource
            self.hop = hop
        }
    }

    /// The collector's TCP ingest listener (`serve --ingest`), `host:port`; nil: no tap, forward only.
    public var collector: String?
    public var listeners: [Listener] = []

    public init() {}

    static let keys = ["collector", "listeners"]
    static let listenerKeys = ["listen", "upstream", "principal", "resource", "hop"]

    /// The section as `config default` writes it, every key commented.
    func yaml() -> String {
        var out = "# The gateway `chunkwatch proxy --config FILE` runs: where its tap sends, and its listeners.\nproxy:\n"
        out += "  # the collector's TCP ingest listener (serve --ingest), host:port (empty: no tap, forward only)\n"
        out += "  collector: \(collector ?? "\"\"")\n"
        out += "  # one entry per listening address: listen, upstream and principal; resource and hop optional\n"
        if listeners.isEmpty {
            out += "  listeners: []\n"
            out += "  # listeners:\n  #   - listen: 127.0.0.1:6432\n  #     upstream: 127.0.0.1:5432\n"
            out += "  #     principal: svc-billing\n  #     resource: pg://orders\n  #     hop: proxy\n"
        } else {
            out += "  listeners:\n"
            for l in listeners {
                out += "    - listen: \(l.listen)\n      upstream: \(l.upstream)\n      principal: \(Self.quoted(l.principal))\n"
                if let r = l.resource { out += "      resource: \(Self.quoted(r))\n" }
                if let h = l.hop { out += "      hop: \(Self.quoted(h))\n" }
            }
        }
        return out
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Whether `text` is `host:port` with a port in 0...65535 (`[::1]:port` too).
    public static func isHostPort(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":"),
            let port = Int(text[text.index(after: colon)...])
        else { return false }
        return (0...65535).contains(port)
    }
}

extension ChunkWatchConfig {
    static func applyProxy(_ body: Node, to config: inout ChunkWatchConfig, _ problem: (Node?, String) -> Void) {
        if case .scalar(let s) = body, s.string.isEmpty || s.string == "~" || s.string == "null" { return }
        guard let mapping = body.mapping else {
            problem(body, "'proxy' must be a mapping with collector and listeners")
            return
        }
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? ""
            switch key {
            case "collector":
                guard case .scalar(let scalar) = valueNode else {
                    problem(valueNode, "proxy.collector: expected host:port")
                    continue
                }
                let text = scalar.string
                if !text.isEmpty && !ProxySettings.isHostPort(text) {
                    problem(valueNode, "proxy.collector: expected host:port such as 127.0.0.1:7071, got '\(text)'")
                }
                config.proxy.collector = text.isEmpty ? nil : text
            case "listeners":
                guard let items = valueNode.sequence else {
                    problem(valueNode, "proxy.listeners: expected a list of listeners (- listen: …)")
                    continue
                }
                for (i, item) in items.enumerated() {
                    if let listener = listener(item, at: "proxy.listeners[\(i)]", problem) {
                        config.proxy.listeners.append(listener)
                    }
                }
            default:
                problem(keyNode, "unknown key '\(key)' in proxy; known: \(ProxySettings.keys.joined(separator: ", "))")
            }
        }
    }

    private static func listener(
        _ node: Node, at path: String, _ problem: (Node?, String) -> Void
    ) -> ProxySettings.Listener? {
        guard let mapping = node.mapping else {
            problem(node, "\(path): expected a mapping with listen, upstream and principal")
            return nil
        }
        var values: [String: String] = [:]
        var ok = true
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? ""
            guard ProxySettings.listenerKeys.contains(key) else {
                problem(keyNode, "unknown key '\(key)' in \(path); known: \(ProxySettings.listenerKeys.joined(separator: ", "))")
                ok = false
                continue
            }
            guard case .scalar(let scalar) = valueNode else {
                problem(valueNode, "\(path).\(key): expected a single value")
                ok = false
                continue
            }
            let text = scalar.string
            switch key {
            case "listen", "upstream":
                if !ProxySettings.isHostPort(text) {
                    problem(valueNode, "\(path).\(key): expected host:port such as 127.0.0.1:6432, got '\(text)'")
                    ok = false
                }
            case "principal":
                if text.isEmpty || text.utf8.count > 256 {
                    problem(valueNode, "\(path).principal: must have 1 to 256 bytes")
                    ok = false
                }
            default: break
            }
            values[key] = text
        }
        for required in ["listen", "upstream", "principal"] where values[required] == nil {
            problem(node, "\(path): '\(required)' is missing")
            ok = false
        }
        guard ok, let listen = values["listen"], let upstream = values["upstream"], let principal = values["principal"] else {
            return nil
        }
        return ProxySettings.Listener(
            listen: listen, upstream: upstream, principal: principal, resource: values["resource"], hop: values["hop"])
    }
}
