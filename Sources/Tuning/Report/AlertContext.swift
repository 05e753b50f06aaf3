import ChunkModel
import Config
import Ingest

/// One of the strongest alerts at a chosen value, with its principal's traffic
/// around it: what the report draws against the alert's baseline band.
public struct AlertContext: Sendable {
    public enum Series: Sendable, Equatable {
        /// Each chunk's size (size, changepoint).
        case chunkSizes
        /// Chunks per bucket (rate, silence, novelty, integrity).
        case chunks(per: Duration)
        /// Bytes per bucket (volume).
        case bytes(per: Duration)
    }

    public var detector: String
    /// The firing line (the figures at the moment it opened) and the final one.
    public var firing: Alert
    public var final: Alert
    public var candidate: Candidate
    public var series: Series
    public var from: Timestamp
    public var to: Timestamp
    /// (event time, value) in time order: chunk sizes, or per-bucket totals
    /// (buckets without traffic are absent).
    public var points: [(ts: Timestamp, value: Double)] = []
}

extension Tuner {
    /// How many alerts per chosen candidate the report shows.
    static let contextsPerDetector = 3

    /// Reads the inputs again for the traffic around the strongest alerts of
    /// each row (by final score, then the earliest).
    public func alertContexts(for rows: [SweepRow], base: ChunkWatchConfig) throws(TuneError) -> [AlertContext] {
        var wants: [AlertContext] = []
        for row in rows {
            for a in row.strongest.prefix(Self.contextsPerDetector) {
                wants.append(Self.context(for: a.firing, final: a.final, candidate: row.candidate))
            }
        }
        guard !wants.isEmpty else { return [] }
        let files = try expandedInputs()
        let symbols = SymbolTable()
        let collector = ContextCollector(wants)
        _ = try SharedRead(inputs: files, symbols: symbols, threads: 1, pass: 2, progress: progress).run([collector])
        return collector.finish()
    }

    private static func context(for firing: Alert, final: Alert, candidate: Candidate) -> AlertContext {
        let c = candidate.config
        let series: AlertContext.Series
        let before: Duration
        let after: Duration
        switch candidate.detector {
        case "size":
            (series, before, after) = (.chunkSizes, .seconds(3 * 3600), .seconds(1800))
        case "changepoint":
            // A shift in size shows in the chunks; a shift in rate in the counts per bucket.
            let rateShift = firing.baseline?.contains { $0.0 == "mean" } ?? false
            (series, before, after) = (rateShift ? .chunks(per: c.changepoint.rateBucket) : .chunkSizes, .seconds(8 * 3600), .seconds(2 * 3600))
        case "rate":
            (series, before, after) = (.chunks(per: c.rate.bucket), c.rate.bucket * 150, c.rate.bucket * 40)
        case "volume":
            (series, before, after) = (.bytes(per: c.volume.bucket), c.volume.bucket * 96, c.volume.bucket * 24)
        case "silence":
            let gap = Duration.seconds(Int64(firing.observed ?? 0))
            (series, before, after) = (.chunks(per: .seconds(300)), max(.seconds(6 * 3600), gap * 2), .seconds(2 * 3600))
        case "novelty":
            (series, before, after) = (.chunks(per: .seconds(600)), .seconds(24 * 3600), .seconds(2 * 3600))
        default:
            (series, before, after) = (.chunks(per: .seconds(60)), .seconds(3600), .seconds(1800))
        }
        return AlertContext(
            detector: candidate.detector, firing: firing, final: final, candidate: candidate, series: series,
            from: Timestamp(nanoseconds: firing.firstTs.nanoseconds - before.nanosecondsClamped), to: final.lastTs + after)
    }
}

/// Gathers, in one read, the events of the principals the report looks at.
private final class ContextCollector: BatchConsumer, @unchecked Sendable {  // fed by the reading thread only (one thread)
    struct Raw {
        var ts: Int64
        var size: Int64
        var dir: Direction
        var resource: Symbol
        var conn: Symbol
        var seq: Int64
    }

    private var contexts: [AlertContext]
    private var byPrincipal: [Symbol: [Int]] = [:]
    private var raw: [[Raw]]
    private static let maxRaw = 400_000

    init(_ contexts: [AlertContext]) {
        self.contexts = contexts
        raw = Array(repeating: [], count: contexts.count)
        for (i, c) in contexts.enumerated() { byPrincipal[Symbol(c.firing.principal), default: []].append(i) }
    }

    var pipelines: Int { 0 }

    func apply(_ batch: Batch) {
        for e in batch.events {
            guard let ids = byPrincipal[e.principal] else { continue }
            for i in ids where e.ts >= contexts[i].from && e.ts <= contexts[i].to && raw[i].count < Self.maxRaw {
                raw[i].append(Raw(ts: e.ts.nanoseconds, size: e.size, dir: e.dir, resource: e.resource, conn: e.conn, seq: e.seq))
            }
        }
    }

    func finish() -> [AlertContext] {
        for i in contexts.indices { contexts[i].points = points(contexts[i], raw[i]) }
        return contexts
    }

    private func points(_ c: AlertContext, _ events: [Raw]) -> [(ts: Timestamp, value: Double)] {
        var events = events.sorted { $0.ts < $1.ts }
        // The key's own events: size is keyed by principal × resource × dir,
        // volume by principal × dir, changepoint by principal × resource. The
        // alert's event (its time, conn and seq) says which direction.
        let resource = c.firing.resource.map { Symbol($0) } ?? .none
        if c.detector == "size" || c.detector == "changepoint" { events = events.filter { $0.resource == resource } }
        if c.detector == "size" || c.detector == "volume" {
            let conn = c.firing.conn.map { Symbol($0) } ?? .none
            if let hit = events.first(where: { $0.ts == c.firing.firstTs.nanoseconds && $0.conn == conn && $0.seq == (c.firing.seq ?? -1) }) {
                events = events.filter { $0.dir == hit.dir }
            }
        }
        switch c.series {
        case .chunkSizes:
            return events.map { (Timestamp(nanoseconds: $0.ts), Double($0.size)) }
        case .chunks(let per), .bytes(let per):
            let width = BucketWidth(per)
            var out: [(ts: Timestamp, value: Double)] = []
            var bucket = Int64.min
            var total = 0.0
            let bytes = c.series == .bytes(per: per)
            for e in events {
                let b = Timestamp(nanoseconds: e.ts).bucket(width)
                if b != bucket {
                    if bucket != .min { out.append((Timestamp.start(ofBucket: bucket, width), total)) }
                    bucket = b
                    total = 0
                }
                total += bytes ? Double(e.size) : 1
            }
            if bucket != .min { out.append((Timestamp.start(ofBucket: bucket, width), total)) }
            return out
        }
    }
}
