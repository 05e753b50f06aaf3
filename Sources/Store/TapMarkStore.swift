import ChunkModel

/// How far each tap's numbered items (binary framing with `resume`) are
/// durable in the archive, so a tap that resends after the daemon restarted
/// has what was already archived skipped, not archived twice.
///
/// A mark is written in the same group commit as the items it covers, just
/// before the archive's fsync, so it can never lag behind the archive: it says
/// "`durable` holds once archive `file` has `lines` lines; `previous` holds in
/// any case". At start, recovery tells how many lines a file a crash left open
/// kept, which settles each mark (`effectiveDurable`). Only the most recently
/// seen `keep` taps are kept.
public final class TapMarkStore {
    public let database: Database
    public let keep: Int

    public struct Mark: Sendable, Equatable {
        public var session: TapSession
        /// Every item numbered below this is durable once `file` holds `lines` lines.
        public var durable: UInt64
        /// Every item numbered below this is durable, whatever became of `file`.
        public var previous: UInt64
        /// The archive file (its visible name, without a directory) and its line count after the items.
        public var file: String
        public var lines: Int
        /// Wall clock of the commit.
        public var seenAt: Timestamp

        public init(session: TapSession, durable: UInt64, previous: UInt64, file: String, lines: Int, seenAt: Timestamp) {
            self.session = session
            self.durable = durable
            self.previous = previous
            self.file = file
            self.lines = lines
            self.seenAt = seenAt
        }

        /// What holds, given how many lines recovery kept of `file` when a
        /// crash left it open (nil: it was closed normally, or is not ours to judge).
        public func effectiveDurable(recoveredLines: Int?) -> UInt64 {
            guard let recoveredLines else { return durable }
            return recoveredLines >= lines ? durable : previous
        }
    }

    public init(database: Database, keep: Int = 4096) throws(StoreError) {
        self.database = database
        self.keep = Swift.max(1, keep)
        try Migrations.run(on: database)
    }

    public func all() throws(StoreError) -> [Mark] {
        let s = try database.prepare(
            "SELECT tap, instance, durable, previous, file, lines, seen_at FROM tap_marks ORDER BY seen_at DESC LIMIT \(keep)")
        var out: [Mark] = []
        while try s.step() {
            out.append(
                Mark(
                    session: TapSession(name: s.string(0) ?? "", instance: UInt64(bitPattern: Int64(s.int(1)))),
                    durable: UInt64(bitPattern: Int64(s.int(2))), previous: UInt64(bitPattern: Int64(s.int(3))),
                    file: s.string(4) ?? "", lines: s.int(5), seenAt: Timestamp(nanoseconds: Int64(s.int(6)))))
        }
        return out
    }

    /// Writes `marks` in one transaction, and forgets the oldest taps past `keep`.
    public func save(_ marks: [Mark]) throws(StoreError) {
        guard !marks.isEmpty else { return }
        let upsert = try database.prepare(
            "INSERT OR REPLACE INTO tap_marks (tap, instance, durable, previous, file, lines, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        try database.transaction { () throws(StoreError) in
            for m in marks {
                upsert.reset()
                upsert.bind(1, m.session.name)
                upsert.bind(2, Int64(bitPattern: m.session.instance))
                upsert.bind(3, Int64(bitPattern: m.durable))
                upsert.bind(4, Int64(bitPattern: m.previous))
                upsert.bind(5, m.file)
                upsert.bind(6, Int64(m.lines))
                upsert.bind(7, m.seenAt.nanoseconds)
                try upsert.step()
            }
            try database.execute(
                "DELETE FROM tap_marks WHERE rowid NOT IN (SELECT rowid FROM tap_marks ORDER BY seen_at DESC LIMIT \(keep))")
        }
    }
}
