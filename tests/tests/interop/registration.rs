//! Registration of hookflash-cli at Kamailio: MD5 and SHA-256 digest, refresh, un-REGISTER,
//! refused credentials, unreachable registrar, TLS with and without the test CA, SIP outbound
//! (RFC 5626), and robustness of the CLI's SIP socket against garbage.

use hookflash_tests::kamailio::is_unregister_line;
use hookflash_tests::tls::ServerCert;
use hookflash_tests::{ports, sip_probe, Cli, Digest, Kamailio, TestDir};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const PW: &str = "alice-secret";

fn kam(dir: &TestDir, digest: Digest) -> Kamailio {
    Kamailio::builder()
        .user("alice", PW)
        .digest(digest)
        .start(dir)
}

/// `register` as alice at `registrar`, listening on a fresh port.
fn register(registrar: &str) -> Cli {
    Cli::new("cli", "register").args([
        "--aor".to_string(),
        "sip:alice@127.0.0.1".into(),
        "--registrar".into(),
        registrar.to_string(),
        "--listen".into(),
        format!("127.0.0.1:{}", ports::free_port()),
    ])
}

/// Registers with `--duration 0`, checks events and what Kamailio saved.
fn register_once(digest: Digest, name: &str) {
    let dir = TestDir::new(name);
    let kam = kam(&dir, digest);
    let mut cli = register(&kam.registrar_uri("udp"))
        .args(["--duration", "0"])
        .password(PW)
        .run(&dir, Duration::from_secs(20));
    cli.assert_success();
    let reg = cli.expect_event("registered", Duration::from_secs(1));
    assert_eq!(reg["aor"], "sip:alice@127.0.0.1", "{reg}");
    assert!(reg["expires"].as_u64().is_some_and(|e| e > 0), "{reg}");
    cli.expect_event("unregistered", Duration::from_secs(1));
    let saved = kam.saved_registrations("alice");
    assert!(
        saved.iter().any(|l| !is_unregister_line(l)),
        "Kamailio saved no registration:\n{}",
        kam.log()
    );
    assert!(
        saved.last().is_some_and(|l| is_unregister_line(l)),
        "last REGISTER was not an un-REGISTER: {saved:#?}"
    );
    // Digest was required: the first REGISTER got a challenge.
    assert!(
        kam.log().contains("HF-CHALLENGE user=alice"),
        "Kamailio never challenged:\n{}",
        kam.log()
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn registers_with_md5_digest() {
    register_once(Digest::Md5, "registers_with_md5_digest");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn registers_with_sha256_digest() {
    register_once(Digest::Sha256, "registers_with_sha256_digest");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn registers_over_tcp() {
    let dir = TestDir::new("registers_over_tcp");
    let kam = kam(&dir, Digest::Md5);
    let mut cli = register(&kam.registrar_uri("tcp"))
        .args(["--duration", "0"])
        .password(PW)
        .run(&dir, Duration::from_secs(20));
    cli.assert_success();
    let saved = kam.saved_registrations("alice");
    assert!(
        saved
            .iter()
            .any(|l| !is_unregister_line(l) && l.contains("proto=tcp")),
        "no TCP registration saved: {saved:#?}"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn refreshes_before_expiry() {
    let dir = TestDir::new("refreshes_before_expiry");
    let kam = kam(&dir, Digest::Md5);
    let start = Instant::now();
    let mut cli = register(&kam.registrar_uri("udp"))
        .args(["--expires", "10", "--duration", "25"])
        .password(PW)
        .run(&dir, Duration::from_secs(45));
    cli.assert_success();
    assert!(
        start.elapsed() >= Duration::from_secs(24),
        "exited after {:?}, before --duration 25",
        start.elapsed()
    );
    let saved = kam.saved_registrations("alice");
    let refreshes = saved.iter().filter(|l| !is_unregister_line(l)).count();
    // Registered at t=0 with 10 s expiry and still registered until t=25: at least 3 REGISTERs.
    assert!(refreshes >= 3, "expected >= 3 REGISTERs with --expires 10 over 25 s, Kamailio saved {refreshes}:\n{saved:#?}");
    assert!(
        saved.last().is_some_and(|l| is_unregister_line(l)),
        "no final un-REGISTER: {saved:#?}"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn unregister_empties_location() {
    let dir = TestDir::new("unregister_empties_location");
    let kam = kam(&dir, Digest::Md5);
    assert_eq!(
        kam.options_to_aor("alice"),
        Some(404),
        "alice registered before the test?"
    );
    let mut cli = register(&kam.registrar_uri("udp"))
        .args(["--duration", "4"])
        .password(PW)
        .spawn(&dir);
    cli.expect_event("registered", Duration::from_secs(10));
    // Kamailio relays OPTIONS to the registered contact: the CLI must answer it.
    assert_eq!(
        kam.options_to_aor("alice"),
        Some(200),
        "OPTIONS to the registered AOR via Kamailio"
    );
    cli.wait_exit(Duration::from_secs(15));
    cli.assert_success();
    cli.expect_event("unregistered", Duration::from_secs(1));
    assert_eq!(
        kam.options_to_aor("alice"),
        Some(404),
        "location not empty after un-REGISTER"
    );
}

/// Kamailio (like its default config) answers bad credentials with a fresh 401 challenge.
fn refused(user: &str, password: &str, name: &str) {
    let dir = TestDir::new(name);
    let kam = kam(&dir, Digest::Md5);
    let mut cli = Cli::new("cli", "register")
        .args([
            "--aor".to_string(),
            format!("sip:{user}@127.0.0.1"),
            "--registrar".into(),
            kam.registrar_uri("udp"),
            "--listen".into(),
            format!("127.0.0.1:{}", ports::free_port()),
            "--duration".into(),
            "0".into(),
        ])
        .password(password)
        .run(&dir, Duration::from_secs(20));
    let challenges = kam
        .log()
        .matches(&format!("HF-CHALLENGE user={user}"))
        .count();
    assert!(challenges >= 2, "Kamailio should have challenged the first and the authenticated REGISTER, saw {challenges}");
    cli.assert_failed_with("registration refused (401)");
    let failed = cli.expect_event("registration_failed", Duration::from_secs(1));
    assert_eq!(failed["status"], 401, "{failed}");
    assert!(
        kam.saved_registrations(user).is_empty(),
        "Kamailio saved a registration for {user}"
    );
    // The CLI must not loop re-sending the same wrong credentials.
    assert!(
        kam.register_requests(user).len() <= 4,
        "too many REGISTERs: {:#?}",
        kam.register_requests(user)
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn wrong_password_is_refused() {
    refused("alice", "not-the-password", "wrong_password_is_refused");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn unknown_user_is_refused() {
    refused("mallory", "whatever", "unknown_user_is_refused");
}

/// A registrar port where nothing listens.
fn closed_port() -> u16 {
    ports::free_port()
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn unreachable_registrar_udp_fails_in_bounded_time() {
    let dir = TestDir::new("unreachable_registrar_udp");
    let port = closed_port();
    let start = Instant::now();
    // UDP gives up after Timer F (32 s) at the latest.
    let mut cli = register(&format!("sip:127.0.0.1:{port};transport=udp"))
        .args(["--duration", "0"])
        .password(PW)
        .run(&dir, Duration::from_secs(40));
    let took = start.elapsed();
    let line = cli.assert_failed_with("127.0.0.1");
    assert!(!line.contains("panicked"), "{line}");
    eprintln!("unreachable UDP registrar: failed after {took:?}: {line}");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn unreachable_registrar_tcp_fails_fast() {
    let dir = TestDir::new("unreachable_registrar_tcp");
    let port = closed_port();
    let start = Instant::now();
    let mut cli = register(&format!("sip:127.0.0.1:{port};transport=tcp"))
        .args(["--duration", "0"])
        .password(PW)
        .run(&dir, Duration::from_secs(40));
    let took = start.elapsed();
    let line = cli.assert_failed_with("127.0.0.1");
    assert!(
        took < Duration::from_secs(10),
        "connection refused should fail fast, took {took:?}"
    );
    eprintln!("unreachable TCP registrar: failed after {took:?}: {line}");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn tls_registration_with_test_ca() {
    let dir = TestDir::new("tls_registration_with_test_ca");
    let kam = Kamailio::builder().user("alice", PW).tls(true).start(&dir);
    let ca = kam.ca_pem.clone().expect("TLS CA");
    let mut cli = register(&kam.registrar_uri("tls"))
        .args(["--duration", "0"])
        .arg("--tls-ca")
        .arg(&ca)
        .password(PW)
        .run(&dir, Duration::from_secs(20));
    cli.assert_success();
    let saved = kam.saved_registrations("alice");
    assert!(
        saved
            .iter()
            .any(|l| !is_unregister_line(l) && l.contains("proto=tls")),
        "no TLS registration saved: {saved:#?}"
    );
}

/// With logging on (`HOOKFLASH_LOG=info`), a digest registration leaves no SIP message in the
/// log: no Authorization header, no password hash, nothing of rsipstack's raw messages — unless
/// a directive asks for rsipstack by name.
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn the_log_keeps_sip_messages_and_credentials_out() {
    let dir = TestDir::new("log_without_credentials");
    let kam = Kamailio::builder().user("alice", PW).start(&dir);
    let mut cli = register(&kam.registrar_uri("udp"))
        .args(["--duration", "0"])
        .env("HOOKFLASH_LOG", "info")
        .password(PW)
        .run(&dir, Duration::from_secs(20));
    cli.assert_success();
    let log = cli.stderr();
    assert!(
        !log.contains("Authorization")
            && !log.contains("raw_message")
            && !log.contains("REGISTER sip:"),
        "{log}"
    );
    // Asked for by name, the SIP trace is there (so the test above can fail).
    let mut traced = register(&kam.registrar_uri("udp"))
        .args(["--duration", "0"])
        .env("HOOKFLASH_LOG", "info,rsipstack=info")
        .password(PW)
        .run(&dir, Duration::from_secs(20));
    traced.assert_success();
    assert!(
        traced.stderr().contains("raw_message"),
        "{}",
        traced.stderr()
    );
}

/// No `--tls-ca`: the registrar's certificate is trusted because its CA is one of the system's
/// roots (here the system store is `SSL_CERT_FILE`, as `rustls-native-certs` reads it on Linux).
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn tls_registration_trusts_the_system_roots() {
    let dir = TestDir::new("tls_registration_system_roots");
    let kam = Kamailio::builder().user("alice", PW).tls(true).start(&dir);
    let ca = kam.ca_pem.clone().expect("TLS CA");
    let mut cli = register(&kam.registrar_uri("tls"))
        .args(["--duration", "0"])
        .env("SSL_CERT_FILE", ca.to_str().unwrap())
        .password(PW)
        .run(&dir, Duration::from_secs(20));
    cli.assert_success();
    let saved = kam.saved_registrations("alice");
    assert!(
        saved
            .iter()
            .any(|l| !is_unregister_line(l) && l.contains("proto=tls")),
        "no TLS registration saved: {saved:#?}"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn tls_registration_without_ca_fails_verification() {
    let dir = TestDir::new("tls_registration_without_ca");
    let kam = Kamailio::builder().user("alice", PW).tls(true).start(&dir);
    let mut cli = register(&kam.registrar_uri("tls"))
        .args(["--duration", "0"])
        .password(PW)
        .run(&dir, Duration::from_secs(20));
    let line = cli.assert_failed_with("");
    assert!(
        line.contains("not signed by an authority this computer trusts (unknown issuer"),
        "expected the unknown issuer named, got: {line}"
    );
    assert!(kam.saved_registrations("alice").is_empty());
}

/// A registrar whose certificate is faulty: refused, the reason named in the one-line error.
fn refused_certificate(name: &str, cert: ServerCert, with_ca: bool, says: &str) {
    let dir = TestDir::new(name);
    let kam = Kamailio::builder()
        .user("alice", PW)
        .tls_cert(cert)
        .start(&dir);
    let ca = kam.ca_pem.clone().expect("TLS CA");
    let mut cli = register(&kam.registrar_uri("tls")).args(["--duration", "0"]);
    if with_ca {
        cli = cli.arg("--tls-ca").arg(&ca);
    }
    let line = cli
        .password(PW)
        .run(&dir, Duration::from_secs(20))
        .assert_failed_with("");
    assert!(line.contains(says), "expected '{says}', got: {line}");
    assert!(kam.saved_registrations("alice").is_empty());
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn tls_certificate_for_another_name_is_refused_by_name() {
    refused_certificate(
        "tls_wrong_name",
        ServerCert::Names("DNS:pbx.example".into()),
        true,
        "not valid for the name 127.0.0.1 (wrong name)",
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn tls_expired_certificate_is_refused_by_name() {
    refused_certificate(
        "tls_expired",
        ServerCert::Expired,
        true,
        "the certificate of 127.0.0.1 has expired",
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn tls_self_signed_certificate_is_refused_by_name() {
    refused_certificate(
        "tls_self_signed",
        ServerCert::SelfSigned,
        false,
        "the certificate of 127.0.0.1 is self-signed",
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn garbage_on_sip_port_does_not_stop_options_answers() {
    let dir = TestDir::new("garbage_on_sip_port");
    let port = ports::free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut cli = Cli::new("cli", "listen")
        .args([
            "--no-register",
            "--aor",
            "sip:alice@127.0.0.1",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .spawn(&dir);
    let uri = format!("sip:alice@127.0.0.1:{port}");
    let first = hookflash_tests::wait_until(Duration::from_secs(10), || {
        sip_probe::options(addr, &uri, Duration::from_millis(500))
    });
    assert_eq!(
        first.map(|r| r.status),
        Some(200),
        "CLI did not answer OPTIONS before the garbage\n{}",
        cli.stderr()
    );
    let mut junk: Vec<Vec<u8>> = vec![
        b"\x00\x01\x02\x03\xff\xfe\xfd".to_vec(),
        b"INVITE\r\n\r\n".to_vec(),
        b"SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n".to_vec(),
        b"OPTIONS sip:alice@127.0.0.1 SIP/2.0\r\nContent-Length: 99999\r\n\r\nshort".to_vec(),
        format!("OPTIONS {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nCSeq: abc OPTIONS\r\n\r\n").into_bytes(),
        vec![b'A'; 60000],
        "REGISTER sip:\u{1F600}@\u{0} SIP/2.0\r\n\r\n".as_bytes().to_vec(),
    ];
    // Pseudo-random bytes (fixed seed, so the test is reproducible).
    let mut x: u32 = 0x1234_5678;
    junk.push(
        (0..1400)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect(),
    );
    for j in &junk {
        sip_probe::send_raw(addr, j);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        cli.status().is_none(),
        "CLI exited after garbage\n{}",
        cli.stderr()
    );
    let after = sip_probe::options(addr, &uri, Duration::from_secs(3));
    assert_eq!(
        after.map(|r| r.status),
        Some(200),
        "CLI stopped answering OPTIONS after garbage"
    );
    cli.stop();
}

/// Harness check (no CLI): Kamailio's TLS listener presents a certificate that verifies against
/// the generated test CA for IP 127.0.0.1, and does not verify without it.
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn harness_kamailio_tls_listener_verifies_with_test_ca() {
    let dir = TestDir::new("harness_kamailio_tls");
    let kam = Kamailio::builder().user("alice", PW).tls(true).start(&dir);
    let ca = kam.ca_pem.clone().expect("TLS CA");
    let connect = format!("127.0.0.1:{}", kam.tls_port.unwrap());
    let s_client = |with_ca: bool| {
        let mut c = std::process::Command::new("openssl");
        c.args([
            "s_client",
            "-connect",
            &connect,
            "-verify_ip",
            "127.0.0.1",
            "-verify_return_error",
            "-brief",
        ]);
        if with_ca {
            c.arg("-CAfile").arg(&ca);
        } else {
            // An empty trust store: only the system CAs, which do not include the test CA.
            c.args(["-CApath", "/nonexistent"]);
        }
        c.stdin(std::process::Stdio::null())
            .output()
            .expect("run openssl s_client")
    };
    let ok = s_client(true);
    let text =
        String::from_utf8_lossy(&ok.stderr).to_string() + &String::from_utf8_lossy(&ok.stdout);
    assert!(
        text.contains("Verification: OK"),
        "TLS with the test CA did not verify:\n{text}"
    );
    let bad = s_client(false);
    let text =
        String::from_utf8_lossy(&bad.stderr).to_string() + &String::from_utf8_lossy(&bad.stdout);
    assert!(
        !text.contains("Verification: OK"),
        "verified without the test CA?\n{text}"
    );
}

/// Harness check (no CLI): what this Kamailio answers to bad credentials, seen by a real client.
/// baresip with a wrong password and with an unknown user both get `401 Unauthorized` (a fresh
/// challenge, as in Kamailio's default config), which is why the refusal tests expect "(401)".
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn harness_kamailio_answers_bad_credentials_with_401() {
    let dir = TestDir::new("harness_kamailio_bad_credentials");
    let kam = Kamailio::builder().user("alice", PW).start(&dir);
    for (user, pw) in [("alice", "not-the-password"), ("mallory", "whatever")] {
        let b = hookflash_tests::Baresip::builder(user, pw)
            .registrar(kam.port)
            .start(&dir);
        let seen = b.process_output_wait(
            &format!("sip:{user}@127.0.0.1: 401 Unauthorized"),
            Duration::from_secs(5),
        );
        assert!(seen, "baresip {user} did not report 401:\n{}", b.log());
        assert!(kam.saved_registrations(user).is_empty());
    }
}

/// `check` at a Kamailio whose registrar takes SIP outbound with `Flow-Timer: 10`: the REGISTER
/// offers it (`+sip.instance`, `reg-id=1`), the report says outbound is in use and pings come
/// every 9 s instead of 25; a second start registers the same instance id (kept beside the
/// history). A registrar without outbound: the same REGISTER, the usual 25 s, no outbound claimed.
#[test]
#[ignore = "needs kamailio: run by cargo xtask test"]
fn sip_outbound_is_used_when_the_registrar_takes_it() {
    let dir = TestDir::new("reg-outbound");
    let with = Kamailio::builder()
        .user("alice", PW)
        .outbound(10)
        .start(&dir);
    let without = Kamailio::builder()
        .user("alice", PW)
        .name("plain")
        .start(&dir);
    let check = |kam: &Kamailio| {
        let profile = dir.write(
            &format!("{}.toml", kam.port),
            &format!(
                "[[account]]\naor = \"sip:alice@127.0.0.1\"\nregistrar = \"{}\"\n",
                kam.registrar_uri("udp")
            ),
        );
        let mut run = Cli::new("check", "check")
            .arg("--profile")
            .arg(&profile)
            .human()
            .password(PW)
            .run(&dir, Duration::from_secs(30));
        run.assert_success();
        run.stdout()
    };
    let instance_of = |line: &str| {
        let start = line
            .find("+sip.instance=\"<urn:uuid:")
            .unwrap_or_else(|| panic!("no instance: {line}"));
        line[start..start + 63].to_string()
    };
    let report = check(&with);
    assert!(
        report.contains("keep-alive every 9 s (UDP: an OPTIONS")
            && report.contains("; SIP outbound (RFC 5626)"),
        "{report}\n{}",
        with.log()
    );
    let first: Vec<String> = with
        .saved_registrations("alice")
        .into_iter()
        .filter(|l| !is_unregister_line(l))
        .collect();
    assert!(first.iter().all(|l| l.contains("reg-id=1")), "{first:#?}");
    let id = instance_of(&first[0]);
    check(&with);
    let again: Vec<String> = with
        .saved_registrations("alice")
        .into_iter()
        .filter(|l| !is_unregister_line(l))
        .collect();
    assert!(again.len() > first.len(), "{again:#?}");
    assert_eq!(
        instance_of(again.last().unwrap()),
        id,
        "the same device after a restart"
    );

    let report = check(&without);
    assert!(
        report.contains("keep-alive every 25 s (UDP: an OPTIONS") && !report.contains("outbound"),
        "{report}"
    );
    let plain = without.saved_registrations("alice");
    assert_eq!(instance_of(&plain[0]), id, "{plain:#?}");
}
