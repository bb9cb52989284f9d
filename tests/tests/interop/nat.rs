//! Behind a home router: `hookflash-cli` runs in a network namespace behind another one that
//! masquerades with random ports and forgets idle UDP mappings after a few seconds (nftables,
//! `tests/src/netns.rs`); Kamailio and the caller (sipp) are outside. The phone must register
//! the address the router gave it (not its own) and keep the router's mapping open, so calls
//! still reach it long after the router would have forgotten it.
//!
//! Not here: the call's media. The caller is sent our private address in the SDP (we have no
//! STUN/ICE yet); a provider's border controller latches on to where our RTP comes from instead.

use hookflash_tests::netns::HomeNat;
use hookflash_tests::sipp::Sipp;
use hookflash_tests::{Cli, CliRun, Kamailio, TestDir};
use std::time::Duration;

const PW: &str = "home-secret";
/// How long the router keeps an idle UDP mapping.
const NAT_TIMEOUT_SECS: u32 = 5;

fn phone(dir: &TestDir, nat: &HomeNat, kam: &Kamailio, user: &str, extra: &[&str]) -> CliRun {
    Cli::new(user, "listen")
        .in_netns(&nat.home)
        .args([
            "--aor",
            &format!("sip:{user}@127.0.0.1"),
            "--registrar",
            &format!("sip:{}:{}", nat.outside_ip, kam.port),
        ])
        .args(["--audio-in", "null", "--audio-out", "null"])
        .args(extra)
        .password(PW)
        .spawn(dir)
}

/// The Contacts of `user`'s accepted REGISTERs, as Kamailio logged them: in the order logged,
/// which is not always the order saved. Two Kamailio workers can take the private and the public
/// REGISTER, and the first may log after the second was answered (seen in CI).
fn registered_contacts(kam: &Kamailio, user: &str) -> Vec<String> {
    let contact = |l: &String| {
        l.split(" contact=")
            .nth(1)
            .unwrap_or_default()
            .split(" proto=")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    kam.saved_registrations(user).iter().map(contact).collect()
}

#[test]
#[ignore = "needs real peers and network namespaces: run by cargo xtask test"]
fn behind_a_forgetful_nat_the_public_address_is_registered_and_calls_still_arrive() {
    let dir = TestDir::new("nat_home");
    let nat = HomeNat::new(NAT_TIMEOUT_SECS);
    let kam = Kamailio::builder()
        .user("alice", PW)
        .user("bob", PW)
        .also_listen(nat.outside_ip)
        .start(&dir);

    // alice keeps the mapping open (a keep-alive every 2 s); bob, the control, has the UDP
    // default (25 s), longer than this router remembers.
    let mut alice = phone(
        &dir,
        &nat,
        &kam,
        "alice",
        &["--keep-alive", "2", "--max-calls", "1"],
    );
    let mut bob = phone(&dir, &nat, &kam, "bob", &[]);
    alice.expect_event("registered", Duration::from_secs(10));
    bob.expect_event("registered", Duration::from_secs(10));

    // Both registered the router's address, with the port the router chose, not their own.
    // (That the private binding goes in the same request is checked against sipp's registrar in
    // recovery.rs.)
    for user in ["alice", "bob"] {
        let public = hookflash_tests::wait_until(Duration::from_secs(5), || {
            registered_contacts(&kam, user)
                .into_iter()
                .find(|c| c.contains(&format!("@{}:", nat.public_ip)))
        });
        assert!(
            public.is_some(),
            "{user}'s Contact is not the router's address {}: {:?}\n{}",
            nat.public_ip,
            registered_contacts(&kam, user),
            kam.log()
        );
    }

    // Three times as long as the router remembers an idle mapping.
    std::thread::sleep(Duration::from_secs(u64::from(3 * NAT_TIMEOUT_SECS) + 1));

    // The control: bob's mapping is gone, nothing reaches him (so this router does forget).
    let to_bob = kam.options_to_aor("bob");
    assert_ne!(
        to_bob,
        Some(200),
        "bob answered through a mapping the router should have forgotten:\n{}",
        nat.mappings()
    );

    // alice's keep-alives held hers open: a call through Kamailio reaches her and is answered.
    assert_eq!(
        kam.options_to_aor("alice"),
        Some(200),
        "alice unreachable behind the NAT:\n{}",
        nat.mappings()
    );
    let sipp = Sipp::uac("uac_via_proxy.xml", (nat.outside_ip, kam.port).into())
        .ip(nat.outside_ip)
        .service("alice")
        .timeout(20);
    let mut call = sipp.spawn(&dir);
    call.assert_passed(Duration::from_secs(25));
    let incoming = alice.expect_event("incoming", Duration::from_secs(1));
    assert!(
        incoming["from"]
            .as_str()
            .is_some_and(|f| f.contains("sipp@")),
        "{incoming}"
    );
    alice.expect_event("answered", Duration::from_secs(1));
    alice.wait_exit(Duration::from_secs(15));
    alice.assert_success();
    bob.stop();
}

/// After a change of address: Kamailio reaches alice (`--max-calls 1`), and a call from outside
/// through it is answered, after which she exits.
fn reached_after_the_change(dir: &TestDir, nat: &HomeNat, kam: &Kamailio, mut alice: CliRun) {
    assert_eq!(
        kam.options_to_aor("alice"),
        Some(200),
        "alice unreachable after the change:\n{}",
        nat.mappings()
    );
    let sipp = Sipp::uac("uac_via_proxy.xml", (nat.outside_ip, kam.port).into())
        .ip(nat.outside_ip)
        .service("alice")
        .timeout(20);
    let mut call = sipp.spawn(dir);
    call.assert_passed(Duration::from_secs(25));
    alice.expect_event("answered", Duration::from_secs(5));
    alice.wait_exit(Duration::from_secs(15));
    alice.assert_success();
}

/// The ISP hands the router a new address (the line reconnected): every mapping the router had
/// is gone, and the registered Contact is an address nothing reaches any more. The phone's UDP
/// keep-alive is an OPTIONS; the registrar's answer shows the new mapping and the phone
/// registers it, so calls reach it again within a few keep-alives (a CRLF keep-alive would have
/// opened the new mapping too, but nothing would have told the registrar until the next
/// refresh, an hour away).
#[test]
#[ignore = "needs real peers and network namespaces: run by cargo xtask test"]
fn a_new_public_address_is_noticed_by_the_keep_alive_and_registered() {
    let dir = TestDir::new("nat_new_public");
    let mut nat = HomeNat::new(60);
    let kam = Kamailio::builder()
        .user("alice", PW)
        .also_listen(nat.outside_ip)
        .start(&dir);
    let mut alice = phone(
        &dir,
        &nat,
        &kam,
        "alice",
        &["--keep-alive", "2", "--max-calls", "1"],
    );
    alice.expect_event("registered", Duration::from_secs(10));
    let old = nat.public_ip;
    let registered_at = |ip: std::net::Ipv4Addr| {
        registered_contacts(&kam, "alice")
            .into_iter()
            .find(|c| c.contains(&format!("@{ip}:")))
    };
    assert!(
        hookflash_tests::wait_until(Duration::from_secs(5), || registered_at(old)).is_some(),
        "{:?}",
        registered_contacts(&kam, "alice")
    );
    let new = nat.change_public_address(3);
    let changed = std::time::Instant::now();
    let seen = hookflash_tests::wait_until(Duration::from_secs(15), || registered_at(new));
    assert!(
        seen.is_some(),
        "the router's new address {new} (was {old}) never registered: {:?}\n{}\n{}",
        registered_contacts(&kam, "alice"),
        nat.mappings(),
        alice.stderr()
    );
    eprintln!(
        "the new public address was registered {:?} after the change",
        changed.elapsed()
    );
    reached_after_the_change(&dir, &nat, &kam, alice);
}

/// A laptop that joins another network gets another address: the phone notices within seconds
/// (its route toward the registrar leaves from the new address), listens there and registers
/// again from it, and calls reach it there. The old address is gone from the machine, so
/// nothing sent to it arrives any more.
#[test]
#[ignore = "needs real peers and network namespaces: run by cargo xtask test"]
fn a_new_local_address_is_bound_and_registered_and_calls_arrive_there() {
    let dir = TestDir::new("nat_new_address");
    let mut nat = HomeNat::new(30);
    let kam = Kamailio::builder()
        .user("alice", PW)
        .also_listen(nat.outside_ip)
        .start(&dir);
    let mut alice = phone(&dir, &nat, &kam, "alice", &["--max-calls", "1"]);
    alice.expect_event("registered", Duration::from_secs(10));
    let old = nat.home_ip;
    let new = nat.change_home_address(77);
    let changed = std::time::Instant::now();
    // A registration whose Contact is the new private address (the first REGISTER from there,
    // before the router's address is learned again).
    let seen = hookflash_tests::wait_until(Duration::from_secs(15), || {
        registered_contacts(&kam, "alice")
            .into_iter()
            .find(|c| c.contains(&format!("@{new}:")))
    });
    assert!(
        seen.is_some(),
        "no REGISTER from the new address {new} (old {old}): {:?}\n{}",
        registered_contacts(&kam, "alice"),
        alice.stderr()
    );
    eprintln!(
        "registered from the new address {:?} after the change",
        changed.elapsed()
    );
    // And a call through Kamailio reaches it there.
    reached_after_the_change(&dir, &nat, &kam, alice);
}
