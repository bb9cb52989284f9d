//! Blind transfer as the transferor decides it: the call is held first and the REFER waits for
//! the hold's answer; progress reaches the front ends; success ends our leg "transferred";
//! failure gives the call back (parked, or resumed if asked) with the reason.

use super::wire::{opts, Wire};
use crate::api::*;
use crate::core::being_transferred::OLD_CALL_LEFT_MS;
use crate::core::io::{Command, Done};

/// alice calls bob, bob answers: (alice's call id, bob's).
fn connected(w: &mut Wire) -> (CallId, CallId) {
    let Ok(Done::Call(a)) = w.ask(
        "alice",
        Command::Dial {
            target: "sip:bob@bob.test".into(),
            opts: opts(),
        },
        50,
    ) else {
        panic!()
    };
    let b = w.calls("bob")[0].id;
    w.ask(
        "bob",
        Command::Answer {
            id: b,
            opts: opts(),
        },
        100,
    )
    .unwrap();
    (a, b)
}

fn progress(w: &mut Wire, name: &str) -> Vec<TransferProgress> {
    w.take_events(name)
        .into_iter()
        .filter_map(|e| match e {
            PhoneEvent::Transfer { progress, .. } => Some(progress),
            _ => None,
        })
        .collect()
}

#[test]
fn a_blind_transfer_holds_first_refers_once_held_and_ends_our_leg_transferred() {
    let mut w = Wire::new(&["alice", "bob"]);
    let (a, b) = connected(&mut w);
    w.take_events("bob");
    w.transferee = Some((202, vec![100, 180, 200]));
    let t = w.command(
        "bob",
        Command::Transfer {
            id: b,
            target: "sip:carol@carol.test".into(),
            resume_on_failure: false,
        },
    );
    w.run_for(15);
    assert!(
        w.call("alice", a).held_by_remote,
        "alice is on hold while the transfer runs"
    );
    w.run_for(200);
    assert_eq!(w.reply("bob", t), Ok(Done::Ok));
    let log = &w.phone("bob").sip_log;
    let (held, referred) = (
        log.iter().rposition(|s| *s == "reinvite_done").unwrap(),
        log.iter().position(|s| *s == "refer").unwrap(),
    );
    assert!(
        held < referred,
        "the REFER went out after the hold was answered: {log:?}"
    );
    let events = w.take_events("bob");
    let seen: Vec<&TransferProgress> = events
        .iter()
        .filter_map(|e| match e {
            PhoneEvent::Transfer { progress, .. } => Some(progress),
            _ => None,
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            &TransferProgress::Trying,
            &TransferProgress::Ringing,
            &TransferProgress::Connected
        ],
        "each step once"
    );
    let ended = events.iter().find_map(|e| match e {
        PhoneEvent::CallEnded {
            call,
            reason,
            message,
        } if call.id == b => Some((reason.clone(), message.clone())),
        _ => None,
    });
    let (reason, message) = ended.expect("bob's leg ended");
    assert_eq!(
        reason,
        EndReason::Transferred {
            target: "sip:carol@carol.test".into()
        }
    );
    assert_eq!(
        message,
        "sip:alice@alice.test transferred to sip:carol@carol.test"
    );
    let (_, row) = w.phone("bob").finished.last().unwrap();
    assert_eq!(row.outcome, hookflash_store::CallOutcome::Answered);
    assert!(
        w.calls("bob").is_empty() && w.calls("alice").is_empty(),
        "our BYE ended both sides"
    );
}

#[test]
fn a_busy_target_gives_the_call_back_parked_or_resumed_as_asked() {
    let mut w = Wire::new(&["alice", "bob"]);
    let (a, b) = connected(&mut w);
    w.transferee = Some((202, vec![100, 486]));
    w.ask(
        "bob",
        Command::Transfer {
            id: b,
            target: "sip:carol@carol.test".into(),
            resume_on_failure: false,
        },
        300,
    )
    .unwrap();
    let last = progress(&mut w, "bob").pop();
    assert_eq!(
        last,
        Some(TransferProgress::Failed {
            status: Some(486),
            reason: "Whatever".into()
        })
    );
    let call = w.call("bob", b);
    assert!(
        call.parked_since_ms.is_some() && !call.active,
        "left parked: {call:#?}"
    );
    assert!(w.call("alice", a).held_by_remote);

    // Again, asking to resume on failure: the call is back on the line.
    w.ask(
        "bob",
        Command::Transfer {
            id: b,
            target: "sip:carol@carol.test".into(),
            resume_on_failure: true,
        },
        300,
    )
    .unwrap();
    assert!(matches!(
        progress(&mut w, "bob").pop(),
        Some(TransferProgress::Failed { .. })
    ));
    w.run_for(200);
    assert!(w.call("bob", b).active, "resumed");
    assert!(!w.call("alice", a).held_by_remote, "alice hears bob again");
}

#[test]
fn a_refused_refer_or_an_unconnected_call_is_a_clear_error_and_nothing_is_dropped() {
    let mut w = Wire::new(&["alice", "bob"]);
    let (_, b) = connected(&mut w);
    w.transferee = Some((403, vec![]));
    let e = w
        .ask(
            "bob",
            Command::Transfer {
                id: b,
                target: "2001".into(),
                resume_on_failure: false,
            },
            300,
        )
        .unwrap_err();
    assert_eq!(e.to_string(), format!("transfer of call {b} to sip:2001@bob.test failed (403 Forbidden); the call is parked here"));
    assert_eq!(w.calls("bob").len(), 1);

    let Ok(Done::Call(ringing)) = w.ask(
        "alice",
        Command::Dial {
            target: "sip:bob@bob.test".into(),
            opts: opts(),
        },
        50,
    ) else {
        panic!()
    };
    let e = w
        .ask(
            "alice",
            Command::Transfer {
                id: ringing,
                target: "2001".into(),
                resume_on_failure: false,
            },
            10,
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("is not connected, so it cannot be transferred"),
        "{e}"
    );
    let e = w
        .ask(
            "bob",
            Command::Transfer {
                id: 99,
                target: "2001".into(),
                resume_on_failure: false,
            },
            10,
        )
        .unwrap_err();
    assert!(matches!(e, PhoneError::NoSuchCall(99)), "{e}");
}

/// Being transferred: bob (the transferor) REFERs alice to carol. Alice accepts, calls carol,
/// tells bob how it goes (100, 180, 200), and her call with bob ends once carol answers.
#[test]
fn being_transferred_calls_the_target_reports_progress_and_ends_the_old_call_when_connected() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let (a, b) = connected(&mut w);
    w.refer("bob", b, Some("<sip:carol@carol.test>"));
    w.run_for(50);
    assert_eq!(w.phone("bob").refer_answers, vec![202]);
    let calls = w.calls("alice");
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let new = calls.iter().find(|c| c.id != a).unwrap().id;
    assert_eq!(w.call("alice", new).remote_uri, "sip:carol@carol.test");
    assert!(
        w.call("alice", a).parked_since_ms.is_some(),
        "the old call waits parked"
    );
    assert_eq!(w.phone("alice").notified, vec![(100, false), (180, false)]);
    let c = w.calls("carol")[0].id;
    w.take_events("alice");
    w.ask(
        "carol",
        Command::Answer {
            id: c,
            opts: opts(),
        },
        100,
    )
    .unwrap();
    assert_eq!(w.phone("alice").notified.last(), Some(&(200, true)));
    // The old call is left to the transferor for a moment (RFC 5589: it ends it, or refers us
    // again); this REFER came from the wire, nobody ends it, so alice's phone does.
    assert!(
        w.calls("alice").iter().any(|c| c.id == a),
        "the old call waits for the transferor"
    );
    w.run_for(OLD_CALL_LEFT_MS);
    let events = w.take_events("alice");
    assert!(
        events.iter().any(|e| matches!(e, PhoneEvent::CallEnded { call, reason: EndReason::Transferred { target }, .. } if call.id == a && target == "sip:carol@carol.test")),
        "{events:#?}"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        PhoneEvent::Transfer {
            progress: TransferProgress::Connected,
            ..
        }
    )));
    let calls = w.calls("alice");
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].id == new && calls[0].active && calls[0].state == CallState::Answered,
        "{calls:#?}"
    );
    assert!(w.calls("bob").is_empty(), "bob's leg ended too");
}

/// A target that refuses: the transferor hears the status, the old call stays. A REFER without
/// Refer-To, or with a Replaces that cannot be read, is refused with a reason.
#[test]
fn a_failed_or_unusable_transfer_request_leaves_the_call_as_it_was() {
    let mut w = Wire::new(&["alice", "bob", "carol"]);
    let (a, b) = connected(&mut w);
    w.refer("bob", b, Some("<sip:carol@carol.test>"));
    w.run_for(50);
    let c = w.calls("carol")[0].id;
    w.ask("carol", Command::Reject { id: c, status: 486 }, 100)
        .unwrap();
    assert_eq!(w.phone("alice").notified.last(), Some(&(486, true)));
    assert_eq!(w.calls("alice").len(), 1);
    assert_eq!(w.call("alice", a).state, CallState::Answered);

    w.refer("bob", b, None);
    w.refer(
        "bob",
        b,
        Some("<sip:carol@carol.test?Replaces=x%40y%3Bfrom-tag%3D2>"),
    );
    w.take_events("alice");
    w.run_for(50);
    assert_eq!(w.phone("bob").refer_answers, vec![202, 400, 400]);
    let warnings: Vec<String> = w
        .take_events("alice")
        .into_iter()
        .filter_map(|e| match e {
            PhoneEvent::Warning { message } => Some(message),
            _ => None,
        })
        .collect();
    assert!(
        warnings[0].contains("without saying where (no Refer-To)"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("Replaces header without a to-tag"),
        "{warnings:?}"
    );
    assert_eq!(w.calls("alice").len(), 1);
}

/// alice, bob and carol; alice's account treats transfer requests as `policy`.
fn wire_with_policy(policy: TransferRequests) -> Wire {
    let mut alice = super::wire::account_config("alice");
    alice.transfer_requests = policy;
    Wire::with_accounts(vec![
        ("alice", vec![alice]),
        ("bob", vec![super::wire::account_config("bob")]),
        ("carol", vec![super::wire::account_config("carol")]),
    ])
}

/// "ask": bob's REFER is taken (202, 100 Trying) and alice is asked; she accepts and the
/// transfer goes on as usual; a second request she declines: bob hears 603, the call stays.
#[test]
fn a_transfer_request_can_wait_for_the_user_who_accepts_or_declines() {
    let mut w = wire_with_policy(TransferRequests::Ask);
    let (a, b) = connected(&mut w);
    w.take_events("alice");
    w.refer("bob", b, Some("<sip:carol@carol.test>"));
    w.run_for(50);
    assert_eq!(w.phone("bob").refer_answers, vec![202]);
    assert_eq!(w.phone("alice").notified, vec![(100, false)]);
    assert_eq!(
        w.calls("alice").len(),
        1,
        "nothing is called before the user says so"
    );
    let asked: Vec<(CallId, String, u32)> = w
        .take_events("alice")
        .into_iter()
        .filter_map(|e| match e {
            PhoneEvent::TransferRequest {
                call_id,
                target,
                expires_in_secs,
                ..
            } => Some((call_id, target, expires_in_secs)),
            _ => None,
        })
        .collect();
    assert_eq!(asked, vec![(a, "sip:carol@carol.test".to_string(), 30)]);
    // The request is in the call's snapshot too (a window reloaded meanwhile shows it again),
    // with the moment it expires on the phone's clock.
    let waiting = w
        .call("alice", a)
        .transfer_request
        .expect("the waiting request is in the snapshot");
    assert_eq!(waiting.target, "sip:carol@carol.test");
    assert!(waiting.who.contains("bob"), "{waiting:?}");
    assert_eq!(waiting.expires_in_secs, 30);
    assert!(
        (w.now + 29_000..=w.now + 30_000).contains(&waiting.expires_at_ms),
        "expires at {} (now {})",
        waiting.expires_at_ms,
        w.now
    );
    let e = w
        .ask(
            "alice",
            Command::AnswerTransferRequest {
                id: 99,
                accept: true,
            },
            10,
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("call 99 has no transfer request"),
        "{e}"
    );

    // She declines: bob hears 603, the call with bob goes on.
    w.ask(
        "alice",
        Command::AnswerTransferRequest {
            id: a,
            accept: false,
        },
        50,
    )
    .unwrap();
    assert_eq!(w.phone("alice").notified.last(), Some(&(603, true)));
    assert_eq!(
        progress(&mut w, "alice"),
        vec![TransferProgress::Failed {
            status: Some(603),
            reason: "Declined".into()
        }]
    );
    assert_eq!(w.calls("alice").len(), 1);
    assert_eq!(w.call("alice", a).state, CallState::Answered);
    assert_eq!(
        w.call("alice", a).transfer_request,
        None,
        "answered: no longer waiting"
    );

    // Asked again, she accepts: carol is called and the transfer completes.
    w.refer("bob", b, Some("<sip:carol@carol.test>"));
    w.run_for(50);
    w.ask(
        "alice",
        Command::AnswerTransferRequest {
            id: a,
            accept: true,
        },
        50,
    )
    .unwrap();
    assert_eq!(w.calls("alice").len(), 2, "carol is being called");
    let c = w.calls("carol")[0].id;
    w.ask(
        "carol",
        Command::Answer {
            id: c,
            opts: opts(),
        },
        100,
    )
    .unwrap();
    assert_eq!(w.phone("alice").notified.last(), Some(&(200, true)));
    w.run_for(OLD_CALL_LEFT_MS);
    assert!(w.calls("bob").is_empty(), "bob's leg ended: transferred");
}

/// "ask" with nobody answering: after 30 s the request is declined (603) and the call stays;
/// "refuse": the REFER itself is answered 603.
#[test]
fn an_unanswered_request_is_declined_in_30_s_and_refuse_says_603_at_once() {
    let mut w = wire_with_policy(TransferRequests::Ask);
    let (a, b) = connected(&mut w);
    w.refer("bob", b, Some("<sip:carol@carol.test>"));
    w.run_for(29_000);
    assert_eq!(
        w.phone("alice").notified,
        vec![(100, false)],
        "still waiting for the user"
    );
    w.run_for(2_000);
    assert_eq!(w.phone("alice").notified.last(), Some(&(603, true)));
    assert_eq!(w.call("alice", a).state, CallState::Answered);
    assert_eq!(
        w.call("alice", a).transfer_request,
        None,
        "expired: no longer waiting"
    );
    assert!(w.calls("carol").is_empty());

    let mut w = wire_with_policy(TransferRequests::Refuse);
    let (a, b) = connected(&mut w);
    w.take_events("alice");
    w.refer("bob", b, Some("<sip:carol@carol.test>"));
    w.run_for(50);
    assert_eq!(w.phone("bob").refer_answers, vec![603]);
    let warning = w.take_events("alice").into_iter().find_map(|e| match e {
        PhoneEvent::Warning { message } => Some(message),
        _ => None,
    });
    assert!(warning.is_some_and(|m| m.contains("refused (this account refuses transfer requests)")));
    assert_eq!(w.calls("alice").len(), 1);
    assert_eq!(w.call("alice", a).state, CallState::Answered);
}
