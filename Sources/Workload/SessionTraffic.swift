/// The regular chunks of one realistic principal, in event-time order:
/// sessions arriving as a Poisson process whose rate is piecewise constant per
/// minute (`RealisticShape.level`, the injected rate windows), each with a
/// Pareto number of chunks on a connection of its own, spaced by lognormal
/// think times. Steady principals hold an empty one and never call it.
///
/// Its own random stream, so the planner's and the process's draws are
/// untouched by it. Active sessions live in one array reserved up front for
/// the usual handful (640 bytes); it grows only past the most the principal
/// ever had at once, so the hot path appends, swaps out and scans without
/// allocating.
struct SessionTraffic: Sendable {
    private static let step = Population.minute
    /// Beyond this many sessions at once a new one is not started (a bound on
    /// the scan; the profile's rates stay far below it).
    private static let maxSessions = 256
    /// Think times are drawn from 1 ms to 10 minutes.
    private static let minThink = 1_000_000.0
    private static let maxThink = 600e9

    /// One regular chunk, for the process to stamp with a checksum and op.
    struct Chunk: Sendable {
        var time: Int64
        /// The session's number, from 1; the process turns it into a conn id.
        var session: UInt64
        var seq: Int64
        var resource: Int
        var outbound: Bool
        /// Chunks per second the principal is running at, for the line's `rate`.
        var rate: Double
    }

    private struct ActiveSession: Sendable {
        var next: Int64
        var remaining: Int32
        var resource: Int32
        var number: UInt64
        var seqIn: Int64 = 0
        var seqOut: Int64 = 0
    }

    /// One minute of the time structure, cached where the stream is.
    private struct Minute: Sendable {
        var step: Int64 = .min
        var plan = RealisticShape.DayPlan()
        /// Sessions per second.
        var sessionRate = 0.0
        /// Chunks per second.
        var chunkRate = 0.0
        var muted = true
        var outShare = 0.0
    }

    private let shape: RealisticShape?
    /// The shape's per-chunk parameters, kept apart so the hot path reads plain numbers.
    private let alpha: Double
    private let chunkCap: Double
    private let thinkLogMedian: Double
    private let thinkSigma: Double
    private let windows: [RateWindow]
    private let resourceCumulative: [Double]
    private let regularResourceCount: Int
    private let outShare: Double
    private let end: Int64
    private var rng: WorkloadRandom
    private var sessions: [ActiveSession] = []
    private var sessionCount: UInt64 = 0
    private var nextStart: Int64 = .max
    /// Where arrivals are drawn (ahead of the stream) and where chunks are written.
    private var arrivalMinute = Minute()
    private var chunkMinute = Minute()
    /// The index in `sessions` of the next chunk, -1 when the next is a session's start.
    private var nextSlot = -1

    /// When the next regular chunk is due; `.max` once there are none.
    private(set) var nextTime: Int64 = .max

    /// No traffic: what a steady principal holds.
    init() {
        shape = nil
        alpha = 1
        chunkCap = 1
        thinkLogMedian = 0
        thinkSigma = 0
        windows = []
        resourceCumulative = []
        regularResourceCount = 0
        outShare = 0
        end = 0
        rng = WorkloadRandom(seed: 0)
    }

    init(profile: PrincipalProfile, shape: RealisticShape, windows: [RateWindow], seed: UInt64, start: Int64, end: Int64) {
        self.shape = shape
        alpha = shape.alpha
        chunkCap = Double(shape.chunkCap)
        thinkLogMedian = shape.thinkLogMedian
        thinkSigma = shape.thinkSigma
        self.windows = windows
        resourceCumulative = profile.resourceCumulative
        regularResourceCount = profile.regularResourceCount
        outShare = profile.outShare
        self.end = end
        rng = WorkloadRandom(seed: seed, stream: 0x3000_0000 &+ UInt64(profile.index))
        sessions.reserveCapacity(16)
        nextStart = sessionStart(after: start - 1)
        refresh()
    }

    /// The next regular chunk; nil when the one due was dropped (its session
    /// reached a muted minute or the end of the run), and the caller asks again.
    mutating func next() -> Chunk? {
        guard nextTime != .max else { return nil }
        let slot: Int
        if nextSlot < 0 {
            let t = nextStart
            nextStart = sessionStart(after: t)
            if sessions.count < Self.maxSessions {
                sessionCount += 1
                var r = 0
                if regularResourceCount > 1 {
                    let u = rng.uniform()
                    while r < regularResourceCount - 1 && u >= resourceCumulative[r] { r += 1 }
                }
                // Discrete Pareto: P(N ≥ k) = k^-alpha.
                let n = PortableMath.exp(-PortableMath.log(1 - rng.uniform()) / alpha)
                let count = Int32(min(chunkCap, max(1, n.rounded(.down))))
                sessions.append(ActiveSession(next: t, remaining: count, resource: Int32(r), number: sessionCount))
                slot = sessions.count - 1
            } else {
                refresh()
                return nil
            }
        } else {
            slot = nextSlot
        }
        let t = sessions[slot].next
        if Population.floorDiv(t, Self.step) * Self.step != chunkMinute.step { chunkMinute = minute(at: t, after: chunkMinute) }
        if chunkMinute.muted || t >= end {
            sessions.swapAt(slot, sessions.count - 1)
            sessions.removeLast()
            refresh()
            return nil
        }
        let outbound = rng.uniform() < chunkMinute.outShare
        var s = sessions[slot]
        let seq: Int64
        if outbound {
            seq = s.seqOut
            s.seqOut += 1
        } else {
            seq = s.seqIn
            s.seqIn += 1
        }
        let chunk = Chunk(time: t, session: s.number, seq: seq, resource: Int(s.resource), outbound: outbound, rate: chunkMinute.chunkRate)
        s.remaining -= 1
        if s.remaining > 0 {
            let think = PortableMath.exp(thinkLogMedian + thinkSigma * rng.normal()) * 1e9
            s.next = t + Int64(min(Self.maxThink, max(Self.minThink, think)))
            sessions[slot] = s
        } else {
            sessions.swapAt(slot, sessions.count - 1)
            sessions.removeLast()
        }
        refresh()
        return chunk
    }

    /// The next chunk of any active session, or the next session's start.
    private mutating func refresh() {
        var best = nextStart
        var slot = -1
        for i in sessions.indices where sessions[i].next < best {
            best = sessions[i].next
            slot = i
        }
        nextSlot = slot
        nextTime = best
    }

    /// The first session start after t, walking minute by minute; exact for a
    /// Poisson process because the exponential gap has no memory.
    private mutating func sessionStart(after t0: Int64) -> Int64 {
        var t = t0
        while t < end {
            if Population.floorDiv(t, Self.step) * Self.step != arrivalMinute.step {
                arrivalMinute = minute(at: t, after: arrivalMinute)
            }
            let until = min(end, arrivalMinute.step + Self.step)
            if arrivalMinute.sessionRate > 0 {
                let gap = rng.exponential(rate: arrivalMinute.sessionRate) * 1e9
                if gap < Double(until - t) {
                    let next = t + max(1, Int64(gap))
                    if next < until { return next }
                }
            }
            t = until
        }
        return .max
    }

    /// The minute holding t; `previous` lends its day plan when it is the same day.
    private func minute(at t: Int64, after previous: Minute? = nil) -> Minute {
        var m = Minute()
        guard let shape else { return m }
        m.step = Population.floorDiv(t, Self.step) * Self.step
        let day = shape.localDay(of: m.step)
        m.plan = previous.map(\.plan).flatMap { $0.localDay == day ? $0 : nil } ?? shape.plan(localDay: day)
        var (level, muted) = shape.level(at: m.step, plan: m.plan)
        var share = outShare
        for w in windows where m.step >= w.start && m.step < w.end {
            level *= w.multiplier
            if w.multiplier == 0 { muted = true }
            // All the extra chunks are outbound: out share p becomes 2p / (1 + p).
            if w.outboundDrip { share = 2 * share / (1 + share) }
        }
        m.muted = muted
        m.chunkRate = muted ? 0 : shape.chunkRate * level
        m.sessionRate = m.chunkRate / shape.meanChunks
        m.outShare = share
        return m
    }
}
