//! The engine's orbit subscriptions against a scripted notifier on a loopback UDP socket:
//! the SUBSCRIBE is challenged (SHA-256 digest) and answered with our own digest, NOTIFYs with
//! dialog-info documents move the slot between free and occupied (`PhoneEvent::ParkSlots`), a
//! malformed document is counted and warned about without disturbing the slot, and a short
//! granted expiry brings an in-dialog refresh (same Call-ID, the notifier's tag) before it runs out,
//! and shutting down ends the subscription (Expires: 0).

use crate::common::*;
use hookflash_phone::*;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;

struct Notifier {
    sock: UdpSocket,
}

/// The value of header `name` in a SIP message (first occurrence).
fn header(msg: &str, name: &str) -> Option<String> {
    msg.lines()
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l[name.len()..].starts_with(':')
        })
        .map(|l| l[name.len() + 1..].trim().to_string())
}

impl Notifier {
    async fn recv(&self, what: &str) -> (String, SocketAddr) {
        let mut buf = vec![0u8; 65536];
        let (n, from) =
            tokio::time::timeout(Duration::from_secs(10), self.sock.recv_from(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("no {what} within 10 s"))
                .unwrap();
        (String::from_utf8_lossy(&buf[..n]).into_owned(), from)
    }

    async fn recv_request(&self, method: &str) -> (String, SocketAddr) {
        loop {
            let (m, from) = self.recv(method).await;
            if m.starts_with(&format!("{method} ")) {
                return (m, from);
            }
        }
    }

    async fn reply(
        &self,
        req: &str,
        to: SocketAddr,
        status: &str,
        to_tag: Option<&str>,
        extra: &str,
    ) {
        let mut to_h = header(req, "To").unwrap();
        if let Some(t) = to_tag {
            if !to_h.contains("tag=") {
                to_h.push_str(&format!(";tag={t}"));
            }
        }
        let msg = format!(
            "SIP/2.0 {status}\r\nVia: {}\r\nFrom: {}\r\nTo: {to_h}\r\nCall-ID: {}\r\nCSeq: {}\r\n{extra}Content-Length: 0\r\n\r\n",
            header(req, "Via").unwrap(),
            header(req, "From").unwrap(),
            header(req, "Call-ID").unwrap(),
            header(req, "CSeq").unwrap(),
        );
        self.sock.send_to(msg.as_bytes(), to).await.unwrap();
    }

    async fn notify(&self, sub: &str, to: SocketAddr, cseq: u32, state: &str, body: &str) {
        let from_tag = header(sub, "From")
            .unwrap()
            .split("tag=")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let me = self.sock.local_addr().unwrap();
        let msg = format!(
            "NOTIFY sip:alice@{to} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKn{cseq}\r\nMax-Forwards: 70\r\n\
             From: <sip:701@127.0.0.1>;tag=notifier\r\nTo: <sip:alice@127.0.0.1>;tag={from_tag}\r\nCall-ID: {}\r\n\
             CSeq: {cseq} NOTIFY\r\nContact: <sip:701@{me}>\r\nEvent: dialog\r\nSubscription-State: {state}\r\n\
             Content-Type: application/dialog-info+xml\r\nContent-Length: {}\r\n\r\n{body}",
            header(sub, "Call-ID").unwrap(),
            body.len()
        );
        self.sock.send_to(msg.as_bytes(), to).await.unwrap();
        let (resp, _) = self.recv("200 to NOTIFY").await;
        assert!(resp.starts_with("SIP/2.0 200"), "NOTIFY answered {resp}");
    }
}

fn doc(version: u32, dialogs: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"{version}\" \
         state=\"full\" entity=\"sip:701@127.0.0.1\">{dialogs}</dialog-info>"
    )
}

const BOB_PARKED: &str = "<dialog id=\"d1\" direction=\"recipient\"><state>confirmed</state>\
    <remote><identity display=\"Bob\">sip:bob@127.0.0.1</identity></remote></dialog>";

async fn slot_event(
    rx: &mut tokio::sync::broadcast::Receiver<PhoneEvent>,
    occupied: bool,
) -> ParkSlot {
    let ev = next_matching(rx, if occupied { "701 occupied" } else { "701 free" }, |e| {
        matches!(e, PhoneEvent::ParkSlots { slots } if slots.iter().any(|s| s.slot == "701" && s.occupied == occupied))
    })
    .await;
    let PhoneEvent::ParkSlots { slots } = ev else {
        unreachable!()
    };
    slots.into_iter().find(|s| s.slot == "701").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orbit_subscription_auth_notifies_malformed_and_refresh() {
    let dir = temp_dir("shared-park-notifier");
    let notifier = Notifier {
        sock: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
    };
    let port = notifier.sock.local_addr().unwrap().port();
    let mut cfg = config("alice", &dir);
    cfg.account.shared_park = Some(SharedParkConfig {
        orbits: vec!["701".into()],
        domain: Some(format!("127.0.0.1:{port}")),
    });
    // The notifier challenges for realm "test", which is not the account's domain: named in the
    // account, it is answered (an unnamed foreign realm would be refused).
    cfg.account.realm = Some("test".into());
    let phone = Phone::start(cfg, PasswordSource::Plain("secret".into()))
        .await
        .unwrap();
    let mut rx = phone.subscribe();
    assert_eq!(phone.park_slots().len(), 1);

    // SUBSCRIBE, challenged with SHA-256; the retry carries our digest.
    let (sub, from) = notifier.recv_request("SUBSCRIBE").await;
    assert!(
        sub.starts_with(&format!("SUBSCRIBE sip:701@127.0.0.1:{port} SIP/2.0")),
        "{sub}"
    );
    assert_eq!(header(&sub, "Event").as_deref(), Some("dialog"));
    assert_eq!(
        header(&sub, "Accept").as_deref(),
        Some("application/dialog-info+xml")
    );
    notifier
        .reply(&sub, from, "401 Unauthorized", Some("challenge"), "WWW-Authenticate: Digest realm=\"test\", nonce=\"abc123\", qop=\"auth\", algorithm=SHA-256\r\n")
        .await;
    let (sub, from) = notifier.recv_request("SUBSCRIBE").await;
    let auth = header(&sub, "Authorization").expect("the retry has no Authorization");
    assert!(
        auth.contains("username=\"alice\"")
            && auth.contains("SHA-256")
            && auth.contains("nonce=\"abc123\""),
        "{auth}"
    );
    notifier
        .reply(
            &sub,
            from,
            "200 OK",
            Some("notifier"),
            &format!("Expires: 4\r\nContact: <sip:701@127.0.0.1:{port}>\r\n"),
        )
        .await;

    // Bob parked on 701, then a broken document (slot unchanged), then 701 free again.
    notifier
        .notify(&sub, from, 1, "active;expires=4", &doc(0, BOB_PARKED))
        .await;
    let s = slot_event(&mut rx, true).await;
    assert_eq!(
        (s.parked_uri.as_deref(), s.parked_display.as_deref()),
        (Some("sip:bob@127.0.0.1"), Some("Bob"))
    );
    notifier
        .notify(
            &sub,
            from,
            2,
            "active;expires=4",
            "<dialog-info version=\"1\" state=\"full\"><dialog",
        )
        .await;
    let w = next_matching(&mut rx, "malformed warning", |e| {
        matches!(e, PhoneEvent::Warning { .. })
    })
    .await;
    let PhoneEvent::Warning { message } = w else {
        unreachable!()
    };
    assert!(
        message.contains("orbit 701: malformed dialog-info document")
            && message.contains("1 so far"),
        "{message}"
    );
    assert!(
        phone.park_slots()[0].occupied,
        "a malformed document must not change the slot"
    );
    notifier
        .notify(&sub, from, 3, "active;expires=4", &doc(1, ""))
        .await;
    assert!(slot_event(&mut rx, false).await.parked_uri.is_none());

    // Granted 4 s: the refresh comes in the same dialog before it expires.
    let started = std::time::Instant::now();
    let (refresh, _) = notifier.recv_request("SUBSCRIBE").await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "refresh after {:?}",
        started.elapsed()
    );
    assert_eq!(header(&refresh, "Call-ID"), header(&sub, "Call-ID"));
    assert!(
        header(&refresh, "To").unwrap().contains("tag=notifier"),
        "{refresh}"
    );
    assert!(
        refresh.starts_with(&format!("SUBSCRIBE sip:701@127.0.0.1:{port} SIP/2.0")),
        "{refresh}"
    );
    notifier
        .reply(&refresh, from, "200 OK", None, "Expires: 4\r\n")
        .await;

    // Shutting down ends the subscription: Expires: 0 in the same dialog.
    let stopping = tokio::spawn({
        let phone = phone.clone();
        async move { phone.shutdown().await }
    });
    let (unsub, from) = notifier.recv_request("SUBSCRIBE").await;
    assert_eq!(header(&unsub, "Expires").as_deref(), Some("0"), "{unsub}");
    assert_eq!(header(&unsub, "Call-ID"), header(&sub, "Call-ID"));
    notifier
        .reply(&unsub, from, "200 OK", None, "Expires: 0\r\n")
        .await;
    stopping.await.unwrap();
}
