//! Shared park on the server, against real peers: Kamailio (registrar, proxy, and presence
//! server: `dialog` + `pua_dialoginfo` publish the state of calls to orbit 701,
//! `presence_dialoginfo` serves it to our digest-authenticated `SUBSCRIBE Event: dialog`),
//! baresip as the remote party (a real UA that follows REFER), and a sipp UAS as the orbit.
//!
//! What is real: registration, the call alice (hookflash-cli session) ↔ bob (baresip), the
//! REFER and its NOTIFY sipfrags from baresip, baresip's INVITE to the orbit through Kamailio,
//! every dialog-info NOTIFY (Kamailio builds them from the dialogs it tracks), the retrieving
//! call to 701, and the 404 for orbit 702 (no orbit behind it: Kamailio finds no one).
//! What is scripted: the orbit itself (sipp answers each INVITE and holds it until BYE; it does
//! not bridge the retrieving call to the parked party, so after retrieving, bob's parked call
//! is ended by bob hanging up, as the hand-over at a real PBX would end it).

use hookflash_tests::baresip::Baresip;
use hookflash_tests::kamailio::Kamailio;
use hookflash_tests::sipp::Sipp;
use hookflash_tests::{Cli, TestDir};
use serde_json::Value;
use std::time::Duration;

fn slot<'a>(ev: &'a Value, name: &str) -> Option<&'a Value> {
    ev["slots"].as_array()?.iter().find(|s| s["slot"] == name)
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn park_on_orbit_701_watch_it_and_retrieve() {
    let dir = TestDir::new("shared_park");
    let orbit = Sipp::uas("orbit_uas.xml").calls(2).timeout(60);
    let mut orbit_run = orbit.spawn(&dir);
    let kamailio = Kamailio::builder()
        .user("alice", "alice-pw")
        .user("bob", "bob-pw")
        .park_orbits("^701$", orbit.addr())
        .start(&dir);
    let bob = Baresip::builder("bob", "bob-pw")
        .registrar(kamailio.port)
        .auto_answer(true)
        .name("bob")
        .start(&dir);
    assert!(
        bob.wait_registered(Duration::from_secs(10)),
        "bob did not register\n{}",
        bob.log()
    );

    let kport = kamailio.port;
    let profile = dir.write(
        "alice.toml",
        format!(
            "[account]\naor = \"sip:alice@127.0.0.1\"\nregistrar = \"sip:127.0.0.1:{kport}\"\nlisten = \"127.0.0.1:0\"\n\
             [account.shared_park]\norbits = [\"701-702\"]\ndomain = \"127.0.0.1:{kport}\"\n"
        ),
    );
    let script = dir.write(
        "alice.script",
        "dial sip:bob@127.0.0.1\n\
         wait-calls 1 10\n\
         wait 1\n\
         # 702 has no orbit behind it: the transfer fails, the call stays here, parked\n\
         park-orbit 1 702\n\
         wait 3\n\
         switch 1\n\
         wait 1\n\
         park-orbit 1 701\n\
         wait-slot 701 occupied 15\n\
         slots\n\
         wait 1\n\
         retrieve 701\n\
         wait-calls 1 10\n\
         wait 1\n\
         hangup all\n\
         wait-slot 701 free 20\n\
         slots\n\
         quit\n",
    );
    let mut alice = Cli::new("alice", "session")
        .arg("--profile")
        .arg(&profile)
        .args(["--audio-in", "null", "--audio-out", "null", "--script"])
        .arg(&script)
        .password("alice-pw")
        .spawn(&dir);

    // The retrieving call (call 2) connected: bob leaves the orbit (see the header comment).
    let retrieved = hookflash_tests::wait_until(Duration::from_secs(40), || {
        alice
            .events()
            .iter()
            .any(|e| e["event"] == "answered" && e["call_id"] == 2)
            .then_some(())
    });
    assert!(
        retrieved.is_some(),
        "retrieve 701 never connected\n{}\n{}",
        alice.stdout(),
        alice.stderr()
    );
    bob.hangup();
    let status = alice.wait_exit(Duration::from_secs(40));
    let events = alice.events();
    let dump = || {
        format!(
            "{}\n{}\n--- kamailio ---\n{}",
            alice.stdout(),
            alice.stderr(),
            hookflash_tests::process::tail(&kamailio.log(), 60)
        )
    };
    assert!(status.success(), "session failed\n{}", dump());
    assert!(
        !events.iter().any(|e| e["event"] == "error"),
        "a command failed\n{}",
        dump()
    );

    // Orbit 702: refused, with the status from baresip's NOTIFY, and the call parked locally.
    let warning = events
        .iter()
        .find(|e| {
            e["event"] == "warning"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("park on orbit 702"))
        })
        .unwrap_or_else(|| panic!("no warning about orbit 702\n{}", dump()));
    let m = warning["message"].as_str().unwrap();
    assert!(m.contains("refused (404)"), "{m}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "parked" && e["call_id"] == 1),
        "call 1 was not parked locally\n{}",
        dump()
    );

    // Orbit 701: our leg ended once, as parked; Kamailio's NOTIFY showed bob in 701.
    let ends: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "ended" && e["call_id"] == 1)
        .collect();
    assert_eq!(ends.len(), 1, "{}", dump());
    assert_eq!(ends[0]["reason"], "parked_on_orbit", "{}", dump());
    assert!(
        ends[0]["message"]
            .as_str()
            .unwrap()
            .contains("parked on 701"),
        "{}",
        dump()
    );
    let occupied = events
        .iter()
        .filter(|e| e["event"] == "slots")
        .find_map(|e| slot(e, "701").filter(|s| s["occupied"] == true).cloned())
        .unwrap_or_else(|| panic!("701 never reported occupied\n{}", dump()));
    assert!(
        occupied["parked_uri"]
            .as_str()
            .is_some_and(|u| u.contains("bob")),
        "who is parked: {occupied}"
    );
    // ... and free at the end, 702 free throughout.
    let last = events.iter().rev().find(|e| e["event"] == "slots").unwrap();
    assert_eq!(slot(last, "701").unwrap()["occupied"], false, "{last}");
    assert!(events
        .iter()
        .filter(|e| e["event"] == "slots")
        .all(|e| slot(e, "702").unwrap()["occupied"] == false));

    // SUBSCRIBE was challenged and answered with our digest; baresip really went to the orbit.
    let log = kamailio.log();
    assert!(
        log.contains("HF-SUB-CHALLENGE user=alice"),
        "SUBSCRIBE was not challenged\n{}",
        dump()
    );
    assert!(
        log.contains("HF-SUBSCRIBE user=alice ruri=sip:701@127.0.0.1"),
        "{}",
        dump()
    );
    assert!(
        log.contains("HF-ORBIT 701 from=bob"),
        "baresip did not call the orbit\n{}",
        dump()
    );
    orbit_run.assert_passed(Duration::from_secs(30));

    // History: the call with bob is one row, answered, "parked on 701".
    let history = history_of(&dir.join("alice-home").join("history.sqlite3"));
    let bob_rows: Vec<_> = history
        .iter()
        .filter(|h| h.remote_uri == "sip:bob@127.0.0.1")
        .collect();
    assert_eq!(bob_rows.len(), 1, "{history:?}");
    assert_eq!(bob_rows[0].outcome, "answered");
    assert_eq!(
        bob_rows[0].end_message.as_deref(),
        Some("sip:bob@127.0.0.1 parked on 701"),
        "{history:?}"
    );
}

/// The rows of a history file, read through a phone that does not register.
fn history_of(db: &std::path::Path) -> Vec<hookflash_phone::HistoryEntry> {
    use hookflash_phone::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let account = AccountConfig {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            register: false,
            ..AccountConfig::new("sip:reader@127.0.0.1")
        };
        let phone = Phone::start(
            PhoneConfig {
                account,
                more_accounts: Vec::new(),
                history_db: db.to_path_buf(),
                user_agent: None,
            },
            PasswordSource::None,
        )
        .await
        .unwrap();
        let rows = phone.history(20).unwrap();
        phone.shutdown().await;
        rows
    })
}
