import ChunkModel
import Detectors
import Testing
import Workload

@Suite struct IntegrityDetectorTests {
    struct Names {
        let principal, conn, resource, gateway, sink: Symbol
        let sums: [Symbol]
        init(_ h: ClockedHarness) {
            principal = h.name("svc-a")
            conn = h.name("c-1234")
            resource = h.name("pg://orders")
            gateway = .gateway
            _ = h.name("gateway")
            sink = h.name("sink")
            sums = (0..<4).map { Symbol("crc32c:0000000\($0)") }
        }
    }

    func chunk(
        _ n: Names, at s: Double, seq: Int64, sum: Int, expected: Int? = nil, hop: Symbol = .gateway,
        dir: Direction = .outbound, conn: Symbol? = nil
    ) -> ChunkEvent {
        ChunkEvent(
            ts: t0 + seconds(s), principal: n.principal, size: 1000, conn: conn ?? n.conn, resource: n.resource,
            dir: dir, seq: seq, checksum: n.sums[sum], expectedChecksum: expected.map { n.sums[$0] } ?? .none, hop: hop)
    }

    // MARK: - Checksums

    @Test func aChunkChangedBetweenHopsIsCritical() throws {
        let h = ClockedHarness(IntegrityDetector())
        let n = Names(h)
        h.feed(chunk(n, at: 0, seq: 16, sum: 0))
        h.feed(chunk(n, at: 0.01, seq: 16, sum: 0, hop: n.sink))
        #expect(h.anomalies.isEmpty)
        h.feed(chunk(n, at: 1, seq: 17, sum: 1))
        let score = h.feed(chunk(n, at: 1.005, seq: 17, sum: 2, hop: n.sink))
        let a = try #require(h.anomalies.first)
        #expect(h.anomalies.count == 1)
        #expect(score == 1)
        #expect(a.detector == "integrity" && a.severity == .critical)
        #expect(a.keyText == "svc-a|c-1234|out|17|hops")
        #expect(a.seq == 17 && a.conn == n.conn && a.resource == n.resource && a.principal == n.principal)
        #expect(a.observed == nil && a.expected == nil && a.threshold == nil)
        #expect(a.message.contains("at sink than at gateway") && a.message.contains("c-1234"))
        #expect(a.ts == t0 + seconds(1.005))
    }

    @Test func aChecksumOtherThanTheExpectedOneIsHigh() throws {
        let h = ClockedHarness(IntegrityDetector())
        let n = Names(h)
        h.feed(chunk(n, at: 0, seq: 1, sum: 0, expected: 0))
        h.feed(chunk(n, at: 1, seq: 2, sum: 1))  // no expected checksum: nothing to compare
        #expect(h.anomalies.isEmpty)
        h.feed(chunk(n, at: 2, seq: 3, sum: 1, expected: 3))
        let a = try #require(h.anomalies.first)
        #expect(h.anomalies.count == 1)
        #expect(a.severity == .high && a.keyText == "svc-a|c-1234|out|3|expected")
        #expect(a.message.contains("expected_checksum"))
        // The expected-checksum check needs neither conn nor seq.
        h.feed(ChunkEvent(ts: t0 + seconds(3), principal: n.principal, size: 1, checksum: n.sums[0], expectedChecksum: n.sums[1]))
        #expect(h.anomalies.count == 2)
    }

    @Test func aSeqReportedTwiceByOneHopWithAnotherChecksumIsAReplay() throws {
        let detector = IntegrityDetector()
        let h = ClockedHarness(detector)
        let n = Names(h)
        h.feed(chunk(n, at: 0, seq: 5, sum: 0))
        h.feed(chunk(n, at: 1, seq: 6, sum: 1))
        // The same content again is a retransmission: counted, not reported.
        h.feed(chunk(n, at: 2, seq: 5, sum: 0))
        #expect(h.anomalies.isEmpty && detector.duplicateChunks == 1)
        h.feed(chunk(n, at: 20, seq: 5, sum: 3))
        let a = try #require(h.anomalies.first)
        #expect(a.severity == .high && a.keyText == "svc-a|c-1234|out|5|replay")
        #expect(a.message.contains("reported again at gateway"))
    }

    @Test func oneEventRaisesOnlyItsMostSpecificChecksumAnomaly() {
        let h = ClockedHarness(IntegrityDetector())
        let n = Names(h)
        // The sink sees other content than the gateway, and than the sender declared.
        h.feed(chunk(n, at: 0, seq: 9, sum: 0, expected: 0))
        h.feed(chunk(n, at: 0.002, seq: 9, sum: 1, expected: 0, hop: n.sink))
        #expect(h.anomalies.map(\.keyText) == ["svc-a|c-1234|out|9|hops"])
    }

    @Test func checksumsAreComparedOnlyWithinTheRetention() {
        var settings = IntegrityDetector.Settings()
        settings.retention = .seconds(60)
        let detector = IntegrityDetector(settings: settings)
        let h = ClockedHarness(detector)
        let n = Names(h)
        h.feed(chunk(n, at: 0, seq: 5, sum: 0))
        h.feed(chunk(n, at: 59, seq: 6, sum: 0))
        #expect(detector.keyStats.tracked == 2)
        h.tick(to: t0 + seconds(75))
        #expect(detector.keyStats.tracked == 1, "the first chunk expired at a tick")
        // Too late to compare: the seq is reused like a new chunk.
        h.feed(chunk(n, at: 80, seq: 5, sum: 1, conn: h.name("c-9")))
        h.feed(chunk(n, at: 130, seq: 6, sum: 2))
        #expect(h.anomalies.isEmpty)
    }

    @Test func aSeqSeenAgainAfterItsRetentionStartsOverWithoutTicks() throws {
        let d = IntegrityDetector()
        let h = ClockedHarness(d)
        let n = Names(h)
        var context = h.context
        var anomalies: [Anomaly] = []
        func feed(_ e: ChunkEvent) {
            context.watermark = max(context.watermark, e.ts)
            _ = d.observe(e, context: context, anomalies: &anomalies)
        }
        for seq in 1...5 { feed(chunk(n, at: Double(seq) * 0.001, seq: Int64(seq), sum: 0)) }
        // Long after: other content under seq 5 is a new chunk, not a replay…
        feed(chunk(n, at: 200, seq: 5, sum: 1))
        #expect(anomalies.isEmpty)
        // …and it is compared with its own copies from then on.
        feed(chunk(n, at: 200.01, seq: 5, sum: 2, hop: n.sink))
        let a = try #require(anomalies.first)
        #expect(a.keyText == "svc-a|c-1234|out|5|hops")
    }

    @Test func eventsWithoutConnSeqOrChecksumSkipTheChecksThatNeedThem() {
        let detector = IntegrityDetector()
        let h = ClockedHarness(detector)
        let n = Names(h)
        for i in 0..<50 {
            let ts = t0 + seconds(Double(i))
            h.feed(ChunkEvent(ts: ts, principal: n.principal, size: 10))
            h.feed(ChunkEvent(ts: ts, principal: n.principal, size: 10, seq: Int64(i % 3), checksum: n.sums[i % 4]))
            h.feed(ChunkEvent(ts: ts, principal: n.principal, size: 10, conn: n.conn, checksum: n.sums[i % 4]))
        }
        #expect(h.anomalies.isEmpty)
        #expect(detector.keyStats.tracked == 0 && detector.streamStats.tracked == 0)
        // With conn and seq but no checksum only the sequence is followed.
        for i in 0..<50 { h.feed(ChunkEvent(ts: t0 + seconds(60 + Double(i)), principal: n.principal, size: 10, conn: n.conn, seq: Int64(i))) }
        #expect(h.anomalies.isEmpty)
        #expect(detector.keyStats.tracked == 0 && detector.streamStats.tracked == 1)
    }

    // MARK: - Sequences

    @Test func missingChunksAreCountedAndAlertOnlyPastTheThreshold() throws {
        let detector = IntegrityDetector()
        let h = ClockedHarness(detector)
        let n = Names(h)
        // Three chunks missing: counted, below the threshold of 8.
        var ts = 0.0
        for seq in 0..<40 where ![7, 8, 20].contains(seq) {
            ts += 1
            h.feed(chunk(n, at: ts, seq: Int64(seq), sum: 0))
        }
        #expect(detector.missingChunks == 3 && h.anomalies.isEmpty)
        // Ten skipped, not filled within the 10 s grace: the stream reaches 13 missing.
        for seq in 50..<62 {
            ts += 1
            h.feed(chunk(n, at: ts, seq: Int64(seq), sum: 0))
        }
        #expect(detector.missingChunks == 13)
        let a = try #require(h.anomalies.first)
        #expect(h.anomalies.count == 1)
        #expect(a.severity == .low && a.keyText == "svc-a|c-1234|out|gateway|gap")
        #expect(a.seq == 40 && a.observed == 13 && a.threshold == 8 && a.expected == 0)
        #expect(a.message == "c-1234 out (svc-a) has 13 chunks missing at gateway, the latest 10 from seq 40 (threshold 8)")
        #expect(a.score > 0.5)
    }

    @Test func reorderedChunksAreNotGaps() throws {
        let detector = IntegrityDetector()
        let h = ClockedHarness(detector)
        let n = Names(h)
        // Pairs swapped, each filled within a second.
        var ts = 0.0
        for pair in 0..<20 {
            for seq in [2 * pair + 1, 2 * pair] {
                ts += 0.5
                h.feed(chunk(n, at: ts, seq: Int64(seq), sum: 0))
            }
        }
        h.tick(to: t0 + seconds(1000))
        #expect(detector.missingChunks == 0)
        // The first swap starts the stream at 1, so 0 is unknown, not late: 19 late.
        #expect(detector.lateChunks == 19)
        let a = try #require(h.anomalies.first)
        #expect(h.anomalies.count == 1, "one reorder alert at 16 late chunks: \(h.anomalies.map(\.message))")
        #expect(a.severity == .info && a.keyText == "svc-a|c-1234|out|gateway|reorder")
    }

    /// Random losses and local shuffles against the obvious count: every seq
    /// dropped after the first one delivered is missing, every seq delivered
    /// after a later one (and after the first) is late.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func lossAndReorderingMatchTheModel(seed: UInt64) {
        var settings = IntegrityDetector.Settings()
        settings.gapThreshold = 0
        settings.reorderThreshold = 0
        let detector = IntegrityDetector(settings: settings)
        let h = ClockedHarness(detector)
        let n = Names(h)
        var rng = SplitMix64(seed: seed)
        var delivered = (0..<3000).filter { _ in Double.random(in: 0..<1, using: &rng) >= 0.02 }.map { Int64($0) }
        // Swap neighbours within distance 5, many times.
        for _ in 0..<600 {
            let i = Int.random(in: 0..<(delivered.count - 5), using: &rng)
            delivered.swapAt(i, i + Int.random(in: 1...5, using: &rng))
        }
        let first = delivered[0]
        let last = delivered.max()!
        let deliveredSet = Set(delivered)
        let expectedMissing = (first...last).filter { !deliveredSet.contains($0) }.count
        var expectedLate = 0
        var highest = Int64.min
        for seq in delivered {
            if seq < highest && seq > first { expectedLate += 1 }
            highest = max(highest, seq)
        }
        for (i, seq) in delivered.enumerated() { h.feed(chunk(n, at: Double(i) * 0.1, seq: seq, sum: 0)) }
        h.tick(to: t0 + seconds(300 + Double(delivered.count) * 0.1 + 20))
        #expect(detector.missingChunks == expectedMissing)
        #expect(detector.lateChunks == expectedLate)
        #expect(h.anomalies.isEmpty)
    }

    @Test func hopsAreFollowedSeparately() {
        let detector = IntegrityDetector()
        let h = ClockedHarness(detector)
        let n = Names(h)
        for seq in 0..<100 {
            h.feed(chunk(n, at: Double(seq), seq: Int64(seq), sum: 0))
            h.feed(chunk(n, at: Double(seq) + 0.01, seq: Int64(seq), sum: 0, hop: n.sink))
        }
        #expect(h.anomalies.isEmpty && detector.missingChunks == 0 && detector.lateChunks == 0)
        #expect(detector.streamStats.tracked == 2)
    }

    @Test func aGapAtTheEndOfAStreamCountsWhenItTimesOut() throws {
        var settings = IntegrityDetector.Settings()
        settings.gapThreshold = 2
        let detector = IntegrityDetector(settings: settings)
        let h = ClockedHarness(detector)
        let n = Names(h)
        for (i, seq) in [0, 1, 2, 5].enumerated() { h.feed(chunk(n, at: Double(i) * 0.001, seq: Int64(seq), sum: 0)) }
        // Within the grace, 3 and 4 may still come: reordering, not loss.
        h.tick(to: t0 + seconds(5))
        #expect(detector.missingChunks == 0)
        // The stream goes quiet; at the tick after its timeout its holes are missing.
        h.tick(to: t0 + seconds(400))
        #expect(detector.missingChunks == 2 && detector.streamStats.tracked == 0)
        let a = try #require(h.anomalies.first)
        #expect(a.ts == t0 + seconds(0.003) + settings.streamTimeout)
        #expect(a.seq == 3 && a.observed == 2)
    }

    @Test func aStreamQuietPastTheTimeoutStartsAfresh() throws {
        // No ticks at all: the timeout is judged on the stream's own next event.
        let d = IntegrityDetector()
        let h = ClockedHarness(d)
        let n = Names(h)
        var context = h.context
        var anomalies: [Anomaly] = []
        func feed(_ s: Double, _ seq: Int64) {
            let e = chunk(n, at: s, seq: seq, sum: 0)
            context.watermark = e.ts
            _ = d.observe(e, context: context, anomalies: &anomalies)
        }
        feed(0, 0)
        feed(1, 1)
        feed(1000, 500)
        feed(1001, 501)
        #expect(anomalies.isEmpty && d.missingChunks == 0)
        // Within the timeout the same kind of jump is a gap of 398 chunks.
        feed(1100, 900)
        feed(1200, 901)
        #expect(d.missingChunks == 398)
        let a = try #require(anomalies.first)
        #expect(a.seq == 502 && a.ts == t0 + seconds(1100))
    }

    // MARK: - Memory

    @Test func expiryKeepsMemoryBoundedWithAHundredThousandConnections() {
        let detector = IntegrityDetector()
        let h = ClockedHarness(detector)
        let p = h.name("svc-busy")
        let gatewaySum = Symbol("crc32c:aaaaaaaa")
        // 100 000 connections, 100 opened per second of event time, each moving
        // two chunks seen at two hops.
        var peakChunks = 0
        var peakStreams = 0
        for c in 0..<100_000 {
            let conn = Symbol(rawValue: UInt64(c) &* 0x9E37_79B9_7F4A_7C15 | 1)
            let ts = t0 + .milliseconds(c * 10)
            for seq in 0..<2 {
                h.feed(ChunkEvent(ts: ts, principal: p, size: 100, conn: conn, seq: Int64(seq), checksum: gatewaySum))
                h.feed(ChunkEvent(ts: ts, principal: p, size: 100, conn: conn, seq: Int64(seq), checksum: gatewaySum, hop: Symbol("sink")))
            }
            if c % 1000 == 0 {
                peakChunks = max(peakChunks, detector.keyStats.tracked)
                peakStreams = max(peakStreams, detector.streamStats.tracked)
            }
        }
        #expect(h.anomalies.isEmpty)
        // 200 chunks a second kept 120 s (plus a tick); 200 streams a second kept 300 s.
        #expect(peakChunks <= 200 * 131, "peak \(peakChunks)")
        #expect(peakStreams <= 200 * 311, "peak \(peakStreams)")
        #expect(detector.keyStats.evicted == 0 && detector.streamStats.evicted == 0)
        h.tick(to: t0 + seconds(1000 + 400))
        #expect(detector.keyStats.tracked == 0 && detector.streamStats.tracked == 0)
    }

    @Test func theStoresStayWithinTheirLimitsWithoutTicks() {
        var settings = IntegrityDetector.Settings()
        settings.maxKeys = 1000
        settings.maxStreams = 500
        let detector = IntegrityDetector(settings: settings)
        let h = DetectorHarness(detector)
        let p = h.name("svc-flood")
        for c in 0..<20_000 {
            let conn = Symbol(rawValue: UInt64(c) &* 0x9E37_79B9_7F4A_7C15 | 1)
            h.feed(ChunkEvent(ts: t0 + .milliseconds(c), principal: p, size: 1, conn: conn, seq: 0, checksum: conn))
        }
        #expect(detector.keyStats.tracked <= 1000 && detector.streamStats.tracked <= 500)
        #expect(detector.streamStats.evicted == 20_000 - 500)
        #expect(h.anomalies.isEmpty)
    }

    // MARK: - gen

    @Test func findsGensInjectedIntegrityAnomaly() throws {
        let replay = try GenReplay(
            WorkloadConfig(principals: 6, hours: 24, seed: 3, anomalies: [.integrity]), detector: IntegrityDetector())
        let label = try #require(replay.labels.first { $0.kind == .integrity })
        let hits = replay.detections(of: label, grace: .seconds(60))
        #expect(hits.contains { $0.severity == .critical }, "cross-hop mismatches: \(hits.map(\.message))")
        #expect(hits.contains { $0.message.contains("expected_checksum") })
        #expect(hits.contains { $0.message.contains("reported again") })
        #expect(replay.unexplained(grace: .seconds(60)).isEmpty, "false alerts: \(replay.unexplained().map(\.message))")
    }

    @Test func aCleanDayIsQuiet() throws {
        let detector = IntegrityDetector()
        let replay = try GenReplay(WorkloadConfig(principals: 6, hours: 24, seed: 5, anomalies: []), detector: detector)
        #expect(replay.events > 100_000)
        #expect(replay.alerts.isEmpty, "false alerts: \(replay.alerts.map(\.message))")
        #expect(detector.missingChunks == 0 && detector.lateChunks == 0)
        #expect(detector.keyStats.evicted == 0)
    }
}
