import ChunkModel

/// What the daemon has seen of each principal, for `GET /v1/baselines`:
/// events and bytes each way, resources touched, first and last event time.
/// Bounded: past `maxPrincipals`, the principals seen least recently (in event
/// time) are forgotten and counted.
struct PrincipalActivity: Codable {
    struct Entry: Sendable, Codable {
        var events = 0
        var bytesIn: Int64 = 0
        var bytesOut: Int64 = 0
        var firstTs: Timestamp
        var lastTs: Timestamp
        var resources: Set<Symbol> = []
    }

    let maxPrincipals: Int
    /// Resources remembered per principal; past it the set stops growing.
    var maxResources = 64
    private(set) var entries: [Symbol: Entry] = [:]
    private(set) var forgotten = 0

    init(maxPrincipals: Int) { self.maxPrincipals = maxPrincipals }

    mutating func record(_ e: ChunkEvent) {
        if entries[e.principal] == nil, entries.count >= maxPrincipals { forgetOldest() }
        entries[e.principal, default: Entry(firstTs: e.ts, lastTs: e.ts)].update(with: e, maxResources: maxResources)
    }

    /// Drops the least recently seen tenth, so the sweep runs once per many new
    /// principals. Finds the cut-off time from a sorted copy of the times alone (sorting
    /// the entries themselves cost the pipeline a tenth of its time under a
    /// flood of new principals).
    private mutating func forgetOldest() {
        let drop = Swift.max(1, entries.count / 10)
        var times = entries.values.map(\.lastTs)
        times.sort()
        let cutoff = times[drop - 1]
        let before = times.prefix(drop).count { $0 < cutoff }
        var atCutoff = drop - before
        var oldest: [Symbol] = []
        oldest.reserveCapacity(drop)
        for (key, entry) in entries {
            if entry.lastTs < cutoff {
                oldest.append(key)
            } else if entry.lastTs == cutoff && atCutoff > 0 {
                oldest.append(key)
                atCutoff -= 1
            }
        }
        for key in oldest { entries.removeValue(forKey: key) }
        forgotten += drop
    }
}

extension PrincipalActivity.Entry {
    mutating func update(with e: ChunkEvent, maxResources: Int) {
        events += 1
        if e.dir == .outbound { bytesOut += e.size } else { bytesIn += e.size }
        if e.ts < firstTs { firstTs = e.ts }
        if e.ts > lastTs { lastTs = e.ts }
        if !e.resource.isNone, resources.count < maxResources { resources.insert(e.resource) }
    }
}
