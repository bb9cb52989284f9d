//! `PhoneCore`: the whole phone as one value without I/O, in the manner of str0m's `Rtc` and
//! quinn-proto. `handle(input, now)` takes a command, what SIP or media reported, or a time-out;
//! `poll()` returns what to do (SIP to send, media to open/route/close, events, history writes,
//! replies); `next_timeout()` says when to call `handle(Input::Timeout, now)`. The driver
//! (`driver/`) performs the outputs and feeds the results back. This file holds the call table
//! and what every flow shares (ending a call, the history row, the switchboard's actions,
//! housekeeping, settings, registration bookkeeping); the flows are `outgoing.rs`,
//! `incoming.rs`, `in_call.rs` and `orbits.rs`.

use super::account::Account;
use super::call::{self, Call, MediaState, Outcome, Waiting};
use super::io::*;
use super::registration;
use super::switchboard::{Action, Switchboard};
use super::timers::{Timer, Timers};
use super::transfer::Transfers;
use crate::api::*;
use crate::dialling::DiallingSettings;
use crate::incoming_routing;
use crate::routing::{Router, RoutingSettings};
use hookflash_sip::sdp::{self, AudioDescription, SessionVersion};
use hookflash_sip::SipError;
use hookflash_store::{CallDirection, CallOutcome, NewCallRecord};
use std::collections::{BTreeMap, VecDeque};

/// How often live quality (`PhoneEvent::CallQuality`) is reported for connected calls.
pub const QUALITY_EVERY_MS: i64 = 2_000;
/// How often calls in progress tell the history they are still going (a row silent for
/// `hookflash_store::STALE_AFTER_MS` counts as interrupted).
pub const HISTORY_ALIVE_EVERY_MS: i64 = 60_000;
/// How long shutting down waits for the orbit subscriptions to end.
pub const UNSUBSCRIBE_WITHIN_MS: i64 = 2_000;

/// What front ends can read at any moment without asking the core (the driver publishes it
/// after every step).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub calls: Vec<CallInfo>,
    pub accounts: Vec<AccountStatus>,
    pub availability: Availability,
    pub park_slots: Vec<ParkSlot>,
}

/// A register/unregister command waiting for its accounts' outcomes.
#[derive(Debug)]
struct Wait<T> {
    ticket: Option<Ticket>,
    results: BTreeMap<usize, Option<Result<T, PhoneError>>>,
}

/// Gives every wait `account`'s result; returns the waits now complete (the others stay).
fn answer_waits<T: Clone>(
    waits: &mut Vec<Wait<T>>,
    account: usize,
    result: &Result<T, PhoneError>,
) -> Vec<Wait<T>> {
    for w in waits.iter_mut() {
        w.answer(account, result);
    }
    let (done, waiting) = std::mem::take(waits)
        .into_iter()
        .partition(|w| w.complete());
    *waits = waiting;
    done
}

impl<T: Clone> Wait<T> {
    fn answer(&mut self, account: usize, result: &Result<T, PhoneError>) {
        if let Some(slot @ None) = self.results.get_mut(&account) {
            *slot = Some(result.clone());
        }
    }
    fn complete(&self) -> bool {
        self.results.values().all(|r| r.is_some())
    }
    /// The first failure in account order, else every account's result.
    fn result(self) -> Result<Vec<T>, PhoneError> {
        self.results
            .into_values()
            .map(|r| r.expect("complete"))
            .collect()
    }
}

/// Shutting down: what is still awaited.
#[derive(Debug)]
struct Shutdown {
    ticket: Ticket,
    /// Ending orbit subscriptions not answered yet (waited for until `deadline`).
    unsubscribes: usize,
    deadline: i64,
    unregistering: bool,
    done: bool,
}

pub struct PhoneCore {
    pub(super) accounts: Vec<Account>,
    pub(super) calls: BTreeMap<CallId, Call>,
    /// Calls whose end waits for their media to close (`MediaInput::Closed`): the reason.
    ending: BTreeMap<CallId, (Call, EndReason)>,
    next_id: CallId,
    /// Which call is active, parked, held by remote; which re-INVITEs are due.
    pub(super) board: Switchboard,
    /// Every call deadline (switchboard wake-ups, auto-answer, forward on no answer, transfers).
    pub(super) timers: Timers,
    /// REFERs under way (blind transfers, parking on a server orbit).
    pub(super) transfers: Transfers,
    /// Transfer requests waiting for the user's answer (by the call the REFER came in).
    pub(super) asked: BTreeMap<CallId, super::being_transferred::Asked>,
    /// Calls we make because the far end of another call referred us (by the new call).
    pub(super) referred: BTreeMap<CallId, super::being_transferred::Referred>,
    /// Old calls whose transfers went through, left to the transferor for a moment.
    pub(super) transferred_away: BTreeMap<CallId, super::being_transferred::TransferredAway>,
    /// Blind transfers of calls (their target, what to do if they fail).
    pub(super) blind: BTreeMap<CallId, super::blind_transfer::BlindTransfer>,
    /// An attended transfer whose caller hung up (transferred) before its final NOTIFY: the
    /// consultation call to end once the caller's call has, and the caller's address.
    pub(super) attended_after_end: Option<(CallId, String)>,
    /// The local conference's mutes and what was last announced of it.
    pub(super) conf: super::conference::Conference,
    /// The conference being handed to one of its parties.
    pub(super) handover: Option<super::conference_handover::Handover>,
    /// The user's presence and do-not-disturb switch, as routing rules see them.
    pub(super) availability: Availability,
    /// Routing rules for incoming calls (presets, the user's rules, the defaults).
    pub(super) router: Router,
    /// Audio for calls the core answers by itself (auto-answer rules).
    pub(super) call_defaults: CallOptions,
    /// How typed numbers become request URIs.
    pub(super) dialling: DiallingSettings,
    /// Dials waiting for their RTP socket (`MediaInput::Bound`), before the call exists.
    pub(super) dials: BTreeMap<CallId, super::outgoing::Dialling>,
    /// New INVITEs being taken as calls (`SipInput::Taken`).
    pub(super) arriving: BTreeMap<CallId, super::incoming::Arriving>,
    register_waits: Vec<Wait<u32>>,
    unregister_waits: Vec<Wait<()>>,
    shutdown: Option<Shutdown>,
    /// The call-waiting tone as last ordered.
    call_waiting: bool,
    next_quality_at: Option<i64>,
    next_alive_at: Option<i64>,
    /// Randomness for Call-IDs and glare back-off, from the seed given.
    rng: u64,
    out: VecDeque<Output>,
}

pub(crate) fn sip_err(e: SipError) -> PhoneError {
    match e {
        SipError::Refused {
            status,
            reason,
            server,
        } => PhoneError::RegistrationRefused {
            status,
            reason,
            server,
        },
        SipError::Unreachable { server, detail } => PhoneError::Unreachable { server, detail },
        SipError::Tls { server, detail } | SipError::Certificate { server, detail } => {
            PhoneError::Tls { server, detail }
        }
        SipError::Invalid {
            what,
            value,
            detail,
        } => PhoneError::InvalidInput {
            what,
            detail: format!("'{value}': {detail}"),
        },
        other => PhoneError::Other(other.to_string()),
    }
}

impl PhoneCore {
    /// A core for these accounts, starting at `now`; `seed` feeds its randomness.
    pub fn new(accounts: Vec<Account>, now: i64, seed: u64) -> PhoneCore {
        let mut core = PhoneCore {
            accounts,
            calls: BTreeMap::new(),
            ending: BTreeMap::new(),
            next_id: 1,
            board: Switchboard::new(None),
            timers: Timers::default(),
            transfers: Transfers::default(),
            blind: BTreeMap::new(),
            conf: Default::default(),
            asked: BTreeMap::new(),
            transferred_away: BTreeMap::new(),
            attended_after_end: None,
            handover: None,
            referred: BTreeMap::new(),
            availability: Availability::default(),
            router: RoutingSettings::default()
                .compile()
                .expect("the default routing compiles"),
            call_defaults: CallOptions::default(),
            dialling: DiallingSettings::default(),
            dials: BTreeMap::new(),
            arriving: BTreeMap::new(),
            register_waits: Vec::new(),
            unregister_waits: Vec::new(),
            shutdown: None,
            call_waiting: false,
            next_quality_at: None,
            next_alive_at: None,
            rng: seed | 1,
            out: VecDeque::new(),
        };
        for a in &mut core.accounts {
            if let Some(o) = a.orbits.as_mut() {
                o.start(now);
            }
        }
        core
    }

    /// The next thing to do, in order; `None` when there is nothing left.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to feed `Input::Timeout` (ms, the clock of `handle`'s `now`).
    pub fn next_timeout(&self) -> Option<i64> {
        let mut at = [
            self.timers.next(),
            self.next_quality_at,
            self.next_alive_at,
            self.shutdown
                .as_ref()
                .filter(|s| s.unsubscribes > 0 && !s.done)
                .map(|s| s.deadline),
        ]
        .into_iter()
        .flatten()
        .min();
        for a in &self.accounts {
            for t in [
                a.registration.next_timeout(),
                a.orbits.as_ref().and_then(|o| o.next_timeout()),
            ]
            .into_iter()
            .flatten()
            {
                at = Some(at.map_or(t, |x: i64| x.min(t)));
            }
        }
        at
    }

    pub fn handle(&mut self, input: Input, now: i64) {
        match input {
            Input::Command { ticket, command } => self.command(ticket, command, now),
            Input::Sip(sip) => self.sip_input(sip, now),
            Input::Media(media) => self.media_input(media, now),
            Input::Timeout => self.timeout(now),
            Input::NetworkChanged => {
                for i in 0..self.accounts.len() {
                    self.accounts[i]
                        .registration
                        .handle(registration::Input::Refresh, now);
                    self.registration_outputs(i);
                }
            }
            Input::AddressChanged {
                account,
                local_ip,
                contact,
            } => {
                if let Some(a) = self.accounts.get_mut(account) {
                    a.local_ip = local_ip;
                    a.contact = contact;
                    // What a registrar saw of the old address says nothing of the new one.
                    a.public_address = None;
                    a.registration.handle(registration::Input::Refresh, now);
                    self.registration_outputs(account);
                }
            }
        }
        self.after_step(now);
    }

    fn command(&mut self, ticket: Ticket, command: Command, now: i64) {
        if self.shutdown.is_some() && !matches!(command, Command::Shutdown) {
            return self.reply(
                ticket,
                Err(PhoneError::Other("the phone is shutting down".into())),
            );
        }
        match command {
            Command::Dial { target, opts } => self.dial(ticket, &target, opts, None, now),
            Command::Retrieve { slot, opts } => match self.slot_uri(&slot, None) {
                Ok((acc, uri)) => self.dial(ticket, &uri, opts, Some(acc), now),
                Err(e) => self.reply(ticket, Err(e)),
            },
            Command::Answer { id, opts } => self.answer(Some(ticket), id, opts, now),
            Command::Reject { id, status } => {
                let r = self.reject(id, status, now);
                self.reply(ticket, r.map(|_| Done::Ok));
            }
            Command::Hangup { id } => {
                let r = self.hangup(id, now);
                self.reply(ticket, r.map(|_| Done::Ok));
            }
            Command::Forward { id, target } => self.forward(ticket, id, &target, now),
            Command::SendDtmf { id, digits } => {
                let r = self.send_dtmf(id, &digits);
                self.reply(ticket, r.map(|_| Done::Ok));
            }
            Command::SetMute { id, muted } => {
                let r = self.set_mute(id, muted);
                self.reply(ticket, r.map(|_| Done::Ok));
            }
            Command::Park { id } => {
                let r = self.board.park(id, now).map(|a| self.apply(a, now));
                self.reply(ticket, r.map(|_| Done::Ok));
            }
            Command::SwitchTo { id } => {
                let r = self.board.switch_to(id, now).map(|a| self.apply(a, now));
                self.reply(ticket, r.map(|_| Done::Ok));
            }
            Command::ParkOnOrbit { id, slot } => self.park_on_orbit(ticket, id, &slot, now),
            Command::Transfer {
                id,
                target,
                resume_on_failure,
            } => self.transfer(ticket, id, &target, resume_on_failure, now),
            Command::Consult { id, target, opts } => self.consult(ticket, id, &target, opts, now),
            Command::CompleteTransfer {
                id,
                other,
                resume_on_failure,
            } => self.complete_transfer(ticket, id, other, resume_on_failure, now),
            Command::AnswerTransferRequest { id, accept } => {
                self.answer_transfer_request(ticket, id, accept, now)
            }
            Command::Conference { ids } => self.conference(ticket, &ids, now),
            Command::ConferenceMute { id, muted } => self.conference_mute(ticket, id, muted),
            Command::LeaveConference { end } => self.leave_conference(ticket, end, now),
            Command::HandConference { to } => self.hand_conference(ticket, to, now),
            Command::Register => self.register(Some(ticket), now),
            Command::Unregister => self.unregister(Some(ticket), now),
            Command::SetRouting(settings) => {
                let r = settings.compile().map(|router| self.router = router);
                self.reply(
                    ticket,
                    r.map(|_| Done::Ok).map_err(|e| PhoneError::InvalidInput {
                        what: "routing".into(),
                        detail: e.to_string(),
                    }),
                );
            }
            Command::SetDialling(settings) => {
                let r = settings
                    .validate()
                    .map(|_| self.dialling = settings)
                    .map_err(|problems| PhoneError::InvalidInput {
                        what: "dialling settings".into(),
                        detail: problems.join("; "),
                    });
                self.reply(ticket, r.map(|_| Done::Ok));
            }
            Command::SetAvailability(availability) => {
                self.availability = availability;
                self.emit(PhoneEvent::Availability { availability });
                self.reply(ticket, Ok(Done::Ok));
            }
            Command::SetCallDefaults(opts) => {
                self.call_defaults = opts;
                self.reply(ticket, Ok(Done::Ok));
            }
            Command::SetParkRecallMs(after) => {
                self.board.set_recall_after(after);
                self.reply(ticket, Ok(Done::Ok));
            }
            Command::SetHoldMusic(music) => {
                self.media(MediaOutput::HoldMusic(music));
                self.reply(ticket, Ok(Done::Ok));
            }
            Command::SetVoiceProcessing(v) => {
                self.media(MediaOutput::VoiceProcessing(v));
                self.reply(ticket, Ok(Done::Ok));
            }
            Command::Shutdown => self.shut_down(ticket, now),
            Command::Probe => {
                let account = self
                    .accounts
                    .iter()
                    .position(|a| a.register_enabled)
                    .unwrap_or(0);
                self.sip(SipOutput::Probe { ticket, account });
            }
        }
    }

    fn sip_input(&mut self, input: SipInput, now: i64) {
        match input {
            SipInput::InviteSent { id, result } => self.on_invite_sent(id, result, now),
            SipInput::InviteOutcome { id, outcome } => self.on_invite_outcome(id, outcome, now),
            SipInput::NewInvite {
                account,
                key,
                request,
                utc_offset_secs,
                replaces: None,
            } => self.on_new_invite(account, key, request, utc_offset_secs, now),
            SipInput::NewInvite {
                account,
                key,
                request,
                replaces: Some(replaces),
                ..
            } => self.on_replacing_invite(account, key, request, replaces, now),
            SipInput::Taken { id, result } => self.on_taken(id, result, now),
            SipInput::Request {
                account,
                key,
                request,
            } => {
                if !self.orbit_notify(account, key, &request, now) {
                    self.sip(SipOutput::Respond {
                        key,
                        status: 481,
                        sdp: None,
                    });
                }
            }
            SipInput::Early { sip_call_id, sdp } => self.on_early(&sip_call_id, sdp, now),
            SipInput::Reinvite {
                sip_call_id,
                sdp,
                key,
            } => self.on_reinvite(&sip_call_id, &sdp, key, now),
            SipInput::Info {
                sip_call_id,
                request,
                key,
            } => {
                // SIP INFO DTMF (application/dtmf-relay) from older gateways.
                let body = request.body_text();
                let digit = body
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("Signal=")
                            .or_else(|| l.strip_prefix("Signal ="))
                    })
                    .and_then(|s| s.trim().chars().next());
                self.sip(SipOutput::Respond {
                    key,
                    status: 200,
                    sdp: None,
                });
                if let (Some(digit), Some(call_id)) = (digit, self.by_sip_call_id(&sip_call_id)) {
                    self.emit(PhoneEvent::Dtmf { call_id, digit });
                }
            }
            SipInput::Notify {
                sip_call_id,
                request,
                key,
            } => self.on_call_notify(&sip_call_id, &request, key, now),
            SipInput::Refer {
                sip_call_id,
                request,
                key,
            } => self.on_refer(&sip_call_id, &request, key, now),
            SipInput::DialogEnded { sip_call_id, why } => {
                self.on_dialog_ended(&sip_call_id, why, now)
            }
            SipInput::ReinviteDone { id, result } => self.on_reinvite_done(id, result, now),
            SipInput::ReferAnswered { id, answer } => self.on_refer_answered(id, answer, now),
            SipInput::Redirected { id, sent } => self.on_redirected(id, sent, now),
            SipInput::Registered {
                account,
                result,
                public,
                outbound,
            } => {
                if let Some(a) = self.accounts.get_mut(account) {
                    if result.is_ok() {
                        a.public_address = public;
                        a.registration
                            .outbound(outbound.is_some(), outbound.flatten());
                    }
                    a.registration
                        .handle(registration::Input::Done(result), now);
                }
                self.registration_outputs(account);
            }
            SipInput::Probed { ticket, result } => self.reply(ticket, result.map(Done::Probed)),
            SipInput::KeptAlive { account, result } => {
                if let Some(a) = self.accounts.get_mut(account) {
                    a.registration
                        .handle(registration::Input::KeptAlive(result), now);
                }
                self.registration_outputs(account);
            }
            SipInput::Subscribed {
                account,
                slot,
                dialog,
                result,
            } => self.on_subscribed(account, &slot, dialog, result, now),
        }
    }

    fn media_input(&mut self, input: MediaInput, now: i64) {
        match input {
            MediaInput::Bound { id, result } => self.on_bound(id, result, now),
            MediaInput::Started { id, result } => self.on_media_started(id, result, now),
            MediaInput::Event { id, event } => match event {
                hookflash_media::MediaEvent::Dtmf(digit) => {
                    self.emit(PhoneEvent::Dtmf { call_id: id, digit })
                }
                hookflash_media::MediaEvent::InputEnded => {
                    self.emit(PhoneEvent::AudioInputEnded { call_id: id })
                }
                hookflash_media::MediaEvent::Warning(message) => {
                    self.emit(PhoneEvent::Warning { message })
                }
            },
            MediaInput::Measured { id, stats } => {
                let path = stats
                    .ice_pair
                    .map(|(ours, theirs)| format!("{ours} → {theirs}"));
                if let Some(c) = self.calls.get_mut(&id) {
                    if c.info.media_path != path {
                        c.info.media_path = path;
                        self.publish(id);
                    }
                }
                if let Some(quality) = incoming_routing::quality(&stats) {
                    if self.calls.contains_key(&id) {
                        self.emit(PhoneEvent::CallQuality {
                            call_id: id,
                            quality,
                        });
                    }
                }
            }
            MediaInput::Closed { id, stats } => self.finish_call(id, stats, now),
            MediaInput::ConferenceLevels { levels } => self.on_conference_levels(levels),
        }
    }

    fn timeout(&mut self, now: i64) {
        for timer in self.timers.due(now) {
            self.fire(timer, now);
        }
        for i in 0..self.accounts.len() {
            if self.accounts[i]
                .registration
                .next_timeout()
                .is_some_and(|at| at <= now)
            {
                self.accounts[i]
                    .registration
                    .handle(registration::Input::Timeout, now);
                self.registration_outputs(i);
            }
        }
        self.orbits_due(now);
        if self.next_quality_at.is_some_and(|at| at <= now) {
            self.next_quality_at = None;
            let ids: Vec<CallId> = self
                .calls
                .values()
                .filter(|c| c.info.state == CallState::Answered && c.media == MediaState::Running)
                .map(|c| c.id())
                .collect();
            for id in ids {
                self.media(MediaOutput::Measure { id });
            }
        }
        if self.next_alive_at.is_some_and(|at| at <= now) {
            self.next_alive_at = None;
            let ids: Vec<CallId> = self.calls.keys().copied().collect();
            for id in ids {
                self.history_progress(id, now);
            }
        }
        if let Some(s) = self
            .shutdown
            .as_mut()
            .filter(|s| s.unsubscribes > 0 && s.deadline <= now)
        {
            s.unsubscribes = 0;
            self.shutdown_progress();
        }
    }

    fn fire(&mut self, timer: Timer, now: i64) {
        match timer {
            Timer::Switchboard => {
                let actions = self.board.tick(now);
                self.apply(actions, now);
            }
            Timer::TransferRequest(id) => self.transfer_request_expired(id, now),
            Timer::TransferredAway(id) => self.transferred_away_due(id, now),
            Timer::ConferenceLevels => self.conference_levels_due(now),
            Timer::AutoAnswer(id) => {
                if self.calls.get(&id).is_some_and(|c| c.rings_here()) {
                    let opts = self.call_defaults.clone();
                    self.answer(None, id, opts, now);
                }
            }
            Timer::Transfers => {
                for progress in self.transfers.tick(now) {
                    self.transfer_progress(progress, now);
                }
            }
            Timer::ForwardNoAnswer(id) => {
                if let Some(uri) = self.calls.get_mut(&id).and_then(|c| c.forward_to.take()) {
                    self.redirect_ringing(None, id, uri);
                }
            }
        }
    }

    /// What every step ends with: the call-waiting tone follows the calls, housekeeping is
    /// scheduled while there are calls.
    fn after_step(&mut self, now: i64) {
        let ringing = self.calls.values().any(|c| c.rings_here());
        let on = ringing && self.board.active().is_some();
        if on != self.call_waiting {
            self.call_waiting = on;
            self.media(MediaOutput::CallWaiting(on));
        }
        if self.calls.is_empty() {
            self.next_quality_at = None;
            self.next_alive_at = None;
        } else {
            self.next_quality_at.get_or_insert(now + QUALITY_EVERY_MS);
            self.next_alive_at
                .get_or_insert(now + HISTORY_ALIVE_EVERY_MS);
        }
    }

    // ------------------------------------------------------------ outputs

    pub(super) fn emit(&mut self, ev: PhoneEvent) {
        self.out.push_back(Output::Event(ev));
    }
    pub(super) fn sip(&mut self, s: SipOutput) {
        self.out.push_back(Output::Sip(s));
    }
    pub(super) fn media(&mut self, m: MediaOutput) {
        self.out.push_back(Output::Media(m));
    }
    pub(super) fn reply(&mut self, ticket: Ticket, result: Result<Done, PhoneError>) {
        self.out.push_back(Output::Reply { ticket, result });
    }

    /// A number from the core's randomness.
    pub(super) fn random(&mut self) -> u64 {
        // splitmix64: small, and reproducible from the seed in tests.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn random_token(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| ALPHABET[(self.random() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }

    // ------------------------------------------------------------ queries

    /// What front ends read between steps.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            calls: self.calls.values().map(|c| self.view_of(&c.info)).collect(),
            accounts: self
                .accounts
                .iter()
                .map(|a| AccountStatus {
                    aor: a.aor_text.clone(),
                    display_name: a.display_name.clone(),
                    registers: a.register_enabled,
                    registration: a.registration_state.clone(),
                    public_address: a.public_address.map(|p| p.to_string()),
                    outbound: a.registration.uses_outbound(),
                    keep_alive_secs: a
                        .registration
                        .keepalive()
                        .filter(|_| a.register_enabled)
                        .map(|k| (k.ping_ms / 1000) as u32),
                })
                .collect(),
            availability: self.availability,
            park_slots: self.park_slots(),
        }
    }

    /// `info` with its current place on the switchboard (active, parked, held by remote).
    pub(super) fn view_of(&self, info: &CallInfo) -> CallInfo {
        let v = self.board.view(info.id);
        CallInfo {
            active: v.active,
            parked_since_ms: v.parked_since_ms,
            held_by_remote: v.held_by_remote,
            conference: v.conference,
            conference_muted: v.conference && self.conf.muted.contains(&info.id),
            transfer_request: self.asked.get(&info.id).map(|a| a.view()),
            ..info.clone()
        }
    }

    pub(super) fn by_sip_call_id(&self, sip_call_id: &str) -> Option<CallId> {
        self.calls
            .values()
            .find(|c| c.sip_call_id == sip_call_id)
            .map(|c| c.id())
    }

    /// The account with this AOR (as configured, or its `sip:user@host` form).
    pub(super) fn account_named(&self, aor: &str) -> Result<usize, PhoneError> {
        self.accounts
            .iter()
            .position(|a| a.is_named(aor))
            .ok_or_else(|| PhoneError::InvalidInput {
                what: "account".into(),
                detail: format!(
                    "'{}' is not one of this phone's accounts ({})",
                    aor.trim(),
                    self.accounts
                        .iter()
                        .map(|a| a.aor_text.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    // ------------------------------------------------------------ the call table

    /// Registers a new call (Calling if outgoing, Ringing if incoming) and begins its history
    /// row; `fill` sets what the caller already knows.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_call(
        &mut self,
        id: CallId,
        account: usize,
        direction: Direction,
        remote: (String, Option<String>),
        sip_call_id: String,
        now: i64,
        fill: impl FnOnce(&mut Call),
    ) {
        let info = CallInfo {
            remote_display_name: remote.1,
            ..CallInfo::new(
                id,
                direction,
                if direction == Direction::Outgoing {
                    CallState::Calling
                } else {
                    CallState::Ringing
                },
                remote.0,
                self.accounts[account].aor_text.clone(),
                now,
            )
        };
        let mut call = Call::new(info, account, sip_call_id);
        fill(&mut call);
        if direction == Direction::Incoming {
            self.board.incoming(id, &call.info.remote_uri);
        }
        // The row exists from the first moment, so a crash mid-call still leaves it (marked
        // interrupted when the history is next opened).
        let record = history_record(&call.info, None, call.info.started_at_ms);
        self.calls.insert(id, call);
        self.out
            .push_back(Output::History(HistoryOp::Begin { id, record }));
    }

    pub(super) fn new_id(&mut self) -> CallId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Tells the history what changed in a call in progress (answered, codec).
    pub(super) fn history_progress(&mut self, id: CallId, now: i64) {
        let Some(c) = self.calls.get(&id) else { return };
        let op = HistoryOp::Progress {
            id,
            answered_at_ms: c.info.answered_at_ms,
            codec: codec_text(&c.info),
            now_ms: now,
        };
        self.out.push_back(Output::History(op));
    }

    pub(super) fn publish(&mut self, id: CallId) {
        if let Some(c) = self.calls.get(&id) {
            let call = self.view_of(&c.info);
            self.emit(PhoneEvent::CallUpdated { call });
        }
    }

    /// Our next SDP for the call (the session version goes up each time).
    pub(super) fn next_sdp(&mut self, id: CallId, desc: &AudioDescription) -> Vec<u8> {
        let version = match self.calls.get_mut(&id) {
            Some(c) => {
                c.sdp_version += 1;
                c.local_sdp = Some(desc.clone());
                c.sdp_version
            }
            None => 1,
        };
        sdp::build(
            desc,
            "hookflash",
            &SessionVersion {
                id: id + 1_000_000,
                version,
            },
        )
        .into_bytes()
    }

    /// Carries out what the switchboard decided, in order.
    pub(super) fn apply(&mut self, actions: Vec<Action>, now: i64) {
        for a in actions {
            match a {
                Action::Route { active } => self.media(MediaOutput::Route { active }),
                Action::Mix { members } => self.media(MediaOutput::Conference { members }),
                Action::Updated(id) => self.publish(id),
                Action::Warning(message) => self.emit(PhoneEvent::Warning { message }),
                Action::Reinvite { id, direction } => self.send_reinvite(id, direction, now),
                Action::WakeAt(at) => self.timers.set(at, Timer::Switchboard),
                Action::Recall(id) => {
                    if let Some(c) = self.calls.get(&id) {
                        let info = self.view_of(&c.info);
                        let who = info
                            .remote_display_name
                            .clone()
                            .unwrap_or(info.remote_uri.clone());
                        let mins = (now - info.parked_since_ms.unwrap_or(0)) / 60_000;
                        let message = crate::api::park_recall_message(id, &who, mins);
                        self.emit(PhoneEvent::ParkRecall {
                            call_id: id,
                            who,
                            parked_mins: mins,
                            message,
                        });
                        self.emit(PhoneEvent::CallUpdated { call: info });
                    }
                }
            }
        }
        // Parties joining or leaving (a hang-up, a park) are news of the conference too.
        self.announce_conference();
        self.meter_conference(now);
    }

    /// We end the call: CANCEL before an answer, BYE after; then it ends.
    pub(super) fn hangup_with(&mut self, id: CallId, reason: EndReason, now: i64) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        c.local_end = true;
        match c.info.state {
            // An unanswered outgoing INVITE ends with 487, which nobody waits for now.
            CallState::Calling | CallState::Ringing => self.sip(SipOutput::Cancel { id }),
            CallState::Answered => self.sip(SipOutput::Bye { id }),
            CallState::Ended => {}
        }
        self.end_call(id, reason, now);
    }

    /// Ends a call once: off the switchboard, timers cancelled, media closed; the history row
    /// and `CallEnded` follow when the media reports closed.
    pub(super) fn end_call(&mut self, id: CallId, reason: EndReason, now: i64) {
        let Some(mut c) = self.calls.remove(&id) else {
            return;
        };
        self.timers.cancel_call(id);
        self.asked.remove(&id);
        // A call we made for the far end of another one (it referred us): it hears how it ended.
        self.referred_failed(id, &reason);
        let reason = self.transfer_end_reason(
            id,
            &c.sip_call_id.clone(),
            &c.info.remote_uri.clone(),
            reason,
        );
        let reason = self.transferred_away_end(id, reason);
        self.handover_host_ended(id);
        let actions = self.board.ended(id);
        self.apply(actions, now);
        if let Some(waiting) = c.waiting.take() {
            let result = match waiting {
                Waiting::Dial(_) => Ok(Done::Call(id)),
                Waiting::Answer(_) => Err(PhoneError::Other(format!(
                    "call {id} ended before it was answered"
                ))),
                Waiting::Refer(_) | Waiting::Forward(_) => {
                    Err(PhoneError::Other(format!("call {id} ended")))
                }
            };
            match waiting {
                Waiting::Dial(t)
                | Waiting::Refer(t)
                | Waiting::Answer(Some(t))
                | Waiting::Forward(Some(t)) => self.reply(t, result),
                Waiting::Answer(None) | Waiting::Forward(None) => {}
            }
        }
        self.ending.insert(id, (c, reason));
        self.media(MediaOutput::Close { id });
        if let Some((other, caller)) = self.attended_after_end.take() {
            self.attended_done(Some(other), &caller, now);
        }
    }

    /// The call's media is closed: its history row is final and front ends hear it ended.
    fn finish_call(&mut self, id: CallId, stats: Option<hookflash_media::MediaStats>, now: i64) {
        let Some((mut c, reason)) = self.ending.remove(&id) else {
            return;
        };
        let quality = stats.as_ref().and_then(incoming_routing::quality);
        let answered = c.info.answered_at_ms.is_some();
        call::advance(&mut c.info, CallState::Ended, now);
        let outcome = call::outcome(c.info.direction, answered, &reason);
        let record = NewCallRecord {
            quality,
            ..history_record(&c.info, Some((outcome, &reason)), now)
        };
        self.out
            .push_back(Output::History(HistoryOp::Finish { id, record }));
        self.sip(SipOutput::Release { id });
        let message = call::end_message(&c.info, &reason);
        self.emit(PhoneEvent::CallEnded {
            call: c.info,
            reason,
            message,
        });
    }

    // ------------------------------------------------------------ registration

    /// Turns an account's registration outputs into SIP, events and replies.
    pub(super) fn registration_outputs(&mut self, account: usize) {
        while let Some(output) = self.accounts[account].registration.poll_output() {
            match output {
                registration::Output::Send { expires } => {
                    self.sip(SipOutput::Register { account, expires })
                }
                registration::Output::KeepAlive { ping } => {
                    self.sip(SipOutput::KeepAlive { account, ping })
                }
                registration::Output::State(state) => {
                    self.accounts[account].registration_state = state.clone();
                    let aor = self.accounts[account].aor_text.clone();
                    self.emit(PhoneEvent::Registration { aor, state });
                }
                registration::Output::Registered(result) => {
                    let result = result.map_err(|f| f.error);
                    for w in answer_waits(&mut self.register_waits, account, &result) {
                        if let Some(t) = w.ticket {
                            let r = w.result().map(|granted| {
                                Done::Expires(granted.first().copied().unwrap_or(0))
                            });
                            self.reply(t, r);
                        }
                    }
                }
                registration::Output::Unregistered(result) => {
                    let result = result.map_err(|f| f.error);
                    for w in answer_waits(&mut self.unregister_waits, account, &result) {
                        match w.ticket {
                            Some(t) => {
                                let r = w.result().map(|_| Done::Ok);
                                self.reply(t, r);
                            }
                            None => self.unregistered(),
                        }
                    }
                }
            }
        }
    }

    /// Registers every account that registers (or refreshes at once); the reply is the first
    /// registering account's granted expiry, or the first failure, once all have answered.
    fn register(&mut self, ticket: Option<Ticket>, now: i64) {
        let which: Vec<usize> = (0..self.accounts.len())
            .filter(|i| self.accounts[*i].register_enabled)
            .collect();
        if which.is_empty() {
            if let Some(t) = ticket {
                self.reply(
                    t,
                    Err(PhoneError::InvalidInput {
                        what: "account".into(),
                        detail: "no account registers".into(),
                    }),
                );
            }
            return;
        }
        self.register_waits.push(Wait {
            ticket,
            results: which.iter().map(|i| (*i, None)).collect(),
        });
        for i in which {
            self.accounts[i]
                .registration
                .handle(registration::Input::Register, now);
            self.registration_outputs(i);
        }
    }

    /// Removes every account's binding and stops refreshing; the reply comes once all answered.
    fn unregister(&mut self, ticket: Option<Ticket>, now: i64) {
        let which: Vec<usize> = (0..self.accounts.len())
            .filter(|i| self.accounts[*i].register_enabled)
            .collect();
        if which.is_empty() {
            match ticket {
                Some(t) => self.reply(t, Ok(Done::Ok)),
                None => self.unregistered(),
            }
            return;
        }
        self.unregister_waits.push(Wait {
            ticket,
            results: which.iter().map(|i| (*i, None)).collect(),
        });
        for i in which {
            self.accounts[i]
                .registration
                .handle(registration::Input::Unregister, now);
            self.registration_outputs(i);
        }
    }

    // ------------------------------------------------------------ shutting down

    pub(super) fn shutting_down(&self) -> bool {
        self.shutdown.is_some()
    }

    /// Hangs up every call, ends the orbit subscriptions (for at most 2 s) and un-registers;
    /// replies when that is done.
    fn shut_down(&mut self, ticket: Ticket, now: i64) {
        if self.shutdown.is_some() {
            return self.reply(ticket, Ok(Done::Ok));
        }
        let ids: Vec<CallId> = self.calls.keys().copied().collect();
        for id in ids {
            let _ = self.hangup(id, now);
        }
        self.shutdown = Some(Shutdown {
            ticket,
            unsubscribes: 0,
            deadline: now + UNSUBSCRIBE_WITHIN_MS,
            unregistering: true,
            done: false,
        });
        let n = self.orbits_stop();
        if let Some(s) = self.shutdown.as_mut() {
            s.unsubscribes = n;
        }
        self.unregister(None, now);
    }

    /// An orbit subscription answered its ending SUBSCRIBE.
    pub(super) fn unsubscribed(&mut self) {
        if let Some(s) = self.shutdown.as_mut() {
            s.unsubscribes = s.unsubscribes.saturating_sub(1);
        }
        self.shutdown_progress();
    }

    fn unregistered(&mut self) {
        if let Some(s) = self.shutdown.as_mut() {
            s.unregistering = false;
        }
        self.shutdown_progress();
    }

    fn shutdown_progress(&mut self) {
        let Some(s) = self.shutdown.as_mut() else {
            return;
        };
        if s.unsubscribes == 0 && !s.unregistering && !s.done {
            s.done = true;
            let ticket = s.ticket;
            self.sip(SipOutput::Close);
            self.reply(ticket, Ok(Done::Ok));
        }
    }
}

/// The history row of a call as it stands (`outcome` and `ended_at_ms` as given).
pub(super) fn history_record(
    info: &CallInfo,
    end: Option<(Outcome, &EndReason)>,
    ended_at_ms: i64,
) -> NewCallRecord {
    NewCallRecord {
        direction: match info.direction {
            Direction::Incoming => CallDirection::Incoming,
            Direction::Outgoing => CallDirection::Outgoing,
        },
        account: info.account.clone(),
        remote_uri: info.remote_uri.clone(),
        remote_display_name: info.remote_display_name.clone(),
        started_at_ms: info.started_at_ms,
        answered_at_ms: info.answered_at_ms,
        ended_at_ms,
        outcome: match end.map(|(o, _)| o) {
            Some(Outcome::Answered) => CallOutcome::Answered,
            Some(Outcome::Missed) | None => CallOutcome::Missed,
            Some(Outcome::Rejected) => CallOutcome::Rejected,
            Some(Outcome::Cancelled) => CallOutcome::Cancelled,
            Some(Outcome::Failed) => CallOutcome::Failed,
        },
        sip_status: end.and_then(|(_, r)| call::sip_status(r)),
        codec: codec_text(info),
        end_reason: end.map(|(_, r)| call::end_message(info, r)),
        routing: info.routing.clone(),
        quality: None,
    }
}

fn codec_text(info: &CallInfo) -> Option<String> {
    info.codec.map(|k| format!("{k:?}").to_lowercase())
}
