import ChunkModel

/// The synthetic workload of `chunkwatch gen`: chunk events of a population of
/// services, people and batch jobs, with anomalies injected on chosen
/// principals, as NDJSON lines (SPEC §2) in non-decreasing event time.
///
/// Deterministic: the same configuration gives the same bytes on every machine.
/// The labels of the injected anomalies are known before the first event.
///
/// ```swift
/// var generator = try WorkloadGenerator(config: WorkloadConfig(hours: 1))
/// var out = OutputBuffer()
/// while generator.next(into: &out) { … }
/// ```
public struct WorkloadGenerator: Sendable {
    public let config: WorkloadConfig
    /// One window per injected anomaly, sorted by start.
    public let labels: [LabelWindow]
    /// Requested anomalies the population or the run's length could not hold.
    public let unplacedAnomalies: [UnplacedAnomaly]
    /// The principals in index order, as the anomaly planner left them.
    public let principals: [PrincipalProfile]
    /// The end of the covered event time (exclusive, but for sink copies that
    /// trail a last chunk by up to 20 ms).
    public let end: Timestamp
    /// Lines written so far.
    public private(set) var linesWritten = 0

    private var processes: [PrincipalProcess]
    private var heap: ArrivalHeap
    #if CHUNKWATCH_INTERNAL_CHECKS
    private var lastTime = Int64.min
    #endif

    public init(config: WorkloadConfig) throws(InvalidWorkloadConfig) {
        if let problem = config.problem { throw InvalidWorkloadConfig(message: problem) }
        switch config.profile {
        case .steady:
            var planner = AnomalyPlanner(config: config, profiles: Population.build(config: config))
            planner.plan(config.anomalies)
            self.init(config: config, planner: planner)
        case .realistic:
            var planner = AnomalyPlanner(config: config, profiles: RealisticPopulation.build(config: config))
            planner.planRealistic(config.anomalies)
            self.init(config: config, planner: planner)
        }
    }

    private init(config: WorkloadConfig, planner: AnomalyPlanner) {
        self.config = config
        self.end = Timestamp(nanoseconds: config.endNanoseconds)
        labels = planner.labels
        unplacedAnomalies = planner.unplaced
        principals = planner.profiles
        let processes = planner.profiles.indices.map { i in
            PrincipalProcess(
                profile: planner.profiles[i], injections: planner.injections[i], seed: config.seed,
                start: config.start.nanoseconds)
        }
        heap = ArrivalHeap(
            processes.indices.compactMap { i in
                let t = processes[i].nextTime
                return t == .max ? nil : ArrivalHeap.Entry(time: t, index: Int32(i))
            })
        self.processes = processes
    }

    /// Event time of the line `next(into:)` would write, nil when the run is over.
    public var nextEventTime: Timestamp? {
        heap.top.map { Timestamp(nanoseconds: $0.time) }
    }

    /// Appends the next line, with its `\n`; returns false (and appends nothing)
    /// when the run is over.
    @inline(__always)
    public mutating func next(into out: inout OutputBuffer) -> Bool {
        while let top = heap.top {
            #if CHUNKWATCH_INTERNAL_CHECKS
            precondition(top.time >= lastTime, "event time went backwards")
            lastTime = top.time
            #endif
            let i = Int(top.index)
            let wrote = processes[i].emit(into: &out)
            let t = processes[i].nextTime
            heap.updateTop(time: t == .max ? nil : t)
            if wrote {
                linesWritten += 1
                return true
            }
        }
        return false
    }

    /// Appends lines until `out` holds at least `limit` bytes, the run is over,
    /// or (when `before` is given) the next line's event time is not before it.
    /// Returns how many lines it appended. One call per buffer-full keeps the
    /// caller's per-line cost out of the hot loop.
    public mutating func fill(into out: inout OutputBuffer, upToBytes limit: Int, before: Timestamp? = nil) -> Int {
        let horizon = before?.nanoseconds ?? .max
        var lines = 0
        while out.count < limit, let top = heap.top, top.time < horizon {
            if next(into: &out) { lines += 1 }
        }
        return lines
    }

    /// The next line without its `\n`, for tests and small tools; `next(into:)`
    /// is the fast path.
    public mutating func nextLine() -> String? {
        var out = OutputBuffer(capacity: 512)
        guard next(into: &out) else { return nil }
        out.bytes.removeLast()
        return out.string
    }

    /// The labels file of SPEC §5: one window per line.
    public func writeLabels(to out: inout OutputBuffer) {
        for label in labels { label.writeJSON(to: &out) }
    }
}

/// A configuration `gen` cannot run, with a one-line reason.
public struct InvalidWorkloadConfig: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
