import ChunkModel

/// When a principal is active: a service for the whole run, a person in
/// sessions during office hours on weekdays, a batch job once a day.
///
/// Each UTC day's sessions are drawn from a random stream of that day alone,
/// so any day can be asked for without drawing the ones before it, and memory
/// does not grow with the length of the run.
struct ActivitySchedule: Sendable {
    private static let day = Population.day
    private static let hour = Population.hour
    private static let minute = Population.minute
    private static let second = Population.second

    let role: PrincipalProfile.Role
    let start: Int64
    let end: Int64
    let rate: Double
    /// Batch jobs: when the job starts, seconds into the UTC day, in nanoseconds.
    let timeOfDay: Int64
    private let seed: UInt64
    private let index: Int
    /// Sessions added by the anomaly planner (night activity), sorted.
    private(set) var extra: [Session] = []

    init(role: PrincipalProfile.Role, start: Int64, end: Int64, rate: Double, timeOfDay: Int64, seed: UInt64, index: Int) {
        self.role = role
        self.start = start
        self.end = end
        self.rate = rate
        self.timeOfDay = timeOfDay
        self.seed = seed
        self.index = index
    }

    /// Day numbers (days since 1970-01-01 UTC) the run touches.
    var firstDay: Int64 { Population.floorDiv(start, Self.day) }
    var lastDay: Int64 { Population.floorDiv(end - 1, Self.day) }

    /// The sessions starting on a day, sorted and clipped to the run. A service
    /// has one session covering the run, listed on its first day.
    func sessions(onDay d: Int64) -> [Session] {
        var result: [Session]
        switch role {
        case .service: result = d == firstDay ? [Session(start: start, end: end, rate: rate)] : []
        case .human: result = officeSessions(d)
        case .batch: result = batchRun(d)
        }
        if !extra.isEmpty {
            for s in extra where Population.floorDiv(s.start, Self.day) == d { result.append(s) }
            result.sort { $0.start < $1.start }
        }
        return result
    }

    mutating func add(_ session: Session) {
        extra.append(session)
        extra.sort { $0.start < $1.start }
    }

    /// Sessions, day by day from `from`, for which `accept` holds, looking at no
    /// more than `days` days that have any; bounded so a planner asking about a
    /// year-long run stays quick.
    func sessions(from: Int64, days: Int, where accept: (Session) -> Bool) -> [Session] {
        var found: [Session] = []
        var daysWithSessions = 0
        // A service's one session is listed on the first day, and a night
        // session may run past midnight, so start looking a day early.
        var d = role == .service ? firstDay : max(firstDay, Population.floorDiv(from, Self.day) - 1)
        while d <= lastDay && daysWithSessions < days {
            let matching = sessions(onDay: d).filter(accept)
            if !matching.isEmpty {
                found += matching
                daysWithSessions += 1
            }
            d += 1
        }
        return found
    }

    private func random(day d: Int64) -> WorkloadRandom {
        WorkloadRandom(seed: seed, stream: SplitMix64.mix(0x5E55_1045 &+ UInt64(index)) ^ UInt64(bitPattern: d))
    }

    /// People work 08:00–18:00 UTC on weekdays, in sessions of 5–60 minutes
    /// separated by pauses of 5–90 minutes.
    private func officeSessions(_ d: Int64) -> [Session] {
        let dayStart = d * Self.day
        guard Timestamp(nanoseconds: dayStart).dayOfWeek < 5 else { return [] }
        var rng = random(day: d)
        var sessions: [Session] = []
        var t = dayStart + 8 * Self.hour + Int64(rng.uniform(0, 45 * 60)) * Self.second
        let closing = dayStart + 18 * Self.hour
        while t < closing {
            let length = Int64(rng.uniform(5 * 60, 60 * 60)) * Self.second
            let sessionEnd = min(t + length, closing)
            let sessionRate = min(3, max(0.2, rate * rng.uniform(0.8, 1.2)))
            let a = max(t, start)
            let b = min(sessionEnd, end)
            if a < b { sessions.append(Session(start: a, end: b, rate: sessionRate)) }
            t = sessionEnd + Int64(rng.uniform(5 * 60, 90 * 60)) * Self.second
        }
        return sessions
    }

    /// A batch job runs every day at its time, for 20–40 minutes at a steady rate.
    private func batchRun(_ d: Int64) -> [Session] {
        var rng = random(day: d)
        let runStart = d * Self.day + timeOfDay + Int64(rng.uniform(0, 60)) * Self.second
        let runEnd = runStart + Int64(rng.uniform(20 * 60, 40 * 60)) * Self.second
        let a = max(runStart, start)
        let b = min(runEnd, end)
        return a < b ? [Session(start: a, end: b, rate: rate)] : []
    }
}

/// An interval of activity at a constant base rate, in event-time nanoseconds.
struct Session: Sendable {
    var start: Int64
    var end: Int64
    var rate: Double
}
