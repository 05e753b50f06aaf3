import ChunkModel

/// Detectors by name, built-in and the user's own, each made by a factory so
/// every pipeline shard gets its own instance (detectors keep state and are
/// not shared between threads).
public struct DetectorRegistry: Sendable {
    public typealias Factory = @Sendable () -> any Detector

    private var factories: [(name: String, make: Factory)] = []

    public init() {}

    /// The built-in detectors with default settings (a configuration file
    /// changes them through `ChunkWatchConfig.registry()`).
    public static func builtIn() -> DetectorRegistry {
        var r = DetectorRegistry()
        r.register("size") { SizeDetector() }
        r.register("rate") { RateDetector() }
        r.register("volume") { VolumeDetector() }
        r.register("integrity") { IntegrityDetector() }
        r.register("novelty") { NoveltyDetector() }
        r.register("changepoint") { ChangepointDetector() }
        r.register("silence") { SilenceDetector() }
        return r
    }

    /// Adds a detector, or replaces the one registered under the same name.
    public mutating func register(_ name: String, _ make: @escaping Factory) {
        if let i = factories.firstIndex(where: { $0.name == name }) {
            factories[i] = (name, make)
        } else {
            factories.append((name, make))
        }
    }

    public mutating func remove(_ name: String) { factories.removeAll { $0.name == name } }

    public var names: [String] { factories.map(\.name) }

    /// One fresh instance of each registered detector, in registration order.
    public func makeAll() -> [any Detector] { factories.map { $0.make() } }

    /// Keeps only the named detectors; unknown names are an error.
    public func only(_ names: [String]) throws(UnknownDetector) -> DetectorRegistry {
        var r = DetectorRegistry()
        for name in names {
            guard let f = factories.first(where: { $0.name == name }) else {
                throw UnknownDetector(name: name, known: self.names)
            }
            r.register(name, f.make)
        }
        return r
    }
}

public struct UnknownDetector: Error, CustomStringConvertible {
    public var name: String
    public var known: [String]
    public var description: String {
        "unknown detector '\(name)'; known detectors: \(known.joined(separator: ", "))"
    }
}
