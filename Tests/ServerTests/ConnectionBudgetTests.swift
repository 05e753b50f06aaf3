import Config
import Server
import Testing

@Suite struct ConnectionBudgetTests {
    @Test func theDerivedLimitsLeaveRoomForFilesUnderTheFdLimit() {
        let low = ConnectionBudget.derive(fileLimit: 1024)
        #expect(low.ingest == 576 && low.http == 192)
        #expect(low.fitsFileLimit)
        let tiny = ConnectionBudget.derive(fileLimit: 64)
        #expect(tiny.ingest == 24 && tiny.http == 8 && tiny.fitsFileLimit)
        let configured = ConnectionBudget.derive(fileLimit: 1024, ingest: 5000, http: 10)
        #expect(configured.ingest == 5000 && configured.http == 10)
        #expect(!configured.fitsFileLimit)
        #expect(ConnectionBudget.currentFileLimit() > 0)
    }

    @Test func connectionSettingsDoNotInvalidateACheckpoint() {
        var config = ChunkWatchConfig()
        config.serve.drainTimeout = .seconds(1)
        config.serve.ingestMaxConnections = 7
        #expect(CheckpointFingerprint.of(config) == CheckpointFingerprint.of(ChunkWatchConfig()))
    }
}
