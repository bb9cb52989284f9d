//! Blind transfer against real baresip peers, driven by `hookflash-cli session`:
//!
//! * `baresip_caller_is_blind_transferred_to_another_baresip`: baresip A calls us, we answer and
//!   `transfer` it to baresip B. A is put on hold first, then gets our REFER, calls B (who
//!   answers by itself) and reports progress by NOTIFY; our leg ends "transferred", and B's
//!   recording holds A's tone: A and B talk.
//! * `a_refused_transfer_gives_the_call_back`: the same, but B declines the call A makes: the
//!   failure reaches us through A's NOTIFY, and with `resume` the call with A is ours again.
//! * `baresip_transfers_us_to_another_baresip`: we call baresip A, which transfers us (its
//!   `transfer` command sends REFER) to baresip B: we call B, tell A how it goes (NOTIFY), and
//!   our call with A ends "transferred" once B answers; B hears our microphone.

use hookflash_tests::baresip::Codec;
use hookflash_tests::wav::tone_power as power;
use hookflash_tests::{ports, speech, Baresip, CliRun, TestDir};
use std::path::{Path, PathBuf};
use std::time::Duration;

const A_HZ: f32 = 1400.0;
const B_HZ: f32 = 700.0;
const MIC_HZ: f32 = 1000.0;

fn tone(dir: &TestDir, name: &str, hz: f32) -> PathBuf {
    speech::tone(dir.path(), name, hz.into(), 40)
}

/// Our session with this microphone and no speaker.
fn session(dir: &TestDir, script: &str, port: u16, mic: &Path) -> CliRun {
    crate::session(dir, script, port, mic, Path::new("null"))
}

/// baresip A, sending its tone, calling our session on `port`.
fn caller_a(dir: &TestDir, port: u16) -> Baresip {
    Baresip::builder("a", "unused")
        .codec(Codec::Pcmu)
        .source(&tone(dir, "a.wav", A_HZ), 1.0)
        .dial(&format!("sip:me@127.0.0.1:{port}"))
        .start(dir)
}

#[test]
#[ignore = "needs baresip"]
fn baresip_caller_is_blind_transferred_to_another_baresip() {
    let dir = TestDir::new("blind-transfer");
    let port = ports::free_port();
    let mut b = Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .source(&tone(&dir, "b.wav", B_HZ), 1.0)
        .start(&dir);
    let script = format!(
        "wait-ringing 1 20\nanswer\nwait-calls 1 10\nwait 1\ntransfer 1 sip:b@127.0.0.1:{}\nwait 6\nlist\nquit\n",
        b.sip_port
    );
    let mut cli = session(&dir, &script, port, &tone(&dir, "mic.wav", MIC_HZ));
    let a = caller_a(&dir, port);
    cli.wait_exit(Duration::from_secs(60));
    let progress: Vec<String> = cli
        .events_named("transfer")
        .iter()
        .map(|e| e["progress"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        progress.first().is_some_and(|p| p == "trying"),
        "{progress:?}\n{}",
        cli.stdout()
    );
    assert_eq!(
        progress.last().map(String::as_str),
        Some("connected"),
        "{progress:?}\n{}",
        cli.stdout()
    );
    let ended = cli.events_named("ended");
    assert_eq!(ended.len(), 1, "{}", cli.stdout());
    assert_eq!(ended[0]["reason"], "transferred", "{}", cli.stdout());
    let target = format!("sip:b@127.0.0.1:{}", b.sip_port);
    assert!(
        ended[0]["message"]
            .as_str()
            .unwrap_or_default()
            .ends_with(&format!("transferred to {target}")),
        "{}",
        ended[0]
    );
    assert!(
        a.log().contains("transferring call"),
        "A followed our REFER:\n{}",
        a.log()
    );
    assert!(
        b.wait_established(Duration::from_secs(5)),
        "B answered A:\n{}",
        b.log()
    );
    // A and B talk: what B received is A's tone, not our microphone.
    std::thread::sleep(Duration::from_secs(2));
    b.stop();
    let got = b
        .received_wav()
        .unwrap_or_else(|| panic!("B recorded nothing:\n{}", b.log()));
    let (from_a, from_us) = (power(&got, A_HZ), power(&got, MIC_HZ));
    assert!(
        from_a > 20.0 * from_us.max(1e-12),
        "B hears A (A {from_a:e}, our microphone {from_us:e})"
    );
}

#[test]
#[ignore = "needs baresip"]
fn a_refused_transfer_gives_the_call_back() {
    let dir = TestDir::new("blind-transfer-refused");
    let port = ports::free_port();
    let b = Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .auto_answer(false)
        .start(&dir);
    let script = format!(
        "wait-ringing 1 20\nanswer\nwait-calls 1 10\nwait 1\ntransfer 1 sip:b@127.0.0.1:{} resume\nwait 8\nlist\nhangup all\nwait 1\nquit\n",
        b.sip_port
    );
    let mut cli = session(&dir, &script, port, &tone(&dir, "mic.wav", MIC_HZ));
    let a = Baresip::builder("a", "unused")
        .codec(Codec::Pcmu)
        .dial(&format!("sip:me@127.0.0.1:{port}"))
        .start(&dir);
    // B declines the call A makes to it.
    assert!(
        b.process_output_wait("Incoming call from", Duration::from_secs(20)),
        "A never called B:\n{}\n{}",
        a.log(),
        cli.stdout()
    );
    b.hangup();
    cli.wait_exit(Duration::from_secs(60));
    let transfers = cli.events_named("transfer");
    let failed = transfers
        .iter()
        .find(|e| e["progress"] == "failed")
        .unwrap_or_else(|| panic!("no failure reported:\n{}", cli.stdout()));
    assert!(
        failed["message"]
            .as_str()
            .unwrap_or_default()
            .contains("the call is back on the line"),
        "{failed}"
    );
    // The call with A is still ours, active again, until we hang up at the end.
    let lists = cli.events_named("calls");
    let calls = lists
        .last()
        .and_then(|l| l["calls"].as_array().cloned())
        .unwrap_or_default();
    assert_eq!(calls.len(), 1, "{}", cli.stdout());
    assert_eq!(calls[0]["active"], true, "{}", cli.stdout());
    let ended = cli.events_named("ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["reason"], "local_hangup", "{}", cli.stdout());
}

#[test]
#[ignore = "needs baresip"]
fn baresip_transfers_us_to_another_baresip() {
    let dir = TestDir::new("being-transferred");
    let port = ports::free_port();
    let mut b = Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .start(&dir);
    let a = Baresip::builder("a", "unused")
        .codec(Codec::Pcmu)
        .source(&tone(&dir, "a.wav", A_HZ), 1.0)
        .start(&dir);
    let script = format!(
        "dial sip:a@127.0.0.1:{}\nwait-calls 1 10\nwait 8\nlist\nhangup all\nwait 1\nquit\n",
        a.sip_port
    );
    let mut cli = session(&dir, &script, port, &tone(&dir, "mic.wav", MIC_HZ));
    assert!(
        a.wait_established(Duration::from_secs(10)),
        "A answered us:\n{}",
        a.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    let target = format!("sip:b@127.0.0.1:{}", b.sip_port);
    let r = a.command("transfer", &target);
    assert!(
        r.contains("\"ok\":true"),
        "baresip refused to transfer: {r}"
    );
    cli.wait_exit(Duration::from_secs(60));
    let out = cli.stdout();
    let ended = cli.events_named("ended");
    let old = ended
        .iter()
        .find(|e| e["call_id"] == 1)
        .unwrap_or_else(|| panic!("our call with A did not end:\n{out}"));
    assert_eq!(old["reason"], "transferred", "{out}");
    assert!(
        old["message"]
            .as_str()
            .unwrap_or_default()
            .ends_with(&format!("transferred to {target}")),
        "{old}"
    );
    let progress: Vec<&str> = cli
        .events_named("transfer")
        .iter()
        .filter_map(|e| e["progress"].as_str().map(|p| p.to_string()))
        .map(|p| {
            if p == "trying" {
                "trying"
            } else if p == "connected" {
                "connected"
            } else {
                "other"
            }
        })
        .collect();
    assert_eq!(progress.first(), Some(&"trying"), "{out}");
    assert_eq!(progress.last(), Some(&"connected"), "{out}");
    // Before we hung up at the end, our one call was with B, active.
    let lists = cli.events_named("calls");
    let calls = lists
        .last()
        .and_then(|l| l["calls"].as_array().cloned())
        .unwrap_or_default();
    assert_eq!(calls.len(), 1, "{out}");
    assert!(
        calls[0]["remote_uri"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sip:b@127.0.0.1"),
        "{out}"
    );
    assert_eq!(calls[0]["active"], true, "{out}");
    assert!(
        a.log().contains("Call transfered") || a.log().contains("terminated"),
        "A saw the transfer through:\n{}",
        a.log()
    );
    b.stop();
    let got = b
        .received_wav()
        .unwrap_or_else(|| panic!("B recorded nothing:\n{}", b.log()));
    let (from_us, from_a) = (power(&got, MIC_HZ), power(&got, A_HZ));
    assert!(
        from_us > 20.0 * from_a.max(1e-12),
        "B hears our microphone (ours {from_us:e}, A {from_a:e})"
    );
}

/// With `--transfer-requests ask`, baresip A's REFER waits for the user: the session sees a
/// `transfer_request`, declines it, and A hears 603 — we keep the call (A's own phone then
/// hangs up) and B is never called.
#[test]
#[ignore = "needs baresip"]
fn a_transfer_request_we_are_asked_about_and_decline_keeps_the_call() {
    let dir = TestDir::new("transfer-request-declined");
    let port = ports::free_port();
    let b = Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .start(&dir);
    let a = Baresip::builder("a", "unused")
        .codec(Codec::Pcmu)
        .source(&tone(&dir, "a.wav", A_HZ), 1.0)
        .start(&dir);
    let script = format!("dial sip:a@127.0.0.1:{}\nwait-calls 1 10\nwait 4\ntransfer-request 1 decline\nwait 2\nlist\nhangup all\nwait 1\nquit\n", a.sip_port);
    let script = dir.write("script.txt", &script);
    let mic = tone(&dir, "mic.wav", MIC_HZ);
    let mut cli = hookflash_tests::Cli::new("session", "session")
        .args([
            "--aor",
            "sip:me@127.0.0.1",
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--codec",
            "pcmu",
        ])
        .args(["--transfer-requests", "ask"])
        .arg("--script")
        .arg(&script)
        .arg("--audio-in")
        .arg(&mic)
        .args(["--audio-out", "null"])
        .spawn(&dir);
    assert!(
        a.wait_established(Duration::from_secs(10)),
        "A answered us:\n{}",
        a.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    let r = a.command("transfer", &format!("sip:b@127.0.0.1:{}", b.sip_port));
    assert!(
        r.contains("\"ok\":true"),
        "baresip refused to transfer: {r}"
    );
    cli.wait_exit(Duration::from_secs(60));
    let out = cli.stdout();
    let asked = cli.events_named("transfer_request");
    assert!(
        asked.len() == 1 && asked[0]["call_id"] == 1 && asked[0]["expires_in_secs"] == 30,
        "{out}"
    );
    let failed = cli.events_named("transfer");
    assert!(
        failed
            .iter()
            .any(|e| e["progress"] == "failed" && e["status"] == 603),
        "{out}"
    );
    // We kept the call: it was never ended "transferred" here (baresip 1.0 itself hangs up when
    // its transfer fails, so the call then ends by A's BYE).
    assert!(
        cli.events_named("ended")
            .iter()
            .all(|e| e["reason"] != "transferred"),
        "{out}"
    );
    assert!(
        !b.log().contains("Call established"),
        "B was never called:\n{}",
        b.log()
    );
    assert!(
        a.log().contains("transfer failed: 603 Declined"),
        "A heard the decline:\n{}",
        a.log()
    );
}

/// Consult, then complete, with baresip phones: A calls us, we `consult` B (A parked; B answers
/// by itself), then `complete`: A is held, gets our REFER (to B, with a `Replaces` naming our
/// call with B), calls B and reports it connected; both our calls end "transferred" and A and
/// B talk (B's recording holds A's tone). baresip 1.0 ignores the `Replaces` (B answers A's
/// INVITE as a new call), so our call with B is ended by us once A is connected; the exact
/// `Replaces` on the wire is checked against sipp in `attended_transfer.rs`, and a phone
/// honouring it in `replaces.rs`.
#[test]
#[ignore = "needs baresip"]
fn baresip_caller_is_consult_transferred_to_another_baresip() {
    let dir = TestDir::new("consult-transfer");
    let port = ports::free_port();
    let mut b = Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .source(&tone(&dir, "b.wav", B_HZ), 1.0)
        .start(&dir);
    let script = format!(
        "wait-ringing 1 20\nanswer\nwait-calls 1 10\nconsult 1 sip:b@127.0.0.1:{}\nwait-calls 2 10\nwait 1\ncomplete 1 2\nwait 6\nlist\nquit\n",
        b.sip_port
    );
    let mut cli = session(&dir, &script, port, &tone(&dir, "mic.wav", MIC_HZ));
    let a = caller_a(&dir, port);
    cli.wait_exit(Duration::from_secs(60));
    let out = cli.stdout();
    let consulting = cli.expect_event("consulting", Duration::from_secs(1));
    assert_eq!(consulting["consult_id"], 2, "{consulting}");
    let progress: Vec<String> = cli
        .events_named("transfer")
        .iter()
        .map(|e| e["progress"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        progress.last().map(String::as_str),
        Some("connected"),
        "{progress:?}\n{out}\n{}",
        a.log()
    );
    let ended = cli.events_named("ended");
    assert_eq!(ended.len(), 2, "{out}");
    assert!(ended.iter().all(|e| e["reason"] == "transferred"), "{out}");
    let lists = cli.events_named("calls");
    assert!(
        lists
            .last()
            .and_then(|l| l["calls"].as_array())
            .is_some_and(|c| c.is_empty()),
        "no calls left here: {out}"
    );
    assert!(
        a.log().contains("transferring call"),
        "A followed our REFER:\n{}",
        a.log()
    );
    // A and B talk: B's newest call (A's) holds A's tone, not our microphone.
    std::thread::sleep(Duration::from_secs(2));
    b.stop();
    let got = b
        .received_wav()
        .unwrap_or_else(|| panic!("B recorded nothing:\n{}", b.log()));
    let (from_a, from_us) = (power(&got, A_HZ), power(&got, MIC_HZ));
    assert!(
        from_a > 20.0 * from_us.max(1e-12),
        "B hears A (A {from_a:e}, our microphone {from_us:e})"
    );
}
