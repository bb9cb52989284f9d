//! Local conference against real peers, driven by `hookflash-cli session`:
//!
//! * `three_way_speech_is_clear_through_the_mix_and_leave_connects_the_others`: we call A (a
//!   second hookflash-cli, answering by itself) and then baresip B (A parked), merge them and
//!   stay silent: A and B both speak the same reference speech and each one's recording of the
//!   conference is scored with PESQ (narrow band, ≥ 3.5) — what A hears of B and B of A, through
//!   decode → mix → encode. Then `leave` connects them (REFER with Replaces) and both our legs
//!   end "transferred".
//! * `five_parties_on_four_codecs_hear_everyone_but_themselves`: we call four phones, one each on
//!   PCMU, PCMA, G.722 and Opus, each sending its own tone, and merge all four with our
//!   microphone's tone: every recording holds the other four tones (FFT bins) and not its own.
//!
//! * `handing_a_conference_of_three_to_one_party_keeps_it_running_there`: we host H (a second
//!   hookflash-cli, in a session), P1 (hookflash-cli) and P2 (baresip) and hand the conference
//!   to H (`leave to 1`): H's phone is referred to P1 and then to P2 (REFER with Replaces), joins
//!   them in a conference of its own, and our three legs end "transferred". P1 and P2 start
//!   their tones only 12 s into each call, after we are gone, so P1 hearing P2's tone can only
//!   come through H's mix; H hears both.
//!
//! Parties that are parked before the merge are hookflash-cli `listen` peers: baresip 1.0's
//! `sndfile` writes nothing to its decode dump for a call that was held and resumed (seen: a
//! 44-byte WAV while it reported 64 kbit/s received), so a baresip can only be the party called
//! last (never held). Music on hold is a silent file, so what a party heard while parked before
//! the merge does not muddy its recording.

use hookflash_tests::baresip::Codec;
use hookflash_tests::pesq::{self, Band};
use hookflash_tests::wav::tone_power as power;
use hookflash_tests::{ports, speech, Baresip, Cli, CliRun, TestDir};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Our session on `port` offering `codecs`, with this microphone, no speaker and silent hold
/// music.
fn session(dir: &TestDir, script: &str, port: u16, mic: &Path, codecs: &[Codec]) -> CliRun {
    let script = dir.write("script.txt", script);
    let silence = dir.join("hold-silence.wav");
    speech::sox(&[
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        silence.to_str().unwrap(),
        "trim",
        "0",
        "2",
    ]);
    let mut cli = Cli::new("session", "session")
        .args([
            "--aor",
            "sip:me@127.0.0.1",
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--script")
        .arg(&script)
        .arg("--hold-music")
        .arg(&silence)
        .arg("--audio-in")
        .arg(mic)
        .args(["--audio-out", "null"]);
    for c in codecs {
        cli = cli.args(["--codec", c.cli_name()]);
    }
    cli.spawn(dir)
}

/// Another hookflash-cli as `sip:<user>@127.0.0.1:<port>` answering by itself on `codec`,
/// saying `mic` and recording what it hears; exits after `calls` calls. Returns it and its
/// recording's path.
fn cli_peer(
    dir: &TestDir,
    user: &str,
    port: u16,
    codec: Codec,
    mic: &Path,
    calls: u32,
) -> (CliRun, PathBuf) {
    let rec = dir.join(format!("{user}-heard.wav"));
    let run = Cli::new(user, "listen")
        .args([
            "--aor",
            &format!("sip:{user}@127.0.0.1"),
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args([
            "--codec",
            codec.cli_name(),
            "--max-calls",
            &calls.to_string(),
        ])
        .arg("--audio-in")
        .arg(mic)
        .arg("--audio-out")
        .arg(&rec)
        .spawn(dir);
    (run, rec)
}

#[test]
#[ignore = "needs baresip"]
fn three_way_speech_is_clear_through_the_mix_and_leave_connects_the_others() {
    let dir = TestDir::new("conference-3way");
    let (port, a_port) = (ports::free_port(), ports::free_port());
    let speech = speech::reference(dir.path());
    // Both speak 6 s into their call (by then the three are merged), then stay silent for long
    // enough that nobody hangs up at the end of its file before we leave.
    let talk = dir.join("talk.wav");
    speech::sox(&[
        speech.to_str().unwrap(),
        "-r",
        "8000",
        talk.to_str().unwrap(),
        "pad",
        "6",
        "30",
    ]);
    let (mut a, a_heard) = cli_peer(&dir, "a", a_port, Codec::Pcmu, &talk, 2);
    let mut b = Baresip::builder("b", "unused")
        .name("b")
        .codec(Codec::Pcmu)
        .source(&talk, 0.0)
        .start(&dir);
    let script = format!(
        "dial sip:a@127.0.0.1:{a_port}\nwait-calls 1 10\ndial sip:b@127.0.0.1:{}\nwait-calls 2 10\nconference 1\nlist\nwait 15\nleave\nwait 6\nlist\nquit\n",
        b.sip_port
    );
    let mut cli = session(&dir, &script, port, Path::new("null"), &[Codec::Pcmu]);
    cli.wait_exit(Duration::from_secs(90));
    let out = cli.stdout();

    let conf = cli.events_named("conference");
    assert_eq!(
        conf.first().map(|c| c["parties"].clone()),
        Some(serde_json::json!([2, 1])),
        "{out}"
    );
    assert_eq!(conf[0]["joined"], true, "{out}");
    let lists = cli.events_named("calls");
    let during = lists
        .first()
        .and_then(|l| l["calls"].as_array())
        .cloned()
        .unwrap_or_default();
    assert!(
        during.len() == 2
            && during
                .iter()
                .all(|c| c["conference"] == true && c["parked_since_ms"].is_null()),
        "{out}"
    );
    // Leaving: one is referred to the other with Replaces; both our legs end "transferred".
    let progress: Vec<String> = cli
        .events_named("transfer")
        .iter()
        .map(|e| e["progress"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        progress.last().map(String::as_str),
        Some("connected"),
        "{progress:?}\n{out}\n{}",
        a.stdout()
    );
    let ended = cli.events_named("ended");
    assert!(
        ended.len() == 2 && ended.iter().all(|e| e["reason"] == "transferred"),
        "{out}"
    );
    assert!(
        lists
            .last()
            .and_then(|l| l["calls"].as_array())
            .is_some_and(|c| c.is_empty()),
        "no calls left here: {out}"
    );
    // One was referred to the other: which one is the phone's choice by what each said it can
    // do (our CLI says `Supported: replaces`, baresip 1.0 does not, so B is referred to A).
    // baresip 1.0 as the one referred drops the `Replaces` into the request URI, so A takes its
    // INVITE as a new call; A as the one referred sends a proper `Replaces`, which baresip
    // ignores. Either way A and B end up talking and our legs end "transferred".
    let a_events = a.events();
    let a_calls_b = a_events
        .iter()
        .any(|e| e["event"] == "calling" && e["to"].as_str().is_some_and(|t| t.contains("sip:b@")));
    let b_calls_a = a_events.iter().any(|e| {
        e["event"] == "incoming" && e["from"].as_str().is_some_and(|f| f.contains("sip:b@"))
    });
    assert!(
        a_calls_b || b_calls_a,
        "A and B called each other: {}",
        a.stdout()
    );
    assert!(
        a_events.iter().any(|e| e["event"] == "ended"
            && e["call_id"] == 1
            && (e["reason"] == "transferred" || e["reason"] == "remote_hangup")),
        "A's call with us ended: {}",
        a.stdout()
    );
    assert!(
        b.log().contains("Call established: sip:a@127.0.0.1"),
        "B talks to A:\n{}",
        b.log()
    );

    b.stop();
    a.stop();
    let at_b = b
        .recordings()
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("B recorded nothing:\n{}", b.log()));
    for (who, other, rec) in [("A", "B", a_heard), ("B", "A", at_b)] {
        let score = pesq::score(&speech, &rec, Band::Narrow);
        assert!(
            score >= 3.5,
            "what {who} heard of {other} through the mix scores PESQ {score:.2} (< 3.5): {}",
            rec.display()
        );
    }
}

#[test]
#[ignore = "needs baresip"]
fn five_parties_on_four_codecs_hear_everyone_but_themselves() {
    let dir = TestDir::new("conference-5way");
    let port = ports::free_port();
    const MIC_HZ: f32 = 1000.0;
    // Called in this order; the last one (never parked) is baresip.
    let parties = [
        ("p1", Codec::Pcmu, 500.0f32),
        ("p2", Codec::Pcma, 700.0),
        ("p3", Codec::G722, 1400.0),
        ("p4", Codec::Opus, 1900.0),
    ];
    let mut peers: Vec<(CliRun, PathBuf, u16)> = parties[..3]
        .iter()
        .map(|(name, codec, hz)| {
            let tone = speech::tone(dir.path(), &format!("{name}.wav"), (*hz).into(), 40);
            let p = ports::free_port();
            let (run, rec) = cli_peer(&dir, name, p, *codec, &tone, 1);
            (run, rec, p)
        })
        .collect();
    let tone4 = speech::tone(dir.path(), "p4.wav", parties[3].2.into(), 40);
    let mut p4 = Baresip::builder("p4", "unused")
        .name("p4")
        .codec(Codec::Opus)
        .source(&tone4, 1.0)
        .start(&dir);
    let mut script = String::new();
    let ports: Vec<u16> = peers.iter().map(|p| p.2).chain([p4.sip_port]).collect();
    for (i, (name, _, _)) in parties.iter().enumerate() {
        script.push_str(&format!(
            "dial sip:{name}@127.0.0.1:{}\nwait-calls {} 10\n",
            ports[i],
            i + 1
        ));
    }
    script.push_str("conference 1 2 3\nwait 1\nlist\nwait 5\nleave end\nwait 2\nquit\n");
    let mic = speech::tone(dir.path(), "mic.wav", MIC_HZ.into(), 40);
    let mut cli = session(
        &dir,
        &script,
        port,
        &mic,
        &[Codec::Opus, Codec::G722, Codec::Pcmu, Codec::Pcma],
    );
    cli.wait_exit(Duration::from_secs(90));
    let out = cli.stdout();

    let lists = cli.events_named("calls");
    let calls = lists
        .first()
        .and_then(|l| l["calls"].as_array())
        .cloned()
        .unwrap_or_default();
    let mut codecs: Vec<String> = calls
        .iter()
        .map(|c| c["codec"].as_str().unwrap_or_default().to_string())
        .collect();
    codecs.sort();
    assert_eq!(
        codecs,
        ["g722", "opus", "pcma", "pcmu"],
        "one call per codec: {out}"
    );
    assert!(
        calls.iter().all(|c| c["conference"] == true),
        "all four in the conference: {out}"
    );
    assert_eq!(
        cli.events_named("conference")
            .first()
            .map(|c| c["parties"].as_array().map_or(0, Vec::len)),
        Some(4),
        "{out}"
    );

    p4.stop();
    let mut recs: Vec<PathBuf> = Vec::new();
    for (run, rec, _) in peers.iter_mut() {
        run.wait_exit(Duration::from_secs(10));
        recs.push(rec.clone());
    }
    recs.push(
        p4.recordings()
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("p4 recorded nothing:\n{}", p4.log())),
    );
    let mut hz: Vec<(&str, f32)> = parties.iter().map(|(n, _, h)| (*n, *h)).collect();
    hz.push(("us", MIC_HZ));
    for (i, got) in recs.iter().enumerate() {
        let (name, codec, own) = parties[i];
        let mine = power(got, own);
        for (other, f) in hz.iter().filter(|(n, _)| *n != name) {
            let heard = power(got, *f);
            assert!(
                heard > 1e-6 && heard > 20.0 * mine,
                "{name} ({codec:?}) hears {other} at {heard:e}, its own tone at {mine:e}: {}",
                got.display()
            );
        }
    }
}

#[test]
#[ignore = "needs baresip"]
fn handing_a_conference_of_three_to_one_party_keeps_it_running_there() {
    let dir = TestDir::new("conference-handover");
    let (port, h_port, p1_port) = (ports::free_port(), ports::free_port(), ports::free_port());
    const H_HZ: f64 = 500.0;
    const P1_HZ: f64 = 1400.0;
    const P2_HZ: f64 = 1900.0;
    // P1 and P2 are silent for their calls' first 12 s: by then we have left.
    let late = |name: &str, hz: f64| {
        let tone = speech::tone(dir.path(), &format!("{name}-tone.wav"), hz, 20);
        let padded = dir.join(format!("{name}-late.wav"));
        speech::sox(&[
            tone.to_str().unwrap(),
            padded.to_str().unwrap(),
            "pad",
            "12",
            "0",
        ]);
        padded
    };
    let silence = dir.join("hold-silence.wav");
    speech::sox(&[
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        silence.to_str().unwrap(),
        "trim",
        "0",
        "2",
    ]);
    // H answers our call and then takes the conference over by itself (transfer requests are
    // accepted); silent hold music, so the moment it parks P1 to call P2 adds no tone.
    let h_tone = speech::tone(dir.path(), "h-tone.wav", H_HZ, 60);
    let h_heard = dir.join("h-heard.wav");
    let h_script = dir.write(
        "h-script.txt",
        "wait-ringing 1 20\nanswer\nwait 28\nlist\nquit\n",
    );
    let mut h = Cli::new("h", "session")
        .args([
            "--aor",
            "sip:h@127.0.0.1",
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{h_port}"),
        ])
        .arg("--script")
        .arg(&h_script)
        .arg("--hold-music")
        .arg(&silence)
        .arg("--audio-in")
        .arg(&h_tone)
        .arg("--audio-out")
        .arg(&h_heard)
        .args(["--codec", Codec::Pcmu.cli_name()])
        .spawn(&dir);
    let (mut p1, p1_heard) = cli_peer(&dir, "p1", p1_port, Codec::Pcmu, &late("p1", P1_HZ), 2);
    let mut p2 = Baresip::builder("p2", "unused")
        .name("p2")
        .codec(Codec::Pcmu)
        .source(&late("p2", P2_HZ), 10.0)
        .start(&dir);
    let script = format!(
        "dial sip:h@127.0.0.1:{h_port}\nwait-calls 1 10\ndial sip:p1@127.0.0.1:{p1_port}\nwait-calls 2 10\ndial sip:p2@127.0.0.1:{}\nwait-calls 3 10\n\
         conference 1 2\nwait 1\nlist\nleave to 1\nwait 5\nlist\nquit\n",
        p2.sip_port
    );
    let mut cli = session(&dir, &script, port, Path::new("null"), &[Codec::Pcmu]);
    cli.wait_exit(Duration::from_secs(60));
    let out = cli.stdout();

    // Ours: three parties, then every leg ended "transferred" and nothing left here.
    let lists = cli.events_named("calls");
    let during = lists
        .first()
        .and_then(|l| l["calls"].as_array())
        .cloned()
        .unwrap_or_default();
    assert!(
        during.len() == 3 && during.iter().all(|c| c["conference"] == true),
        "{out}"
    );
    let ended = cli.events_named("ended");
    assert!(
        ended.len() == 3 && ended.iter().all(|e| e["reason"] == "transferred"),
        "every leg ended transferred: {out}\nH:\n{}",
        h.stdout()
    );
    assert!(
        lists
            .last()
            .and_then(|l| l["calls"].as_array())
            .is_some_and(|c| c.is_empty()),
        "no calls left here: {out}"
    );
    assert!(cli.events_named("warning").is_empty(), "{out}");

    // H: in a conference with P1 and P2, its call with us ended.
    h.wait_exit(Duration::from_secs(40));
    let h_out = h.stdout();
    let h_conf = h.events_named("conference");
    assert!(
        h_conf
            .iter()
            .any(|c| c["parties"].as_array().is_some_and(|p| p.len() == 2) && c["joined"] == true),
        "H hosts a conference of two: {h_out}"
    );
    let h_lists = h.events_named("calls");
    let h_calls = h_lists
        .last()
        .and_then(|l| l["calls"].as_array())
        .cloned()
        .unwrap_or_default();
    let mut remotes: Vec<String> = h_calls
        .iter()
        .map(|c| c["remote_uri"].as_str().unwrap_or_default().to_string())
        .collect();
    remotes.sort();
    assert!(
        remotes.len() == 2
            && remotes[0].starts_with("sip:p1@")
            && remotes[1].starts_with("sip:p2@"),
        "H's calls at the end: {remotes:?}\n{h_out}"
    );
    assert!(h_calls.iter().all(|c| c["conference"] == true), "{h_out}");

    p2.stop();
    p1.stop();
    // P1 hears P2 — only possible through H's mix: P2's tone starts after we left — and H;
    // H hears both. (What P2 heard cannot be read: baresip 1.0's `sndfile` writes nothing for
    // a call that got a re-INVITE, and H's merge sends one.)
    let (p2_at_p1, h_at_p1, own) = (
        power(&p1_heard, P2_HZ as f32),
        power(&p1_heard, H_HZ as f32),
        power(&p1_heard, P1_HZ as f32),
    );
    assert!(
        p2_at_p1 > 1e-6 && p2_at_p1 > 20.0 * own,
        "P1 hears P2 at {p2_at_p1:e} (own tone {own:e}): {}",
        p1_heard.display()
    );
    assert!(
        h_at_p1 > 1e-6,
        "P1 hears H at {h_at_p1:e}: {}",
        p1_heard.display()
    );
    let (p1_at_h, p2_at_h, own) = (
        power(&h_heard, P1_HZ as f32),
        power(&h_heard, P2_HZ as f32),
        power(&h_heard, H_HZ as f32),
    );
    assert!(
        p1_at_h > 1e-6 && p2_at_h > 1e-6 && p1_at_h.min(p2_at_h) > 20.0 * own,
        "H hears P1 at {p1_at_h:e}, P2 at {p2_at_h:e}, itself at {own:e}"
    );
}
