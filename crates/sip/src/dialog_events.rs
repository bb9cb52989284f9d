//! What happens inside the phone's INVITE dialogs, as our own events: early responses to our
//! INVITEs, requests the far end sends in a call (re-INVITE, INFO, NOTIFY), and the end of a
//! dialog. Requests the phone has no say in are answered here (OPTIONS and MESSAGE 200, PUBLISH
//! 501), and an ended dialog is dropped from the dialog layer here.

use crate::types::Request;
use rsipstack::dialog::dialog::{
    DialogState, DialogStateReceiver, TerminatedReason, TransactionHandle,
};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{Header, StatusCode};
use std::sync::Arc;
use tokio::sync::mpsc;

/// One event of a call's dialog; the call is found by its SIP Call-ID.
#[derive(Debug)]
pub enum DialogEvent {
    /// A provisional response (180/183) to our INVITE, with the SDP of early media if any.
    Early {
        call_id: String,
        sdp: Option<String>,
    },
    /// The far end's re-INVITE (or UPDATE): answer with [`Reply::sdp`] or a status. Empty `sdp`:
    /// an offer-less re-INVITE (we offer in the answer).
    Reinvite {
        call_id: String,
        sdp: String,
        reply: Reply,
    },
    /// INFO in a call (DTMF relay from older gateways).
    Info {
        call_id: String,
        request: Request,
        reply: Reply,
    },
    /// NOTIFY in a call (progress of a REFER we sent).
    Notify {
        call_id: String,
        request: Request,
        reply: Reply,
    },
    /// REFER in a call: the far end asks us to call someone (we are being transferred).
    Refer {
        call_id: String,
        request: Request,
        reply: Reply,
    },
    /// The dialog is over.
    Ended { call_id: String, why: Ended },
}

/// Why a dialog ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// BYE, from either side.
    Bye,
    /// The caller cancelled before the call was answered.
    Cancelled,
    /// The far end stopped answering (no ACK, no response).
    TimedOut,
    /// Anything else (a final failure of our INVITE, reported with its status where it was sent).
    Other,
}

/// The answer to a request inside a dialog; send it once.
#[derive(Debug)]
pub struct Reply(TransactionHandle);

impl Reply {
    pub async fn status(self, code: u16) {
        let _ = self.0.reply(StatusCode::from(code)).await;
    }

    /// A response carrying SDP (the answer to a re-INVITE).
    pub async fn sdp(self, code: u16, sdp: Vec<u8>) {
        let headers = vec![Header::ContentType("application/sdp".into())];
        let _ = self
            .0
            .respond(StatusCode::from(code), Some(headers), Some(sdp))
            .await;
    }
}

fn ended(reason: &TerminatedReason) -> Ended {
    match reason {
        TerminatedReason::UacBye | TerminatedReason::UasBye => Ended::Bye,
        TerminatedReason::UacCancel => Ended::Cancelled,
        TerminatedReason::Timeout => Ended::TimedOut,
        _ => Ended::Other,
    }
}

/// Turns rsipstack's dialog states into [`DialogEvent`]s until either side closes.
pub(crate) fn forward(
    dialogs: Arc<DialogLayer>,
    mut states: DialogStateReceiver,
    events: mpsc::UnboundedSender<DialogEvent>,
) {
    tokio::spawn(async move {
        while let Some(st) = states.recv().await {
            let ev = match st {
                DialogState::Early(did, resp) => {
                    let sdp = (!resp.body.is_empty())
                        .then(|| String::from_utf8_lossy(&resp.body).to_string());
                    DialogEvent::Early {
                        call_id: did.call_id.clone(),
                        sdp,
                    }
                }
                DialogState::Updated(did, req, handle) => DialogEvent::Reinvite {
                    call_id: did.call_id.clone(),
                    sdp: String::from_utf8_lossy(&req.body).to_string(),
                    reply: Reply(handle),
                },
                DialogState::Info(did, req, handle) => DialogEvent::Info {
                    call_id: did.call_id.clone(),
                    request: Request::of(&req),
                    reply: Reply(handle),
                },
                DialogState::Notify(did, req, handle) => DialogEvent::Notify {
                    call_id: did.call_id.clone(),
                    request: Request::of(&req),
                    reply: Reply(handle),
                },
                DialogState::Options(_, _, handle) | DialogState::Message(_, _, handle) => {
                    let _ = handle.reply(StatusCode::OK).await;
                    continue;
                }
                DialogState::Refer(did, req, handle) => DialogEvent::Refer {
                    call_id: did.call_id.clone(),
                    request: Request::of(&req),
                    reply: Reply(handle),
                },
                DialogState::Publish(_, _, handle) => {
                    let _ = handle.reply(StatusCode::NotImplemented).await;
                    continue;
                }
                DialogState::Terminated(did, reason) => {
                    dialogs.remove_dialog(&did);
                    DialogEvent::Ended {
                        call_id: did.call_id.clone(),
                        why: ended(&reason),
                    }
                }
                _ => continue,
            };
            if events.send(ev).is_err() {
                break;
            }
        }
    });
}
