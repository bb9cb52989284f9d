//! Two engines in one process call each other over loopback UDP (no registrar): the whole
//! call path — INVITE/SDP offer-answer, ringing, answer, RTP with DTMF, BYE, history — with
//! real sockets and real media, but no external peers.

use crate::common::*;
use hookflash_phone::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_answer_dtmf_hangup_and_history() {
    let dir = temp_dir("two-phones");
    let alice = Phone::start(config("alice", &dir), PasswordSource::None)
        .await
        .unwrap();
    let bob = Phone::start(config("bob", &dir), PasswordSource::None)
        .await
        .unwrap();
    let mut a_ev = alice.subscribe();
    let mut b_ev = bob.subscribe();
    let bob_uri = format!("sip:bob@{}", bob.local_sip_addr());

    let opts = CallOptions {
        audio_in: AudioEndpoint::Null,
        audio_out: AudioEndpoint::Null,
        codecs: vec![CodecName::Pcmu],
        caller_id: None,
        from: None,
    };
    let a_call = alice.dial(&bob_uri, opts.clone()).await.unwrap();

    let incoming = next_matching(&mut b_ev, "incoming call", |e| {
        matches!(e, PhoneEvent::IncomingCall { .. })
    })
    .await;
    let PhoneEvent::IncomingCall { call } = incoming else {
        unreachable!()
    };
    assert_eq!(call.remote_uri, "sip:alice@127.0.0.1");
    assert_eq!(call.remote_display_name.as_deref(), Some("alice Example"));
    next_matching(
        &mut a_ev,
        "ringing",
        |e| matches!(e, PhoneEvent::CallUpdated { call } if call.state == CallState::Ringing),
    )
    .await;

    bob.answer(call.id, opts.clone()).await.unwrap();
    let answered = next_matching(
        &mut a_ev,
        "answered",
        |e| matches!(e, PhoneEvent::CallUpdated { call } if call.state == CallState::Answered),
    )
    .await;
    let PhoneEvent::CallUpdated { call: a_info } = answered else {
        unreachable!()
    };
    assert_eq!(a_info.codec, Some(CodecName::Pcmu));
    assert_eq!(bob.calls().len(), 1);

    alice.send_dtmf(a_call, "5#").await.unwrap();
    for want in ['5', '#'] {
        let ev = next_matching(&mut b_ev, "dtmf", |e| matches!(e, PhoneEvent::Dtmf { .. })).await;
        assert_eq!(
            ev,
            PhoneEvent::Dtmf {
                call_id: call.id,
                digit: want
            }
        );
    }
    assert!(alice
        .send_dtmf(a_call, "5x")
        .await
        .unwrap_err()
        .to_string()
        .contains("'x'"));

    alice.hangup(a_call).await.unwrap();
    let a_end = next_matching(&mut a_ev, "ended", |e| {
        matches!(e, PhoneEvent::CallEnded { .. })
    })
    .await;
    assert!(
        matches!(
            a_end,
            PhoneEvent::CallEnded {
                reason: EndReason::LocalHangup,
                ..
            }
        ),
        "{a_end:?}"
    );
    let b_end = next_matching(&mut b_ev, "ended", |e| {
        matches!(e, PhoneEvent::CallEnded { .. })
    })
    .await;
    assert!(
        matches!(
            b_end,
            PhoneEvent::CallEnded {
                reason: EndReason::RemoteHangup,
                ..
            }
        ),
        "{b_end:?}"
    );
    assert!(alice.calls().is_empty() && bob.calls().is_empty());

    let a_hist = alice.history(10).unwrap();
    assert_eq!(a_hist.len(), 1);
    assert_eq!(a_hist[0].direction, Direction::Outgoing);
    assert_eq!(a_hist[0].outcome, "answered");
    assert_eq!(a_hist[0].codec.as_deref(), Some("pcmu"));
    let b_hist = bob.history(10).unwrap();
    assert_eq!(b_hist.len(), 1);
    assert_eq!(b_hist[0].direction, Direction::Incoming);
    assert_eq!(b_hist[0].remote_uri, "sip:alice@127.0.0.1");
    assert!(b_hist[0].answered_at_ms.is_some());
    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_reject_and_caller_cancel_are_recorded_once_each() {
    let dir = temp_dir("reject-cancel");
    let alice = Phone::start(config("alice", &dir), PasswordSource::None)
        .await
        .unwrap();
    let bob = Phone::start(config("bob", &dir), PasswordSource::None)
        .await
        .unwrap();
    let mut a_ev = alice.subscribe();
    let mut b_ev = bob.subscribe();
    let bob_uri = format!("sip:bob@{}", bob.local_sip_addr());
    let opts = CallOptions {
        audio_in: AudioEndpoint::Null,
        audio_out: AudioEndpoint::Null,
        codecs: vec![],
        caller_id: None,
        from: None,
    };

    // Busy.
    alice.dial(&bob_uri, opts.clone()).await.unwrap();
    let PhoneEvent::IncomingCall { call } = next_matching(&mut b_ev, "incoming", |e| {
        matches!(e, PhoneEvent::IncomingCall { .. })
    })
    .await
    else {
        unreachable!()
    };
    bob.reject(call.id, 486).await.unwrap();
    let end = next_matching(&mut a_ev, "ended", |e| {
        matches!(e, PhoneEvent::CallEnded { .. })
    })
    .await;
    match end {
        PhoneEvent::CallEnded {
            reason: EndReason::Failed { status, .. },
            message,
            ..
        } => {
            assert_eq!(status, 486);
            assert!(message.contains("486"), "{message}");
        }
        other => panic!("expected a 486 failure, got {other:?}"),
    }
    assert!(
        bob.reject(call.id, 486).await.is_err(),
        "a call is rejected once"
    );

    // Caller gives up before answer.
    let id = alice.dial(&bob_uri, opts.clone()).await.unwrap();
    let PhoneEvent::IncomingCall { call } = next_matching(&mut b_ev, "incoming", |e| {
        matches!(e, PhoneEvent::IncomingCall { .. })
    })
    .await
    else {
        unreachable!()
    };
    next_matching(
        &mut a_ev,
        "ringing",
        |e| matches!(e, PhoneEvent::CallUpdated { call } if call.state == CallState::Ringing),
    )
    .await;
    alice.hangup(id).await.unwrap();
    let end = next_matching(&mut b_ev, "missed", |e| {
        matches!(e, PhoneEvent::CallEnded { .. })
    })
    .await;
    assert!(
        matches!(
            end,
            PhoneEvent::CallEnded {
                reason: EndReason::Cancelled,
                ..
            }
        ),
        "{end:?}"
    );
    assert!(
        bob.answer(call.id, opts).await.is_err(),
        "a cancelled call cannot be answered"
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    let outcomes: Vec<String> = bob
        .history(10)
        .unwrap()
        .into_iter()
        .map(|h| h.outcome)
        .collect();
    assert_eq!(outcomes, vec!["missed".to_string(), "rejected".to_string()]);
    let outcomes: Vec<(String, Option<u16>)> = alice
        .history(10)
        .unwrap()
        .into_iter()
        .map(|h| (h.outcome, h.sip_status))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("cancelled".to_string(), None),
            ("failed".to_string(), Some(486))
        ]
    );
    alice.shutdown().await;
    bob.shutdown().await;
}
