//! Calls between hookflash-cli and baresip through Kamailio (MD5 digest): both directions,
//! PCMU and Opus, speech quality scored with PESQ on both ends, and RFC 4733 DTMF both ways.
//! `baresip_to_baresip_reference` validates the harness without the CLI and gives the
//! reference figures for the same path.

use hookflash_tests::baresip::Codec;
use hookflash_tests::pesq::{self, Band};
use hookflash_tests::{ports, speech, Baresip, Cli, Kamailio, TestDir};
use std::path::{Path, PathBuf};
use std::time::Duration;

const ALICE_PW: &str = "alice-secret";
const BOB_PW: &str = "bob-secret";

/// PESQ floors: narrowband for G.711, wideband for Opus and G.722.
fn floor(codec: Codec) -> (Band, f64) {
    match codec {
        Codec::Pcmu | Codec::Pcma => (Band::Narrow, 3.5),
        Codec::Opus => (Band::Wide, 4.0),
        Codec::G722 => (Band::Wide, 3.8),
    }
}

fn kamailio(dir: &TestDir) -> Kamailio {
    Kamailio::builder()
        .user("alice", ALICE_PW)
        .user("bob", BOB_PW)
        .start(dir)
}

/// bob on baresip, registered, auto-answering, playing `source` (or silence).
fn bob(
    dir: &TestDir,
    kam: &Kamailio,
    codec: Codec,
    source: Option<(&Path, f32)>,
    dial: Option<&str>,
) -> Baresip {
    let mut b = Baresip::builder("bob", BOB_PW)
        .registrar(kam.port)
        .codec(codec);
    if let Some((wav, pad)) = source {
        b = b.source(wav, pad);
    }
    if let Some(uri) = dial {
        b = b.dial(uri);
    }
    let bob = b.start(dir);
    if dial.is_none() {
        assert!(
            kam.wait_registered("bob", Duration::from_secs(10)),
            "baresip bob did not register\n{}",
            bob.log()
        );
    }
    bob
}

/// CLI account flags for alice at `kam`, listening on a fresh port.
fn alice_args(kam: &Kamailio) -> Vec<String> {
    vec![
        "--aor".into(),
        "sip:alice@127.0.0.1".into(),
        "--registrar".into(),
        kam.registrar_uri("udp"),
        "--listen".into(),
        format!("127.0.0.1:{}", ports::free_port()),
    ]
}

fn assert_wav_rate(path: &Path, rate: u32) {
    let r = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(
        r.spec().sample_rate,
        rate,
        "{} should be {rate} Hz",
        path.display()
    );
    assert_eq!(r.spec().channels, 1, "{} should be mono", path.display());
}

fn baresip_received(bob: &mut Baresip) -> PathBuf {
    bob.stop(); // closes the sndfile dump
    bob.received_wav()
        .unwrap_or_else(|| panic!("baresip wrote no dump-*-dec.wav in {}", bob.dir.display()))
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn baresip_to_baresip_reference() {
    let dir = TestDir::new("baresip_to_baresip_reference");
    let speech = speech::reference(dir.path());
    let kam = kamailio(&dir);
    for codec in [Codec::Pcmu, Codec::Opus] {
        let (band, min) = floor(codec);
        let tag = codec.cli_name();
        let mut callee = Baresip::builder("bob", BOB_PW)
            .name(&format!("bob-{tag}"))
            .registrar(kam.port)
            .codec(codec)
            .source(&speech, 3.0)
            .start(&dir);
        assert!(
            callee.wait_registered(Duration::from_secs(10)),
            "bob did not register\n{}",
            callee.log()
        );
        let mut caller = Baresip::builder("alice", ALICE_PW)
            .name(&format!("alice-{tag}"))
            .registrar(kam.port)
            .codec(codec)
            .source(&speech, 0.5)
            .dial("sip:bob@127.0.0.1")
            .start(&dir);
        assert!(
            caller.wait_established(Duration::from_secs(10)),
            "call not established\n{}",
            caller.log()
        );
        // alice's source ends after the speech + 0.5 s, and baresip then hangs up.
        assert!(
            caller.wait_call_ended(Duration::from_secs(20)),
            "call did not end\n{}",
            caller.log()
        );
        // The caller's BYE must reach the callee through Kamailio's record-route.
        assert!(
            callee.wait_call_ended(Duration::from_secs(5)),
            "BYE did not reach bob\n{}",
            callee.log()
        );
        assert!(
            kam.looped_requests().is_empty(),
            "Kamailio looped requests: {:#?}",
            kam.looped_requests()
        );
        let at_bob = baresip_received(&mut callee);
        let at_alice = baresip_received(&mut caller);
        let s_bob = pesq::score(&speech, &at_bob, band);
        let s_alice = pesq::score(&speech, &at_alice, band);
        eprintln!("REFERENCE baresip<->baresip {tag} {band:?}: alice->bob {s_bob:.3}, bob->alice {s_alice:.3}");
        assert!(
            s_bob >= min && s_alice >= min,
            "{tag}: PESQ {s_bob:.3}/{s_alice:.3} below {min}"
        );
    }
}

fn cli_calls_baresip(codec: Codec) {
    let tag = codec.cli_name();
    let dir = TestDir::new(&format!("cli_calls_baresip_{tag}"));
    let speech = speech::reference(dir.path());
    let kam = kamailio(&dir);
    let mut bob = bob(&dir, &kam, codec, Some((&speech, 5.0)), None);
    let rx = dir.join("rx.wav");
    let mut cli = Cli::new("cli", "call")
        .arg("sip:bob@127.0.0.1")
        .args(alice_args(&kam))
        .args(["--codec", tag, "--duration", "8"])
        .arg("--audio-in")
        .arg(&speech)
        .arg("--audio-out")
        .arg(&rx)
        .password(ALICE_PW)
        .spawn(&dir);
    cli.expect_event("registered", Duration::from_secs(10));
    let answered = cli.expect_event("answered", Duration::from_secs(10));
    assert_eq!(answered["codec"], tag, "negotiated codec: {answered}");
    cli.wait_exit(Duration::from_secs(25));
    cli.assert_success();
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "local_hangup", "{ended}");

    let (band, min) = floor(codec);
    assert_wav_rate(&rx, codec.format().0);
    let at_cli = pesq::score(&speech, &rx, band);
    let at_bob = pesq::score(&speech, &baresip_received(&mut bob), band);
    eprintln!("CLI->baresip {tag}: received by CLI {at_cli:.3}, received by baresip {at_bob:.3}");
    assert!(
        at_cli >= min,
        "PESQ of what the CLI received: {at_cli:.3} < {min}"
    );
    assert!(
        at_bob >= min,
        "PESQ of what baresip received from the CLI: {at_bob:.3} < {min}"
    );
}

fn baresip_calls_cli(codec: Codec) {
    let tag = codec.cli_name();
    let dir = TestDir::new(&format!("baresip_calls_cli_{tag}"));
    let speech = speech::reference(dir.path());
    let kam = kamailio(&dir);
    let rx = dir.join("rx.wav");
    // The CLI's own speech is followed by 4 s of silence so that baresip (speech + 1 s) is the
    // one that hangs up, whatever the CLI does when its input file ends.
    let cli_in = speech::convert(&speech, &dir.join("cli-in.wav"), 48000, 1, 4.0);
    let mut cli = Cli::new("cli", "listen")
        .args(alice_args(&kam))
        .args(["--codec", tag, "--max-calls", "1"])
        .arg("--audio-in")
        .arg(&cli_in)
        .arg("--audio-out")
        .arg(&rx)
        .password(ALICE_PW)
        .spawn(&dir);
    cli.expect_event("registered", Duration::from_secs(10));
    // bob's source ends after speech + 1 s; baresip then hangs up.
    let mut bob = bob(
        &dir,
        &kam,
        codec,
        Some((&speech, 1.0)),
        Some("sip:alice@127.0.0.1"),
    );
    let incoming = cli.expect_event("incoming", Duration::from_secs(10));
    assert!(
        incoming["from"]
            .as_str()
            .is_some_and(|f| f.contains("bob@127.0.0.1")),
        "{incoming}"
    );
    let answered = cli.expect_event("answered", Duration::from_secs(5));
    assert_eq!(answered["codec"], tag, "{answered}");
    cli.wait_exit(Duration::from_secs(25));
    cli.assert_success();
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");

    let (band, min) = floor(codec);
    assert_wav_rate(&rx, codec.format().0);
    let at_cli = pesq::score(&speech, &rx, band);
    let at_bob = pesq::score(&speech, &baresip_received(&mut bob), band);
    eprintln!("baresip->CLI {tag}: received by CLI {at_cli:.3}, received by baresip {at_bob:.3}");
    assert!(
        at_cli >= min,
        "PESQ of what the CLI received: {at_cli:.3} < {min}"
    );
    assert!(
        at_bob >= min,
        "PESQ of what baresip received from the CLI: {at_bob:.3} < {min}"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn cli_calls_baresip_pcmu() {
    cli_calls_baresip(Codec::Pcmu);
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn cli_calls_baresip_opus() {
    cli_calls_baresip(Codec::Opus);
}

/// G.722 against baresip's spandsp-based codec: checks our bitstream, the 8000 Hz RTP clock
/// with 16 kHz audio, and the wideband path both ways.
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn cli_calls_baresip_g722() {
    cli_calls_baresip(Codec::G722);
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn baresip_calls_cli_g722() {
    baresip_calls_cli(Codec::G722);
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn baresip_calls_cli_pcmu() {
    baresip_calls_cli(Codec::Pcmu);
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn baresip_calls_cli_opus() {
    baresip_calls_cli(Codec::Opus);
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn dtmf_from_cli_reaches_baresip() {
    let dir = TestDir::new("dtmf_from_cli_reaches_baresip");
    let kam = kamailio(&dir);
    let bob = bob(&dir, &kam, Codec::Pcmu, None, None);
    let mut cli = Cli::new("cli", "call")
        .arg("sip:bob@127.0.0.1")
        .args(alice_args(&kam))
        .args([
            "--codec",
            "pcmu",
            "--dtmf",
            "123#",
            "--duration",
            "5",
            "--audio-in",
            "null",
            "--audio-out",
            "null",
        ])
        .password(ALICE_PW)
        .spawn(&dir);
    cli.expect_event("answered", Duration::from_secs(15));
    cli.wait_exit(Duration::from_secs(20));
    cli.assert_success();
    let got = bob.received_dtmf();
    assert_eq!(
        got,
        "123#",
        "digits baresip received (RFC 4733 end events)\n{}",
        bob.log()
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn dtmf_from_baresip_reaches_cli() {
    let dir = TestDir::new("dtmf_from_baresip_reaches_cli");
    let kam = kamailio(&dir);
    let mut cli = Cli::new("cli", "listen")
        .args(alice_args(&kam))
        .args([
            "--codec",
            "pcmu",
            "--max-calls",
            "1",
            "--duration",
            "6",
            "--audio-in",
            "null",
            "--audio-out",
            "null",
        ])
        .password(ALICE_PW)
        .spawn(&dir);
    cli.expect_event("registered", Duration::from_secs(10));
    let bob = bob(&dir, &kam, Codec::Pcmu, None, Some("sip:alice@127.0.0.1"));
    cli.expect_event("answered", Duration::from_secs(10));
    assert!(
        bob.wait_established(Duration::from_secs(5)),
        "baresip: no call\n{}",
        bob.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    bob.send_dtmf("45*9");
    cli.wait_exit(Duration::from_secs(15));
    cli.assert_success();
    let digits: String = cli
        .events_named("dtmf")
        .iter()
        .filter_map(|e| e["digit"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        digits,
        "45*9",
        "dtmf events from the CLI:\n{}",
        cli.stdout()
    );
}
