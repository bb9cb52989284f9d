//! Attended (consult) transfer, as the transferor (RFC 5589 7): with a caller on call `id`, the
//! user consults a colleague first — `consult` parks `id` and dials them — and then completes:
//! the caller is referred to the colleague with a `Replaces` naming our call with the colleague
//! (`other`), so the colleague's phone swaps that call for the caller's without ringing again,
//! and both our legs end "transferred". Any two connected calls can be joined so (a parked
//! caller and a colleague who called in).
//!
//! It runs on the blind transfer's machinery (`blind_transfer.rs`): `id` is held first and the
//! REFER goes out once the hold is answered, progress comes from the NOTIFYs, and a failure
//! gives `id` back (parked, or resumed if asked) with the reason while `other` stays as it is.
//! What is added here: the pair. The colleague's phone ends `other` with its BYE when it takes
//! the caller's INVITE; if it has not by the time the caller is connected, we hang it up.

use super::io::*;
use super::phone::PhoneCore;
use crate::api::*;
use hookflash_sip::target;

impl PhoneCore {
    /// Parks call `id` (if it is the active one) and calls `input` from its account.
    pub(super) fn consult(
        &mut self,
        ticket: Ticket,
        id: CallId,
        input: &str,
        opts: CallOptions,
        now: i64,
    ) {
        let Some(c) = self.calls.get(&id) else {
            return self.reply(ticket, Err(PhoneError::NoSuchCall(id)));
        };
        if c.info.state != CallState::Answered {
            let e = PhoneError::InvalidInput {
                what: "call".into(),
                detail: format!("call {id} is not connected, so there is nothing to consult about"),
            };
            return self.reply(ticket, Err(e));
        }
        let account = c.account;
        // Dialling parks the active call first (whichever it is) and the new call gets the speaker.
        self.dial(ticket, input, opts, Some(account), now);
    }

    /// Connects the far ends of `id` and `other` and leaves both (see the module's comment).
    pub(super) fn complete_transfer(
        &mut self,
        ticket: Ticket,
        id: CallId,
        other: CallId,
        resume_on_failure: bool,
        now: i64,
    ) {
        let invalid = |detail: String| PhoneError::InvalidInput {
            what: "call".into(),
            detail,
        };
        if id == other {
            return self.reply(
                ticket,
                Err(invalid(format!(
                    "call {id} cannot be transferred to itself"
                ))),
            );
        }
        for call in [id, other] {
            let Some(c) = self.calls.get(&call) else {
                return self.reply(ticket, Err(PhoneError::NoSuchCall(call)));
            };
            if c.info.state != CallState::Answered {
                return self.reply(
                    ticket,
                    Err(invalid(format!(
                        "call {call} is not connected, so the transfer cannot be completed"
                    ))),
                );
            }
        }
        if self.blind.values().any(|b| b.replaces() == Some(other)) || self.is_blind_transfer(other)
        {
            return self.reply(
                ticket,
                Err(invalid(format!(
                    "call {other} is already part of a transfer"
                ))),
            );
        }
        let remote = self.calls[&other].info.remote_uri.clone();
        let uri = match target::parse_uri("transfer target", &remote) {
            Ok(u) => u,
            Err(e) => {
                return self.reply(
                    ticket,
                    Err(invalid(format!(
                        "call {other}'s address cannot be transferred to: {e}"
                    ))),
                )
            }
        };
        tracing::info!("attended transfer: call {id} to {uri}, replacing call {other}");
        self.start_transfer(ticket, id, uri, resume_on_failure, Some(other), now);
    }

    /// The caller of an attended transfer is connected to the colleague: the consultation call
    /// ends too, if the colleague's phone has not ended it already.
    pub(super) fn attended_done(&mut self, other: Option<CallId>, caller: &str, now: i64) {
        let Some(other) = other.filter(|o| self.calls.contains_key(o)) else {
            return;
        };
        self.hangup_with(
            other,
            EndReason::Transferred {
                target: caller.to_string(),
            },
            now,
        );
    }

    /// How the consultation call of an attended transfer under way ended: its far end's BYE
    /// (its phone took the caller's INVITE in its place) is the transfer (None: not one).
    pub(super) fn consultation_end_reason(
        &self,
        id: CallId,
        reason: &EndReason,
    ) -> Option<EndReason> {
        if *reason != EndReason::RemoteHangup {
            return None;
        }
        let (caller, _) = self
            .blind
            .iter()
            .find(|(_, b)| b.replaces() == Some(id) && b.was_referred())?;
        let remote = self.calls.get(caller)?.info.remote_uri.clone();
        Some(EndReason::Transferred { target: remote })
    }
}
