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
