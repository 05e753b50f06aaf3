import ChunkModel

/// Builds the principals of a realistic run (`TrafficProfile.realistic`):
/// services (some in replica groups of 2–4 that share one load), people in
/// their own time zones, and nightly or weekly batch jobs, each with a
/// `RealisticShape`. Population-wide quantities are stratified as in
/// `Population`, and each principal's details come from its own stream.
enum RealisticPopulation {
    private static let second = Population.second
    private static let minute = Population.minute
    private static let hour = Population.hour

    /// UTC offsets of people, in minutes: the Americas to East Asia.
    static let personZones = [-8 * 60, -5 * 60, -3 * 60, 0, 60, 2 * 60, 5 * 60 + 30, 8 * 60, 9 * 60]
    /// UTC offsets of the regions services run in, in minutes.
    static let serviceZones = [-5 * 60, 0, 60, 5 * 60 + 30, 8 * 60]
    static let frameSizes: [Int64] = [4096, 8192, 16384, 65536]

    static func build(config: WorkloadConfig) -> [PrincipalProfile] {
        let n = config.principals
        var rng = WorkloadRandom(seed: config.seed, stream: 0xB0B_2EA1)
        let start = config.start.nanoseconds
        let end = config.endNanoseconds

        let humans = Int((0.3 * Double(n)).rounded())
        let batches = n >= 4 ? max(1, Int((0.12 * Double(n)).rounded())) : 0
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

        // Replica groups: about 40 % of the services, in groups of 2–4 that
        // take consecutive service slots.
        let serviceIndices = roles.indices.filter { roles[$0] == .service }
        var group = Array(repeating: -1, count: n)
        var groupSize: [Int] = []
        var member = Array(repeating: 0, count: n)
        if services >= 4 {
            var k = 0
            let grouped = Int((0.4 * Double(services)).rounded())
            while k + 2 <= grouped {
                let size = min(rng.int(in: 2...4), grouped - k)
                guard size >= 2 else { break }
                for m in 0..<size {
                    group[serviceIndices[k + m]] = groupSize.count
                    member[serviceIndices[k + m]] = m
                }
                groupSize.append(size)
                k += size
            }
        }

        let serviceRates = stratified(count: services, rng: &rng) { u in
            // As in steady, mostly near 0.5/s with a tail to 8/s; a group's
            // draw is the load it shares.
            0.5 * PortableMath.exp(PortableMath.log(16) * u * u * u * u * u * u)
        }
        let typicalSizes = stratified(count: n, rng: &rng) { u in
            150 * PortableMath.exp(PortableMath.log(2500.0 / 150) * u)
        }
        var personZone = Array(0..<max(1, humans)).map { personZones[$0 % personZones.count] }
        rng.shuffle(&personZone)

        // Two-hop reporting on about 10 % of the services, none in a group.
        var twoHop = Array(repeating: false, count: n)
        var loners = serviceIndices.filter { group[$0] < 0 }
        rng.shuffle(&loners)
        for i in loners.prefix(n >= 2 ? max(1, Int((0.1 * Double(n)).rounded())) : 0) { twoHop[i] = true }
        var epochMillis = Array(repeating: false, count: n)
        var order = Array(0..<n)
        rng.shuffle(&order)
        for i in order.prefix(Int((0.1 * Double(n)).rounded())) { epochMillis[i] = true }

        var counters = (service: 0, human: 0, batch: 0)
        var serviceSlot = 0
        var groupName: [Int: String] = [:]
        var groupRate: [Int: Double] = [:]
        var profiles: [PrincipalProfile] = []
        profiles.reserveCapacity(n)
        for i in 0..<n {
            var p = WorkloadRandom(seed: config.seed, stream: 0x1EA1_0000 &+ UInt64(i))
            let role = roles[i]
            let g = group[i]
            // What a replica group shares comes from the group's own stream.
            var shared = WorkloadRandom(seed: config.seed, stream: 0x6E0_0000 &+ UInt64(max(0, g)))
            let name: String
            let resourcePool: [String]
            let resourceCount: Int
            let chunkRate: Double
            switch role {
            case .service:
                if g >= 0, let base = groupName[g] {
                    name = base + "-" + String(UnicodeScalar(UInt8(ascii: "a") + UInt8(member[i])))
                    chunkRate = groupRate[g] ?? 1
                    serviceSlot += 1
                } else {
                    let base = NameCatalog.name(servicePool, counters.service, prefix: "svc-")
                    counters.service += 1
                    let rate = serviceRates[serviceSlot]
                    serviceSlot += 1
                    if g >= 0 {
                        groupName[g] = base
                        // The group carries a bigger load, split evenly.
                        groupRate[g] = rate * 1.5
                        name = base + "-a"
                        chunkRate = rate * 1.5
                    } else {
                        name = base
                        chunkRate = rate
                    }
                }
                resourcePool = NameCatalog.serviceResources
                resourceCount = g >= 0 ? shared.int(in: 1...3) : p.int(in: 1...3)
            case .human:
                name = NameCatalog.name(peoplePool, counters.human, prefix: "", suffix: "@corp")
                counters.human += 1
                resourcePool = NameCatalog.humanResources
                resourceCount = p.int(in: 1...3)
                chunkRate = p.logUniform(0.2, 3)
            case .batch:
                name = NameCatalog.name(jobPool, counters.batch, prefix: "job-")
                counters.batch += 1
                resourcePool = NameCatalog.jobResources
                resourceCount = p.int(in: 1...2)
                chunkRate = p.logUniform(0.02, 0.1)
            }
            // Replicas serve the same resources with the same sizes: their keys
            // come from the group's stream, a lone principal's from its own.
            var keys = WorkloadRandom(
                seed: config.seed, stream: g >= 0 ? 0x6E1_0000 &+ UInt64(g) : 0x1EA2_0000 &+ UInt64(i))
            var pool = resourcePool
            keys.shuffle(&pool)
            let resources = Array(pool.prefix(resourceCount))
            var weights = (0..<resourceCount).map { _ in keys.uniform(0.2, 1) }.sorted(by: >)
            let total = weights.reduce(0, +)
            var acc = 0.0
            for k in weights.indices {
                acc += weights[k] / total
                weights[k] = acc
            }
            weights[weights.count - 1] = 1

            var logMedian: [Double] = []
            var sigma: [Double] = []
            var bulk: [RealisticShape.BulkMode] = []
            let typical = role == .batch ? typicalSizes[i] * 4 : typicalSizes[i]
            for _ in 0..<resourceCount {
                let request = min(3200, max(60, typical * keys.logUniform(0.4, 1)))
                let reply = min(3200, max(60, typical * keys.logUniform(1, 2.5)))
                for usual in [request, reply] {
                    logMedian.append(PortableMath.log(usual))
                    sigma.append(keys.uniform(0.3, 0.6))
                    bulk.append(bulkMode(usual: usual, rng: &keys))
                }
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

            let shape = makeShape(
                role: role, index: i, group: g, chunkRate: g >= 0 ? chunkRate / Double(groupSize[g]) : chunkRate,
                zone: role == .human ? personZone[counters.human - 1] : 0, batchNumber: counters.batch - 1,
                bulk: bulk, config: config, p: &p, shared: shared)
            let schedule = ActivitySchedule(
                role: .service, start: start, end: end, rate: shape.chunkRate, timeOfDay: 0, seed: config.seed, index: i)
            profiles.append(
                PrincipalProfile(
                    index: i, name: name, role: role, twoHop: twoHop[i], epochMillisecondTimestamps: epochMillis[i],
                    resources: resources, baseRate: shape.chunkRate, labels: labels,
                    regularResourceCount: resourceCount, resourceCumulative: weights,
                    keyLogMedian: logMedian, keySigma: sigma, outShare: keys.uniform(0.55, 0.75),
                    writeShare: p.uniform(0.05, 0.4), adminShare: role == .human ? 0.03 : 0.005,
                    diurnalPeak: shape.diurnalPeak, schedule: schedule, realistic: shape))
        }
        return profiles
    }

    /// 10–20 % of a key's chunks 20–100× its usual size; when a frame size
    /// lies in that range, 40–80 % of them are exactly the frame.
    private static func bulkMode(usual: Double, rng: inout WorkloadRandom) -> RealisticShape.BulkMode {
        let share = rng.uniform(0.10, 0.20)
        let factor = rng.logUniform(20, 100)
        let target = usual * factor
        var frame: Int64 = 0
        var best = Double.infinity
        for f in frameSizes {
            let ratio = Double(f) / usual
            let distance = abs(PortableMath.log(Double(f) / target))
            if ratio >= 20 && ratio <= 100 && distance < best {
                best = distance
                frame = f
            }
        }
        let frameShare = frame > 0 ? rng.uniform(0.4, 0.8) : 0
        return RealisticShape.BulkMode(
            share: share, logMedian: PortableMath.log(target), sigma: 0.3, frameSize: frame, frameShare: frameShare)
    }

    private static func makeShape(
        role: PrincipalProfile.Role, index i: Int, group g: Int, chunkRate: Double, zone: Int, batchNumber: Int,
        bulk: [RealisticShape.BulkMode], config: WorkloadConfig, p: inout WorkloadRandom, shared: WorkloadRandom
    ) -> RealisticShape {
        let start = config.start.nanoseconds
        let end = config.endNanoseconds
        let pattern: RealisticShape.Pattern
        var offset = 0
        var alpha: Double
        var thinkMedian: Double
        var thinkSigma = 1.0
        var doubling = Int64.max
        switch role {
        case .service:
            pattern = .service
            alpha = p.uniform(1.3, 1.8)
            thinkMedian = p.logUniform(0.3, 3)
            // About one service in eight doubles its load over a day, unannounced.
            if p.bernoulli(0.125) && end - start > 2 * hour {
                doubling = start + Int64(p.uniform(0, Double(end - start) * 0.75) / 1e9) * second
            }
        case .human:
            pattern = .person
            offset = zone
            alpha = p.uniform(1.5, 1.8)
            thinkMedian = p.logUniform(1, 6)
        case .batch:
            // Every third job runs weekly, the others nightly.
            pattern = batchNumber % 3 == 2 ? .weeklyJob : .nightlyJob
            alpha = p.uniform(1.6, 1.8)
            thinkMedian = p.logUniform(0.05, 0.3)
            thinkSigma = 0.5
        }
        // A replica group shares its region, curve and noise; each replica keeps its own sessions.
        var curve = g >= 0 ? shared : WorkloadRandom(seed: config.seed, stream: 0x1EA3_0000 &+ UInt64(i))
        let serviceZone = serviceZones[curve.int(below: serviceZones.count)]
        let amplitude = curve.uniform(0.3, 0.6)
        let peak = Double(14 * 3600) + curve.uniform(-7200, 7200)
        let weekend = curve.uniform(0.5, 0.75)
        if role == .service { offset = serviceZone }
        let cap = 2000
        return RealisticShape(
            pattern: pattern, seed: config.seed, index: i, runStart: start, utcOffset: Int64(offset) * minute,
            chunkRate: chunkRate, alpha: alpha, chunkCap: cap, meanChunks: RealisticShape.meanChunks(alpha: alpha, cap: cap),
            thinkLogMedian: PortableMath.log(thinkMedian), thinkSigma: thinkSigma,
            diurnalAmplitude: amplitude, diurnalPeak: peak, weekendFactor: weekend,
            noiseKey: g >= 0 ? 0x6E00_0000 &+ UInt64(g) : 0x5E00_0000 &+ UInt64(i), noiseSigma: role == .service ? 0.35 : 0,
            growthPerDay: p.uniform(0.005, 0.03), doublingStart: doubling, deployGapChance: role == .service ? 0.4 : 0,
            officeStart: Int64(p.int(in: 8 * 60...9 * 60 + 30)) * minute,
            officeEnd: Int64(p.int(in: 16 * 60 + 30...18 * 60 + 30)) * minute,
            jobStart: Int64(p.int(in: 30...4 * 60)) * minute, jobLength: Int64(p.int(in: 30...90)) * minute,
            jobMultiplier: p.uniform(25, 60), jobWeekday: 6, replicaGroup: g, bulk: bulk)
    }

    /// n draws, the j-th from the j-th quantile slice, in shuffled order.
    private static func stratified(count n: Int, rng: inout WorkloadRandom, _ transform: (Double) -> Double) -> [Double] {
        Population.stratified(count: n, rng: &rng, transform)
    }
}
