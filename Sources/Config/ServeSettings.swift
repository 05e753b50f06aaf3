/// How `serve` treats its connections: the configuration's `serve:` section
/// (the command line's `--drain-timeout`, `--auth-timeout`, `--idle-timeout`,
/// `--max-connections` and `--http-max-connections` override it). None of it
/// shapes the baselines, so none of it touches the checkpoint's fingerprint.
public struct ServeSettings: Sendable, Equatable {
    /// After SIGTERM: how long open ingest connections (and HTTP requests in
    /// flight) are read to their end before what is left is cut.
    public var drainTimeout: Duration = .seconds(10)
    /// With tokens: how long a new ingest connection has to send a valid `AUTH` line.
    public var authTimeout: Duration = .seconds(10)
    /// An ingest connection that completes no line (NDJSON) or record frame
    /// (binary) for this long is closed: idle, or trickling bytes (slowloris).
    public var ingestIdleTimeout: Duration = .seconds(300)
    /// An HTTP connection that sends no complete request head for this long
    /// (idle keep-alive, or a head trickled byte by byte) is closed.
    public var httpIdleTimeout: Duration = .seconds(60)
    /// An HTTP request whose head and body are not in within this long is cut.
    /// Responses (the alert stream) are not limited.
    public var httpRequestTimeout: Duration = .seconds(60)
    /// Concurrent ingest connections; 0 derives it from the fd limit.
    public var ingestMaxConnections = 0
    /// Concurrent HTTP connections; 0 derives it from the fd limit.
    public var httpMaxConnections = 0
    /// Bytes of source names (principal, resource, hop) one binary tap
    /// connection may register in all.
    public var maxSourceBytes = 4 << 20

    public init() {}
}

extension ChunkWatchConfig {
    public static let serveSection = ConfigSection(
        name: "serve",
        help: "How serve treats its connections: draining at SIGTERM, timeouts, limits (none of it changes live).",
        parameters: [
            Parameter("drain_timeout", \.serve.drainTimeout, min: .zero, "after SIGTERM, how long open ingest connections and HTTP requests are read to their end before the rest is cut (and logged)"),
            Parameter("auth_timeout", \.serve.authTimeout, min: .milliseconds(100), "with --tokens, time a new ingest connection has to send its AUTH line"),
            Parameter("ingest_idle_timeout", \.serve.ingestIdleTimeout, min: .milliseconds(100), "an ingest connection that completes no line or record frame for this long is closed (idle or trickling)"),
            Parameter("http_idle_timeout", \.serve.httpIdleTimeout, min: .milliseconds(100), "an HTTP connection that sends no complete request head for this long is closed"),
            Parameter("http_request_timeout", \.serve.httpRequestTimeout, min: .milliseconds(100), "an HTTP request (head and body) must be in within this long; responses such as the alert stream are not limited"),
            Parameter("ingest_max_connections", \.serve.ingestMaxConnections, min: 0, "concurrent ingest connections, the rest refused; 0 = three quarters of the fd limit less 256 for files"),
            Parameter("http_max_connections", \.serve.httpMaxConnections, min: 0, "concurrent HTTP connections, the rest answered 503; 0 = a quarter of the fd limit less 256 for files"),
            Parameter("max_source_bytes", \.serve.maxSourceBytes, min: 1024, "bytes of source names one binary tap connection may register in all (each principal 1-256 bytes)"),
        ])

    /// Sets one `serve` key from its text form (`10s`, `5000`), checked as a
    /// file's value is: the command line's overrides go through here.
    public mutating func set(serve key: String, to text: String) throws(TuningError) {
        guard let parameter = Self.serveSection.parameters.first(where: { $0.key == key }) else {
            throw TuningError("serve has no key '\(key)'; it has: \(Self.serveSection.parameters.map(\.key).joined(separator: ", "))")
        }
        switch parameter.parse(text) {
        case .success(let value): parameter.set(&self, value)
        case .failure(let problem): throw TuningError("serve.\(key): \(problem.message)")
        }
    }
}
