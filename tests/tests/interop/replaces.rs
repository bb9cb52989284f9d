//! An INVITE with `Replaces` (RFC 3891) from sipp takes over the right call of
//! `hookflash-cli session`: the session calls two sipp phones (bob, then carol: bob is parked);
//! a third sipp — standing in for the transferee of an attended transfer, or a phone picking
//! up — sends an INVITE whose `Replaces` names the dialog with bob, built from what bob's sipp
//! saw on the wire (Call-ID, our tag, its tag). The session answers it at once without ringing,
//! on hold (bob was parked) and hangs up bob; carol keeps the speaker. Before that, the same
//! Call-ID with a wrong tag is refused 481 and changes nothing.

use hookflash_tests::sipp::{header_in, tag_of as tag, Sipp};
use hookflash_tests::{ports, Cli, TestDir};
use std::time::Duration;

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn an_invite_with_replaces_takes_the_place_of_the_call_it_names_and_no_other() {
    let dir = TestDir::new("replaces");
    let bob = Sipp::uas("uas_held_then_bye.xml").named("bob").timeout(40);
    let carol = Sipp::uas("uas_basic.xml").named("carol").timeout(40);
    let (mut bob_run, mut carol_run) = (bob.spawn(&dir), carol.spawn(&dir));
    let port = ports::free_port();
    let script = dir.write(
        "replaces.script",
        format!("dial sip:bob@{}\nwait-calls 1 10\ndial sip:carol@{}\nwait-calls 2 10\nwait 8\nlist\nquit\n", bob.addr(), carol.addr()),
    );
    let mut cli = Cli::new("session", "session")
        .args([
            "--no-register",
            "--aor",
            "sip:alice@127.0.0.1",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--audio-in", "null", "--audio-out", "null", "--script"])
        .arg(&script)
        .spawn(&dir);
    let both = hookflash_tests::wait_until(Duration::from_secs(20), || {
        (cli.events_named("answered").len() >= 2).then_some(())
    });
    assert!(
        both.is_some(),
        "the session did not connect both calls:\n{}",
        cli.stdout()
    );

    // The dialog with bob as our session knows it: its Call-ID, our tag (From of our INVITE),
    // bob's tag (To of bob's 200).
    let msgs = bob_run.messages();
    let call_id = header_in(&msgs, "SIP/2.0 200 OK", "Call-ID")
        .unwrap_or_else(|| panic!("no 200 in bob's trace:\n{msgs}"));
    let ours = tag(&header_in(&msgs, "SIP/2.0 200 OK", "From").unwrap_or_default());
    let bobs = tag(&header_in(&msgs, "SIP/2.0 200 OK", "To").unwrap_or_default());
    assert!(
        !ours.is_empty() && !bobs.is_empty(),
        "tags not found in bob's trace:\n{msgs}"
    );

    // The right Call-ID with a tag that is not ours: 481, nothing changes.
    let wrong = format!("{call_id};to-tag=not-{ours};from-tag={bobs}");
    let mut refused = Sipp::uac("uac_replaces_refused.xml", ([127, 0, 0, 1], port).into())
        .service("alice")
        .set("replaces", &wrong)
        .spawn(&dir);
    refused.assert_passed(Duration::from_secs(10));

    // Named rightly (to-tag: ours, from-tag: the far end's): it takes bob's place.
    let replaces = format!("{call_id};to-tag={ours};from-tag={bobs}");
    let transferee = Sipp::uac("uac_replaces.xml", ([127, 0, 0, 1], port).into())
        .service("alice")
        .set("replaces", &replaces)
        .timeout(30);
    let mut transferee_run = transferee.spawn(&dir);

    cli.wait_exit(Duration::from_secs(40));
    cli.assert_success();
    transferee_run.assert_passed(Duration::from_secs(10));
    bob_run.assert_passed(Duration::from_secs(10));
    carol_run.assert_passed(Duration::from_secs(10));

    let out = cli.stdout();
    assert!(
        cli.events_named("incoming").is_empty(),
        "nothing rang: {out}"
    );
    let ended = cli.events_named("ended");
    let bob_end = ended
        .iter()
        .find(|e| e["call_id"] == 1)
        .unwrap_or_else(|| panic!("bob's call did not end: {out}"));
    assert_eq!(bob_end["reason"], "replaced", "{bob_end}");
    assert!(
        bob_end["message"]
            .as_str()
            .unwrap_or_default()
            .contains("replaced by a call from Transferee"),
        "{bob_end}"
    );
    // bob heard our BYE right after the replacing call was answered.
    assert!(
        bob_run.messages().contains("BYE sip:"),
        "{}",
        bob_run.messages()
    );

    let lists = cli.events_named("calls");
    let calls = lists
        .last()
        .and_then(|l| l["calls"].as_array().cloned())
        .unwrap_or_default();
    assert_eq!(
        calls.len(),
        2,
        "carol's call and the one that replaced bob's: {out}"
    );
    let carol_call = calls
        .iter()
        .find(|c| c["call_id"] == 2)
        .unwrap_or_else(|| panic!("carol's call is gone: {out}"));
    assert_eq!(
        carol_call["active"], true,
        "carol keeps the speaker: {carol_call}"
    );
    let new = calls
        .iter()
        .find(|c| c["call_id"] != 2)
        .expect("the replacing call");
    assert!(
        new["remote_uri"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sip:transferee@"),
        "{new}"
    );
    assert_eq!(new["state"], "answered", "{new}");
    assert!(
        new["parked_since_ms"].is_i64(),
        "bob was parked, so the new call is too: {new}"
    );
    // Our answer holds it (sendonly), as bob's call was held.
    let answer = transferee_run.messages();
    let at = answer
        .find("SIP/2.0 200 OK")
        .unwrap_or_else(|| panic!("no 200 to the replacing INVITE:\n{answer}"));
    let block = answer[at..].split("UDP message").next().unwrap_or_default();
    assert!(
        block.contains("a=sendonly"),
        "our 200 does not hold the call:\n{block}"
    );
}
