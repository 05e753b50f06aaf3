import ChunkModel

/// The alerts of two configurations over the same archives, side by side.
///
/// Alerts are matched by id, which is a hash of (detector, key, first event
/// time): the same alert under both configurations has the same id. An alert
/// that starts later under one of them (a higher threshold) is a different
/// alert, listed on each side. Same id with different final figures (count,
/// last_ts, score, severity, message) is "changed".
public struct ConfigDiff: Sendable {
    /// The differences of one detector on one principal.
    public struct Group: Sendable {
        public var detector: String
        public var principal: String
        public var onlyA: [Alert] = []
        public var onlyB: [Alert] = []
        public var changed: [(a: Alert, b: Alert)] = []
    }

    public var onlyA: [Alert] = []
    public var onlyB: [Alert] = []
    public var changed: [(a: Alert, b: Alert)] = []
    /// Alerts identical under both.
    public var same = 0
    /// By detector, then principal.
    public var groups: [Group] = []

    public var isEmpty: Bool { onlyA.isEmpty && onlyB.isEmpty && changed.isEmpty }

    /// Compares two replays' alert lines (every line of each, as replayed).
    public init(a: [Alert], b: [Alert]) {
        let fa = Alert.final(a)
        let fb = Alert.final(b)
        var byIdB: [String: Alert] = [:]
        for x in fb { byIdB[x.id] = x }
        let idsA = Set(fa.map(\.id))
        for x in fa {
            if let y = byIdB[x.id] {
                if Tuner.same([x], [y]) { same += 1 } else { changed.append((x, y)) }
            } else {
                onlyA.append(x)
            }
        }
        onlyB = fb.filter { !idsA.contains($0.id) }

        var index: [String: Int] = [:]
        func group(_ a: Alert) -> Int {
            let key = a.detector + "\u{0}" + a.principal
            if let i = index[key] { return i }
            index[key] = groups.count
            groups.append(Group(detector: a.detector, principal: a.principal))
            return groups.count - 1
        }
        for x in onlyA { groups[group(x)].onlyA.append(x) }
        for x in onlyB { groups[group(x)].onlyB.append(x) }
        for c in changed { groups[group(c.a)].changed.append(c) }
        groups.sort { ($0.detector, $0.principal) < ($1.detector, $1.principal) }
    }
}
