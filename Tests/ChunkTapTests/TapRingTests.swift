import ChunkModel
import Foundation
import Synchronization
import Testing

@testable import ChunkTap

/// Runs `work(i)` on `n` threads at once and waits for all of them.
func onThreads(_ n: Int, _ work: @escaping @Sendable (Int) -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        for i in 0..<n {
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    Thread {
                        work(i)
                        c.resume()
                    }.start()
                }
            }
        }
    }
}

func record(_ i: Int, conn: UInt64 = 1, seq: Int, source: TapSource) -> TapRecord {
    TapRecord(
        ts: Timestamp(epochMilliseconds: 1_795_000_000_000 + Int64(seq)), source: source, conn: conn, dir: .out,
        seq: Int64(seq), size: Int64(100 + i), checksum: 0x1a2b_3c4d, rate: 2.5)
}

@Suite struct TapRingTests {
    @Test func aSlotIsOneCacheLine() {
        // The sequence number (8 bytes) and the record share one 64-byte line;
        // a field that breaks this makes every push touch two lines.
        #expect(MemoryLayout<TapRecord>.size <= 56)
        #expect(TapRing.slotSize == 64)
    }

    /// Every small capacity, every slot the ring starts at: records come out
    /// whole and in order, and the ring is full at exactly `capacity`.
    @Test func everyCapacityAndStartSlot() {
        for capacity in [2, 4, 8, 16] {
            for start in 0..<capacity {
                let ring = TapRing(capacity: capacity)
                for i in 0..<start {
                    #expect(ring.push(record(i, seq: i, source: TapSource(index: 0))))
                    #expect(ring.pop()?.seq == Int64(i))
                }
                var sent: [TapRecord] = []
                for i in 0..<capacity {
                    var r = record(i, conn: UInt64.max - UInt64(i), seq: start + i, source: TapSource(index: UInt32(i)))
                    if i.isMultiple(of: 2) { r.checksum = nil }
                    if i == 1 { r.rate = .nan }
                    #expect(ring.push(r))
                    sent.append(r)
                }
                #expect(!ring.push(record(0, seq: 0, source: TapSource(index: 0))))
                #expect(ring.pushed == start + capacity && ring.count == capacity)
                for r in sent {
                    let out = ring.pop()
                    #expect(out?.ts == r.ts && out?.conn == r.conn && out?.seq == r.seq && out?.size == r.size)
                    #expect(out?.source == r.source && out?.checksum == r.checksum && out?.dir == r.dir)
                    #expect(out?.rate == r.rate || (out?.rate.isNaN == true && r.rate.isNaN))
                }
                #expect(ring.pop() == nil && ring.count == 0)
            }
        }
    }

    @Test(arguments: [2, 8, 1024])
    func fullRingRefusesAtOnceAndCountsExactly(capacity: Int) async {
        let ring = TapRing(capacity: capacity)
        let producers = 4, perProducer = 3 * capacity
        let refused = Atomic<Int>(0)
        await onThreads(producers) { p in
            var mine = 0
            for i in 0..<perProducer where !ring.push(record(i, conn: UInt64(p), seq: i, source: TapSource(index: 0))) {
                mine += 1
            }
            refused.add(mine, ordering: .relaxed)
        }
        #expect(ring.pushed == capacity)
        #expect(refused.load(ordering: .relaxed) == producers * perProducer - capacity)
        // Each producer's records come out in the order it put them in.
        var last: [UInt64: Int64] = [:]
        var popped = 0
        while let r = ring.pop() {
            #expect(r.seq > last[r.conn, default: -1])
            last[r.conn] = r.seq
            popped += 1
        }
        #expect(popped == capacity)
        // Emptied, the ring takes a full lap again.
        for i in 0..<capacity { #expect(ring.push(record(i, seq: i, source: TapSource(index: 0)))) }
        #expect(!ring.push(record(0, seq: 0, source: TapSource(index: 0))))
    }

    /// Producers and the forwarder at once on a small ring, which fills and
    /// frees many times over: every accepted record comes out once, whole, in
    /// its producer's order, and accepted plus refused is what was offered.
    @Test func producersAndForwarderAtOnce() async {
        final class Forwarder: Sendable {
            let producing = Atomic<Int>(0)
            let popped = Atomic<Int>(0)
            /// Records popped, and those out of order or not as pushed; nil until done.
            let result = Mutex<(popped: Int, wrong: Int)?>(nil)
        }
        let ring = TapRing(capacity: 64)
        let producers = 4, perProducer = 50_000
        let refused = Atomic<Int>(0), offered = Atomic<Int>(0)
        let forwarder = Forwarder()
        forwarder.producing.store(producers, ordering: .relaxed)
        Thread {
            var last = [Int64](repeating: -1, count: producers)
            var popped = 0, wrong = 0
            while true {
                let finished = forwarder.producing.load(ordering: .acquiring) == 0
                guard let r = ring.pop() else {
                    if finished { break }
                    continue
                }
                let p = Int(r.conn)
                if r.seq <= last[p] || r.size != r.seq &* 3 &+ Int64(p) || r.source.index != UInt32(p) { wrong += 1 }
                last[p] = r.seq
                popped += 1
                forwarder.popped.store(popped, ordering: .relaxed)
            }
            forwarder.result.withLock { $0 = (popped, wrong) }
        }.start()
        await onThreads(producers) { p in
            var mine = 0, i = 0
            // Past `perProducer` while the forwarder has not been scheduled enough to free the ring many times.
            while i < perProducer || (forwarder.popped.load(ordering: .relaxed) < 16 * ring.capacity && i < 100 * perProducer) {
                let r = TapRecord(
                    ts: Timestamp(nanoseconds: Int64(i)), source: TapSource(index: UInt32(p)), conn: UInt64(p), seq: Int64(i),
                    size: Int64(i) &* 3 &+ Int64(p))
                if !ring.push(r) { mine += 1 }
                i += 1
            }
            refused.add(mine, ordering: .relaxed)
            offered.add(i, ordering: .relaxed)
            forwarder.producing.subtract(1, ordering: .releasing)
        }
        var result: (popped: Int, wrong: Int)?
        while result == nil {
            usleep(1_000)
            result = forwarder.result.withLock { $0 }
        }
        #expect(result?.wrong == 0)
        #expect(result?.popped == ring.pushed)
        #expect(ring.pushed + refused.load(ordering: .relaxed) == offered.load(ordering: .relaxed))
        #expect(ring.pushed >= 16 * ring.capacity, "the ring filled and emptied many times over")
    }

    @Test func linesFollowSpecSection2() throws {
        let registry = TapRegistry(maxSources: 4)
        let source = try registry.register(principal: "svc \"a\"", resource: "pg://orders", hop: "gateway")
        #expect(try registry.register(principal: "svc \"a\"", resource: "pg://orders", hop: "gateway") == source)
        var out = OutputBuffer()
        TapLineWriter(connPrefix: "gw1-").write(record(0, conn: 42, seq: 7, source: source), names: registry.snapshot()[0], to: &out)
        #expect(out.string == #"{"ts":"2026-11-18T11:06:40.007Z","principal":"svc \"a\"","resource":"pg://orders","hop":"gateway","size":100,"conn":"gw1-42","dir":"out","seq":7,"checksum":"crc32c:1a2b3c4d","rate":2.5}"# + "\n")
        var bare = OutputBuffer()
        let plain = try registry.register(principal: "p")
        TapLineWriter(connPrefix: "c-").write(
            TapRecord(ts: Timestamp(epochMilliseconds: 0), source: plain, conn: 1, size: 5), names: registry.snapshot()[1], to: &bare)
        #expect(bare.string == #"{"ts":"1970-01-01T00:00:00.000Z","principal":"p","size":5,"conn":"c-1","dir":"in"}"# + "\n")
        _ = try registry.register(principal: "q")
        _ = try registry.register(principal: "r")
        #expect(throws: TapError.self) { try registry.register(principal: "s") }
    }
}

extension TapRegistry {
    func register(principal: String) throws(TapError) -> TapSource { try register(principal: principal, resource: nil, hop: nil) }
}
