//! Hold re-INVITEs against a sipp peer that gets in the way, driven by `hookflash-cli session`:
//!
//! - glare (RFC 3261 14.1/14.2): while our hold re-INVITE is pending the peer sends its own;
//!   we answer it 491, the peer answers ours 491, we retry after the random back-off and the
//!   call ends up parked; the peer's later re-INVITE is answered 200 still holding
//!   (`tests/sipp/glare_hold.xml` checks every step on the wire);
//! - the peer refuses the hold with 488 or 500: the call stays up, not parked, active again,
//!   and a warning says so (`tests/sipp/glare_hold_refused.xml` fails on a second attempt);
//! - the peer answers our INVITE and puts us on hold in the same instant: its re-INVITE reaches
//!   us while we are still handling the 200, and is answered 200 after our ACK, not 481
//!   (`tests/sipp/reinvite_after_200.xml`).

use hookflash_tests::sipp::Sipp;
use hookflash_tests::{ports, Cli, CliRun, TestDir};
use serde_json::Value;
use std::time::Duration;

fn wait_bound(port: u16) -> bool {
    hookflash_tests::wait_until(Duration::from_secs(10), || {
        std::net::UdpSocket::bind(("127.0.0.1", port))
            .is_err()
            .then_some(())
    })
    .is_some()
}

/// A session that calls sipp, parks the call once it is up, waits `settle` seconds, lists
/// the calls and quits (hanging up).
fn session(dir: &TestDir, sipp: &Sipp, settle: u32) -> CliRun {
    session_with(dir, sipp, &format!("park 1\nwait {settle}"))
}

/// A session that calls sipp, runs `then` once the call is up, lists the calls and quits.
fn session_with(dir: &TestDir, sipp: &Sipp, then: &str) -> CliRun {
    assert!(
        wait_bound(sipp.port),
        "sipp did not bind 127.0.0.1:{}",
        sipp.port
    );
    let script = dir.write(
        "glare.script",
        format!(
            "dial sip:bob@{}\nwait-calls 1 10\n{then}\nlist\nquit\n",
            sipp.addr()
        ),
    );
    Cli::new("session", "session")
        .args([
            "--no-register",
            "--aor",
            "sip:alice@127.0.0.1",
            "--listen",
            &format!("127.0.0.1:{}", ports::free_port()),
        ])
        .args(["--audio-in", "null", "--audio-out", "null", "--script"])
        .arg(&script)
        .spawn(dir)
}

/// The call in the `list` line.
fn listed_call(cli: &CliRun) -> Value {
    let lists = cli.events_named("calls");
    assert_eq!(
        lists.len(),
        1,
        "one `list` line expected:\n{}",
        cli.stdout()
    );
    let calls = lists[0]["calls"].as_array().cloned().unwrap_or_default();
    assert_eq!(calls.len(), 1, "one call expected: {calls:?}");
    calls[0].clone()
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn glare_on_hold_retries_after_491_and_the_call_ends_up_parked() {
    let dir = TestDir::new("glare_on_hold");
    let sipp = Sipp::uas("glare_hold.xml").timeout(40);
    let mut run = sipp.spawn(&dir);
    let mut cli = session(&dir, &sipp, 8);
    cli.wait_exit(Duration::from_secs(40));
    run.assert_passed(Duration::from_secs(20));
    cli.assert_success();
    let calling = cli.expect_event("calling", Duration::from_secs(1));
    assert_eq!(calling["call_id"], 1, "the script parks call 1: {calling}");
    let call = listed_call(&cli);
    assert_eq!(call["state"], "answered", "{call}");
    assert!(
        call["parked_since_ms"].is_i64(),
        "call not parked after the glare: {call}"
    );
    assert_eq!(call["active"], false, "{call}");
    assert_eq!(
        call["held_by_remote"], false,
        "the peer's answers never held us: {call}"
    );
    let errors = cli.events_named("error");
    assert!(errors.is_empty(), "session errors: {errors:?}");
    assert!(
        cli.events_named("warning").is_empty(),
        "glare is not a failure: {}",
        cli.stdout()
    );

    // On the wire (sipp checked the order): our 491 to the peer's re-INVITE and the peer's 491
    // to ours, then our retried hold.
    let msgs = run.messages();
    assert_eq!(msgs.matches("SIP/2.0 491").count(), 2, "{msgs}");
    assert_eq!(
        msgs.matches("a=sendonly").count(),
        3,
        "hold, its retry, our answer holding: {msgs}"
    );
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
}

fn hold_refused_with(status: &str) {
    let dir = TestDir::new(&format!("hold_refused_{status}"));
    let sipp = Sipp::uas("glare_hold_refused.xml")
        .set("status", status)
        .timeout(30);
    let mut run = sipp.spawn(&dir);
    let mut cli = session(&dir, &sipp, 2);
    cli.wait_exit(Duration::from_secs(30));
    run.assert_passed(Duration::from_secs(20));
    cli.assert_success();
    let warnings = cli.events_named("warning");
    let expected = format!("hold refused ({status}) by sip:bob@{}", sipp.addr());
    assert!(
        warnings.iter().any(|w| w["message"] == expected.as_str()),
        "no warning {expected:?}:\n{}",
        cli.stdout()
    );
    let call = listed_call(&cli);
    assert_eq!(call["state"], "answered", "the call stays up: {call}");
    assert!(
        call["parked_since_ms"].is_null(),
        "a refused hold is not parked: {call}"
    );
    assert_eq!(
        call["active"], true,
        "nothing else is active, so the call has the audio again: {call}"
    );
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn hold_refused_with_488_keeps_the_call_up_and_warns() {
    hold_refused_with("488");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn hold_refused_with_500_keeps_the_call_up_and_warns() {
    hold_refused_with("500");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn a_reinvite_right_behind_the_200_is_answered_not_481() {
    let dir = TestDir::new("reinvite_after_200");
    let sipp = Sipp::uas("reinvite_after_200.xml").timeout(30);
    let mut run = sipp.spawn(&dir);
    let mut cli = session_with(&dir, &sipp, "wait 2");
    cli.wait_exit(Duration::from_secs(30));
    run.assert_passed(Duration::from_secs(20));
    cli.assert_success();
    let call = listed_call(&cli);
    assert_eq!(call["state"], "answered", "{call}");
    assert_eq!(
        call["held_by_remote"], true,
        "the peer's re-INVITE held us: {call}"
    );
    let msgs = run.messages();
    assert!(!msgs.contains("SIP/2.0 481"), "{msgs}");
    assert!(cli.events_named("error").is_empty(), "{}", cli.stdout());
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
}
