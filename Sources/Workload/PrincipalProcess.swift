import ChunkModel

/// One principal's observations, generated lazily in event-time order.
///
/// Arrivals are a Poisson process whose rate is piecewise constant: it changes
/// only at session edges, five-minute steps of the diurnal curve and anomaly
/// windows. At each edge the pending gap is redrawn, which is exact for a
/// Poisson process because the exponential gap has no memory. Sink copies and
/// injected chunks wait in a short sorted queue, so whatever the principal
/// emits comes out in time order.
///
/// A realistic principal's regular chunks come from its `SessionTraffic`
/// instead, each session on a connection of its own, and its sizes from a
/// mixture with a bulk mode; the steady path never touches either, so its
/// draws and bytes stay as they were.
struct PrincipalProcess: Sendable {
    private static let idleTimeout: Int64 = 5 * Population.minute
    private static let diurnalStep: Int64 = 5 * Population.minute
    private static let mask48: UInt64 = (1 << 48) - 1

    let profile: PrincipalProfile
    private let format: LineFormat
    private var rng: WorkloadRandom
    private let connSalt: UInt64
    private var injections: Injections
    private var injectedCursor = 0

    /// The loaded day of the schedule, its sessions and the current one.
    private var day: Int64
    private var daySessions: [Session]
    private var sessionIndex = 0
    private var nextArrival: Int64 = .max
    private var arrivalRate = 0.0
    private var arrivalOutShare = 0.0
    private var diurnalStepStart: Int64 = .min
    private var diurnalFactor = 1.0

    private var connections: [Connection]
    private var connCounter: UInt64 = 0
    private var pending: [Observation] = []
    private var lastSinkTime: Int64 = .min
    /// The expected-checksum chunk of an integrity injection, which the replay repeats.
    private var lastInjected: Observation?
    /// Realistic principals only: their sessions, and per key the bulk mode of sizes.
    private let realistic: Bool
    private var traffic = SessionTraffic()
    private let bulk: [RealisticShape.BulkMode]

    /// When this principal's next line is due; `.max` once it is done.
    private(set) var nextTime: Int64 = .max

    init(profile: PrincipalProfile, injections: Injections, seed: UInt64, start: Int64) {
        self.profile = profile
        self.format = LineFormat(profile: profile)
        self.rng = WorkloadRandom(seed: seed, stream: 0x2000_0000 &+ UInt64(profile.index))
        self.connSalt = SplitMix64.mix(seed ^ 0xC0) & PrincipalProcess.mask48
        self.injections = injections
        self.connections = Array(repeating: Connection(), count: profile.resources.count)
        self.day = profile.schedule.firstDay
        if let shape = profile.realistic {
            self.realistic = true
            self.daySessions = []
            self.bulk = shape.bulk
            traffic = SessionTraffic(
                profile: profile, shape: shape, windows: injections.rateWindows, seed: seed, start: start,
                end: profile.schedule.end)
            nextArrival = traffic.nextTime
        } else {
            self.realistic = false
            self.daySessions = profile.schedule.sessions(onDay: day)
            self.bulk = []
            scheduleArrival(after: start)
        }
        refreshNextTime()
    }

    /// Appends this principal's next line; false when it has none left
    /// (`nextTime` is then `.max`) or none due yet (`nextTime` moved on).
    mutating func emit(into out: inout OutputBuffer) -> Bool {
        while true {
            let injectedTime = nextInjectedTime
            if let first = pending.first, first.time <= nextArrival, first.time <= injectedTime {
                pending.removeFirst()
                format.write(first, to: &out)
                refreshNextTime()
                return true
            }
            if injectedTime == .max && nextArrival == .max {
                nextTime = .max
                return false
            }
            if injectedTime <= nextArrival {
                produceInjected()
            } else if realistic {
                // A dropped chunk (its session reached a muted minute) writes
                // nothing; hand back to the merge with the new next time rather
                // than write a later chunk ahead of other principals' earlier ones.
                if !produceSessionChunk() {
                    refreshNextTime()
                    return false
                }
            } else {
                producePrimary()
            }
        }
    }

    // MARK: - Arrivals

    private var nextInjectedTime: Int64 {
        injectedCursor < injections.chunks.count ? injections.chunks[injectedCursor].time : .max
    }

    private mutating func refreshNextTime() {
        nextTime = min(pending.first?.time ?? .max, nextArrival, nextInjectedTime)
    }

    /// Draws the first arrival after `t0`, walking over rate edges.
    private mutating func scheduleArrival(after t0: Int64) {
        var t = t0
        while true {
            guard let session = session(endingAfter: t) else {
                nextArrival = .max
                return
            }
            if t < session.start { t = session.start }
            var rate = session.rate
            var until = session.end
            var outShare = profile.outShare
            if profile.role == .service {
                let step = Population.floorDiv(t, Self.diurnalStep) * Self.diurnalStep
                if step != diurnalStepStart { updateDiurnal(step) }
                rate *= diurnalFactor
                until = min(until, step + Self.diurnalStep)
            }
            for w in injections.rateWindows {
                if t < w.start {
                    until = min(until, w.start)
                } else if t < w.end {
                    rate *= w.multiplier
                    until = min(until, w.end)
                    // All the extra chunks are outbound: out share p becomes 2p / (1 + p).
                    if w.outboundDrip { outShare = 2 * outShare / (1 + outShare) }
                }
            }
            if rate > 0 {
                let gap = rng.exponential(rate: rate) * 1e9
                if gap < Double(until - t) {
                    nextArrival = t + max(1, Int64(gap))
                    if nextArrival < until {
                        arrivalRate = rate
                        arrivalOutShare = outShare
                        return
                    }
                }
            }
            t = until
        }
    }

    /// The first session that ends after `t`, loading the schedule's days as
    /// the stream reaches them; nil once the run is over.
    private mutating func session(endingAfter t: Int64) -> Session? {
        while true {
            while sessionIndex < daySessions.count && daySessions[sessionIndex].end <= t { sessionIndex += 1 }
            if sessionIndex < daySessions.count { return daySessions[sessionIndex] }
            guard day < profile.schedule.lastDay else { return nil }
            day += 1
            daySessions = profile.schedule.sessions(onDay: day)
            sessionIndex = 0
        }
    }

    /// ±20 % around the base rate, peaking in the principal's afternoon.
    private mutating func updateDiurnal(_ step: Int64) {
        diurnalStepStart = step
        let middle = Timestamp(nanoseconds: step + Self.diurnalStep / 2).secondOfDay
        let phase = (Double(middle) - profile.diurnalPeak) / 86_400
        diurnalFactor = 1 + 0.2 * PortableMath.cos(PortableMath.twoPi * phase)
    }

    // MARK: - Chunks

    private mutating func producePrimary() {
        let t = nextArrival
        var r = 0
        if profile.regularResourceCount > 1 {
            let u = rng.uniform()
            while r < profile.regularResourceCount - 1 && u >= profile.resourceCumulative[r] { r += 1 }
        }
        let outbound = rng.uniform() < arrivalOutShare
        var o = openChunk(at: t, resource: r, outbound: outbound)
        o.size = sampleSize(key: r * 2 + (outbound ? 1 : 0), at: t)
        publish(o)
        scheduleArrival(after: t)
    }

    /// A realistic principal's next regular chunk, on its session's connection;
    /// false when the one due was dropped.
    private mutating func produceSessionChunk() -> Bool {
        defer { nextArrival = traffic.nextTime }
        if let c = traffic.next() {
            arrivalRate = c.rate
            // Session connections count down from the top of the 24-bit space,
            // apart from the per-resource ones that injected chunks use.
            let conn = connectionID(0xFF_FFFF &- (c.session & 0x7F_FFFF))
            var o = observation(at: c.time, conn: conn, seq: c.seq, resource: c.resource, outbound: c.outbound)
            o.size = sampleSize(key: c.resource * 2 + (c.outbound ? 1 : 0), at: c.time)
            publish(o)
            return true
        }
        return false
    }

    private mutating func produceInjected() {
        let chunk = injections.chunks[injectedCursor]
        injectedCursor += 1
        let key = chunk.resource * 2 + (chunk.outbound ? 1 : 0)
        switch chunk.action {
        case .oversized(let factor):
            var o = openChunk(at: chunk.time, resource: chunk.resource, outbound: chunk.outbound)
            o.size = Int64((PortableMath.exp(profile.keyLogMedian[key]) * factor).rounded())
            publish(o)
        case .newResource:
            var o = openChunk(at: chunk.time, resource: chunk.resource, outbound: chunk.outbound)
            o.size = sampleSize(key: key, at: chunk.time)
            publish(o)
        case .sinkMismatch:
            var o = openChunk(at: chunk.time, resource: chunk.resource, outbound: chunk.outbound)
            o.size = sampleSize(key: key, at: chunk.time)
            publish(o, sinkChecksum: o.checksum ^ otherBits())
        case .expectedMismatch:
            var o = openChunk(at: chunk.time, resource: chunk.resource, outbound: chunk.outbound)
            o.size = sampleSize(key: key, at: chunk.time)
            o.hasExpectedChecksum = true
            o.expectedChecksum = o.checksum ^ otherBits()
            publish(o)
            lastInjected = o
        case .replay:
            // The same conn, dir and seq as the chunk before, with other content.
            guard var o = lastInjected else { return }
            o.time = chunk.time
            o.rate = arrivalRate
            o.checksum ^= otherBits()
            o.expectedChecksum = o.checksum
            o.hasExpectedChecksum = profile.twoHop
            publish(o)
        }
    }

    /// A chunk on the resource's current connection, opening a new one when the
    /// old one reached its lifetime or sat idle; seq counts per conn × dir.
    private mutating func openChunk(at t: Int64, resource r: Int, outbound: Bool) -> Observation {
        var c = connections[r]
        if t >= c.expires || t &- c.lastUse > Self.idleTimeout {
            connCounter += 1
            c.id = connectionID(connCounter)
            c.expires = t + Int64(rng.logUniform(180, 3600) * 1e9)
            c.seqIn = 0
            c.seqOut = 0
        }
        c.lastUse = t
        let seq: Int64
        if outbound {
            seq = c.seqOut
            c.seqOut += 1
        } else {
            seq = c.seqIn
            c.seqIn += 1
        }
        connections[r] = c
        return observation(at: t, conn: c.id, seq: seq, resource: r, outbound: outbound)
    }

    /// The chunk's checksum and op drawn, in the order the steady stream has always drawn them.
    private mutating func observation(at t: Int64, conn: UInt64, seq: Int64, resource r: Int, outbound: Bool) -> Observation {
        let checksum = UInt32(truncatingIfNeeded: rng.next() >> 32)
        let u = rng.uniform()
        let op: UInt8 =
            u < profile.adminShare
            ? 3 : u < profile.adminShare + 0.01 ? 2 : u < profile.adminShare + 0.01 + profile.writeShare ? 1 : 0
        return Observation(
            time: t, size: 0, conn: conn, seq: seq, rate: arrivalRate, checksum: checksum,
            expectedChecksum: checksum, hasExpectedChecksum: profile.twoHop, resource: Int32(r),
            outbound: outbound, op: op, hop: .unnamed)
    }

    private mutating func sampleSize(key: Int, at t: Int64) -> Int64 {
        var logMedian = profile.keyLogMedian[key]
        if let shift = injections.sizeShift, shift.key == key, t >= shift.at { logMedian += shift.logFactor }
        if realistic, key < bulk.count, rng.uniform() < bulk[key].share {
            let mode = bulk[key]
            if mode.frameSize > 0 && rng.uniform() < mode.frameShare { return mode.frameSize }
            let shift = logMedian - profile.keyLogMedian[key]
            return max(1, Int64(PortableMath.exp(mode.logMedian + shift + mode.sigma * rng.normal()).rounded()))
        }
        let x = PortableMath.exp(logMedian + profile.keySigma[key] * rng.normal())
        return max(1, Int64(x.rounded()))
    }

    /// Queues the chunk; a two-hop principal's sink reports it again 1–20 ms
    /// later, in FIFO order like a real pipeline.
    private mutating func publish(_ o: Observation, sinkChecksum: UInt32? = nil) {
        guard profile.twoHop else {
            enqueue(o)
            return
        }
        var gateway = o
        gateway.hop = .gateway
        enqueue(gateway)
        var sink = o
        sink.hop = .sink
        sink.time = max(o.time + Int64(rng.int(in: 1_000_000...20_000_000)), lastSinkTime)
        lastSinkTime = sink.time
        if let sinkChecksum { sink.checksum = sinkChecksum }
        enqueue(sink)
    }

    private mutating func enqueue(_ o: Observation) {
        pending.append(o)
        var i = pending.count - 1
        while i > 0 && pending[i - 1].time > o.time {
            pending.swapAt(i - 1, i)
            i -= 1
        }
    }

    /// A non-zero 32-bit mask, so a flipped checksum always differs.
    private mutating func otherBits() -> UInt32 {
        UInt32(truncatingIfNeeded: rng.int(below: 0xFFFF_FFFF) + 1)
    }

    /// Distinct for every (principal, connection number), and scrambled so ids
    /// look random: each step is a bijection on 48 bits.
    private func connectionID(_ n: UInt64) -> UInt64 {
        var x = (UInt64(profile.index) << 24 | (n & 0xFF_FFFF)) ^ connSalt
        x = (x &* 0x9E37_79B9_7F4B) & Self.mask48
        x ^= x >> 24
        x = (x &* 0xBF58_476D_1CE5) & Self.mask48
        x ^= x >> 21
        return x
    }
}

/// A resource's current connection and its next seq in each direction.
struct Connection: Sendable {
    var id: UInt64 = 0
    var expires: Int64 = .min
    var lastUse: Int64 = .min
    var seqIn: Int64 = 0
    var seqOut: Int64 = 0
}
