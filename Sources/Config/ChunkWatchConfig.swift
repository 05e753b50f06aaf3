import Detectors
import Pipeline

/// Everything a configuration file sets: the pipeline's settings and each
/// built-in detector's. Every key is optional; what a file leaves out keeps
/// its default.
public struct ChunkWatchConfig: Sendable, Equatable {
    public var pipeline = PipelineSettings()
    public var size = SizeDetector.Settings()
    public var rate = RateDetector.Settings()
    /// Detectors switched off by `enabled: false`.
    public var disabled: Set<String> = []

    public init() {}

    /// The built-in detectors with these settings, less the disabled ones.
    public func registry() -> DetectorRegistry {
        var r = DetectorRegistry()
        let size = self.size
        let rate = self.rate
        r.register("size") { SizeDetector(settings: size) }
        r.register("rate") { RateDetector(settings: rate) }
        for name in disabled { r.remove(name) }
        return r
    }
}

/// A titled group of parameters: `pipeline`, or one detector under `detectors`.
public struct ConfigSection: Sendable {
    public let name: String
    public let help: String
    public let parameters: [Parameter]
}

extension ChunkWatchConfig {
    public static let pipelineSection = ConfigSection(
        name: "pipeline",
        help: "How events flow: ticks, worker threads, queues.",
        parameters: [
            Parameter("tick", \.pipeline.tick, min: .milliseconds(1), "event time between ticks, when alerts resolve and detectors judge absences"),
            Parameter("workers", \.pipeline.workers, min: 0, "worker threads principals are sharded over; 0 = one per core (alerts are the same for any number)"),
            Parameter("batch_size", \.pipeline.batchSize, min: 1, "events per batch handed to a worker"),
            Parameter("queue_depth", \.pipeline.queueDepth, min: 1, "batches in flight per worker before the reader waits (it never drops)"),
            Parameter("max_keys", \.pipeline.maxKeys, min: 1, "principals tracked for coverage per worker; least recently seen are evicted"),
        ])

    /// The detectors' sections, in the order the default configuration lists them.
    public static let detectorSections: [ConfigSection] = [
        ConfigSection(
            name: "size",
            help: "A chunk far larger than its principal usually moves on that resource and direction (robust z of log size).",
            parameters: [
                Parameter("threshold", \.size.threshold, min: 0.1, "robust z (MADs scaled to standard deviations) at which an alert fires"),
                Parameter("window", \.size.window, min: 2, "chunks per key in the rolling median/MAD window"),
                Parameter("warmup", \.size.warmup, min: 1, "chunks a key must have seen before it may alert"),
                Parameter("min_spread", \.size.minSpread, min: 0, "least spread assumed, in log2 units (0.15 is about ±11 %)"),
                Parameter("min_ratio", \.size.minRatio, min: 1, "a chunk must also be at least this many times the key's median size"),
                Parameter("cooldown", \.size.cooldown, min: .zero, "quiet event time after the last anomaly before the alert resolves"),
                Parameter("max_keys", \.size.maxKeys, min: 1, "keys (principal × resource × dir) tracked at once; least recently seen are evicted"),
            ]),
        ConfigSection(
            name: "rate",
            help: "A surge or collapse in chunks per event-time bucket against the principal's own baseline.",
            parameters: [
                Parameter("threshold", \.rate.threshold, min: 0.1, "z-score of the bucket count at which an alert fires"),
                Parameter("bucket", \.rate.bucket, min: .seconds(1), "event-time bucket width"),
                Parameter("min_ratio", \.rate.minRatio, min: 1, "a surge needs at least this many times the usual count"),
                Parameter("min_count", \.rate.minCount, min: 0, "…and at least this many chunks in the bucket"),
                Parameter("collapse_ratio", \.rate.collapseRatio, min: 1, "a collapse bucket has under 1/collapse_ratio of the usual count"),
                Parameter("collapse_min_mean", \.rate.collapseMinMean, min: 0, "collapses are judged only for principals usually this busy (chunks per bucket)"),
                Parameter("collapse_buckets", \.rate.collapseBuckets, min: 1, "active buckets in a row that a collapse must last"),
                Parameter("alpha", \.rate.alpha, min: 0.0001, "EWMA weight of each new active bucket"),
                Parameter("warmup", \.rate.warmup, min: 1, "active buckets a principal must have had before it may alert"),
                Parameter("cooldown", \.rate.cooldown, min: .zero, "quiet event time after the last anomaly before the alert resolves"),
                Parameter("max_keys", \.rate.maxKeys, min: 1, "principals tracked at once; least recently seen are evicted"),
            ]),
    ]
}
