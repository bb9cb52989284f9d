//! Several calls at once against real baresip peers, driven by `hookflash-cli session`:
//!
//! * `three_baresip_callers_switched_twenty_times`: three baresips, each playing its own tone,
//!   call our CLI directly; it answers all three (each answer parks the active call) and
//!   switches between them 20 times. Our microphone is a 1000 Hz tone, our speaker a WAV.
//!   Frame by frame (Goertzel), every 20 ms our speaker recorded holds ONE peer's tone (we hear
//!   only the active call), the order of what we heard follows the switches, and no call was
//!   dropped.
//! * `three_cli_callers_hear_our_microphone_only_while_active`: the same with three
//!   `hookflash-cli call` peers, whose recordings show what each party received: our
//!   microphone for about the time it was active, music on hold otherwise. (baresip 1.0 cannot
//!   show this: its `sndfile` decode dump stops at the first re-INVITE.)
//! * `hold_resume_and_remote_hold_with_baresip`: we park and resume a baresip call, and
//!   baresip's own `/hold` and `/resume` show up as `held_by_remote` / `remote_resumed`.

use crate::session;
use hookflash_tests::baresip::Codec;
use hookflash_tests::{ports, speech, wav, Baresip, Cli, CliRun, TestDir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const MIC_HZ: f64 = 1000.0;
const PEER_HZ: [f64; 3] = [1400.0, 1700.0, 2000.0];
/// Fundamentals of the generated hold music's chords.
const HOLD_HZ: [f64; 8] = [174.61, 196.0, 220.0, 246.94, 261.63, 293.66, 329.63, 392.0];
const SWITCHES: usize = 20;
const SLOT_SECS: f64 = 0.7;

fn tone(dir: &TestDir, name: &str, hz: f64, secs: u32) -> PathBuf {
    speech::tone(dir.path(), name, hz, secs)
}

/// Power of `f` in `x`, normalised by the window length (Goertzel, shared with the harness).
fn power(x: &[f32], rate: u32, f: f64) -> f64 {
    hookflash_tests::wav::goertzel_power(x, rate, f as f32) / (x.len() as f64).powi(2)
}

fn caller(dir: &TestDir, user: &str, source: &Path, port: u16) -> Baresip {
    Baresip::builder(user, "unused")
        .codec(Codec::Pcmu)
        .source(source, 1.0)
        .dial(&format!("sip:me@127.0.0.1:{port}"))
        .start(dir)
}

/// Labels of consecutive runs (of at least `min_len` frames) in a per-frame labelling.
fn runs(labels: &[Option<usize>], min_len: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < labels.len() {
        let mut j = i;
        while j < labels.len() && labels[j] == labels[i] {
            j += 1;
        }
        if let Some(l) = labels[i] {
            if j - i >= min_len && out.last() != Some(&l) {
                out.push(l);
            }
        }
        i = j;
    }
    out
}

/// A peer calling our session: a baresip or another hookflash-cli.
enum Peer {
    Baresip(Baresip),
    Cli(CliRun, PathBuf),
}

/// The script that answers three calls and then switches 1, 2, 3, 1, ... `SWITCHES` times;
/// returns it with the schedule (index of the active caller per slot).
fn switching_script() -> (String, Vec<usize>) {
    // Calls arrive in order a, b, c (ids 1, 2, 3); the cycle starts with 1 (3 is active after answering).
    let mut script = String::from("wait-ringing 3 20\nanswer\nanswer\nanswer\nwait-calls 3 10\n");
    let mut schedule = Vec::new();
    for i in 0..SWITCHES {
        schedule.push(i % 3);
        script.push_str(&format!("switch {}\nwait {SLOT_SECS}\n", i % 3 + 1));
    }
    script.push_str("list\nhangup all\nwait 1\nquit\n");
    (script, schedule)
}

/// Runs the switching session against three peers and checks what we heard and that no
/// call was dropped. Returns the peers (calls over) and the schedule.
fn switch_between_three(dir: &TestDir, with_baresip: bool) -> (Vec<Peer>, Vec<usize>) {
    let port = ports::free_port();
    let mic = tone(dir, "mic.wav", MIC_HZ, 60);
    let speaker = dir.join("speaker.wav");
    let (script, schedule) = switching_script();
    let mut cli = session(dir, &script, port, &mic, &speaker);
    let mut peers = Vec::new();
    for (i, user) in ["a", "b", "c"].iter().enumerate() {
        let src = tone(dir, &format!("{user}.wav"), PEER_HZ[i], 60);
        peers.push(if with_baresip {
            Peer::Baresip(caller(dir, user, &src, port))
        } else {
            let rx = dir.join(format!("{user}-received.wav"));
            let run = Cli::new(&format!("peer-{user}"), "call")
                .arg(format!("sip:me@127.0.0.1:{port}"))
                .args([
                    "--aor",
                    &format!("sip:{user}@127.0.0.1"),
                    "--no-register",
                    "--listen",
                    "127.0.0.1:0",
                ])
                .args(["--codec", "pcmu", "--duration", "40"])
                .arg("--audio-in")
                .arg(&src)
                .arg("--audio-out")
                .arg(&rx)
                .spawn(dir);
            Peer::Cli(run, rx)
        });
        // Wait for this call to ring so the ids follow a, b, c.
        let n = i + 1;
        let rang = hookflash_tests::wait_until(Duration::from_secs(10), || {
            (cli.events_named("incoming").len() >= n).then_some(())
        });
        assert!(
            rang.is_some(),
            "call from {user} did not arrive\n{}",
            cli.stdout()
        );
    }
    cli.wait_exit(Duration::from_secs(60));
    cli.assert_success();
    let events = cli.events();
    let errors: Vec<&Value> = events.iter().filter(|e| e["event"] == "error").collect();
    assert!(errors.is_empty(), "session errors: {errors:#?}");

    // No call was dropped: all three were up at the end, and they ended by our hang-up.
    let lists = cli.events_named("calls");
    let last = lists.last().expect("a calls listing");
    let calls = last["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 3, "{last}");
    assert!(calls.iter().all(|c| c["state"] == "answered"), "{last}");
    assert_eq!(
        calls.iter().filter(|c| c["active"] == true).count(),
        1,
        "{last}"
    );
    let ended = cli.events_named("ended");
    assert_eq!(ended.len(), 3, "{ended:#?}");
    assert!(
        ended.iter().all(|e| e["reason"] == "local_hangup"),
        "{ended:#?}"
    );
    assert!(
        cli.events_named("parked").len() >= SWITCHES,
        "each switch parks a call"
    );
    let warnings = cli.events_named("warning");
    assert!(warnings.is_empty(), "{warnings:#?}");

    // What we heard: every 20 ms frame is one peer's tone (or silence), never two.
    let (spk, rate) = wav::read_mono(&speaker);
    assert_eq!(rate, 8000);
    let frame = 160;
    let mut labels = Vec::new();
    let mut mixed = 0;
    for f in spk.chunks_exact(frame) {
        let p: Vec<f64> = PEER_HZ.iter().map(|&hz| power(f, rate, hz)).collect();
        let total: f64 = p.iter().sum();
        if wav::rms(f) < 0.02 || total < 1e-4 {
            labels.push(None);
            continue;
        }
        let (best, &max) = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap();
        if max / total < 0.9 {
            mixed += 1;
        }
        labels.push(Some(best));
        assert!(
            power(f, rate, MIC_HZ) < 0.1 * max,
            "our own microphone in the speaker"
        );
    }
    let heard = runs(&labels, 3);
    eprintln!(
        "speaker: {} frames, {mixed} mixed, heard {heard:?}",
        labels.len()
    );
    assert_eq!(mixed, 0, "frames with two callers' audio at once");
    // The order of what we heard is the order of the switches (the third call may be heard
    // first, between answering it and the first switch).
    let heard_from_first_switch: Vec<usize> =
        heard.iter().copied().skip_while(|&l| l == 2).collect();
    assert_eq!(
        heard_from_first_switch, schedule,
        "what we heard does not follow the switches: {heard:?}"
    );
    (peers, schedule)
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn three_baresip_callers_switched_twenty_times() {
    let dir = TestDir::new("multicall_three_baresip");
    let (peers, _) = switch_between_three(&dir, true);
    for p in peers {
        if let Peer::Baresip(b) = p {
            let reinvites = b.log().matches("got re-INVITE").count();
            assert!(
                reinvites >= 2 * SWITCHES / 3,
                "{} saw only {reinvites} re-INVITEs\n{}",
                b.user,
                b.log()
            );
            assert!(
                !b.log().contains("terminated") || b.log().contains("session closed"),
                "{}",
                b.log()
            );
        }
    }
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn three_cli_callers_hear_our_microphone_only_while_active() {
    let dir = TestDir::new("multicall_three_cli");
    let (peers, schedule) = switch_between_three(&dir, false);
    let mut mic_total = 0.0;
    for (i, p) in peers.into_iter().enumerate() {
        let Peer::Cli(mut run, rx) = p else {
            unreachable!()
        };
        run.wait_exit(Duration::from_secs(10));
        run.assert_success();
        let (rx, rate) = wav::read_mono(&rx);
        let win = rate as usize / 10;
        let (mut mic_secs, mut hold_secs, mut both) = (0.0, 0.0, 0);
        for w in rx.chunks_exact(win) {
            let total: f64 =
                w.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / (w.len() as f64);
            if total < 1e-5 {
                continue;
            }
            // A pure sine shows as 2.0 here (normalised Goertzel power * 4 / mean square).
            let mic = power(w, rate, MIC_HZ) * 4.0 / total;
            let hold = HOLD_HZ.iter().map(|&hz| power(w, rate, hz)).sum::<f64>() * 4.0 / total;
            if mic > 0.5 {
                mic_secs += 0.1;
            }
            if hold > 0.3 {
                hold_secs += 0.1;
            }
            if mic > 0.2 && hold > 0.2 {
                both += 1;
            }
        }
        let slots = schedule.iter().filter(|&&s| s == i).count() as f64;
        let expected = slots * SLOT_SECS;
        eprintln!("peer {i}: our microphone {mic_secs:.1} s (active {expected:.1} s), hold music {hold_secs:.1} s, {both} mixed windows");
        assert!(
            mic_secs <= expected + 1.5,
            "peer {i} heard our microphone for {mic_secs:.1} s but was active only {expected:.1} s"
        );
        assert!(
            mic_secs >= expected * 0.5,
            "peer {i} heard our microphone for only {mic_secs:.1} s of {expected:.1} s active"
        );
        assert!(
            hold_secs >= 3.0,
            "peer {i} heard no hold music ({hold_secs:.1} s)"
        );
        assert!(
            both <= 2 * SWITCHES / 3 + 2,
            "peer {i}: {both} windows with microphone and music at once"
        );
        mic_total += mic_secs;
    }
    let active_total = SWITCHES as f64 * SLOT_SECS;
    assert!(
        mic_total <= active_total + 3.0,
        "the microphone reached calls for {mic_total:.1} s in {active_total:.1} s"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn hold_resume_and_remote_hold_with_baresip() {
    let dir = TestDir::new("multicall_hold_resume");
    let port = ports::free_port();
    let mic = tone(&dir, "mic.wav", MIC_HZ, 60);
    let speaker = dir.join("speaker.wav");
    // Our side: answer, 2 s active, 2 s parked, resume, then 6 s for the peer's hold/resume.
    let script = "wait-ringing 1 20\nanswer\nwait-calls 1 10\nwait 2\npark 1\nwait 2\nswitch 1\nwait 6\nlist\nhangup all\nwait 1\nquit\n";
    let mut cli = session(&dir, script, port, &mic, &speaker);
    let src = tone(&dir, "a.wav", PEER_HZ[0], 60);
    let mut peer = caller(&dir, "a", &src, port);
    cli.expect_event("active", Duration::from_secs(15));
    cli.expect_event("parked", Duration::from_secs(10));
    cli.expect_event("resumed", Duration::from_secs(10));
    // baresip puts us on hold, then resumes.
    std::thread::sleep(Duration::from_millis(500));
    let r = peer.command("hold", "");
    assert!(r.contains("\"ok\":true"), "baresip refused hold: {r}");
    cli.expect_event("held_by_remote", Duration::from_secs(5));
    let r = peer.command("resume", "");
    assert!(r.contains("\"ok\":true"), "baresip refused resume: {r}");
    cli.expect_event("remote_resumed", Duration::from_secs(5));
    cli.wait_exit(Duration::from_secs(20));
    cli.assert_success();
    let errors = cli.events_named("error");
    assert!(errors.is_empty(), "{errors:#?}");
    let warnings = cli.events_named("warning");
    assert!(warnings.is_empty(), "{warnings:#?}");

    // Our side of it: parked (baresip got sendonly), resumed; baresip saw both re-INVITEs
    // and its own hold and resume went through.
    peer.stop();
    let log = peer.log();
    assert!(log.matches("got re-INVITE").count() >= 2, "{log}");
    assert!(
        log.contains("call: hold") && log.contains("call: resume"),
        "{log}"
    );
}
