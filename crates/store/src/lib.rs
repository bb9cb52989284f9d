//! hookflash-store: what Hookflash keeps on the user's machine.
//!
//! - [`HistoryStore`] (history.rs): the call history, one SQLite row per finished call;
//!   its schema steps live in migrations.rs.
//! - [`get_password`] / [`set_password`] / [`delete_password`] (secrets.rs): account passwords in
//!   the OS keyring, service `"hookflash"`, user = the account AOR.
//! - [`default_history_path`] (paths.rs): where the history lives unless configured otherwise.

mod call_record;
mod error;
mod history;
mod migrations;
mod paths;
mod secrets;

pub use call_record::{
    CallDirection, CallOutcome, CallQuality, CallRecord, NewCallRecord, UnknownValue,
};
pub use error::StoreError;
pub use history::{HistoryStore, BUSY_TIMEOUT, STALE_AFTER_MS};
pub use migrations::SCHEMA_VERSION;
pub use paths::{default_history_path, HISTORY_FILE_NAME};
pub use secrets::{
    delete_password, get_password, set_password, use_in_memory_keyring, KEYRING_SERVICE,
};
