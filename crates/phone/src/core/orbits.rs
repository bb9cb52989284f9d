//! Shared park on the server (park orbits): one RFC 4235 `dialog` subscription per orbit slot
//! (SUBSCRIBE at once, refreshed before expiry, back-off after failures; NOTIFYs applied to
//! `shared_park::OrbitSlots`), and parking a call on a slot by blind transfer (REFER to
//! `sip:<slot>@<domain>`, followed by `transfer.rs`: 2xx progress ends our leg "parked on
//! <slot>", a failure keeps the call here, parked locally, with a warning). Retrieving is a
//! normal call to the slot (`outgoing.rs`).

use super::io::*;
use super::phone::PhoneCore;
use super::transfer::{Failure, Progress, ReferAnswer};
use crate::api::*;
use crate::shared_park::{self, Applied, OrbitSlots, RefreshTimer};
use hookflash_sip::subscription::Subscription;
use hookflash_sip::{dialog_info, target, Method, Request};
use std::collections::BTreeMap;

/// Lifetime asked for each slot subscription.
pub const SUBSCRIBE_EXPIRES: u32 = 600;

/// One slot's subscription dialog and its timer.
#[derive(Debug, Clone)]
struct Sub {
    /// A fresh dialog for each new subscription.
    dialog: Subscription,
    timer: RefreshTimer,
    in_flight: bool,
}

impl Sub {
    fn fresh(slot_uri: &hookflash_sip::SipUri) -> Sub {
        Sub {
            dialog: Subscription::new(slot_uri.clone(), "dialog", "application/dialog-info+xml"),
            timer: RefreshTimer::default(),
            in_flight: false,
        }
    }
}

/// One account's orbit slots and their subscriptions.
#[derive(Debug)]
pub struct Orbits {
    slots: OrbitSlots,
    subs: BTreeMap<String, Sub>,
    malformed: u64,
    /// Shutting down: no more SUBSCRIBEs.
    stopped: bool,
}

impl Orbits {
    /// The orbits of an account (None without `[account.shared_park]`).
    pub fn new(acc: &AccountConfig, account_domain: &str) -> Result<Option<Orbits>, PhoneError> {
        let Some(cfg) = &acc.shared_park else {
            return Ok(None);
        };
        let slots = cfg.slots().map_err(|p| PhoneError::InvalidInput {
            what: "shared park".into(),
            detail: p.join("; "),
        })?;
        let domain = cfg
            .domain
            .clone()
            .unwrap_or_else(|| account_domain.to_string());
        let orbit_slots = OrbitSlots::new(&slots, &domain);
        let mut subs = BTreeMap::new();
        for slot in &slots {
            let uri = orbit_slots
                .uri_of(slot)
                .unwrap_or_else(|| format!("sip:{slot}@{domain}"));
            let uri = target::parse_uri("orbit", &uri).map_err(|e| PhoneError::InvalidInput {
                what: "shared park".into(),
                detail: e.to_string(),
            })?;
            subs.insert(slot.clone(), Sub::fresh(&uri));
        }
        Ok(Some(Orbits {
            slots: orbit_slots,
            subs,
            malformed: 0,
            stopped: false,
        }))
    }

    /// Every slot is watched from `now`.
    pub fn start(&mut self, now: i64) {
        for s in self.subs.values_mut() {
            s.timer.now(now);
        }
    }

    /// When the next SUBSCRIBE is due.
    pub fn next_timeout(&self) -> Option<i64> {
        if self.stopped {
            return None;
        }
        self.subs
            .values()
            .filter(|s| !s.in_flight)
            .filter_map(|s| s.timer.due())
            .min()
    }
}

/// `expires=N` of a Subscription-State value.
fn sub_state_expires(v: &str) -> Option<u32> {
    v.split(';')
        .skip(1)
        .find_map(|p| p.trim().strip_prefix("expires="))
        .and_then(|n| n.trim().parse().ok())
}

impl PhoneCore {
    /// Sends the SUBSCRIBEs that are due.
    pub(super) fn orbits_due(&mut self, now: i64) {
        let mut sends = Vec::new();
        for (acc, account) in self.accounts.iter_mut().enumerate() {
            let Some(o) = account.orbits.as_mut() else {
                continue;
            };
            if o.stopped {
                continue;
            }
            for (slot, s) in o.subs.iter_mut() {
                if s.in_flight || !s.timer.is_due(now) {
                    continue;
                }
                s.in_flight = true;
                if !s.dialog.established() && s.dialog.is_new() {
                    o.slots.new_subscription(slot);
                }
                sends.push(SipOutput::Subscribe {
                    account: acc,
                    slot: slot.clone(),
                    dialog: s.dialog.clone(),
                    expires: SUBSCRIBE_EXPIRES,
                });
            }
        }
        for s in sends {
            self.sip(s);
        }
    }

    /// Ends the slot subscriptions (SUBSCRIBE with Expires: 0, RFC 6665 §4.1.2.3) so the server
    /// stops notifying; returns how many answers to wait for.
    pub(super) fn orbits_stop(&mut self) -> usize {
        let mut sends = Vec::new();
        for (acc, account) in self.accounts.iter_mut().enumerate() {
            let Some(o) = account.orbits.as_mut() else {
                continue;
            };
            o.stopped = true;
            for (slot, s) in o.subs.iter() {
                if s.dialog.established() {
                    sends.push(SipOutput::Subscribe {
                        account: acc,
                        slot: slot.clone(),
                        dialog: s.dialog.clone(),
                        expires: 0,
                    });
                }
            }
        }
        let n = sends.len();
        for s in sends {
            self.sip(s);
        }
        n
    }

    /// A SUBSCRIBE exchange for `slot` ended.
    pub(super) fn on_subscribed(
        &mut self,
        acc: usize,
        slot: &str,
        dialog: Subscription,
        result: Result<u32, (Option<u16>, String)>,
        now: i64,
    ) {
        if self.shutting_down() {
            self.unsubscribed();
        }
        let Some(o) = self.accounts.get_mut(acc).and_then(|a| a.orbits.as_mut()) else {
            return;
        };
        let mut warning = None;
        let mut changed = false;
        let failed_refresh = matches!(&result, Err((Some(481), _)));
        if let Some(s) = o.subs.get_mut(slot) {
            s.dialog.update_from(&dialog);
            s.in_flight = false;
            match &result {
                Ok(granted) if *granted > 0 => s.timer.granted(*granted, now),
                Ok(_) => {
                    s.timer.failed(now);
                }
                Err((_, message)) => {
                    let wait = s.timer.failed(now);
                    if s.timer.failures() == 1 && !o.stopped {
                        warning = Some(format!("{message}; retrying in {} s", wait.as_secs()));
                    }
                }
            }
        }
        if failed_refresh || result.as_ref().is_ok_and(|g| *g == 0) {
            // The notifier forgot us: next time a new subscription.
            if let Some(old) = o.subs.get(slot) {
                let fresh = Sub {
                    timer: old.timer.clone(),
                    ..Sub::fresh(&old.dialog.resource)
                };
                o.subs.insert(slot.to_string(), fresh);
            }
            changed = o.slots.forget(slot);
        }
        if let Some(message) = warning {
            self.emit(PhoneEvent::Warning { message });
        }
        if changed {
            self.emit_slots();
        }
    }

    /// A NOTIFY outside the calls' dialogs: applied and answered if it belongs to a slot
    /// subscription (true), else left to the caller.
    pub(super) fn orbit_notify(
        &mut self,
        acc: usize,
        key: SipKey,
        req: &Request,
        now: i64,
    ) -> bool {
        if req.method != Method::Notify {
            return false;
        }
        let Some(o) = self.accounts.get_mut(acc).and_then(|a| a.orbits.as_mut()) else {
            return false;
        };
        let Some(slot) = o
            .subs
            .iter()
            .find(|(_, s)| s.dialog.call_id() == req.call_id)
            .map(|(k, _)| k.clone())
        else {
            return false;
        };
        let sub_state = req
            .header("Subscription-State")
            .unwrap_or("active")
            .to_ascii_lowercase();
        let body = req.body_text();
        let mut changed = false;
        let mut warning = None;
        // RFC 6665 §4.1.2.4: the NOTIFY establishes the dialog (its tag and Contact win over
        // the 2xx's, which may race it).
        if let Some(s) = o.subs.get_mut(&slot) {
            s.dialog.notified(req);
        }
        if !body.trim().is_empty() {
            match dialog_info::parse(&body) {
                Ok(info) => match o.slots.apply(&slot, &info) {
                    Applied::Changed => changed = true,
                    Applied::NeedsFullState => {
                        // A refresh brings a full document (RFC 4235 §3.7).
                        if let Some(s) = o.subs.get_mut(&slot) {
                            s.timer.now(now);
                        }
                    }
                    Applied::Unchanged | Applied::Unknown => {}
                },
                Err(e) => {
                    o.malformed += 1;
                    warning = Some(format!(
                        "orbit {slot}: {e} (ignored; {} so far)",
                        o.malformed
                    ));
                }
            }
        }
        if sub_state.starts_with("terminated") {
            if let Some(old) = o.subs.get(&slot) {
                let mut fresh = Sub {
                    timer: old.timer.clone(),
                    ..Sub::fresh(&old.dialog.resource)
                };
                fresh.timer.failed(now);
                o.subs.insert(slot.clone(), fresh);
            }
            changed |= o.slots.forget(&slot);
        } else if let Some(exp) = sub_state_expires(&sub_state) {
            if let Some(s) = o.subs.get_mut(&slot) {
                if !s.in_flight && exp > 0 {
                    s.timer.granted(exp, now);
                }
            }
        }
        self.sip(SipOutput::Respond {
            key,
            status: 200,
            sdp: None,
        });
        if let Some(message) = warning {
            self.emit(PhoneEvent::Warning { message });
        }
        if changed {
            self.emit_slots();
        }
        true
    }

    /// Every account's slots as last reported (empty without orbits).
    pub fn park_slots(&self) -> Vec<ParkSlot> {
        self.accounts
            .iter()
            .flat_map(|a| {
                a.orbits
                    .as_ref()
                    .map(|o| o.slots.view())
                    .unwrap_or_default()
            })
            .collect()
    }

    fn emit_slots(&mut self) {
        let slots = self.park_slots();
        self.emit(PhoneEvent::ParkSlots { slots });
    }

    /// The account that has orbit `slot` (`prefer` first: the account of the call being parked)
    /// and the slot's URI.
    pub(super) fn slot_uri(
        &self,
        slot: &str,
        prefer: Option<usize>,
    ) -> Result<(usize, String), PhoneError> {
        let order = prefer.into_iter().chain(0..self.accounts.len());
        let mut names = Vec::new();
        for acc in order {
            if let Some(o) = self.accounts.get(acc).and_then(|a| a.orbits.as_ref()) {
                if let Some(uri) = o.slots.uri_of(slot) {
                    return Ok((acc, uri));
                }
                names.extend(o.slots.names());
            }
        }
        if names.is_empty() {
            return Err(PhoneError::InvalidInput {
                what: "orbit".into(),
                detail: "this account has no park orbits ([account.shared_park] in the profile)"
                    .into(),
            });
        }
        names.dedup();
        Err(PhoneError::InvalidInput {
            what: "orbit".into(),
            detail: format!(
                "'{slot}' is not one of this account's orbits ({})",
                names.join(", ")
            ),
        })
    }

    // ------------------------------------------------------------ parking by REFER

    /// Parks a connected call on `slot`: REFER of the remote party to the slot's URI. The reply
    /// comes when the REFER is answered.
    pub(super) fn park_on_orbit(&mut self, ticket: Ticket, id: CallId, slot: &str, now: i64) {
        let Some(call) = self.calls.get(&id) else {
            return self.reply(ticket, Err(PhoneError::NoSuchCall(id)));
        };
        let (acc, state, sip_call_id) = (call.account, call.info.state, call.sip_call_id.clone());
        let uri = match self
            .slot_uri(slot, Some(acc))
            .and_then(|(_, u)| target::parse_uri("orbit", &u).map_err(super::phone::sip_err))
        {
            Ok(u) => u,
            Err(e) => return self.reply(ticket, Err(e)),
        };
        if state != CallState::Answered {
            return self.reply(
                ticket,
                Err(PhoneError::InvalidInput {
                    what: "call".into(),
                    detail: format!("call {id} is not connected"),
                }),
            );
        }
        if self.transfers.start(&sip_call_id, id, slot).is_err() {
            return self.reply(
                ticket,
                Err(PhoneError::InvalidInput {
                    what: "call".into(),
                    detail: format!("call {id} is already being parked on an orbit"),
                }),
            );
        }
        let _ = now;
        if let Some(c) = self.calls.get_mut(&id) {
            c.waiting = Some(super::call::Waiting::Refer(ticket));
        }
        let referred_by = self.accounts[acc].aor.bare();
        self.sip(SipOutput::Refer {
            id,
            target: uri,
            referred_by,
            replaces: None,
        });
    }

    /// The far end answered our REFER.
    pub(super) fn on_refer_answered(&mut self, id: CallId, answer: ReferAnswer, now: i64) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let accepted = matches!(answer, ReferAnswer::Accepted);
        let ticket = match call.waiting {
            Some(super::call::Waiting::Refer(t)) => {
                call.waiting = None;
                Some(t)
            }
            _ => None,
        };
        let sip_call_id = call.sip_call_id.clone();
        let progress = self.transfers.answered(&sip_call_id, answer, now);
        if let Some(at) = self.transfers.next_deadline() {
            self.timers.set(at, super::timers::Timer::Transfers);
        }
        let result = match &progress {
            Progress::Failed { call, why, .. } if self.is_blind_transfer(*call) => {
                Err(PhoneError::Other(self.blind_failure(*call, why)))
            }
            Progress::Failed { call, target, why } => {
                Err(PhoneError::Other(self.transfer_failure(*call, target, why)))
            }
            _ => Ok(Done::Ok),
        };
        if accepted && self.is_blind_transfer(id) {
            self.blind_accepted(id);
        }
        self.transfer_progress(progress, now);
        if let Some(t) = ticket {
            self.reply(t, result);
        }
    }

    /// The user's sentence for a transfer (orbit park) that did not happen.
    fn transfer_failure(&self, call: CallId, slot: &str, why: &Failure) -> String {
        let remote = self
            .calls
            .get(&call)
            .map(|c| c.info.remote_uri.clone())
            .unwrap_or_default();
        let who = target::parse_uri("remote", &remote)
            .map(|u| target::host_of(&u))
            .unwrap_or(remote.clone());
        match why {
            Failure::Refused { status, reason } => {
                format!("park on orbit {slot} refused ({status}) by {who}: {reason}")
            }
            Failure::NotConfirmed => {
                format!("park on orbit {slot} failed: the call is not confirmed")
            }
            Failure::Error(e) => format!("park on orbit {slot} failed: {e}"),
            Failure::NoOutcome { secs } => {
                format!("park on orbit {slot} got no outcome from {remote} in {secs} s")
            }
        }
    }

    /// Carries out what a transfer input decided.
    pub(super) fn transfer_progress(&mut self, progress: Progress, now: i64) {
        let call = match &progress {
            Progress::Succeeded { call, .. } | Progress::Failed { call, .. } => Some(*call),
            Progress::Pending => None,
        };
        if call.is_some_and(|c| self.is_blind_transfer(c)) {
            return self.blind_progress(progress, now);
        }
        match progress {
            Progress::Pending => {}
            Progress::Succeeded { call, target } => {
                // Our leg ends; end_call asks the transfers and records "parked on <slot>".
                self.hangup_with(call, EndReason::ParkedOnOrbit { slot: target }, now);
            }
            Progress::Failed { call, target, why } => {
                let why = self.transfer_failure(call, &target, &why);
                // The call stays with us: parked locally, and the user is told why.
                self.emit(PhoneEvent::Warning { message: why });
                if self.board.view(call).parked_since_ms.is_none() && self.calls.contains_key(&call)
                {
                    match self.board.park(call, now) {
                        Ok(actions) => self.apply(actions, now),
                        Err(e) => tracing::debug!("could not park call {call} locally: {e}"),
                    }
                }
            }
        }
    }

    /// REFER progress (RFC 3515 NOTIFY with a message/sipfrag body) in a call's dialog.
    pub(super) fn on_call_notify(
        &mut self,
        sip_call_id: &str,
        req: &Request,
        key: SipKey,
        now: i64,
    ) {
        self.sip(SipOutput::Respond {
            key,
            status: 200,
            sdp: None,
        });
        if !self.transfers.is_under_way(sip_call_id) {
            return;
        }
        let body = req.body_text();
        let Some((code, phrase)) = shared_park::sipfrag_status(&body) else {
            self.emit(PhoneEvent::Warning {
                message: format!("unreadable transfer progress (sipfrag): {:?}", body.trim()),
            });
            return;
        };
        if let Some(id) = self
            .by_sip_call_id(sip_call_id)
            .filter(|id| self.is_blind_transfer(*id))
        {
            self.blind_notified(id, code);
        }
        let progress = self.transfers.notified(sip_call_id, code, &phrase);
        self.transfer_progress(progress, now);
    }

    /// How a call that is being transferred (or parked on an orbit) ended: if the transfer went
    /// through (or the transferee hung up after accepting it), it was transferred (parked),
    /// whoever sent the BYE.
    pub(super) fn transfer_end_reason(
        &mut self,
        id: CallId,
        sip_call_id: &str,
        remote_uri: &str,
        reason: EndReason,
    ) -> EndReason {
        if let Some(reason) = self.consultation_end_reason(id, &reason) {
            return reason;
        }
        let remote = reason == EndReason::RemoteHangup;
        let transferred = self.transfers.ended(sip_call_id, remote);
        if let Some(reason) =
            self.blind_end_reason(id, remote_uri, transferred.clone(), reason.clone())
        {
            return reason;
        }
        match (reason, transferred) {
            (EndReason::ParkedOnOrbit { slot }, _) => EndReason::ParkedOnOrbit { slot },
            (EndReason::RemoteHangup | EndReason::LocalHangup, Some(slot)) => {
                EndReason::ParkedOnOrbit { slot }
            }
            (other, _) => other,
        }
    }
}
