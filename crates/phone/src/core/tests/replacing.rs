//! Attended transfer as the transferee and the target live it (RFC 3515 + RFC 3891): alice is
//! talking to bob, consults carol, then refers bob to carol with a `Replaces` naming her call
//! with carol. bob calls carol with that `Replaces`; carol's phone answers at once, in the place
//! of her call with alice, which it hangs up. Nobody rings; alice ends up with no calls.

use super::wire::{opts, Wire};
use crate::api::*;
use crate::core::being_transferred::OLD_CALL_LEFT_MS;
use crate::core::io::{Command, Done};
use hookflash_sip::replaces::Replaces;

/// `from` calls `to`, who answers: (caller's call id, callee's).
fn call(w: &mut Wire, from: &str, to: &str) -> (CallId, CallId) {
    let Ok(Done::Call(a)) = w.ask(
        from,
        Command::Dial {
            target: format!("sip:{to}@{to}.test"),
            opts: opts(),
        },
        50,
    ) else {
        panic!()
    };
    let b = w
        .calls(to)
        .iter()
        .find(|c| c.state == CallState::Ringing)
        .expect("it rings")
        .id;
    w.ask(
        to,
        Command::Answer {
            id: b,
            opts: opts(),
        },
        100,
    )
    .unwrap();
    (a, b)
}

/// The Refer-To of an attended transfer to `user`, replacing `sip_call_id`.
fn refer_to(user: &str, sip_call_id: String, early_only: bool) -> String {
    let r = Replaces {
        call_id: sip_call_id,
        to_tag: "t".into(),
        from_tag: "f".into(),
        early_only,
    };
    format!("<sip:{user}@{user}.test?Replaces={}>", r.uri_escaped())
}

fn ended(events: &[PhoneEvent], id: CallId) -> Option<EndReason> {
    events.iter().find_map(|e| match e {
        PhoneEvent::CallEnded { call, reason, .. } if call.id == id => Some(reason.clone()),
        _ => None,
    })
}

#[test]
fn an_attended_transfer_connects_the_two_without_ringing_and_the_transferor_is_out() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let (ab, ba) = call(&mut w, "alice", "bob");
    // alice consults carol (bob is parked by the new call).
    let (ac, ca) = call(&mut w, "alice", "carol");
    w.run_for(100);
    assert!(w.call("alice", ab).parked_since_ms.is_some());
    w.take_events("carol");
    w.take_events("bob");

    w.refer(
        "alice",
        ab,
        Some(&refer_to("carol", w.sip_call_id("alice", ac), false)),
    );
    w.run_for(300);

    assert_eq!(w.phone("alice").refer_answers, vec![202]);
    // carol: bob's call took her call with alice's place, answered and active, never ringing.
    let carol = w.take_events("carol");
    assert!(
        !carol
            .iter()
            .any(|e| matches!(e, PhoneEvent::IncomingCall { .. })),
        "carol's phone rang: {carol:#?}"
    );
    assert_eq!(
        ended(&carol, ca),
        Some(EndReason::Replaced {
            by: "sip:bob@bob.test".into()
        }),
        "{carol:#?}"
    );
    let calls = w.calls("carol");
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let cb = &calls[0];
    assert!(
        cb.state == CallState::Answered && cb.active && cb.remote_uri == "sip:bob@bob.test",
        "{cb:#?}"
    );
    assert_eq!(
        w.phone("carol").routed,
        Some(cb.id),
        "carol's microphone and speaker are on bob's call"
    );
    let (_, row) = w
        .phone("carol")
        .finished
        .iter()
        .find(|(id, _)| *id == ca)
        .expect("the replaced call's history row");
    assert_eq!(
        row.end_reason.as_deref(),
        Some("call with sip:alice@alice.test replaced by a call from sip:bob@bob.test")
    );
    // bob: the new call is connected, alice heard 200; the old call, left to alice for a
    // moment (this REFER came from the wire, nobody ends it), ended "transferred".
    assert_eq!(w.phone("bob").notified.last(), Some(&(200, true)));
    w.run_for(OLD_CALL_LEFT_MS);
    assert_eq!(
        ended(&w.take_events("bob"), ba),
        Some(EndReason::Transferred {
            target: "sip:carol@carol.test".into()
        })
    );
    let bob = w.calls("bob");
    assert!(
        bob.len() == 1
            && bob[0].state == CallState::Answered
            && bob[0].remote_uri == "sip:carol@carol.test",
        "{bob:#?}"
    );
    // alice is out: bob's BYE and carol's BYE ended both her calls.
    assert!(w.calls("alice").is_empty(), "{:#?}", w.calls("alice"));
    assert_eq!(
        w.phone("carol")
            .finished
            .iter()
            .filter(|(id, _)| *id == ca)
            .count(),
        1,
        "one history row per leg"
    );
}

#[test]
fn a_parked_call_is_replaced_by_a_parked_call_and_the_active_one_keeps_the_speaker() {
    let mut w = Wire::new(&["alice", "bob", "carol", "dave"]);
    let (ab, _) = call(&mut w, "alice", "bob");
    let (ac, ca) = call(&mut w, "alice", "carol");
    // carol takes dave's call: her call with alice is parked.
    let (_, cd) = call(&mut w, "dave", "carol");
    w.run_for(100);
    assert!(w.call("carol", ca).parked_since_ms.is_some());

    w.refer(
        "alice",
        ab,
        Some(&refer_to("carol", w.sip_call_id("alice", ac), false)),
    );
    w.run_for(300 + OLD_CALL_LEFT_MS);

    let calls = w.calls("carol");
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let new = calls
        .iter()
        .find(|c| c.remote_uri == "sip:bob@bob.test")
        .expect("bob's call");
    assert!(
        new.state == CallState::Answered && !new.active && new.parked_since_ms.is_some(),
        "{new:#?}"
    );
    assert!(w.call("carol", cd).active, "dave keeps carol's speaker");
    assert_eq!(w.phone("carol").routed, Some(cd));
    // bob is connected, on hold from carol's side until she switches to him.
    let bob = w.calls("bob");
    assert!(bob.len() == 1 && bob[0].held_by_remote, "{bob:#?}");
    w.ask("carol", Command::SwitchTo { id: new.id }, 100)
        .unwrap();
    assert!(!w.calls("bob")[0].held_by_remote);
    assert!(w.call("carol", cd).parked_since_ms.is_some());
}

#[test]
fn a_replaces_that_cannot_be_honoured_leaves_every_call_as_it_was() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let (ab, _) = call(&mut w, "alice", "bob");

    // A dialog carol does not have: refused 481 by her SIP layer.
    w.refer(
        "alice",
        ab,
        Some(&refer_to("carol", "nothing@here".into(), false)),
    );
    w.run_for(200);
    assert_eq!(w.phone("bob").notified.last(), Some(&(481, true)));

    // A call still ringing at carol cannot be replaced (481).
    let Ok(Done::Call(ac)) = w.ask(
        "alice",
        Command::Dial {
            target: "sip:carol@carol.test".into(),
            opts: opts(),
        },
        50,
    ) else {
        panic!()
    };
    w.take_events("carol");
    w.refer(
        "alice",
        ab,
        Some(&refer_to("carol", w.sip_call_id("alice", ac), false)),
    );
    w.run_for(200);
    assert_eq!(w.phone("bob").notified.last(), Some(&(481, true)));
    let warning = w.take_events("carol").into_iter().find_map(|e| match e {
        PhoneEvent::Warning { message } => Some(message),
        _ => None,
    });
    assert!(
        warning
            .as_deref()
            .is_some_and(|m| m.contains("still ringing here")),
        "{warning:?}"
    );
    let ca = w.calls("carol")[0].id;
    assert_eq!(
        w.call("carol", ca).state,
        CallState::Ringing,
        "the ringing call rings on"
    );

    // early-only, but carol has answered: 486.
    w.ask(
        "carol",
        Command::Answer {
            id: ca,
            opts: opts(),
        },
        100,
    )
    .unwrap();
    w.refer(
        "alice",
        ab,
        Some(&refer_to("carol", w.sip_call_id("alice", ac), true)),
    );
    w.run_for(200);
    assert_eq!(w.phone("bob").notified.last(), Some(&(486, true)));
    assert_eq!(w.calls("carol").len(), 1);
    assert_eq!(w.call("carol", ca).state, CallState::Answered);
    // bob's call with alice was never dropped.
    assert_eq!(w.calls("bob").len(), 1);
    assert_eq!(w.phone("alice").refer_answers, vec![202, 202, 202]);
}
