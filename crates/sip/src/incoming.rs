//! Requests that reach the phone: requests inside a known dialog go to that dialog (its events
//! come out of `dialog_events.rs`), OPTIONS is answered, strays get 481 or 405, and what the phone
//! decides about comes out as [`Incoming`]: a new INVITE ([`ServerInvite`]: ring, refuse,
//! redirect, answer) or another request ([`ServerRequest`], e.g. the NOTIFYs of a subscription).

use crate::invite::CallLeg;
use crate::replaces::Replaces;
use crate::types::{Method, Request, SipUri, Transport};
use crate::SipError;
use rsipstack::dialog::dialog::DialogStateSender;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transaction::TransactionReceiver;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The methods the phone takes, for `Allow` (REFER: inside a call, being transferred).
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY, REFER";

/// The extensions the phone takes, for `Supported`: an INVITE may replace one of our calls
/// (RFC 3891), so a transferor can complete an attended transfer towards us.
pub const SUPPORTED: &str = "replaces";

/// `Allow` and `Supported` for our INVITEs, their 200s and REGISTERs, so a peer knows it may
/// transfer us (REFER) and transfer to us with `Replaces`.
pub(crate) fn capabilities() -> Vec<Header> {
    vec![
        Header::Other("Allow".into(), ALLOW.into()),
        Header::Other("Supported".into(), SUPPORTED.into()),
    ]
}

/// A request the phone decides about.
pub enum Incoming {
    Invite(ServerInvite),
    Request(ServerRequest),
}

/// Headers as `(name, value)`; `Contact` becomes a real Contact header.
fn headers(list: Vec<(String, String)>) -> Vec<Header> {
    list.into_iter()
        .map(|(name, value)| {
            if name.eq_ignore_ascii_case("contact") {
                Header::Contact(value.into())
            } else {
                Header::Other(name, value)
            }
        })
        .collect()
}

/// A new INVITE, not yet answered.
pub struct ServerInvite {
    tx: Transaction,
    request: Request,
    dialogs: Arc<DialogLayer>,
    dialog_tx: DialogStateSender,
    /// The stack's own address (UDP), for the Contact of calls that came over UDP.
    local: SocketAddr,
    /// Our addresses as the registrar saw them (NAT), for the Contact.
    public: crate::stack::PublicAddresses,
    /// The call of ours it asks to take the place of (RFC 3891), checked to exist.
    replaces: Option<Replaces>,
}

/// Sends a ringing call elsewhere with 302 (forward on no answer).
pub struct Redirect(tokio::sync::oneshot::Sender<SipUri>);

impl Redirect {
    /// False if the INVITE transaction is already over.
    pub fn send(self, target: SipUri) -> bool {
        self.0.send(target).is_ok()
    }
}

/// Waits (in the background) for the ACK of a final non-2xx response, so it is not retransmitted.
fn absorb(mut tx: Transaction) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(32), async {
            while tx.receive().await.is_some() {}
        })
        .await;
    });
}

impl ServerInvite {
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The dialog of ours this INVITE takes the place of (its `Replaces` header), when it has
    /// one; an INVITE whose `Replaces` matches none of our dialogs never gets here (481).
    pub fn replaces(&self) -> Option<&Replaces> {
        self.replaces.as_ref()
    }

    /// A final answer without a call (400, 486, 488, 603, 302 with a Contact...).
    pub async fn reply(mut self, status: u16, extra: Vec<(String, String)>) {
        let _ = self
            .tx
            .reply_with(StatusCode::from(status), headers(extra), None)
            .await;
        absorb(self.tx);
    }

    /// The Contact for this call: our address on the connection the INVITE came over (as our
    /// registrar saw it, behind NAT).
    fn contact(&self, user: Option<&str>) -> SipUri {
        crate::stack::advertised(&self.public, &self.own_contact(user))
    }

    fn own_contact(&self, user: Option<&str>) -> SipUri {
        match self.tx.connection.as_ref().map(|c| c.get_addr().clone()) {
            Some(a)
                if a.r#type
                    .is_some_and(|t| t != rsipstack::sip::Transport::Udp) =>
            {
                let t = a
                    .r#type
                    .as_ref()
                    .map(crate::types::transport_of)
                    .unwrap_or(Transport::Udp);
                match a.get_socketaddr() {
                    Ok(addr) => SipUri::contact(user, addr, t),
                    Err(_) => SipUri::contact(user, self.local, Transport::Udp),
                }
            }
            _ => SipUri::contact(user, self.local, Transport::Udp),
        }
    }

    /// Takes the call: its dialog (to ring, answer, reject or hang up) and the way to redirect it
    /// while it rings. `user`: the user part of our Contact.
    pub fn into_call(self, user: Option<&str>) -> Result<(CallLeg, Redirect), SipError> {
        let contact = self.contact(user);
        let ServerInvite {
            mut tx,
            dialogs,
            dialog_tx,
            ..
        } = self;
        let dialog =
            match dialogs.get_or_create_server_invite(&tx, dialog_tx, None, Some(contact.0)) {
                Ok(d) => d,
                Err(e) => {
                    tokio::spawn(async move {
                        let _ = tx.reply(StatusCode::ServerInternalError).await;
                    });
                    return Err(SipError::Other(format!(
                        "could not take an incoming call: {e}"
                    )));
                }
            };
        let (redirect_tx, redirect_rx) = tokio::sync::oneshot::channel::<SipUri>();
        let mut d = dialog.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = d.handle(&mut tx) => {}
                Ok(target) = redirect_rx => {
                    // Forward on no answer: 302 from the INVITE transaction itself (the dialog
                    // API has no redirect), then absorb the ACK so the 302 is not retransmitted.
                    dialogs.remove_dialog(&d.id());
                    let contact = Header::Contact(format!("<{target}>").into());
                    let _ = tx.reply_with(StatusCode::MovedTemporarily, vec![contact], None).await;
                    absorb(tx);
                }
            }
        });
        Ok((CallLeg::new(dialog), Redirect(redirect_tx)))
    }
}

/// Another out-of-dialog request (or one in a dialog the stack does not keep, like a
/// subscription's NOTIFY).
pub struct ServerRequest {
    tx: Transaction,
    request: Request,
}

impl ServerRequest {
    pub fn request(&self) -> &Request {
        &self.request
    }

    pub async fn reply(mut self, status: u16) {
        let _ = self.tx.reply(StatusCode::from(status)).await;
    }
}

/// A peer's re-INVITE can arrive right after our 200, before our dialog has left `Early`
/// (rsipstack moves it on after sending the 200) or received the ACK (each request is handled in
/// its own task). rsipstack silently drops an INVITE on a dialog that is not confirmed: the peer's
/// re-INVITE then hangs until it times out (32 s), answering 491 to every re-INVITE of ours
/// meanwhile. So wait briefly for the dialog; false if it did not get there.
async fn ready_for_reinvite(d: &rsipstack::dialog::dialog::Dialog) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while d.state().can_cancel() || d.state().waiting_ack() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// A request within one of our dialogs, handed to it (a re-INVITE once the dialog can take one).
async fn in_dialog(mut d: rsipstack::dialog::dialog::Dialog, mut tx: Transaction) {
    if tx.original.method == rsipstack::sip::Method::Invite && !ready_for_reinvite(&d).await {
        // Still not confirmed: tell the peer to retry (RFC 3261 14.2).
        let _ = tx.reply(StatusCode::RequestPending).await;
        return;
    }
    let _ = d.handle(&mut tx).await;
}

/// Whether `tx`'s dialog is one our INVITE is still establishing: rsipstack files an outgoing
/// INVITE's dialog under an id without the far end's tag until the INVITE's final response has
/// been handled (after the ACK went out), and only then under its whole id.
fn establishing(dialogs: &DialogLayer, tx: &Transaction) -> bool {
    let Ok(mut id) = rsipstack::dialog::DialogId::try_from(tx) else {
        return false;
    };
    id.remote_tag.clear();
    dialogs.get_dialog(&id).is_some()
}

/// `tx`'s dialog once our INVITE's 2xx has filed it under its whole id; None when no INVITE of
/// ours is establishing it (looked for 50 ms: rsipstack removes the first id before it adds the
/// whole one) or it took longer than 2 s (a 2xx is handled in microseconds).
async fn confirmed(
    dialogs: &DialogLayer,
    tx: &Transaction,
) -> Option<rsipstack::dialog::dialog::Dialog> {
    let start = tokio::time::Instant::now();
    loop {
        if let Some(d) = dialogs.match_dialog(tx) {
            return Some(d);
        }
        let waited = start.elapsed();
        if waited >= Duration::from_secs(2)
            || (waited >= Duration::from_millis(50) && !establishing(dialogs, tx))
        {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The dialog a new INVITE's `Replaces` names (RFC 3891 3): Ok(None) without one; 400 when it
/// cannot be read or there are several, 481 when it names no dialog of ours. Whether that call
/// may be replaced (answered already, ringing here) is the phone's to say.
fn replaced(
    dialogs: &DialogLayer,
    request: &Request,
) -> Result<Option<Replaces>, (StatusCode, String)> {
    let mut values = request
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("replaces"));
    let Some((_, value)) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err((
            StatusCode::BadRequest,
            "more than one Replaces header".into(),
        ));
    }
    let r = Replaces::parse(value).map_err(|e| (StatusCode::BadRequest, e))?;
    let id = rsipstack::dialog::DialogId {
        call_id: r.call_id.clone(),
        local_tag: r.to_tag.clone(),
        remote_tag: r.from_tag.clone(),
    };
    // A call of ours not answered yet is filed without the far end's tag.
    let unanswered = rsipstack::dialog::DialogId {
        remote_tag: String::new(),
        ..id.clone()
    };
    if dialogs
        .get_dialog(&id)
        .or_else(|| dialogs.get_dialog(&unanswered))
        .is_none()
    {
        return Err((
            StatusCode::CallTransactionDoesNotExist,
            format!("no call here matches its Replaces ({value})"),
        ));
    }
    Ok(Some(r))
}

/// Sorts every request the endpoint receives; what the phone decides about goes to `out`.
pub(crate) fn dispatch(
    mut incoming: TransactionReceiver,
    dialogs: Arc<DialogLayer>,
    dialog_tx: DialogStateSender,
    local: SocketAddr,
    public: crate::stack::PublicAddresses,
    out: mpsc::UnboundedSender<Incoming>,
) {
    tokio::spawn(async move {
        while let Some(mut tx) = incoming.recv().await {
            let method = tx.original.method;
            let has_tag = tx
                .original
                .to_header()
                .ok()
                .and_then(|t| t.tag().ok().flatten())
                .is_some();
            if has_tag && method != rsipstack::sip::Method::Options {
                let matched = match dialogs.match_dialog(&tx) {
                    None if method != rsipstack::sip::Method::Ack
                        && method != rsipstack::sip::Method::Notify =>
                    {
                        // Perhaps our INVITE's 200 has just been ACKed and the peer's first
                        // request in the new dialog overtook rsipstack filing the dialog under
                        // its confirmed id: wait for it there rather than answer 481.
                        let dialogs = dialogs.clone();
                        tokio::spawn(async move {
                            match confirmed(&dialogs, &tx).await {
                                Some(d) => in_dialog(d, tx).await,
                                None => {
                                    let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                                }
                            }
                        });
                        continue;
                    }
                    matched => matched,
                };
                match matched {
                    Some(d) => {
                        tokio::spawn(in_dialog(d, tx));
                    }
                    None if method == rsipstack::sip::Method::Notify => {
                        let request = Request::of(&tx.original);
                        if out
                            .send(Incoming::Request(ServerRequest { tx, request }))
                            .is_err()
                        {
                            break;
                        }
                    }
                    // A stray ACK: nothing answers an ACK.
                    None => {}
                }
                continue;
            }
            let request = Request::of(&tx.original);
            let sent = match request.method {
                Method::Invite => match replaced(&dialogs, &request) {
                    Ok(replaces) => out.send(Incoming::Invite(ServerInvite {
                        tx,
                        request,
                        dialogs: dialogs.clone(),
                        dialog_tx: dialog_tx.clone(),
                        local,
                        public: public.clone(),
                        replaces,
                    })),
                    Err((status, why)) => {
                        tracing::info!(
                            "INVITE from {} refused ({status}): {why}",
                            request.from.as_ref().map_or("?", |f| f.uri.as_str())
                        );
                        let warning = Header::Other(
                            "Warning".into(),
                            format!("399 hookflash \"{}\"", why.replace('"', "'")),
                        );
                        let _ = tx.reply_with(status, vec![warning], None).await;
                        absorb(tx);
                        Ok(())
                    }
                },
                Method::Notify => out.send(Incoming::Request(ServerRequest { tx, request })),
                Method::Options => {
                    let allow = vec![
                        Header::Other("Allow".into(), ALLOW.into()),
                        Header::Other("Accept".into(), "application/sdp".into()),
                    ];
                    let _ = tx.reply_with(StatusCode::OK, allow, None).await;
                    Ok(())
                }
                Method::Ack => Ok(()),
                Method::Bye | Method::Cancel => {
                    let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                    Ok(())
                }
                _ => {
                    let allow = vec![Header::Other("Allow".into(), ALLOW.into())];
                    let _ = tx
                        .reply_with(StatusCode::MethodNotAllowed, allow, None)
                        .await;
                    Ok(())
                }
            };
            if sent.is_err() {
                break;
            }
        }
    });
}
