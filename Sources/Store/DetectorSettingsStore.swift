import ChunkModel

/// Live detector changes in the store: the values set while running (so a
/// restart keeps them) and the record of every change — when, by which token
/// or signal, old and new value.
public final class DetectorSettingsStore {
    public let database: Database

    public init(database: Database) throws(StoreError) {
        self.database = database
        try Migrations.run(on: database)
    }

    /// One change of one parameter.
    public struct Change: Sendable, Equatable {
        public var at: Timestamp
        /// `api` or `sighup`.
        public var source: String
        /// The name of the token that made it, when it came through the API with tokens.
        public var token: String?
        public var detector: String
        public var parameter: String
        public var oldValue: String
        public var newValue: String

        public init(
            at: Timestamp, source: String, token: String?, detector: String, parameter: String, oldValue: String,
            newValue: String
        ) {
            self.at = at
            self.source = source
            self.token = token
            self.detector = detector
            self.parameter = parameter
            self.oldValue = oldValue
            self.newValue = newValue
        }
    }

    /// Records the changes and makes their new values the ones in force, in one transaction.
    public func record(_ changes: [Change]) throws(StoreError) {
        guard !changes.isEmpty else { return }
        let log = try database.prepare(
            "INSERT INTO detector_changes (at, source, token, detector, parameter, old_value, new_value) VALUES (?, ?, ?, ?, ?, ?, ?)")
        let current = try database.prepare(
            "INSERT OR REPLACE INTO detector_settings (detector, parameter, value) VALUES (?, ?, ?)")
        try database.transaction { () throws(StoreError) in
            for c in changes {
                log.reset()
                log.bind(1, c.at.epochMilliseconds)
                log.bind(2, c.source)
                log.bind(3, c.token)
                log.bind(4, c.detector)
                log.bind(5, c.parameter)
                log.bind(6, c.oldValue)
                log.bind(7, c.newValue)
                try log.step()
                current.reset()
                current.bind(1, c.detector)
                current.bind(2, c.parameter)
                current.bind(3, c.newValue)
                try current.step()
            }
        }
    }

    /// The values set while running, in force over the configuration file.
    public func currentValues() throws(StoreError) -> [(detector: String, parameter: String, value: String)] {
        let s = try database.prepare("SELECT detector, parameter, value FROM detector_settings ORDER BY detector, parameter")
        var out: [(String, String, String)] = []
        while try s.step() { out.append((s.string(0) ?? "", s.string(1) ?? "", s.string(2) ?? "")) }
        return out
    }

    /// Every change, oldest first.
    public func changes(detector: String? = nil) throws(StoreError) -> [Change] {
        let s = try database.prepare(
            "SELECT at, source, token, detector, parameter, old_value, new_value FROM detector_changes"
                + (detector == nil ? "" : " WHERE detector = ?") + " ORDER BY id")
        if let detector { s.bind(1, detector) }
        var out: [Change] = []
        while try s.step() {
            out.append(
                Change(
                    at: Timestamp(epochMilliseconds: Int64(s.int(0))), source: s.string(1) ?? "", token: s.string(2),
                    detector: s.string(3) ?? "", parameter: s.string(4) ?? "", oldValue: s.string(5) ?? "",
                    newValue: s.string(6) ?? ""))
        }
        return out
    }
}
