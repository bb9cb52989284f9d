//! Several accounts on one phone, each with what is its own: a call in belongs to the account it
//! was sent to and is routed by that account's rules; a call out goes from the first account
//! unless it names another, and may present only that account's caller IDs.

use super::wire::{account_config, opts, Wire};
use crate::api::*;
use crate::core::io::{Command, Done};
use crate::dialling::CallerId;
use crate::routing::RoutingSettings;

fn sales_line() -> AccountConfig {
    AccountConfig {
        // Out of hours on the sales line: every call is turned away busy.
        routing: Some(RoutingSettings {
            rules: vec!["when true then reject_busy".into()],
            ..Default::default()
        }),
        caller_ids: Some(vec![CallerId {
            number: "+442079460000".into(),
            name: "Sales".into(),
        }]),
        media_encryption: Default::default(),
        require_encryption: false,
        ice: false,
        ..account_config("sales")
    }
}

#[test]
fn each_account_routes_its_own_calls_and_presents_its_own_caller_ids() {
    let mut w = Wire::with_accounts(vec![
        ("bob", vec![account_config("bob"), sales_line()]),
        ("alice", vec![account_config("alice")]),
    ]);

    // To bob's own line: the phone's default rules, it rings on that account.
    w.ask(
        "alice",
        Command::Dial {
            target: "sip:bob@bob.test".into(),
            opts: opts(),
        },
        50,
    )
    .unwrap();
    let rang: Vec<CallInfo> = w
        .take_events("bob")
        .into_iter()
        .filter_map(|e| match e {
            PhoneEvent::IncomingCall { call } => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(rang.len(), 1);
    assert_eq!(rang[0].account, "sip:bob@bob.test");
    w.ask("bob", Command::Hangup { id: rang[0].id }, 50)
        .unwrap();

    // To the sales line: its own rule turns the call away before it rings.
    w.take_events("alice");
    w.ask(
        "alice",
        Command::Dial {
            target: "sip:sales@sales.test".into(),
            opts: opts(),
        },
        50,
    )
    .unwrap();
    assert!(!w
        .take_events("bob")
        .iter()
        .any(|e| matches!(e, PhoneEvent::IncomingCall { .. })));
    assert!(
        w.take_events("alice").iter().any(|e| matches!(
            e,
            PhoneEvent::CallEnded {
                reason: EndReason::Failed { status: 486, .. },
                ..
            }
        )),
        "the caller hears busy"
    );
    let (_, row) = w.phone("bob").finished.last().unwrap();
    assert_eq!(row.account, "sip:sales@sales.test");
    assert!(
        row.routing
            .as_deref()
            .unwrap_or_default()
            .contains("rule 1"),
        "{:?}",
        row.routing
    );

    // Out from the sales line with its caller ID: presented.
    let from_sales = CallOptions {
        from: Some("sip:sales@sales.test".into()),
        caller_id: Some("+44 20 7946 0000".into()),
        ..opts()
    };
    let id = match w.ask(
        "bob",
        Command::Dial {
            target: "sip:alice@alice.test".into(),
            opts: from_sales,
        },
        50,
    ) {
        Ok(Done::Call(id)) => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(w.call("bob", id).account, "sip:sales@sales.test");
    let invite = w.phone("bob").invites.last().unwrap();
    assert_eq!(invite.caller.to_string(), "sip:sales@sales.test");
    assert!(
        invite
            .headers
            .iter()
            .any(|(h, v)| h == "P-Preferred-Identity" && v.contains("+442079460000")),
        "{:?}",
        invite.headers
    );

    // The same caller ID from bob's own line (which has none of its own, nor does the phone):
    // refused, naming the list.
    let from_bob = CallOptions {
        caller_id: Some("+442079460000".into()),
        ..opts()
    };
    let e = w
        .ask(
            "bob",
            Command::Dial {
                target: "sip:alice@alice.test".into(),
                opts: from_bob,
            },
            50,
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("not in this account's allowed list (none is set up)"),
        "{e}"
    );
}
