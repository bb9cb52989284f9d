//! A call's INVITE dialog as the phone drives it: [`invite`] sends an outgoing INVITE and answers
//! its 401/407 through `auth.rs` (the same path as REGISTER: SHA-256 and MD5, `qop=auth`, several
//! challenges, foreign realms refused) instead of rsipstack's own credential code, which reads
//! neither `algorithm=SHA-256` nor several challenges and answers any realm. [`CallLeg`] is the
//! dialog behind a call, in or out, whichever INVITE of the exchange is current: hang-up, cancel,
//! re-INVITE, answer, reject.

use crate::auth::{challenges_of, Asker, Attempt, AuthRefused, Credentials};
use crate::digest;
use crate::replaces::Replaces;
use crate::stack::SipStack;
use crate::types::SipUri;
use crate::SipError;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Method, Response, StatusCode};
use rsipstack::transport::SipAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// An outgoing call's first INVITE.
#[derive(Clone, Debug)]
pub struct OutgoingInvite {
    pub caller: SipUri,
    pub caller_display_name: Option<String>,
    pub callee: SipUri,
    /// Where it goes first (outbound proxy / registrar); `None`: straight to the callee.
    pub destination: Option<SipUri>,
    /// Our Contact on UDP; over TCP/TLS the connection's own address is used instead.
    pub contact: SipUri,
    /// The SDP offer.
    pub sdp: Vec<u8>,
    pub call_id: String,
    /// Extra headers (caller ID presentation), kept on authenticated retries.
    pub headers: Vec<(String, String)>,
}

/// How an outgoing INVITE ended.
#[derive(Debug)]
pub enum InviteOutcome {
    /// 2xx, with the SDP answer and what the callee's phone says it can do.
    Answered {
        sdp: String,
        capabilities: crate::capabilities::Capabilities,
    },
    /// A final failure response (after any authentication).
    Refused { status: u16, reason: String },
    /// Challenged, and the challenge was not answered (why says).
    AuthRefused {
        status: u16,
        reason: String,
        why: AuthRefused,
    },
    /// No final response (transport error, time-out inside rsipstack).
    Failed(String),
}

/// The dialog of one call. Clones share it; an authenticated retry of an outgoing INVITE
/// replaces the dialog inside, so a hang-up always reaches the INVITE on the wire.
#[derive(Clone)]
pub struct CallLeg {
    dialog: Arc<Mutex<InviteDialog>>,
    cancelled: Arc<AtomicBool>,
    /// The account's password, for challenges to requests inside the dialog.
    creds: Option<Credentials>,
}

impl CallLeg {
    pub fn new(dialog: InviteDialog) -> CallLeg {
        CallLeg {
            dialog: Arc::new(Mutex::new(dialog)),
            cancelled: Arc::new(AtomicBool::new(false)),
            creds: None,
        }
    }

    /// The leg answers 401/407 to its in-dialog requests with this account's password.
    pub fn with_credentials(mut self, creds: Credentials) -> CallLeg {
        self.creds = Some(creds);
        self
    }

    fn current(&self) -> InviteDialog {
        self.dialog.lock().unwrap().clone()
    }

    fn replace(&self, d: InviteDialog) {
        *self.dialog.lock().unwrap() = d;
    }

    /// How the far end names this dialog in a `Replaces` (RFC 3891): its own tag is the to-tag.
    pub fn replaces(&self) -> Replaces {
        let id = self.current().id();
        Replaces {
            call_id: id.call_id,
            to_tag: id.remote_tag,
            from_tag: id.local_tag,
            early_only: false,
        }
    }

    /// Still waiting for the ACK of our 2xx, or not yet answered: not ready for a re-INVITE.
    pub fn settling(&self) -> bool {
        let st = self.current().state();
        st.waiting_ack() || st.can_cancel()
    }

    /// CANCEL an outgoing INVITE (hang-up when it can no longer be cancelled). An INVITE being
    /// re-sent with credentials is cancelled as soon as it goes out.
    pub async fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        let d = self.current();
        if d.cancel().await.is_err() {
            let _ = d.hangup().await;
        }
    }

    fn was_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    pub async fn bye(&self) -> Result<(), SipError> {
        Ok(self.current().bye().await?)
    }

    pub fn ringing(&self) -> Result<(), SipError> {
        Ok(self.current().ringing(None, None)?)
    }

    /// Answers an incoming INVITE with 200 and this SDP.
    pub fn accept(&self, sdp: Vec<u8>) -> Result<(), SipError> {
        let mut headers = vec![Header::ContentType("application/sdp".into())];
        headers.extend(crate::incoming::capabilities());
        Ok(self.current().accept(Some(headers), Some(sdp))?)
    }

    pub fn reject(&self, status: u16) -> Result<(), SipError> {
        Ok(self
            .current()
            .reject(Some(StatusCode::from(status)), None)?)
    }

    /// Sends a re-INVITE with this SDP offer; the final response, if the dialog had one.
    pub async fn reinvite(&self, sdp: Vec<u8>) -> Result<Option<Answer>, SipError> {
        let headers = vec![Header::ContentType("application/sdp".into())];
        self.in_dialog(Method::Invite, headers, Some(sdp)).await
    }

    /// REFER the far end to `target` (blind transfer), `Referred-By` us; the final response.
    /// With `replaces` (an attended transfer, RFC 3891 / 5589 7), the Refer-To carries it as a
    /// URI header, so the far end's INVITE to the target takes the place of that dialog.
    pub async fn refer(
        &self,
        target: &SipUri,
        referred_by: &SipUri,
        replaces: Option<&Replaces>,
    ) -> Result<Option<Answer>, SipError> {
        let refer_to = match replaces {
            Some(r) => format!("<{target}?Replaces={}>", r.uri_escaped()),
            None => format!("<{target}>"),
        };
        let headers = vec![
            Header::Other("Referred-By".into(), format!("<{referred_by}>")),
            Header::Other("Refer-To".into(), refer_to),
        ];
        self.in_dialog(Method::Refer, headers, None).await
    }

    /// Sends a request inside the dialog; a 401/407 is answered through `auth.rs` (only for the
    /// account's realms, SHA-256 or MD5) by sending it again, with a new CSeq, credentials
    /// added. `None`: the dialog is not confirmed (or ended) and nothing was sent.
    async fn in_dialog(
        &self,
        method: Method,
        headers: Vec<Header>,
        body: Option<Vec<u8>>,
    ) -> Result<Option<Answer>, SipError> {
        let mut attempt = Attempt::new();
        let mut auth: Vec<Header> = Vec::new();
        loop {
            let dialog = self.current();
            let all: Vec<Header> = headers.iter().cloned().chain(auth.drain(..)).collect();
            let resp = match method {
                Method::Invite => dialog.reinvite(Some(all), body.clone()).await?,
                _ => {
                    dialog
                        .request(method.clone(), Some(all), body.clone())
                        .await?
                }
            };
            let Some(resp) = resp else { return Ok(None) };
            let (status, reason) = status_of(&resp);
            if !(status == 401 || status == 407) {
                return Ok(Some(answer_of(&resp)));
            }
            let Some(creds) = &self.creds else {
                return Ok(Some(answer_of(&resp)));
            };
            // The digest covers the Request-URI of the retried request: the remote target.
            let uri = dialog.snapshot().remote_uri.to_string();
            let body_bytes = body.as_deref().unwrap_or_default();
            match attempt.answer(
                creds,
                Asker::Path,
                &challenges_of(&resp),
                &method.to_string(),
                &uri,
                body_bytes,
                &digest::new_cnonce(),
            ) {
                Ok(answers) => {
                    auth = answers
                        .into_iter()
                        .map(|r| Header::Other(r.header_name.to_string(), r.value))
                        .collect();
                }
                Err(why) => {
                    return Err(SipError::AuthRefused {
                        method: method.to_string(),
                        status,
                        reason,
                        why: why.to_string(),
                    });
                }
            }
        }
    }
}

impl CallLeg {
    /// Reports the progress of a REFER the far end sent us (RFC 3515 NOTIFY, `message/sipfrag`):
    /// our call to the target is at `status`; `last` ends the implicit subscription.
    pub async fn notify_refer(
        &self,
        status: u16,
        reason: &str,
        last: bool,
    ) -> Result<Option<Answer>, SipError> {
        let state = if last {
            "terminated;reason=noresource".to_string()
        } else {
            "active;expires=60".to_string()
        };
        let headers = vec![
            Header::Event("refer".into()),
            Header::SubscriptionState(state.into()),
            Header::ContentType("message/sipfrag".into()),
        ];
        let body = format!("SIP/2.0 {status} {reason}\r\n").into_bytes();
        self.in_dialog(Method::Notify, headers, Some(body)).await
    }
}

/// A final response to a request in a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub reason: String,
    /// The body (SDP for a re-INVITE's 2xx).
    pub body: String,
}

fn answer_of(r: &Response) -> Answer {
    let (status, reason) = status_of(r);
    Answer {
        status,
        reason,
        body: String::from_utf8_lossy(&r.body).to_string(),
    }
}

/// The status code and reason phrase of a response.
pub(crate) fn status_of(resp: &Response) -> (u16, String) {
    let code = u16::from(resp.status_code.clone());
    let text = resp.status_code.to_string();
    let phrase = text
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ')
        .to_string();
    (code, phrase)
}

fn option_for(
    inv: &OutgoingInvite,
    destination: Option<SipAddr>,
    auth: &[(String, String)],
) -> InviteOption {
    let headers: Vec<Header> = inv
        .headers
        .iter()
        .chain(auth.iter())
        .map(|(name, value)| Header::Other(name.clone(), value.clone()))
        .chain(crate::incoming::capabilities())
        .collect();
    InviteOption {
        caller_display_name: inv.caller_display_name.clone(),
        caller: inv.caller.0.clone(),
        callee: inv.callee.0.clone(),
        destination,
        content_type: Some("application/sdp".into()),
        offer: Some(inv.sdp.clone()),
        contact: inv.contact.0.clone(),
        credential: None,
        call_id: Some(inv.call_id.clone()),
        headers: (!headers.is_empty()).then_some(headers),
        ..Default::default()
    }
}

/// Sends the INVITE; the returned task resolves when the exchange has a final outcome. Its dialog
/// events (early media, in-dialog requests, termination) come out of the stack's `DialogEvent`s
/// as for any dialog; a challenged INVITE's dialog ends there (`Ended::Other`) and its
/// authenticated retry carries the same Call-ID.
pub async fn invite(
    stack: &SipStack,
    mut inv: OutgoingInvite,
    creds: Credentials,
) -> Result<(CallLeg, tokio::task::JoinHandle<InviteOutcome>), SipError> {
    let events = stack.dialog_tx.clone();
    let dialogs = stack.dialogs.clone();
    let first_hop = inv
        .destination
        .clone()
        .unwrap_or_else(|| inv.callee.clone());
    let server = first_hop.host_port();
    let destination = match &inv.destination {
        Some(d) => Some(SipAddr::try_from(&d.0).map_err(|e| SipError::Invalid {
            what: "outbound proxy".into(),
            value: d.to_string(),
            detail: e.to_string(),
        })?),
        None => None,
    };
    if let Some(t) = first_hop.transport().filter(|t| t.is_stream()) {
        // Over TCP/TLS/WS/WSS the far end reaches us back on the connection we open: our
        // Contact is its local address, with the transport named (RFC 3261 8.1.1.8).
        let hop = SipAddr::try_from(&first_hop.0).map_err(|e| SipError::Invalid {
            what: "address".into(),
            value: first_hop.to_string(),
            detail: e.to_string(),
        })?;
        let (conn, _) = match stack.endpoint.transport_layer.lookup(&hop, None).await {
            Ok(found) => found,
            Err(e) if t.is_secure() => {
                return Err(crate::stack::connect_error(
                    &hop,
                    &first_hop.host(),
                    &e.to_string(),
                    true,
                )
                .await)
            }
            Err(e) => {
                return Err(crate::stack::connect_error(&hop, &server, &e.to_string(), false).await)
            }
        };
        if let Ok(local) = conn.get_addr().get_socketaddr() {
            inv.contact = SipUri::contact(inv.contact.user().as_deref(), local, t);
        }
    }
    // Behind NAT: the address our registrar saw us at (`registration.rs`).
    inv.contact = stack.advertised(&inv.contact);
    let (dialog, mut handle) =
        dialogs.do_invite_async(option_for(&inv, destination.clone(), &[]), events.clone())?;
    let leg = CallLeg::new(dialog).with_credentials(creds.clone());
    let task_leg = leg.clone();
    let task = tokio::spawn(async move {
        let leg = task_leg;
        let mut attempt = Attempt::new();
        loop {
            let resp = match handle.await {
                Ok(Ok((_, Some(resp)))) => resp,
                Ok(Ok((_, None))) => return InviteOutcome::Failed("no final response".into()),
                Ok(Err(e)) => return InviteOutcome::Failed(e.to_string()),
                Err(e) => return InviteOutcome::Failed(e.to_string()),
            };
            let (status, reason) = status_of(&resp);
            if (200..300).contains(&status) {
                let capabilities = crate::capabilities::Capabilities::of_rsip(&resp.headers);
                return InviteOutcome::Answered {
                    sdp: String::from_utf8_lossy(&resp.body).to_string(),
                    capabilities,
                };
            }
            if !(status == 401 || status == 407) || leg.was_cancelled() {
                return InviteOutcome::Refused { status, reason };
            }
            let uri = inv.callee.to_string();
            let answers = attempt.answer(
                &creds,
                Asker::Path,
                &challenges_of(&resp),
                "INVITE",
                &uri,
                &inv.sdp,
                &digest::new_cnonce(),
            );
            let answers = match answers {
                Ok(a) => a,
                Err(why) => {
                    return InviteOutcome::AuthRefused {
                        status,
                        reason,
                        why,
                    }
                }
            };
            let auth: Vec<(String, String)> = answers
                .into_iter()
                .map(|r| (r.header_name.to_string(), r.value))
                .collect();
            match dialogs
                .do_invite_async(option_for(&inv, destination.clone(), &auth), events.clone())
            {
                Ok((dialog, next)) => {
                    leg.replace(dialog);
                    handle = next;
                    if leg.was_cancelled() {
                        leg.cancel().await;
                    }
                }
                Err(e) => return InviteOutcome::Failed(e.to_string()),
            }
        }
    });
    Ok((leg, task))
}
