import ChunkModel

/// How one principal of the realistic profile behaves, fixed before the first
/// event: when its sessions arrive, how long they are, and what its sizes look
/// like. `level(at:)` is the whole time structure in one place.
///
/// A principal's chunk rate at time t is `chunkRate × level(t)`; sessions
/// arrive as a Poisson process of rate `chunkRate × level(t) / meanChunks`,
/// piecewise constant per minute, each carrying a Pareto number of chunks
/// spaced by lognormal think times. Muted minutes (a deploy gap, a person's
/// evening and weekend, an injected stop) end any session that reaches them.
struct RealisticShape: Sendable {
    enum Pattern: Sendable, Hashable {
        /// Round the clock with a diurnal swing, quieter at weekends, a Monday ramp.
        case service
        /// Office hours on local weekdays with a lunch dip.
        case person
        /// A trickle all day and a nightly run at 20–60× the trickle.
        case nightlyJob
        /// The same, with the run once a week.
        case weeklyJob
    }

    static let minute = Population.minute
    static let hour = Population.hour
    static let day = Population.day

    let pattern: Pattern
    let seed: UInt64
    let index: Int
    let runStart: Int64
    /// Local time minus UTC, in nanoseconds.
    let utcOffset: Int64
    /// Mean chunks per second at level 1.
    let chunkRate: Double
    /// Chunks per session: P(N ≥ k) = k^-alpha, capped at `chunkCap`.
    let alpha: Double
    let chunkCap: Int
    /// E[N] of that capped law, which turns chunk rates into session rates.
    let meanChunks: Double
    /// Think time between a session's chunks: lognormal, log of the median in seconds.
    let thinkLogMedian: Double
    let thinkSigma: Double

    /// Services: relative swing of the diurnal curve and its peak, seconds into the local day.
    let diurnalAmplitude: Double
    let diurnalPeak: Double
    /// Services: the level on Saturdays and Sundays.
    let weekendFactor: Double
    /// Shared by the members of a replica group, so they see the same load noise.
    let noiseKey: UInt64
    /// Log-sd of the load noise (hourly and five-minute components together).
    let noiseSigma: Double
    /// Relative growth per day since the run's start.
    let growthPerDay: Double
    /// Benign: from here the level ramps to double over a day, then stays (`.max`: never).
    let doublingStart: Int64
    /// Services: chance of a 5–20-minute deploy gap on a local weekday.
    let deployGapChance: Double

    /// People: office start and usual end, nanoseconds into the local day (before each day's jitter).
    let officeStart: Int64
    let officeEnd: Int64

    /// Jobs: start of the run, nanoseconds into the local day, its length and
    /// its level; `jobWeekday` (0 = Monday) for weekly jobs.
    let jobStart: Int64
    let jobLength: Int64
    let jobMultiplier: Double
    let jobWeekday: Int

    /// The replica group's index, or -1.
    let replicaGroup: Int

    /// Per key (indexed as `keyLogMedian`), the bulk mode of its sizes.
    var bulk: [BulkMode]

    /// Activity the anomaly planner adds (late work, night activity), at level 1
    /// whatever the hour; sorted, a handful at most.
    var extra: [ExtraActivity] = []

    /// One local day's times, in UTC nanoseconds.
    struct DayPlan: Sendable {
        var localDay: Int64 = .min
        /// UTC time of local midnight.
        var midnight: Int64 = 0
        /// 0 = Monday.
        var weekday = 0
        /// People: when work starts and ends that day (equal when it does not).
        var open: Int64 = 0
        var close: Int64 = 0
        /// Services: the deploy gap, empty when there is none.
        var gapStart: Int64 = 0
        var gapEnd: Int64 = 0
        /// Jobs: the run, empty when there is none that day.
        var jobStart: Int64 = 0
        var jobEnd: Int64 = 0
    }

    /// A key's second mode: bulk writes and reads many times its usual size,
    /// some of them exactly a frame (4096, 8192, 16384 or 65536 bytes).
    struct BulkMode: Sendable {
        /// Share of the key's chunks in the mode (0.10–0.20).
        var share: Double
        var logMedian: Double
        var sigma: Double
        /// 0 when no frame size lies 20–100× the usual size.
        var frameSize: Int64
        /// Share of the mode's chunks that are exactly `frameSize`.
        var frameShare: Double
    }

    /// An interval [start, end) of event time.
    struct ExtraActivity: Sendable {
        var start: Int64
        var end: Int64
    }

    /// The local day holding UTC time t.
    func localDay(of t: Int64) -> Int64 { Population.floorDiv(t + utcOffset, Self.day) }

    /// Each local day's details come from a stream of that day alone, so any
    /// day can be asked for in any order and memory stays flat.
    func plan(localDay d: Int64) -> DayPlan {
        var rng = WorkloadRandom(seed: seed, stream: SplitMix64.mix(0x7EA1_0000 &+ UInt64(index)) ^ UInt64(bitPattern: d))
        var p = DayPlan()
        p.localDay = d
        p.midnight = d * Self.day - utcOffset
        p.weekday = Timestamp(nanoseconds: d * Self.day).dayOfWeek
        let weekday = p.weekday < 5
        switch pattern {
        case .person:
            if weekday {
                p.open = p.midnight + officeStart + Int64(rng.int(in: -20...20)) * Self.minute
                p.close = p.midnight + officeEnd + Int64(rng.int(in: -15...15)) * Self.minute
            }
        case .service:
            if weekday && rng.bernoulli(deployGapChance) {
                p.gapStart = p.midnight + Int64(rng.int(in: 9 * 60...17 * 60)) * Self.minute
                p.gapEnd = p.gapStart + Int64(rng.int(in: 5...20)) * Self.minute
            }
        case .nightlyJob, .weeklyJob:
            if pattern == .nightlyJob || p.weekday == jobWeekday {
                p.jobStart = p.midnight + jobStart + Int64(rng.int(in: 0...5)) * Self.minute
                p.jobEnd = p.jobStart + jobLength + Int64(rng.int(in: -5...5)) * Self.minute
            }
        }
        return p
    }

    /// The level at time t (with `plan` the day holding t), and whether t is
    /// muted: no chunk of a regular session is written then.
    func level(at t: Int64, plan p: DayPlan) -> (level: Double, muted: Bool) {
        for e in extra where t >= e.start && t < e.end { return (1, false) }
        let local = t - p.midnight
        switch pattern {
        case .person:
            // Sessions may run half an hour past the day's close; later, and at
            // weekends, the person is away.
            guard p.close > p.open, t >= p.open, t < p.close + 30 * Self.minute else { return (0, true) }
            if t >= p.close { return (0, false) }
            let lunch = local >= 12 * Self.hour && local < 13 * Self.hour
            return (lunch ? 0.15 : 1, false)
        case .service:
            if t >= p.gapStart && t < p.gapEnd { return (0, true) }
            let phase = (Double(local / Population.second) - diurnalPeak) / 86_400
            var level = 1 + diurnalAmplitude * PortableMath.cos(PortableMath.twoPi * phase)
            if p.weekday >= 5 {
                level *= weekendFactor
            } else if p.weekday == 0 && local >= 6 * Self.hour && local < 11 * Self.hour {
                // Monday morning: everyone back at once, an overshoot of up to +50 %.
                let x = Double(local - 6 * Self.hour) / Double(5 * Self.hour)
                level *= 1 + 0.5 * PortableMath.sin(PortableMath.pi * x)
            }
            return (level * noise(at: t) * trend(at: t), false)
        case .nightlyJob, .weeklyJob:
            let running = t >= p.jobStart && t < p.jobEnd
            return ((running ? jobMultiplier : 1) * trend(at: t), false)
        }
    }

    /// Growth since the run's start, and the benign doubling once it has begun.
    private func trend(at t: Int64) -> Double {
        var f = 1 + growthPerDay * Double(t - runStart) / Double(Self.day)
        if t >= doublingStart { f *= 1 + min(1, Double(t - doublingStart) / Double(Self.day)) }
        return f
    }

    /// Lognormal load noise of mean 1: an hourly and a five-minute component,
    /// each a normal drawn from (noiseKey, period), so replicas sharing a key
    /// rise and fall together.
    private func noise(at t: Int64) -> Double {
        guard noiseSigma > 0 else { return 1 }
        let h = Population.floorDiv(t, Self.hour)
        let f = Population.floorDiv(t, 5 * Self.minute)
        var a = WorkloadRandom(seed: seed, stream: SplitMix64.mix(noiseKey ^ 0x4E01_5E00) ^ UInt64(bitPattern: h))
        var b = WorkloadRandom(seed: seed, stream: SplitMix64.mix(noiseKey ^ 0x4E01_5E05) ^ UInt64(bitPattern: f))
        let z = 0.8 * a.normal() + 0.6 * b.normal()
        return PortableMath.exp(noiseSigma * z - noiseSigma * noiseSigma / 2)
    }

    /// E[min(N, cap)] for P(N ≥ k) = k^-alpha: the sum of k^-alpha up to cap.
    static func meanChunks(alpha: Double, cap: Int) -> Double {
        var sum = 0.0
        for k in 1...max(1, cap) { sum += PortableMath.exp(-alpha * PortableMath.log(Double(k))) }
        return sum
    }
}
