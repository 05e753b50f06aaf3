import ChunkModel

/// Chooses, before the first event, which principal carries each anomaly and
/// when, and writes the label window of each.
///
/// Every anomaly gets its own principal, chosen among the roles where it means
/// something (a silence on a service that normally never stops, off-hours
/// activity on a person), most constrained kinds first so a small population
/// still fits them all. Windows start after the warm-up (`warmupHours`; by
/// default the first quarter of the run and not before hour 2), so detectors
/// have a baseline to compare against.
struct AnomalyPlanner {
    typealias Time = Int64
    private static let second = Population.second
    private static let minute = Population.minute
    private static let hour = Population.hour
    /// The most a sink copy can trail its gateway copy (hop delay 1–20 ms, FIFO).
    static let maxHopDelay: Int64 = 20_000_000

    // Internal rather than private for the realistic profile's placements
    // (AnomalyPlanner+Realistic.swift).
    var rng: WorkloadRandom
    let start: Int64
    let end: Int64
    /// The earliest an anomaly may begin.
    let earliest: Int64
    var profiles: [PrincipalProfile]
    var injections: [Injections]
    var labels: [LabelWindow] = []
    var unplaced: [UnplacedAnomaly] = []
    var used: [Bool]

    init(config: WorkloadConfig, profiles: [PrincipalProfile]) {
        rng = WorkloadRandom(seed: config.seed, stream: 0xA40A)
        start = config.start.nanoseconds
        end = config.endNanoseconds
        earliest = start + (config.warmupHours.map { Int64(($0 * 3_600_000_000_000).rounded()) }
            ?? max((end - start) / 4, 2 * AnomalyPlanner.hour))
        self.profiles = profiles
        injections = Array(repeating: Injections(), count: profiles.count)
        used = Array(repeating: false, count: profiles.count)
    }

    mutating func plan(_ kinds: [AnomalyKind]) {
        let wanted = Set(kinds)
        // Most constrained first: integrity needs a two-hop principal, off-hours
        // novelty a person, silence/rate/volume a service.
        if wanted.contains(.integrity) { placeIntegrity() }
        if wanted.contains(.novelty) { placeOffHours() }
        if wanted.contains(.silence) { placeSilence() }
        if wanted.contains(.rate) { placeSurge() }
        if wanted.contains(.volume) { placeDrip() }
        if wanted.contains(.changepoint) { placeChangepoint() }
        if wanted.contains(.novelty) { placeNewResource() }
        if wanted.contains(.size) { placeOversized() }
        labels.sort { ($0.start, $0.principal) < ($1.start, $1.principal) }
    }

    // MARK: - Kinds

    mutating func placeIntegrity() {
        guard let p = pick([{ $0.role == .service && $0.twoHop }, { $0.twoHop }]) else {
            return skip(.integrity, "no two-hop principal free (needs at least 2 principals)")
        }
        let mismatches = min(4, 2 + rng.poisson(mean: 1))
        let count = mismatches + 2
        guard let t0 = randomTime(from: earliest, to: end - Time(count) * 30 * Self.second) else {
            return skip(.integrity, "run too short")
        }
        let outbound = rng.bernoulli(profiles[p].outShare)
        var t = t0
        var chunks: [InjectedChunk] = []
        for k in 0..<count {
            let action: InjectedChunk.Action = k < mismatches ? .sinkMismatch : (k == mismatches ? .expectedMismatch : .replay)
            chunks.append(InjectedChunk(time: t, action: action, resource: 0, outbound: outbound))
            t += Time(rng.int(in: 5...30)) * Self.second
        }
        inject(chunks, on: p, kind: .integrity)
    }

    /// A person active in the night: at 03:00 UTC when the window allows, else
    /// the earliest deep night (22:00–05:00), else evening or early morning
    /// (19:00–06:00). A default run (24 h from midnight) has no 03:00 after its
    /// first quarter, so it gets the Monday late evening.
    private mutating func placeOffHours() {
        guard let p = pick([{ $0.role == .human }]) else {
            return skip(.novelty, "no human principal free for off-hours activity (needs about 4 principals)")
        }
        let length = Time(rng.int(in: 10...30)) * Self.minute
        let latest = end - length
        var threeAM: [(Time, Time)] = []
        var deepNights: [(Time, Time)] = []
        var nights: [(Time, Time)] = []
        var day = Population.floorDiv(start, Population.day) * Population.day - Population.day
        while day < end {
            let a = max(day + 3 * Self.hour, earliest)
            let b = min(day + 3 * Self.hour + 30 * Self.minute, latest)
            if a <= b { threeAM.append((a, b)) }
            let da = max(day + 22 * Self.hour, earliest)
            let db = min(day + Population.day + 5 * Self.hour - length, latest)
            if da <= db { deepNights.append((da, db)) }
            let na = max(day + 19 * Self.hour, earliest)
            let nb = min(day + Population.day + 6 * Self.hour - length, latest)
            if na <= nb { nights.append((na, nb)) }
            day += Population.day
        }
        let choice =
            threeAM.isEmpty ? (deepNights.first ?? nights.first) : threeAM[rng.int(below: threeAM.count)]
        guard let (a, b) = choice, let t = randomTime(from: a, to: b) else {
            return skip(.novelty, "run too short for off-hours activity")
        }
        used[p] = true
        profiles[p].schedule.add(Session(start: t, end: t + length, rate: profiles[p].baseRate))
        label(p, t, t + length, .novelty)
    }

    private mutating func placeSilence() {
        guard let p = pick([{ $0.role == .service && !$0.twoHop }]) else {
            return skip(.silence, "no single-hop service free")
        }
        let length = 90 * Self.minute
        // Leave time after the gap so the stream visibly resumes.
        guard let t = randomTime(from: earliest, to: end - length - 10 * Self.minute) else {
            return skip(.silence, "run too short for a 90-minute gap (needs about 4 hours)")
        }
        used[p] = true
        injections[p].rateWindows.append(RateWindow(start: t, end: t + length, multiplier: 0, outboundDrip: false))
        label(p, t, t + length, .silence)
    }

    private mutating func placeSurge() {
        guard let p = pick([{ $0.role == .service && !$0.twoHop }, { $0.role == .service }]) else {
            return skip(.rate, "no service free")
        }
        let length = Time(rng.int(in: 5 * 60...15 * 60)) * Self.second
        guard let t = randomTime(from: earliest, to: end - length) else { return skip(.rate, "run too short") }
        used[p] = true
        let factor = rng.uniform(8, 15)
        injections[p].rateWindows.append(RateWindow(start: t, end: t + length, multiplier: factor, outboundDrip: false))
        label(p, t, t + length, .rate)
    }

    private mutating func placeDrip() {
        guard let p = pick([{ $0.role == .service && !$0.twoHop }, { $0.role == .service }]) else {
            return skip(.volume, "no service free")
        }
        let length = 2 * Self.hour
        guard let t = randomTime(from: earliest, to: end - length) else {
            return skip(.volume, "run too short for a 2-hour drip (needs about 4 hours)")
        }
        used[p] = true
        let window = RateWindow(start: t, end: t + length, multiplier: 1 + profiles[p].outShare, outboundDrip: true)
        injections[p].rateWindows.append(window)
        label(p, t, t + length, .volume)
    }

    /// The main resource's replies grow by ×1.6–2.5 for the rest of the run.
    mutating func placeChangepoint() {
        let latest = end - max(Self.hour, (end - start) / 10)
        let activeLate: (PrincipalProfile) -> Bool = { p in
            !p.schedule.sessions(from: latest, days: 1, where: { $0.end > latest }).isEmpty
        }
        guard let p = pick([{ $0.role == .service }, { $0.role == .human && activeLate($0) }]) else {
            return skip(.changepoint, "no service free")
        }
        guard let t = randomTime(from: earliest, to: latest) else { return skip(.changepoint, "run too short") }
        used[p] = true
        let factor = rng.uniform(1.6, 2.5)
        injections[p].sizeShift = SizeShift(at: t, key: 1, logFactor: PortableMath.log(factor))
        label(p, t, end, .changepoint)
    }

    /// A burst of chunks to a sensitive resource nobody normally uses; on a
    /// person, inside one of their sessions, as a real intruder would blend in.
    private mutating func placeNewResource() {
        let length = Time(rng.int(in: 60...600)) * Self.second
        let holds: (Session) -> Bool = { [earliest, end] s in min(s.end, end) - max(s.start, earliest) >= length }
        let fits: (PrincipalProfile) -> Bool = { [earliest] p in
            !p.schedule.sessions(from: earliest, days: 1, where: holds).isEmpty
        }
        guard let p = pick([{ $0.role == .human && fits($0) }, { $0.role == .service && fits($0) }, { fits($0) }]) else {
            return skip(.novelty, "no principal free for a new resource, or run too short")
        }
        let windows = profiles[p].schedule.sessions(from: earliest, days: 7, where: holds)
        let session = windows[rng.int(below: windows.count)]
        guard let t0 = randomTime(from: max(session.start, earliest), to: min(session.end, end) - length) else {
            return skip(.novelty, "run too short")
        }
        used[p] = true
        let resourceName = NameCatalog.sensitiveResources[rng.int(below: NameCatalog.sensitiveResources.count)]
        let r = profiles[p].resources.count
        profiles[p].resources.append(resourceName)
        // Sizes like its main resource: only the target is new.
        profiles[p].keyLogMedian += [profiles[p].keyLogMedian[0], profiles[p].keyLogMedian[1]]
        profiles[p].keySigma += [profiles[p].keySigma[0], profiles[p].keySigma[1]]
        let count = rng.int(in: 3...10)
        var times = [t0] + (1..<count).map { _ in t0 + Time(rng.uniform(0, Double(length / 1_000_000))) * 1_000_000 }
        times.sort()
        let chunks = times.map {
            InjectedChunk(time: $0, action: .newResource, resource: r, outbound: rng.bernoulli(profiles[p].outShare))
        }
        inject(chunks, on: p, kind: .novelty)
    }

    /// 1–3 chunks of 50–500× the median, within a minute, on the principal's
    /// largest key, so the spike stands out against every key it has.
    private mutating func placeOversized() {
        let length = 60 * Self.second
        let holds: (Session) -> Bool = { [earliest, end] s in min(s.end, end) - max(s.start, earliest) >= length }
        let fits: (PrincipalProfile) -> Bool = { [earliest] p in
            !p.schedule.sessions(from: earliest, days: 1, where: holds).isEmpty
        }
        guard let p = pick([{ $0.role == .service && fits($0) }, { fits($0) }]) else {
            return skip(.size, "no principal free, or run too short")
        }
        let windows = profiles[p].schedule.sessions(from: earliest, days: 7, where: holds)
        let session = windows[rng.int(below: windows.count)]
        guard let t0 = randomTime(from: max(session.start, earliest), to: min(session.end, end) - length) else {
            return skip(.size, "run too short")
        }
        let profile = profiles[p]
        var key = 0
        for k in 0..<profile.regularResourceCount * 2 where profile.keyLogMedian[k] > profile.keyLogMedian[key] {
            key = k
        }
        let count = rng.int(in: 1...3)
        var times = [t0] + (1..<count).map { _ in t0 + Time(rng.int(in: 1...59_000)) * 1_000_000 }
        times.sort()
        let chunks = times.map {
            InjectedChunk(
                time: $0, action: .oversized(factor: rng.uniform(50, 500)), resource: key / 2, outbound: key % 2 == 1)
        }
        used[p] = true
        inject(chunks, on: p, kind: .size)
    }

    // MARK: - Helpers

    /// A free principal from the first preference class that has one.
    mutating func pick(_ preferences: [(PrincipalProfile) -> Bool]) -> Int? {
        for accepts in preferences {
            let candidates = profiles.indices.filter { !used[$0] && accepts(profiles[$0]) }
            if !candidates.isEmpty { return candidates[rng.int(below: candidates.count)] }
        }
        return nil
    }

    /// A whole-millisecond instant in [a, b], or nil when the interval is empty.
    mutating func randomTime(from a: Time, to b: Time) -> Time? {
        let lo = (a + 999_999) / 1_000_000
        let hi = b / 1_000_000
        guard hi >= lo else { return nil }
        return (lo + Time(rng.int(below: Int(hi - lo) + 1))) * 1_000_000
    }

    mutating func inject(_ chunks: [InjectedChunk], on p: Int, kind: AnomalyKind, scenario: RealisticScenario? = nil) {
        used[p] = true
        injections[p].chunks.append(contentsOf: chunks)
        injections[p].chunks.sort { $0.time < $1.time }
        // The sink copy of the last chunk trails it by at most the hop delay.
        let tail = profiles[p].twoHop ? AnomalyPlanner.maxHopDelay : 0
        guard let first = chunks.first, let last = chunks.last else { return }
        label(p, first.time, last.time + tail, kind, scenario: scenario)
    }

    mutating func label(_ p: Int, _ a: Time, _ b: Time, _ kind: AnomalyKind, scenario: RealisticScenario? = nil) {
        labels.append(
            LabelWindow(
                principal: profiles[p].name, start: Timestamp(nanoseconds: a), end: Timestamp(nanoseconds: b),
                kind: kind, scenario: scenario?.rawValue))
    }

    mutating func skip(_ kind: AnomalyKind, _ reason: String) {
        unplaced.append(UnplacedAnomaly(kind: kind, reason: reason))
    }
}
