//! The call history survives what happens to the program and to its file, with two real
//! `hookflash-cli` processes calling each other on loopback (no other peers): `kill -9` in a
//! connected call leaves the call's row, marked interrupted after a restart; an unreadable
//! history file neither stops the phone nor is lost.

use hookflash_store::{CallOutcome, HistoryStore};
use hookflash_tests::{ports, Cli, CliRun, TestDir};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::time::Duration;

fn wait_bound(port: u16) -> bool {
    hookflash_tests::wait_until(Duration::from_secs(10), || {
        std::net::UdpSocket::bind(("127.0.0.1", port))
            .is_err()
            .then_some(())
    })
    .is_some()
}

/// `hookflash-cli listen` as bob, answering at once; its history file is `<dir>/bob-home/history.sqlite3`.
fn bob(dir: &TestDir) -> (CliRun, u16) {
    let port = ports::free_port();
    let mut cli = Cli::new("bob", "listen")
        .args([
            "--no-register",
            "--aor",
            "sip:bob@127.0.0.1",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--audio-in", "null", "--audio-out", "null"])
        .spawn(dir);
    if !wait_bound(port) {
        cli.stop();
        panic!("bob did not bind 127.0.0.1:{port}\n{}", cli.stderr());
    }
    (cli, port)
}

/// Alice calls bob for `secs` seconds (the CLI's history is `<dir>/<name>-home/history.sqlite3`).
fn alice_calls(dir: &TestDir, name: &str, bob_port: u16, secs: u32) -> CliRun {
    Cli::new(name, "call")
        .arg(format!("sip:bob@127.0.0.1:{bob_port}"))
        .args([
            "--no-register",
            "--aor",
            "sip:alice@127.0.0.1",
            "--listen",
            &format!("127.0.0.1:{}", ports::free_port()),
        ])
        .args([
            "--audio-in",
            "null",
            "--audio-out",
            "null",
            "--duration",
            &secs.to_string(),
        ])
        .spawn(dir)
}

fn history_of(dir: &TestDir, name: &str) -> PathBuf {
    dir.path()
        .join(format!("{name}-home"))
        .join("history.sqlite3")
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn a_call_cut_by_kill_9_is_in_the_history_as_interrupted_after_a_restart() {
    let dir = TestDir::new("history_kill9");
    let (mut bob, bob_port) = bob(&dir);
    let mut alice = alice_calls(&dir, "alice", bob_port, 60);
    alice.expect_event("answered", Duration::from_secs(15));
    alice.process().signal(libc::SIGKILL);
    let status = alice.wait_exit(Duration::from_secs(5));
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "alice was not killed: {status:?}"
    );

    // Restarted, the same CLI (same history file) makes a call that ends normally.
    let mut again = alice_calls(&dir, "alice", bob_port, 1);
    again.wait_exit(Duration::from_secs(20));
    again.assert_success();
    bob.stop();

    let store = HistoryStore::open(&history_of(&dir, "alice")).unwrap();
    let rows = store.recent(10).unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let (done, cut) = (&rows[0], &rows[1]);
    assert_eq!(done.outcome, CallOutcome::Answered, "{done:?}");
    assert_eq!(cut.outcome, CallOutcome::Interrupted, "{cut:?}");
    assert_eq!(cut.remote_uri, format!("sip:bob@127.0.0.1:{bob_port}"));
    assert!(
        cut.answered_at_ms.is_some(),
        "the row knew the call was answered: {cut:?}"
    );
    assert!(
        cut.end_reason
            .as_deref()
            .unwrap_or_default()
            .contains("interrupted"),
        "{cut:?}"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn an_unreadable_history_file_is_kept_aside_and_calls_go_on() {
    let dir = TestDir::new("history_corrupt");
    let file = history_of(&dir, "bob");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let garbage = b"SQLite format 2? no: a history file overwritten by something else".repeat(40);
    std::fs::write(&file, &garbage).unwrap();

    let (mut bob, bob_port) = bob(&dir);
    let mut alice = alice_calls(&dir, "alice", bob_port, 1);
    alice.wait_exit(Duration::from_secs(20));
    alice.assert_success();
    let ended = bob.expect_event("ended", Duration::from_secs(10));
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    bob.stop();

    // Bob said which file it could not read and where it is now.
    let warnings = bob.events_named("warning");
    let warning = warnings
        .iter()
        .filter_map(|w| w["message"].as_str())
        .find(|m| m.contains("could not be read"))
        .unwrap_or_else(|| panic!("no warning about the history file: {warnings:#?}"));
    assert!(warning.contains(&file.display().to_string()), "{warning}");
    let aside: Vec<PathBuf> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("history.sqlite3.unreadable-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(
        warning.contains(&aside[0].display().to_string()),
        "{warning}"
    );
    assert_eq!(
        std::fs::read(&aside[0]).unwrap(),
        garbage,
        "the unreadable file is kept as it was"
    );
    // And the call is in the new history.
    let rows = HistoryStore::open(&file).unwrap().recent(10).unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].outcome, CallOutcome::Answered);
}
