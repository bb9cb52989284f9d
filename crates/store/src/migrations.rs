//! Schema migrations for the history database, tracked in SQLite's `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` is the SQL that takes the schema from version `i` to `i + 1`; a fresh file is
//! version 0. Steps are append-only: once released, a step is never edited, a change is a new step.
//! All pending steps and the version bump run in one `BEGIN IMMEDIATE` transaction, so two programs
//! opening the same file at once cannot both migrate, and a failed step leaves the file as it was.
//! A file whose version is higher than this build knows is refused, never touched.
//!
//! Why hand-rolled rather than the `rusqlite_migration` crate: that crate uses the same
//! `user_version` scheme, but its current release (2.6.0) needs Rust 1.95 while this workspace
//! promises 1.90, and it would be a dependency for about thirty lines. Owning the loop also lets the
//! "newer schema" case produce exactly the error sentence the user reads (see `StoreError::NewerSchema`).

use rusqlite::{Connection, TransactionBehavior};

/// Version 1: one row per finished call.
const V1_CALLS: &str = "
CREATE TABLE calls (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    direction           TEXT    NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
    account             TEXT    NOT NULL,
    remote_uri          TEXT    NOT NULL,
    remote_display_name TEXT,
    started_at_ms       INTEGER NOT NULL,
    answered_at_ms      INTEGER,
    ended_at_ms         INTEGER NOT NULL,
    outcome             TEXT    NOT NULL
                        CHECK (outcome IN ('answered', 'missed', 'rejected', 'cancelled', 'failed')),
    sip_status          INTEGER,
    codec               TEXT,
    end_reason          TEXT
) STRICT;
CREATE INDEX calls_by_start ON calls (started_at_ms DESC, id DESC);
";

/// Version 2: how an incoming call was routed, and the call's media quality.
/// `has_quality` tells "no quality recorded" apart from zero counters.
const V2_ROUTING_AND_QUALITY: &str = "
ALTER TABLE calls ADD COLUMN routing          TEXT;
ALTER TABLE calls ADD COLUMN has_quality      INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN mos              REAL;
ALTER TABLE calls ADD COLUMN packets_received INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN packets_lost     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN late_packets     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN concealed_frames INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN jitter_ms        REAL;
ALTER TABLE calls ADD COLUMN rtt_ms           REAL;
ALTER TABLE calls ADD COLUMN jitter_buffer_ms REAL;
";

/// Version 3: a call's row is written when the call starts (`in_progress`, with the process that
/// owns it) and completed when it ends; a row whose process died mid-call becomes `interrupted`.
/// SQLite cannot change a CHECK constraint in place, so the table is rebuilt with every row kept.
const V3_CRASH_SAFE_ROWS: &str = "
CREATE TABLE calls_v3 (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    direction           TEXT    NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
    account             TEXT    NOT NULL,
    remote_uri          TEXT    NOT NULL,
    remote_display_name TEXT,
    started_at_ms       INTEGER NOT NULL,
    answered_at_ms      INTEGER,
    ended_at_ms         INTEGER NOT NULL,
    outcome             TEXT    NOT NULL
                        CHECK (outcome IN ('answered', 'missed', 'rejected', 'cancelled', 'failed',
                                           'in_progress', 'interrupted')),
    sip_status          INTEGER,
    codec               TEXT,
    end_reason          TEXT,
    routing             TEXT,
    has_quality         INTEGER NOT NULL DEFAULT 0,
    mos                 REAL,
    packets_received    INTEGER NOT NULL DEFAULT 0,
    packets_lost        INTEGER NOT NULL DEFAULT 0,
    late_packets        INTEGER NOT NULL DEFAULT 0,
    concealed_frames    INTEGER NOT NULL DEFAULT 0,
    jitter_ms           REAL,
    rtt_ms              REAL,
    jitter_buffer_ms    REAL,
    owner_pid           INTEGER
) STRICT;
INSERT INTO calls_v3 (id, direction, account, remote_uri, remote_display_name, started_at_ms,
                      answered_at_ms, ended_at_ms, outcome, sip_status, codec, end_reason, routing,
                      has_quality, mos, packets_received, packets_lost, late_packets,
                      concealed_frames, jitter_ms, rtt_ms, jitter_buffer_ms)
    SELECT id, direction, account, remote_uri, remote_display_name, started_at_ms,
           answered_at_ms, ended_at_ms, outcome, sip_status, codec, end_reason, routing,
           has_quality, mos, packets_received, packets_lost, late_packets,
           concealed_frames, jitter_ms, rtt_ms, jitter_buffer_ms
    FROM calls;
DROP TABLE calls;
ALTER TABLE calls_v3 RENAME TO calls;
CREATE INDEX calls_by_start ON calls (started_at_ms DESC, id DESC);
CREATE INDEX calls_in_progress ON calls (outcome) WHERE outcome = 'in_progress';
";

/// Every schema step, oldest first.
pub(crate) const MIGRATIONS: &[&str] = &[V1_CALLS, V2_ROUTING_AND_QUALITY, V3_CRASH_SAFE_ROWS];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Why migrating failed.
#[derive(Debug)]
pub(crate) enum MigrateError {
    /// The file is at a version beyond the steps we know.
    Newer {
        found: i64,
        known: i64,
    },
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sql(e)
    }
}

/// The file's schema version (0 for a new, empty file). This is also the first read of the file,
/// so a file that is not a database fails here with `SQLITE_NOTADB`.
pub(crate) fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings the schema up to `MIGRATIONS.len()`. Returns the version found before migrating.
pub(crate) fn migrate(conn: &mut Connection) -> Result<i64, MigrateError> {
    migrate_with(conn, MIGRATIONS)
}

/// [`migrate`] with an explicit list of steps (tests use longer lists to simulate upgrades).
pub(crate) fn migrate_with(conn: &mut Connection, steps: &[&str]) -> Result<i64, MigrateError> {
    let known = steps.len() as i64;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = schema_version(&tx)?;
    if found > known {
        return Err(MigrateError::Newer { found, known });
    }
    if found < 0 {
        // Only a foreign program would write a negative user_version; refuse rather than guess.
        return Err(MigrateError::Newer { found, known });
    }
    for (index, step) in steps.iter().enumerate().skip(found as usize) {
        tx.execute_batch(step)?;
        tracing::info!(version = index + 1, "history database schema migrated");
    }
    if found < known {
        tx.pragma_update(None, "user_version", known)?;
    }
    tx.commit()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn fresh_database_gets_every_step_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(schema_version(&conn).unwrap(), 0);
        assert_eq!(migrate(&mut conn).unwrap(), 0);
        assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
        assert!(table_names(&conn).contains(&"calls".to_string()));
        // Second run: nothing to do, nothing fails (CREATE TABLE would fail if re-run).
        assert_eq!(migrate(&mut conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    /// Version 3 rebuilds the table: every row of a version-2 file comes through unchanged, ids
    /// and quality included, and the new outcomes are accepted afterwards.
    #[test]
    fn version_2_rows_survive_the_rebuild_of_version_3() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &[V1_CALLS, V2_ROUTING_AND_QUALITY]).unwrap();
        conn.execute(
            "INSERT INTO calls (id, direction, account, remote_uri, started_at_ms, ended_at_ms, outcome,
                                routing, has_quality, mos, packets_lost)
             VALUES (41, 'outgoing', 'sip:a@b', 'sip:c@d', 1, 2, 'answered', 'rule 2', 1, 4.1, 7)",
            [],
        )
        .unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), 2);
        let row: (i64, String, Option<String>, f64, i64) = conn
            .query_row(
                "SELECT id, outcome, routing, mos, packets_lost FROM calls",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            (
                41,
                "answered".to_string(),
                Some("rule 2".to_string()),
                4.1,
                7
            )
        );
        conn.execute(
            "INSERT INTO calls (direction, account, remote_uri, started_at_ms, ended_at_ms, outcome, owner_pid)
             VALUES ('incoming', 'sip:a@b', 'sip:e@f', 3, 3, 'in_progress', 99)",
            [],
        )
        .unwrap();
        let next: i64 = conn
            .query_row("SELECT max(id) FROM calls", [], |r| r.get(0))
            .unwrap();
        assert_eq!(next, 42, "ids go on after the kept rows");
        assert!(conn
            .execute(
                "INSERT INTO calls (direction, account, remote_uri, started_at_ms, ended_at_ms, outcome)
                 VALUES ('incoming', 'sip:a@b', 'sip:e@f', 3, 3, 'lost')",
                [],
            )
            .is_err());
    }

    #[test]
    fn later_steps_run_on_an_older_file_and_keep_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &[V1_CALLS]).unwrap();
        conn.execute(
            "INSERT INTO calls (direction, account, remote_uri, started_at_ms, ended_at_ms, outcome)
             VALUES ('incoming', 'sip:a@b', 'sip:c@d', 1, 2, 'missed')",
            [],
        )
        .unwrap();
        let v2 = "ALTER TABLE calls ADD COLUMN note TEXT;";
        assert_eq!(migrate_with(&mut conn, &[V1_CALLS, v2]).unwrap(), 1);
        assert_eq!(schema_version(&conn).unwrap(), 2);
        let (count, note): (i64, Option<String>) = conn
            .query_row("SELECT count(*), max(note) FROM calls", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((count, note), (1, None));
    }

    #[test]
    fn version_1_rows_survive_version_2_without_quality() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &[V1_CALLS]).unwrap();
        conn.execute(
            "INSERT INTO calls (direction, account, remote_uri, started_at_ms, ended_at_ms, outcome, codec)
             VALUES ('outgoing', 'sip:a@b', 'sip:c@d', 1, 2, 'answered', 'pcmu')",
            [],
        )
        .unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), 1);
        let row: (String, Option<String>, bool, i64) = conn
            .query_row(
                "SELECT codec, routing, has_quality, packets_lost FROM calls",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(row, ("pcmu".to_string(), None, false, 0));
    }

    #[test]
    fn a_failing_step_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        let err = migrate_with(
            &mut conn,
            &[V1_CALLS, "CREATE TABLE x (a); THIS IS NOT SQL;"],
        );
        assert!(matches!(err, Err(MigrateError::Sql(_))), "{err:?}");
        assert_eq!(schema_version(&conn).unwrap(), 0);
        assert!(table_names(&conn).is_empty(), "{:?}", table_names(&conn));
    }

    #[test]
    fn newer_file_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 7).unwrap();
        match migrate(&mut conn) {
            Err(MigrateError::Newer { found: 7, known }) => assert_eq!(known, SCHEMA_VERSION),
            other => panic!("expected Newer, got {other:?}"),
        }
        assert_eq!(schema_version(&conn).unwrap(), 7);
        assert!(table_names(&conn).is_empty());
    }
}
