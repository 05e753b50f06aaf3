import Baselines
import ChunkModel
import Testing

/// A damaged checkpoint of a keyed store must fail to restore: found by the
/// checkpoint fuzz target (Fuzz/Regressions/checkpoint), where a restored
/// recency link outside the store's slots made the next expiry write to
/// freed memory.
@Suite struct RecencyCheckpointTests {
    func checkpoint() throws -> [UInt8] {
        var store = ExpiringKeyedStore(capacity: 4)
        for k in 1...3 { _ = store.slot(for: UInt64(k), at: Int64(k)) }
        return try BinaryCoding.encode(store)
    }

    @Test func anIntactCheckpointRestores() throws {
        var store = try BinaryCoding.decode(ExpiringKeyedStore.self, from: try checkpoint())
        #expect(store.keysByRecency == [3, 2, 1])
        #expect(store.expire(before: 3) { _, _, _ in } == 2)
    }

    /// The end of the form: …, mostRecent: Int32, leastRecent: Int32, freeHead: Int32, evictions: Int, expirations: Int.
    @Test(arguments: [28, 24])
    func aLinkOutsideTheSlotsIsRefused(fromEnd offset: Int) throws {
        var bytes = try checkpoint()
        withUnsafeBytes(of: Int32(1000).littleEndian) { bytes.replaceSubrange((bytes.count - offset)..<(bytes.count - offset + 4), with: $0) }
        #expect(throws: (any Error).self) { try BinaryCoding.decode(ExpiringKeyedStore.self, from: bytes) }
    }
}
