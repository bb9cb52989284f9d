//! DTLS-SRTP (RFC 5763/5764) against baresip's `dtls_srtp` module (`mediaenc=dtls_srtp`):
//!
//! * `we_call_baresip_with_dtls_srtp_and_both_hear_each_other`: we offer `UDP/TLS/RTP/SAVP` with
//!   our certificate's fingerprint (`--srtp dtls`); baresip answers with its own; the handshake on
//!   the media path makes the keys. Speech both ways scores PESQ ≥ 3.5 NB on PCMU and ≥ 4.0 WB on
//!   Opus, which only happens if every packet authenticates and decrypts with keys neither side
//!   sent in the SDP. The call says it is encrypted; at debug the log shows no SDP.
//! * `baresip_calling_with_dtls_srtp_is_answered_in_kind`: baresip offers DTLS-SRTP to a phone
//!   set to clear media: it is answered with DTLS-SRTP (an encrypted offer is answered in kind),
//!   and both hear each other, also after we hold and resume the call (the re-INVITEs keep the
//!   DTLS association and its keys).
//! * `dtls_offered_to_a_phone_without_it_fails_with_a_reason`: `--srtp dtls` toward a plain
//!   baresip: the call does not go ahead in the clear, and the user is told why.

use hookflash_tests::baresip::Codec;
use hookflash_tests::wav::{goertzel_power, hears, read_mono, rms};
use hookflash_tests::{ports, speech, Baresip, Cli, TestDir};
use std::time::Duration;

const THEIR_HZ: f32 = 700.0;
const OUR_HZ: f32 = 1100.0;

#[test]
#[ignore = "needs baresip"]
fn we_call_baresip_with_dtls_srtp_and_both_hear_each_other() {
    crate::encrypted_speech_both_ways(
        "dtls-out",
        "dtls_srtp",
        "dtls",
        &["UDP/TLS/RTP/SAVP", "dtls"],
        &["a=fingerprint", "m=audio", "encryption failed"],
    );
}

#[test]
#[ignore = "needs baresip"]
fn baresip_calling_with_dtls_srtp_is_answered_in_kind() {
    let dir = TestDir::new("dtls-in");
    let heard = dir.join("heard.wav");
    let port = ports::free_port();
    let mic = speech::tone(dir.path(), "mic.wav", OUR_HZ.into(), 30);
    let script = dir.write("script.txt", "wait-ringing 1 20\nanswer\nwait 3\nhold 1\nwait 1\nresume 1\nwait 3\nlist\nhangup all\nwait 1\nquit\n");
    let mut cli = Cli::new("session", "session")
        .args([
            "--aor",
            "sip:me@127.0.0.1",
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--codec", "pcmu", "--srtp", "off", "--script"])
        .arg(&script)
        .arg("--audio-in")
        .arg(&mic)
        .arg("--audio-out")
        .arg(&heard)
        .spawn(&dir);
    let mut a = Baresip::builder("a", "unused")
        .codec(Codec::Pcmu)
        .mediaenc("dtls_srtp")
        .source(&speech::tone(dir.path(), "a.wav", THEIR_HZ.into(), 30), 1.0)
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
        "we did not hear baresip's tone through DTLS-SRTP:\n{}",
        a.log()
    );
    // After the hold and the resume: the last 1.5 s of what we heard is still baresip's tone.
    let (samples, rate) = read_mono(&heard);
    let tail = &samples[samples.len().saturating_sub(rate as usize * 3 / 2)..];
    let (theirs, ours) = (
        goertzel_power(tail, rate, THEIR_HZ),
        goertzel_power(tail, rate, OUR_HZ),
    );
    assert!(
        rms(tail) > 0.01 && theirs > 20.0 * ours,
        "after resume we hear nothing of baresip (rms {}, tone {theirs:.3e} vs {ours:.3e})",
        rms(tail)
    );
    assert!(cli.events_named("warning").is_empty(), "{out}");
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
fn dtls_offered_to_a_phone_without_it_fails_with_a_reason() {
    let dir = TestDir::new("dtls-to-clear");
    let b = Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .start(&dir);
    let mut cli = Cli::new("cli", "call")
        .arg(format!("sip:b@127.0.0.1:{}", b.sip_port))
        .args([
            "--aor",
            "sip:me@127.0.0.1",
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{}", ports::free_port()),
        ])
        .args(["--codec", "pcmu", "--srtp", "dtls", "--duration", "3"])
        .args(["--audio-in", "null", "--audio-out", "null"])
        .spawn(&dir);
    cli.wait_exit(Duration::from_secs(30));
    let out = cli.stdout();
    assert!(
        cli.events_named("answered")
            .iter()
            .all(|a| a["encrypted"] == true),
        "a clear call went ahead:\n{out}"
    );
    let said = format!("{out}\n{}", cli.stderr());
    assert!(
        said.contains("DTLS-SRTP was offered")
            || said.contains("488")
            || said.contains("Not Acceptable"),
        "no reason given:\n{said}"
    );
}
