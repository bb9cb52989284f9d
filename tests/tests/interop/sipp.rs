//! SIPp scenarios (tests/sipp/*.xml) against hookflash-cli: as UAC towards `listen --no-register`
//! (basic call, CANCEL, 486, re-INVITE, OPTIONS, unsupported codec → 488) and as UAS for
//! `call` (basic call, 401 digest challenge verified by sipp, 486 rejection).

use hookflash_tests::sipp::Sipp;
use hookflash_tests::{ports, Cli, CliRun, TestDir};
use std::net::SocketAddr;
use std::time::Duration;

const PW: &str = "alice-secret";

/// Waits until something has bound UDP `port` on 127.0.0.1.
fn wait_bound(port: u16) -> bool {
    hookflash_tests::wait_until(Duration::from_secs(10), || {
        std::net::UdpSocket::bind(("127.0.0.1", port))
            .is_err()
            .then_some(())
    })
    .is_some()
}

/// `hookflash-cli listen --no-register` as alice on a fresh port, with `extra` options.
fn listening_cli(dir: &TestDir, extra: &[&str]) -> (CliRun, SocketAddr) {
    let port = ports::free_port();
    let mut cli = Cli::new("cli", "listen")
        .args([
            "--no-register",
            "--aor",
            "sip:alice@127.0.0.1",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--audio-in", "null", "--audio-out", "null"])
        .args(extra)
        .spawn(dir);
    if !wait_bound(port) {
        cli.stop();
        panic!(
            "hookflash-cli listen did not bind 127.0.0.1:{port}\n{}",
            cli.stderr()
        );
    }
    (cli, ([127, 0, 0, 1], port).into())
}

fn uac(dir: &TestDir, scenario: &str, target: SocketAddr) {
    Sipp::uac(scenario, target)
        .service("alice")
        .spawn(dir)
        .assert_passed(Duration::from_secs(40));
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn sipp_uac_basic_call() {
    let dir = TestDir::new("sipp_uac_basic_call");
    let (mut cli, addr) = listening_cli(&dir, &["--max-calls", "1"]);
    uac(&dir, "uac_basic.xml", addr);
    cli.wait_exit(Duration::from_secs(10));
    cli.assert_success();
    cli.expect_event("incoming", Duration::from_secs(1));
    let answered = cli.expect_event("answered", Duration::from_secs(1));
    assert_eq!(answered["codec"], "pcmu", "{answered}");
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn sipp_uac_cancel_before_answer() {
    let dir = TestDir::new("sipp_uac_cancel_before_answer");
    let (mut cli, addr) = listening_cli(&dir, &["--max-calls", "1", "--answer-after", "10"]);
    uac(&dir, "uac_cancel.xml", addr);
    cli.wait_exit(Duration::from_secs(10));
    cli.assert_success();
    assert!(
        cli.events_named("answered").is_empty(),
        "cancelled call was answered:\n{}",
        cli.stdout()
    );
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "cancelled", "{ended}");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn sipp_uac_rejected_486() {
    let dir = TestDir::new("sipp_uac_rejected_486");
    let (mut cli, addr) = listening_cli(&dir, &["--max-calls", "1", "--reject", "486"]);
    uac(&dir, "uac_busy.xml", addr);
    cli.wait_exit(Duration::from_secs(10));
    cli.assert_success();
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "rejected", "{ended}");
    assert_eq!(ended["status"], 486, "{ended}");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn sipp_uac_reinvite_answered() {
    let dir = TestDir::new("sipp_uac_reinvite_answered");
    let (mut cli, addr) = listening_cli(&dir, &["--max-calls", "1"]);
    uac(&dir, "uac_reinvite.xml", addr);
    cli.wait_exit(Duration::from_secs(10));
    cli.assert_success();
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn sipp_uac_options_answered() {
    let dir = TestDir::new("sipp_uac_options_answered");
    let (mut cli, addr) = listening_cli(&dir, &[]);
    uac(&dir, "uac_options.xml", addr);
    assert!(
        cli.status().is_none(),
        "CLI exited after OPTIONS\n{}",
        cli.stderr()
    );
    cli.stop();
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn sipp_uac_unsupported_codec_gets_488() {
    let dir = TestDir::new("sipp_uac_unsupported_codec_gets_488");
    let (mut cli, addr) = listening_cli(&dir, &[]);
    uac(&dir, "uac_unsupported_codec.xml", addr);
    assert!(
        cli.events_named("answered").is_empty(),
        "G.729-only offer was answered:\n{}",
        cli.stdout()
    );
    assert!(
        cli.status().is_none(),
        "CLI exited after a 488\n{}",
        cli.stderr()
    );
    cli.stop();
}

/// `hookflash-cli call` to the sipp UAS, without registering.
fn call_sipp(dir: &TestDir, sipp: &Sipp, extra: &[&str]) -> CliRun {
    assert!(
        wait_bound(sipp.port),
        "sipp did not bind 127.0.0.1:{}",
        sipp.port
    );
    Cli::new("cli", "call")
        .arg(format!("sip:bob@{}", sipp.addr()))
        .args([
            "--no-register",
            "--aor",
            "sip:alice@127.0.0.1",
            "--listen",
            &format!("127.0.0.1:{}", ports::free_port()),
        ])
        .args(["--audio-in", "null", "--audio-out", "null"])
        .args(extra)
        .password(PW)
        .spawn(dir)
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn sipp_uas_basic_call() {
    let dir = TestDir::new("sipp_uas_basic_call");
    let sipp = Sipp::uas("uas_basic.xml");
    let mut run = sipp.spawn(&dir);
    let mut cli = call_sipp(&dir, &sipp, &["--duration", "2"]);
    cli.wait_exit(Duration::from_secs(20));
    run.assert_passed(Duration::from_secs(20));
    cli.assert_success();
    cli.expect_event("ringing", Duration::from_secs(1));
    let answered = cli.expect_event("answered", Duration::from_secs(1));
    assert_eq!(answered["codec"], "pcmu", "{answered}");
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn sipp_uas_digest_challenge_answered() {
    let dir = TestDir::new("sipp_uas_digest_challenge_answered");
    let sipp = Sipp::uas("uas_auth.xml")
        .set("username", "alice")
        .set("password", PW);
    let mut run = sipp.spawn(&dir);
    let mut cli = call_sipp(&dir, &sipp, &["--duration", "2"]);
    cli.wait_exit(Duration::from_secs(20));
    run.assert_passed(Duration::from_secs(20));
    cli.assert_success();
    let msgs = run.messages();
    assert!(
        msgs.contains("Authorization: Digest"),
        "no Authorization header in the trace"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn sipp_uas_busy_486_fails_the_call() {
    let dir = TestDir::new("sipp_uas_busy_486_fails_the_call");
    let sipp = Sipp::uas("uas_busy.xml");
    let mut run = sipp.spawn(&dir);
    let mut cli = call_sipp(&dir, &sipp, &["--duration", "2"]);
    cli.wait_exit(Duration::from_secs(20));
    run.assert_passed(Duration::from_secs(20));
    cli.assert_failed_with("call rejected (486");
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "rejected", "{ended}");
    assert_eq!(ended["status"], 486, "{ended}");
}

/// Harness check (no CLI): the UAS scenarios work against sipp UACs, so a failure above is the
/// CLI's. The auth pair also proves `verifyauth` accepts a correct MD5 response.
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn harness_sipp_scenarios_pair_up() {
    let dir = TestDir::new("harness_sipp_scenarios_pair_up");
    for (uas, uac_name) in [
        ("uas_basic.xml", "uac_basic.xml"),
        ("uas_busy.xml", "uac_busy.xml"),
        ("uas_auth.xml", "harness_uac_auth.xml"),
    ] {
        let server = Sipp::uas(uas).set("username", "alice").set("password", PW);
        let server = if uas == "uas_auth.xml" {
            server
        } else {
            Sipp::uas(uas)
        };
        let mut s = server.spawn(&dir);
        assert!(wait_bound(server.port));
        Sipp::uac(uac_name, server.addr())
            .service("bob")
            .spawn(&dir)
            .assert_passed(Duration::from_secs(30));
        s.assert_passed(Duration::from_secs(30));
    }
}
