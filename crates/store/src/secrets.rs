//! Account passwords in the OS keyring: service `"hookflash"`, user = the account AOR.
//!
//! Backends (via the keyring-rs crates, see Cargo.toml): the Secret Service over D-Bus on Linux and
//! the BSDs (gnome-keyring, KWallet, KeePassXC), the Keychain on macOS, the Credential Manager on
//! Windows. The connection is made on first use and kept; if it cannot be made, or breaks later
//! (keyring daemon restarted), the next call tries again, so a keyring that comes up after
//! Hookflash still works without a restart.
//!
//! Passwords are never logged and never part of an error: not even the bytes of a stored password
//! that is not valid UTF-8. Calls block on D-Bus round trips (milliseconds, but a keyring prompt on
//! a desktop can wait for the user): from async code use `spawn_blocking`.

use crate::error::StoreError;
use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use std::sync::{Arc, Mutex};

/// The keyring "service" every Hookflash password is filed under.
pub const KEYRING_SERVICE: &str = "hookflash";

/// The account's password, or `None` if the keyring holds none for it.
pub fn get_password(account: &str) -> Result<Option<String>, StoreError> {
    KEYRING.get(account)
}

/// Stores (or replaces) the account's password.
pub fn set_password(account: &str, password: &str) -> Result<(), StoreError> {
    KEYRING.set(account, password)
}

/// Removes the account's password. Removing a password that is not there is not an error.
pub fn delete_password(account: &str) -> Result<(), StoreError> {
    KEYRING.delete(account)
}

/// Switches this process to a keyring kept in memory only (nothing reaches the OS keyring, all is
/// forgotten at exit). For tests of code that reads passwords, and for machines without a keyring.
pub fn use_in_memory_keyring() {
    let store: Arc<CredentialStore> =
        keyring_core::mock::Store::new().expect("creating the in-memory keyring cannot fail");
    KEYRING.pin(store);
}

static KEYRING: Keyring = Keyring::new(connect_platform_store);

/// Connects to this platform's keyring.
fn connect_platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    #[cfg(target_os = "macos")]
    let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
    #[cfg(target_os = "windows")]
    let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
    #[cfg(not(any(
        target_os = "macos",
        target_os = "windows",
        all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android"))
        )
    )))]
    let store: Arc<CredentialStore> = {
        return Err(KeyringError::NotSupportedByStore(
            "this platform has no supported keyring".to_string(),
        ));
    };
    Ok(store)
}

/// A lazily made, remade-on-failure connection to a credential store.
struct Keyring {
    connect: fn() -> keyring_core::Result<Arc<CredentialStore>>,
    slot: Mutex<Slot>,
}

struct Slot {
    store: Option<Arc<CredentialStore>>,
    /// Installed explicitly (`use_in_memory_keyring`): never dropped for a reconnect.
    pinned: bool,
}

impl Keyring {
    const fn new(connect: fn() -> keyring_core::Result<Arc<CredentialStore>>) -> Keyring {
        Keyring {
            connect,
            slot: Mutex::new(Slot {
                store: None,
                pinned: false,
            }),
        }
    }

    fn get(&self, account: &str) -> Result<Option<String>, StoreError> {
        self.with_entry(account, |entry| match entry.get_password() {
            Ok(password) => Ok(Some(password)),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
    }

    fn set(&self, account: &str, password: &str) -> Result<(), StoreError> {
        self.with_entry(account, |entry| entry.set_password(password))
    }

    fn delete(&self, account: &str) -> Result<(), StoreError> {
        self.with_entry(account, |entry| match entry.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(e),
        })
    }

    /// Runs `op` on the account's entry; after a platform failure, reconnects and tries once more.
    fn with_entry<T>(
        &self,
        account: &str,
        op: impl Fn(&Entry) -> keyring_core::Result<T>,
    ) -> Result<T, StoreError> {
        if account.trim().is_empty() {
            return Err(StoreError::KeyringRejected {
                account: account.to_string(),
                detail: "the account address is empty".to_string(),
            });
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let store = self.store()?;
            let result = store
                .build(KEYRING_SERVICE, account, None)
                .and_then(|entry| op(&entry));
            match result {
                Ok(value) => return Ok(value),
                Err(KeyringError::PlatformFailure(e)) if attempt == 1 => {
                    tracing::warn!(account, error = %e, "keyring call failed; reconnecting once");
                    self.forget(&store);
                }
                Err(e) => return Err(keyring_error(account, e)),
            }
        }
    }

    /// The connected store, connecting now if there is none yet.
    fn store(&self) -> Result<Arc<CredentialStore>, StoreError> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(store) = slot.store.as_ref() {
            return Ok(Arc::clone(store));
        }
        let store = (self.connect)().map_err(unavailable)?;
        slot.store = Some(Arc::clone(&store));
        Ok(store)
    }

    /// Drops `failed` so the next call reconnects (unless someone already replaced it).
    fn forget(&self, failed: &Arc<CredentialStore>) {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if !slot.pinned && slot.store.as_ref().is_some_and(|s| Arc::ptr_eq(s, failed)) {
            slot.store = None;
        }
    }

    /// Uses `store` from now on, for good.
    fn pin(&self, store: Arc<CredentialStore>) {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        slot.store = Some(store);
        slot.pinned = true;
    }
}

/// Why the keyring could not be reached at all.
fn unavailable(e: KeyringError) -> StoreError {
    StoreError::KeyringUnavailable {
        detail: describe(&e),
    }
}

/// The part of a keyring error worth showing; never includes secret bytes.
fn describe(e: &KeyringError) -> String {
    match e {
        KeyringError::PlatformFailure(inner) | KeyringError::NoStorageAccess(inner) => {
            inner.to_string()
        }
        KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(..) => {
            "the stored password is not valid text".to_string()
        }
        KeyringError::NoEntry => "no such password".to_string(),
        KeyringError::BadStoreFormat(reason) => {
            format!("the keyring's data is malformed: {reason}")
        }
        KeyringError::TooLong(what, limit) => {
            format!("{what} is longer than the keyring's limit of {limit}")
        }
        KeyringError::Invalid(what, reason) => format!("invalid {what}: {reason}"),
        KeyringError::Ambiguous(items) => format!("{} matching passwords", items.len()),
        KeyringError::NoDefaultStore => "no keyring is configured".to_string(),
        KeyringError::NotSupportedByStore(what) => format!("not supported by this keyring: {what}"),
        _ => "unexpected keyring error".to_string(),
    }
}

/// Maps a keyring error on `account`'s entry to the sentence the user reads.
fn keyring_error(account: &str, e: KeyringError) -> StoreError {
    let account = account.to_string();
    match e {
        KeyringError::NoStorageAccess(_) => StoreError::KeyringLocked {
            detail: describe(&e),
            account,
        },
        KeyringError::Ambiguous(ref items) => StoreError::KeyringAmbiguous {
            count: items.len(),
            account,
        },
        KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(..) => {
            StoreError::KeyringBadPassword { account }
        }
        KeyringError::TooLong(..) | KeyringError::Invalid(..) => StoreError::KeyringRejected {
            detail: describe(&e),
            account,
        },
        KeyringError::NoDefaultStore => unavailable(e),
        _ => StoreError::Keyring {
            detail: describe(&e),
            account,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyring_core::mock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const AOR: &str = "sip:alice@example.com";
    const SECRET: &str = "hunter2-S3cr3t!";

    fn mock_keyring() -> Keyring {
        let k = Keyring::new(|| Err(KeyringError::NoDefaultStore));
        k.pin(mock::Store::new().unwrap());
        k
    }

    /// Makes the next call on `account`'s entry fail with `err`.
    fn fail_next(k: &Keyring, account: &str, err: KeyringError) {
        let store = k.store().unwrap();
        let entry = store.build(KEYRING_SERVICE, account, None).unwrap();
        let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
        cred.set_error(err);
    }

    fn assert_no_secret(err: &StoreError) {
        let shown = format!("{err} / {err:?}");
        assert!(!shown.contains(SECRET), "password leaked: {shown}");
        assert!(
            !shown.contains("104, 117, 110"),
            "password bytes leaked: {shown}"
        );
    }

    #[test]
    fn set_get_overwrite_delete() {
        let k = mock_keyring();
        assert_eq!(k.get(AOR).unwrap(), None);
        k.set(AOR, SECRET).unwrap();
        assert_eq!(k.get(AOR).unwrap().as_deref(), Some(SECRET));
        k.set(AOR, "second").unwrap();
        assert_eq!(k.get(AOR).unwrap().as_deref(), Some("second"));
        assert_eq!(
            k.get("sip:bob@example.com").unwrap(),
            None,
            "other account untouched"
        );
        k.delete(AOR).unwrap();
        assert_eq!(k.get(AOR).unwrap(), None);
        k.delete(AOR).expect("deleting a missing password is fine");
    }

    #[test]
    fn empty_account_is_refused_with_a_sentence() {
        let k = mock_keyring();
        let err = k.set("  ", SECRET).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the keyring refused the password of   : the account address is empty"
        );
        assert_no_secret(&err);
    }

    #[test]
    fn no_service_says_what_to_do() {
        let k = Keyring::new(|| {
            Err(KeyringError::PlatformFailure(
                "org.freedesktop.DBus.Error.ServiceUnknown".into(),
            ))
        });
        let err = k.get(AOR).unwrap_err();
        assert!(
            matches!(err, StoreError::KeyringUnavailable { .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "no keyring service available (is gnome-keyring or another Secret Service running?): \
             org.freedesktop.DBus.Error.ServiceUnknown"
        );
        let err = k.set(AOR, SECRET).unwrap_err();
        assert_no_secret(&err);
    }

    #[test]
    fn connection_is_retried_until_it_works_then_kept() {
        static CONNECTS: AtomicUsize = AtomicUsize::new(0);
        let k = Keyring::new(|| {
            if CONNECTS.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(KeyringError::PlatformFailure("daemon not up yet".into()))
            } else {
                mock::Store::new().map(|s| s as Arc<CredentialStore>)
            }
        });
        assert!(k.get(AOR).is_err());
        assert!(k.get(AOR).is_err());
        assert_eq!(k.get(AOR).unwrap(), None);
        k.set(AOR, SECRET).unwrap();
        assert_eq!(k.get(AOR).unwrap().as_deref(), Some(SECRET));
        assert_eq!(
            CONNECTS.load(Ordering::SeqCst),
            3,
            "kept after the first success"
        );
    }

    #[test]
    fn a_platform_failure_reconnects_once() {
        static CONNECTS: AtomicUsize = AtomicUsize::new(0);
        let k = Keyring::new(|| {
            CONNECTS.fetch_add(1, Ordering::SeqCst);
            mock::Store::new().map(|s| s as Arc<CredentialStore>)
        });
        assert_eq!(k.get(AOR).unwrap(), None);
        fail_next(
            &k,
            AOR,
            KeyringError::PlatformFailure("connection reset".into()),
        );
        // The failed call is retried on a fresh connection (a fresh mock: empty) and succeeds.
        assert_eq!(k.get(AOR).unwrap(), None);
        assert_eq!(CONNECTS.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_pinned_store_is_never_swapped_for_the_platform_one() {
        let k = mock_keyring(); // its `connect` would fail
        k.set(AOR, SECRET).unwrap();
        fail_next(&k, AOR, KeyringError::PlatformFailure("injected".into()));
        // Retried once on the same store (reconnecting would call `connect`, which fails).
        assert_eq!(k.get(AOR).unwrap().as_deref(), Some(SECRET));
        fail_next(&k, AOR, KeyringError::PlatformFailure("injected".into()));
        k.set(AOR, "new").unwrap();
        assert_eq!(k.get(AOR).unwrap().as_deref(), Some("new"));
    }

    #[test]
    fn locked_keyring_is_reported_as_locked() {
        let k = mock_keyring();
        fail_next(
            &k,
            AOR,
            KeyringError::NoStorageAccess("SS Error: object locked".into()),
        );
        let err = k.get(AOR).unwrap_err();
        assert!(matches!(err, StoreError::KeyringLocked { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with("the keyring is locked"),
            "{err}"
        );
        assert!(err.to_string().contains(AOR), "{err}");
    }

    #[test]
    fn bad_stored_bytes_never_show_up_in_errors() {
        let k = mock_keyring();
        fail_next(
            &k,
            AOR,
            KeyringError::BadEncoding(SECRET.as_bytes().to_vec()),
        );
        let err = k.get(AOR).unwrap_err();
        assert!(
            matches!(err, StoreError::KeyringBadPassword { .. }),
            "{err:?}"
        );
        assert_no_secret(&err);
        fail_next(
            &k,
            AOR,
            KeyringError::BadDataFormat(SECRET.as_bytes().to_vec(), "bad padding".into()),
        );
        let err = k.get(AOR).unwrap_err();
        assert_no_secret(&err);
    }

    #[test]
    fn ambiguous_and_too_long_have_their_own_sentences() {
        let k = mock_keyring();
        fail_next(&k, AOR, KeyringError::Ambiguous(vec![]));
        let err = k.get(AOR).unwrap_err();
        assert!(err.to_string().contains("delete the extra ones"), "{err}");
        fail_next(&k, AOR, KeyringError::TooLong("user".into(), 255));
        let err = k.set(AOR, SECRET).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("the keyring refused the password of {AOR}: user is longer than the keyring's limit of 255")
        );
        assert_no_secret(&err);
    }
}
