//! A call that takes another's place (RFC 3891): an INVITE whose `Replaces` names one of our
//! calls — the far end of an attended transfer connecting its other party to us, or a phone
//! picking up a call of ours — is answered at once, without ringing, and the call it names is
//! hung up ("replaced by a call from ..."). The new call gets the old one's place: active if
//! that was active (or nothing else is), else answered on hold and left parked.
//!
//! Refused, and the old call left as it is: a call still ringing here (481, RFC 3891 3: only
//! dialogs we started or answered may be replaced), a connected call when the INVITE says
//! `early-only` (486), a call another INVITE is already replacing (486), an unusable offer
//! (as any INVITE). A `Replaces` naming no dialog of ours never reaches the core: the SIP layer
//! answers it 481.

use super::incoming::Then;
use super::io::*;
use super::offer_answer;
use super::phone::PhoneCore;
use crate::api::*;
use hookflash_sip::replaces::Replaces;
use hookflash_sip::sdp::AudioDescription;
use hookflash_sip::Request;

impl PhoneCore {
    /// A new INVITE with `Replaces` naming one of our calls' dialogs.
    pub(super) fn on_replacing_invite(
        &mut self,
        account: usize,
        key: SipKey,
        req: Request,
        replaces: Replaces,
        now: i64,
    ) {
        let _ = now;
        let caller = req
            .from
            .as_ref()
            .map(|f| f.display_name.clone().unwrap_or_else(|| f.uri.clone()))
            .unwrap_or_else(|| "unknown".into());
        let refuse = |core: &mut PhoneCore, status: u16, message: String| {
            core.sip(SipOutput::RefuseInvite {
                key,
                status,
                headers: Vec::new(),
            });
            core.emit(PhoneEvent::Warning { message });
        };
        let Some(old) = self.by_sip_call_id(&replaces.call_id) else {
            return refuse(
                self,
                481,
                format!("{caller} asked to take the place of a call that is not here: refused"),
            );
        };
        let c = &self.calls[&old];
        let who = c
            .info
            .remote_display_name
            .clone()
            .unwrap_or_else(|| c.info.remote_uri.clone());
        if c.rings_here() {
            return refuse(self, 481, format!("{caller} asked to take the place of the call from {who}, which is still ringing here: refused"));
        }
        if replaces.early_only && c.info.state == CallState::Answered {
            let message = format!("{caller} asked to take the place of the call with {who} only before it was answered: refused (it is answered)");
            return refuse(self, 486, message);
        }
        let taken = self.calls.values().any(|x| x.replaces == Some(old))
            || self
                .arriving
                .values()
                .any(|a| matches!(a.then(), Then::Replace(o) if *o == old));
        if taken {
            return refuse(self, 486, format!("{caller} asked to take the place of the call with {who}, which another call is already taking: refused"));
        }
        let acc = &self.accounts[account];
        let offer = match offer_answer::incoming_offer(&req.body_text(), acc.local_ip, acc.srtp) {
            Ok(offer) => offer,
            Err(refusal) => {
                let headers = refusal
                    .warning
                    .map(|w| ("Warning".to_string(), w))
                    .into_iter()
                    .collect();
                self.sip(SipOutput::RefuseInvite {
                    key,
                    status: refusal.status,
                    headers,
                });
                return self.emit(PhoneEvent::Warning {
                    message: refusal.message,
                });
            }
        };
        tracing::info!("{caller} takes the place of call {old} (with {who})");
        self.take_replacing(account, key, &req, offer, old);
    }

    /// The replacing INVITE is our leg now: answer it at once with the old call's devices.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn replacing_taken(
        &mut self,
        id: CallId,
        account: usize,
        remote: (String, Option<String>),
        sip_call_id: String,
        offer: AudioDescription,
        old: CallId,
        now: i64,
    ) {
        let opts = self.calls.get(&old).map(|c| CallOptions {
            from: None,
            caller_id: None,
            ..c.opts.clone()
        });
        self.add_call(
            id,
            account,
            Direction::Incoming,
            remote,
            sip_call_id,
            now,
            |c| {
                c.offer = Some(offer);
                c.replaces = Some(old);
            },
        );
        match opts {
            Some(opts) => self.answer(None, id, opts, now),
            None => {
                // The old call ended while the INVITE was being taken (RFC 3891 3: 603).
                let _ = self.reject(id, 603, now);
                self.emit(PhoneEvent::Warning {
                    message: format!(
                        "call {old} ended before call {id} could take its place: declined"
                    ),
                });
            }
        }
    }

    /// The replacing call `new` is being answered: the old call is hung up.
    pub(super) fn replaced(&mut self, old: CallId, new: CallId, now: i64) {
        let Some(c) = self.calls.get(&new) else {
            return;
        };
        let by = c
            .info
            .remote_display_name
            .clone()
            .unwrap_or_else(|| c.info.remote_uri.clone());
        self.hangup_with(old, EndReason::Replaced { by }, now);
    }
}
