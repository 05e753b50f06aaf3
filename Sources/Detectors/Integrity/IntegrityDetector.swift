import Baselines
import ChunkModel

/// `integrity`: a chunk whose content changed on the way or came back.
///
/// Four checks, each on the events that carry what it needs:
/// - **hops** (critical): the same conn × dir × seq reported by two hops with
///   different checksums — the chunk changed between them;
/// - **replay** (high): the same conn × dir × seq reported twice by one hop
///   with different checksums — a replayed or rewritten chunk (the same
///   checksum twice is a retransmission, only counted);
/// - **expected** (high): `checksum` ≠ `expected_checksum`;
/// - **gap** (low) and **reorder** (info): per conn × dir × hop, seqs that never
///   arrive, or arrive after later ones. Taps drop events under load by design
///   and a late seq is usually a multi-threaded tap, so single occurrences are
///   only counted (`missingChunks`, `lateChunks`); an alert needs
///   `gapThreshold` missing or `reorderThreshold` late chunks on one stream.
///
/// A chunk's checksums are remembered for `retention` after it is first seen,
/// a stream's seqs until it has been quiet for `streamTimeout`, both in
/// event time against the stream watermark, so memory follows the traffic of
/// the last minutes, not the number of connections ever opened; both stores
/// are bounded besides (`maxKeys`, `maxStreams`; the oldest go first, counted).
/// One event raises at most one checksum anomaly: hops before replay before
/// expected, the most specific first.
public final class IntegrityDetector: Detector {
    public struct Settings: Sendable, Equatable {
        /// Event time a chunk's checksums are kept after its first copy, to compare with other hops and replays.
        public var retention: Duration = .seconds(120)
        /// Chunks (conn × dir × seq) remembered at once; the oldest go first, counted as evictions.
        public var maxKeys: Int = 262_144
        /// Event time a conn × dir × hop may stay quiet before it ends (its open holes then count as missing).
        public var streamTimeout: Duration = .seconds(300)
        /// Sequences (conn × dir × hop) followed at once; least recently seen go first.
        public var maxStreams: Int = 100_000
        /// Event time a skipped seq may take to arrive before it counts as missing.
        public var reorderGrace: Duration = .seconds(10)
        /// Missing chunks on one conn × dir × hop before a gap alert (low); 0 never alerts.
        public var gapThreshold: Int = 8
        /// Late (reordered) chunks on one conn × dir × hop before a reorder alert (info); 0 never alerts.
        public var reorderThreshold: Int = 16
        /// Event time without a repeat after which an alert resolves.
        public var cooldown: Duration = .seconds(600)

        public init() {}
    }

    /// What one chunk looked like at the first two hops that reported it.
    struct ChunkCopies: Codable {
        var hopA: UInt64
        var sumA: UInt64
        var hopB: UInt64
        var sumB: UInt64
    }

    /// One conn × dir × hop: its sequence window and what an alert needs to name it.
    struct Stream: Codable {
        var window = SequenceWindow()
        var missing: Int64 = 0
        var late: Int64 = 0
        var principal: Symbol
        var resource: Symbol
        var conn: Symbol
        var hop: Symbol
        var dir: Direction
    }

    enum Check: UInt64 {
        case hops = 1, replay, expected, gap, reorder
        var name: String {
            switch self {
            case .hops: "hops"
            case .replay: "replay"
            case .expected: "expected"
            case .gap: "gap"
            case .reorder: "reorder"
            }
        }
    }

    public let name = "integrity"
    public let keyedBy = "conn × dir × seq"
    public private(set) var settings: Settings
    private let retentionNanos: Int64
    private let timeoutNanos: Int64
    private let graceNanos: Int64
    private var chunks: ExpiringKeyedStore
    private var copies: [ChunkCopies] = []
    private var streams: ExpiringKeyedStore
    private var streamStates: [Stream] = []

    /// Chunks confirmed missing, late, and reported twice with the same checksum.
    public private(set) var missingChunks = 0
    public private(set) var lateChunks = 0
    public private(set) var duplicateChunks = 0

    public init(settings: Settings = .init()) {
        self.settings = settings
        retentionNanos = Swift.max(0, settings.retention.nanosecondsClamped)
        timeoutNanos = Swift.max(0, settings.streamTimeout.nanosecondsClamped)
        graceNanos = Swift.max(0, settings.reorderGrace.nanosecondsClamped)
        chunks = ExpiringKeyedStore(capacity: Swift.max(1, settings.maxKeys))
        streams = ExpiringKeyedStore(capacity: Swift.max(1, settings.maxStreams))
    }

    /// Chunks remembered (the detector's keys) and chunks dropped to stay
    /// within `maxKeys` before their retention ended.
    /// Takes new values for the parameters that may change while the detector
    /// runs (thresholds and the cooldown; `ChunkWatchConfig.liveParameters`
    /// lists them). The baselines stay as they are.
    public func retune(_ settings: Settings) {
        self.settings = settings
    }

    public var keyStats: (tracked: Int, evicted: Int) { (chunks.count, chunks.evictions) }

    /// Streams followed and streams dropped to stay within `maxStreams`.
    public var streamStats: (tracked: Int, evicted: Int) { (streams.count, streams.evictions) }

    /// The principal is part of every key: two principals' gateways may reuse
    /// a connection id, and a key never spans shards.
    @inline(__always)
    static func connKey(_ e: ChunkEvent) -> UInt64 {
        StableHash.combine(StableHash.combine(e.principal.rawValue, e.conn.rawValue), UInt64(e.dir.rawValue))
    }

    @inline(__always)
    static func chunkKey(_ e: ChunkEvent) -> UInt64 {
        StableHash.combine(connKey(e), UInt64(bitPattern: e.seq))
    }

    @inline(__always)
    static func streamKey(_ e: ChunkEvent) -> UInt64 {
        StableHash.combine(connKey(e), e.hop.rawValue ^ 0x5EC0_0000_0000_0000)
    }

    public func observe(_ event: ChunkEvent, context: DetectorContext, anomalies: inout [Anomaly]) -> Double {
        let now = Swift.max(context.watermark.nanoseconds, event.ts.nanoseconds)
        var score = 0.0
        var raised = false
        if !event.conn.isNone && event.seq >= 0 {
            if !event.checksum.isNone { raised = checkCopies(event, now: now, context, &anomalies) }
            score = followSequence(event, now: now, context, &anomalies)
        }
        if raised { return 1 }
        if !event.checksum.isNone && !event.expectedChecksum.isNone
            && event.checksum != event.expectedChecksum
        {
            anomalies.append(checksumAnomaly(.expected, event, other: event.expectedChecksum, otherHop: .none, context))
            return 1
        }
        return score
    }

    public func advance(context: DetectorContext, anomalies: inout [Anomaly]) {
        let now = context.watermark.nanoseconds
        chunks.expire(before: now.clampedSubtracting(retentionNanos)) { _, _, _ in }
        streams.expire(before: now.clampedSubtracting(timeoutNanos)) { slot, key, stamp in
            endStream(slot, key: key, stamp: stamp, context, &anomalies)
        }
    }

    // MARK: - Checksums

    /// Compares the chunk with its earlier copies; true when it raised an anomaly.
    private func checkCopies(
        _ e: ChunkEvent, now: Int64, _ context: DetectorContext, _ anomalies: inout [Anomaly]
    ) -> Bool {
        // Expired chunks leave a couple at a time here too, so memory stays
        // bounded when nobody calls `advance`; what is alive is decided below
        // by the stamp alone, so this changes no verdict.
        chunks.expire(before: now.clampedSubtracting(retentionNanos), limit: 2) { _, _, _ in }
        let (slot, isNew, _) = chunks.slot(for: Self.chunkKey(e), at: e.ts.nanoseconds)
        let hop = e.hop.rawValue
        let sum = e.checksum.rawValue
        let fresh = ChunkCopies(hopA: hop, sumA: sum, hopB: 0, sumB: 0)
        if isNew {
            if slot == copies.count { copies.append(fresh) } else { copies[slot] = fresh }
            return false
        }
        if chunks.stamp(at: slot) < now.clampedSubtracting(retentionNanos) {
            // Past its retention though not yet removed: the seq starts over.
            copies[slot] = fresh
            chunks.restamp(slot, at: e.ts.nanoseconds)
            return false
        }
        let c = copies[slot]
        if hop == c.hopA {
            if sum == c.sumA {
                duplicateChunks += 1
                return false
            }
            anomalies.append(checksumAnomaly(.replay, e, other: Symbol(rawValue: c.sumA), otherHop: e.hop, context))
            return true
        }
        if c.hopB == 0 {
            copies[slot].hopB = hop
            copies[slot].sumB = sum
        } else if hop == c.hopB {
            if sum == c.sumB {
                duplicateChunks += 1
                return false
            }
            anomalies.append(checksumAnomaly(.replay, e, other: Symbol(rawValue: c.sumB), otherHop: e.hop, context))
            return true
        }
        // A second hop (or a third, compared with the first).
        if sum != c.sumA {
            anomalies.append(
                checksumAnomaly(.hops, e, other: Symbol(rawValue: c.sumA), otherHop: Symbol(rawValue: c.hopA), context))
            return true
        }
        return false
    }

    private func checksumAnomaly(
        _ check: Check, _ e: ChunkEvent, other: Symbol, otherHop: Symbol, _ context: DetectorContext
    ) -> Anomaly {
        let principal = context.symbols.display(e.principal)
        let conn = context.symbols.display(e.conn)
        let hop = context.symbols.display(e.hop)
        let on = context.symbols.name(e.resource).map { " on \($0)" } ?? ""
        let chunk = "chunk \(e.seq) \(e.dir.name) of \(conn) (\(principal)\(on))"
        // Checksum strings are usually not kept by the symbol table; show them when they are.
        let figures: String
        if let a = context.symbols.name(e.checksum), let b = context.symbols.name(other) {
            figures = " (\(a) vs \(b))"
        } else {
            figures = ""
        }
        let message: String
        let severity: Severity
        switch check {
        case .hops:
            message = "\(chunk) has a different checksum at \(hop) than at \(context.symbols.display(otherHop))\(figures)"
            severity = .critical
        case .replay:
            message = "\(chunk) was reported again at \(hop) with a different checksum\(figures): replayed or rewritten"
            severity = .high
        default:
            message = "\(chunk) has a checksum at \(hop) other than the expected_checksum its sender declared\(figures)"
            severity = .high
        }
        return Anomaly(
            detector: name, key: StableHash.combine(Self.chunkKey(e), check.rawValue),
            keyText: "\(principal)|\(conn)|\(e.dir.name)|\(e.seq)|\(check.name)", ts: e.ts, score: 1,
            severity: severity, principal: e.principal, resource: e.resource, conn: e.conn, seq: e.seq,
            message: message, cooldown: settings.cooldown)
    }

    // MARK: - Sequences

    private func followSequence(
        _ e: ChunkEvent, now: Int64, _ context: DetectorContext, _ anomalies: inout [Anomaly]
    ) -> Double {
        let t = e.ts.nanoseconds
        let key = Self.streamKey(e)
        let (slot, isNew, evicted) = streams.slot(for: key, at: t)
        var reset = isNew
        if evicted != nil {
            // Pushed out before its time: its open holes are counted, not reported,
            // since when that happens depends on how busy this shard is.
            missingChunks += Int(streamStates[slot].window.confirmOpenHoles().count)
        } else if !isNew && streams.stamp(at: slot) < now.clampedSubtracting(timeoutNanos) {
            // Quiet for longer than the timeout: that stream ended, this is a new one.
            endStream(slot, key: key, stamp: streams.stamp(at: slot), context, &anomalies)
            reset = true
        }
        if reset {
            let s = Stream(principal: e.principal, resource: e.resource, conn: e.conn, hop: e.hop, dir: e.dir)
            if slot == streamStates.count { streamStates.append(s) } else { streamStates[slot] = s }
        }
        streams.restamp(slot, at: t)
        let (arrival, pushedOut) = streamStates[slot].window.record(e.seq, at: t)
        var score = 0.0
        switch arrival {
        case .late, .tooLate:
            lateChunks += 1
            streamStates[slot].late += 1
            let late = streamStates[slot].late
            let threshold = Int64(settings.reorderThreshold)
            if threshold > 0 && late >= threshold {
                score = thresholdScore(Double(late), threshold: Double(threshold))
                if late % threshold == 0 { anomalies.append(reorderAnomaly(slot, key: key, e, context)) }
            }
        case .duplicate:
            if e.checksum.isNone { duplicateChunks += 1 }
        case .inOrder, .ahead:
            break
        }
        if pushedOut.count > 0 { score = Swift.max(score, confirm(pushedOut, slot, key: key, at: e.ts, context, &anomalies)) }
        let since = streamStates[slot].window.holeSince
        if since != .min && t.clampedSubtracting(since) >= graceNanos {
            let c = streamStates[slot].window.confirmOpenHoles()
            score = Swift.max(score, confirm(c, slot, key: key, at: e.ts, context, &anomalies))
        }
        return score
    }

    /// A stream's end: its open holes are missing chunks.
    private func endStream(
        _ slot: Int, key: UInt64, stamp: Int64, _ context: DetectorContext, _ anomalies: inout [Anomaly]
    ) {
        let c = streamStates[slot].window.confirmOpenHoles()
        guard c.count > 0 else { return }
        // Stamped with the moment the stream timed out, whichever call notices it.
        let ts = Timestamp(nanoseconds: stamp.clampedAdding(timeoutNanos))
        _ = confirm(c, slot, key: key, at: ts, context, &anomalies)
    }

    private func confirm(
        _ c: SequenceWindow.Confirmed, _ slot: Int, key: UInt64, at ts: Timestamp, _ context: DetectorContext,
        _ anomalies: inout [Anomaly]
    ) -> Double {
        guard c.count > 0 else { return 0 }
        missingChunks += Int(c.count)
        streamStates[slot].missing += c.count
        let missing = streamStates[slot].missing
        let threshold = settings.gapThreshold
        guard threshold > 0, missing >= Int64(threshold) else { return 0 }
        let score = thresholdScore(Double(missing), threshold: Double(threshold))
        let s = streamStates[slot]
        let principal = context.symbols.display(s.principal)
        let conn = context.symbols.display(s.conn)
        let hop = context.symbols.display(s.hop)
        let latest = c.count == 1 ? "seq \(c.first)" : "\(c.count) from seq \(c.first)"
        let message =
            "\(conn) \(s.dir.name) (\(principal)) has \(missing) chunks missing at \(hop), the latest \(latest) "
            + "(threshold \(threshold))"
        anomalies.append(
            Anomaly(
                detector: name, key: StableHash.combine(key, Check.gap.rawValue),
                keyText: "\(principal)|\(conn)|\(s.dir.name)|\(hop)|gap", ts: ts, score: score, severity: .low,
                principal: s.principal, resource: s.resource, conn: s.conn, seq: c.first, observed: Double(missing),
                expected: 0, threshold: Double(threshold), message: message, cooldown: settings.cooldown))
        return score
    }

    private func reorderAnomaly(_ slot: Int, key: UInt64, _ e: ChunkEvent, _ context: DetectorContext) -> Anomaly {
        let s = streamStates[slot]
        let principal = context.symbols.display(s.principal)
        let conn = context.symbols.display(s.conn)
        let hop = context.symbols.display(s.hop)
        let threshold = settings.reorderThreshold
        let message =
            "\(conn) \(s.dir.name) (\(principal)) has had \(s.late) chunks arrive after later ones at \(hop), "
            + "threshold \(threshold)"
        return Anomaly(
            detector: name, key: StableHash.combine(key, Check.reorder.rawValue),
            keyText: "\(principal)|\(conn)|\(s.dir.name)|\(hop)|reorder", ts: e.ts,
            score: thresholdScore(Double(s.late), threshold: Double(threshold)), severity: .info,
            principal: s.principal, resource: s.resource, conn: s.conn, seq: e.seq, observed: Double(s.late),
            expected: 0, threshold: Double(threshold), message: message, cooldown: settings.cooldown)
    }
}

// Checkpoints: the baselines as they are, so a restarted daemon goes on where
// it stopped instead of warming up again.
extension IntegrityDetector {
    private struct Snapshot: Codable {
        var chunks: ExpiringKeyedStore
        var copies: [ChunkCopies]
        var streams: ExpiringKeyedStore
        var streamStates: [Stream]
        var missingChunks: Int
        var lateChunks: Int
        var duplicateChunks: Int
    }

    public func checkpointValue() throws -> (any Encodable)? {
        Snapshot(chunks: chunks, copies: copies, streams: streams, streamStates: streamStates, missingChunks: missingChunks, lateChunks: lateChunks, duplicateChunks: duplicateChunks)
    }

    public func checkpoint() throws -> [UInt8]? {
        try BinaryCoding.encode(Snapshot(chunks: chunks, copies: copies, streams: streams, streamStates: streamStates, missingChunks: missingChunks, lateChunks: lateChunks, duplicateChunks: duplicateChunks))
    }

    public func restore(_ bytes: [UInt8]) throws {
        let s = try BinaryCoding.decode(Snapshot.self, from: bytes)
        try checkRestored(
            name, capacity: s.chunks.capacity, expected: chunks.capacity, slots: s.chunks.slotsInUse,
            [("chunk copies", s.copies.count, 1)])
        try checkRestored(
            name, capacity: s.streams.capacity, expected: streams.capacity, slots: s.streams.slotsInUse,
            [("streams", s.streamStates.count, 1)])
        // Streams are copied as raw memory: a direction byte outside the enum is refused before Swift reads it.
        if let offset = MemoryLayout<Stream>.offset(of: \Stream.dir) {
            for stream in s.streamStates {
                let byte = withUnsafeBytes(of: stream) { $0[offset] }
                guard Int(byte) < Direction.allCases.count else {
                    throw DamagedDetectorState(description: "\(name): a stream's direction is \(byte)")
                }
            }
        }
        chunks = s.chunks
        copies = s.copies
        streams = s.streams
        streamStates = s.streamStates
        missingChunks = s.missingChunks
        lateChunks = s.lateChunks
        duplicateChunks = s.duplicateChunks
    }
}
