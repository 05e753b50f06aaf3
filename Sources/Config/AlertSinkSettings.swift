/// Where `serve` sends alerts besides its store and live stream: the
/// configuration's `alerts:` section (the command line's `--alerts-out` and
/// `--alertmanager` add to it).
public struct AlertSinkSettings: Sendable, Equatable {
    /// Write every alert line to stdout.
    public var stdout = false
    /// Append every alert line to this NDJSON file.
    public var file: String?
    /// Post alerts to this Prometheus Alertmanager (API v2), e.g. http://127.0.0.1:9093.
    public var alertmanager: String?

    public init() {}

    static let keys = ["stdout", "file", "alertmanager"]

    /// The section as `config default` writes it, every key commented.
    func yaml() -> String {
        var out = "# Where serve sends alerts besides its SQLite store and the live stream.\nalerts:\n"
        out += "  # write every alert line (NDJSON) to stdout\n  stdout: \(stdout)\n"
        out += "  # append every alert line to this file (empty: none)\n  file: \(file ?? "\"\"")\n"
        out += "  # post alerts to this Prometheus Alertmanager, API v2 (empty: none)\n  alertmanager: \(alertmanager ?? "\"\"")\n"
        return out
    }
}
