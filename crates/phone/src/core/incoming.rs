//! An incoming call from the INVITE to the answer: the offer is checked (refused how, if
//! unusable), routing rules decide (reject, forward, ring, auto-answer, forward on no answer),
//! the call rings; then the user (or a rule's timer) answers, rejects or forwards it, or the
//! caller gives up.

use super::call::{AfterStart, Waiting};
use super::io::*;
use super::offer_answer;
use super::phone::{sip_err, PhoneCore};
use super::timers::Timer;
use crate::api::*;
use crate::codecs;
use crate::incoming_routing;
use crate::routing::{Action as RouteAction, Decision};
use hookflash_sip::sdp::{self, AudioDescription};
use hookflash_sip::{target, Request, SipUri};

/// A new INVITE being made a call (`SipOutput::Take`).
#[derive(Debug)]
pub struct Arriving {
    account: usize,
    remote: (String, Option<String>),
    sip_call_id: String,
    offer: AudioDescription,
    then: Then,
    /// What the caller's phone says it can do (its INVITE's `Allow`, `Supported`).
    peer: hookflash_sip::capabilities::Capabilities,
}

impl Arriving {
    pub fn then(&self) -> &Then {
        &self.then
    }
}

/// What becomes of an arriving call once it is our leg.
#[derive(Debug)]
pub enum Then {
    /// Ring (and what routing decided: auto-answer, forward on no answer).
    Ring(Decision),
    /// Answer at once in the place of this call (`replacing.rs`).
    Replace(CallId),
}

/// What the caller's phone says it can do.
fn peer_of(req: &Request) -> hookflash_sip::capabilities::Capabilities {
    hookflash_sip::capabilities::Capabilities::of(
        req.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
    )
}

impl PhoneCore {
    pub(super) fn on_new_invite(
        &mut self,
        account: usize,
        key: SipKey,
        req: Request,
        utc_offset_secs: i32,
        now: i64,
    ) {
        let Some(acc) = self.accounts.get(account) else {
            return;
        };
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
                self.emit(PhoneEvent::Warning {
                    message: refusal.message,
                });
                return;
            }
        };
        let remote_uri = req
            .from
            .as_ref()
            .map(|f| f.uri.clone())
            .unwrap_or_else(|| "unknown".into());
        let display = req.from.as_ref().and_then(|f| f.display_name.clone());
        let decision = self.route(account, &req, utc_offset_secs, now);
        let id = self.new_id();
        let peer = peer_of(&req);
        if let Some((status, _)) = decision.sip_response() {
            return self.refuse_by_rule(
                id,
                account,
                key,
                (remote_uri, display),
                req.call_id.clone(),
                offer,
                decision,
                status,
                now,
            );
        }
        self.arriving.insert(
            id,
            Arriving {
                account,
                remote: (remote_uri, display),
                sip_call_id: req.call_id.clone(),
                offer,
                then: Then::Ring(decision),
                peer,
            },
        );
        self.sip(SipOutput::Take { key, id, account });
    }

    /// A new INVITE that asks to take the place of `old` (checked by `replacing.rs`).
    pub(super) fn take_replacing(
        &mut self,
        account: usize,
        key: SipKey,
        req: &Request,
        offer: AudioDescription,
        old: CallId,
    ) -> CallId {
        let remote_uri = req
            .from
            .as_ref()
            .map(|f| f.uri.clone())
            .unwrap_or_else(|| "unknown".into());
        let display = req.from.as_ref().and_then(|f| f.display_name.clone());
        let id = self.new_id();
        let peer = peer_of(req);
        self.arriving.insert(
            id,
            Arriving {
                account,
                remote: (remote_uri, display),
                sip_call_id: req.call_id.clone(),
                offer,
                then: Then::Replace(old),
                peer,
            },
        );
        self.sip(SipOutput::Take { key, id, account });
        id
    }

    /// The INVITE is the call's leg now (and 180 went out): it rings.
    pub(super) fn on_taken(&mut self, id: CallId, result: Result<(), String>, now: i64) {
        let Some(a) = self.arriving.remove(&id) else {
            return;
        };
        if let Err(message) = result {
            return self.emit(PhoneEvent::Warning { message });
        }
        let peer = a.peer;
        let decision = match a.then {
            Then::Ring(decision) => decision,
            Then::Replace(old) => {
                self.replacing_taken(id, a.account, a.remote, a.sip_call_id, a.offer, old, now);
                if let Some(c) = self.calls.get_mut(&id) {
                    c.peer = peer;
                }
                return;
            }
        };
        let summary = decision.summary();
        self.add_call(
            id,
            a.account,
            Direction::Incoming,
            a.remote,
            a.sip_call_id,
            now,
            |c| {
                c.offer = Some(a.offer);
                c.info.routing = Some(summary);
                c.peer = peer;
            },
        );
        if let Some(c) = self.calls.get(&id) {
            let call = c.info.clone();
            self.emit(PhoneEvent::IncomingCall { call });
        }
        self.follow_decision(id, &decision, now);
    }

    /// Routes an incoming INVITE with the current rules and logs the decision.
    fn route(&self, account: usize, req: &Request, utc_offset_secs: i32, now: i64) -> Decision {
        let facts = incoming_routing::facts(req, &self.accounts[account].aor_text);
        // The calls as the switchboard places them (parked_count needs the parked time).
        let calls: Vec<CallInfo> = self.calls.values().map(|c| self.view_of(&c.info)).collect();
        let mut state = incoming_routing::phone_state(calls.iter(), now, utc_offset_secs);
        state.presence = self.availability.presence.as_str().to_string();
        state.dnd = self.availability.dnd;
        // The account's own rules, else the phone's.
        let router = self.accounts[account]
            .router
            .as_ref()
            .unwrap_or(&self.router);
        let decision = router.route(&facts, &state);
        for warning in &decision.warnings {
            tracing::warn!("routing: {warning}");
        }
        tracing::info!("routing: {}", decision.summary());
        decision
    }

    /// A rule rejected or forwarded the call before it rang: answer the INVITE (486/603, or 302
    /// with the target as Contact) and keep one history row with the decision.
    #[allow(clippy::too_many_arguments)]
    fn refuse_by_rule(
        &mut self,
        id: CallId,
        account: usize,
        key: SipKey,
        remote: (String, Option<String>),
        sip_call_id: String,
        offer: AudioDescription,
        decision: Decision,
        status: u16,
        now: i64,
    ) {
        let headers = match &decision.action {
            RouteAction::Forward { target } => {
                match target::dial_target(target, &self.accounts[account].domain) {
                    Ok(uri) => vec![("Contact".to_string(), format!("<{uri}>"))],
                    Err(e) => {
                        // Settings validation should have caught this; decline rather than send a
                        // 302 without a usable Contact.
                        self.emit(PhoneEvent::Warning {
                            message: format!("cannot forward to '{target}': {e}"),
                        });
                        return self.sip(SipOutput::RefuseInvite {
                            key,
                            status: 603,
                            headers: Vec::new(),
                        });
                    }
                }
            }
            _ => Vec::new(),
        };
        self.sip(SipOutput::RefuseInvite {
            key,
            status,
            headers,
        });
        let summary = decision.summary();
        self.add_call(
            id,
            account,
            Direction::Incoming,
            remote,
            sip_call_id,
            now,
            |c| {
                c.offer = Some(offer);
                c.info.routing = Some(summary);
            },
        );
        self.end_call(id, EndReason::Rejected { status }, now);
    }

    /// Auto-answer and forward-on-no-answer timers for a call that rings.
    fn follow_decision(&mut self, id: CallId, decision: &Decision, now: i64) {
        match &decision.action {
            RouteAction::AutoAnswer { delay_secs } => {
                self.timers.set(
                    now + 1000 * i64::from(delay_secs.unwrap_or(0)),
                    Timer::AutoAnswer(id),
                );
            }
            RouteAction::ForwardNoAnswer { target, after_secs } => {
                let Some(c) = self.calls.get(&id) else { return };
                let uri = match target::dial_target(target, &self.accounts[c.account].domain) {
                    Ok(uri) => uri,
                    Err(e) => {
                        return self.emit(PhoneEvent::Warning {
                            message: format!("cannot forward to '{target}': {e}"),
                        })
                    }
                };
                if let Some(c) = self.calls.get_mut(&id) {
                    c.forward_to = Some(uri);
                }
                self.timers.set(
                    now + 1000 * i64::from(*after_secs),
                    Timer::ForwardNoAnswer(id),
                );
            }
            _ => {}
        }
    }

    // ------------------------------------------------------------ answer, reject, forward

    /// Answers a ringing call (`ticket` None: an auto-answer rule): an RTP port first.
    pub(super) fn answer(
        &mut self,
        ticket: Option<Ticket>,
        id: CallId,
        opts: CallOptions,
        now: i64,
    ) {
        let _ = now;
        let fail = |core: &mut PhoneCore, e: PhoneError| match ticket {
            Some(t) => core.reply(t, Err(e)),
            None => core.emit(PhoneEvent::Warning {
                message: format!("auto-answer of call {id} failed: {e}"),
            }),
        };
        let Some(c) = self.calls.get_mut(&id) else {
            return fail(self, PhoneError::NoSuchCall(id));
        };
        if !c.rings_here() || c.waiting.is_some() {
            return fail(
                self,
                PhoneError::Other(format!("call {id} is not ringing here")),
            );
        }
        c.opts = opts;
        c.waiting = Some(Waiting::Answer(ticket));
        let account = &self.accounts[c.account];
        // Candidates from the servers only when the offer has ICE to use them in.
        let servers = account
            .ice_servers
            .clone()
            .filter(|_| c.offer.as_ref().is_some_and(|o| o.ice.is_some()));
        let ip = account.local_ip;
        self.media(MediaOutput::Bind { id, ip, servers });
    }

    /// The answer's RTP port: our SDP answer, the switchboard makes room, 200 OK, audio.
    pub(super) fn answer_bound(&mut self, id: CallId, result: Result<RtpSocket, String>, now: i64) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(Waiting::Answer(ticket)) = c.waiting else {
            return;
        };
        let fail = |core: &mut PhoneCore, e: PhoneError| match ticket {
            Some(t) => core.reply(t, Err(e)),
            None => core.emit(PhoneEvent::Warning {
                message: format!("auto-answer of call {id} failed: {e}"),
            }),
        };
        let socket = match result {
            Ok(s) => s,
            Err(e) => {
                c.waiting = None;
                return fail(self, PhoneError::Other(e));
            }
        };
        c.keys = Some(socket.keys.clone());
        let (local_ip, policy) = (
            self.accounts[c.account].local_ip,
            self.accounts[c.account].srtp,
        );
        let Some(offer) = c.offer.clone() else { return };
        let answered = sdp::answer(
            &offer,
            &codecs::formats(&c.opts.codecs),
            local_ip,
            socket.port,
            policy,
            &socket.keys,
        );
        let (answer, negotiated) = match answered {
            Ok(x) => x,
            Err(e) => {
                c.waiting = None;
                self.sip(SipOutput::Reject { id, status: 488 });
                self.end_call(id, EndReason::Rejected { status: 488 }, now);
                return fail(self, PhoneError::Other(format!("cannot answer: {e}")));
            }
        };
        let replaces = c.replaces;
        // Answering while busy parks the active call first (and takes the audio from it); a
        // call taking another's place gets that place, parked or active.
        let placed = match replaces {
            Some(old) => self.board.replace(id, old, now),
            None => self.board.answer(id, now).map(|actions| (false, actions)),
        };
        let mirrored = negotiated.direction;
        let (answer, negotiated) = match placed {
            // In a parked call's place: answered on hold.
            Ok((true, _)) => offer_answer::held(
                answer,
                negotiated,
                super::switchboard::answer_direction(mirrored, true),
            ),
            _ => (answer, negotiated),
        };
        match placed.map(|(_, actions)| actions) {
            Ok(actions) => {
                if let Some(old) = replaces {
                    self.replaced(old, id, now);
                }
                self.apply(actions, now)
            }
            Err(e) => {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.waiting = None;
                }
                self.media(MediaOutput::Close { id });
                return fail(self, e);
            }
        }
        if !mirrored.sends() {
            // The caller starts the call on hold.
            if let Ok((_, actions)) = self.board.remote_offer(id, mirrored) {
                self.apply(actions, now);
            }
        }
        let sdp = self.next_sdp(id, &answer);
        self.sip(SipOutput::Accept { id, sdp });
        if let Err(message) = self.start_media(id, negotiated, AfterStart::Answered, now) {
            if let Some(c) = self.calls.get_mut(&id) {
                c.waiting = None;
            }
            self.hangup_with(
                id,
                EndReason::Error {
                    message: message.clone(),
                },
                now,
            );
            fail(self, PhoneError::Other(message));
        }
    }

    pub(super) fn reject(&mut self, id: CallId, status: u16, now: i64) -> Result<(), PhoneError> {
        let Some(c) = self.calls.get_mut(&id) else {
            return Err(PhoneError::NoSuchCall(id));
        };
        if !c.rings_here() {
            return Err(PhoneError::Other(format!("call {id} is not ringing here")));
        }
        if !matches!(status, 486 | 603 | 480) {
            return Err(PhoneError::InvalidInput {
                what: "reject status".into(),
                detail: format!("{status} (use 486 busy, 603 decline or 480 unavailable)"),
            });
        }
        // Only now: a refused reject leaves the call's end to whoever ends it.
        c.local_end = true;
        self.sip(SipOutput::Reject { id, status });
        self.end_call(id, EndReason::Rejected { status }, now);
        Ok(())
    }

    /// CANCEL before an answer, BYE after; declines (603) a call still ringing here.
    pub(super) fn hangup(&mut self, id: CallId, now: i64) -> Result<(), PhoneError> {
        let Some(c) = self.calls.get(&id) else {
            return Err(PhoneError::NoSuchCall(id));
        };
        if c.rings_here() {
            return self.reject(id, 603, now);
        }
        self.hangup_with(id, EndReason::LocalHangup, now);
        Ok(())
    }

    /// Forwards a ringing incoming call to `target` (number, extension or SIP URI) with 302.
    pub(super) fn forward(&mut self, ticket: Ticket, id: CallId, target: &str, _now: i64) {
        let Some(c) = self.calls.get(&id) else {
            return self.reply(ticket, Err(PhoneError::NoSuchCall(id)));
        };
        let uri =
            match target::dial_target(target, &self.accounts[c.account].domain).map_err(sip_err) {
                Ok(u) => u,
                Err(e) => return self.reply(ticket, Err(e)),
            };
        if !c.rings_here() {
            return self.reply(
                ticket,
                Err(PhoneError::Other(format!(
                    "call {id} is not ringing here, so it cannot be forwarded"
                ))),
            );
        }
        self.redirect_ringing(Some(ticket), id, uri);
    }

    /// Sends a ringing incoming call elsewhere with 302 (voicemail, a colleague).
    pub(super) fn redirect_ringing(&mut self, ticket: Option<Ticket>, id: CallId, target: SipUri) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        if !c.rings_here() || c.waiting.is_some() {
            if let Some(t) = ticket {
                self.reply(
                    t,
                    Err(PhoneError::Other(format!(
                        "call {id} stopped ringing before it could be forwarded"
                    ))),
                );
            }
            return;
        }
        c.waiting = Some(Waiting::Forward(ticket));
        self.sip(SipOutput::Redirect { id, target });
    }

    pub(super) fn on_redirected(&mut self, id: CallId, sent: bool, now: i64) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(Waiting::Forward(ticket)) = c.waiting else {
            return;
        };
        c.waiting = None;
        if sent {
            // The INVITE transaction answers 302 and drops the dialog.
            self.end_call(id, EndReason::Rejected { status: 302 }, now);
        }
        if let Some(t) = ticket {
            let r = if sent {
                Ok(Done::Ok)
            } else {
                Err(PhoneError::Other(format!(
                    "call {id} stopped ringing before it could be forwarded"
                )))
            };
            self.reply(t, r);
        }
    }
}
