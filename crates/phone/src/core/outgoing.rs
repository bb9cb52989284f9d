//! An outgoing call: the number as dialled becomes a request URI (dialling plan), an RTP port
//! is bound, our offer goes out in an INVITE from the chosen account; 180/183 ring (ringback
//! tone, or the far end's early media), 2xx connects once audio runs, a failure ends the call
//! with its status.

use super::call::{AfterStart, Waiting};
use super::io::*;
use super::offer_answer;
use super::phone::{sip_err, PhoneCore};
use crate::api::*;
use crate::codecs;
use hookflash_sip::invite::{InviteOutcome, OutgoingInvite};
use hookflash_sip::sdp::{AudioDescription, Direction as SdpDirection};
use hookflash_sip::{dtls_srtp, sdes};
use hookflash_sip::{target, SipUri};

/// A dial waiting for its RTP port.
#[derive(Debug)]
pub struct Dialling {
    /// Who waits for the call id (None: the phone itself, for a transfer it was asked to make).
    ticket: Option<Ticket>,
    account: usize,
    callee: SipUri,
    headers: Vec<(String, String)>,
    opts: CallOptions,
}

impl PhoneCore {
    /// `account`: the account to call from, if the caller already knows (an orbit's);
    /// else `opts.from`, else the first.
    pub(super) fn dial(
        &mut self,
        ticket: Ticket,
        input: &str,
        opts: CallOptions,
        account: Option<usize>,
        now: i64,
    ) {
        if let Err(e) = self.prepare_dial(Some(ticket), input, opts, account, Vec::new(), now) {
            self.reply(ticket, Err(e));
        }
    }

    /// A call the phone makes by itself (the far end of a call referred us) from `account`,
    /// with `extra` headers (a `Replaces`); the new call's id, or None if the target cannot be
    /// called.
    pub(super) fn dial_internal(
        &mut self,
        target: &str,
        opts: CallOptions,
        account: usize,
        extra: Vec<(String, String)>,
        now: i64,
    ) -> Option<CallId> {
        match self.prepare_dial(None, target, opts, Some(account), extra, now) {
            Ok(id) => Some(id),
            Err(e) => {
                self.emit(PhoneEvent::Warning {
                    message: format!("cannot call {target}: {e}"),
                });
                None
            }
        }
    }

    fn prepare_dial(
        &mut self,
        ticket: Option<Ticket>,
        input: &str,
        opts: CallOptions,
        account: Option<usize>,
        extra: Vec<(String, String)>,
        _now: i64,
    ) -> Result<CallId, PhoneError> {
        let prepared = (|| {
            let account = match (account, &opts.from) {
                (Some(a), _) => a,
                (None, Some(aor)) => self.account_named(aor)?,
                (None, None) => 0,
            };
            let domain = self.accounts[account].domain.clone();
            let dial_string = self.dial_string(input)?;
            let callee = target::dial_target(&dial_string, &domain).map_err(sip_err)?;
            // The account's own caller IDs, else the dialling plan's.
            let headers = match &self.accounts[account].caller_ids {
                Some(ids) => crate::dialling::DiallingSettings {
                    caller_ids: ids.clone(),
                    ..self.dialling.clone()
                }
                .headers_for_call(opts.caller_id.as_deref(), &domain),
                None => self
                    .dialling
                    .headers_for_call(opts.caller_id.as_deref(), &domain),
            }
            .map_err(|e| PhoneError::Other(e.to_string()))?;
            Ok::<_, PhoneError>((account, callee, headers))
        })();
        let (account, callee, mut headers) = prepared?;
        headers.extend(extra);
        let id = self.new_id();
        let ip = self.accounts[account].local_ip;
        // Candidates from the servers only when the offer will carry ICE.
        let servers = self.accounts[account]
            .ice_servers
            .clone()
            .filter(|_| self.accounts[account].ice);
        self.dials.insert(
            id,
            Dialling {
                ticket,
                account,
                callee,
                headers,
                opts,
            },
        );
        self.media(MediaOutput::Bind { id, ip, servers });
        Ok(id)
    }

    /// What to put in the request URI for what the user typed: the dialling plan's E.164 number,
    /// extension or URI. Without a default country, numbers the plan cannot place are dialled as
    /// typed (the server's dial plan decides); with one, they are refused with the reason.
    pub(super) fn dial_string(&self, input: &str) -> Result<String, PhoneError> {
        match self.dialling.normalise(input) {
            Ok(d) => Ok(d.dial_string().to_string()),
            Err(_) if self.dialling.default_country.trim().is_empty() => {
                Ok(input.trim().to_string())
            }
            Err(e) => Err(PhoneError::InvalidInput {
                what: "number".into(),
                detail: e.to_string(),
            }),
        }
    }

    /// An RTP port for a dial or an answer.
    pub(super) fn on_bound(&mut self, id: CallId, result: Result<RtpSocket, String>, now: i64) {
        if let Some(d) = self.dials.remove(&id) {
            return match result {
                Ok(socket) => self.send_invite(id, d, socket, now),
                Err(e) => match d.ticket {
                    Some(t) => self.reply(t, Err(PhoneError::Other(e))),
                    None => self.referred_failed(id, &EndReason::Error { message: e }),
                },
            };
        }
        self.answer_bound(id, result, now);
    }

    /// The call exists from here: our offer goes out.
    fn send_invite(&mut self, id: CallId, d: Dialling, socket: RtpSocket, now: i64) {
        let sip_call_id = format!("{}@hookflash", self.random_token(24));
        let account = &self.accounts[d.account];
        // DTLS-SRTP is offered with rtcp-mux (one handshake instead of two); without a
        // certificate (none could be made) the account falls back to SDES, said in the log.
        let dtls = socket
            .keys
            .fingerprint
            .as_ref()
            .filter(|_| account.dtls)
            .map(dtls_srtp::offer);
        if account.dtls && dtls.is_none() {
            tracing::warn!("no DTLS certificate: offering SDES keys instead");
        }
        let (secure, crypto) = match dtls {
            Some(_) => (true, Vec::new()),
            None => sdes::offer(account.srtp, &socket.keys.sdes),
        };
        // rtcp-mux is offered with DTLS-SRTP (one handshake), not for ICE alone: libre (baresip
        // 1.x) reads an offered rtcp-mux as "RTCP on the RTP port" even when it answers without
        // it, sends its RTCP checks there, and fails ICE. Both components have candidates.
        let ice = socket.keys.ice.clone().filter(|_| account.ice);
        let rtcp_mux = dtls.is_some();
        let offer = AudioDescription {
            address: account.local_ip,
            port: socket.port,
            rtcp_port: None,
            formats: codecs::formats(&d.opts.codecs),
            direction: SdpDirection::SendRecv,
            ptime: Some(20),
            secure,
            crypto,
            dtls,
            rtcp_mux,
            ice,
        };
        let (caller, caller_display_name, destination, contact) = (
            account.aor.bare(),
            account.display_name.clone(),
            account.outbound.clone(),
            account.contact.clone(),
        );
        self.add_call(
            id,
            d.account,
            Direction::Outgoing,
            (d.callee.to_string(), None),
            sip_call_id.clone(),
            now,
            |c| {
                c.offer = Some(offer.clone());
                c.keys = Some(socket.keys.clone());
                c.opts = d.opts.clone();
                c.waiting = d.ticket.map(Waiting::Dial);
            },
        );
        let actions = self.board.dial(id, &d.callee.to_string(), now);
        self.apply(actions, now);
        let sdp = self.next_sdp(id, &offer);
        // Out-of-dialog requests go via the outbound proxy, or the registrar of a registering
        // account (as desk phones do); an account that does not register calls targets directly.
        let invite = OutgoingInvite {
            caller,
            caller_display_name,
            callee: d.callee,
            destination,
            contact,
            sdp,
            call_id: sip_call_id,
            headers: d.headers,
        };
        self.sip(SipOutput::Invite {
            id,
            account: d.account,
            invite: Box::new(invite),
        });
    }

    pub(super) fn on_invite_sent(&mut self, id: CallId, result: Result<(), String>, now: i64) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let ticket = match c.waiting {
            Some(Waiting::Dial(t)) => {
                c.waiting = None;
                Some(t)
            }
            _ => None,
        };
        let callee = c.info.remote_uri.clone();
        match result {
            Ok(()) => {
                self.publish(id);
                if let Some(t) = ticket {
                    self.reply(t, Ok(Done::Call(id)));
                }
            }
            Err(e) => {
                self.end_call(id, EndReason::Error { message: e.clone() }, now);
                if let Some(t) = ticket {
                    self.reply(
                        t,
                        Err(PhoneError::Other(format!("cannot call {callee}: {e}"))),
                    );
                }
            }
        }
    }

    pub(super) fn on_invite_outcome(&mut self, id: CallId, outcome: InviteOutcome, now: i64) {
        let Some(c) = self.calls.get(&id) else { return };
        let local = c.local_end;
        let reason = match outcome {
            InviteOutcome::Answered { sdp, capabilities } => {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.peer = capabilities;
                }
                return self.on_outgoing_answered(id, &sdp, now);
            }
            InviteOutcome::Refused { status: 487, .. } if local => EndReason::LocalHangup,
            InviteOutcome::Refused { status, reason } => EndReason::Failed { status, reason },
            InviteOutcome::AuthRefused {
                status,
                reason,
                why,
            } => {
                tracing::warn!(
                    "call {id} from {}: challenge not answered: {why}",
                    self.accounts[c.account].aor_text
                );
                EndReason::Failed {
                    status,
                    reason: format!("{reason} — {why}"),
                }
            }
            InviteOutcome::Failed(_) if local => EndReason::LocalHangup,
            InviteOutcome::Failed(message) => EndReason::Error { message },
        };
        self.end_call(id, reason, now);
    }

    fn on_outgoing_answered(&mut self, id: CallId, body: &str, now: i64) {
        let Some((offer, account)) = self
            .calls
            .get(&id)
            .and_then(|c| Some((c.offer.clone()?, c.account)))
        else {
            return;
        };
        match offer_answer::accept_answer(&offer, body, self.accounts[account].srtp) {
            Ok(n) => {
                if !n.direction.sends() {
                    // Answered on hold (the callee's phone took our call into a parked place,
                    // RFC 3891): held by remote from the start, like a re-INVITE saying so.
                    if let Ok((_, actions)) = self.board.remote_offer(id, n.direction) {
                        self.apply(actions, now);
                    }
                }
                if let Err(message) = self.start_media(id, n, AfterStart::Connected, now) {
                    self.hangup_with(id, EndReason::Error { message }, now);
                }
            }
            Err(e) => self.hangup_with(
                id,
                EndReason::Error {
                    message: format!("unusable SDP answer: {e}"),
                },
                now,
            ),
        }
    }

    /// 180/183 to our INVITE: the call rings; early media from the far end replaces our
    /// ringback tone.
    pub(super) fn on_early(&mut self, sip_call_id: &str, sdp: Option<String>, now: i64) {
        let Some(id) = self.by_sip_call_id(sip_call_id) else {
            return;
        };
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        if c.info.direction != Direction::Outgoing {
            return;
        }
        let changed = super::call::advance(&mut c.info, CallState::Ringing, now);
        if let Some(body) = sdp {
            let policy = self.accounts[c.account].srtp;
            if let Some(Ok(n)) = c
                .offer
                .clone()
                .map(|offer| offer_answer::accept_answer(&offer, &body, policy))
            {
                if let Err(message) = self.start_media(id, n, AfterStart::Nothing, now) {
                    self.emit(PhoneEvent::Warning { message });
                }
            }
        } else if changed {
            let out = c.opts.audio_out.clone();
            self.media(MediaOutput::Ringback { id, out });
        }
        if changed {
            self.publish(id);
            self.referred_ringing(id);
        }
    }
}
