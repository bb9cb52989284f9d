//! Opening the call history so that a bad file never stops the phone: calls matter more than their
//! record. A file that is not a history database (corrupt, or something else) is kept aside under
//! a new name and a fresh history starts in its place; a file from a newer Hookflash is left
//! untouched and this version keeps its calls in a file beside it; a file that cannot be opened at
//! all (permissions, a full disk) gives a history kept in memory for this session. Each case comes
//! with the sentence the user reads, naming the files.

use hookflash_store::{HistoryStore, StoreError, SCHEMA_VERSION};
use std::path::{Path, PathBuf};

/// The history to use, and the warning for the user if it is not the file that was asked for.
pub(crate) fn open(path: &Path, now_unix_secs: i64) -> (HistoryStore, Option<String>) {
    let shown = path.display();
    match HistoryStore::open(path) {
        Ok(store) => (store, None),
        Err(StoreError::NotADatabase { .. }) => {
            let aside = aside_name(path, now_unix_secs);
            match move_aside(path, &aside) {
                Ok(()) => match HistoryStore::open(path) {
                    Ok(store) => (
                        store,
                        Some(format!(
                            "the call history {shown} could not be read (it is not a history database): it was kept as {} and a new history started",
                            aside.display()
                        )),
                    ),
                    Err(e) => in_memory(path, &e),
                },
                Err(e) => in_memory(path, &format!("it is not a history database and could not be moved aside: {e}")),
            }
        }
        Err(e @ StoreError::NewerSchema { .. }) => {
            let beside = beside_name(path);
            match HistoryStore::open(&beside) {
                Ok(store) => (
                    store,
                    Some(format!(
                        "{e}: it is left untouched, and this version keeps calls in {}",
                        beside.display()
                    )),
                ),
                Err(e2) => in_memory(path, &format!("{e}; {e2}")),
            }
        }
        Err(e) => in_memory(path, &e),
    }
}

fn in_memory(path: &Path, why: &dyn std::fmt::Display) -> (HistoryStore, Option<String>) {
    let store = HistoryStore::open_in_memory().expect("an in-memory SQLite database always opens");
    (
        store,
        Some(format!(
            "the call history {} cannot be used ({why}): calls of this session are not kept",
            path.display()
        )),
    )
}

/// `history.sqlite3` → `history.sqlite3.unreadable-<unix seconds>`.
fn aside_name(path: &Path, now_unix_secs: i64) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".unreadable-{now_unix_secs}"));
    path.with_file_name(name)
}

/// `history.sqlite3` → `history.schema-3.sqlite3` (this build's schema): the same file on every
/// start while this version runs, so its calls stay together.
fn beside_name(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}.schema-{SCHEMA_VERSION}{ext}"))
}

/// Moves the file and its SQLite companions (`-wal`, `-shm`) aside together.
fn move_aside(path: &Path, aside: &Path) -> std::io::Result<()> {
    std::fs::rename(path, aside)?;
    for suffix in ["-wal", "-shm"] {
        let mut from = path.as_os_str().to_os_string();
        from.push(suffix);
        let mut to = aside.as_os_str().to_os_string();
        to.push(suffix);
        if Path::new(&from).exists() {
            let _ = std::fs::rename(&from, &to);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hf-history-file-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_good_file_is_used_without_a_word() {
        let d = dir("good");
        let (_, warning) = open(&d.join("history.sqlite3"), 1);
        assert_eq!(warning, None);
    }

    #[test]
    fn a_corrupt_file_is_kept_aside_and_a_fresh_history_starts() {
        let d = dir("corrupt");
        let path = d.join("history.sqlite3");
        std::fs::write(
            &path,
            b"this is not SQLite at all, just some bytes that got here",
        )
        .unwrap();
        let (store, warning) = open(&path, 1_700_000_000);
        let warning = warning.unwrap();
        let aside = d.join("history.sqlite3.unreadable-1700000000");
        assert!(
            warning.contains(&path.display().to_string())
                && warning.contains(&aside.display().to_string()),
            "{warning}"
        );
        assert_eq!(
            std::fs::read(&aside).unwrap(),
            b"this is not SQLite at all, just some bytes that got here"
        );
        assert_eq!(store.path(), path);
        assert!(store.recent(1).unwrap().is_empty());
        // The next start finds a good file: no warning.
        drop(store);
        assert_eq!(open(&path, 1_700_000_100).1, None);
    }

    #[test]
    fn a_newer_file_is_left_alone_and_calls_go_beside_it() {
        let d = dir("newer");
        let path = d.join("history.sqlite3");
        make_newer_file(&path);
        let before = std::fs::read(&path).unwrap();
        let (store, warning) = open(&path, 1);
        let warning = warning.unwrap();
        let beside = d.join(format!("history.schema-{SCHEMA_VERSION}.sqlite3"));
        assert!(
            warning.contains("newer Hookflash") && warning.contains(&beside.display().to_string()),
            "{warning}"
        );
        assert_eq!(store.path(), beside);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the newer file is untouched"
        );
    }

    /// A history file as a newer Hookflash leaves it: made by this build, closed, then its schema
    /// version raised (SQLite keeps `user_version` as a big-endian u32 at byte 60 of the file).
    fn make_newer_file(path: &Path) {
        drop(HistoryStore::open(path).unwrap());
        let mut bytes = std::fs::read(path).unwrap();
        bytes[60..64].copy_from_slice(&((SCHEMA_VERSION as u32) + 5).to_be_bytes());
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn a_history_that_cannot_be_opened_is_kept_in_memory_with_the_reason() {
        let d = dir("blocked");
        // A folder where the file should be: SQLite cannot open it.
        let path = d.join("history.sqlite3");
        std::fs::create_dir_all(&path).unwrap();
        let (store, warning) = open(&path, 1);
        assert!(warning
            .unwrap()
            .contains("calls of this session are not kept"));
        assert_eq!(store.path(), Path::new(":memory:"));
    }
}
