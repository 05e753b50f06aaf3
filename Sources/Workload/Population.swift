import ChunkModel

/// Builds the principals of a run from the seed: roles, names, rates, size
/// distributions and activity schedules.
///
/// Population-wide quantities (role counts, rates, typical sizes) are drawn
/// stratified: principal j of n gets a draw from the j-th n-quantile slice, in a
/// shuffled order. The population then spans the whole range for every seed, and
/// the total event count stays closer to its expectation than independent draws
/// allow (one seed making three 8/s services would double the run).
enum Population {
    static let second: Int64 = 1_000_000_000
    static let minute: Int64 = 60 * second
    static let hour: Int64 = 60 * minute
    static let day: Int64 = 24 * hour

    static func build(config: WorkloadConfig) -> [PrincipalProfile] {
        let n = config.principals
        var rng = WorkloadRandom(seed: config.seed, stream: 0xB0B)
        let start = config.start.nanoseconds
        let end = config.endNanoseconds

        let humans = Int((0.3 * Double(n)).rounded())
        let batches = Int((0.1 * Double(n)).rounded())
        let services = n - humans - batches
        var roles = Array(repeating: PrincipalProfile.Role.service, count: services)
            + Array(repeating: .human, count: humans) + Array(repeating: .batch, count: batches)
        rng.shuffle(&roles)

        var servicePool = NameCatalog.services
        var peoplePool = NameCatalog.people
        var jobPool = NameCatalog.jobs
        rng.shuffle(&servicePool)
        rng.shuffle(&peoplePool)
        rng.shuffle(&jobPool)

        let serviceIndices = roles.indices.filter { roles[$0] == .service }
        let serviceRateDraws = stratified(count: services, rng: &rng) { u in
            // Mostly near 0.5/s with a tail to 8/s: mean about 0.9/s, which keeps
            // the default run near a million events.
            0.5 * PortableMath.exp(PortableMath.log(16) * pow8(u))
        }
        // The population's typical sizes: log-spaced from 200 B to 256 KiB, most
        // principals small, a few moving bulk data.
        let typicalSizes = stratified(count: n, rng: &rng) { u in
            200 * PortableMath.exp(PortableMath.log(262_144.0 / 200) * u * u)
        }
        var serviceRate = Array(repeating: 0.0, count: n)
        for (k, i) in serviceIndices.enumerated() { serviceRate[i] = serviceRateDraws[k] }

        // Two-hop reporting doubles a principal's lines; keep it on the slower
        // half of the services so the run's size stays predictable.
        var twoHop = Array(repeating: false, count: n)
        let twoHopCount = n >= 2 ? min(services, max(1, Int((0.1 * Double(n)).rounded()))) : 0
        if twoHopCount > 0 {
            var slow = serviceIndices.sorted { (serviceRate[$0], $0) < (serviceRate[$1], $1) }
            slow = Array(slow.prefix(max(twoHopCount, (services + 1) / 2)))
            rng.shuffle(&slow)
            for i in slow.prefix(twoHopCount) { twoHop[i] = true }
        }
        var epochMillis = Array(repeating: false, count: n)
        var order = Array(0..<n)
        rng.shuffle(&order)
        for i in order.prefix(Int((0.1 * Double(n)).rounded())) { epochMillis[i] = true }

        var counters = (service: 0, human: 0, batch: 0)
        var profiles: [PrincipalProfile] = []
        profiles.reserveCapacity(n)
        for i in 0..<n {
            // Each principal's details come from its own stream, so adding
            // principals does not reshuffle the existing ones.
            var p = WorkloadRandom(seed: config.seed, stream: 0x1000_0000 &+ UInt64(i))
            let role = roles[i]
            let name: String
            let resourcePool: [String]
            let resourceCount: Int
            let baseRate: Double
            switch role {
            case .service:
                name = NameCatalog.name(servicePool, counters.service, prefix: "svc-")
                counters.service += 1
                resourcePool = NameCatalog.serviceResources
                resourceCount = p.int(in: 1...3)
                baseRate = serviceRate[i]
            case .human:
                name = NameCatalog.name(peoplePool, counters.human, prefix: "", suffix: "@corp")
                counters.human += 1
                resourcePool = NameCatalog.humanResources
                resourceCount = p.int(in: 1...3)
                baseRate = p.logUniform(0.2, 3)
            case .batch:
                name = NameCatalog.name(jobPool, counters.batch, prefix: "job-")
                counters.batch += 1
                resourcePool = NameCatalog.jobResources
                resourceCount = p.int(in: 1...2)
                baseRate = p.logUniform(2, 10)
            }
            var pool = resourcePool
            p.shuffle(&pool)
            let resources = Array(pool.prefix(resourceCount))
            // Weights sorted descending so resource 0 is the main one.
            var weights = (0..<resourceCount).map { _ in p.uniform(0.2, 1) }.sorted(by: >)
            let total = weights.reduce(0, +)
            var acc = 0.0
            for k in weights.indices {
                acc += weights[k] / total
                weights[k] = acc
            }
            weights[weights.count - 1] = 1

            var logMedian: [Double] = []
            var sigma: [Double] = []
            let typical = typicalSizes[i]
            for _ in 0..<resourceCount {
                let perResource = typical * p.logUniform(0.5, 2)
                let request = clampSize(perResource * p.logUniform(0.15, 0.5))
                let reply = clampSize(perResource * p.logUniform(1, 3))
                logMedian.append(PortableMath.log(request))
                logMedian.append(PortableMath.log(reply))
                sigma.append(p.uniform(0.3, 0.8))
                sigma.append(p.uniform(0.3, 0.8))
            }

            var labels: [(key: String, value: String)] = []
            if p.bernoulli(0.3) {
                switch role {
                case .human:
                    labels = [("idp", NameCatalog.idps[p.int(below: NameCatalog.idps.count)]), ("mfa", "webauthn")]
                case .service, .batch:
                    labels = [
                        ("env", "prod"), ("team", NameCatalog.teams[p.int(below: NameCatalog.teams.count)]),
                        ("region", NameCatalog.regions[p.int(below: NameCatalog.regions.count)]),
                    ]
                }
            }

            let timeOfDay = Int64(NameCatalog.jobTimes[p.int(below: NameCatalog.jobTimes.count)]) * second
            let schedule = ActivitySchedule(
                role: role, start: start, end: end, rate: baseRate, timeOfDay: timeOfDay, seed: config.seed, index: i)

            profiles.append(
                PrincipalProfile(
                    index: i, name: name, role: role, twoHop: twoHop[i], epochMillisecondTimestamps: epochMillis[i],
                    resources: resources, baseRate: baseRate, labels: labels,
                    regularResourceCount: resourceCount, resourceCumulative: weights,
                    keyLogMedian: logMedian, keySigma: sigma, outShare: p.uniform(0.55, 0.75),
                    writeShare: p.uniform(0.05, 0.4), adminShare: role == .human ? 0.03 : 0.005,
                    diurnalPeak: Double(14 * 3600) + p.uniform(-7200, 7200), schedule: schedule))
        }
        return profiles
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func clampSize(_ x: Double) -> Double { min(262_144, max(200, x)) }

    /// n draws, the j-th from the j-th quantile slice, in shuffled order.
    static func stratified(count n: Int, rng: inout WorkloadRandom, _ transform: (Double) -> Double) -> [Double] {
        var slots = Array(0..<n)
        rng.shuffle(&slots)
        return slots.map { transform((Double($0) + rng.uniform()) / Double(n)) }
    }

    private static func pow8(_ u: Double) -> Double {
        let u2 = u * u
        let u4 = u2 * u2
        return u4 * u4
    }
}
