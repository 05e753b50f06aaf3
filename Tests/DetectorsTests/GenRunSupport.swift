import Alerting
import ChunkModel
import Detectors
import Ingest
import Pipeline
import ChunkWatchTestKit
import Testing
import Workload

/// `gen`'s traffic through the engine with only the detectors under test.
typealias GenDetectorRun = GenRun

extension GenRun {
    init(_ config: WorkloadConfig, _ detectors: [(String, DetectorRegistry.Factory)]) throws {
        var registry = DetectorRegistry()
        for (name, make) in detectors { registry.register(name, make) }
        try self.init(config, registry: registry) { Issue.record("gen wrote a line the decoder rejects: \($0)") }
    }

    /// Principal-days of the run, for false-alert rates.
    func principalDays(_ config: WorkloadConfig) -> Double { Double(config.principals) * config.hours / 24 }
}

extension GenDetectorRun {
    /// Three clean days, Monday to Wednesday, of services with a diurnal
    /// curve, office workers and a nightly batch job (584,839 events).
    static let cleanConfig = WorkloadConfig(principals: 6, hours: 72, seed: 3, anomalies: [])

    /// `cleanConfig` through volume, changepoint and rate at once: generated
    /// once (about 10 s in a debug build) and shared by their suites.
    static let cleanThreeDays: Result<GenDetectorRun, any Error> = Result {
        try GenDetectorRun(
            cleanConfig,
            [
                ("volume", { VolumeDetector() }), ("changepoint", { ChangepointDetector() }),
                ("rate", { RateDetector() }),
            ])
    }
}
