//! Three engines in one process over loopback UDP: alice and carol call bob, bob answers
//! both (answering parks alice), switches back and forth, parks, and the peers see the holds
//! as `held_by_remote`. Real SIP re-INVITEs and real media, no external peers.

use crate::common::*;
use hookflash_phone::*;
use std::time::Duration;

/// Waits until `phone.calls()` satisfies `f` (state settles after re-INVITEs complete).
async fn settle(phone: &Phone, what: &str, f: impl Fn(&[CallInfo]) -> bool) {
    settle_within(phone, what, Duration::from_secs(10), f).await
}

async fn settle_within(
    phone: &Phone,
    what: &str,
    limit: Duration,
    f: impl Fn(&[CallInfo]) -> bool,
) {
    let started = tokio::time::Instant::now();
    let deadline = started + limit;
    while !f(&phone.calls()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {:#?}",
            phone.calls()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("{what}: settled after {:?}", started.elapsed());
}

fn call(calls: &[CallInfo], id: CallId) -> CallInfo {
    calls
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .unwrap_or_else(|| panic!("no call {id} in {calls:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_while_busy_parks_then_switch_and_park() {
    let dir = temp_dir("park-switch");
    let bob = Phone::start(config("bob", &dir), PasswordSource::None)
        .await
        .unwrap();
    let alice = Phone::start(config("alice", &dir), PasswordSource::None)
        .await
        .unwrap();
    let carol = Phone::start(config("carol", &dir), PasswordSource::None)
        .await
        .unwrap();
    for (name, p) in [("bob", &bob), ("alice", &alice), ("carol", &carol)] {
        // Shown when the test fails.
        let mut rx = p.subscribe();
        tokio::spawn(async move {
            while let Ok(ev) = rx.recv().await {
                eprintln!("{name}: {ev:?}");
            }
        });
    }
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
    let PhoneEvent::IncomingCall { call: b1 } = next_matching(&mut b_ev, "first call", |e| {
        matches!(e, PhoneEvent::IncomingCall { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(b1.account, "sip:bob@127.0.0.1");
    bob.answer(b1.id, opts.clone()).await.unwrap();
    settle(&bob, "call 1 active", |c| {
        call(c, b1.id).active && call(c, b1.id).state == CallState::Answered
    })
    .await;
    assert!(bob.park(999).await.unwrap_err().to_string().contains("999"));

    let c_call = carol.dial(&bob_uri, opts.clone()).await.unwrap();
    let PhoneEvent::IncomingCall { call: b2 } = next_matching(&mut b_ev, "second call", |e| {
        matches!(e, PhoneEvent::IncomingCall { .. })
    })
    .await
    else {
        unreachable!()
    };
    let e = bob.switch_to(b2.id).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "call {} is not connected, so it cannot be made active",
            b2.id
        )
    );

    // Answering while busy parks alice's call first.
    bob.answer(b2.id, opts.clone()).await.unwrap();
    settle(&bob, "call 2 active, call 1 parked", |c| {
        let (one, two) = (call(c, b1.id), call(c, b2.id));
        two.active && !one.active && one.parked_since_ms.is_some() && two.parked_since_ms.is_none()
    })
    .await;
    settle(&alice, "alice held by bob", |c| {
        call(c, a_call).held_by_remote
    })
    .await;
    settle(&carol, "carol not held", |c| {
        c.len() == 1 && !call(c, c_call).held_by_remote
    })
    .await;

    // Switch back and forth; every step ends with exactly one active call and the other
    // side holding accordingly.
    for round in 0..3 {
        let (to, other, to_peer, other_peer, to_id, other_id) = if round % 2 == 0 {
            (b1.id, b2.id, &alice, &carol, a_call, c_call)
        } else {
            (b2.id, b1.id, &carol, &alice, c_call, a_call)
        };
        bob.switch_to(to).await.unwrap();
        let calls = bob.calls();
        assert_eq!(calls.iter().filter(|c| c.active).count(), 1, "{calls:#?}");
        assert!(call(&calls, to).active);
        settle(to_peer, "resumed peer not held", |c| {
            !call(c, to_id).held_by_remote
        })
        .await;
        settle(other_peer, "parked peer held", |c| {
            call(c, other_id).held_by_remote
        })
        .await;
        settle(&bob, "parked shown", |c| {
            call(c, other).parked_since_ms.is_some() && !call(c, other).active
        })
        .await;
    }

    // Park the active call (carol's, after 3 rounds): nothing is active.
    let active = bob.calls().into_iter().find(|c| c.active).unwrap().id;
    bob.park(active).await.unwrap();
    settle(&bob, "nobody active", |c| {
        c.iter().all(|x| !x.active && x.parked_since_ms.is_some())
    })
    .await;

    // The peer holds us back: bob sees held_by_remote on that call.
    // (alice parks her side of the call with bob.)
    alice.switch_to(a_call).await.unwrap(); // alice's only call: resume is a no-op for her
    alice.park(a_call).await.unwrap();
    settle(&bob, "bob sees alice holding", |c| {
        call(c, b1.id).held_by_remote
    })
    .await;

    // A parked peer hangs up: the other call stays, still parked, nothing resumes it.
    carol.hangup(c_call).await.unwrap();
    next_matching(
        &mut b_ev,
        "carol's call ended",
        |e| matches!(e, PhoneEvent::CallEnded { call, .. } if call.id == b2.id),
    )
    .await;
    let calls = bob.calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].parked_since_ms.is_some() && !calls[0].active);

    alice.hangup(a_call).await.unwrap();
    next_matching(
        &mut b_ev,
        "alice's call ended",
        |e| matches!(e, PhoneEvent::CallEnded { call, .. } if call.id == b1.id),
    )
    .await;
    assert!(bob.calls().is_empty());
    let hist = bob.history(10).unwrap();
    assert_eq!(hist.len(), 2, "each call recorded once: {hist:#?}");
    assert!(hist.iter().all(|h| h.outcome == "answered"));
    for p in [&alice, &bob, &carol] {
        p.shutdown().await;
    }
}

/// 20 INVITEs within a second, all answered: exactly one call is active at every step, the
/// 19 others parked; switching around keeps it so; each call is recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_calls_in_one_second_stay_consistent() {
    let dir = temp_dir("twenty-calls");
    let bob = Phone::start(config("bob", &dir), PasswordSource::None)
        .await
        .unwrap();
    let alice = Phone::start(config("alice", &dir), PasswordSource::None)
        .await
        .unwrap();
    let mut b_ev = bob.subscribe();
    let bob_uri = format!("sip:bob@{}", bob.local_sip_addr());
    let opts = CallOptions {
        audio_in: AudioEndpoint::Null,
        audio_out: AudioEndpoint::Null,
        codecs: vec![CodecName::Pcmu],
        caller_id: None,
        from: None,
    };
    for _ in 0..20 {
        alice.dial(&bob_uri, opts.clone()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let mut ids = Vec::new();
    while ids.len() < 20 {
        if let PhoneEvent::IncomingCall { call } =
            next_matching(&mut b_ev, "20 incoming calls", |e| {
                matches!(e, PhoneEvent::IncomingCall { .. })
            })
            .await
        {
            ids.push(call.id);
        }
    }
    for &id in &ids {
        bob.answer(id, opts.clone()).await.unwrap();
        let calls = bob.calls();
        assert_eq!(calls.iter().filter(|c| c.active).count(), 1, "{calls:#?}");
        assert!(call(&calls, id).active);
    }
    settle(&bob, "19 parked, 1 active", |c| {
        c.len() == 20
            && c.iter().filter(|x| x.active).count() == 1
            && c.iter().filter(|x| x.parked_since_ms.is_some()).count() == 19
    })
    .await;
    for &id in ids.iter().step_by(3) {
        bob.switch_to(id).await.unwrap();
        let calls = bob.calls();
        let active: Vec<CallId> = calls.iter().filter(|c| c.active).map(|c| c.id).collect();
        assert_eq!(active, vec![id]);
    }
    // Both ends parked each other at once (alice parks her previous call on every dial), so
    // many re-INVITEs crossed with 491s. Once the back-offs are over, each side's
    // held_by_remote must match what the other side wants: alice is held on every call bob
    // has parked, bob on every call alice has parked. (Calls pair up in dial order.)
    let bob_active = *ids.iter().step_by(3).next_back().unwrap();
    let mut alice_ids: Vec<CallId> = alice.calls().iter().map(|c| c.id).collect();
    alice_ids.sort();
    assert_eq!(alice_ids.len(), 20);
    let alice_active = alice
        .calls()
        .iter()
        .filter(|c| c.active)
        .map(|c| c.id)
        .collect::<Vec<_>>();
    assert_eq!(
        alice_active,
        vec![alice_ids[19]],
        "alice's last call is her active one"
    );
    let pairs: Vec<(CallId, CallId)> = alice_ids.iter().copied().zip(ids.iter().copied()).collect();
    let consistent = |a: &[CallInfo], b: &[CallInfo]| {
        pairs.iter().all(|&(ai, bi)| {
            let (ac, bc) = (call(a, ai), call(b, bi));
            ac.held_by_remote != bc.active && bc.held_by_remote != ac.active
        })
    };
    let started = tokio::time::Instant::now();
    while !consistent(&alice.calls(), &bob.calls()) {
        if started.elapsed() > Duration::from_secs(30) {
            let (a, b) = (alice.calls(), bob.calls());
            let wrong: Vec<String> = pairs
                .iter()
                .filter_map(|&(ai, bi)| {
                    let (ac, bc) = (call(&a, ai), call(&b, bi));
                    (ac.held_by_remote == bc.active || bc.held_by_remote == ac.active).then(|| {
                        format!(
                            "alice {ai}: active {} held_by_remote {} / bob {bi}: active {} held_by_remote {}",
                            ac.active, ac.held_by_remote, bc.active, bc.held_by_remote
                        )
                    })
                })
                .collect();
            panic!(
                "held_by_remote disagrees with the other side after 30 s:\n{}",
                wrong.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("both sides consistent after {:?}", started.elapsed());
    assert!(call(&bob.calls(), bob_active).active);
    for c in alice.calls() {
        alice.hangup(c.id).await.unwrap();
    }
    settle(&bob, "all ended", |c| c.is_empty()).await;
    let hist = bob.history(100).unwrap();
    assert_eq!(hist.len(), 20, "each call recorded once");
    assert!(hist.iter().all(|h| h.outcome == "answered"));
    alice.shutdown().await;
    bob.shutdown().await;
}

/// A call parked longer than the recall time comes back as its own `ParkRecall` event (once),
/// naming the call and who is on it — not a warning sentence front ends must parse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_parked_too_long_is_recalled_once() {
    let dir = temp_dir("park-recall");
    let bob = Phone::start(config("bob", &dir), PasswordSource::None)
        .await
        .unwrap();
    let alice = Phone::start(config("alice", &dir), PasswordSource::None)
        .await
        .unwrap();
    let opts = CallOptions {
        audio_in: AudioEndpoint::Null,
        audio_out: AudioEndpoint::Null,
        codecs: vec![CodecName::Pcmu],
        caller_id: None,
        from: None,
    };
    bob.set_park_recall(Some(Duration::from_millis(300)));
    let mut b_ev = bob.subscribe();
    alice
        .dial(&format!("sip:bob@{}", bob.local_sip_addr()), opts.clone())
        .await
        .unwrap();
    let PhoneEvent::IncomingCall { call: incoming } =
        next_matching(&mut b_ev, "alice's call", |e| {
            matches!(e, PhoneEvent::IncomingCall { .. })
        })
        .await
    else {
        unreachable!()
    };
    bob.answer(incoming.id, opts).await.unwrap();
    settle(&bob, "answered", |c| {
        call(c, incoming.id).state == CallState::Answered
    })
    .await;
    bob.park(incoming.id).await.unwrap();
    let recall = next_matching(&mut b_ev, "the recall", |e| {
        matches!(e, PhoneEvent::ParkRecall { .. })
    })
    .await;
    let PhoneEvent::ParkRecall {
        call_id,
        who,
        message,
        ..
    } = recall
    else {
        unreachable!()
    };
    assert_eq!(call_id, incoming.id);
    assert!(who.contains("alice"), "{who}");
    assert!(message.contains("has been parked"), "{message}");
    // Once per park: no second recall while it stays parked.
    let again = tokio::time::timeout(Duration::from_millis(800), async {
        loop {
            if let Ok(PhoneEvent::ParkRecall { .. }) = b_ev.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(again.is_err(), "a second recall for the same park");
}
