//! Local conference with real cores on the wire: bob calls alice, alice calls carol (bob
//! parked), then merges: both are resumed and mixed with alice; "leave" connects bob and carol
//! to each other and alice is out; with three parties leaving is refused (the mix is here)
//! unless she ends it.

use super::wire::{opts, Wire};
use crate::api::*;
use crate::core::io::{Command, Done};

fn conference_events(events: &[PhoneEvent]) -> Vec<(Vec<CallId>, bool, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            PhoneEvent::Conference {
                parties,
                joined,
                muted,
                ..
            } => Some((parties.clone(), *joined, *muted)),
            _ => None,
        })
        .collect()
}

fn ended(events: &[PhoneEvent], id: CallId) -> Option<EndReason> {
    events.iter().find_map(|e| match e {
        PhoneEvent::CallEnded { call, reason, .. } if call.id == id => Some(reason.clone()),
        _ => None,
    })
}

/// bob calls alice (answered), alice dials `others` in turn (each answers): alice's call ids,
/// bob's first.
fn calls_at_alice(w: &mut Wire, others: &[&str]) -> Vec<CallId> {
    w.refer_to_peer = true;
    w.ask(
        "bob",
        Command::Dial {
            target: "sip:alice@alice.test".into(),
            opts: opts(),
        },
        50,
    )
    .unwrap();
    let ab = w.calls("alice")[0].id;
    w.ask(
        "alice",
        Command::Answer {
            id: ab,
            opts: opts(),
        },
        100,
    )
    .unwrap();
    let mut ids = vec![ab];
    for other in others {
        let Ok(Done::Call(id)) = w.ask(
            "alice",
            Command::Dial {
                target: format!("sip:{other}@{other}.test"),
                opts: opts(),
            },
            50,
        ) else {
            panic!("no call to {other}")
        };
        let theirs = w.calls(other)[0].id;
        w.ask(
            other,
            Command::Answer {
                id: theirs,
                opts: opts(),
            },
            100,
        )
        .unwrap();
        ids.push(id);
    }
    ids
}

#[test]
fn merging_resumes_everyone_and_mixes_them_with_the_user() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let ids = calls_at_alice(&mut w, &["carol"]);
    let (ab, ac) = (ids[0], ids[1]);
    assert!(
        w.calls("bob")[0].held_by_remote,
        "bob was parked for the call to carol"
    );
    w.take_events("alice");

    assert_eq!(
        w.ask("alice", Command::Conference { ids: vec![ab] }, 200),
        Ok(Done::Ok)
    );

    assert_eq!(
        w.phone("alice").mixed,
        vec![ac, ab],
        "carol (active) and bob are mixed"
    );
    assert_eq!(
        w.phone("alice").routed,
        None,
        "no single call has the microphone"
    );
    for id in [ab, ac] {
        let c = w.call("alice", id);
        assert!(
            c.conference && !c.active && c.parked_since_ms.is_none(),
            "{c:#?}"
        );
    }
    assert!(!w.calls("bob")[0].held_by_remote, "bob was resumed");
    assert!(!w.calls("carol")[0].held_by_remote);
    assert_eq!(
        conference_events(&w.take_events("alice")),
        vec![(vec![ac, ab], true, false)]
    );

    // Muting bob toward the conference and the user's own microphone.
    w.ask(
        "alice",
        Command::ConferenceMute {
            id: Some(ab),
            muted: true,
        },
        10,
    )
    .unwrap();
    w.ask(
        "alice",
        Command::ConferenceMute {
            id: None,
            muted: true,
        },
        10,
    )
    .unwrap();
    assert!(w.call("alice", ab).conference_muted && !w.call("alice", ac).conference_muted);
    assert_eq!(
        w.phone("alice").mix_muted,
        [Some(ab), None].into_iter().collect()
    );
    let e = w
        .ask(
            "alice",
            Command::ConferenceMute {
                id: Some(99),
                muted: true,
            },
            10,
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("call 99 is not in the conference"),
        "{e}"
    );

    // carol hangs up: bob alone is a plain active call again, his mute gone with the conference.
    let ca = w.calls("carol")[0].id;
    w.ask("carol", Command::Hangup { id: ca }, 100).unwrap();
    assert_eq!(w.phone("alice").mixed, Vec::<CallId>::new());
    assert_eq!(w.phone("alice").routed, Some(ab));
    assert!(
        w.phone("alice").mix_muted.is_empty(),
        "{:?}",
        w.phone("alice").mix_muted
    );
    let c = w.call("alice", ab);
    assert!(c.active && !c.conference && !c.conference_muted, "{c:#?}");
    assert_eq!(
        conference_events(&w.take_events("alice")).last(),
        Some(&(vec![], false, false))
    );
}

#[test]
fn leaving_a_three_way_connects_the_other_two_and_ends_our_calls() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let ids = calls_at_alice(&mut w, &["carol"]);
    let (ab, ac) = (ids[0], ids[1]);
    w.ask("alice", Command::Conference { ids: vec![ab] }, 200)
        .unwrap();
    w.take_events("alice");
    w.take_events("carol");

    let t = w.command("alice", Command::LeaveConference { end: false });
    w.run_for(400);

    assert_eq!(w.reply("alice", t), Ok(Done::Ok));
    assert!(w.calls("alice").is_empty(), "{:#?}", w.calls("alice"));
    let alice = w.take_events("alice");
    assert!(
        matches!(ended(&alice, ac), Some(EndReason::Transferred { .. })),
        "{alice:#?}"
    );
    assert!(
        matches!(ended(&alice, ab), Some(EndReason::Transferred { .. })),
        "{alice:#?}"
    );
    let (bob, carol) = (w.calls("bob"), w.calls("carol"));
    assert!(
        bob.len() == 1
            && bob[0].state == CallState::Answered
            && bob[0].remote_uri.contains("carol"),
        "{bob:#?}"
    );
    assert!(
        carol.len() == 1 && carol[0].remote_uri.contains("bob"),
        "{carol:#?}"
    );
    assert!(
        !w.take_events("carol")
            .iter()
            .any(|e| matches!(e, PhoneEvent::IncomingCall { .. })),
        "carol's phone did not ring again"
    );
    let rows: Vec<CallId> = w
        .phone("alice")
        .finished
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(
        (
            rows.iter().filter(|i| **i == ab).count(),
            rows.iter().filter(|i| **i == ac).count()
        ),
        (1, 1),
        "one history row per leg"
    );
}

#[test]
fn with_three_parties_leaving_is_refused_unless_the_user_ends_it() {
    let mut w = Wire::new(&["alice", "bob", "carol", "dave"]);
    let ids = calls_at_alice(&mut w, &["carol", "dave"]);
    let e = w
        .ask("alice", Command::LeaveConference { end: false }, 10)
        .unwrap_err();
    assert!(e.to_string().contains("not in a conference"), "{e}");
    w.ask(
        "alice",
        Command::Conference {
            ids: vec![ids[0], ids[1]],
        },
        200,
    )
    .unwrap();
    assert_eq!(w.phone("alice").mixed.len(), 3);

    let e = w
        .ask("alice", Command::LeaveConference { end: false }, 10)
        .unwrap_err();
    assert!(
        e.to_string().contains("leaving would end it for everyone"),
        "{e}"
    );
    assert_eq!(w.calls("alice").len(), 3, "nothing dropped");

    w.ask("alice", Command::LeaveConference { end: true }, 200)
        .unwrap();
    assert!(w.calls("alice").is_empty());
    for other in ["bob", "carol", "dave"] {
        assert!(w.calls(other).is_empty(), "{other} was hung up");
    }
    let rows: Vec<CallId> = w
        .phone("alice")
        .finished
        .iter()
        .map(|(id, _)| *id)
        .collect();
    let mut sorted = rows.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        rows.len(),
        "every leg recorded once: {rows:?}"
    );
    assert_eq!(rows.len(), 3);
}

#[test]
fn merging_while_a_hold_is_still_in_flight_ends_with_everyone_resumed() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let ids = calls_at_alice(&mut w, &["carol"]);
    let (ab, ac) = (ids[0], ids[1]);
    // carol is parked and at once merged back, before her phone answered the hold.
    let t1 = w.command("alice", Command::Park { id: ac });
    let t2 = w.command("alice", Command::Conference { ids: vec![ab, ac] });
    w.run_for(500);
    assert_eq!(w.reply("alice", t1), Ok(Done::Ok));
    assert_eq!(w.reply("alice", t2), Ok(Done::Ok));
    let mut mixed = w.phone("alice").mixed.clone();
    mixed.sort();
    assert_eq!(mixed, vec![ab, ac]);
    assert!(
        !w.calls("bob")[0].held_by_remote && !w.calls("carol")[0].held_by_remote,
        "both resumed in the end"
    );
    assert!(w.call("alice", ac).parked_since_ms.is_none());
}

#[test]
fn a_call_still_ringing_cannot_join_and_the_message_says_why() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let ids = calls_at_alice(&mut w, &[]);
    w.ask(
        "carol",
        Command::Dial {
            target: "sip:alice@alice.test".into(),
            opts: opts(),
        },
        50,
    )
    .unwrap();
    let ringing = w
        .calls("alice")
        .iter()
        .find(|c| c.state == CallState::Ringing)
        .unwrap()
        .id;
    let e = w
        .ask("alice", Command::Conference { ids: vec![ringing] }, 10)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("call {ringing} is not connected")),
        "{e}"
    );
    let e = w
        .ask("alice", Command::Conference { ids: vec![] }, 10)
        .unwrap_err();
    assert!(
        e.to_string().contains(&format!("only call {}", ids[0])),
        "{e}"
    );
    assert!(w.call("alice", ids[0]).active, "nothing changed");
}

#[test]
fn levels_come_four_times_a_second_while_the_user_is_in_the_conference() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let ids = calls_at_alice(&mut w, &["carol"]);
    w.ask("alice", Command::Conference { ids: vec![ids[0]] }, 100)
        .unwrap();
    w.take_events("alice");
    w.run_for(1000);
    let levels: Vec<Vec<PartyLevel>> = w
        .take_events("alice")
        .into_iter()
        .filter_map(|e| match e {
            PhoneEvent::ConferenceLevels { levels } => Some(levels),
            _ => None,
        })
        .collect();
    assert!(
        (3..=5).contains(&levels.len()),
        "{} readings in a second",
        levels.len()
    );
    let last = levels.last().unwrap();
    let mut who: Vec<Option<CallId>> = last.iter().map(|l| l.call_id).collect();
    who.sort();
    assert_eq!(
        who,
        vec![None, Some(ids[0]), Some(ids[1])],
        "the parties and the user, nothing else"
    );
    // Parked (another call is dialled): no more readings.
    w.ask(
        "alice",
        Command::Dial {
            target: "sip:dave@dave.test".into(),
            opts: opts(),
        },
        100,
    )
    .ok();
    w.take_events("alice");
    w.run_for(1000);
    assert!(!w
        .take_events("alice")
        .iter()
        .any(|e| matches!(e, PhoneEvent::ConferenceLevels { .. })));
}

#[test]
fn calls_on_another_microphone_or_speaker_cannot_be_mixed_with_the_rest() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let ids = calls_at_alice(&mut w, &[]);
    let other = CallOptions {
        audio_out: AudioEndpoint::Wav("headset.wav".into()),
        ..opts()
    };
    let Ok(Done::Call(ac)) = w.ask(
        "alice",
        Command::Dial {
            target: "sip:carol@carol.test".into(),
            opts: other,
        },
        50,
    ) else {
        panic!()
    };
    let ca = w.calls("carol")[0].id;
    w.ask(
        "carol",
        Command::Answer {
            id: ca,
            opts: opts(),
        },
        100,
    )
    .unwrap();
    let e = w
        .ask("alice", Command::Conference { ids: vec![ids[0]] }, 10)
        .unwrap_err();
    assert!(
        e.to_string().contains("uses another microphone or speaker"),
        "{e}"
    );
    assert!(
        w.call("alice", ac).active && w.phone("alice").mixed.is_empty(),
        "nothing changed"
    );
}

/// Who is referred to whom on leave follows what the phones said they can do: bob called in
/// (his INVITE says nothing), carol was called; carol's phone says it takes REFER but not
/// Replaces, so carol is referred to bob rather than bob to carol.
#[test]
fn leave_refers_the_phone_that_can_to_the_one_that_takes_replaces() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    w.answer_capabilities = hookflash_sip::capabilities::Capabilities {
        refer: Some(true),
        replaces: Some(false),
    };
    let ids = calls_at_alice(&mut w, &["carol"]);
    w.ask("alice", Command::Conference { ids: vec![ids[0]] }, 200)
        .unwrap();
    let t = w.command("alice", Command::LeaveConference { end: false });
    w.run_for(400);
    assert_eq!(w.reply("alice", t), Ok(Done::Ok));
    let transfers: Vec<CallId> = w
        .take_events("alice")
        .iter()
        .filter_map(|e| match e {
            PhoneEvent::Transfer { call_id, .. } => Some(*call_id),
            _ => None,
        })
        .collect();
    assert!(
        !transfers.is_empty() && transfers.iter().all(|c| *c == ids[1]),
        "carol's call (the one we made) was referred: {transfers:?}"
    );
    let carol = w.calls("carol");
    assert!(
        carol.iter().any(|c| c.remote_uri.contains("bob")),
        "carol's phone called bob: {carol:#?}"
    );
}

/// alice hosts bob, carol and dave and hands the conference to bob: bob's phone is referred to
/// carol, then to dave (each INVITE replacing alice's call, so neither phone rings), joins the
/// two into a conference of its own, and alice is out, one history row per leg.
#[test]
fn handing_the_conference_to_one_party_leaves_it_running_on_that_phone() {
    let mut w = Wire::new(&["alice", "bob", "carol", "dave"]);
    let ids = calls_at_alice(&mut w, &["carol", "dave"]);
    let (ab, ac, ad) = (ids[0], ids[1], ids[2]);
    let e = w
        .ask("alice", Command::HandConference { to: ab }, 10)
        .unwrap_err();
    assert!(e.to_string().contains("not in a conference"), "{e}");
    w.ask("alice", Command::Conference { ids: vec![ab, ac] }, 200)
        .unwrap();
    assert_eq!(w.phone("alice").mixed.len(), 3);
    let e = w
        .ask("alice", Command::HandConference { to: 99 }, 10)
        .unwrap_err();
    assert!(
        e.to_string().contains("call 99 is not in the conference"),
        "{e}"
    );
    for name in ["alice", "bob", "carol", "dave"] {
        w.take_events(name);
    }

    let t = w.command("alice", Command::HandConference { to: ab });
    w.run_for(1_000);

    assert_eq!(w.reply("alice", t), Ok(Done::Ok));
    assert!(
        w.calls("alice").is_empty(),
        "alice is out: {:#?}",
        w.calls("alice")
    );
    let alice = w.take_events("alice");
    for id in [ac, ad] {
        assert_eq!(
            ended(&alice, id),
            Some(EndReason::Transferred {
                target: "sip:bob@bob.test".into()
            }),
            "{alice:#?}"
        );
    }
    assert_eq!(
        ended(&alice, ab),
        Some(EndReason::Transferred {
            target: "sip:dave@dave.test, sip:carol@carol.test".into()
        }),
        "{alice:#?}"
    );
    let rows: Vec<CallId> = w
        .phone("alice")
        .finished
        .iter()
        .map(|(id, _)| *id)
        .collect();
    for id in [ab, ac, ad] {
        assert_eq!(
            rows.iter().filter(|r| **r == id).count(),
            1,
            "one history row per leg: {rows:?}"
        );
    }
    // bob hosts carol and dave now, mixed with him; his call with alice ended "transferred".
    let bob = w.calls("bob");
    assert_eq!(bob.len(), 2, "{bob:#?}");
    assert!(
        bob.iter()
            .all(|c| c.state == CallState::Answered && c.conference && c.parked_since_ms.is_none()),
        "{bob:#?}"
    );
    let mut remotes: Vec<&str> = bob.iter().map(|c| c.remote_uri.as_str()).collect();
    remotes.sort();
    assert_eq!(remotes, ["sip:carol@carol.test", "sip:dave@dave.test"]);
    assert_eq!(w.phone("bob").mixed.len(), 2);
    let bob_events = w.take_events("bob");
    let old = bob_events.iter().find_map(|e| match e {
        PhoneEvent::CallEnded { call, reason, .. } if call.remote_uri.contains("alice") => {
            Some(reason.clone())
        }
        _ => None,
    });
    assert!(
        matches!(old, Some(EndReason::Transferred { .. })),
        "bob's call with alice: {old:?}"
    );
    for name in ["carol", "dave"] {
        let events = w.take_events(name);
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, PhoneEvent::IncomingCall { .. })),
            "{name}'s phone rang: {events:#?}"
        );
        let calls = w.calls(name);
        assert!(
            calls.len() == 1
                && calls[0].remote_uri == "sip:bob@bob.test"
                && !calls[0].held_by_remote,
            "{name}: {calls:#?}"
        );
    }
}

/// bob's phone refuses transfer requests: the first REFER is answered 603, the user hears why,
/// and nothing moved — bob is back in the conference with carol and dave.
#[test]
fn a_host_that_cannot_take_the_conference_leaves_everyone_in_it_here() {
    let mut bob = super::wire::account_config("bob");
    bob.transfer_requests = TransferRequests::Refuse;
    let mut w = Wire::with_accounts(vec![
        ("alice", vec![super::wire::account_config("alice")]),
        ("bob", vec![bob]),
        ("carol", vec![super::wire::account_config("carol")]),
        ("dave", vec![super::wire::account_config("dave")]),
    ]);
    let ids = calls_at_alice(&mut w, &["carol", "dave"]);
    w.ask(
        "alice",
        Command::Conference {
            ids: vec![ids[0], ids[1]],
        },
        200,
    )
    .unwrap();
    w.take_events("alice");

    let e = w
        .ask("alice", Command::HandConference { to: ids[0] }, 1_000)
        .unwrap_err();

    let text = e.to_string();
    assert!(
        text.contains("handing the conference to sip:bob@bob.test stopped")
            && text.contains("(603"),
        "{text}"
    );
    assert!(text.contains("stay in the conference here"), "{text}");
    let calls = w.calls("alice");
    assert_eq!(calls.len(), 3, "nothing dropped: {calls:#?}");
    assert!(
        calls
            .iter()
            .all(|c| c.conference && c.parked_since_ms.is_none()),
        "bob is back in the conference: {calls:#?}"
    );
    assert_eq!(w.phone("alice").mixed.len(), 3);
    let warnings: Vec<String> = w
        .take_events("alice")
        .into_iter()
        .filter_map(|e| match e {
            PhoneEvent::Warning { message } => Some(message),
            _ => None,
        })
        .collect();
    assert!(
        warnings.iter().any(|m| m.contains("stopped")),
        "{warnings:?}"
    );
    assert!(!w.calls("bob")[0].held_by_remote, "bob resumed");
}
