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
    speech::sox(&["-n", "-r", "8000", "-c", "1", "-b", "16", silence.to_str().unwrap(), "trim", "0", "2"]);
    let mut cli = Cli::new("session", "session")
        .args(["--aor", "sip:me@127.0.0.1", "--no-register", "--listen", &format!("127.0.0.1:{port}")])
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
fn cli_peer(dir: &TestDir, user: &str, port: u16, codec: Codec, mic: &Path, calls: u32) -> (CliRun, PathBuf) {
    let rec = dir.join(format!("{user}-heard.wav"));
    let run = Cli::new(user, "listen")
        .args(["--aor", &format!("sip:{user}@127.0.0.1"), "--no-register", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--codec", codec.cli_name(), "--max-calls", &calls.to_string()])
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
    speech::sox(&[speech.to_str().unwrap(), "-r", "8000", talk.to_str().unwrap(), "pad", "6", "30"]);
    let (mut a, a_heard) = cli_peer(&dir, "a", a_port, Codec::Pcmu, &talk, 2);
    let mut b = Baresip::builder("b", "unused").name("b").codec(Codec::Pcmu).source(&talk, 0.0).start(&dir);
    let script = format!(
        "dial sip:a@127.0.0.1:{a_port}\nwait-calls 1 10\ndial sip:b@127.0.0.1:{}\nwait-calls 2 10\nconference 1\nlist\nwait 15\nleave\nwait 6\nlist\nquit\n",
        b.sip_port
    );
    let mut cli = session(&dir, &script, port, Path::new("null"), &[Codec::Pcmu]);
    cli.wait_exit(Duration::from_secs(90));
    let out = cli.stdout();

    let conf = cli.events_named("conference");
    assert_eq!(conf.first().map(|c| c["parties"].clone()), Some(serde_json::json!([2, 1])), "{out}");
    assert_eq!(conf[0]["joined"], true, "{out}");
    let lists = cli.events_named("calls");
    let during = lists.first().and_then(|l| l["calls"].as_array()).cloned().unwrap_or_default();
    assert!(during.len() == 2 && during.iter().all(|c| c["conference"] == true && c["parked_since_ms"].is_null()), "{out}");
    // Leaving: one is referred to the other with Replaces; both our legs end "transferred".
    let progress: Vec<String> = cli.events_named("transfer").iter().map(|e| e["progress"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(progress.last().map(String::as_str), Some("connected"), "{progress:?}\n{out}\n{}", a.stdout());
    let ended = cli.events_named("ended");
    assert!(ended.len() == 2 && ended.iter().all(|e| e["reason"] == "transferred"), "{out}");
    assert!(lists.last().and_then(|l| l["calls"].as_array()).is_some_and(|c| c.is_empty()), "no calls left here: {out}");
    // One was referred to the other: which one is the phone's choice by what each said it can
    // do (our CLI says `Supported: replaces`, baresip 1.0 does not, so B is referred to A).
    // baresip 1.0 as the one referred drops the `Replaces` into the request URI, so A takes its
    // INVITE as a new call; A as the one referred sends a proper `Replaces`, which baresip
    // ignores. Either way A and B end up talking and our legs end "transferred".
    let a_events = a.events();
    let a_calls_b = a_events.iter().any(|e| e["event"] == "calling" && e["to"].as_str().is_some_and(|t| t.contains("sip:b@")));
    let b_calls_a = a_events.iter().any(|e| e["event"] == "incoming" && e["from"].as_str().is_some_and(|f| f.contains("sip:b@")));
    assert!(a_calls_b || b_calls_a, "A and B called each other: {}", a.stdout());
    assert!(
        a_events.iter().any(|e| e["event"] == "ended" && e["call_id"] == 1 && (e["reason"] == "transferred" || e["reason"] == "remote_hangup")),
        "A's call with us ended: {}",
        a.stdout()
    );
    assert!(b.log().contains("Call established: sip:a@127.0.0.1"), "B talks to A:\n{}", b.log());

    b.stop();
    a.stop();
    let at_b = b.recordings().into_iter().next().unwrap_or_else(|| panic!("B recorded nothing:\n{}", b.log()));
    for (who, other, rec) in [("A", "B", a_heard), ("B", "A", at_b)] {
        let score = pesq::score(&speech, &rec, Band::Narrow);
        assert!(score >= 3.5, "what {who} heard of {other} through the mix scores PESQ {score:.2} (< 3.5): {}", rec.display());
    }
}

#[test]
#[ignore = "needs baresip"]
fn five_parties_on_four_codecs_hear_everyone_but_themselves() {
    let dir = TestDir::new("conference-5way");
    let port = ports::free_port();
    const MIC_HZ: f32 = 1000.0;
    // Called in this order; the last one (never parked) is baresip.
    let parties = [("p1", Codec::Pcmu, 500.0f32), ("p2", Codec::Pcma, 700.0), ("p3", Codec::G722, 1400.0), ("p4", Codec::Opus, 1900.0)];
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
    let mut p4 = Baresip::builder("p4", "unused").name("p4").codec(Codec::Opus).source(&tone4, 1.0).start(&dir);
    let mut script = String::new();
    let ports: Vec<u16> = peers.iter().map(|p| p.2).chain([p4.sip_port]).collect();
    for (i, (name, _, _)) in parties.iter().enumerate() {
        script.push_str(&format!("dial sip:{name}@127.0.0.1:{}\nwait-calls {} 10\n", ports[i], i + 1));
    }
    script.push_str("conference 1 2 3\nwait 1\nlist\nwait 5\nleave end\nwait 2\nquit\n");
    let mic = speech::tone(dir.path(), "mic.wav", MIC_HZ.into(), 40);
    let mut cli = session(&dir, &script, port, &mic, &[Codec::Opus, Codec::G722, Codec::Pcmu, Codec::Pcma]);
    cli.wait_exit(Duration::from_secs(90));
    let out = cli.stdout();

    let lists = cli.events_named("calls");
    let calls = lists.first().and_then(|l| l["calls"].as_array()).cloned().unwrap_or_default();
    let mut codecs: Vec<String> = calls.iter().map(|c| c["codec"].as_str().unwrap_or_default().to_string()).collect();
    codecs.sort();
    assert_eq!(codecs, ["g722", "opus", "pcma", "pcmu"], "one call per codec: {out}");
    assert!(calls.iter().all(|c| c["conference"] == true), "all four in the conference: {out}");
    assert_eq!(cli.events_named("conference").first().map(|c| c["parties"].as_array().map_or(0, Vec::len)), Some(4), "{out}");

    p4.stop();
    let mut recs: Vec<PathBuf> = Vec::new();
    for (run, rec, _) in peers.iter_mut() {
        run.wait_exit(Duration::from_secs(10));
        recs.push(rec.clone());
    }
    recs.push(p4.recordings().into_iter().next().unwrap_or_else(|| panic!("p4 recorded nothing:\n{}", p4.log())));
    let mut hz: Vec<(&str, f32)> = parties.iter().map(|(n, _, h)| (*n, *h)).collect();
    hz.push(("us", MIC_HZ));
    for (i, got) in recs.iter().enumerate() {
        let (name, codec, own) = parties[i];
        let mine = power(got, own);
        for (other, f) in hz.iter().filter(|(n, _)| *n != name) {
            let heard = power(got, *f);
            assert!(heard > 1e-6 && heard > 20.0 * mine, "{name} ({codec:?}) hears {other} at {heard:e}, its own tone at {mine:e}: {}", got.display());
        }
    }
}
