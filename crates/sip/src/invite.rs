//! A call's INVITE dialog as the phone drives it: [`invite`] sends an outgoing INVITE and answers
//! its 401/407 through `auth.rs` (the same path as REGISTER: SHA-256 and MD5, `qop=auth`, several
//! challenges, foreign realms refused) instead of rsipstack's own credential code, which reads
//! neither `algorithm=SHA-256` nor several challenges and answers any realm. [`CallLeg`] is the
//! dialog behind a call, in or out, whichever INVITE of the exchange is current: hang-up, cancel,
//! re-INVITE, answer, reject.

use crate::auth::{challenges_of, Asker, Attempt, AuthRefused, Credentials};
use crate::digest;
use crate::stack::SipStack;
use crate::SipError;
use rsipstack::dialog::dialog::{DialogState, DialogStateSender};
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Response, StatusCode, Uri};
use rsipstack::transport::SipAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// An outgoing call's first INVITE.
#[derive(Clone, Debug)]
pub struct OutgoingInvite {
    pub caller: Uri,
    pub caller_display_name: Option<String>,
    pub callee: Uri,
    /// Where it goes first (outbound proxy / registrar); `None`: straight to the callee.
    pub destination: Option<SipAddr>,
    pub contact: Uri,
    /// The SDP offer.
    pub sdp: Vec<u8>,
    pub call_id: String,
    /// Extra headers (caller ID presentation), kept on authenticated retries.
    pub headers: Vec<(String, String)>,
}

/// How an outgoing INVITE ended.
#[derive(Debug)]
pub enum InviteOutcome {
    /// 2xx: the answer is in the response.
    Answered(Box<Response>),
    /// A final failure response (after any authentication).
    Refused { status: u16, reason: String },
    /// Challenged, and the challenge was not answered (why says).
    AuthRefused { status: u16, reason: String, why: AuthRefused },
    /// No final response (transport error, time-out inside rsipstack).
    Failed(String),
}

/// The dialog of one call. Clones share it; an authenticated retry of an outgoing INVITE
/// replaces the dialog inside, so a hang-up always reaches the INVITE on the wire.
#[derive(Clone)]
pub struct CallLeg {
    dialog: Arc<Mutex<InviteDialog>>,
    cancelled: Arc<AtomicBool>,
}

impl CallLeg {
    pub fn new(dialog: InviteDialog) -> CallLeg {
        CallLeg { dialog: Arc::new(Mutex::new(dialog)), cancelled: Arc::new(AtomicBool::new(false)) }
    }

    fn current(&self) -> InviteDialog {
        self.dialog.lock().unwrap().clone()
    }

    fn replace(&self, d: InviteDialog) {
        *self.dialog.lock().unwrap() = d;
    }

    pub fn dialog(&self) -> InviteDialog {
        self.current()
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
        let headers = vec![Header::ContentType("application/sdp".into())];
        Ok(self.current().accept(Some(headers), Some(sdp))?)
    }

    pub fn reject(&self, status: u16) -> Result<(), SipError> {
        Ok(self.current().reject(Some(StatusCode::from(status)), None)?)
    }

    /// Sends a re-INVITE with this SDP offer; the final response, if the dialog had one.
    pub async fn reinvite(&self, sdp: Vec<u8>) -> Result<Option<Response>, SipError> {
        let headers = vec![Header::ContentType("application/sdp".into())];
        Ok(self.current().reinvite(Some(headers), Some(sdp)).await?)
    }

    pub fn state(&self) -> DialogState {
        self.current().state()
    }
}

/// The status code and reason phrase of a response.
pub fn status_of(resp: &Response) -> (u16, String) {
    let code = u16::from(resp.status_code.clone());
    let text = resp.status_code.to_string();
    let phrase = text.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ').to_string();
    (code, phrase)
}

fn option_for(inv: &OutgoingInvite, auth: &[(String, String)]) -> InviteOption {
    let headers: Vec<Header> = inv
        .headers
        .iter()
        .chain(auth.iter())
        .map(|(name, value)| Header::Other(name.clone(), value.clone()))
        .collect();
    InviteOption {
        caller_display_name: inv.caller_display_name.clone(),
        caller: inv.caller.clone(),
        callee: inv.callee.clone(),
        destination: inv.destination.clone(),
        content_type: Some("application/sdp".into()),
        offer: Some(inv.sdp.clone()),
        contact: inv.contact.clone(),
        credential: None,
        call_id: Some(inv.call_id.clone()),
        headers: (!headers.is_empty()).then_some(headers),
        ..Default::default()
    }
}

/// Sends the INVITE; the returned task resolves when the exchange has a final outcome. Dialog
/// events (early media, in-dialog requests, termination) go to `events` as for any dialog; a
/// challenged INVITE's dialog ends there with `ProxyAuthRequired` and its retry carries the same
/// Call-ID.
pub fn invite(
    stack: &SipStack,
    inv: OutgoingInvite,
    creds: Credentials,
    events: DialogStateSender,
) -> Result<(CallLeg, tokio::task::JoinHandle<InviteOutcome>), SipError> {
    let dialogs = stack.dialogs.clone();
    let (dialog, mut handle) = dialogs.do_invite_async(option_for(&inv, &[]), events.clone())?;
    let leg = CallLeg::new(dialog);
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
                return InviteOutcome::Answered(Box::new(resp));
            }
            if !(status == 401 || status == 407) || leg.was_cancelled() {
                return InviteOutcome::Refused { status, reason };
            }
            let uri = inv.callee.to_string();
            let answers = attempt.answer(&creds, Asker::Path, &challenges_of(&resp), "INVITE", &uri, &inv.sdp, &digest::new_cnonce());
            let answers = match answers {
                Ok(a) => a,
                Err(why) => return InviteOutcome::AuthRefused { status, reason, why },
            };
            let auth: Vec<(String, String)> = answers.into_iter().map(|r| (r.header_name.to_string(), r.value)).collect();
            match dialogs.do_invite_async(option_for(&inv, &auth), events.clone()) {
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
