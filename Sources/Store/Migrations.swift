/// The schema, as numbered steps. A database records the last step it has
/// run in `PRAGMA user_version`; opening it runs the ones after that, each in
/// its own transaction. Append steps; never edit one that has shipped.
enum Migrations {
    static let steps: [String] = [
        // 1: alerts, one row per emitted line; (id, status) makes a re-run idempotent.
        """
        CREATE TABLE alerts (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            id         TEXT NOT NULL,
            status     TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
            detector   TEXT NOT NULL,
            severity   INTEGER NOT NULL,
            principal  TEXT NOT NULL,
            first_ts   INTEGER NOT NULL,
            last_ts    INTEGER NOT NULL,
            emitted_at INTEGER NOT NULL,
            line       TEXT NOT NULL,
            UNIQUE (id, status)
        );
        CREATE INDEX alerts_first_ts ON alerts (first_ts);
        CREATE INDEX alerts_principal ON alerts (principal, first_ts);
        """,
        // 2: live detector changes: the values in force, and the record of every change.
        """
        CREATE TABLE detector_settings (
            detector   TEXT NOT NULL,
            parameter  TEXT NOT NULL,
            value      TEXT NOT NULL,
            PRIMARY KEY (detector, parameter)
        );
        CREATE TABLE detector_changes (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            at         INTEGER NOT NULL,
            source     TEXT NOT NULL,
            token      TEXT,
            detector   TEXT NOT NULL,
            parameter  TEXT NOT NULL,
            old_value  TEXT NOT NULL,
            new_value  TEXT NOT NULL
        );
        """,
        // 3: checkpoints of the pipeline's state (baselines, open alerts), newest last.
        """
        CREATE TABLE checkpoints (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            taken_at    INTEGER NOT NULL,
            watermark   INTEGER NOT NULL,
            events      INTEGER NOT NULL,
            fingerprint TEXT NOT NULL,
            data        BLOB NOT NULL
        );
        """,
        // 4: the daemon's checkpoints and an interrupted backfill's are kept apart.
        """
        ALTER TABLE checkpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'serve';
        """,
        // 5: how far each tap's numbered items are durable, so a resend after a restart is not archived twice.
        // Written before the archive's fsync: `durable` holds once `file` has `lines` lines, `previous` always.
        """
        CREATE TABLE tap_marks (
            tap      TEXT NOT NULL,
            instance INTEGER NOT NULL,
            durable  INTEGER NOT NULL,
            previous INTEGER NOT NULL,
            file     TEXT NOT NULL,
            lines    INTEGER NOT NULL,
            seen_at  INTEGER NOT NULL,
            PRIMARY KEY (tap, instance)
        );
        """,
        // 6: checkpoints streamed in LZ4 blocks (the daemon's): `parts` is NULL for a
        // checkpoint held in `data`, -1 while its blocks are being written, else
        // the number of parts in checkpoint_blocks.
        """
        ALTER TABLE checkpoints ADD COLUMN parts INTEGER;
        CREATE TABLE checkpoint_blocks (
            checkpoint INTEGER NOT NULL,
            part       INTEGER NOT NULL,
            seq        INTEGER NOT NULL,
            raw_size   INTEGER NOT NULL,
            data       BLOB NOT NULL,
            PRIMARY KEY (checkpoint, part, seq)
        );
        """,
    ]

    static func run(on db: Database) throws(StoreError) {
        var version = try db.userVersion
        while version < steps.count {
            let step = steps[version]
            try db.transaction { () throws(StoreError) in
                try db.execute(step)
                try db.execute("PRAGMA user_version = \(version + 1)")
            }
            version += 1
        }
    }
}
