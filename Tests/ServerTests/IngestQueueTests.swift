import NIOCore
import Server
import Synchronization
import Testing

@Suite struct IngestQueueTests {
    @Test func aProducerOverTheBudgetWaitsUntilThePipelineCatchesUp() async throws {
        let queue = IngestQueue(capacityBytes: 1000)
        let pushed = Atomic<Int>(0)
        let producer = Task {
            for _ in 0..<5 {
                await queue.push(.bytes(source: 1, ByteBuffer(repeating: 0x41, count: 400)))
                pushed.add(1, ordering: .relaxed)
            }
        }
        // 400, 800, 1200: the third push goes over the budget and waits. The
        // producer task may start late when other tests hold the cooperative
        // threads, so wait for the blocked push rather than a fixed time.
        let deadline = ContinuousClock.now + .seconds(60)
        while queue.depth.blockedPushes == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(queue.depth.blockedPushes == 1)
        try await Task.sleep(for: .milliseconds(50))
        #expect(pushed.load(ordering: .relaxed) == 2, "the producer stays blocked while the queue is over budget")
        // Taking everything lets it go on; nothing pushed is ever lost.
        var taken = queue.take(timeout: .milliseconds(10)).count
        while taken < 5 { taken += queue.take(timeout: .milliseconds(50)).count }
        await producer.value
        #expect(taken == 5)
    }

    @Test func aBatchTakesTheOldestItemsUpToItsBytesAndAWaitingProducerGoesOnAtOnce() async throws {
        let queue = IngestQueue(capacityBytes: 1000)
        for i in 0..<2 { await queue.push(.bytes(source: UInt64(i), ByteBuffer(repeating: 0x41, count: 400))) }
        let blocked = Task { await queue.push(.bytes(source: 2, ByteBuffer(repeating: 0x41, count: 400))) }
        // The task may start late when other tests hold the cooperative threads.
        let deadline = ContinuousClock.now + .seconds(120)
        while queue.depth.blockedPushes == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(queue.depth.blockedPushes == 1, "1,200 bytes queued: the third push waits")
        #expect(queue.depth.waitingPushes == 1)
        // 500 bytes allow one item: 800 left, under the budget, so the producer
        // is let go by this take, before the backlog is processed.
        #expect(queue.take(timeout: .milliseconds(10), maxBytes: 500).map(Self.source) == [0])
        #expect(queue.depth.waitingPushes == 0, "back under its budget, the producer goes on before the backlog is processed")
        // An item larger than the batch is still taken, alone.
        #expect(queue.take(timeout: .milliseconds(10), maxBytes: 100).map(Self.source) == [1])
        #expect(queue.take(timeout: .milliseconds(10)).map(Self.source) == [2])
        #expect(queue.depth.bytes == 0)
        #expect(await blocked.value)
    }

    private static func source(_ item: IngestItem) -> UInt64? {
        if case .bytes(let source, _) = item { return source }
        return nil
    }

    @Test func takeTimesOutWhenIdleAndEndsOnceClosedAndDrained() async {
        let queue = IngestQueue()
        #expect(queue.take(timeout: .milliseconds(5)).isEmpty)
        #expect(await queue.push(.closed(source: 3)))
        queue.close()
        #expect(await queue.push(.closed(source: 4)) == false, "a closed queue refuses new items")
        #expect(queue.take(timeout: .milliseconds(5)).count == 1)
        #expect(queue.take(timeout: .seconds(5)).isEmpty)
        #expect(queue.isClosed)
    }
}
