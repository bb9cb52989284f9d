//! SIP over WebSocket (RFC 7118) against Kamailio's `xhttp` + `websocket` modules: registration
//! over WS and over WSS (the certificate checked against the host name we were given, not the
//! address we connect to), an upgrade Kamailio refuses named with its status, and calls through
//! Kamailio between the WS/WSS client and a baresip on UDP, both ways, audio heard on both ends.

use hookflash_tests::baresip::Codec;
use hookflash_tests::kamailio::is_unregister_line;
use hookflash_tests::tls::ServerCert;
use hookflash_tests::wav::hears;
use hookflash_tests::{ports, speech, Baresip, Cli, Kamailio, TestDir};
use std::time::Duration;

const ALICE_PW: &str = "alice-secret";
const BOB_PW: &str = "bob-secret";

/// `hookflash-cli <cmd>` as alice at `registrar` over `--transport <transport>`.
fn alice(cmd: &str, registrar: &str, transport: &str) -> Cli {
    Cli::new(&format!("cli-{transport}"), cmd).args([
        "--aor".to_string(),
        "sip:alice@127.0.0.1".into(),
        "--registrar".into(),
        registrar.to_string(),
        "--transport".into(),
        transport.to_string(),
        "--listen".into(),
        format!("127.0.0.1:{}", ports::free_port()),
    ])
}

/// alice's bindings Kamailio saved (not un-REGISTERs).
fn bindings(kam: &Kamailio) -> Vec<String> {
    kam.saved_registrations("alice")
        .into_iter()
        .filter(|l| !is_unregister_line(l))
        .collect()
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn registers_over_ws_and_keeps_the_connection() {
    let dir = TestDir::new("ws_registration");
    let kam = Kamailio::builder()
        .user("alice", ALICE_PW)
        .websocket(true)
        .start(&dir);
    let ws = kam.ws_port.expect("WS port");
    // No port in the URI's transport: `--transport ws` names it. Keep-alive every second: the
    // pings must not cost the connection (a lost one would register a second binding).
    let mut cli = alice("register", &format!("sip:127.0.0.1:{ws}"), "ws")
        .args(["--duration", "4", "--keep-alive", "1"])
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(20));
    cli.assert_success();
    cli.expect_event("registered", Duration::from_secs(1));
    cli.expect_event("unregistered", Duration::from_secs(1));
    let saved = bindings(&kam);
    assert_eq!(
        saved.len(),
        1,
        "one binding, kept for 4 s of keep-alives: {saved:#?}\n{}",
        kam.log()
    );
    let binding = saved[0].to_ascii_lowercase();
    assert!(
        binding.contains(";transport=ws>") && binding.trim_end().ends_with("proto=ws"),
        "not a WS binding: {}",
        saved[0]
    );
    assert!(
        kam.log()
            .contains(&format!("HF-WS-UPGRADE port={ws} url=/")),
        "no upgrade on the WS port:\n{}",
        kam.log()
    );
    let all = kam.saved_registrations("alice");
    assert!(
        all.last().is_some_and(|l| is_unregister_line(l)),
        "the binding was not removed over WS: {all:#?}"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn registers_over_wss_checked_against_the_host_name() {
    let dir = TestDir::new("wss_registration");
    // The certificate names `localhost` only (no IP address).
    let kam = Kamailio::builder()
        .user("alice", ALICE_PW)
        .tls_cert(ServerCert::Names("DNS:localhost".into()))
        .websocket(true)
        .start(&dir);
    let ca = kam.ca_pem.clone().expect("TLS CA");
    let wss = kam.wss_port.expect("WSS port");

    // By name: we connect to 127.0.0.1, and check the certificate against `localhost`.
    let mut cli = alice("register", &format!("sip:localhost:{wss}"), "wss")
        .args(["--duration", "0"])
        .arg("--tls-ca")
        .arg(&ca)
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(20));
    cli.assert_success();
    let saved = bindings(&kam);
    // The Contact says `transport=ws` over WSS too (RFC 7118 5.2).
    let wss_binding = |l: &String| {
        l.to_ascii_lowercase().contains(";transport=ws>") && l.trim_end().ends_with("proto=wss")
    };
    assert!(saved.iter().any(wss_binding), "no WSS binding: {saved:#?}");

    // By address: the same certificate is not valid for 127.0.0.1, and we say so.
    let line = alice("register", &format!("sip:127.0.0.1:{wss}"), "wss")
        .args(["--duration", "0"])
        .arg("--tls-ca")
        .arg(&ca)
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(20))
        .assert_failed_with("");
    assert!(
        line.contains("not valid for the name 127.0.0.1 (wrong name)"),
        "{line}"
    );

    // Without the test CA the issuer is unknown.
    let line = alice("register", &format!("sip:localhost:{wss}"), "wss")
        .args(["--duration", "0"])
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(20))
        .assert_failed_with("");
    assert!(
        line.contains("not signed by an authority this computer trusts (unknown issuer"),
        "{line}"
    );
    assert_eq!(
        bindings(&kam).len(),
        1,
        "a refused certificate made a binding"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn a_refused_upgrade_is_named() {
    let dir = TestDir::new("ws_upgrade_refused");
    let kam = Kamailio::builder()
        .user("alice", ALICE_PW)
        .websocket(true)
        .start(&dir);
    // Kamailio's plain SIP TCP port answers an upgrade with 403 (its xhttp route).
    let line = alice("register", &format!("sip:127.0.0.1:{}", kam.port), "ws")
        .args(["--duration", "0"])
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(20))
        .assert_failed_with("");
    assert!(
        line.contains("the WebSocket upgrade was refused (403 Forbidden) by 127.0.0.1"),
        "{line}"
    );
    assert!(
        kam.log()
            .contains(&format!("HF-WS-UPGRADE port={} url=/", kam.port)),
        "{}",
        kam.log()
    );
    assert!(kam.saved_registrations("alice").is_empty());
}

/// A gateway that takes the upgrade on `/sip-ws` only: the account's `ws_path` (here
/// `--ws-path`) reaches it; without it the upgrade on `/` is refused with the gateway's 404.
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn the_websocket_path_is_the_one_the_gateway_names() {
    let dir = TestDir::new("ws_path");
    let kam = Kamailio::builder()
        .user("alice", ALICE_PW)
        .websocket(true)
        .ws_path("/sip-ws")
        .start(&dir);
    let ws = kam.ws_port.expect("WS port");
    let line = alice("register", &format!("sip:127.0.0.1:{ws}"), "ws")
        .args(["--duration", "0"])
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(20))
        .assert_failed_with("");
    assert!(
        line.contains("the WebSocket upgrade was refused (404 Not Found) by 127.0.0.1"),
        "{line}"
    );
    let mut cli = alice("register", &format!("sip:127.0.0.1:{ws}"), "ws")
        .args(["--duration", "0", "--ws-path", "/sip-ws"])
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(20));
    cli.assert_success();
    cli.expect_event("registered", Duration::from_secs(1));
    assert!(
        kam.log()
            .contains(&format!("HF-WS-UPGRADE port={ws} url=/sip-ws")),
        "{}",
        kam.log()
    );
    assert_eq!(bindings(&kam).len(), 1, "{}", kam.log());
    // A path that is not one is refused before anything is sent.
    let line = alice("register", &format!("sip:127.0.0.1:{ws}"), "ws")
        .args(["--duration", "0", "--ws-path", "sip-ws"])
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(20))
        .assert_failed_with("");
    assert!(line.contains("'sip-ws' is not a path"), "{line}");
}

/// Kamailio with WS, WSS (certificate for 127.0.0.1 and localhost) and UDP; bob on baresip over
/// UDP, registered, auto-answering with a 700 Hz tone.
fn kamailio_and_bob(dir: &TestDir) -> (Kamailio, Baresip) {
    let kam = Kamailio::builder()
        .user("alice", ALICE_PW)
        .user("bob", BOB_PW)
        .tls(true)
        .websocket(true)
        .start(dir);
    let tone = speech::tone(dir.path(), "bob-tone.wav", 700.0, 30);
    let bob = Baresip::builder("bob", BOB_PW)
        .registrar(kam.port)
        .codec(Codec::Pcmu)
        .source(&tone, 0.0)
        .start(dir);
    assert!(
        kam.wait_registered("bob", Duration::from_secs(10)),
        "baresip bob did not register\n{}",
        bob.log()
    );
    (kam, bob)
}

/// The registrar URI of `transport` (WSS by host name) and the CLI's extra arguments.
fn over(kam: &Kamailio, transport: &str) -> (String, Vec<String>) {
    match transport {
        "wss" => (
            format!("sip:localhost:{}", kam.wss_port.unwrap()),
            vec![
                "--tls-ca".into(),
                kam.ca_pem.clone().unwrap().display().to_string(),
            ],
        ),
        _ => (format!("sip:127.0.0.1:{}", kam.ws_port.unwrap()), vec![]),
    }
}

fn ws_client_calls_baresip(transport: &str) {
    let dir = TestDir::new(&format!("{transport}_calls_baresip"));
    let (kam, mut bob) = kamailio_and_bob(&dir);
    let (registrar, extra) = over(&kam, transport);
    let (mic, heard) = (
        speech::tone(dir.path(), "mic.wav", 1100.0, 30),
        dir.join("heard.wav"),
    );
    let mut call = alice("call", &registrar, transport)
        .arg("sip:bob@127.0.0.1")
        .args(extra)
        .args(["--codec", "pcmu", "--duration", "4", "--audio-in"])
        .arg(&mic)
        .arg("--audio-out")
        .arg(&heard)
        .password(ALICE_PW)
        .run(&dir, Duration::from_secs(30));
    call.assert_success();
    call.expect_event("answered", Duration::from_secs(1));
    let ended = call.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
    // Our BYE went through Kamailio (record-routed over the WebSocket) to bob.
    assert!(
        bob.wait_call_ended(Duration::from_secs(5)),
        "the BYE did not reach bob\n{}",
        bob.log()
    );
    let bye = kam.log().lines().any(|l| {
        l.contains("HF-REQ BYE from=alice") && l.trim_end().ends_with(&format!("proto={transport}"))
    });
    assert!(
        bye,
        "no BYE from alice over {transport} at Kamailio:\n{}",
        kam.log()
    );
    assert!(
        hears(&heard, 700.0, 1100.0),
        "we did not hear bob over {transport}"
    );
    bob.stop();
    let got = bob
        .received_wav()
        .unwrap_or_else(|| panic!("baresip recorded nothing:\n{}", bob.log()));
    assert!(
        hears(&got, 1100.0, 700.0),
        "bob did not hear us over {transport}"
    );
}

fn baresip_calls_ws_client(transport: &str) {
    let dir = TestDir::new(&format!("baresip_calls_{transport}"));
    let kam = Kamailio::builder()
        .user("alice", ALICE_PW)
        .user("bob", BOB_PW)
        .tls(true)
        .websocket(true)
        .start(&dir);
    let (registrar, extra) = over(&kam, transport);
    let (mic, heard) = (
        speech::tone(dir.path(), "mic.wav", 1100.0, 30),
        dir.join("heard.wav"),
    );
    let mut cli = alice("listen", &registrar, transport)
        .args(extra)
        .args(["--codec", "pcmu", "--max-calls", "1", "--audio-in"])
        .arg(&mic)
        .arg("--audio-out")
        .arg(&heard)
        .password(ALICE_PW)
        .spawn(&dir);
    cli.expect_event("registered", Duration::from_secs(10));
    // bob's 4 s tone ends and baresip hangs up.
    let tone = speech::tone(dir.path(), "bob-tone.wav", 700.0, 4);
    let mut bob = Baresip::builder("bob", BOB_PW)
        .registrar(kam.port)
        .codec(Codec::Pcmu)
        .source(&tone, 0.0)
        .dial("sip:alice@127.0.0.1")
        .start(&dir);
    let incoming = cli.expect_event("incoming", Duration::from_secs(10));
    assert!(
        incoming["from"]
            .as_str()
            .is_some_and(|f| f.contains("bob@127.0.0.1")),
        "{incoming}"
    );
    cli.expect_event("answered", Duration::from_secs(5));
    cli.wait_exit(Duration::from_secs(20));
    cli.assert_success();
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(
        ended["reason"], "remote_hangup",
        "bob's BYE did not reach us over {transport}: {ended}"
    );
    assert!(
        hears(&heard, 700.0, 1100.0),
        "we did not hear bob over {transport}"
    );
    bob.stop();
    let got = bob
        .received_wav()
        .unwrap_or_else(|| panic!("baresip recorded nothing:\n{}", bob.log()));
    assert!(
        hears(&got, 1100.0, 700.0),
        "bob did not hear us over {transport}"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn ws_client_calls_baresip_on_udp() {
    ws_client_calls_baresip("ws");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn wss_client_calls_baresip_on_udp() {
    ws_client_calls_baresip("wss");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn baresip_on_udp_calls_the_ws_client() {
    baresip_calls_ws_client("ws");
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn baresip_on_udp_calls_the_wss_client() {
    baresip_calls_ws_client("wss");
}
