//! Being transferred (RFC 3515, as the transferee): the far end of a connected call sends a REFER
//! in that call's dialog. We accept it (202), call the target from the same account, and report
//! that call's progress back with NOTIFYs (100 at once, 180 when it rings, its final status);
//! when it connects, the old call ends "transferred to <target>" — by the transferor's BYE (RFC
//! 5589), or ours after [`OLD_CALL_LEFT_MS`], a moment in which the transferor may refer us
//! again: the calls one old call referred us to are joined in a conference here (a conference
//! host handing us its parties, `conference_handover.rs`). If the new call fails, the old
//! one stays as it is and the transferor is told the status. A REFER with no usable `Refer-To`
//! is refused (400), one outside a connected call too (403). An attended transfer's Refer-To
//! carries a `Replaces` (RFC 3891): our INVITE to the target carries it, so the target's phone
//! puts our call in the place of its consultation call with the transferor instead of ringing.
//!
//! Each account says what a REFER does (`transfer_requests`): `accept` as above; `refuse`: 603;
//! `ask`: 202 and 100 Trying at once (the transferor waits on our NOTIFYs, not on a long
//! REFER transaction), then the user accepts — we go on as above — or declines, or lets
//! [`ASK_SECS`] pass: the transferor hears 603 Declined and the call stays as it is.

use super::io::*;
use super::phone::PhoneCore;
use super::timers::Timer;
use crate::api::*;
use hookflash_sip::replaces::split_refer_to;
use hookflash_sip::{target, Request};

/// A call we make because the far end of `old` referred us.
#[derive(Debug)]
pub struct Referred {
    old: CallId,
    target: String,
    /// The transferor was told the new call rings.
    ringing_told: bool,
}

/// How long a transfer request waits for the user's answer.
pub const ASK_SECS: u32 = 30;

/// How long the old call of a transfer that went through is left to the transferor — which
/// ends it (RFC 5589) or refers us again (handing us its conference) — before we end it.
pub const OLD_CALL_LEFT_MS: i64 = 3_000;

/// An old call whose transfers went through, waiting for the transferor's BYE or next REFER.
#[derive(Debug, Default)]
pub struct TransferredAway {
    /// The targets reached so far.
    targets: Vec<String>,
    /// The calls made for them.
    calls: Vec<CallId>,
}

/// A transfer request waiting for the user (`transfer_requests = "ask"`).
#[derive(Debug)]
pub struct Asked {
    who: String,
    target: String,
    extra: Vec<(String, String)>,
    account: usize,
    opts: CallOptions,
    /// When it is declined by itself (0: not asked, accepted at once).
    expires_at_ms: i64,
}

impl Asked {
    /// What front ends show of it (`CallInfo::transfer_request`).
    pub fn view(&self) -> WaitingTransferRequest {
        WaitingTransferRequest {
            target: self.target.clone(),
            who: self.who.clone(),
            expires_at_ms: self.expires_at_ms,
            expires_in_secs: ASK_SECS,
        }
    }
}

/// The URI inside a `Refer-To` value (`<sip:bob@host>`, `"Bob" <sip:bob@host?Replaces=...>`).
fn refer_to_uri(value: &str) -> &str {
    let v = value.trim();
    match (v.find('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => &v[a + 1..b],
        _ => v.split(';').next().unwrap_or(v).trim(),
    }
}

impl PhoneCore {
    /// The far end's REFER in call `sip_call_id`.
    pub(super) fn on_refer(&mut self, sip_call_id: &str, req: &Request, key: SipKey, now: i64) {
        let refuse = |core: &mut PhoneCore, status: u16, message: String| {
            core.sip(SipOutput::Respond {
                key,
                status,
                sdp: None,
            });
            core.emit(PhoneEvent::Warning { message });
        };
        let Some(old) = self.by_sip_call_id(sip_call_id) else {
            return self.sip(SipOutput::Respond {
                key,
                status: 481,
                sdp: None,
            });
        };
        let Some(c) = self.calls.get(&old) else {
            return;
        };
        let who = c
            .info
            .remote_display_name
            .clone()
            .unwrap_or_else(|| c.info.remote_uri.clone());
        if c.info.state != CallState::Answered {
            return refuse(
                self,
                403,
                format!("{who} asked to transfer call {old}, which is not connected: refused"),
            );
        }
        let Some(value) = req.header("Refer-To") else {
            return refuse(self, 400, format!("{who} asked to transfer call {old} without saying where (no Refer-To): refused"));
        };
        let (uri_text, replaces) = match split_refer_to(refer_to_uri(value)) {
            Ok(x) => x,
            Err(e) => {
                return refuse(
                    self,
                    400,
                    format!("{who} asked to transfer call {old}: {e}; refused"),
                )
            }
        };
        let uri = match target::parse_uri("transfer target", &uri_text) {
            Ok(u) => u,
            Err(e) => {
                return refuse(
                    self,
                    400,
                    format!("{who} asked to transfer call {old} to an unusable address: {e}"),
                )
            }
        };
        let (account, opts) = (
            c.account,
            CallOptions {
                from: None,
                caller_id: None,
                ..c.opts.clone()
            },
        );
        let target = uri.to_string();
        let extra: Vec<(String, String)> = replaces
            .iter()
            .map(|r| ("Replaces".to_string(), r.to_string()))
            .collect();
        match self.accounts[account].transfer_requests {
            TransferRequests::Refuse => {
                let message = format!("{who} asked to transfer call {old} to {target}: refused (this account refuses transfer requests)");
                refuse(self, 603, message)
            }
            TransferRequests::Ask => {
                self.sip(SipOutput::Respond {
                    key,
                    status: 202,
                    sdp: None,
                });
                self.sip(SipOutput::NotifyRefer {
                    id: old,
                    status: 100,
                    reason: "Trying".into(),
                    last: false,
                });
                self.timers.set(
                    now + i64::from(ASK_SECS) * 1000,
                    Timer::TransferRequest(old),
                );
                let message = format!("{who} asks to transfer call {old} to {target}: accept or decline within {ASK_SECS} s");
                self.emit(PhoneEvent::TransferRequest {
                    call_id: old,
                    target: target.clone(),
                    who: who.clone(),
                    expires_in_secs: ASK_SECS,
                    message,
                });
                let expires_at_ms = now + i64::from(ASK_SECS) * 1000;
                self.asked.insert(
                    old,
                    Asked {
                        who,
                        target,
                        extra,
                        account,
                        opts,
                        expires_at_ms,
                    },
                );
                self.publish(old);
            }
            TransferRequests::Accept => {
                self.sip(SipOutput::Respond {
                    key,
                    status: 202,
                    sdp: None,
                });
                self.sip(SipOutput::NotifyRefer {
                    id: old,
                    status: 100,
                    reason: "Trying".into(),
                    last: false,
                });
                self.follow_refer(
                    old,
                    Asked {
                        who,
                        target,
                        extra,
                        account,
                        opts,
                        expires_at_ms: 0,
                    },
                    now,
                );
            }
        }
    }

    /// Calls the target of the far end of `old`'s REFER, telling the transferor how it goes.
    fn follow_refer(&mut self, old: CallId, a: Asked, now: i64) {
        let Asked {
            who,
            target,
            extra,
            account,
            opts,
            ..
        } = a;
        match self.dial_internal(&target, opts, account, extra, now) {
            Some(new) => {
                self.referred.insert(
                    new,
                    Referred {
                        old,
                        target: target.clone(),
                        ringing_told: false,
                    },
                );
                let message =
                    format!("{who} transfers call {old} here: calling {target} (call {new})");
                self.emit(PhoneEvent::Transfer {
                    call_id: old,
                    target,
                    progress: TransferProgress::Trying,
                    message,
                });
            }
            None => {
                self.sip(SipOutput::NotifyRefer {
                    id: old,
                    status: 500,
                    reason: "Cannot Call".into(),
                    last: true,
                });
            }
        }
    }

    /// The user's answer to the transfer request of call `id`.
    pub(super) fn answer_transfer_request(
        &mut self,
        ticket: Ticket,
        id: CallId,
        accept: bool,
        now: i64,
    ) {
        let Some(a) = self.asked.remove(&id) else {
            let e = PhoneError::InvalidInput {
                what: "call".into(),
                detail: format!("call {id} has no transfer request waiting for an answer"),
            };
            return self.reply(ticket, Err(e));
        };
        self.timers.cancel(Timer::TransferRequest(id));
        self.publish(id);
        if accept {
            self.follow_refer(id, a, now);
        } else {
            self.decline_transfer(id, a, format!("you declined the transfer of call {id}"));
        }
        self.reply(ticket, Ok(Done::Ok));
    }

    /// Nobody answered the transfer request of call `id` in time.
    pub(super) fn transfer_request_expired(&mut self, id: CallId, _now: i64) {
        if let Some(a) = self.asked.remove(&id) {
            self.publish(id);
            self.decline_transfer(
                id,
                a,
                format!("the transfer of call {id} was not answered in {ASK_SECS} s"),
            );
        }
    }

    fn decline_transfer(&mut self, id: CallId, a: Asked, why: String) {
        self.sip(SipOutput::NotifyRefer {
            id,
            status: 603,
            reason: "Declined".into(),
            last: true,
        });
        let message = format!("{why}: {} was told no, and the call stays here", a.who);
        let progress = TransferProgress::Failed {
            status: Some(603),
            reason: "Declined".into(),
        };
        self.emit(PhoneEvent::Transfer {
            call_id: id,
            target: a.target,
            progress,
            message,
        });
    }

    /// The new call of a transfer rings: the transferor hears so.
    pub(super) fn referred_ringing(&mut self, new: CallId) {
        let Some(r) = self.referred.get_mut(&new).filter(|r| !r.ringing_told) else {
            return;
        };
        r.ringing_told = true;
        let old = r.old;
        self.sip(SipOutput::NotifyRefer {
            id: old,
            status: 180,
            reason: "Ringing".into(),
            last: false,
        });
    }

    /// The new call of a transfer is connected: the transferor hears 200, and the old call ends
    /// by its BYE or after [`OLD_CALL_LEFT_MS`]. A second target reached from the same old call
    /// means the transferor hands us its conference: the calls it referred us to are merged
    /// into one conference here.
    pub(super) fn referred_connected(&mut self, new: CallId, now: i64) {
        let Some(r) = self.referred.remove(&new) else {
            return;
        };
        self.sip(SipOutput::NotifyRefer {
            id: r.old,
            status: 200,
            reason: "OK".into(),
            last: true,
        });
        let message = format!(
            "call {} transferred to {} (now call {new})",
            r.old, r.target
        );
        self.emit(PhoneEvent::Transfer {
            call_id: r.old,
            target: r.target.clone(),
            progress: TransferProgress::Connected,
            message,
        });
        let siblings: Vec<CallId> = self
            .transferred_away
            .get(&r.old)
            .map_or_else(Vec::new, |a| {
                a.calls
                    .iter()
                    .copied()
                    .filter(|c| {
                        self.calls
                            .get(c)
                            .is_some_and(|c| c.info.state == CallState::Answered)
                    })
                    .collect()
            });
        let away = self.transferred_away.entry(r.old).or_default();
        away.calls.push(new);
        away.targets.push(r.target);
        if !siblings.is_empty() {
            tracing::info!("call {} referred us to another party: call {new} joins calls {siblings:?} in a conference", r.old);
            match self.board.merge(&siblings, now) {
                Ok(actions) => self.apply(actions, now),
                Err(e) => self.emit(PhoneEvent::Warning {
                    message: format!(
                        "the calls handed over by call {} could not be joined: {e}",
                        r.old
                    ),
                }),
            }
        }
        self.timers
            .set(now + OLD_CALL_LEFT_MS, Timer::TransferredAway(r.old));
    }

    /// `Timer::TransferredAway`: the transferor has not ended the old call; we do, unless
    /// another of its REFERs is still under way.
    pub(super) fn transferred_away_due(&mut self, old: CallId, now: i64) {
        if self.referred.values().any(|r| r.old == old) || self.asked.contains_key(&old) {
            return self
                .timers
                .set(now + OLD_CALL_LEFT_MS, Timer::TransferredAway(old));
        }
        if let Some(target) = self
            .transferred_away
            .get(&old)
            .map(|a| a.targets.join(", "))
        {
            self.hangup_with(old, EndReason::Transferred { target }, now);
        }
    }

    /// How an old call whose transfer went through ended: transferred, whoever hung up.
    pub(super) fn transferred_away_end(&mut self, id: CallId, reason: EndReason) -> EndReason {
        match (self.transferred_away.remove(&id), reason) {
            (Some(a), EndReason::RemoteHangup | EndReason::LocalHangup) => EndReason::Transferred {
                target: a.targets.join(", "),
            },
            (_, reason) => reason,
        }
    }

    /// The new call of a transfer ended before it connected: the transferor hears why, the
    /// old call stays.
    pub(super) fn referred_failed(&mut self, new: CallId, reason: &EndReason) {
        let Some(r) = self.referred.remove(&new) else {
            return;
        };
        let (status, text) = match reason {
            EndReason::Failed { status, reason } => (*status, reason.clone()),
            EndReason::Rejected { status } => (*status, "Rejected".to_string()),
            EndReason::LocalHangup | EndReason::Cancelled => {
                (487, "Request Terminated".to_string())
            }
            _ => (500, "Call Failed".to_string()),
        };
        self.sip(SipOutput::NotifyRefer {
            id: r.old,
            status,
            reason: text.clone(),
            last: true,
        });
        let message = format!(
            "transfer of call {} to {} failed ({status} {text}); the call is still here",
            r.old, r.target
        );
        let progress = TransferProgress::Failed {
            status: Some(status),
            reason: text,
        };
        self.emit(PhoneEvent::Transfer {
            call_id: r.old,
            target: r.target,
            progress,
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::refer_to_uri;

    #[test]
    fn refer_to_values_give_their_uri() {
        assert_eq!(
            refer_to_uri("<sip:bob@pbx.example.com>"),
            "sip:bob@pbx.example.com"
        );
        assert_eq!(
            refer_to_uri("\"Bob\" <sip:bob@pbx.example.com;transport=tcp>;x=1"),
            "sip:bob@pbx.example.com;transport=tcp"
        );
        assert_eq!(
            refer_to_uri(" sip:2001@pbx.example.com "),
            "sip:2001@pbx.example.com"
        );
        assert_eq!(
            refer_to_uri("<sip:bob@h?Replaces=abc%40h%3Bto-tag%3D1>"),
            "sip:bob@h?Replaces=abc%40h%3Bto-tag%3D1"
        );
    }
}
