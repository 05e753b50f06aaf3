import ChunkModel
import Detectors
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A detector takes back only a state that fits it: its own checkpoint
/// restores and goes on as if never stopped; one from a detector with room
/// for another number of keys (or a damaged one, see
/// Fuzz/Regressions/checkpoint) is refused before it replaces the live state.
@Suite struct DetectorRestoreTests {
    func fed(_ detector: any Detector) -> DetectorHarness {
        let h = DetectorHarness(detector)
        var rng = SplitMix64(seed: 3)
        let principals = (0..<5).map { h.name("svc-\($0)") }
        var ts = t0
        for i in 0..<3_000 {
            ts = ts + seconds(2)
            let size = Int64(1000 * exp(0.4 * rng.normal()))
            h.feed(ChunkEvent(ts: ts, principal: principals[i % principals.count], size: size, resource: h.name("pg://db")))
        }
        return h
    }

    func detectors(maxKeys: Int) -> [any Detector] {
        var size = SizeDetector.Settings()
        size.maxKeys = maxKeys
        var volume = VolumeDetector.Settings()
        volume.maxKeys = maxKeys
        var silence = SilenceDetector.Settings()
        silence.maxKeys = maxKeys
        var rate = RateDetector.Settings()
        rate.maxKeys = maxKeys
        var changepoint = ChangepointDetector.Settings()
        changepoint.maxKeys = maxKeys
        var novelty = NoveltyDetector.Settings()
        novelty.maxKeys = maxKeys
        return [
            SizeDetector(settings: size), VolumeDetector(settings: volume), SilenceDetector(settings: silence),
            RateDetector(settings: rate), ChangepointDetector(settings: changepoint), NoveltyDetector(settings: novelty),
        ]
    }

    @Test func aDetectorsOwnCheckpointRestoresAndChecksAgainTheSame() throws {
        for (live, fresh) in zip(detectors(maxKeys: 64), detectors(maxKeys: 64)) {
            let bytes = try #require(try fed(live).detector.checkpoint(), "\(live.name) keeps no state")
            try fresh.restore(bytes)
            #expect(try fresh.checkpoint() == bytes, "\(live.name)")
        }
    }

    @Test func aCheckpointOfADetectorWithOtherRoomIsRefused() throws {
        for (live, other) in zip(detectors(maxKeys: 64), detectors(maxKeys: 65)) {
            let bytes = try #require(try fed(live).detector.checkpoint(), "\(live.name) keeps no state")
            #expect(throws: DamagedDetectorState.self, "\(live.name)") { try other.restore(bytes) }
        }
    }
}
