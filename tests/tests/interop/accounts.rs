//! Several accounts at once: one `hookflash-cli session` with a profile of two `[[account]]`
//! entries on two Kamailio servers (each its own registrar and subscribers). Both register; a
//! baresip caller on each server calls its account and the call rings on that account; a call
//! out from the second account goes through the second server only.

use hookflash_tests::sipp::Sipp;
use hookflash_tests::{ports, Baresip, Cli, Kamailio, TestDir};
use serde_json::Value;
use std::time::Duration;

/// The env password (HOOKFLASH_PASSWORD) is every account's; the keyring would hold one per
/// account AOR. So the two subscribers here share one.
const PW: &str = "shared-secret";

fn incoming_for(events: &[Value], aor: &str) -> Option<Value> {
    events
        .iter()
        .find(|e| e["event"] == "incoming" && e["account"] == aor)
        .cloned()
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn two_accounts_on_two_servers_take_and_make_calls() {
    let dir = TestDir::new("two_accounts_on_two_servers");
    let kam_a = Kamailio::builder()
        .name("kamailio-a")
        .user("alice", PW)
        .user("bob", "bob-pw")
        .start(&dir);
    let kam_b = Kamailio::builder()
        .name("kamailio-b")
        .user("carol", PW)
        .user("dave", "dave-pw")
        .start(&dir);
    let uas = Sipp::uas("orbit_uas.xml");
    let mut uas_run = uas.spawn(&dir);
    let alice = "sip:alice@127.0.0.1";
    let carol = "sip:carol@127.0.0.1";
    let profile = dir.write(
        "two-accounts.toml",
        format!(
            "[[account]]\naor = \"{alice}\"\nregistrar = \"{}\"\nlisten = \"127.0.0.1:{}\"\n\n\
             [[account]]\naor = \"{carol}\"\nregistrar = \"{}\"\nlisten = \"127.0.0.1:{}\"\n",
            kam_a.registrar_uri("udp"),
            ports::free_port(),
            kam_b.registrar_uri("udp"),
            ports::free_port(),
        ),
    );
    let script = dir.write(
        "two-accounts.script",
        format!(
            "wait-ringing 1 20\nanswer\nwait-calls 1 10\nwait 1\nhangup all\n\
             wait-ringing 1 20\nanswer\nwait-calls 1 10\nwait 1\nhangup all\n\
             dial sip:bob@{} --from {carol}\nwait-calls 1 10\nwait 1\nhangup all\nwait 1\nquit\n",
            uas.addr()
        ),
    );
    let mut cli = Cli::new("cli", "session")
        .arg("--profile")
        .arg(&profile)
        .args(["--audio-in", "null", "--audio-out", "null", "--script"])
        .arg(&script)
        .password(PW)
        .spawn(&dir);
    // Both accounts register, each at its own server.
    let registered = hookflash_tests::wait_until(Duration::from_secs(15), || {
        let done: Vec<Value> = cli.events_named("registered");
        (done.len() >= 2).then_some(done)
    })
    .unwrap_or_else(|| {
        panic!(
            "both accounts should register\n{}\n{}",
            cli.stdout(),
            cli.stderr()
        )
    });
    let aors: Vec<&str> = registered
        .iter()
        .filter_map(|e| e["aor"].as_str())
        .collect();
    assert!(aors.contains(&alice) && aors.contains(&carol), "{aors:?}");
    assert!(
        kam_a
            .saved_registrations("alice")
            .iter()
            .any(|l| l.contains("user=alice")),
        "alice not at server A:\n{}",
        kam_a.log()
    );
    assert!(
        kam_b
            .saved_registrations("carol")
            .iter()
            .any(|l| l.contains("user=carol")),
        "carol not at server B:\n{}",
        kam_b.log()
    );
    assert!(
        kam_b.saved_registrations("alice").is_empty()
            && kam_a.saved_registrations("carol").is_empty(),
        "an account registered at the other server"
    );

    // A call in on each account.
    let mut bob = Baresip::builder("bob", "bob-pw")
        .registrar(kam_a.port)
        .dial(alice)
        .start(&dir);
    let first = hookflash_tests::wait_until(Duration::from_secs(15), || {
        incoming_for(&cli.events(), alice)
    })
    .unwrap_or_else(|| {
        panic!(
            "no incoming call on {alice}\n{}\n{}",
            cli.stdout(),
            bob.log()
        )
    });
    assert!(
        bob.wait_established(Duration::from_secs(10)),
        "bob's call not answered\n{}",
        bob.log()
    );
    assert!(
        bob.wait_call_ended(Duration::from_secs(10)),
        "bob's call not ended\n{}",
        bob.log()
    );
    bob.stop();
    let mut dave = Baresip::builder("dave", "dave-pw")
        .registrar(kam_b.port)
        .dial(carol)
        .start(&dir);
    let second = hookflash_tests::wait_until(Duration::from_secs(15), || {
        incoming_for(&cli.events(), carol)
    })
    .unwrap_or_else(|| {
        panic!(
            "no incoming call on {carol}\n{}\n{}",
            cli.stdout(),
            dave.log()
        )
    });
    assert!(
        dave.wait_established(Duration::from_secs(10)),
        "dave's call not answered\n{}",
        dave.log()
    );
    assert!(
        dave.wait_call_ended(Duration::from_secs(10)),
        "dave's call not ended\n{}",
        dave.log()
    );
    dave.stop();
    assert_ne!(first["call_id"], second["call_id"]);

    // The call out from the second account: through server B, as carol.
    uas_run.assert_passed(Duration::from_secs(25));
    cli.wait_exit(Duration::from_secs(15));
    cli.assert_success();
    let calling = cli.events_named("calling");
    assert_eq!(calling.len(), 1, "{calling:?}");
    assert_eq!(
        calling[0]["account"], carol,
        "the call out should be from {carol}: {}",
        calling[0]
    );
    let out_b: Vec<String> = kam_b
        .log()
        .lines()
        .filter(|l| l.contains("HF-REQ INVITE from=carol"))
        .map(String::from)
        .collect();
    assert!(
        !out_b.is_empty(),
        "the call from carol did not go through server B:\n{}",
        kam_b.log()
    );
    assert!(
        !kam_a.log().contains("HF-REQ INVITE from=carol"),
        "the call from carol went through server A:\n{}",
        kam_a.log()
    );
}
