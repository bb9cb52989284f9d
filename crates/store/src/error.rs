//! `StoreError`: every way the history database or the keyring can fail, each with the sentence a
//! user reads. No variant ever carries a password (not even the bytes of a badly encoded one).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The folder for the history file could not be created.
    #[error("could not create the folder {} for the call history: {source}", .dir.display())]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file exists but is not a SQLite database (or is damaged). It is left untouched.
    #[error(
        "history database {} is not a readable SQLite database (damaged, or not a database at all); \
         it was left untouched: move it aside and Hookflash will start a new history",
        .path.display()
    )]
    NotADatabase { path: PathBuf },

    /// The database was written by a newer Hookflash whose schema this build does not know.
    #[error(
        "history database {} is from a newer Hookflash (schema {found}, this build knows {known}); \
         update Hookflash or use another history file",
        .path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    /// Another process held the database locked for longer than the busy timeout.
    #[error(
        "history database {} stayed locked by another program for too long (is another Hookflash running?)",
        .path.display()
    )]
    Busy { path: PathBuf },

    /// A stored row holds a value this build cannot understand.
    #[error("history database {} has a call record {id} with an unknown {column} value {value:?}", .path.display())]
    BadRow {
        path: PathBuf,
        id: i64,
        column: &'static str,
        value: String,
    },

    /// Any other SQLite failure (disk full, read-only file...), with SQLite's own words.
    #[error("history database {}: {source}", .path.display())]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// No OS keyring could be reached.
    #[error(
        "no keyring service available (is gnome-keyring or another Secret Service running?): {detail}"
    )]
    KeyringUnavailable { detail: String },

    /// The keyring exists but is locked, has no default collection, or refused access.
    #[error(
        "the keyring is locked or has no default keyring, so the password of {account} cannot be used; \
         unlock it (log in to your desktop session, or create/unlock the \"Login\" keyring in \
         Passwords and Keys / seahorse) and try again: {detail}"
    )]
    KeyringLocked { account: String, detail: String },

    /// Several keyring items match service "hookflash" and this account.
    #[error(
        "the keyring holds {count} passwords for {account} (service \"hookflash\"); \
         delete the extra ones (e.g. with seahorse) and try again"
    )]
    KeyringAmbiguous { account: String, count: usize },

    /// The stored password is not valid UTF-8 text.
    #[error("the password stored in the keyring for {account} is not valid text; set it again")]
    KeyringBadPassword { account: String },

    /// The keyring refused the request (account name too long, invalid value...).
    #[error("the keyring refused the password of {account}: {detail}")]
    KeyringRejected { account: String, detail: String },

    /// Any other keyring failure.
    #[error("keyring error for {account}: {detail}")]
    Keyring { account: String, detail: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_threads_and_read_as_sentences() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<StoreError>();
        let e = StoreError::NewerSchema {
            path: PathBuf::from("/x"),
            found: 7,
            known: 1,
        };
        assert_eq!(
            e.to_string(),
            "history database /x is from a newer Hookflash (schema 7, this build knows 1); \
             update Hookflash or use another history file"
        );
    }
}
