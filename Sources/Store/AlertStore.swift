import CSQLite
import ChunkModel

/// Alerts kept in SQLite: every emitted line, in emission order, queryable by
/// the filters of `tail`. Writing the same alert line again (same id and
/// status, e.g. a re-run backfill) adds nothing.
public final class AlertStore {
    public let database: Database
    private let insertStatement: Statement

    public init(path: String) throws(StoreError) {
        database = try Database(path: path)
        try Migrations.run(on: database)
        insertStatement = try database.prepare(
            """
            INSERT OR IGNORE INTO alerts (id, status, detector, severity, principal, first_ts, last_ts, emitted_at, line)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
    }

    /// Writes a batch in one transaction; returns how many lines were new.
    @discardableResult
    public func insert(_ alerts: [Alert]) throws(StoreError) -> Int {
        try insertReturningRows(alerts).count
    }

    /// Writes a batch in one transaction; returns the lines that were new, with
    /// the store positions they got (a line already stored is left out).
    public func insertReturningRows(_ alerts: [Alert]) throws(StoreError) -> [StoredAlert] {
        guard !alerts.isEmpty else { return [] }
        let db = database
        let s = insertStatement
        return try db.transaction { () throws(StoreError) -> [StoredAlert] in
            var added: [StoredAlert] = []
            for a in alerts {
                s.reset()
                s.bind(1, a.id)
                s.bind(2, a.status.rawValue)
                s.bind(3, a.detector)
                s.bind(4, Int64(a.severity.rawValue))
                s.bind(5, a.principal)
                s.bind(6, a.firstTs.epochMilliseconds)
                s.bind(7, a.lastTs.epochMilliseconds)
                s.bind(8, a.emittedAt.epochMilliseconds)
                var line = a.jsonLine
                line.removeLast()  // the newline
                s.bind(9, line)
                try s.step()
                if sqlite3Changes(db) > 0 {
                    added.append(StoredAlert(seq: Int(sqlite3_last_insert_rowid(db.handle)), line: line, alert: a))
                }
            }
            return added
        }
    }

    /// Stored alert lines matching `query`, in the order they were written.
    public func lines(_ query: AlertQuery) throws(StoreError) -> [(seq: Int, line: String)] {
        var sql = "SELECT seq, line FROM alerts WHERE seq > ?"
        if query.since != nil { sql += " AND last_ts >= ?" }
        if query.minSeverity != nil { sql += " AND severity >= ?" }
        if query.principal != nil { sql += " AND principal = ?" }
        if query.detector != nil { sql += " AND detector = ?" }
        sql += " ORDER BY seq LIMIT ?"
        let s = try database.prepare(sql)
        var i: Int32 = 1
        s.bind(i, Int64(query.afterSeq))
        i += 1
        if let since = query.since { s.bind(i, since.epochMilliseconds); i += 1 }
        if let minSeverity = query.minSeverity { s.bind(i, Int64(minSeverity.rawValue)); i += 1 }
        if let principal = query.principal { s.bind(i, principal); i += 1 }
        if let detector = query.detector { s.bind(i, detector); i += 1 }
        s.bind(i, Int64(query.limit))
        var out: [(Int, String)] = []
        while try s.step() { out.append((s.int(0), s.string(1) ?? "")) }
        return out
    }

    public var count: Int {
        get throws(StoreError) {
            let s = try database.prepare("SELECT count(*) FROM alerts")
            return try s.step() ? s.int(0) : 0
        }
    }
}

/// An alert line as stored: its position in the store (the SSE event id
/// `tail` resumes from) and the NDJSON line, without its line end.
public struct StoredAlert: Sendable {
    public var seq: Int
    public var line: String
    public var alert: Alert
}

/// The filters of `tail` and `GET /v1/alerts`.
public struct AlertQuery: Sendable {
    /// Only lines written after this store position (for resuming a stream).
    public var afterSeq = 0
    /// Only alerts active at or after this event time.
    public var since: Timestamp?
    public var minSeverity: Severity?
    public var principal: String?
    public var detector: String?
    public var limit = 1000

    public init() {}

    /// The same test as the SQL filter, for alerts that arrive live.
    public func matches(_ a: Alert) -> Bool {
        if let since, a.lastTs < since { return false }
        if let minSeverity, a.severity.rawValue < minSeverity.rawValue { return false }
        if let principal, a.principal != principal { return false }
        if let detector, a.detector != detector { return false }
        return true
    }
}

private func sqlite3Changes(_ db: Database) -> Int32 { sqlite3_changes(db.handle) }
