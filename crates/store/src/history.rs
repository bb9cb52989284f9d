//! The local call history: one SQLite row per call, in or out, answered or not.
//!
//! A call's row is written when the call starts ([`HistoryStore::begin`], outcome `in_progress`,
//! owned by this process), kept up to date while it goes on ([`HistoryStore::progress`]) and
//! completed when it ends ([`HistoryStore::finish`]). If the program dies mid-call (crash,
//! `kill -9`, power cut), the next open finds the row still in progress with its owner gone and
//! marks it `interrupted`: no call is ever missing from the history.
//!
//! The file is opened in WAL mode (readers never block the writer, a crash never corrupts it),
//! with foreign keys on and a busy timeout so a second program (say, the CLI while the app runs)
//! waits for a lock instead of failing. Opening migrates the schema (see `migrations.rs`); a file
//! that is not a database, or is from a newer Hookflash, is refused with a clear error and left
//! untouched. Text is stored exactly as given (SQLite TEXT is length-counted UTF-8, so quotes,
//! markup, emoji and even NUL characters come back byte for byte).
//!
//! All calls are blocking and quick; from async code, call them via `spawn_blocking` or accept the
//! few-millisecond stall.

use crate::call_record::{CallDirection, CallOutcome, CallQuality, CallRecord, NewCallRecord};
use crate::error::StoreError;
use crate::migrations::{self, MigrateError, SCHEMA_VERSION};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How long a statement waits for another connection's lock before giving up with `StoreError::Busy`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A call in progress whose program has not said it is alive ([`HistoryStore::progress`]) for
/// this long is taken as interrupted even if a process with its id runs (ids get reused). The
/// phone says so every minute.
pub const STALE_AFTER_MS: i64 = 5 * 60_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Whether a process with this id runs. Linux answers from /proc; elsewhere every owner counts as
/// running and only [`STALE_AFTER_MS`] without news closes its calls.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Columns in the order `row_to_record` reads them.
const COLUMNS: &str = "id, direction, account, remote_uri, remote_display_name, started_at_ms, \
     answered_at_ms, ended_at_ms, outcome, sip_status, codec, end_reason, routing, has_quality, mos, \
     packets_received, packets_lost, late_packets, concealed_frames, jitter_ms, rtt_ms, jitter_buffer_ms";

/// The call history database. Cheap to share: `Send + Sync`, one connection behind a mutex.
#[derive(Debug)]
pub struct HistoryStore {
    conn: Mutex<Connection>,
    /// The file, or `:memory:`; used in error messages.
    path: PathBuf,
}

impl HistoryStore {
    /// Opens (creating if needed, along with its parent folders) and migrates the history file.
    pub fn open(path: &Path) -> Result<HistoryStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        // Two programs opening a brand-new file at once can meet SQLITE_BUSY where SQLite does not
        // call the busy handler (switching the journal to WAL needs the file to itself): start
        // over for as long as a busy write would wait.
        let started = std::time::Instant::now();
        loop {
            let conn = Connection::open(path).map_err(|e| db_error(path, e))?;
            match HistoryStore::prepare(conn, path.to_path_buf(), true) {
                Err(StoreError::Busy { .. }) if started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    /// A private, empty history that lives only as long as this value (tests, `--no-history`).
    pub fn open_in_memory() -> Result<HistoryStore, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| db_error(&path, e))?;
        HistoryStore::prepare(conn, path, false)
    }

    fn prepare(
        mut conn: Connection,
        path: PathBuf,
        on_disk: bool,
    ) -> Result<HistoryStore, StoreError> {
        let err = |e| db_error(&path, e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // First read of the file: fails with NOTADB for a non-database, before anything is written.
        let found = migrations::schema_version(&conn).map_err(err)?;
        if found > SCHEMA_VERSION {
            return Err(newer(&path, found, SCHEMA_VERSION));
        }
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(err)?;
        if on_disk {
            let mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .map_err(err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                // e.g. some network file systems: still correct, just less concurrent.
                tracing::warn!(path = %path.display(), mode, "history database could not switch to WAL mode");
            }
            // Safe with WAL: a power cut may lose the last call, never corrupt the file.
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(err)?;
        }
        match migrations::migrate(&mut conn) {
            Ok(_) => {}
            Err(MigrateError::Newer { found, known }) => return Err(newer(&path, found, known)),
            Err(MigrateError::Sql(e)) => return Err(err(e)),
        }
        let store = HistoryStore {
            conn: Mutex::new(conn),
            path,
        };
        if on_disk {
            store.close_interrupted(now_ms(), process_alive)?;
        }
        Ok(store)
    }

    /// Writes the row of a call that has just started (outcome `in_progress`, owned by this
    /// process; `call.outcome` is not used) and returns its id for [`progress`](Self::progress)
    /// and [`finish`](Self::finish). `call.ended_at_ms` is "last known alive": the start time.
    pub fn begin(&self, call: &NewCallRecord) -> Result<i64, StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO calls (direction, account, remote_uri, remote_display_name, started_at_ms,
                                answered_at_ms, ended_at_ms, outcome, sip_status, codec, end_reason,
                                routing, owner_pid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'in_progress', ?8, ?9, ?10, ?11, ?12)",
            params![
                call.direction.as_str(),
                call.account,
                call.remote_uri,
                call.remote_display_name,
                call.started_at_ms,
                call.answered_at_ms,
                call.ended_at_ms,
                call.sip_status,
                call.codec,
                call.end_reason,
                call.routing,
                std::process::id(),
            ],
        )
        .map_err(|e| self.error(e))?;
        Ok(conn.last_insert_rowid())
    }

    /// Updates a call in progress: answered (and when), codec, and "still alive at `now_ms`".
    /// Does nothing to a row that is no longer in progress.
    pub fn progress(
        &self,
        id: i64,
        answered_at_ms: Option<i64>,
        codec: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "UPDATE calls SET answered_at_ms = COALESCE(?2, answered_at_ms), codec = COALESCE(?3, codec),
                                  ended_at_ms = MAX(ended_at_ms, ?4)
                 WHERE id = ?1 AND outcome = 'in_progress'",
                params![id, answered_at_ms, codec, now_ms],
            )
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Completes the row [`begin`](Self::begin) wrote with how the call ended.
    pub fn finish(&self, id: i64, call: &NewCallRecord) -> Result<(), StoreError> {
        if self.write_end(id, call)? == 0 {
            // The row is gone (the file was replaced meanwhile): keep the call all the same.
            let again = self.begin(call)?;
            self.write_end(again, call)?;
        }
        Ok(())
    }

    /// Writes how a call ended into row `id`; returns how many rows changed (0: no such row).
    fn write_end(&self, id: i64, call: &NewCallRecord) -> Result<usize, StoreError> {
        let q = call.quality.clone().unwrap_or_default();
        self.lock()
            .execute(
                "UPDATE calls SET answered_at_ms = ?2, ended_at_ms = ?3, outcome = ?4, sip_status = ?5,
                                  codec = ?6, end_reason = ?7, routing = ?8, has_quality = ?9, mos = ?10,
                                  packets_received = ?11, packets_lost = ?12, late_packets = ?13,
                                  concealed_frames = ?14, jitter_ms = ?15, rtt_ms = ?16,
                                  jitter_buffer_ms = ?17, owner_pid = NULL
                 WHERE id = ?1",
                params![
                    id,
                    call.answered_at_ms,
                    call.ended_at_ms,
                    call.outcome.as_str(),
                    call.sip_status,
                    call.codec,
                    call.end_reason,
                    call.routing,
                    call.quality.is_some(),
                    q.mos,
                    q.packets_received,
                    q.packets_lost,
                    q.late_packets,
                    q.concealed_frames,
                    q.jitter_ms,
                    q.rtt_ms,
                    q.jitter_buffer_ms,
                ],
            )
            .map_err(|e| self.error(e))
    }

    /// Marks `interrupted` every row still in progress whose program is gone: its process is not
    /// running (`alive`), is this very process (it has begun no call yet when the file opens), or
    /// has not said it is alive for [`STALE_AFTER_MS`] (a process id reused by another program).
    /// Returns how many rows were marked.
    pub fn close_interrupted(
        &self,
        now_ms: i64,
        alive: impl Fn(u32) -> bool,
    ) -> Result<usize, StoreError> {
        let conn = self.lock();
        let rows: Vec<(i64, Option<i64>, i64)> = {
            let mut stmt = conn
                .prepare(
                    "SELECT id, owner_pid, ended_at_ms FROM calls WHERE outcome = 'in_progress'",
                )
                .map_err(|e| self.error(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| self.error(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.error(e))?
        };
        let me = std::process::id();
        let mut marked = 0;
        for (id, owner, last_alive) in rows {
            let owner = owner.and_then(|p| u32::try_from(p).ok());
            let gone = match owner {
                None => true,
                Some(pid) if pid == me => true,
                Some(pid) => !alive(pid) || now_ms - last_alive > STALE_AFTER_MS,
            };
            if gone {
                marked += conn
                    .execute(
                        "UPDATE calls SET outcome = 'interrupted', owner_pid = NULL,
                                          end_reason = 'interrupted: Hookflash stopped during the call'
                         WHERE id = ?1 AND outcome = 'in_progress'",
                        [id],
                    )
                    .map_err(|e| self.error(e))?;
            }
        }
        Ok(marked)
    }

    /// The database file (or `:memory:`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores one finished call and returns its id (the row is begun and completed at once).
    pub fn record(&self, call: &NewCallRecord) -> Result<i64, StoreError> {
        let id = self.begin(call)?;
        self.write_end(id, call)?;
        Ok(id)
    }

    /// The `limit` most recent calls, newest (latest start) first; ties broken by newest row.
    pub fn recent(&self, limit: usize) -> Result<Vec<CallRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM calls WHERE outcome != 'in_progress'
                 ORDER BY started_at_ms DESC, id DESC LIMIT ?1"
            ))
            .map_err(|e| self.error(e))?;
        let rows = stmt
            .query_map([limit], read_row)
            .map_err(|e| self.error(e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(self.decode(row.map_err(|e| self.error(e))?)?);
        }
        Ok(out)
    }

    /// One call by id, or `None` if there is no such row.
    pub fn get(&self, id: i64) -> Result<Option<CallRecord>, StoreError> {
        let conn = self.lock();
        let raw = conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM calls WHERE id = ?1 AND outcome != 'in_progress'"),
                [id],
                read_row,
            )
            .optional()
            .map_err(|e| self.error(e))?;
        raw.map(|r| self.decode(r)).transpose()
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere while holding the lock leaves the connection itself intact.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn error(&self, e: rusqlite::Error) -> StoreError {
        db_error(&self.path, e)
    }

    fn decode(&self, raw: RawRow) -> Result<CallRecord, StoreError> {
        let bad = |column: &'static str, value: String| StoreError::BadRow {
            path: self.path.clone(),
            id: raw.id,
            column,
            value,
        };
        let direction: CallDirection = raw
            .direction
            .parse()
            .map_err(|_| bad("direction", raw.direction.clone()))?;
        let outcome: CallOutcome = raw
            .outcome
            .parse()
            .map_err(|_| bad("outcome", raw.outcome.clone()))?;
        let sip_status = raw
            .sip_status
            .map(|s| u16::try_from(s).map_err(|_| bad("sip_status", s.to_string())))
            .transpose()?;
        Ok(CallRecord {
            id: raw.id,
            direction,
            account: raw.account,
            remote_uri: raw.remote_uri,
            remote_display_name: raw.remote_display_name,
            started_at_ms: raw.started_at_ms,
            answered_at_ms: raw.answered_at_ms,
            ended_at_ms: raw.ended_at_ms,
            outcome,
            sip_status,
            codec: raw.codec,
            end_reason: raw.end_reason,
            routing: raw.routing,
            quality: raw.quality,
        })
    }
}

/// A row as SQLite returns it, before the enum columns are checked.
struct RawRow {
    id: i64,
    direction: String,
    account: String,
    remote_uri: String,
    remote_display_name: Option<String>,
    started_at_ms: i64,
    answered_at_ms: Option<i64>,
    ended_at_ms: i64,
    outcome: String,
    sip_status: Option<i64>,
    codec: Option<String>,
    end_reason: Option<String>,
    routing: Option<String>,
    quality: Option<CallQuality>,
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: r.get(0)?,
        direction: r.get(1)?,
        account: r.get(2)?,
        remote_uri: r.get(3)?,
        remote_display_name: r.get(4)?,
        started_at_ms: r.get(5)?,
        answered_at_ms: r.get(6)?,
        ended_at_ms: r.get(7)?,
        outcome: r.get(8)?,
        sip_status: r.get(9)?,
        codec: r.get(10)?,
        end_reason: r.get(11)?,
        routing: r.get(12)?,
        quality: if r.get::<_, bool>(13)? {
            Some(CallQuality {
                mos: r.get(14)?,
                packets_received: r.get(15)?,
                packets_lost: r.get(16)?,
                late_packets: r.get(17)?,
                concealed_frames: r.get(18)?,
                jitter_ms: r.get(19)?,
                rtt_ms: r.get(20)?,
                jitter_buffer_ms: r.get(21)?,
            })
        } else {
            None
        },
    })
}

fn newer(path: &Path, found: i64, known: i64) -> StoreError {
    StoreError::NewerSchema {
        path: path.to_path_buf(),
        found,
        known,
    }
}

/// Turns a SQLite error into the sentence for the user, by what it means rather than its code.
fn db_error(path: &Path, e: rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::NotADatabase { path }
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy { path },
        _ => StoreError::Database { path, source: e },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn call(n: i64) -> NewCallRecord {
        NewCallRecord {
            direction: if n % 2 == 0 {
                CallDirection::Incoming
            } else {
                CallDirection::Outgoing
            },
            account: "sip:alice@example.com".into(),
            remote_uri: format!("sip:{n}@example.com"),
            remote_display_name: Some(format!("Caller {n}")),
            started_at_ms: 1_700_000_000_000 + n * 1000,
            answered_at_ms: Some(1_700_000_000_000 + n * 1000 + 500),
            ended_at_ms: 1_700_000_000_000 + n * 1000 + 900,
            outcome: CallOutcome::Answered,
            sip_status: Some(200),
            codec: Some("opus".into()),
            end_reason: Some("remote hung up".into()),
            routing: None,
            quality: None,
        }
    }

    #[test]
    fn routing_and_quality_round_trip() {
        let store = HistoryStore::open_in_memory().unwrap();
        let mut c = call(4);
        c.routing = Some("queue call (To names queue `sales`) from 100: reject_busy (486 Busy Here) by default #7".into());
        c.quality = Some(CallQuality {
            mos: Some(4.21),
            packets_received: 1500,
            packets_lost: 12,
            late_packets: 3,
            concealed_frames: 15,
            jitter_ms: Some(4.5),
            rtt_ms: None,
            jitter_buffer_ms: Some(42.0),
        });
        let id = store.record(&c).unwrap();
        assert_eq!(
            store.get(id).unwrap().unwrap(),
            CallRecord::from_new(id, c.clone())
        );
        // Zero counters are still "measured"; no quality at all stays None.
        c.quality = Some(CallQuality::default());
        let id = store.record(&c).unwrap();
        assert_eq!(
            store.get(id).unwrap().unwrap().quality,
            Some(CallQuality::default())
        );
        c.quality = None;
        c.routing = None;
        let id = store.record(&c).unwrap();
        let back = store.get(id).unwrap().unwrap();
        assert_eq!((back.quality, back.routing), (None, None));
    }

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn a_call_row_is_written_at_the_start_and_completed_at_the_end() {
        let store = HistoryStore::open_in_memory().unwrap();
        let mut c = call(1);
        c.answered_at_ms = None;
        c.ended_at_ms = c.started_at_ms;
        let id = store.begin(&c).unwrap();
        // In progress: not in the history lists yet.
        assert!(store.recent(10).unwrap().is_empty());
        assert_eq!(store.get(id).unwrap(), None);
        store
            .progress(
                id,
                Some(c.started_at_ms + 500),
                Some("opus"),
                c.started_at_ms + 60_000,
            )
            .unwrap();
        let done = call(1);
        store.finish(id, &done).unwrap();
        assert_eq!(
            store.recent(10).unwrap(),
            vec![CallRecord::from_new(id, done)]
        );
        // A late progress report changes nothing once the call is finished.
        store.progress(id, Some(1), Some("pcmu"), i64::MAX).unwrap();
        assert_eq!(
            store.get(id).unwrap().unwrap().codec.as_deref(),
            Some("opus")
        );
    }

    #[test]
    fn rows_of_a_program_that_died_mid_call_become_interrupted() {
        let store = HistoryStore::open_in_memory().unwrap();
        let now = 1_700_000_100_000;
        let begin = |pid: Option<i64>, last_alive: i64| {
            let mut c = call(2);
            c.answered_at_ms = Some(c.started_at_ms + 100);
            c.ended_at_ms = last_alive;
            let id = store.begin(&c).unwrap();
            store
                .lock()
                .execute(
                    "UPDATE calls SET owner_pid = ?2 WHERE id = ?1",
                    params![id, pid],
                )
                .unwrap();
            id
        };
        let dead = begin(Some(4_000_001), now - 1_000);
        let alive = begin(Some(4_000_002), now - 1_000);
        let alive_but_silent = begin(Some(4_000_002), now - STALE_AFTER_MS - 1);
        let mine = begin(Some(i64::from(std::process::id())), now - 1_000);
        let marked = store
            .close_interrupted(now, |pid| pid == 4_000_002)
            .unwrap();
        assert_eq!(marked, 3);
        for id in [dead, alive_but_silent, mine] {
            let row = store.get(id).unwrap().unwrap();
            assert_eq!(row.outcome, CallOutcome::Interrupted);
            assert!(
                row.end_reason
                    .as_deref()
                    .unwrap_or_default()
                    .contains("interrupted"),
                "{row:?}"
            );
            assert!(
                row.answered_at_ms.is_some(),
                "what was known is kept: {row:?}"
            );
        }
        assert_eq!(
            store.get(alive).unwrap(),
            None,
            "another running program's call stays in progress"
        );
    }

    #[test]
    fn opening_the_file_closes_the_calls_of_a_dead_program() {
        let dir =
            std::env::temp_dir().join(format!("hf-history-interrupted-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("history.sqlite3");
        let id = {
            let store = HistoryStore::open(&path).unwrap();
            let id = store.begin(&call(3)).unwrap();
            // As if written by a program that has gone since (no process has this id).
            store
                .lock()
                .execute(
                    "UPDATE calls SET owner_pid = ?2 WHERE id = ?1",
                    params![id, 4_000_003i64],
                )
                .unwrap();
            id
        };
        if cfg!(target_os = "linux") {
            let store = HistoryStore::open(&path).unwrap();
            assert_eq!(
                store.get(id).unwrap().unwrap().outcome,
                CallOutcome::Interrupted
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn store_is_send_and_sync() {
        assert_send_sync::<HistoryStore>();
    }

    #[test]
    fn connection_settings_are_applied() {
        let dir = tempfile::tempdir().unwrap();
        for store in [
            HistoryStore::open_in_memory().unwrap(),
            HistoryStore::open(&dir.path().join("h.sqlite3")).unwrap(),
        ] {
            let conn = store.lock();
            let pragma = |name: &str| -> i64 {
                conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                    .unwrap()
            };
            assert_eq!(pragma("foreign_keys"), 1, "{:?}", store.path());
            assert_eq!(pragma("busy_timeout"), BUSY_TIMEOUT.as_millis() as i64);
            assert_eq!(pragma("user_version"), SCHEMA_VERSION);
        }
    }

    #[test]
    fn round_trip_every_field_and_outcome() {
        let store = HistoryStore::open_in_memory().unwrap();
        let mut recorded = Vec::new();
        for (i, outcome) in CallOutcome::ALL.into_iter().enumerate() {
            let mut c = call(i as i64);
            c.outcome = outcome;
            if outcome != CallOutcome::Answered {
                c.answered_at_ms = None;
                c.codec = None;
                c.sip_status = Some(487);
            }
            let id = store.record(&c).unwrap();
            recorded.push(CallRecord::from_new(id, c));
        }
        for r in &recorded {
            assert_eq!(store.get(r.id).unwrap().as_ref(), Some(r));
        }
        // All-optional-fields-empty record.
        let bare = NewCallRecord {
            routing: None,
            quality: None,
            direction: CallDirection::Incoming,
            account: String::new(),
            remote_uri: String::new(),
            remote_display_name: None,
            started_at_ms: -5,
            answered_at_ms: None,
            ended_at_ms: i64::MAX,
            outcome: CallOutcome::Missed,
            sip_status: Some(u16::MAX),
            codec: None,
            end_reason: None,
        };
        let id = store.record(&bare).unwrap();
        assert_eq!(store.get(id).unwrap(), Some(CallRecord::from_new(id, bare)));
    }

    #[test]
    fn text_comes_back_byte_exact() {
        let store = HistoryStore::open_in_memory().unwrap();
        let nasty = [
            "\"Bob\" <b>O'Brien</b>; DROP TABLE calls; --",
            "Zoë 📞 👨‍👩‍👧 \u{202E}evil",
            "tab\there\r\nnewline \\ backslash % _ ?1",
            "nul\0inside",
            "   ",
        ];
        for (i, text) in nasty.iter().enumerate() {
            let mut c = call(i as i64);
            c.remote_display_name = Some(text.to_string());
            c.remote_uri = format!("sip:{text}@example.com");
            c.end_reason = Some(text.to_string());
            c.codec = Some(text.to_string());
            let id = store.record(&c).unwrap();
            let back = store.get(id).unwrap().unwrap();
            assert_eq!(
                back.remote_display_name.as_deref().map(str::as_bytes),
                Some(text.as_bytes())
            );
            assert_eq!(back, CallRecord::from_new(id, c));
        }
        assert_eq!(store.recent(100).unwrap().len(), nasty.len());
    }

    #[test]
    fn recent_is_newest_first_and_limited() {
        let store = HistoryStore::open_in_memory().unwrap();
        // Recorded out of order on purpose: order must come from started_at_ms, not insertion.
        let order = [3, 0, 4, 1, 2];
        let mut ids = std::collections::HashMap::new();
        for n in order {
            ids.insert(n, store.record(&call(n)).unwrap());
        }
        let got: Vec<i64> = store.recent(10).unwrap().iter().map(|r| r.id).collect();
        let want: Vec<i64> = [4, 3, 2, 1, 0].iter().map(|n| ids[n]).collect();
        assert_eq!(got, want);
        let top2: Vec<i64> = store.recent(2).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(top2, want[..2]);
        assert!(store.recent(0).unwrap().is_empty());
        assert_eq!(store.recent(usize::MAX).unwrap().len(), 5);
        // Same start time: the later row comes first.
        let a = store.record(&call(9)).unwrap();
        let b = store.record(&call(9)).unwrap();
        let top: Vec<i64> = store.recent(2).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(top, vec![b, a]);
    }

    #[test]
    fn get_missing_is_none() {
        let store = HistoryStore::open_in_memory().unwrap();
        assert_eq!(store.get(42).unwrap(), None);
        let id = store.record(&call(1)).unwrap();
        assert!(store.get(id).unwrap().is_some());
        assert_eq!(store.get(id + 1).unwrap(), None);
    }

    #[test]
    fn unknown_stored_value_is_a_clear_error_not_a_panic() {
        let store = HistoryStore::open_in_memory().unwrap();
        let id = store.record(&call(1)).unwrap();
        // Simulate a row from a foreign writer: bypass the CHECK by rebuilding without it.
        {
            let conn = store.lock();
            conn.execute_batch(
                "PRAGMA ignore_check_constraints = ON;
                 UPDATE calls SET outcome = 'voicemail';
                 PRAGMA ignore_check_constraints = OFF;",
            )
            .unwrap();
        }
        let err = store.get(id).unwrap_err();
        assert!(
            err.to_string().contains(&format!(
                "call record {id} with an unknown outcome value \"voicemail\""
            )),
            "{err}"
        );
        assert!(store.recent(5).is_err());
    }

    #[test]
    fn shared_store_two_threads() {
        let store = Arc::new(HistoryStore::open_in_memory().unwrap());
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    (0..100)
                        .map(|i| store.record(&call(t * 1000 + i)).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut ids: Vec<i64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 200);
        assert_eq!(store.recent(1000).unwrap().len(), 200);
    }
}
