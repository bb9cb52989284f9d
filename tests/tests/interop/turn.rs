//! STUN and TURN (RFC 8489/8656) for ICE, against coturn: the phone at home behind a NAT router
//! (network namespaces, nftables masquerade with random ports, `tests/src/netns.rs`) whose
//! firewall lets through only SIP and the TURN server, so no direct media path exists; coturn
//! and a baresip with ICE outside.
//!
//! * `with_the_direct_path_blocked_media_goes_through_coturn`: the account names coturn as its
//!   TURN server; our offer carries host, server-reflexive (the router's address, learned from
//!   coturn's Binding answer) and relayed candidates; ICE picks the pair from our relayed
//!   candidate (coturn made the allocation), the call's media path says "relay → host", each side hears the other's tone,
//!   and the router's firewall counted the direct checks it dropped.
//! * `with_only_tls_out_media_goes_through_coturn_over_tls`: the router lets no UDP out but
//!   SIP's (an office or hotel network that allows TLS only); the account names coturn as
//!   `turns:` with a certificate from a test CA the system trusts (`SSL_CERT_FILE`): the
//!   allocation is made over TLS, the media path is "relay → host", each side hears the other.
//! * `check_over_tls_trusts_the_system_store_and_names_an_unknown_issuer`: `hookflash-cli check`
//!   with a `turns:` server: ready, "reached over TLS", when the test CA is in the system store;
//!   without it, not ready with the certificate's problem named.
//! * `check_reports_the_relay_and_a_refused_turn_password`: `hookflash-cli check` with a TURN
//!   server in the profile allocates as a call would and names the relayed address (ready), and
//!   with a wrong TURN password says why and is not ready.
//! * `a_refused_turn_password_is_named_and_the_call_goes_on`: a wrong TURN password costs the
//!   relayed candidate, the user is told why (the server's 401), and the call still connects over
//!   a direct pair.

use crate::listed_call;
use hookflash_tests::baresip::Codec;
use hookflash_tests::coturn::Coturn;
use hookflash_tests::netns::HomeNat;
use hookflash_tests::wav::hears;
use hookflash_tests::{ports, speech, Baresip, Cli, Kamailio, TestDir};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

const THEIR_HZ: f32 = 700.0;
const OUR_HZ: f32 = 1100.0;

/// A baresip with ICE answering on `ip`, playing its tone.
fn baresip(dir: &TestDir, ip: IpAddr) -> Baresip {
    Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .ice()
        .listen_ip(ip)
        .auto_answer(true)
        .source(&speech::tone(dir.path(), "b.wav", THEIR_HZ.into(), 30), 1.0)
        .start(dir)
}

/// `hookflash-cli session` with an ICE account (`extra` profile lines) dialling baresip at
/// `to`, listing the call after 15 s and hanging up. (baresip 1.0 sends no audio until every
/// one of its checks has ended: those toward our unreachable candidates time out after about
/// 8 s.)
fn call(
    dir: &TestDir,
    profile_extra: &str,
    local_ip: IpAddr,
    to: (IpAddr, u16),
    heard: &Path,
) -> Cli {
    let profile = dir.write(
        "turn.toml",
        &format!("[[account]]\naor = \"sip:me@{local_ip}\"\nregister = false\nlisten = \"{local_ip}:{}\"\nice = true\n{profile_extra}", ports::free_port()),
    );
    let script = dir.write(
        "script.txt",
        &format!(
            "dial sip:b@{}:{}\nwait-calls 1 20\nwait 15\nlist\nhangup all\nwait 1\nquit\n",
            to.0, to.1
        ),
    );
    let mic = speech::tone(dir.path(), "mic.wav", OUR_HZ.into(), 30);
    crate::session_with(
        &["--profile", &profile.to_string_lossy()],
        &script,
        &mic,
        heard,
    )
}

/// The call `cli` made to `b` went through the relay, no warning came, and each side heard the
/// other's tone (`heard`: our recording).
fn heard_both_ways_through_the_relay(
    cli: &mut hookflash_tests::CliRun,
    b: &mut Baresip,
    heard: &Path,
    turn: &Coturn,
    nat: &HomeNat,
) {
    cli.wait_exit(Duration::from_secs(40));
    let out = cli.stdout();
    assert_eq!(
        listed_call(cli)["media_path"],
        "relay → host",
        "the call's media did not go through the TURN server:\n{out}\n{}\n{}\n{}",
        b.log(),
        turn.log(),
        nat.firewall()
    );
    assert!(cli.events_named("warning").is_empty(), "{out}");
    assert!(
        hears(heard, THEIR_HZ, OUR_HZ),
        "we did not hear baresip's tone through the relay:\n{}",
        b.log()
    );
    b.stop();
    let got = b
        .received_wav()
        .unwrap_or_else(|| panic!("baresip recorded nothing:\n{}", b.log()));
    assert!(
        hears(&got, OUR_HZ, THEIR_HZ),
        "baresip did not hear our tone through the relay"
    );
}

#[test]
#[ignore = "needs coturn, baresip and network namespaces: run by cargo xtask test"]
fn with_the_direct_path_blocked_media_goes_through_coturn() {
    let dir = TestDir::new("turn-relay");
    let nat = HomeNat::new(30);
    let outside = IpAddr::V4(nat.outside_ip);
    let turn = Coturn::start(&dir, outside);
    let mut b = baresip(&dir, outside);
    // Only SIP and the TURN server get through the router; baresip's media ports do not.
    nat.only_open_udp_to(nat.outside_ip, &[b.sip_port, turn.addr.port()]);
    let heard = dir.join("heard.wav");
    let mut cli = call(
        &dir,
        &turn.profile_section(),
        IpAddr::V4(nat.home_ip),
        (outside, b.sip_port),
        &heard,
    )
    .in_netns(&nat.home)
    .spawn(&dir);
    heard_both_ways_through_the_relay(&mut cli, &mut b, &heard, &turn, &nat);
    assert!(
        turn.log().contains("ALLOCATE processed, success"),
        "coturn made no allocation:\n{}",
        turn.log()
    );
    // The direct checks were tried and the firewall dropped them (so the relay was needed).
    let dropped = nat.firewall();
    assert!(
        !dropped.contains("packets 0 "),
        "the firewall dropped nothing: was a direct path ever tried?\n{dropped}"
    );
}

#[test]
#[ignore = "needs coturn, baresip and network namespaces: run by cargo xtask test"]
fn with_only_tls_out_media_goes_through_coturn_over_tls() {
    let dir = TestDir::new("turn-tls");
    let nat = HomeNat::new(30);
    let outside = IpAddr::V4(nat.outside_ip);
    let ca = hookflash_tests::tls::generate_with(
        &dir.join("tls"),
        &hookflash_tests::tls::ServerCert::Names(format!("IP:{outside}")),
    );
    let turn = Coturn::start_with_tls(&dir, outside, &ca.server_pem, &ca.server_key);
    let mut b = baresip(&dir, outside);
    // No UDP leaves home but SIP's: not to baresip's media, not to coturn's UDP port.
    nat.only_open_udp_to(nat.outside_ip, &[b.sip_port]);
    let heard = dir.join("heard.wav");
    let mut cli = call(
        &dir,
        &turn.tls_profile_section(),
        IpAddr::V4(nat.home_ip),
        (outside, b.sip_port),
        &heard,
    )
    .env("SSL_CERT_FILE", ca.ca_pem.to_str().unwrap())
    .in_netns(&nat.home)
    .spawn(&dir);
    heard_both_ways_through_the_relay(&mut cli, &mut b, &heard, &turn, &nat);
    let log = turn.log();
    assert!(
        log.contains("ALLOCATE processed, success") && log.contains(", method=TLSv1."),
        "coturn made no allocation over TLS:\n{log}"
    );
}

#[test]
#[ignore = "needs coturn and baresip: run by cargo xtask test"]
fn a_refused_turn_password_is_named_and_the_call_goes_on() {
    let dir = TestDir::new("turn-refused");
    let ip = ports::interface_ip();
    let turn = Coturn::start(&dir, ip);
    let mut b = baresip(&dir, ip);
    let wrong = turn
        .profile_section()
        .replace(&turn.password, "not-the-password");
    let heard = dir.join("heard.wav");
    let mut cli = call(&dir, &wrong, ip, (ip, b.sip_port), &heard).spawn(&dir);
    cli.wait_exit(Duration::from_secs(40));
    let out = cli.stdout();
    let warnings: Vec<String> = cli
        .events_named("warning")
        .iter()
        .map(|w| w["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains(&format!(
            "the TURN server {} refused our user name and password (401)",
            turn.addr
        ))),
        "no warning naming the refused TURN credential: {warnings:?}\n{out}"
    );
    assert!(
        !out.contains("not-the-password"),
        "the TURN password was printed:\n{out}"
    );
    assert_eq!(listed_call(&cli)["media_path"], "host → host", "{out}");
    assert!(
        hears(&heard, THEIR_HZ, OUR_HZ),
        "no audio from baresip:\n{}",
        b.log()
    );
    b.stop();
}

#[test]
#[ignore = "needs coturn and Kamailio: run by cargo xtask test"]
fn check_reports_the_relay_and_a_refused_turn_password() {
    let dir = TestDir::new("turn-check");
    let kam = Kamailio::builder().user("alice", "alice-pw").start(&dir);
    let turn = Coturn::start(&dir, [127, 0, 0, 1].into());
    let profile = |name: &str, turn_section: &str| {
        dir.write(name, &format!("[[account]]\naor = \"sip:alice@127.0.0.1\"\nregistrar = \"{}\"\nice = true\n{turn_section}", kam.registrar_uri("udp")))
    };
    let good = profile("good.toml", &turn.profile_section());
    let mut check = Cli::new("check", "check")
        .arg("--profile")
        .arg(&good)
        .human()
        .password("alice-pw")
        .run(&dir, Duration::from_secs(30));
    let report = check.stdout();
    check.assert_success();
    let relay = format!("relay {}:", turn.addr.ip());
    assert!(
        report.contains("media path    ICE offered;")
            && report.contains(&relay)
            && report.contains("on the TURN server"),
        "{report}\n{}",
        turn.log()
    );
    assert!(report.contains("result        ready"), "{report}");
    // The allocation was given back.
    assert!(
        hookflash_tests::wait_until(Duration::from_secs(5), || turn
            .log()
            .contains("lifetime=0")
            .then_some(()))
        .is_some(),
        "no deallocation:\n{}",
        turn.log()
    );

    let wrong = profile(
        "wrong.toml",
        &turn
            .profile_section()
            .replace(&turn.password, "not-the-password"),
    );
    let mut check = Cli::new("check", "check")
        .arg("--profile")
        .arg(&wrong)
        .human()
        .password("alice-pw")
        .run(&dir, Duration::from_secs(30));
    let report = check.stdout();
    let line = check.assert_failed_with("check failed");
    assert!(
        line.contains(&format!(
            "no media relay from the TURN server {}",
            turn.addr
        )) && line.contains("(401)"),
        "{line}\n{report}"
    );
    assert!(
        report.contains("NOT ready") && !report.contains("not-the-password"),
        "{report}"
    );
}

#[test]
#[ignore = "needs coturn and Kamailio: run by cargo xtask test"]
fn check_over_tls_trusts_the_system_store_and_names_an_unknown_issuer() {
    let dir = TestDir::new("turn-check-tls");
    let kam = Kamailio::builder().user("alice", "alice-pw").start(&dir);
    let ca = hookflash_tests::tls::generate(&dir.join("tls"));
    let turn = Coturn::start_with_tls(&dir, [127, 0, 0, 1].into(), &ca.server_pem, &ca.server_key);
    let profile = dir.write(
        "tls.toml",
        &format!(
            "[[account]]\naor = \"sip:alice@127.0.0.1\"\nregistrar = \"{}\"\nice = true\n{}",
            kam.registrar_uri("udp"),
            turn.tls_profile_section()
        ),
    );
    let mut check = Cli::new("check", "check")
        .arg("--profile")
        .arg(&profile)
        .human()
        .password("alice-pw")
        .env("SSL_CERT_FILE", ca.ca_pem.to_str().unwrap())
        .run(&dir, Duration::from_secs(30));
    let report = check.stdout();
    check.assert_success();
    assert!(
        report.contains("on the TURN server (reached over TLS)")
            && report.contains("result        ready"),
        "{report}\n{}",
        turn.log()
    );
    // The system store without the test CA.
    let mut check = Cli::new("check-untrusted", "check")
        .arg("--profile")
        .arg(&profile)
        .human()
        .password("alice-pw")
        .run(&dir, Duration::from_secs(30));
    let report = check.stdout();
    let line = check.assert_failed_with("check failed");
    assert!(
        line.contains("no media relay from the TURN server turns:")
            && line.contains(
                "the certificate of 127.0.0.1 is not signed by an authority this computer trusts"
            ),
        "{line}\n{report}"
    );
}
