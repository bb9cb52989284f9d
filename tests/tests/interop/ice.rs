//! ICE (RFC 8445, SDP per RFC 8839) against baresip's `ice` module (`medianat=ice`). baresip
//! gathers no loopback candidates and ignores loopback ones, so our side listens on this
//! machine's interface address (traffic to it stays on the machine):
//!
//! * `baresip_offering_ice_is_answered_with_ice_over_the_checked_pair`: baresip's offer carries
//!   its credentials and candidates; a phone with default settings answers with its own, both
//!   run connectivity checks, and the call's media goes over the pair they agreed on (the call
//!   listing says "host → host"); each side hears the other's tone.
//! * `we_offer_ice_with_the_account_setting`: an account with `ice = true` offers ICE (RTP and
//!   RTCP candidates, no rtcp-mux); baresip answers with ICE, both components' checks succeed
//!   (baresip says its media NAT is connected), the pair is picked and both hear each other, also
//!   after a hold and resume (the re-INVITEs keep the credentials: no ICE restart).

use crate::listed_call;
use hookflash_tests::baresip::Codec;
use hookflash_tests::wav::{goertzel_power, hears, read_mono, rms};
use hookflash_tests::{ports, speech, Baresip, TestDir};
use std::time::Duration;

const THEIR_HZ: f32 = 700.0;
const OUR_HZ: f32 = 1100.0;

#[test]
#[ignore = "needs baresip"]
fn baresip_offering_ice_is_answered_with_ice_over_the_checked_pair() {
    let dir = TestDir::new("ice-in");
    let heard = dir.join("heard.wav");
    let (ip, port) = (ports::interface_ip(), ports::free_port());
    let mic = speech::tone(dir.path(), "mic.wav", OUR_HZ.into(), 30);
    let script = dir.write(
        "script.txt",
        "wait-ringing 1 20\nanswer\nwait 4\nlist\nhangup all\nwait 1\nquit\n",
    );
    let mut cli = crate::session_with(
        &[
            "--aor",
            &format!("sip:me@{ip}"),
            "--no-register",
            "--listen",
            &format!("{ip}:{port}"),
        ],
        &script,
        &mic,
        &heard,
    )
    .spawn(&dir);
    let mut b = Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .ice()
        .source(&speech::tone(dir.path(), "b.wav", THEIR_HZ.into(), 30), 1.0)
        .dial(&format!("sip:me@{ip}:{port}"))
        .start(&dir);
    cli.wait_exit(Duration::from_secs(40));
    let call = listed_call(&cli);
    assert_eq!(
        call["media_path"],
        "host → host",
        "no ICE pair for the call:\n{}\n{}",
        cli.stdout(),
        b.log()
    );
    assert!(cli.events_named("warning").is_empty(), "{}", cli.stdout());
    assert!(
        hears(&heard, THEIR_HZ, OUR_HZ),
        "we did not hear baresip's tone over the ICE pair:\n{}",
        b.log()
    );
    b.stop();
    let got = b
        .received_wav()
        .unwrap_or_else(|| panic!("baresip recorded nothing:\n{}", b.log()));
    assert!(
        hears(&got, OUR_HZ, THEIR_HZ),
        "baresip did not hear our tone"
    );
    assert!(
        b.log().contains("mnat 'ice' connected"),
        "baresip's ICE did not complete:\n{}",
        b.log()
    );
}

#[test]
#[ignore = "needs baresip"]
fn we_offer_ice_with_the_account_setting() {
    let dir = TestDir::new("ice-out");
    let heard = dir.join("heard.wav");
    let mut b = Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .ice()
        .auto_answer(true)
        .source(&speech::tone(dir.path(), "b.wav", THEIR_HZ.into(), 30), 1.0)
        .start(&dir);
    let profile = dir.write(
        "ice.toml",
        &format!("[[account]]\naor = \"sip:me@{ip}\"\nregister = false\nlisten = \"{ip}:{}\"\nice = true\n", ports::free_port(), ip = ports::interface_ip()),
    );
    let script = dir.write(
        "script.txt",
        &format!("dial sip:b@127.0.0.1:{}\nwait-calls 1 20\nwait 3\nhold 1\nwait 1\nresume 1\nwait 3\nlist\nhangup all\nwait 1\nquit\n", b.sip_port),
    );
    let mic = speech::tone(dir.path(), "mic.wav", OUR_HZ.into(), 30);
    let mut cli = crate::session_with(
        &["--profile", &profile.to_string_lossy()],
        &script,
        &mic,
        &heard,
    )
    .spawn(&dir);
    cli.wait_exit(Duration::from_secs(40));
    let call = listed_call(&cli);
    assert_eq!(
        call["media_path"],
        "host → host",
        "no ICE pair for the call:\n{}\n{}",
        cli.stdout(),
        b.log()
    );
    assert!(cli.events_named("warning").is_empty(), "{}", cli.stdout());
    assert!(
        hears(&heard, THEIR_HZ, OUR_HZ),
        "we did not hear baresip's tone over the ICE pair:\n{}",
        b.log()
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
    assert!(
        b.log().contains("mnat 'ice' connected"),
        "baresip's ICE did not complete:\n{}",
        b.log()
    );
    b.stop();
    let got = b
        .received_wav()
        .unwrap_or_else(|| panic!("baresip recorded nothing:\n{}", b.log()));
    assert!(
        hears(&got, OUR_HZ, THEIR_HZ),
        "baresip did not hear our tone"
    );
}
