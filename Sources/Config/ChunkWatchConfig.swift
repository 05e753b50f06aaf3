import Detectors
import Pipeline

/// Everything a configuration file sets: the pipeline's settings and each
/// built-in detector's. Every key is optional; what a file leaves out keeps
/// its default.
public struct ChunkWatchConfig: Sendable, Equatable {
    public var pipeline = PipelineSettings()
    public var size = SizeDetector.Settings()
    public var rate = RateDetector.Settings()
    public var volume = VolumeDetector.Settings()
    public var changepoint = ChangepointDetector.Settings()
    public var integrity = IntegrityDetector.Settings()
    public var novelty = NoveltyDetector.Settings()
    public var silence = SilenceDetector.Settings()
    /// Detectors switched off by `enabled: false`.
    public var disabled: Set<String> = []
    /// Alert sinks of the daemon (`alerts:`).
    public var alerts = AlertSinkSettings()
    /// The gateway of `chunkwatch proxy` (`proxy:`).
    public var proxy = ProxySettings()
    /// How `serve` treats its connections (`serve:`).
    public var serve = ServeSettings()

    public init() {}

    /// The built-in detectors with these settings, less the disabled ones.
    public func registry() -> DetectorRegistry {
        var r = DetectorRegistry()
        let (size, rate, volume) = (self.size, self.rate, self.volume)
        let (integrity, novelty, changepoint, silence) = (self.integrity, self.novelty, self.changepoint, self.silence)
        r.register("size") { SizeDetector(settings: size) }
        r.register("rate") { RateDetector(settings: rate) }
        r.register("volume") { VolumeDetector(settings: volume) }
        r.register("integrity") { IntegrityDetector(settings: integrity) }
        r.register("novelty") { NoveltyDetector(settings: novelty) }
        r.register("changepoint") { ChangepointDetector(settings: changepoint) }
        r.register("silence") { SilenceDetector(settings: silence) }
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
            Parameter("workers", \.pipeline.workers, min: 0, max: 1024, "worker threads principals are sharded over; 0 = one per core (alerts are the same for any number)"),
            Parameter("batch_size", \.pipeline.batchSize, min: 1, max: 1_000_000, "events per batch handed to a worker"),
            Parameter("queue_depth", \.pipeline.queueDepth, min: 1, max: 100_000, "batches in flight per worker before the reader waits (it never drops)"),
            Parameter("max_keys", \.pipeline.maxKeys, min: 1, "principals tracked for coverage per worker; least recently seen are evicted"),
        ])

    /// The detectors' sections, in the order the default configuration lists them.
    public static let detectorSections: [ConfigSection] = [
        ConfigSection(
            name: "size",
            help: "A chunk far larger than its principal usually moves on that resource and direction (robust z of log size).",
            parameters: [
                Parameter("threshold", \.size.threshold, min: 0.1, "robust z (MADs scaled to standard deviations) at which an alert fires"),
                Parameter("window", \.size.window, min: 2, max: 65_536, "chunks per key in the rolling median/MAD window"),
                Parameter("warmup", \.size.warmup, min: 1, "chunks a key must have seen before it may alert"),
                Parameter("min_spread", \.size.minSpread, min: 0, "least spread assumed, in log2 units (0.15 is about ±11 %)"),
                Parameter("min_ratio", \.size.minRatio, min: 1, "a chunk must also be at least this many times the key's median size"),
                Parameter(
                    "tail_threshold", \.size.tailThreshold, min: 0,
                    "-log10 of the chance of a chunk this far beyond the window's largest below which it may alert (0: no such test)"),
                Parameter("min_tail_spread", \.size.minTailSpread, min: 0.01, "least scale of the tail beyond the window's largest chunks, in log2 units"),
                Parameter("cooldown", \.size.cooldown, min: .zero, "quiet event time after the last anomaly before the alert resolves"),
                Parameter("max_keys", \.size.maxKeys, min: 1, "keys (principal × resource × dir) tracked at once; least recently seen are evicted"),
            ]),
        ConfigSection(
            name: "rate",
            help: "A surge or collapse in chunks per event-time bucket against the principal's own baseline and its usual level for that hour of the week.",
            parameters: [
                Parameter("threshold", \.rate.threshold, min: 0.1, "z-score of the bucket count (count − usual) / spread at which an alert fires"),
                Parameter("bucket", \.rate.bucket, min: .seconds(1), "event-time bucket width over which chunks are counted"),
                Parameter("min_ratio", \.rate.minRatio, min: 0, "A surge needs at least this many times the usual count (ratio)…"),
                Parameter("min_count", \.rate.minCount, min: 0, "…and at least this many chunks in the bucket (chunks)"),
                Parameter("collapse_ratio", \.rate.collapseRatio, min: 0, "A collapse bucket holds under 1/collapseRatio of the usual count (ratio)…"),
                Parameter("collapse_min_mean", \.rate.collapseMinMean, min: 0, "…of a principal that usually moves at least this many chunks per bucket (chunks)…"),
                Parameter("collapse_buckets", \.rate.collapseBuckets, min: 0, "…for this many active buckets in a row (buckets)"),
                Parameter("alpha", \.rate.alpha, min: 0, "EWMA weight of each new active bucket in the recent baseline (0.05: about a 14-bucket half-life)"),
                Parameter("warmup", \.rate.warmup, min: 0, "active buckets a principal must have had before it may alert (buckets)"),
                Parameter("cooldown", \.rate.cooldown, min: .zero, "quiet event time after which an open alert resolves"),
                Parameter("max_keys", \.rate.maxKeys, min: 1, "principals tracked at once; the least recently seen are evicted (keys)"),
                Parameter("time_of_day", \.rate.timeOfDay, "judge each bucket against the principal's hour-of-week profile too (needs a bucket of at most an hour)"),
                Parameter("profile_weight", \.rate.profileWeight, min: 0, "weight of one hour of new data in an hour-of-week cell (0.25: about the last four occurrences count)"),
                Parameter("quiet_activity", \.rate.quietActivity, min: 0, "an hour is quiet when the principal was active in at most this share of its buckets (0…1)…"),
                Parameter("quiet_hours", \.rate.quietHours, min: 0, "…over at least this many observed hours of it (that hour of the week, or of the day on other days)"),
            ]),
        ConfigSection(
            name: "volume",
            help: "Bytes per bucket far above the principal's usual level for that hour, and a slow sustained drip (CUSUM): exfiltration.",
            parameters: [
                Parameter("threshold", \.volume.threshold, min: 0.1, "z-score of a bucket's bytes, (bytes − usual) / sd, at which a spike alert fires"),
                Parameter("bucket", \.volume.bucket, min: .seconds(1), "event-time bucket width over which bytes are summed (at most an hour)"),
                Parameter("min_ratio", \.volume.minRatio, min: 0, "A spike needs at least this many times the usual bytes of the bucket (ratio)…"),
                Parameter("min_bytes", \.volume.minBytes, min: 0, "…and at least this many bytes in the bucket (bytes)"),
                Parameter("drift_threshold", \.volume.driftThreshold, min: 0, "CUSUM level at which a drip alert fires, in buckets' worth of excess bytes"),
                Parameter("drift_slack", \.volume.driftSlack, min: 0, "excess each bucket may have without adding to the CUSUM, as a share of the usual bytes (0.35 = +35 %)"),
                Parameter("drift_slack_spread", \.volume.driftSlackSpread, min: 0, "the slack is at least this many coefficients of variation of the bucket's bytes (noisy keys need more)"),
                Parameter("profile_weight", \.volume.profileWeight, min: 0, "weight of one hour of new data in an hour-of-week cell (0.25: about the last four occurrences count)"),
                Parameter("alpha", \.volume.alpha, min: 0, "EWMA weight of each active bucket in the recent baseline, used while the profile does not know the hour yet (0.03: a 23-bucket half-life)"),
                Parameter("warmup", \.volume.warmup, min: 0, "active buckets a key must have had before it may alert (buckets)"),
                Parameter("rebaseline_half_life", \.volume.rebaselineHalfLife, min: .zero, "half-life of the re-baselining gain after a drip alert (event time)"),
                Parameter("cooldown", \.volume.cooldown, min: .zero, "quiet event time after which an open alert resolves"),
                Parameter("max_keys", \.volume.maxKeys, min: 1, "keys (principal × dir) tracked at once; the least recently seen are evicted (keys)"),
                Parameter("one_hop", \.volume.oneHop, "count each chunk at one hop per key only, so re-reports by later hops are not counted twice"),
            ]),
        ConfigSection(
            name: "integrity",
            help: "The same chunk with different checksums at two hops, a checksum that differs from the declared one, replayed seqs, gaps and reordering.",
            parameters: [
                Parameter("retention", \.integrity.retention, min: .zero, "event time a chunk's checksums are kept after its first copy, to compare with other hops and replays"),
                Parameter("max_keys", \.integrity.maxKeys, min: 1, "chunks (conn × dir × seq) remembered at once; the oldest go first, counted as evictions"),
                Parameter("stream_timeout", \.integrity.streamTimeout, min: .zero, "event time a conn × dir × hop may stay quiet before it ends (its open holes then count as missing)"),
                Parameter("max_streams", \.integrity.maxStreams, min: 1, "sequences (conn × dir × hop) followed at once; least recently seen go first"),
                Parameter("reorder_grace", \.integrity.reorderGrace, min: .zero, "event time a skipped seq may take to arrive before it counts as missing"),
                Parameter("gap_threshold", \.integrity.gapThreshold, min: 0, "missing chunks on one conn × dir × hop before a gap alert (low); 0 never alerts"),
                Parameter("reorder_threshold", \.integrity.reorderThreshold, min: 0, "late (reordered) chunks on one conn × dir × hop before a reorder alert (info); 0 never alerts"),
                Parameter("cooldown", \.integrity.cooldown, min: .zero, "event time without a repeat after which an alert resolves"),
            ]),
        ConfigSection(
            name: "novelty",
            help: "A new principal after the stream warm-up, a principal on a resource it never used, activity at hours it is never active.",
            parameters: [
                Parameter("stream_warmup", \.novelty.streamWarmup, min: .zero, "event time from the stream's first event during which new principals are learned, not reported"),
                Parameter("warmup", \.novelty.warmup, min: .zero, "a principal's own history (event time since first seen) before new resources are reported"),
                Parameter("warmup_events", \.novelty.warmupEvents, min: 0, "events a principal must have had before new resources or unusual hours are reported"),
                Parameter("hour_warmup", \.novelty.hourWarmup, min: .zero, "a principal's history before unusual hours of the day (UTC) are reported"),
                Parameter("week_warmup", \.novelty.weekWarmup, min: .zero, "a principal's history before its hours are judged by hour of the week instead of hour of the day"),
                Parameter("hour_threshold", \.novelty.hourThreshold, min: 0, "hours from an event's hour to the nearest hour the principal was active in at which an alert fires"),
                Parameter("max_resources", \.novelty.maxResources, min: 1, max: 65_536, "distinct resources remembered per principal (8 bytes each); a principal with more is not judged on resources"),
                Parameter("cooldown", \.novelty.cooldown, min: .zero, "event time without a repeat after which an alert resolves"),
                Parameter("max_keys", \.novelty.maxKeys, min: 1, "principals tracked at once; least recently seen go first (and are new again if they return)"),
            ]),
        ConfigSection(
            name: "changepoint",
            help: "A sustained shift in a key's chunk size or rate (CUSUM) that single-point tests miss.",
            parameters: [
                Parameter("threshold", \.changepoint.threshold, min: 0.1, "CUSUM level at which an alert fires, in standard errors of a batch mean or bucket count"),
                Parameter("slack", \.changepoint.slack, min: 0, "deviation per batch or bucket that does not add to the CUSUM, in standard errors"),
                Parameter("size_batch", \.changepoint.sizeBatch, min: 1, max: 1_000_000, "chunks per size batch, per direction (chunks)"),
                Parameter("min_size_shift", \.changepoint.minSizeShift, min: 0, "smallest size shift reported, in log2 units (0.5 = ×1.41 or ÷1.41)"),
                Parameter("min_size_spread", \.changepoint.minSizeSpread, min: 0, "least spread assumed for one chunk's log2 size (log2 units)"),
                Parameter("rate_bucket", \.changepoint.rateBucket, min: .seconds(1), "event-time bucket width over which chunks are counted for the rate series"),
                Parameter("min_rate_shift", \.changepoint.minRateShift, min: 0, "smallest rate shift reported, in log2 units (1 = ×2 or ÷2)"),
                Parameter("min_rate_spread", \.changepoint.minRateSpread, min: 0, "least spread assumed for a bucket's log2 count (log2 units)"),
                Parameter("alpha", \.changepoint.alpha, min: 0, "EWMA weight of each batch or bucket in a baseline (0.02: about a 35-observation half-life)"),
                Parameter("warmup", \.changepoint.warmup, min: 0, "batches or buckets a series must have had before it may alert"),
                Parameter("cooldown", \.changepoint.cooldown, min: .zero, "quiet event time after which an open alert resolves"),
                Parameter("max_keys", \.changepoint.maxKeys, min: 1, "keys (principal × resource) tracked at once; the least recently seen are evicted (keys)"),
                Parameter("one_hop", \.changepoint.oneHop, "count each chunk at one hop per key only, so re-reports by later hops are not counted twice"),
            ]),
        ConfigSection(
            name: "silence",
            help: "A principal whose steady events stop, judged against its own usual gaps on event time.",
            parameters: [
                Parameter("multiple", \.silence.multiple, min: 0, "times the principal's usual long gap its silence must last to alert"),
                Parameter("quantile", \.silence.quantile, min: 0, "share of the principal's time (0…1) spent in gaps no longer than its usual long gap"),
                Parameter("min_silence", \.silence.minSilence, min: .zero, "the least silence that alerts, whatever the usual gap"),
                Parameter("warmup", \.silence.warmup, min: .zero, "a principal's history (event time from its first to its last event) before it may alert"),
                Parameter("warmup_events", \.silence.warmupEvents, min: 0, "gaps (events after the first) a principal must have had before it may alert"),
                Parameter("half_life", \.silence.halfLife, min: .zero, "event time over which a learned gap loses half its weight"),
                Parameter("report_every", \.silence.reportEvery, min: .zero, "while a silence lasts, event time between repeated reports (keep it under `cooldown`)"),
                Parameter("forget_after", \.silence.forgetAfter, min: .zero, "silence after which a principal is no longer reported, and warms up again if it returns"),
                Parameter("cooldown", \.silence.cooldown, min: .zero, "event time without a repeat after which an alert resolves"),
                Parameter("max_keys", \.silence.maxKeys, min: 1, "principals tracked at once; least recently seen go first"),
            ]),
    ]
}
