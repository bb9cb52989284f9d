//! Several calls at once, as whole phones decide them: answering while busy parks the active
//! call, switching moves the microphone in one step, parking holds, the far ends see the holds,
//! re-INVITEs that cross are resolved by 491 and back-off, a parked call is recalled once.
//! The same flows run over real sockets in `tests/in_process/park_and_switch.rs`.

use super::wire::{opts, Wire};
use crate::api::*;
use crate::core::io::{Command, Done};

fn dial(w: &mut Wire, from: &str, to: &str) -> CallId {
    match w.ask(
        from,
        Command::Dial {
            target: format!("sip:{to}@{to}.test"),
            opts: opts(),
        },
        1,
    ) {
        Ok(Done::Call(id)) => id,
        other => panic!("{from} could not call {to}: {other:?}"),
    }
}

/// The id of the call that last rang at `name` (its `IncomingCall` event).
fn rang(w: &mut Wire, name: &str) -> CallId {
    w.run_for(50);
    let events = w.take_events(name);
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            PhoneEvent::IncomingCall { call } => Some(call.id),
            _ => None,
        })
        .unwrap_or_else(|| panic!("nothing rang at {name}: {events:#?}"))
}

/// Exactly one call (this one) is active, and it has the audio.
fn only_active(w: &Wire, name: &str, id: CallId) {
    let calls = w.calls(name);
    let active: Vec<CallId> = calls.iter().filter(|c| c.active).map(|c| c.id).collect();
    assert_eq!(active, vec![id], "{name}: {calls:#?}");
    assert_eq!(
        w.phone(name).routed,
        Some(id),
        "{name}'s microphone and speaker go to the active call"
    );
}

#[test]
fn answer_while_busy_parks_then_switch_and_park() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let a = dial(&mut w, "alice", "bob");
    let b1 = rang(&mut w, "bob");
    assert_eq!(w.call("bob", b1).account, "sip:bob@bob.test");
    w.ask(
        "bob",
        Command::Answer {
            id: b1,
            opts: opts(),
        },
        100,
    )
    .unwrap();
    assert_eq!(w.call("bob", b1).state, CallState::Answered);
    assert_eq!(w.call("alice", a).state, CallState::Answered);
    only_active(&w, "bob", b1);
    let e = w.ask("bob", Command::Park { id: 999 }, 1).unwrap_err();
    assert!(e.to_string().contains("999"), "{e}");

    let c = dial(&mut w, "carol", "bob");
    let b2 = rang(&mut w, "bob");
    let e = w.ask("bob", Command::SwitchTo { id: b2 }, 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("call {b2} is not connected, so it cannot be made active")
    );

    // Answering while busy parks alice's call first.
    w.ask(
        "bob",
        Command::Answer {
            id: b2,
            opts: opts(),
        },
        200,
    )
    .unwrap();
    only_active(&w, "bob", b2);
    assert!(
        w.call("bob", b1).parked_since_ms.is_some() && w.call("bob", b2).parked_since_ms.is_none()
    );
    assert!(w.call("alice", a).held_by_remote, "alice hears she is held");
    assert!(!w.call("carol", c).held_by_remote);

    // Switch back and forth: one step each, and the far ends follow.
    for round in 0..3 {
        let (to, other, to_peer, other_peer, to_id, other_id) = if round % 2 == 0 {
            (b1, b2, "alice", "carol", a, c)
        } else {
            (b2, b1, "carol", "alice", c, a)
        };
        w.command("bob", Command::SwitchTo { id: to });
        w.run_for(1);
        only_active(&w, "bob", to);
        w.run_for(200);
        assert!(
            !w.call(to_peer, to_id).held_by_remote,
            "round {round}: {to_peer} resumed"
        );
        assert!(
            w.call(other_peer, other_id).held_by_remote,
            "round {round}: {other_peer} held"
        );
        assert!(w.call("bob", other).parked_since_ms.is_some());
    }

    // Park the active call (alice's, after 3 rounds): nothing is active, nobody hears bob.
    only_active(&w, "bob", b1);
    w.ask("bob", Command::Park { id: b1 }, 200).unwrap();
    assert!(w
        .calls("bob")
        .iter()
        .all(|x| !x.active && x.parked_since_ms.is_some()));
    assert_eq!(w.phone("bob").routed, None);

    // alice holds bob back: bob sees it on that call.
    w.ask("alice", Command::SwitchTo { id: a }, 100).unwrap();
    w.ask("alice", Command::Park { id: a }, 200).unwrap();
    assert!(w.call("bob", b1).held_by_remote);

    // A parked peer hangs up: the other call stays parked; nothing resumes it.
    w.take_events("bob");
    w.ask("carol", Command::Hangup { id: c }, 100).unwrap();
    assert!(w.take_events("bob").iter().any(|e| matches!(e, PhoneEvent::CallEnded { call, reason: EndReason::RemoteHangup, .. } if call.id == b2)));
    let calls = w.calls("bob");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].parked_since_ms.is_some() && !calls[0].active);

    w.ask("alice", Command::Hangup { id: a }, 100).unwrap();
    assert!(w.calls("bob").is_empty());
    let finished = &w.phone("bob").finished;
    assert_eq!(
        finished.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![b2, b1],
        "each call recorded once"
    );
    assert!(finished
        .iter()
        .all(|(_, r)| r.outcome == hookflash_store::CallOutcome::Answered));
    assert_eq!(
        w.phone("bob").begun,
        vec![b1, b2],
        "rows begun when the calls rang"
    );
}

/// 20 INVITEs within a second, all answered: exactly one call is active at every step, the 19
/// others parked; switching around keeps it so; re-INVITEs that crossed (both ends park at
/// once) are resolved; each call is recorded once.
#[test]
fn twenty_calls_in_one_second_stay_consistent() {
    let mut w = Wire::new(&["alice", "bob"]);
    let mut alice_ids = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..20 {
        alice_ids.push(dial(&mut w, "alice", "bob"));
        ids.push(rang(&mut w, "bob"));
    }
    // Every call is answered the moment it rings... (the first 20 dials took 1 s).
    for &id in &ids {
        w.command("bob", Command::Answer { id, opts: opts() });
        w.run_for(1);
        only_active(&w, "bob", id);
    }
    w.run_for(200);
    let calls = w.calls("bob");
    assert_eq!(calls.len(), 20);
    assert_eq!(
        calls.iter().filter(|c| c.parked_since_ms.is_some()).count(),
        19,
        "{calls:#?}"
    );
    for &id in ids.iter().step_by(3) {
        w.command("bob", Command::SwitchTo { id });
        w.run_for(5);
        only_active(&w, "bob", id);
    }
    // Both ends parked each other at once (alice parks her previous call on every dial), so
    // re-INVITEs crossed with 491s. Once the back-offs are over (at most 4 s each), each side's
    // held_by_remote matches what the other side wants.
    w.run_for(30_000);
    let (a, b) = (w.calls("alice"), w.calls("bob"));
    assert_eq!(
        a.iter()
            .filter(|c| c.active)
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        vec![alice_ids[19]]
    );
    for (&ai, &bi) in alice_ids.iter().zip(&ids) {
        let (ac, bc) = (
            a.iter().find(|c| c.id == ai).unwrap(),
            b.iter().find(|c| c.id == bi).unwrap(),
        );
        assert!(
            ac.held_by_remote != bc.active && bc.held_by_remote != ac.active,
            "alice {ac:#?}\nbob {bc:#?}"
        );
    }
    only_active(&w, "bob", *ids.iter().step_by(3).next_back().unwrap());
    for id in alice_ids {
        w.command("alice", Command::Hangup { id });
    }
    w.run_for(100);
    assert!(w.calls("bob").is_empty() && w.calls("alice").is_empty());
    let finished = &w.phone("bob").finished;
    assert_eq!(finished.len(), 20, "each call recorded once");
    assert!(finished
        .iter()
        .all(|(_, r)| r.outcome == hookflash_store::CallOutcome::Answered));
}

/// A call parked longer than the recall time comes back as its own `ParkRecall` event, once.
#[test]
fn a_call_parked_too_long_is_recalled_once() {
    let mut w = Wire::new(&["alice", "bob"]);
    w.ask("bob", Command::SetParkRecallMs(Some(120_000)), 1)
        .unwrap();
    dial(&mut w, "alice", "bob");
    let id = rang(&mut w, "bob");
    w.ask("bob", Command::Answer { id, opts: opts() }, 100)
        .unwrap();
    w.ask("bob", Command::Park { id }, 100).unwrap();
    w.take_events("bob");
    w.run_for(119_000);
    assert!(
        !w.take_events("bob")
            .iter()
            .any(|e| matches!(e, PhoneEvent::ParkRecall { .. })),
        "not before two minutes"
    );
    w.run_for(2_000);
    let recalls: Vec<PhoneEvent> = w
        .take_events("bob")
        .into_iter()
        .filter(|e| matches!(e, PhoneEvent::ParkRecall { .. }))
        .collect();
    let [PhoneEvent::ParkRecall {
        call_id,
        who,
        parked_mins,
        message,
    }] = &recalls[..]
    else {
        panic!("one recall: {recalls:#?}")
    };
    assert_eq!((*call_id, *parked_mins), (id, 2));
    assert!(
        who.contains("alice") && message.contains("has been parked"),
        "{who} / {message}"
    );
    w.run_for(600_000);
    assert!(
        !w.take_events("bob")
            .iter()
            .any(|e| matches!(e, PhoneEvent::ParkRecall { .. })),
        "once per park"
    );
}

/// The caller gives up while it rings: the callee's call ends missed, the caller's cancelled,
/// one history row each; a busy callee's 486 fails the caller's call with the status.
#[test]
fn caller_cancel_and_busy_reject_are_recorded_once() {
    let mut w = Wire::new(&["alice", "bob"]);
    let a = dial(&mut w, "alice", "bob");
    let b = rang(&mut w, "bob");
    assert_eq!(w.call("alice", a).state, CallState::Ringing);
    assert_eq!(w.call("bob", b).state, CallState::Ringing);
    w.ask("alice", Command::Hangup { id: a }, 100).unwrap();
    assert!(w.calls("alice").is_empty() && w.calls("bob").is_empty());
    assert_eq!(w.phone("bob").finished.len(), 1);
    assert_eq!(
        w.phone("bob").finished[0].1.outcome,
        hookflash_store::CallOutcome::Missed
    );
    assert_eq!(w.phone("alice").finished.len(), 1);
    assert_eq!(
        w.phone("alice").finished[0].1.outcome,
        hookflash_store::CallOutcome::Cancelled
    );

    let a2 = dial(&mut w, "alice", "bob");
    let b2 = rang(&mut w, "bob");
    w.take_events("alice");
    w.ask(
        "bob",
        Command::Reject {
            id: b2,
            status: 486,
        },
        100,
    )
    .unwrap();
    let ended = w.take_events("alice");
    let message = ended.iter().find_map(|e| match e {
        PhoneEvent::CallEnded {
            call,
            reason: EndReason::Failed { status: 486, .. },
            message,
        } if call.id == a2 => Some(message.clone()),
        _ => None,
    });
    assert!(
        message.is_some_and(|m| m.starts_with("call rejected (486")),
        "{ended:#?}"
    );
    assert_eq!(
        w.phone("bob").finished[1].1.outcome,
        hookflash_store::CallOutcome::Rejected
    );
}

/// A reject that is refused (the call is already answered) changes nothing: when the far end
/// hangs up later, the call ends as the far end's hang-up.
#[test]
fn a_refused_reject_leaves_the_call_to_end_normally() {
    let mut w = Wire::new(&["alice", "bob"]);
    let a = dial(&mut w, "alice", "bob");
    let b = rang(&mut w, "bob");
    w.ask(
        "bob",
        Command::Answer {
            id: b,
            opts: opts(),
        },
        100,
    )
    .unwrap();
    let e = w
        .ask("bob", Command::Reject { id: b, status: 486 }, 10)
        .unwrap_err();
    assert_eq!(e.to_string(), format!("call {b} is not ringing here"));
    w.take_events("bob");
    w.ask("alice", Command::Hangup { id: a }, 100).unwrap();
    assert!(
        w.calls("bob").is_empty(),
        "bob's call ended when alice hung up"
    );
    assert!(w.take_events("bob").iter().any(|e| matches!(
        e,
        PhoneEvent::CallEnded {
            reason: EndReason::RemoteHangup,
            ..
        }
    )));
}
