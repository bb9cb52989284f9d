//! Attended transfer as the transferor does it, with all three phones real cores: bob calls
//! alice; alice consults carol (bob parked), then completes. bob's phone calls carol with
//! `Replaces`, carol's phone swaps it for her call with alice without ringing, and alice is left
//! with no calls, both legs "transferred".

use super::wire::{opts, Wire};
use crate::api::*;
use crate::core::io::{Command, Done};

fn ended(events: &[PhoneEvent], id: CallId) -> Option<EndReason> {
    events.iter().find_map(|e| match e {
        PhoneEvent::CallEnded { call, reason, .. } if call.id == id => Some(reason.clone()),
        _ => None,
    })
}

/// bob calls alice, she answers, then consults carol, who answers: (alice's call with bob,
/// alice's call with carol).
fn consulting(w: &mut Wire) -> (CallId, CallId) {
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
    let Ok(Done::Call(ac)) = w.ask(
        "alice",
        Command::Consult {
            id: ab,
            target: "sip:carol@carol.test".into(),
            opts: opts(),
        },
        50,
    ) else {
        panic!("consult gave no call")
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
    (ab, ac)
}

#[test]
fn consult_then_complete_connects_caller_and_colleague_and_leaves_both_calls() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let (ab, ac) = consulting(&mut w);
    assert!(
        w.call("alice", ab).parked_since_ms.is_some(),
        "consulting parked bob"
    );
    assert!(w.call("alice", ac).active);
    w.take_events("alice");
    w.take_events("carol");

    let t = w.command(
        "alice",
        Command::CompleteTransfer {
            id: ab,
            other: ac,
            resume_on_failure: false,
        },
    );
    w.run_for(400);

    assert_eq!(w.reply("alice", t), Ok(Done::Ok));
    let alice = w.take_events("alice");
    assert!(w.calls("alice").is_empty(), "{:#?}", w.calls("alice"));
    assert_eq!(
        ended(&alice, ab),
        Some(EndReason::Transferred {
            target: "sip:carol@carol.test".into()
        })
    );
    assert_eq!(
        ended(&alice, ac),
        Some(EndReason::Transferred {
            target: "sip:bob@bob.test".into()
        })
    );
    let progress: Vec<_> = alice
        .iter()
        .filter_map(|e| match e {
            PhoneEvent::Transfer { progress, .. } => Some(progress.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        progress.last(),
        Some(&TransferProgress::Connected),
        "{progress:?}"
    );
    // bob and carol talk; carol's phone never rang for bob's call.
    let carol = w.take_events("carol");
    assert!(
        !carol
            .iter()
            .any(|e| matches!(e, PhoneEvent::IncomingCall { .. })),
        "{carol:#?}"
    );
    let (bob, carol_calls) = (w.calls("bob"), w.calls("carol"));
    assert!(
        bob.len() == 1
            && bob[0].state == CallState::Answered
            && bob[0].remote_uri == "sip:carol@carol.test",
        "{bob:#?}"
    );
    assert!(
        carol_calls.len() == 1
            && carol_calls[0].active
            && carol_calls[0].remote_uri == "sip:bob@bob.test",
        "{carol_calls:#?}"
    );
    assert!(
        !bob[0].held_by_remote && !carol_calls[0].held_by_remote,
        "nobody is left on hold"
    );
    // One history row per leg at alice.
    let rows: Vec<CallId> = w
        .phone("alice")
        .finished
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(rows.iter().filter(|id| **id == ab).count(), 1);
    assert_eq!(rows.iter().filter(|id| **id == ac).count(), 1);
}

#[test]
fn complete_needs_two_connected_calls_and_a_failure_leaves_both_here() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let (ab, ac) = consulting(&mut w);
    let e = w
        .ask(
            "alice",
            Command::CompleteTransfer {
                id: ab,
                other: ab,
                resume_on_failure: false,
            },
            10,
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("cannot be transferred to itself"),
        "{e}"
    );
    let e = w
        .ask(
            "alice",
            Command::CompleteTransfer {
                id: ab,
                other: 99,
                resume_on_failure: false,
            },
            10,
        )
        .unwrap_err();
    assert_eq!(e, PhoneError::NoSuchCall(99));

    // carol hangs up the consultation just before alice completes: bob's INVITE finds no call
    // to replace (481), the transfer fails, and bob is given back to alice, resumed.
    let ca = w.calls("carol")[0].id;
    w.ask("carol", Command::Hangup { id: ca }, 5).unwrap();
    let t = w.command(
        "alice",
        Command::CompleteTransfer {
            id: ab,
            other: ac,
            resume_on_failure: true,
        },
    );
    w.run_for(400);
    let r = w.reply("alice", t);
    assert!(r.is_err() || r == Ok(Done::Ok), "{r:?}");
    let calls = w.calls("alice");
    assert_eq!(calls.len(), 1, "bob stays with alice: {calls:#?}");
    assert_eq!(calls[0].id, ab);
    assert!(calls[0].active, "resumed as asked: {calls:#?}");
    assert!(!w.calls("bob")[0].held_by_remote);
}
