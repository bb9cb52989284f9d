//! Routing in the engine, two phones over loopback: rules reject before ringing (with the
//! decision in the history row), "send to voicemail" forwards a ringing call with 302, and
//! auto-answer rules answer by themselves. Real sockets, no external peers.

use hookflash_phone::routing::RoutingSettings;

use crate::common::*;
use hookflash_phone::*;

fn opts() -> CallOptions {
    CallOptions {
        audio_in: AudioEndpoint::Null,
        audio_out: AudioEndpoint::Null,
        codecs: vec![CodecName::Pcmu],
        caller_id: None,
        from: None,
    }
}

fn rules(lines: &[&str]) -> RoutingSettings {
    RoutingSettings {
        rules: lines.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_rejects_before_ringing_and_history_says_which() {
    let dir = temp_dir("routing-reject");
    let alice = Phone::start(config("alice", &dir), PasswordSource::None)
        .await
        .unwrap();
    let bob = Phone::start(config("bob", &dir), PasswordSource::None)
        .await
        .unwrap();
    bob.set_routing(rules(&["when caller == 'alice' then reject_decline"]))
        .unwrap();
    let mut a_ev = alice.subscribe();
    let mut b_ev = bob.subscribe();
    alice
        .dial(&format!("sip:bob@{}", bob.local_sip_addr()), opts())
        .await
        .unwrap();
    let end = next_matching(&mut a_ev, "caller's end", |e| {
        matches!(e, PhoneEvent::CallEnded { .. })
    })
    .await;
    assert!(
        matches!(
            end,
            PhoneEvent::CallEnded {
                reason: EndReason::Failed { status: 603, .. },
                ..
            }
        ),
        "{end:?}"
    );
    let b_end = next_matching(&mut b_ev, "callee's record", |e| {
        matches!(e, PhoneEvent::CallEnded { .. })
    })
    .await;
    let PhoneEvent::CallEnded { call, reason, .. } = b_end else {
        unreachable!()
    };
    assert_eq!(reason, EndReason::Rejected { status: 603 });
    assert!(
        call.routing
            .as_deref()
            .unwrap_or_default()
            .contains("rule 1"),
        "{call:?}"
    );
    let row = &bob.history(1).unwrap()[0];
    assert_eq!(
        (row.outcome.as_str(), row.sip_status),
        ("rejected", Some(603))
    );
    assert!(
        row.routing
            .as_deref()
            .unwrap_or_default()
            .contains("reject_decline"),
        "{row:?}"
    );
    // A wrong rule changes nothing and says which rule is wrong.
    let err = bob
        .set_routing(rules(&[
            "when true then ring",
            "when callr == 'x' then ring",
        ]))
        .unwrap_err();
    assert!(
        err.to_string().contains("rule 2") && err.to_string().contains("caller"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_to_voicemail_forwards_a_ringing_call_with_302() {
    let dir = temp_dir("routing-voicemail");
    let alice = Phone::start(config("alice", &dir), PasswordSource::None)
        .await
        .unwrap();
    let bob = Phone::start(config("bob", &dir), PasswordSource::None)
        .await
        .unwrap();
    let mut a_ev = alice.subscribe();
    let mut b_ev = bob.subscribe();
    alice
        .dial(&format!("sip:bob@{}", bob.local_sip_addr()), opts())
        .await
        .unwrap();
    let PhoneEvent::IncomingCall { call } = next_matching(&mut b_ev, "incoming", |e| {
        matches!(e, PhoneEvent::IncomingCall { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(
        call.routing.as_deref().unwrap_or_default().contains("ring"),
        "{call:?}"
    );
    bob.forward(call.id, "sip:voicemail@127.0.0.1")
        .await
        .unwrap();
    let end = next_matching(&mut a_ev, "caller's end", |e| {
        matches!(e, PhoneEvent::CallEnded { .. })
    })
    .await;
    assert!(
        matches!(
            end,
            PhoneEvent::CallEnded {
                reason: EndReason::Failed { status: 302, .. },
                ..
            }
        ),
        "{end:?}"
    );
    assert!(bob.calls().is_empty());
    let row = &bob.history(1).unwrap()[0];
    assert_eq!(row.sip_status, Some(302));
    // Not ringing any more: a clear error, nothing else happens.
    let err = bob
        .forward(call.id, "sip:voicemail@127.0.0.1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&call.id.to_string()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_answer_rule_answers_by_itself() {
    let dir = temp_dir("routing-auto-answer");
    let alice = Phone::start(config("alice", &dir), PasswordSource::None)
        .await
        .unwrap();
    let bob = Phone::start(config("bob", &dir), PasswordSource::None)
        .await
        .unwrap();
    bob.set_routing(rules(&["when caller == 'alice' then auto_answer(1)"]))
        .unwrap();
    bob.set_call_defaults(opts());
    let mut a_ev = alice.subscribe();
    let id = alice
        .dial(&format!("sip:bob@{}", bob.local_sip_addr()), opts())
        .await
        .unwrap();
    next_matching(
        &mut a_ev,
        "answered",
        |e| matches!(e, PhoneEvent::CallUpdated { call } if call.state == CallState::Answered),
    )
    .await;
    alice.hangup(id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dialling_plan_turns_numbers_into_request_uris_or_says_why_not() {
    use hookflash_phone::dialling::DiallingSettings;
    let dir = temp_dir("routing-dialling");
    let alice = Phone::start(config("alice", &dir), PasswordSource::None)
        .await
        .unwrap();
    let mut a_ev = alice.subscribe();
    alice
        .set_dialling(DiallingSettings {
            default_country: "GB".into(),
            outside_line_prefix: "9".into(),
            ..Default::default()
        })
        .unwrap();
    // A national number with the outside-line prefix becomes E.164 in the request URI.
    let id = alice.dial("9,020 7946 0958", opts()).await.unwrap();
    let PhoneEvent::CallUpdated { call } = next_matching(
        &mut a_ev,
        "the outgoing call",
        |e| matches!(e, PhoneEvent::CallUpdated { call } if call.id == id),
    )
    .await
    else {
        unreachable!()
    };
    assert!(
        call.remote_uri.starts_with("sip:+442079460958@"),
        "{}",
        call.remote_uri
    );
    alice.hangup(id).await.unwrap();
    // Something that is no number for the plan is refused with a sentence, and nothing is dialled.
    let err = alice
        .dial("020 7946 09581234", opts())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("number"), "{err}");
    // A wrong plan is refused as a whole.
    let err = alice
        .set_dialling(DiallingSettings {
            default_country: "XX".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("XX"), "{err}");
}

/// Rules see how many calls are parked: `parked_count` used to read a field the engine never
/// wrote, so it was 0 with a call parked and this rule never fired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_see_parked_calls() {
    let dir = temp_dir("routing-parked-count");
    let alice = Phone::start(config("alice", &dir), PasswordSource::None)
        .await
        .unwrap();
    let bob = Phone::start(config("bob", &dir), PasswordSource::None)
        .await
        .unwrap();
    let carol = Phone::start(config("carol", &dir), PasswordSource::None)
        .await
        .unwrap();
    bob.set_routing(rules(&["when parked_count > 0 then reject_busy"]))
        .unwrap();
    let bob_uri = format!("sip:bob@{}", bob.local_sip_addr());
    let mut b_ev = bob.subscribe();
    let mut c_ev = carol.subscribe();

    alice.dial(&bob_uri, opts()).await.unwrap();
    let PhoneEvent::IncomingCall { call } = next_matching(&mut b_ev, "alice's call", |e| {
        matches!(e, PhoneEvent::IncomingCall { .. })
    })
    .await
    else {
        unreachable!()
    };
    bob.answer(call.id, opts()).await.unwrap();

    // One call, active, nothing parked: carol's call rings (the rule does not fire).
    let carol_first = carol.dial(&bob_uri, opts()).await.unwrap();
    let PhoneEvent::IncomingCall { call: ringing } =
        next_matching(&mut b_ev, "carol's first call", |e| {
            matches!(e, PhoneEvent::IncomingCall { .. })
        })
        .await
    else {
        unreachable!()
    };
    assert!(
        !ringing
            .routing
            .as_deref()
            .unwrap_or_default()
            .contains("rule 1"),
        "{ringing:?}"
    );
    carol.hangup(carol_first).await.unwrap();
    next_matching(&mut c_ev, "carol's first call ends", |e| {
        matches!(e, PhoneEvent::CallEnded { .. })
    })
    .await;

    // Alice parked: carol's call is refused busy by the rule.
    bob.park(call.id).await.unwrap();
    next_matching(&mut b_ev, "alice parked", |e| {
        matches!(e, PhoneEvent::CallUpdated { call: c } if c.id == call.id && c.parked_since_ms.is_some())
    })
    .await;
    carol.dial(&bob_uri, opts()).await.unwrap();
    let end = next_matching(&mut c_ev, "carol's second call ends", |e| {
        matches!(e, PhoneEvent::CallEnded { .. })
    })
    .await;
    assert!(
        matches!(
            end,
            PhoneEvent::CallEnded {
                reason: EndReason::Failed { status: 486, .. },
                ..
            }
        ),
        "{end:?}"
    );
    let row = &bob.history(1).unwrap()[0];
    assert!(
        row.routing
            .as_deref()
            .unwrap_or_default()
            .contains("rule 1"),
        "{row:?}"
    );
}

/// The do-not-disturb switch and the presence are real inputs of the rules: DND on rejects with
/// the preset's busy, off rings again; presence `away` is what `presence` reads. Each change is
/// announced as an `Availability` event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnd_switch_and_presence_reach_the_rules() {
    let dir = temp_dir("routing-availability");
    let alice = Phone::start(config("alice", &dir), PasswordSource::None)
        .await
        .unwrap();
    let bob = Phone::start(config("bob", &dir), PasswordSource::None)
        .await
        .unwrap();
    bob.set_routing(rules(&["when presence == 'away' then reject_decline"]))
        .unwrap();
    let bob_uri = format!("sip:bob@{}", bob.local_sip_addr());
    let mut a_ev = alice.subscribe();
    let mut b_ev = bob.subscribe();
    let call_ends_with = |status: u16| move |e: &PhoneEvent| matches!(e, PhoneEvent::CallEnded { reason: EndReason::Failed { status: s, .. }, .. } if *s == status);

    bob.set_availability(Availability {
        dnd: true,
        ..bob.availability()
    });
    let ev = next_matching(&mut b_ev, "availability", |e| {
        matches!(e, PhoneEvent::Availability { .. })
    })
    .await;
    assert!(
        matches!(
            ev,
            PhoneEvent::Availability {
                availability: Availability {
                    dnd: true,
                    presence: Presence::Available
                }
            }
        ),
        "{ev:?}"
    );
    alice.dial(&bob_uri, opts()).await.unwrap();
    next_matching(&mut a_ev, "busy while DND is on", call_ends_with(486)).await;
    assert!(bob.history(1).unwrap()[0]
        .routing
        .as_deref()
        .unwrap_or_default()
        .contains("do_not_disturb"));

    bob.set_availability(Availability {
        dnd: false,
        presence: Presence::Away,
    });
    alice.dial(&bob_uri, opts()).await.unwrap();
    next_matching(&mut a_ev, "declined while away", call_ends_with(603)).await;

    bob.set_availability(Availability::default());
    let id = alice.dial(&bob_uri, opts()).await.unwrap();
    next_matching(&mut b_ev, "rings when available", |e| {
        matches!(e, PhoneEvent::IncomingCall { .. })
    })
    .await;
    alice.hangup(id).await.unwrap();
}
