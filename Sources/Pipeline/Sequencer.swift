import ChunkModel

/// The reader's side of the pipeline: numbers messages in stream order, keeps
/// the stream's watermark (its latest event time), and decides when a tick is
/// due — every `tick` of event time, at multiples of it, so ticks fall at the
/// same places in every run whatever the number of shards.
struct Sequencer: Codable {
    let width: BucketWidth
    private(set) var seq: Int64 = 0
    private(set) var watermark = Timestamp(nanoseconds: .min)
    /// The first event's time (`.max` before it), for `ShardMessage.streamStart`.
    private(set) var streamStart = Timestamp(nanoseconds: .max)
    /// The last tick boundary sent.
    private var lastTick: Int64 = .min
    /// After a jump in event time, at most this many ticks are sent (the last
    /// ones); a day-long gap does not need 8 640 separate ticks.
    static let maxTicksPerJump: Int64 = 360

    init(tick: Duration) { width = BucketWidth(tick) }

    mutating func nextSeq() -> Int64 {
        seq += 1
        return seq
    }

    /// Moves the watermark to `ts` if it is later, and calls `tick` with each
    /// tick boundary crossed (before the event that crossed it) and the tick's
    /// stream position.
    mutating func advance(to ts: Timestamp, _ tick: (Timestamp, Int64) -> Void) {
        if streamStart.nanoseconds == .max { streamStart = ts }
        guard ts > watermark else { return }
        let boundary = tickBoundary(ts)
        if lastTick == .min {
            lastTick = boundary
        } else if boundary > lastTick {
            var b = Swift.max(lastTick + 1, boundary.clampedSubtracting(Self.maxTicksPerJump - 1))
            while b <= boundary {
                watermark = Timestamp.start(ofBucket: b, width)
                seq += 1
                tick(watermark, seq)
                if b == boundary { break }  // so that a boundary of Int64.max ends the loop
                b += 1
            }
            lastTick = boundary
        }
        watermark = ts
    }

    /// Whether `advance(to: ts)` would send a tick. The per-event path asks
    /// first, so that the usual event, which crosses no boundary, does not build
    /// a tick closure that captures the engine (a retain and a release per event).
    func tickDue(at ts: Timestamp) -> Bool {
        ts > watermark && lastTick != .min && tickBoundary(ts) > lastTick
    }

    /// Where a tap's drop report made at `ts` (the tap's wall clock) counts
    /// in event time: at `ts`, but never after the watermark, so a tap whose
    /// clock runs ahead of the events cannot push a principal's coverage
    /// window past them (before the first event, `ts` itself).
    func dropReportTime(_ ts: Timestamp) -> Timestamp {
        watermark == Timestamp(nanoseconds: .min) ? ts : Swift.min(ts, watermark)
    }

    private func tickBoundary(_ ts: Timestamp) -> Int64 { ts.bucket(width) }
}
