//! Calls out through a Kamailio that challenges INVITEs (407 Proxy-Authenticate), the way
//! providers and PBXs protect their trunks: answered with SHA-256 through the phone's own digest
//! path (the same one REGISTER uses), and not answered at all when the proxy asks for the password
//! of a realm that is not the account's.

use hookflash_tests::sipp::Sipp;
use hookflash_tests::{ports, Cli, CliRun, Digest, InviteAuth, Kamailio, TestDir};
use std::time::Duration;

const PW: &str = "alice-secret";

/// alice registers at `kam` and calls a sipp UAS (which Kamailio relays to once the INVITE is
/// authenticated; not a local AOR, so no lookup). The UAS is `orbit_uas.xml`: a plain answering
/// callee that keeps Kamailio's Record-Route, so the BYE and its 200 pass the proxy.
fn call_through(dir: &TestDir, kam: &Kamailio, sipp: &Sipp) -> CliRun {
    Cli::new("cli", "call")
        .arg(format!("sip:bob@{}", sipp.addr()))
        .args(["--aor", "sip:alice@127.0.0.1", "--registrar", &kam.registrar_uri("udp")])
        .args(["--listen", &format!("127.0.0.1:{}", ports::free_port())])
        .args(["--audio-in", "null", "--audio-out", "null", "--duration", "2"])
        .password(PW)
        .spawn(dir)
}

fn lines(log: &str, needle: &str) -> Vec<String> {
    log.lines().filter(|l| l.contains(needle)).map(String::from).collect()
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn invite_challenged_with_sha256_is_answered() {
    let dir = TestDir::new("invite_challenged_with_sha256_is_answered");
    let kam = Kamailio::builder().user("alice", PW).digest(Digest::Sha256).challenge_invites(InviteAuth::FromDomain).start(&dir);
    let sipp = Sipp::uas("orbit_uas.xml");
    let mut run = sipp.spawn(&dir);
    let mut cli = call_through(&dir, &kam, &sipp);
    cli.wait_exit(Duration::from_secs(25));
    run.assert_passed(Duration::from_secs(20));
    cli.assert_success();
    let answered = cli.expect_event("answered", Duration::from_secs(1));
    assert_eq!(answered["codec"], "pcmu", "{answered}");
    let log = kam.log();
    assert_eq!(lines(&log, "HF-INVITE-CHALLENGE user=alice").len(), 1, "one challenge expected:\n{log}");
    let authed = lines(&log, "HF-INVITE-AUTHED user=alice");
    assert_eq!(authed.len(), 1, "the INVITE was not authenticated:\n{log}");
    assert!(authed[0].contains("algorithm=SHA-256"), "not answered with SHA-256: {}", authed[0]);
    assert!(authed[0].contains("qop=auth"), "not answered with qop=auth: {}", authed[0]);
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn invite_challenged_for_a_foreign_realm_is_not_answered() {
    let dir = TestDir::new("invite_challenged_for_a_foreign_realm_is_not_answered");
    let kam = Kamailio::builder()
        .user("alice", PW)
        .challenge_invites(InviteAuth::Realm("evil.example".into()))
        .start(&dir);
    let sipp = Sipp::uas("orbit_uas.xml");
    let _run = sipp.spawn(&dir);
    let mut cli = call_through(&dir, &kam, &sipp);
    cli.wait_exit(Duration::from_secs(25));
    let message = cli.assert_failed_with("call rejected (407");
    assert!(message.contains("\"evil.example\", which is not this account's (127.0.0.1)"), "{message}");
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["status"], 407, "{ended}");
    let log = kam.log();
    assert_eq!(lines(&log, "HF-REQ INVITE from=alice").len(), 1, "the challenge was answered:\n{log}");
    assert!(lines(&log, "HF-INVITE-AUTHED").is_empty(), "{log}");
}

/// Over TCP the INVITE's Contact is our end of the TCP connection, with `;transport=tcp`, so the
/// far end's in-dialog requests come back over it (the UDP address with no transport, as before,
/// sent them to a UDP port the proxy could not match to the TCP flow). The call is authenticated,
/// answered, and the BYE and its 200 pass Kamailio.
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn a_call_over_tcp_advertises_a_tcp_contact() {
    let dir = TestDir::new("a_call_over_tcp_advertises_a_tcp_contact");
    let kam = Kamailio::builder().user("alice", PW).challenge_invites(InviteAuth::FromDomain).start(&dir);
    let sipp = Sipp::uas("orbit_uas.xml");
    let mut run = sipp.spawn(&dir);
    let udp_port = ports::free_port();
    let mut cli = Cli::new("cli", "call")
        .arg(format!("sip:bob@{}", sipp.addr()))
        .args(["--aor", "sip:alice@127.0.0.1", "--registrar", &kam.registrar_uri("tcp")])
        .args(["--listen", &format!("127.0.0.1:{udp_port}")])
        .args(["--audio-in", "null", "--audio-out", "null", "--duration", "2"])
        .password(PW)
        .spawn(&dir);
    cli.wait_exit(Duration::from_secs(25));
    run.assert_passed(Duration::from_secs(20));
    cli.assert_success();
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
    let log = kam.log();
    let invites = lines(&log, "HF-REQ INVITE from=alice");
    assert!(!invites.is_empty() && invites.iter().all(|l| l.contains("proto=tcp")), "INVITEs not over TCP:\n{log}");
    let msgs = run.messages();
    let contact = msgs
        .lines()
        .skip_while(|l| !l.starts_with("INVITE "))
        .find(|l| l.to_ascii_lowercase().starts_with("contact:"))
        .unwrap_or_else(|| panic!("no Contact in the relayed INVITE:\n{msgs}"))
        .to_ascii_lowercase();
    assert!(contact.contains("transport=tcp"), "INVITE Contact without TCP transport: {contact}");
    assert!(!contact.contains(&format!(":{udp_port}")), "INVITE Contact is the UDP address: {contact}");
}
