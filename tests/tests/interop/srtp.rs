//! SRTP keyed by SDES (RFC 4568) against baresip's `srtp` module:
//!
//! * `we_call_baresip_with_mandatory_srtp_and_both_hear_each_other`: we offer `RTP/SAVP` (`--srtp
//!   mandatory`) to a baresip that takes only encrypted media (`mediaenc=srtp-mand`); speech both
//!   ways scores PESQ ≥ 3.5 NB on PCMU and ≥ 4.0 WB on Opus, which only happens if the other's
//!   packets authenticate and decrypt with the keys the SDP carried. The call says it is
//!   encrypted, and its log at debug holds neither SDP nor keys.
//! * `encrypted_audio_cannot_be_read_on_the_wire`: the same call through a tap (a SIP forwarder
//!   routing the media through a relay that keeps what it relays): read as PCMU, the captured
//!   payloads show our tone in a clear call and nothing but noise in an encrypted one.
//! * `baresip_offering_a_key_on_rtp_avp_gets_encrypted_media`: baresip calls us with a key on
//!   `RTP/AVP` (`mediaenc=srtp`, "best effort"); with `--srtp optional` we answer with our key and
//!   both directions are SRTP (baresip, once it has our key, reads our packets as SRTP: clear ones
//!   would fail its authentication and it would record silence).
//! * `mandatory_encryption_refuses_a_clear_caller`: a plain baresip calls a phone with `--srtp
//!   mandatory`: refused with 488 and a warning that says why.

use hookflash_tests::baresip::Codec;
use hookflash_tests::relay::sip::SipForwarder;
use hookflash_tests::relay::{RelayConfig, RtpRelay};
use hookflash_tests::wav::{band_energy_fraction, hears};
use hookflash_tests::{ports, speech, Baresip, Cli, CliRun, TestDir};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const THEIR_HZ: f32 = 700.0;
const OUR_HZ: f32 = 1100.0;

fn tone(dir: &TestDir, name: &str, hz: f32) -> PathBuf {
    speech::tone(dir.path(), name, hz.into(), 30)
}

fn session(
    dir: &TestDir,
    script: &str,
    port: u16,
    srtp: &str,
    mic: &Path,
    speaker: &Path,
) -> CliRun {
    let script = dir.write("script.txt", script);
    Cli::new("session", "session")
        .args([
            "--aor",
            "sip:me@127.0.0.1",
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--codec", "pcmu", "--srtp", srtp, "--script"])
        .arg(&script)
        .arg("--audio-in")
        .arg(mic)
        .arg("--audio-out")
        .arg(speaker)
        .spawn(dir)
}

#[test]
#[ignore = "needs baresip"]
fn we_call_baresip_with_mandatory_srtp_and_both_hear_each_other() {
    crate::encrypted_speech_both_ways(
        "srtp-mandatory-out",
        "srtp-mand",
        "mandatory",
        &["RTP/SAVP", "srtp"],
        &["inline:", "a=crypto", "m=audio"],
    );
}

#[test]
#[ignore = "needs baresip"]
fn baresip_offering_a_key_on_rtp_avp_gets_encrypted_media() {
    let dir = TestDir::new("srtp-optional-in");
    let heard = dir.join("heard.wav");
    let port = ports::free_port();
    let script = "wait-ringing 1 20\nanswer\nwait 4\nlist\nhangup all\nwait 1\nquit\n";
    let mut cli = session(
        &dir,
        script,
        port,
        "optional",
        &tone(&dir, "mic.wav", OUR_HZ),
        &heard,
    );
    let mut a = Baresip::builder("a", "unused")
        .codec(Codec::Pcmu)
        .mediaenc("srtp")
        .source(&tone(&dir, "a.wav", THEIR_HZ), 1.0)
        .dial(&format!("sip:me@127.0.0.1:{port}"))
        .start(&dir);
    cli.wait_exit(Duration::from_secs(40));
    let out = cli.stdout();
    let lists = cli.events_named("calls");
    let calls = lists
        .last()
        .and_then(|l| l["calls"].as_array().cloned())
        .unwrap_or_default();
    assert_eq!(calls.len(), 1, "{out}");
    assert_eq!(calls[0]["encrypted"], true, "{out}");
    assert!(
        hears(&heard, THEIR_HZ, OUR_HZ),
        "we did not hear baresip's tone through SRTP"
    );
    a.stop();
    let got = a
        .received_wav()
        .unwrap_or_else(|| panic!("baresip recorded nothing:\n{}", a.log()));
    assert!(
        hears(&got, OUR_HZ, THEIR_HZ),
        "baresip did not hear our tone: our SRTP did not authenticate or decrypt"
    );
}

#[test]
#[ignore = "needs baresip"]
fn mandatory_encryption_refuses_a_clear_caller() {
    let dir = TestDir::new("srtp-refuses-clear");
    let port = ports::free_port();
    let mut cli = session(
        &dir,
        "wait 6\nlist\nquit\n",
        port,
        "mandatory",
        Path::new("null"),
        Path::new("null"),
    );
    let a = Baresip::builder("a", "unused")
        .codec(Codec::Pcmu)
        .dial(&format!("sip:me@127.0.0.1:{port}"))
        .start(&dir);
    cli.wait_exit(Duration::from_secs(30));
    let out = cli.stdout();
    let warnings = cli.events_named("warning");
    let refused = warnings
        .iter()
        .find(|w| w["message"].as_str().unwrap_or_default().contains("488"))
        .unwrap_or_else(|| panic!("no refusal reported:\n{out}"));
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("unencrypted media") && message.contains("requires encryption"),
        "{message}"
    );
    assert!(
        cli.events_named("incoming").is_empty(),
        "the clear call rang: {out}"
    );
    assert!(
        a.log().contains("488"),
        "baresip was not refused with 488:\n{}",
        a.log()
    );
}

/// The share of the energy at `hz` in what a capture of our packets shows, reading each RTP
/// payload (PCMU, no CSRC or extension) as audio: high for our tone in the clear, the level of
/// noise when the payloads are encrypted.
fn tone_on_the_wire(packets: &[Vec<u8>], hz: f32) -> f32 {
    let samples: Vec<f32> = packets
        .iter()
        .filter(|p| p.len() > 12 && p[0] == 0x80 && p[1] & 0x7f == 0)
        .flat_map(|p| {
            p[12..]
                .iter()
                .map(|b| f32::from(hookflash_media::g711::ulaw_to_linear(*b)) / 32768.0)
        })
        .collect();
    band_energy_fraction(&samples, 8000, hz - 50.0, hz + 50.0)
}

/// We call baresip through a SIP forwarder that routes the media through a relay (the tap);
/// returns how much of our tone the tap's capture of our packets shows.
fn tapped_call(name: &str, encrypted: bool) -> f32 {
    let dir = TestDir::new(name);
    let mut b = Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .source(&tone(&dir, "b.wav", THEIR_HZ), 1.0);
    if encrypted {
        b = b.mediaenc("srtp-mand");
    }
    let mut b = b.start(&dir);
    let ip = "127.0.0.1".parse().unwrap();
    let relay = Arc::new(RtpRelay::start(ip, RelayConfig::transparent()).expect("relay"));
    let tap = SipForwarder::start(
        ip,
        SocketAddr::new(ip, b.sip_port),
        relay.clone(),
        Some(dir.join("sip.log")),
    )
    .expect("forwarder");
    let mut cli = Cli::new("cli", "call")
        .arg(format!("sip:b@{}", tap.addr()))
        .args([
            "--aor",
            "sip:me@127.0.0.1",
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{}", ports::free_port()),
        ])
        .args([
            "--codec",
            "pcmu",
            "--srtp",
            if encrypted { "mandatory" } else { "off" },
            "--duration",
            "4",
        ])
        .arg("--audio-in")
        .arg(tone(&dir, "mic.wav", OUR_HZ))
        .args(["--audio-out", "null"])
        .spawn(&dir);
    cli.wait_exit(Duration::from_secs(30));
    cli.assert_success();
    let answered = cli.expect_event("answered", Duration::from_secs(1));
    assert_eq!(answered["encrypted"], encrypted, "{answered}");
    b.stop();
    // The far end heard us: the packets the tap saw were the call's audio.
    let got = b
        .received_wav()
        .unwrap_or_else(|| panic!("baresip recorded nothing:\n{}", b.log()));
    assert!(
        hears(&got, OUR_HZ, THEIR_HZ),
        "baresip did not hear our tone through the tap"
    );
    let ours = relay.rtp.captured(true);
    assert!(
        ours.len() > 100,
        "the tap saw only {} of our packets",
        ours.len()
    );
    tone_on_the_wire(&ours, OUR_HZ)
}

/// A capture on the wire finds our tone in a clear call (so the tap can tell) and not in an
/// encrypted one.
#[test]
#[ignore = "needs baresip"]
fn encrypted_audio_cannot_be_read_on_the_wire() {
    let clear = tapped_call("srtp-wire-clear", false);
    let secret = tapped_call("srtp-wire-encrypted", true);
    eprintln!("share of our tone's band in the captured payloads: clear {clear:.3}, encrypted {secret:.3}");
    assert!(
        clear > 0.5,
        "the tap did not find our tone in a clear call ({clear:.3}): it could not tell either way"
    );
    assert!(
        secret < 0.1,
        "our tone is readable on the wire of an encrypted call ({secret:.3})"
    );
}
