import ChunkModel

/// The realistic profile's anomalies: every requested kind injected in each of
/// its `RealisticScenario`s, each on its own principal, with windows on whole
/// minutes (the realistic traffic changes rate per minute) after the warm-up.
/// The integrity and changepoint scenarios are the steady profile's own.
extension AnomalyPlanner {
    private static let minute = Population.minute
    private static let hour = Population.hour

    mutating func planRealistic(_ kinds: [AnomalyKind]) {
        let wanted = RealisticScenario.injected(for: kinds)
        // Most constrained first: two-hop, replica, person, then any service.
        let order: [RealisticScenario] = [
            .checksumMismatch, .replicaStop, .lateWork, .nightActivity, .serviceStop, .burst, .moderateRise,
            .exfilDrip, .sizeShift, .newResource, .sizeSpike,
        ]
        for scenario in order where wanted.contains(scenario) { place(scenario) }
        labels.sort { ($0.start, $0.principal) < ($1.start, $1.principal) }
    }

    private mutating func place(_ scenario: RealisticScenario) {
        let before = labels.count
        switch scenario {
        case .checksumMismatch: placeIntegrity()
        case .sizeShift: placeChangepoint()
        case .replicaStop: placeStop(scenario, length: 45 * Self.minute, on: [{ $0.isReplica }])
        case .serviceStop: placeStop(scenario, length: Self.hour, on: [{ $0.isLoneService && !$0.twoHop }, { $0.isLoneService }])
        case .burst:
            placeRise(scenario, minutes: rng.int(in: 5...15), multiplier: rng.uniform(8, 15), drip: false)
        case .moderateRise: placeRise(scenario, minutes: 15, multiplier: 1.5, drip: false)
        case .exfilDrip: placeRise(scenario, minutes: 120, multiplier: 0, drip: true)
        case .lateWork: placeLateWork()
        case .nightActivity: placeNightActivity()
        case .newResource: placeNewResourceOnService()
        case .sizeSpike: placeSizeSpike()
        }
        for i in before..<labels.count { labels[i].scenario = scenario.rawValue }
    }

    /// Services first that are not replicas, so a stop or a rise is not shared out.
    private var serviceFirst: [(PrincipalProfile) -> Bool] {
        [{ $0.isLoneService && !$0.twoHop }, { $0.isLoneService }, { $0.role == .service }]
    }

    private mutating func placeStop(_ scenario: RealisticScenario, length: Int64, on preferences: [(PrincipalProfile) -> Bool]) {
        guard let p = pick(preferences) else { return skip(.silence, "no \(scenario == .replicaStop ? "replica" : "single service") free for \(scenario.rawValue)") }
        // Leave time after the gap so the stream visibly resumes.
        guard let t = randomMinute(from: earliest, to: end - length - 10 * Self.minute) else {
            return skip(.silence, "run too short for \(scenario.rawValue)")
        }
        used[p] = true
        injections[p].rateWindows.append(RateWindow(start: t, end: t + length, multiplier: 0, outboundDrip: false))
        label(p, t, t + length, .silence)
    }

    private mutating func placeRise(_ scenario: RealisticScenario, minutes: Int, multiplier: Double, drip: Bool) {
        let kind = scenario.kind
        guard let p = pick(serviceFirst) else { return skip(kind, "no service free for \(scenario.rawValue)") }
        let length = Int64(minutes) * Self.minute
        guard let t = randomMinute(from: earliest, to: end - length) else { return skip(kind, "run too short for \(scenario.rawValue)") }
        used[p] = true
        let factor = drip ? 1 + profiles[p].outShare : multiplier
        injections[p].rateWindows.append(RateWindow(start: t, end: t + length, multiplier: factor, outboundDrip: drip))
        label(p, t, t + length, kind)
    }

    /// An hour of ordinary activity right after the person's close on a weekday.
    private mutating func placeLateWork() {
        let (earliest, end) = (earliest, end)
        let closes: (PrincipalProfile) -> [Int64] = { p in
            p.localDays(from: earliest, to: end).compactMap { plan in
                plan.close > plan.open && plan.close >= earliest && plan.close + Self.hour <= end ? plan.close : nil
            }
        }
        guard let p = pick([{ $0.role == .human && !closes($0).isEmpty }]) else {
            return skip(.novelty, "no person free whose working day ends after the warm-up, for late_work")
        }
        let options = closes(profiles[p])
        let close = options[rng.int(below: options.count)]
        addActivity(p, close, close + Self.hour)
    }

    /// 20–40 minutes from about 03:00 local time on a weekday.
    private mutating func placeNightActivity() {
        let length = Int64(rng.int(in: 20...40)) * Self.minute
        let (earliest, end) = (earliest, end)
        let nights: (PrincipalProfile) -> [Int64] = { p in
            p.localDays(from: earliest, to: end).compactMap { plan in
                let a = plan.midnight + 3 * Self.hour
                return plan.weekday < 5 && a >= earliest && a + 30 * Self.minute + length <= end ? a : nil
            }
        }
        guard let p = pick([{ $0.role == .human && !nights($0).isEmpty }]) else {
            return skip(.novelty, "no person free with a weekday 03:00 after the warm-up, for night_activity")
        }
        let options = nights(profiles[p])
        let t = options[rng.int(below: options.count)] + Int64(rng.int(in: 0...30)) * Self.minute
        addActivity(p, t, t + length)
    }

    private mutating func addActivity(_ p: Int, _ a: Int64, _ b: Int64) {
        used[p] = true
        profiles[p].realistic?.extra.append(RealisticShape.ExtraActivity(start: a, end: b))
        label(p, a, b, .novelty)
    }

    /// 3–10 chunks within 1–10 minutes to a sensitive resource, sized like the main one.
    private mutating func placeNewResourceOnService() {
        // A job's trickle runs round the clock too, so it can hold one when no service is free.
        guard let p = pick(serviceFirst + [{ $0.role == .batch }]) else {
            return skip(.novelty, "no service or job free for new_resource")
        }
        let length = Int64(rng.int(in: 60...600)) * Population.second
        guard let t0 = randomTime(from: earliest, to: end - length) else { return skip(.novelty, "run too short for new_resource") }
        used[p] = true
        let resourceName = NameCatalog.sensitiveResources[rng.int(below: NameCatalog.sensitiveResources.count)]
        let r = profiles[p].resources.count
        profiles[p].resources.append(resourceName)
        profiles[p].keyLogMedian += [profiles[p].keyLogMedian[0], profiles[p].keyLogMedian[1]]
        profiles[p].keySigma += [profiles[p].keySigma[0], profiles[p].keySigma[1]]
        if let bulk = profiles[p].realistic?.bulk { profiles[p].realistic?.bulk += [bulk[0], bulk[1]] }
        let count = rng.int(in: 3...10)
        var times = [t0] + (1..<count).map { _ in t0 + Int64(rng.uniform(0, Double(length / 1_000_000))) * 1_000_000 }
        times.sort()
        let chunks = times.map {
            InjectedChunk(time: $0, action: .newResource, resource: r, outbound: rng.bernoulli(profiles[p].outShare))
        }
        inject(chunks, on: p, kind: .novelty)
    }

    /// 1–3 chunks 600–2,000× the usual size within a minute, on the key with
    /// the largest usual size: well past its bulk mode (at most ~250×).
    private mutating func placeSizeSpike() {
        guard let p = pick(serviceFirst + [{ $0.role == .batch }]) else { return skip(.size, "no service or job free for size_spike") }
        guard let t0 = randomTime(from: earliest, to: end - 60 * Population.second) else {
            return skip(.size, "run too short for size_spike")
        }
        let profile = profiles[p]
        var key = 0
        for k in 0..<profile.regularResourceCount * 2 where profile.keyLogMedian[k] > profile.keyLogMedian[key] { key = k }
        let count = rng.int(in: 1...3)
        var times = [t0] + (1..<count).map { _ in t0 + Int64(rng.int(in: 1...59_000)) * 1_000_000 }
        times.sort()
        let chunks = times.map {
            InjectedChunk(time: $0, action: .oversized(factor: rng.uniform(600, 2000)), resource: key / 2, outbound: key % 2 == 1)
        }
        inject(chunks, on: p, kind: .size)
    }

    /// A whole minute in [a, b], or nil when there is none.
    private mutating func randomMinute(from a: Int64, to b: Int64) -> Int64? {
        let lo = Population.floorDiv(a + Self.minute - 1, Self.minute)
        let hi = Population.floorDiv(b, Self.minute)
        guard hi >= lo else { return nil }
        return (lo + Int64(rng.int(below: Int(hi - lo) + 1))) * Self.minute
    }
}

extension PrincipalProfile {
    /// A service in no replica group.
    var isLoneService: Bool { role == .service && (realistic?.replicaGroup ?? -1) < 0 }
    var isReplica: Bool { role == .service && (realistic?.replicaGroup ?? -1) >= 0 }

    /// The plans of the local days that touch [from, to], for the planner.
    func localDays(from: Int64, to: Int64) -> [RealisticShape.DayPlan] {
        guard let shape = realistic else { return [] }
        return (shape.localDay(of: from) - 1...shape.localDay(of: to) + 1).map { shape.plan(localDay: $0) }
    }
}
