//! Engine side of shared park on the server (park orbits): one RFC 4235 `dialog` subscription
//! per orbit slot (SUBSCRIBE with our own digest auth, in-dialog refresh before expiry, NOTIFYs
//! applied to `shared_park::OrbitSlots`), and parking a call on a slot by blind transfer
//! (REFER to `sip:<slot>@<domain>`, progress followed through the NOTIFY sipfrags: 2xx ends our
//! leg with "parked on <slot>", a failure keeps the call here, parked locally, with a warning).
//! A child module of `engine` so it can use the engine's call table; the pure logic lives in
//! `shared_park.rs`.

use super::*;
use crate::core::transfer::{Failure, Progress, ReferAnswer};
use crate::shared_park::{self, Applied, OrbitSlots, RefreshTimer};
use hookflash_sip::dialog_info;
use hookflash_sip::subscription::{self, Subscription};
use std::time::{Duration, Instant};

/// Lifetime asked for each slot subscription.
const SUBSCRIBE_EXPIRES: u32 = 600;

/// One slot's subscription (RFC 6665 dialog in `hookflash_sip::subscription`) and its timer.
#[derive(Debug, Clone)]
struct Sub {
    /// A fresh dialog for each new subscription.
    dialog: Subscription,
    timer: RefreshTimer,
    in_flight: bool,
}

impl Sub {
    fn fresh(slot_uri: &SipUri) -> Sub {
        Sub {
            dialog: Subscription::new(slot_uri.clone(), "dialog", "application/dialog-info+xml"),
            timer: RefreshTimer::default(),
            in_flight: false,
        }
    }
}

struct Inner {
    slots: OrbitSlots,
    subs: HashMap<String, Sub>,
    malformed: u64,
    /// Shutting down: no more SUBSCRIBEs.
    stopped: bool,
}

/// The account's orbit slots and their subscriptions (absent without `[account.shared_park]`).
pub(crate) struct ParkOrbits {
    inner: Option<Mutex<Inner>>,
}

impl ParkOrbits {
    pub(crate) fn new(acc: &AccountConfig, account_domain: &str) -> Result<ParkOrbits, PhoneError> {
        let Some(cfg) = &acc.shared_park else { return Ok(ParkOrbits { inner: None }) };
        let slots = cfg.slots().map_err(|p| PhoneError::InvalidInput {
            what: "shared park".into(),
            detail: p.join("; "),
        })?;
        let domain = cfg.domain.clone().unwrap_or_else(|| account_domain.to_string());
        let orbit_slots = OrbitSlots::new(&slots, &domain);
        let mut subs = HashMap::new();
        for slot in &slots {
            let uri = orbit_slots.uri_of(slot).unwrap_or_else(|| format!("sip:{slot}@{domain}"));
            let uri = target::parse_uri("orbit", &uri).map_err(|e| PhoneError::InvalidInput { what: "shared park".into(), detail: e.to_string() })?;
            subs.insert(slot.clone(), Sub::fresh(&uri));
        }
        Ok(ParkOrbits { inner: Some(Mutex::new(Inner { slots: orbit_slots, subs, malformed: 0, stopped: false })) })
    }
}

/// `expires=N` of a Subscription-State value.
fn sub_state_expires(v: &str) -> Option<u32> {
    v.split(';').skip(1).find_map(|p| p.trim().strip_prefix("expires=")).and_then(|n| n.trim().parse().ok())
}

impl Engine {
    /// Account `acc`'s orbits (None without `[account.shared_park]`).
    fn orbits(&self, acc: usize) -> Option<std::sync::MutexGuard<'_, Inner>> {
        self.accounts.get(acc)?.park_orbits.inner.as_ref().map(|m| m.lock().unwrap())
    }

    /// Starts watching every account's slots (a no-op without orbits): a housekeeping loop per
    /// account sends each slot's SUBSCRIBE when its timer is due (at once, then before expiry,
    /// or after back-off).
    pub(crate) fn start_park_orbits(self: &Arc<Self>) {
        for acc in 0..self.accounts.len() {
            self.start_account_orbits(acc);
        }
    }

    fn start_account_orbits(self: &Arc<Self>, acc: usize) {
        let now = Instant::now();
        let Some(mut o) = self.orbits(acc) else { return };
        for s in o.subs.values_mut() {
            s.timer.now(now);
        }
        drop(o);
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(500));
            loop {
                every.tick().await;
                let Some(e) = weak.upgrade() else { break };
                let now = Instant::now();
                let due: Vec<String> = {
                    let Some(mut o) = e.orbits(acc) else { break };
                    if o.stopped {
                        break;
                    }
                    o.subs
                        .iter_mut()
                        .filter(|(_, s)| !s.in_flight && s.timer.is_due(now))
                        .map(|(slot, s)| {
                            s.in_flight = true;
                            slot.clone()
                        })
                        .collect()
                };
                for slot in due {
                    let me = e.clone();
                    tokio::spawn(async move { me.subscribe_slot(acc, &slot).await });
                }
            }
        });
    }

    /// Ends the slot subscriptions (SUBSCRIBE with Expires: 0, RFC 6665 §4.1.2.3) so the server
    /// stops notifying; at most a couple of seconds, whatever the server does.
    pub(crate) async fn stop_park_orbits(self: &Arc<Self>) {
        let mut all = Vec::new();
        for acc in 0..self.accounts.len() {
            let slots: Vec<String> = match self.orbits(acc) {
                Some(mut o) => {
                    o.stopped = true;
                    o.subs.iter().filter(|(_, s)| s.dialog.established()).map(|(k, _)| k.clone()).collect()
                }
                None => continue,
            };
            all.extend(slots.into_iter().map(|slot| (acc, slot)));
        }
        let ends = all.iter().map(|(acc, slot)| self.subscribe_exchange(*acc, slot, 0)).collect::<Vec<_>>();
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            for f in ends {
                let _ = f.await;
            }
        })
        .await;
    }

    /// Every account's slots as last reported (empty without orbits).
    pub(crate) fn park_slots(&self) -> Vec<ParkSlot> {
        (0..self.accounts.len()).flat_map(|acc| self.orbits(acc).map(|o| o.slots.view()).unwrap_or_default()).collect()
    }

    fn emit_slots(&self) {
        let slots = self.park_slots();
        self.emit(PhoneEvent::ParkSlots { slots });
    }

    /// The account that has orbit `slot` (`prefer` first: the account of the call being parked)
    /// and the slot's URI.
    fn slot_uri(&self, slot: &str, prefer: Option<usize>) -> Result<(usize, String), PhoneError> {
        let order = prefer.into_iter().chain(0..self.accounts.len());
        let mut names = Vec::new();
        for acc in order {
            if let Some(o) = self.orbits(acc) {
                if let Some(uri) = o.slots.uri_of(slot) {
                    return Ok((acc, uri));
                }
                names.extend(o.slots.names());
            }
        }
        if names.is_empty() {
            return Err(PhoneError::InvalidInput {
                what: "orbit".into(),
                detail: "this account has no park orbits ([account.shared_park] in the profile)".into(),
            });
        }
        names.dedup();
        Err(PhoneError::InvalidInput {
            what: "orbit".into(),
            detail: format!("'{slot}' is not one of this account's orbits ({})", names.join(", ")),
        })
    }

    /// Retrieves the call parked on `slot`: a normal call to the slot's URI, from the account
    /// the slot belongs to.
    pub(crate) async fn retrieve_from_orbit(self: &Arc<Self>, slot: &str, opts: CallOptions) -> Result<CallId, PhoneError> {
        let (acc, uri) = self.slot_uri(slot, None)?;
        self.dial_from(acc, &uri, opts).await
    }

    // ------------------------------------------------------------ subscriptions

    /// One SUBSCRIBE for `slot` (initial or refresh), with digest auth; updates the timer.
    async fn subscribe_slot(self: &Arc<Self>, acc: usize, slot: &str) {
        let result = self.subscribe_exchange(acc, slot, SUBSCRIBE_EXPIRES).await;
        let now = Instant::now();
        let mut changed = false;
        let mut warning = None;
        if let Some(mut o) = self.orbits(acc) {
            let failed_refresh = matches!(&result, Err((Some(481), _)));
            if let Some(s) = o.subs.get_mut(slot) {
                s.in_flight = false;
                match &result {
                    Ok(granted) if *granted > 0 => s.timer.granted(*granted, now),
                    Ok(_) => {
                        s.timer.failed(now);
                    }
                    Err((_, message)) => {
                        let wait = s.timer.failed(now);
                        if s.timer.failures() == 1 {
                            warning = Some(format!("{message}; retrying in {} s", wait.as_secs()));
                        }
                    }
                }
            }
            if failed_refresh || result.as_ref().is_ok_and(|g| *g == 0) {
                // The notifier forgot us: next time a new subscription.
                let timer = o.subs.get(slot).map(|s| s.timer.clone()).unwrap_or_default();
                let uri = o.subs.get(slot).map(|s| s.dialog.resource.clone());
                if let Some(uri) = uri {
                    o.subs.insert(slot.to_string(), Sub { timer, ..Sub::fresh(&uri) });
                }
                changed = o.slots.forget(slot);
            }
        }
        if let Some(message) = warning {
            self.emit(PhoneEvent::Warning { message });
        }
        if changed {
            self.emit_slots();
        }
    }

    /// One SUBSCRIBE exchange for the slot (challenges answered). Ok(granted expiry) or
    /// Err((status, sentence)).
    async fn subscribe_exchange(self: &Arc<Self>, acc: usize, slot: &str, expires: u32) -> Result<u32, (Option<u16>, String)> {
        let account = &self.accounts[acc];
        let Some(mut dialog) = self.orbits(acc).and_then(|mut o| {
            let dialog = o.subs.get(slot)?.dialog.clone();
            if !dialog.established() && dialog.is_new() {
                o.slots.new_subscription(slot);
            }
            Some(dialog)
        }) else {
            return Err((None, format!("orbit {slot} is unknown")));
        };
        let result = subscription::subscribe(
            &account.stack,
            &mut dialog,
            &account.aor,
            account.display_name.as_deref(),
            account.outbound.as_ref(),
            &account.credentials,
            expires,
        )
        .await;
        if let Some(mut o) = self.orbits(acc) {
            if let Some(s) = o.subs.get_mut(slot) {
                s.dialog.update_from(&dialog);
            }
        }
        match result {
            Ok(granted) => Ok(granted.expires),
            Err(e @ subscription::SubscribeError::Refused { .. }) => Err((e.status(), format!("watching orbit {slot} {e}"))),
            Err(e) => Err((None, format!("watching orbit {slot}: {e}"))),
        }
    }

    /// A NOTIFY of one of the slot subscriptions: applied and answered (None), or handed back.
    pub(crate) async fn take_orbit_notify(self: &Arc<Self>, acc: usize, notify: ServerRequest) -> Option<ServerRequest> {
        if notify.request().method != hookflash_sip::Method::Notify || self.accounts[acc].park_orbits.inner.is_none() {
            return Some(notify);
        }
        let call_id = notify.request().call_id.clone();
        let slot = self.orbits(acc).and_then(|o| o.subs.iter().find(|(_, s)| s.dialog.call_id() == call_id).map(|(k, _)| k.clone()));
        let Some(slot) = slot else { return Some(notify) };
        let req = notify.request().clone();
        notify.reply(200).await;
        let sub_state = req.header("Subscription-State").unwrap_or("active").to_ascii_lowercase();
        let body = req.body_text();
        let now = Instant::now();
        let mut changed = false;
        let mut warning = None;
        if let Some(mut o) = self.orbits(acc) {
            let inner = &mut *o;
            // RFC 6665 §4.1.2.4: the NOTIFY establishes the dialog (its tag and Contact win
            // over the 2xx's, which may race it).
            if let Some(s) = inner.subs.get_mut(&slot) {
                s.dialog.notified(&req);
            }
            if !body.trim().is_empty() {
                match dialog_info::parse(&body) {
                    Ok(info) => match inner.slots.apply(&slot, &info) {
                        Applied::Changed => changed = true,
                        Applied::NeedsFullState => {
                            // A refresh brings a full document (RFC 4235 §3.7).
                            if let Some(s) = inner.subs.get_mut(&slot) {
                                s.timer.now(now);
                            }
                        }
                        Applied::Unchanged | Applied::Unknown => {}
                    },
                    Err(e) => {
                        inner.malformed += 1;
                        warning = Some(format!("orbit {slot}: {e} (ignored; {} so far)", inner.malformed));
                    }
                }
            }
            if sub_state.starts_with("terminated") {
                if let Some(old) = inner.subs.get(&slot) {
                    let mut fresh = Sub { timer: old.timer.clone(), ..Sub::fresh(&old.dialog.resource) };
                    fresh.timer.failed(now);
                    inner.subs.insert(slot.clone(), fresh);
                }
                changed |= inner.slots.forget(&slot);
            } else if let Some(exp) = sub_state_expires(&sub_state) {
                if let Some(s) = inner.subs.get_mut(&slot) {
                    if !s.in_flight && exp > 0 {
                        s.timer.granted(exp, now);
                    }
                }
            }
        }
        if let Some(message) = warning {
            tracing::warn!("{message}");
            self.emit(PhoneEvent::Warning { message });
        }
        if changed {
            self.emit_slots();
        }
        None
    }

    // ------------------------------------------------------------ parking by REFER

    /// Parks a connected call on `slot`: REFER of the remote party to the slot's URI (a blind
    /// transfer, followed by `core/transfer.rs`). Returns once the REFER is answered; the outcome
    /// comes as events (the call ends "parked on <slot>", or stays here parked locally with a
    /// warning).
    pub(crate) async fn park_on_orbit(self: &Arc<Self>, id: CallId, slot: &str) -> Result<(), PhoneError> {
        let call_account = self.update(id, |c| c.account).ok_or(PhoneError::NoSuchCall(id))?;
        let (_, uri_text) = self.slot_uri(slot, Some(call_account))?;
        let uri = target::parse_uri("orbit", &uri_text).map_err(sip_err)?;
        let found = self.update(id, |c| (c.info.state, c.dialog.clone(), c.sip_call_id.clone()));
        let Some((state, dialog, sip_call_id)) = found else { return Err(PhoneError::NoSuchCall(id)) };
        let (CallState::Answered, Some(dialog)) = (state, dialog) else {
            return Err(PhoneError::InvalidInput { what: "call".into(), detail: format!("call {id} is not connected") });
        };
        if self.state.lock().unwrap().transfers.start(&sip_call_id, id, slot).is_err() {
            return Err(PhoneError::InvalidInput { what: "call".into(), detail: format!("call {id} is already being parked on an orbit") });
        }
        let ours = &self.accounts[call_account].aor;
        let answer = match dialog.refer(&uri, &ours.bare()).await {
            Ok(Some(resp)) if (200..300).contains(&resp.status) => ReferAnswer::Accepted,
            Ok(Some(resp)) => ReferAnswer::Refused { status: resp.status, reason: resp.reason },
            Ok(None) => ReferAnswer::NotConfirmed,
            Err(e) => ReferAnswer::Error(e.to_string()),
        };
        let (progress, deadline) = {
            let mut st = self.state.lock().unwrap();
            (st.transfers.answered(&sip_call_id, answer, now_ms()), st.transfers.next_deadline())
        };
        if let Some(at) = deadline {
            self.set_timer(at, Timer::Transfers);
        }
        match &progress {
            Progress::Failed { call, target, why } => {
                let why = self.transfer_failure(*call, target, why);
                self.orbit_park_failed(id, &why);
                Err(PhoneError::Other(why))
            }
            _ => Ok(()),
        }
    }

    /// The user's sentence for a transfer (orbit park) that did not happen.
    fn transfer_failure(&self, call: CallId, slot: &str, why: &Failure) -> String {
        let remote = self.info(call).map(|c| c.remote_uri).unwrap_or_default();
        let who = target::parse_uri("remote", &remote).map(|u| target::host_of(&u)).unwrap_or(remote.clone());
        match why {
            Failure::Refused { status, reason } => format!("park on orbit {slot} refused ({status}) by {who}: {reason}"),
            Failure::NotConfirmed => format!("park on orbit {slot} failed: the call is not confirmed"),
            Failure::Error(e) => format!("park on orbit {slot} failed: {e}"),
            Failure::NoOutcome { secs } => format!("park on orbit {slot} got no outcome from {remote} in {secs} s"),
        }
    }

    /// Carries out what a transfer input decided.
    pub(crate) fn transfer_progress(self: &Arc<Self>, progress: Progress) {
        match progress {
            Progress::Pending => {}
            Progress::Succeeded { call, target } => {
                // Our leg ends; end_call asks the transfers and records "parked on <slot>".
                let me = self.clone();
                tokio::spawn(async move { me.hangup_with(call, EndReason::ParkedOnOrbit { slot: target }).await });
            }
            Progress::Failed { call, target, why } => {
                let why = self.transfer_failure(call, &target, &why);
                self.orbit_park_failed(call, &why);
            }
        }
    }

    /// The call stays with us: parked locally, and the user is told why.
    fn orbit_park_failed(self: &Arc<Self>, id: CallId, why: &str) {
        self.emit(PhoneEvent::Warning { message: why.to_string() });
        let parked = self.info(id).map(|c| c.parked_since_ms.is_some()).unwrap_or(true);
        if !parked {
            if let Err(e) = self.park(id) {
                tracing::debug!("could not park call {id} locally: {e}");
            }
        }
    }

    /// Whether a NOTIFY on this call's dialog is REFER progress for an orbit park.
    pub(crate) fn is_parking_on_orbit(&self, sip_call_id: &str) -> bool {
        self.state.lock().unwrap().transfers.is_under_way(sip_call_id)
    }

    /// REFER progress (RFC 3515 NOTIFY with a message/sipfrag body) for an orbit park.
    pub(crate) async fn on_orbit_refer_notify(self: &Arc<Self>, sip_call_id: &str, req: Request, reply: Reply) {
        reply.status(200).await;
        let body = req.body_text();
        let Some((code, phrase)) = shared_park::sipfrag_status(&body) else {
            self.emit(PhoneEvent::Warning { message: format!("unreadable transfer progress (sipfrag): {:?}", body.trim()) });
            return;
        };
        let progress = self.state.lock().unwrap().transfers.notified(sip_call_id, code, &phrase);
        self.transfer_progress(progress);
    }

    /// How a call that is being parked on an orbit ended: if the transfer went through (or
    /// the transferee hung up after accepting it), it was parked, whoever sent the BYE.
    pub(crate) fn orbit_end_reason(&self, sip_call_id: &str, reason: EndReason) -> EndReason {
        let remote = reason == EndReason::RemoteHangup;
        let transferred = self.state.lock().unwrap().transfers.ended(sip_call_id, remote);
        match (reason, transferred) {
            (EndReason::ParkedOnOrbit { slot }, _) => EndReason::ParkedOnOrbit { slot },
            (EndReason::RemoteHangup | EndReason::LocalHangup, Some(slot)) => EndReason::ParkedOnOrbit { slot },
            (other, _) => other,
        }
    }
}
