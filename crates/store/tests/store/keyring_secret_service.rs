//! The keyring functions against a REAL Secret Service: a private D-Bus session bus and a private
//! gnome-keyring-daemon, both started by this test in a temporary folder (their own HOME, so the
//! user's real keyring is never touched), and killed at the end.
//!
//! Needs, on PATH: `dbus-daemon` (Debian package `dbus-daemon`), `dbus-send` (`dbus-bin`), and
//! `gnome-keyring-daemon` (`gnome-keyring`). No X display, no systemd, no existing session bus.
//!
//! The bus uses its own config with no service directories, so nothing is D-Bus-activated behind
//! the test's back: the "no keyring running" phase really has no keyring. gnome-keyring creates
//! the default ("login") collection only when `--unlock` is given a non-empty password on stdin;
//! with an empty one it starts but has no default collection, and storing fails.
//!
//! Everything runs in one #[test] because the bus address is process-wide state
//! (`DBUS_SESSION_BUS_ADDRESS`), read by the library when it (re)connects.
#![cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]

use hookflash_store::{delete_password, get_password, set_password, StoreError};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The throwaway password that creates and unlocks the private login keyring.
const LOGIN_PASSWORD: &str = "hookflash-test-login";

/// A D-Bus session bus of our own.
struct PrivateBus {
    child: Child,
    address: String,
}

impl PrivateBus {
    fn start(dir: &Path) -> PrivateBus {
        let socket = dir.join("bus");
        let config = dir.join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()) // it complains about fd limits when not root-capable; harmless
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run dbus-daemon ({e}); install it: apt-get install dbus-daemon dbus-bin")
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {line:?}");
        PrivateBus { child, address }
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gnome-keyring-daemon (secrets component only) with its own HOME (and keyring files) under `dir`.
struct PrivateKeyring {
    child: Child,
}

impl PrivateKeyring {
    fn start(dir: &Path, bus: &PrivateBus, login_password: &str) -> PrivateKeyring {
        let home = dir.join("home");
        let runtime = dir.join("run");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let mut child = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run gnome-keyring-daemon ({e}); install it: apt-get install gnome-keyring")
            });
        // --unlock reads the login password from stdin up to EOF.
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(login_password.as_bytes()).unwrap();
        drop(stdin);
        PrivateKeyring { child }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Retries `set_password` on a probe account until the keyring accepts it (the daemon needs a
/// moment to claim its bus name and create/unlock the login collection).
fn wait_until_keyring_stores() {
    let deadline = Instant::now() + Duration::from_secs(20);
    let probe = "sip:readiness-probe@hookflash.test";
    loop {
        match set_password(probe, "probe") {
            Ok(()) => break,
            Err(e) if Instant::now() < deadline => {
                eprintln!("keyring not ready yet: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the private gnome-keyring never became usable: {e}"),
        }
    }
    delete_password(probe).unwrap();
}

/// Item paths the Secret Service finds for service "hookflash" and this account, asked directly
/// over D-Bus (`dbus-send`), i.e. what seahorse / secret-tool would see.
fn items_for(bus: &PrivateBus, account: &str) -> Vec<String> {
    let out = Command::new("dbus-send")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.SearchItems",
        ])
        .arg(format!(
            "dict:string:string:service,hookflash,username,{account}"
        ))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run dbus-send ({e}); install it: apt-get install dbus-bin")
        });
    assert!(
        out.status.success(),
        "dbus-send: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("object path \""))
        .map(|p| p.trim_end_matches('"').to_string())
        .collect()
}

#[test]
fn passwords_live_in_a_real_secret_service() {
    let dir = tempfile::tempdir().unwrap();
    let bus = PrivateBus::start(dir.path());
    // Only this test runs in this process (one #[test] per file), so setting the variable is safe.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &bus.address);

    let alice = "sip:alice@example.com";
    let bob = "sips:bob@example.org;transport=tls";

    // Phase 1: a bus but no keyring daemon: a sentence that says what to do.
    let err = get_password(alice).unwrap_err();
    assert!(
        matches!(err, StoreError::KeyringUnavailable { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(
            "no keyring service available (is gnome-keyring or another Secret Service running?)"
        ),
        "{err}"
    );
    eprintln!("without a daemon: {err}");
    let err = set_password(alice, "never-stored-secret").unwrap_err();
    assert!(
        !format!("{err} {err:?}").contains("never-stored-secret"),
        "{err:?}"
    );

    // Phase 2: a daemon whose login keyring was never created (empty password on stdin): no
    // default collection. Storing must fail fast with the "locked" sentence, not hang on a prompt.
    let empty = PrivateKeyring::start(&dir.path().join("no-login"), &bus, "");
    let deadline = Instant::now() + Duration::from_secs(20);
    let err = loop {
        match set_password(alice, "not-stored-secret") {
            Err(StoreError::KeyringUnavailable { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100)); // daemon still starting
            }
            Err(e) => break e,
            Ok(()) => panic!("a keyring without a default collection accepted a password"),
        }
    };
    assert!(matches!(err, StoreError::KeyringLocked { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("the keyring is locked or has no default keyring"),
        "{err}"
    );
    assert!(!format!("{err} {err:?}").contains("not-stored-secret"));
    eprintln!("without a login keyring: {err}");
    assert_eq!(get_password(alice).unwrap(), None);
    empty.stop();

    // Phase 3: the real daemon; the library reconnects by itself (no restart of this process).
    let keyring = PrivateKeyring::start(&dir.path().join("login"), &bus, LOGIN_PASSWORD);
    wait_until_keyring_stores();

    assert_eq!(
        get_password(alice).unwrap(),
        None,
        "fresh keyring has no password"
    );
    delete_password(alice).expect("deleting a missing password is not an error");

    set_password(alice, "first secret").unwrap();
    assert_eq!(
        get_password(alice).unwrap().as_deref(),
        Some("first secret")
    );
    assert_eq!(
        items_for(&bus, alice).len(),
        1,
        "stored under service=hookflash, username=AOR"
    );

    // Overwrite replaces, never duplicates.
    let tricky = "sécret \"quoted\" <b>&amp;</b> 🔑 \\ ; DROP TABLE; x".repeat(20);
    set_password(alice, &tricky).unwrap();
    assert_eq!(
        get_password(alice).unwrap().as_deref(),
        Some(tricky.as_str())
    );
    assert_eq!(
        items_for(&bus, alice).len(),
        1,
        "overwrite must not add a second item"
    );

    // Accounts are independent.
    assert_eq!(get_password(bob).unwrap(), None);
    set_password(bob, "bob's").unwrap();
    assert_eq!(get_password(bob).unwrap().as_deref(), Some("bob's"));
    assert_eq!(
        get_password(alice).unwrap().as_deref(),
        Some(tricky.as_str())
    );

    // Phase 4: the daemon restarts (same keyring files): the old connection is dead; the next
    // call reconnects, and the password was kept on disk.
    keyring.stop();
    let keyring = PrivateKeyring::start(&dir.path().join("login"), &bus, LOGIN_PASSWORD);
    let deadline = Instant::now() + Duration::from_secs(20);
    let after_restart = loop {
        match get_password(alice) {
            Ok(found) => break found,
            Err(e) if Instant::now() < deadline => {
                eprintln!("after restart, not ready yet: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("keyring unusable after a daemon restart: {e}"),
        }
    };
    assert_eq!(after_restart.as_deref(), Some(tricky.as_str()));

    // Delete.
    delete_password(alice).unwrap();
    assert_eq!(get_password(alice).unwrap(), None);
    assert!(items_for(&bus, alice).is_empty());
    assert_eq!(
        get_password(bob).unwrap().as_deref(),
        Some("bob's"),
        "other account kept"
    );
    delete_password(bob).unwrap();
    assert_eq!(get_password(bob).unwrap(), None);

    // The keyring files are in the private HOME, not the real one.
    let keyrings: PathBuf = dir.path().join("login/home/.local/share/keyrings");
    assert!(keyrings.join("login.keyring").is_file(), "{keyrings:?}");

    drop(keyring);
    drop(bus);
}
