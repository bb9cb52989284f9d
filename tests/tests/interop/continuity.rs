//! The README's business-continuity section, followed as a new user would, against the test
//! Kamailio standing in for the provider (a Twilio SIP Domain): its profile file as printed, with
//! only the address of record and the registrar pointed at Kamailio's TLS port; the certificate
//! trusted through the system store (`SSL_CERT_FILE`), no `--tls-ca`.
//!
//! * `the_readme_profile_checks_ready_and_calls_encrypted`: `hookflash-cli --profile … check`
//!   prints one report — TLS verified against the system's roots, registered, NAT, the OPTIONS
//!   probe answered, SRTP required — and exits 0; then a call with the same profile to a baresip
//!   that takes only SRTP is answered encrypted and both sides hear each other; that call's log
//!   at `HOOKFLASH_LOG=debug` (digest REGISTER, SRTP INVITE) holds no password, digest value,
//!   SRTP key or SDP.
//! * `check_names_what_is_wrong`: the same profile against a registrar whose certificate is not
//!   trusted exits non-zero, and the report says the certificate is the problem.

use hookflash_tests::wav::hears;
use hookflash_tests::{speech, Baresip, Cli, Kamailio, TestDir};
use std::path::PathBuf;
use std::time::Duration;

const ALICE_PW: &str = "alice-secret";
const BOB_PW: &str = "bob-secret";
const README: &str = include_str!("../../../README.md");

/// The README's continuity profile, pointed at `registrar` as `sip:alice@127.0.0.1`.
fn readme_profile(dir: &TestDir, registrar: &str) -> PathBuf {
    let start = README
        .find("```toml\n# twilio-continuity.toml")
        .expect("the README shows the continuity profile");
    let block = &README[start + 8..];
    let block = &block[..block.find("```").unwrap()];
    let mut text = String::new();
    for line in block.lines() {
        if line.starts_with("aor = ") {
            text.push_str("aor = \"sip:alice@127.0.0.1\"\n");
        } else if line.starts_with("registrar = ") {
            assert!(
                line.contains(":5061;transport=tls"),
                "the README's registrar is not TLS on 5061: {line}"
            );
            text.push_str(&format!("registrar = \"{registrar}\"\n"));
        } else {
            text.push_str(line);
            text.push('\n');
        }
    }
    let path = dir.join("twilio-continuity.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn the_readme_profile_checks_ready_and_calls_encrypted() {
    let dir = TestDir::new("continuity_readme");
    let kam = Kamailio::builder()
        .user("alice", ALICE_PW)
        .user("bob", BOB_PW)
        .tls(true)
        .start(&dir);
    let ca = kam.ca_pem.clone().expect("TLS CA");
    let profile = readme_profile(&dir, &kam.registrar_uri("tls"));

    let mut check = Cli::new("check", "check")
        .arg("--profile")
        .arg(&profile)
        .human()
        .env("SSL_CERT_FILE", ca.to_str().unwrap())
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(30));
    let report = check.stdout();
    check.assert_success();
    for says in [
        "over TLS",
        "certificate   verified against the system's roots",
        "registration  registered for",
        "NAT           none seen: the registrar sees our own address 127.0.0.1:",
        "answered 200",
        "SRTP required",
        "result        ready",
    ] {
        assert!(
            report.contains(says),
            "the report does not say '{says}':\n{report}"
        );
    }

    // bob takes only encrypted media and plays a tone; the profile's call to him is encrypted.
    let tone_in = speech::tone(dir.path(), "bob-tone.wav", 700.0, 30);
    let mut bob = Baresip::builder("bob", BOB_PW)
        .registrar(kam.port)
        .codec(hookflash_tests::baresip::Codec::Pcmu)
        .mediaenc("srtp-mand")
        .source(&tone_in, 0.0)
        .start(&dir);
    assert!(
        kam.wait_registered("bob", Duration::from_secs(10)),
        "baresip bob did not register\n{}",
        bob.log()
    );
    let (mic, heard) = (
        speech::tone(dir.path(), "mic.wav", 1100.0, 30),
        dir.join("heard.wav"),
    );
    let mut call = Cli::new("call", "call")
        .arg("bob")
        .arg("--profile")
        .arg(&profile)
        .args(["--duration", "4", "--audio-in"])
        .arg(&mic)
        .arg("--audio-out")
        .arg(&heard)
        .env("SSL_CERT_FILE", ca.to_str().unwrap())
        .env("HOOKFLASH_LOG", "debug")
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(30));
    call.assert_success();
    // At debug, through a digest REGISTER and an SRTP INVITE, the log holds none of the secrets.
    let log = call.stderr();
    assert!(
        log.contains("logging with the filter"),
        "the log was not at debug:\n{log}"
    );
    for secret in [
        ALICE_PW,
        "Authorization",
        "nonce=",
        "response=",
        "inline:",
        "a=crypto",
        "m=audio",
    ] {
        assert!(
            !log.contains(secret),
            "'{secret}' in the log at debug:\n{log}"
        );
    }
    let answered = call.expect_event("answered", Duration::from_secs(1));
    assert_eq!(answered["encrypted"], true, "{answered}");
    assert!(
        hears(&heard, 700.0, 1100.0),
        "we did not hear bob's tone through SRTP"
    );
    bob.stop();
    let got = bob
        .received_wav()
        .unwrap_or_else(|| panic!("baresip recorded nothing:\n{}", bob.log()));
    assert!(
        hears(&got, 1100.0, 700.0),
        "bob did not hear our tone through SRTP"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn check_names_what_is_wrong() {
    let dir = TestDir::new("continuity_check_untrusted");
    let kam = Kamailio::builder()
        .user("alice", ALICE_PW)
        .tls(true)
        .start(&dir);
    let profile = readme_profile(&dir, &kam.registrar_uri("tls"));
    // No SSL_CERT_FILE: the test CA is not among the system's roots.
    let mut check = Cli::new("check", "check")
        .arg("--profile")
        .arg(&profile)
        .human()
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(30));
    let report = check.stdout();
    let line = check.assert_failed_with("check failed");
    assert!(line.contains("unknown issuer"), "{line}");
    assert!(
        report.contains("certificate   FAILED") && report.contains("NOT ready"),
        "{report}"
    );
}
