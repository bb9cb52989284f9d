//! Blind transfer (RFC 3515 / RFC 5589): the far end of a connected call is asked to call a
//! target (a colleague, a queue) and we leave. The call is put on hold first and the REFER goes
//! out only once the hold is answered (so the transferee never hears us after asking, and no
//! REFER crosses a re-INVITE); progress from the NOTIFY sipfrags (trying, ringing) reaches the
//! front ends live; a 2xx ends our leg "transferred to <target>"; any failure (REFER refused,
//! the target busy, no outcome in 32 s) gives the call back to the user — left parked, or
//! resumed if they asked — with the reason, never dropped. `transfer.rs` keeps the REFER's
//! progress; parking on a server orbit is the same mechanism (`orbits.rs`).

use super::call::Waiting;
use super::io::*;
use super::phone::{sip_err, PhoneCore};
use super::transfer::{Failure, Progress};
use crate::api::*;
use hookflash_sip::{target, SipUri};

/// A blind transfer of one call.
#[derive(Debug)]
pub struct BlindTransfer {
    target: SipUri,
    /// Resume the call if the transfer fails (else it stays parked).
    resume_on_failure: bool,
    /// The REFER went out.
    referred: bool,
    /// The progress last reported (a repeated 100 Trying is not news).
    last: Option<TransferProgress>,
    /// Attended: our call with the target, which the REFER's `Replaces` names
    /// (`attended_transfer.rs`).
    replaces: Option<CallId>,
}

impl BlindTransfer {
    pub fn replaces(&self) -> Option<CallId> {
        self.replaces
    }

    pub fn was_referred(&self) -> bool {
        self.referred
    }
}

/// What a sipfrag status line says about the far end's call to the target (None: final).
fn progress_of(status: u16) -> Option<TransferProgress> {
    match status {
        180..=189 => Some(TransferProgress::Ringing),
        100..=199 => Some(TransferProgress::Trying),
        _ => None,
    }
}

impl PhoneCore {
    /// Starts a blind transfer of connected call `id` to `input` (number, extension or URI,
    /// through the dialling plan). The reply comes when the REFER is answered.
    pub(super) fn transfer(
        &mut self,
        ticket: Ticket,
        id: CallId,
        input: &str,
        resume_on_failure: bool,
        now: i64,
    ) {
        let Some(c) = self.calls.get(&id) else {
            return self.reply(ticket, Err(PhoneError::NoSuchCall(id)));
        };
        if c.info.state != CallState::Answered {
            let e = PhoneError::InvalidInput {
                what: "call".into(),
                detail: format!("call {id} is not connected, so it cannot be transferred"),
            };
            return self.reply(ticket, Err(e));
        }
        let domain = self.accounts[c.account].domain.clone();
        let uri = match self
            .dial_string(input)
            .and_then(|d| target::dial_target(&d, &domain).map_err(sip_err))
        {
            Ok(u) => u,
            Err(e) => return self.reply(ticket, Err(e)),
        };
        self.start_transfer(ticket, id, uri, resume_on_failure, None, now);
    }

    /// Holds connected call `id` and refers its far end to `uri` once held (with `Replaces`
    /// naming call `replaces`: attended).
    pub(super) fn start_transfer(
        &mut self,
        ticket: Ticket,
        id: CallId,
        uri: SipUri,
        resume_on_failure: bool,
        replaces: Option<CallId>,
        now: i64,
    ) {
        let Some(sip_call_id) = self.calls.get(&id).map(|c| c.sip_call_id.clone()) else {
            return self.reply(ticket, Err(PhoneError::NoSuchCall(id)));
        };
        if self
            .transfers
            .start(&sip_call_id, id, &uri.to_string())
            .is_err()
        {
            let e = PhoneError::InvalidInput {
                what: "call".into(),
                detail: format!("call {id} is already being transferred"),
            };
            return self.reply(ticket, Err(e));
        }
        if let Some(c) = self.calls.get_mut(&id) {
            c.waiting = Some(Waiting::Refer(ticket));
        }
        self.blind.insert(
            id,
            BlindTransfer {
                target: uri,
                resume_on_failure,
                referred: false,
                last: None,
                replaces,
            },
        );
        // On hold first: the transferee hears music, not us, while its call to the target goes.
        if self.board.view(id).parked_since_ms.is_none() {
            match self.board.park(id, now) {
                Ok(actions) => self.apply(actions, now),
                Err(e) => tracing::debug!("call {id} not held before its transfer: {e}"),
            }
        }
        self.refer_when_held(id);
    }

    pub(super) fn is_blind_transfer(&self, id: CallId) -> bool {
        self.blind.contains_key(&id)
    }

    /// Sends the REFER once no hold re-INVITE of the call is in flight or waiting to be retried.
    pub(super) fn refer_when_held(&mut self, id: CallId) {
        if !self.board.reinvite_settled(id) {
            return; // `on_reinvite_done` calls again
        }
        let Some(acc) = self.calls.get(&id).map(|c| c.account) else {
            return;
        };
        let Some(b) = self.blind.get_mut(&id).filter(|b| !b.referred) else {
            return;
        };
        b.referred = true;
        let (target, replaces) = (b.target.clone(), b.replaces);
        let referred_by = self.accounts[acc].aor.bare();
        self.sip(SipOutput::Refer {
            id,
            target,
            referred_by,
            replaces,
        });
    }

    /// The far end took the REFER: it is trying.
    pub(super) fn blind_accepted(&mut self, id: CallId) {
        self.transfer_event(id, TransferProgress::Trying, None);
    }

    /// A NOTIFY's sipfrag status for a blind transfer: live progress (finals go through
    /// `transfer.rs`).
    pub(super) fn blind_notified(&mut self, id: CallId, status: u16) {
        if let Some(p) = progress_of(status) {
            self.transfer_event(id, p, None);
        }
    }

    fn transfer_event(&mut self, id: CallId, progress: TransferProgress, message: Option<String>) {
        let Some(b) = self.blind.get_mut(&id) else {
            return;
        };
        if b.last.as_ref() == Some(&progress) {
            return;
        }
        b.last = Some(progress.clone());
        let target = b.target.to_string();
        let message = message.unwrap_or_else(|| match &progress {
            TransferProgress::Trying => format!("transferring call {id} to {target}"),
            TransferProgress::Ringing => format!("{target} is ringing (transfer of call {id})"),
            TransferProgress::Connected => format!("call {id} transferred to {target}"),
            TransferProgress::Failed { .. } => format!("transfer of call {id} to {target} failed"),
        });
        self.emit(PhoneEvent::Transfer {
            call_id: id,
            target,
            progress,
            message,
        });
    }

    /// The user's sentence for a blind transfer that did not happen.
    pub(super) fn blind_failure(&self, call: CallId, why: &Failure) -> String {
        if self.is_handover_host(call) {
            return self.handover_failure(why);
        }
        let Some(b) = self.blind.get(&call) else {
            return format!("transfer of call {call} failed");
        };
        let back = if b.resume_on_failure {
            "the call is back on the line"
        } else {
            "the call is parked here"
        };
        let target = &b.target;
        match why {
            Failure::Refused { status, reason } => {
                format!("transfer of call {call} to {target} failed ({status} {reason}); {back}")
            }
            Failure::NotConfirmed => {
                format!("transfer of call {call} failed: the call is not confirmed; {back}")
            }
            Failure::Error(e) => format!("transfer of call {call} to {target} failed: {e}; {back}"),
            Failure::NoOutcome { secs } => {
                format!("transfer of call {call} to {target}: no outcome in {secs} s; {back}")
            }
        }
    }

    /// A final outcome of a blind transfer.
    pub(super) fn blind_progress(&mut self, progress: Progress, now: i64) {
        match progress {
            Progress::Pending => {}
            Progress::Succeeded { call, .. } if self.is_handover_host(call) => {
                self.handover_step_done(call, now)
            }
            Progress::Succeeded { call, target } => {
                self.transfer_event(call, TransferProgress::Connected, None);
                let consultation = self.blind.get(&call).and_then(|b| b.replaces);
                let caller = self
                    .calls
                    .get(&call)
                    .map(|c| c.info.remote_uri.clone())
                    .unwrap_or_default();
                // Our leg ends; `end_call` reads it as transferred.
                self.hangup_with(call, EndReason::Transferred { target }, now);
                self.attended_done(consultation, &caller, now);
            }
            Progress::Failed { call, why, .. } => {
                let message = self.blind_failure(call, &why);
                let (status, reason) = match &why {
                    Failure::Refused { status, reason } => (Some(*status), reason.clone()),
                    Failure::NotConfirmed => (None, "not confirmed".into()),
                    Failure::Error(e) => (None, e.clone()),
                    Failure::NoOutcome { secs } => (None, format!("no outcome in {secs} s")),
                };
                self.transfer_event(
                    call,
                    TransferProgress::Failed { status, reason },
                    Some(message.clone()),
                );
                if self.is_handover_host(call) {
                    return self.handover_failed(call, message, now);
                }
                self.emit(PhoneEvent::Warning { message });
                let Some(b) = self.blind.remove(&call) else {
                    return;
                };
                // Back to the user: parked (the hold stays), or resumed.
                if b.resume_on_failure && self.calls.contains_key(&call) {
                    match self.board.switch_to(call, now) {
                        Ok(actions) => self.apply(actions, now),
                        Err(e) => tracing::debug!(
                            "call {call} not resumed after its failed transfer: {e}"
                        ),
                    }
                }
            }
        }
    }

    /// How a call being blind-transferred ended (None: it is not).
    /// A transferee that hangs up after taking the REFER, before its final NOTIFY reached us
    /// (RFC 5589: it ends the old call once the new one is up), is transferred: front ends hear
    /// it connected, and an attended transfer's consultation call ends too once this one has.
    pub(super) fn blind_end_reason(
        &mut self,
        id: CallId,
        remote: &str,
        transferred_to: Option<String>,
        reason: EndReason,
    ) -> Option<EndReason> {
        if reason == EndReason::RemoteHangup && transferred_to.is_some() {
            self.transfer_event(id, TransferProgress::Connected, None);
            let b = self.blind.get(&id).filter(|b| b.referred);
            if let Some(other) = b.and_then(|b| b.replaces) {
                self.attended_after_end = Some((other, remote.to_string()));
            }
        }
        self.blind.remove(&id)?;
        Some(match (reason, transferred_to) {
            (EndReason::Transferred { target }, _) => EndReason::Transferred { target },
            (EndReason::RemoteHangup | EndReason::LocalHangup, Some(target)) => {
                EndReason::Transferred { target }
            }
            (other, _) => other,
        })
    }
}
