import ChunkModel

/// Checkpoints of the daemon's pipeline in the store: written every so often
/// and at shutdown, the newest read back at start. Only the last few are kept.
public final class CheckpointStore {
    public let database: Database
    public let keep: Int
    /// Whose checkpoints: `serve` (streamed: `begin`, `latestStreamed`), or
    /// `backfill` for a backfill to resume (whole: `save`, `latest`).
    public let kind: String

    public struct Checkpoint: Sendable {
        public var takenAt: Timestamp
        public var watermark: Timestamp
        public var events: Int
        /// What must match for the data to be read back: the build and the
        /// settings that shape the baselines.
        public var fingerprint: String
        public var data: [UInt8]

        public init(takenAt: Timestamp, watermark: Timestamp, events: Int, fingerprint: String, data: [UInt8]) {
            self.takenAt = takenAt
            self.watermark = watermark
            self.events = events
            self.fingerprint = fingerprint
            self.data = data
        }
    }

    public init(database: Database, kind: String = "serve", keep: Int = 2) throws(StoreError) {
        self.database = database
        self.kind = kind
        self.keep = Swift.max(1, keep)
        try Migrations.run(on: database)
    }

    public func save(_ c: Checkpoint) throws(StoreError) {
        let insert = try database.prepare(
            "INSERT INTO checkpoints (taken_at, watermark, events, fingerprint, data, kind) VALUES (?, ?, ?, ?, ?, ?)")
        try database.transaction { () throws(StoreError) in
            insert.bind(1, c.takenAt.epochMilliseconds)
            insert.bind(2, c.watermark.nanoseconds)
            insert.bind(3, Int64(c.events))
            insert.bind(4, c.fingerprint)
            insert.bind(5, c.data)
            insert.bind(6, kind)
            try insert.step()
            try database.execute(
                "DELETE FROM checkpoints WHERE kind = '\(kind)' AND parts IS NULL AND id NOT IN "
                    + "(SELECT id FROM checkpoints WHERE kind = '\(kind)' AND parts IS NULL ORDER BY id DESC LIMIT \(keep))")
        }
    }

    public func latest() throws(StoreError) -> Checkpoint? {
        let s = try database.prepare(
            "SELECT taken_at, watermark, events, fingerprint, data FROM checkpoints WHERE kind = ? AND parts IS NULL ORDER BY id DESC LIMIT 1")
        s.bind(1, kind)
        guard try s.step() else { return nil }
        return Checkpoint(
            takenAt: Timestamp(epochMilliseconds: Int64(s.int(0))), watermark: Timestamp(nanoseconds: Int64(s.int(1))),
            events: s.int(2), fingerprint: s.string(3) ?? "", data: s.blob(4))
    }

    /// Drops every checkpoint of this kind (a backfill that finished).
    public func clear() throws(StoreError) {
        let blocks = try database.prepare("DELETE FROM checkpoint_blocks WHERE checkpoint IN (SELECT id FROM checkpoints WHERE kind = ?)")
        blocks.bind(1, kind)
        try blocks.step()
        let s = try database.prepare("DELETE FROM checkpoints WHERE kind = ?")
        s.bind(1, kind)
        try s.step()
    }

    public var count: Int {
        get throws(StoreError) {
            let s = try database.prepare("SELECT count(*) FROM checkpoints WHERE kind = ? AND (parts IS NULL OR parts >= 0)")
            s.bind(1, kind)
            return try s.step() ? s.int(0) : 0
        }
    }
}
