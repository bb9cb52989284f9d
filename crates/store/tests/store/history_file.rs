//! The history database as a real file: creation, WAL, reopening, refusal of foreign or newer
//! files without touching them, and several writers at once.

use hookflash_store::{
    CallDirection, CallOutcome, CallRecord, HistoryStore, NewCallRecord, StoreError, SCHEMA_VERSION,
};
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Barrier};

fn call(n: i64, who: &str) -> NewCallRecord {
    NewCallRecord {
        direction: CallDirection::Incoming,
        account: "sip:alice@example.com".into(),
        remote_uri: format!("sip:{who}-{n}@example.com"),
        remote_display_name: Some(format!("\"{who}\" №{n} 🎧")),
        started_at_ms: 1_700_000_000_000 + n,
        answered_at_ms: None,
        ended_at_ms: 1_700_000_000_000 + n + 30_000,
        outcome: CallOutcome::Missed,
        sip_status: Some(487),
        codec: None,
        end_reason: Some("caller hung up".into()),
        routing: None,
        quality: None,
    }
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn open_creates_parent_folders_and_uses_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/history.sqlite3");
    let store = HistoryStore::open(&path).unwrap();
    assert!(path.is_file());
    assert_eq!(store.path(), path);
    store.record(&call(1, "x")).unwrap();

    let other = Connection::open(&path).unwrap();
    let mode: String = other
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(dir.path().join("a/b/c/history.sqlite3-wal").exists());
    assert_eq!(user_version(&path), SCHEMA_VERSION);
}

#[test]
fn reopening_keeps_rows_and_does_not_migrate_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let first = call(1, "keep");
    let id = {
        let store = HistoryStore::open(&path).unwrap();
        store.record(&first).unwrap()
    };
    for _ in 0..3 {
        let store = HistoryStore::open(&path).unwrap();
        assert_eq!(
            store.get(id).unwrap(),
            Some(CallRecord::from_new(id, first.clone()))
        );
        assert_eq!(store.recent(10).unwrap().len(), 1);
        assert_eq!(user_version(&path), SCHEMA_VERSION);
    }
    let tables: i64 = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'calls'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let content: Vec<u8> = b"these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &content).unwrap();

    let err = HistoryStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "history database {} is not a readable SQLite database",
            path.display()
        )),
        "{msg}"
    );
    assert!(msg.contains("move it aside"), "{msg}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        content,
        "file must be untouched"
    );
    assert!(!dir.path().join("history.sqlite3-wal").exists());
}

#[test]
fn a_damaged_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    {
        let store = HistoryStore::open(&path).unwrap();
        for n in 0..50 {
            store.record(&call(n, "damage")).unwrap();
        }
    }
    // Checkpointed and closed; now scribble over everything after the 100-byte header.
    let mut bytes = std::fs::read(&path).unwrap();
    for b in bytes.iter_mut().skip(100) {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    match HistoryStore::open(&path) {
        Err(StoreError::NotADatabase { .. }) => {}
        Err(other) => panic!("expected NotADatabase, got {other:?} ({other})"),
        Ok(store) => {
            // Some damage is only found when the pages are read; it must still be an error.
            let err = store.recent(100).unwrap_err();
            assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
        }
    }
}

#[test]
fn a_database_from_a_newer_hookflash_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    {
        let store = HistoryStore::open(&path).unwrap();
        store.record(&call(1, "future")).unwrap();
    }
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 7; CREATE TABLE future_stuff (x);")
            .unwrap();
    }
    let err = HistoryStore::open(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "history database {} is from a newer Hookflash (schema 7, this build knows {SCHEMA_VERSION}); \
             update Hookflash or use another history file",
            path.display()
        )
    );
    assert_eq!(user_version(&path), 7);
    let rows: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM calls", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "data must survive");
}

#[test]
fn an_unwritable_location_gives_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let err = HistoryStore::open(&blocker.join("history.sqlite3")).unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "could not create the folder {} for the call history",
            blocker.display()
        )),
        "{err}"
    );
}

#[test]
fn two_threads_with_their_own_connections_write_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("history.sqlite3"));
    let per_thread = 150;
    // Both open (and so migrate) the brand-new file at the same moment.
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = ["left", "right"]
        .into_iter()
        .map(|who| {
            let path = Arc::clone(&path);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let store = HistoryStore::open(&path).unwrap();
                barrier.wait();
                let mut ids = Vec::new();
                for n in 0..per_thread {
                    ids.push(store.record(&call(n, who)).unwrap());
                    if n % 25 == 0 {
                        store.recent(5).unwrap(); // readers interleaved with the other writer
                    }
                }
                ids
            })
        })
        .collect();
    let mut ids: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2 * per_thread as usize);

    let store = HistoryStore::open(&path).unwrap();
    let all = store.recent(10_000).unwrap();
    assert_eq!(all.len(), 2 * per_thread as usize);
    for who in ["left", "right"] {
        let mine = all
            .iter()
            .filter(|r| r.remote_uri.starts_with(&format!("sip:{who}-")))
            .count();
        assert_eq!(mine, per_thread as usize, "{who}");
    }
    assert_eq!(user_version(&path), SCHEMA_VERSION);
}
