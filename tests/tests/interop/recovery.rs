//! Staying registered when the network or the registrar misbehaves:
//!
//! * `a_tcp_registration_is_made_again_right_after_the_registrar_restarts`: Kamailio (bindings
//!   in memory) restarts under a phone registered over TCP. The phone notices its connection
//!   closed (a check every 2 s, no traffic) and registers again on a new one at once — not at
//!   the next refresh minutes later — so calls reach it again.
//! * `a_udp_refresh_reaches_a_registrar_that_comes_back`: Kamailio is down when a UDP refresh is
//!   due and comes back a few seconds later: the phone is registered again within seconds.
//! * `behind_nat_the_address_the_registrar_saw_is_registered`: a sipp registrar answers with
//!   `received`/`rport` naming another address (what a NAT does); the phone registers that
//!   address at once, removing its private one in the same REGISTER, and un-registers it at the end.

use hookflash_tests::kamailio::is_unregister_line;
use hookflash_tests::sipp::Sipp;
use hookflash_tests::{ports, Cli, Kamailio, TestDir};
use std::time::{Duration, Instant};

const PW: &str = "alice-secret";

fn register(registrar: &str, extra: &[&str]) -> Cli {
    Cli::new("cli", "register")
        .args([
            "--aor",
            "sip:alice@127.0.0.1",
            "--registrar",
            registrar,
            "--listen",
            &format!("127.0.0.1:{}", ports::free_port()),
        ])
        .args(extra)
        .password(PW)
}

/// Waits (up to `within`) until the restarted Kamailio has saved a registration of alice.
fn saved_again(kam: &Kamailio, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    hookflash_tests::wait_until(within, || {
        kam.saved_registrations("alice")
            .iter()
            .any(|l| !is_unregister_line(l))
            .then_some(())
    })
    .map(|_| start.elapsed())
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn a_tcp_registration_is_made_again_right_after_the_registrar_restarts() {
    let dir = TestDir::new("tcp_registrar_restart");
    let mut kam = Kamailio::builder().user("alice", PW).start(&dir);
    // A 10-minute registration: only recovery can bring it back within the test.
    let mut cli = register(
        &kam.registrar_uri("tcp"),
        &["--expires", "600", "--duration", "40"],
    )
    .spawn(&dir);
    cli.expect_event("registered", Duration::from_secs(10));
    assert_eq!(
        kam.options_to_aor("alice"),
        Some(200),
        "alice not reachable before the restart"
    );

    kam.start_again();
    assert_eq!(
        kam.options_to_aor("alice"),
        Some(404),
        "the restarted Kamailio still knows alice: the test proves nothing"
    );
    let took = saved_again(&kam, Duration::from_secs(15)).unwrap_or_else(|| {
        panic!(
            "not registered again after the restart\n{}\n{}",
            cli.stderr(),
            kam.log()
        )
    });
    eprintln!("registered again {took:?} after the registrar was back");
    let saved = kam.saved_registrations("alice");
    assert!(saved.iter().any(|l| l.contains("proto=tcp")), "{saved:#?}");
    // Calls reach the phone again: Kamailio relays OPTIONS to the new binding and the phone answers.
    assert_eq!(
        kam.options_to_aor("alice"),
        Some(200),
        "alice registered but not reachable over the new connection"
    );
    cli.stop();
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn a_udp_refresh_reaches_a_registrar_that_comes_back() {
    let dir = TestDir::new("udp_registrar_back");
    let mut kam = Kamailio::builder().user("alice", PW).start(&dir);
    // 10 s registrations: refreshed 5 s after each success.
    let mut cli = register(
        &kam.registrar_uri("udp"),
        &["--expires", "10", "--duration", "40"],
    )
    .spawn(&dir);
    cli.expect_event("registered", Duration::from_secs(10));
    kam.stop();
    // The refresh falls due while nothing answers; it keeps trying.
    std::thread::sleep(Duration::from_secs(9));
    kam.start_again();
    let took = saved_again(&kam, Duration::from_secs(15)).unwrap_or_else(|| {
        panic!(
            "not registered again after the registrar came back\n{}\n{}",
            cli.stderr(),
            kam.log()
        )
    });
    eprintln!("registered again {took:?} after the registrar was back");
    assert_eq!(
        kam.options_to_aor("alice"),
        Some(200),
        "alice registered but not reachable"
    );
    cli.stop();
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn behind_nat_the_address_the_registrar_saw_is_registered() {
    let dir = TestDir::new("nat_registrar");
    let sipp = Sipp::uas("nat_registrar.xml");
    let mut run = sipp.spawn(&dir);
    let registrar = format!("sip:{}", sipp.addr());
    let mut cli = register(&registrar, &["--duration", "1"]).run(&dir, Duration::from_secs(20));
    cli.assert_success();
    cli.expect_event("registered", Duration::from_secs(1));
    // sipp checked each REGISTER's Contact (the learned address, the old one removed).
    run.assert_passed(Duration::from_secs(10));
}
