//! The phone's set of calls as one pure state machine: which call is active (has the
//! microphone and speaker; at most one), which are parked (held by us, hearing hold music),
//! which the peer holds (held by remote), and which re-INVITE each call still needs.
//!
//! `PhoneCore` feeds it inputs (answer, dial, park, switch, re-INVITE results, remote offers,
//! call ended, clock ticks) and carries out the [`Action`]s it returns: send a re-INVITE with a
//! direction, route audio (the active call gets the microphone and speaker, every other call
//! gets hold music and its audio is discarded), emit `CallUpdated`, warn, wake up later.
//!
//! A local conference generalises "the active call" to a set: while the user is in it, its
//! calls (up to [`MAX_CONFERENCE`]) are all unheld and mixed with the microphone and each other
//! ([`Action::Mix`]) and no single call is active. Switching to another call parks the whole
//! conference (every party hears music) and switching to any of its calls brings it all back;
//! taking a party aside (park) or losing one leaves the others, and a conference down to one
//! call is that call, active.
//!
//! Hold is reconciled, not fire-and-forget: each call has what the user wants (`want_hold`)
//! and what SIP last negotiated (`held`); at most one re-INVITE per call is in flight (RFC 3261
//! 14.1), and when it completes the next one goes out if the wish changed meanwhile. A 491
//! (glare) waits a random time (2.1-4 s if we own the Call-ID, else 0-2 s, in 10 ms steps)
//! before trying again. No sockets, no sleeps: time comes in as unix milliseconds.

use crate::api::{CallId, PhoneError};
use hookflash_sip::sdp::Direction;
use std::collections::BTreeMap;

/// What `PhoneCore` must do after an input, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a re-INVITE offering this direction (sendonly/inactive to hold, sendrecv/recvonly
    /// to resume). Report the result with [`Switchboard::reinvite_done`].
    Reinvite { id: CallId, direction: Direction },
    /// Route audio: this call (if any) gets the microphone and speaker, every other call gets
    /// hold music and its received audio is discarded.
    Route { active: Option<CallId> },
    /// The user's conference is now these calls, mixed with each other and the microphone
    /// (empty: no conference in the user's ear). Comes with `Route { active: None }` when on.
    Mix { members: Vec<CallId> },
    /// The call's `active` / `parked_since_ms` / `held_by_remote` changed: emit `CallUpdated`.
    Updated(CallId),
    /// Tell the user (hold refused...); the calls stay consistent.
    Warning(String),
    /// Call [`Switchboard::tick`] at this unix-ms time (glare retry, park recall).
    WakeAt(i64),
    /// The call has been parked longer than the recall time: remind the user (once per park).
    Recall(CallId),
}

/// How our last re-INVITE ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReinviteOutcome {
    /// 2xx: the offered direction is in force. `remote_hold`: what the answer says about the
    /// peer holding us (its answer does not want our audio), when our offer let it say so
    /// (we offered to send); None when it cannot tell (we offered recvonly/inactive).
    Accepted { remote_hold: Option<bool> },
    /// 491 Request Pending. `roll` is a random number in 0..=1000 that picks the back-off.
    Glare { roll: u16 },
    /// Any other failure (4xx-6xx, time-out): `reason` is e.g. "488" or "timed out".
    Refused { reason: String },
}

/// What front ends show about a call's place on the switchboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct View {
    pub active: bool,
    pub parked_since_ms: Option<i64>,
    pub held_by_remote: bool,
    /// The call is one of the local conference's (mixed with the others while `in_conference`).
    pub conference: bool,
}

/// The most calls one local conference mixes (the user not counted).
pub const MAX_CONFERENCE: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Ringing here, or calling out.
    Setup,
    /// A confirmed dialog with media.
    Connected,
}

#[derive(Debug, Clone)]
struct Slot {
    phase: Phase,
    /// We created the Call-ID (outgoing call): glare back-off 2.1-4 s, else 0-2 s.
    owns_call_id: bool,
    /// The peer's name for warnings.
    remote: String,
    want_hold: bool,
    /// SIP state as the peer knows it: our last accepted offer/answer did not take its audio
    /// (a hold, or an answer to an offer that sent us none).
    held: bool,
    /// Target hold state of the re-INVITE in flight.
    in_flight: Option<bool>,
    retry_at_ms: Option<i64>,
    remote_hold: bool,
    parked_since_ms: Option<i64>,
    recalled: bool,
}

/// The set of calls and which one is active.
#[derive(Debug, Clone, Default)]
pub struct Switchboard {
    calls: BTreeMap<CallId, Slot>,
    active: Option<CallId>,
    /// Remind the user after a call has been parked this long (ms); None = never.
    recall_after_ms: Option<i64>,
    /// The local conference's calls, in the order they joined (empty: none).
    conference: Vec<CallId>,
    /// The user is in the conference (its calls unheld and mixed); else it is parked.
    in_conference: bool,
}

/// Back-off after a 491, RFC 3261 14.1: the Call-ID owner waits 2.1-4 s, the other side 0-2 s,
/// in units of 10 ms. `roll` (0..=1000) picks the point in the range.
pub fn glare_delay_ms(owns_call_id: bool, roll: u16) -> i64 {
    let roll = roll.min(1000) as i64;
    let (lo, hi) = if owns_call_id { (210, 400) } else { (0, 200) }; // tens of ms
    (lo + (hi - lo) * roll / 1000) * 10
}

/// The direction we offer: hold = sendonly (inactive if the peer holds us, RFC 3264 8.4);
/// resume = sendrecv (recvonly if the peer holds us).
pub fn offer_direction(hold: bool, remote_hold: bool) -> Direction {
    match (hold, remote_hold) {
        (true, false) => Direction::SendOnly,
        (true, true) => Direction::Inactive,
        (false, false) => Direction::SendRecv,
        (false, true) => Direction::RecvOnly,
    }
}

/// Our answer's direction to an offer whose mirrored direction is `mirrored`, when we
/// (don't) hold: holding removes our receiving half.
pub fn answer_direction(mirrored: Direction, hold: bool) -> Direction {
    if !hold {
        return mirrored;
    }
    match mirrored {
        Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
        Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
    }
}

impl Switchboard {
    pub fn new(recall_after_ms: Option<i64>) -> Self {
        Switchboard {
            recall_after_ms,
            ..Default::default()
        }
    }

    /// Remind after a call has been parked this long (ms); None = never. Applies to parks from now on.
    pub fn set_recall_after(&mut self, ms: Option<i64>) {
        self.recall_after_ms = ms;
    }

    /// The call that has the microphone and speaker.
    pub fn active(&self) -> Option<CallId> {
        self.active
    }

    pub fn view(&self, id: CallId) -> View {
        match self.calls.get(&id) {
            Some(s) => View {
                active: self.active == Some(id),
                parked_since_ms: s.parked_since_ms,
                held_by_remote: s.remote_hold,
                conference: self.conference.contains(&id),
            },
            None => View::default(),
        }
    }

    /// The local conference's calls (empty: none) and whether the user is in it.
    pub fn conference(&self) -> (&[CallId], bool) {
        (&self.conference, self.in_conference)
    }

    /// Merges the active call (if connected), the conference (if any) and `ids` into one
    /// conference the user is in: each of them is resumed and mixed with the others. At least
    /// two calls and at most [`MAX_CONFERENCE`]; every one connected.
    pub fn merge(&mut self, ids: &[CallId], now_ms: i64) -> Result<Vec<Action>, PhoneError> {
        let mut members: Vec<CallId> = self.conference.clone();
        let active = self.active.filter(|a| {
            self.calls
                .get(a)
                .is_some_and(|s| s.phase == Phase::Connected)
        });
        for id in active.iter().chain(ids) {
            if !members.contains(id) {
                members.push(*id);
            }
        }
        for id in &members {
            self.check_connected(*id, "put in a conference")?;
        }
        if members.len() < 2 {
            let only = members
                .first()
                .map_or_else(|| "no call".to_string(), |m| format!("only call {m}"));
            return Err(PhoneError::Other(format!(
                "a conference needs two calls to merge, and there is {only}"
            )));
        }
        if members.len() > MAX_CONFERENCE {
            return Err(PhoneError::Other(format!(
                "a conference holds at most {MAX_CONFERENCE} other parties; merging would make it {}",
                members.len()
            )));
        }
        let mut out = Vec::new();
        if let Some(old) = self.active.take() {
            if !members.contains(&old) {
                // A call still ringing out loses the speaker (parked when it connects).
                self.park_active_call(old, now_ms, &mut out);
            }
            out.push(Action::Route { active: None });
        }
        self.conference = members;
        self.focus_conference(&mut out);
        Ok(out)
    }

    /// Whether no re-INVITE of ours is in flight or waiting to be retried for this call (its
    /// hold or resume is answered, one way or the other).
    pub fn reinvite_settled(&self, id: CallId) -> bool {
        self.calls
            .get(&id)
            .is_none_or(|s| s.in_flight.is_none() && s.retry_at_ms.is_none())
    }

    /// Whether a re-INVITE of ours is in flight for this call (an incoming one gets 491).
    #[cfg(test)]
    pub fn reinvite_pending(&self, id: CallId) -> bool {
        self.calls.get(&id).is_some_and(|s| s.in_flight.is_some())
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// An incoming call starts ringing.
    pub fn incoming(&mut self, id: CallId, remote: &str) {
        self.calls.insert(id, Slot::new(false, remote));
    }

    /// We dial out: the active call is parked first and the new call becomes the active one
    /// (its ringback and then its audio use the speaker).
    pub fn dial(&mut self, id: CallId, remote: &str, now_ms: i64) -> Vec<Action> {
        let mut out = Vec::new();
        self.park_active(now_ms, &mut out);
        self.calls.insert(id, Slot::new(true, remote));
        self.active = Some(id);
        out.push(Action::Route { active: Some(id) });
        out.push(Action::Updated(id));
        out
    }

    /// We answer a ringing call: the active call is parked first, then this one is active.
    pub fn answer(&mut self, id: CallId, now_ms: i64) -> Result<Vec<Action>, PhoneError> {
        let slot = self.calls.get(&id).ok_or(PhoneError::NoSuchCall(id))?;
        if slot.phase != Phase::Setup || slot.owns_call_id {
            return Err(PhoneError::Other(format!("call {id} is not ringing here")));
        }
        let mut out = Vec::new();
        self.park_active(now_ms, &mut out);
        let slot = self.calls.get_mut(&id).expect("checked above");
        slot.phase = Phase::Connected;
        self.active = Some(id);
        out.push(Action::Route { active: Some(id) });
        out.push(Action::Updated(id));
        Ok(out)
    }

    /// We answer a ringing call in the place of `old` (an INVITE with `Replaces`): it gets
    /// `old`'s place, active if `old` was or nothing else is, else parked. Returns true when it
    /// is answered parked (our answer holds it). `old` leaves the board quietly: it is being
    /// hung up, so no re-INVITE goes to it and the speaker moves straight to the new call.
    pub fn replace(
        &mut self,
        id: CallId,
        old: CallId,
        now_ms: i64,
    ) -> Result<(bool, Vec<Action>), PhoneError> {
        let slot = self.calls.get(&id).ok_or(PhoneError::NoSuchCall(id))?;
        if slot.phase != Phase::Setup || slot.owns_call_id || id == old {
            return Err(PhoneError::Other(format!("call {id} is not ringing here")));
        }
        if let Some(at) = self.conference.iter().position(|c| *c == old) {
            // It takes the old call's seat in the conference.
            self.calls.remove(&old);
            self.conference[at] = id;
            let slot = self.calls.get_mut(&id).expect("checked above");
            slot.phase = Phase::Connected;
            let mut out = Vec::new();
            if self.in_conference {
                out.push(Action::Mix {
                    members: self.conference.clone(),
                });
                out.push(Action::Updated(id));
                return Ok((false, out));
            }
            slot.want_hold = true;
            slot.held = true;
            slot.parked_since_ms = Some(now_ms);
            out.push(Action::Updated(id));
            self.recall_wake(id, &mut out);
            return Ok((true, out));
        }
        let old_parked = self.calls.remove(&old).is_some_and(|s| s.want_hold);
        if self.active == Some(old) {
            self.active = None;
        }
        let parked = old_parked || self.active.is_some() || self.in_conference;
        let mut out = Vec::new();
        let slot = self.calls.get_mut(&id).expect("checked above");
        slot.phase = Phase::Connected;
        if parked {
            slot.want_hold = true;
            slot.held = true;
            slot.parked_since_ms = Some(now_ms);
            out.push(Action::Updated(id));
            self.recall_wake(id, &mut out);
        } else {
            self.active = Some(id);
            out.push(Action::Route { active: Some(id) });
            out.push(Action::Updated(id));
        }
        Ok((parked, out))
    }

    /// Our outgoing call was answered. If the user moved on to another call meanwhile, this
    /// one is parked straight away.
    pub fn connected(&mut self, id: CallId, now_ms: i64) -> Vec<Action> {
        let mut out = Vec::new();
        let active = self.active;
        let Some(slot) = self.calls.get_mut(&id) else {
            return out;
        };
        slot.phase = Phase::Connected;
        if active == Some(id) {
            out.push(Action::Route { active: Some(id) });
        } else {
            slot.want_hold = true;
            slot.parked_since_ms = Some(now_ms);
            out.push(Action::Updated(id));
            self.reconcile(id, &mut out);
            self.recall_wake(id, &mut out);
        }
        out
    }

    /// Parks a connected call: holds it with hold music; if it was active, none is now.
    pub fn park(&mut self, id: CallId, now_ms: i64) -> Result<Vec<Action>, PhoneError> {
        self.check_connected(id, "parked")?;
        let mut out = Vec::new();
        self.leave_conference(id, &mut out);
        if self.active == Some(id) {
            self.active = None;
            out.push(Action::Route { active: None });
        }
        self.park_one(id, now_ms, &mut out);
        Ok(out)
    }

    /// Makes a connected call the active one, parking the active call first. The audio route
    /// moves in one step, so the microphone never reaches two calls.
    pub fn switch_to(&mut self, id: CallId, now_ms: i64) -> Result<Vec<Action>, PhoneError> {
        self.check_connected(id, "made active")?;
        if self.active == Some(id) || (self.in_conference && self.conference.contains(&id)) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        if self.conference.contains(&id) {
            // Back to the parked conference: all of it.
            if let Some(old) = self.active.take() {
                self.park_one(old, now_ms, &mut out);
                out.push(Action::Route { active: None });
            }
            self.focus_conference(&mut out);
            return Ok(out);
        }
        self.park_conference(now_ms, &mut out);
        if let Some(old) = self.active.take() {
            self.park_one(old, now_ms, &mut out);
        }
        self.active = Some(id);
        out.push(Action::Route { active: Some(id) });
        let slot = self.calls.get_mut(&id).expect("checked above");
        slot.want_hold = false;
        slot.parked_since_ms = None;
        slot.recalled = false;
        out.push(Action::Updated(id));
        self.reconcile(id, &mut out);
        Ok(out)
    }

    /// The peer sent a re-INVITE offer; `mirrored` is its direction seen from our side
    /// (its sendonly is our recvonly). Returns whether our answer holds (so the core
    /// answers with [`answer_direction`]), or `Err(())` when our own re-INVITE is in flight
    /// and the core must answer 491.
    #[allow(clippy::result_unit_err)]
    pub fn remote_offer(
        &mut self,
        id: CallId,
        mirrored: Direction,
    ) -> Result<(bool, Vec<Action>), ()> {
        // The peer holds us when its offer does not want our audio (sendonly/inactive).
        let remote_hold = !mirrored.sends();
        let mut out = Vec::new();
        let Some(slot) = self.calls.get_mut(&id) else {
            return Ok((false, out));
        };
        if slot.in_flight.is_some() {
            return Err(());
        }
        let hold = slot.want_hold;
        if hold || mirrored.receives() {
            // Our answer carries what we want now (a hold always can; wanting the peer's audio
            // only when the offer sends some), so a re-INVITE waiting for a glare retry is done.
            slot.held = hold;
            slot.retry_at_ms = None;
        } else {
            // The offer sends us nothing (the peer thinks we hold it): our answer cannot say
            // we want its audio. The peer still sees us holding, so our resume must go out —
            // now, or at the glare retry already scheduled (else its held_by_remote goes stale).
            slot.held = true;
        }
        if slot.remote_hold != remote_hold {
            slot.remote_hold = remote_hold;
            out.push(Action::Updated(id));
        }
        self.reconcile(id, &mut out);
        Ok((hold, out))
    }

    /// Our re-INVITE for this call completed.
    pub fn reinvite_done(
        &mut self,
        id: CallId,
        outcome: ReinviteOutcome,
        now_ms: i64,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(slot) = self.calls.get_mut(&id) else {
            return out;
        };
        let Some(target) = slot.in_flight.take() else {
            return out;
        };
        match outcome {
            ReinviteOutcome::Accepted { remote_hold } => {
                slot.held = target;
                if let Some(r) = remote_hold.filter(|r| *r != slot.remote_hold) {
                    slot.remote_hold = r;
                    out.push(Action::Updated(id));
                }
            }
            ReinviteOutcome::Glare { roll } => {
                let at = now_ms + glare_delay_ms(slot.owns_call_id, roll);
                slot.retry_at_ms = Some(at);
                out.push(Action::WakeAt(at));
                return out;
            }
            ReinviteOutcome::Refused { reason } => {
                let what = if target { "hold" } else { "resume" };
                out.push(Action::Warning(format!(
                    "{what} refused ({reason}) by {}",
                    slot.remote
                )));
                // Stop asking: the call stays as SIP last negotiated it.
                slot.want_hold = slot.held;
                if !slot.held && slot.parked_since_ms.take().is_some() {
                    out.push(Action::Updated(id));
                    // Not held after all: with no other call active it gets the audio back
                    // (else it would hear hold music while SIP says it is not held).
                    if self.active.is_none() && !self.in_conference {
                        self.leave_conference(id, &mut out);
                        self.active = Some(id);
                        out.push(Action::Route { active: Some(id) });
                    }
                }
            }
        }
        self.reconcile(id, &mut out);
        out
    }

    /// Time passed: retries after glare, park reminders.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Action> {
        let mut out = Vec::new();
        let ids: Vec<CallId> = self.calls.keys().copied().collect();
        for id in ids {
            let slot = self.calls.get_mut(&id).expect("listed above");
            if slot.retry_at_ms.is_some_and(|t| t <= now_ms) {
                slot.retry_at_ms = None;
                self.reconcile(id, &mut out);
            }
            let slot = self.calls.get_mut(&id).expect("listed above");
            if let (Some(since), Some(after)) = (slot.parked_since_ms, self.recall_after_ms) {
                if !slot.recalled && since + after <= now_ms {
                    slot.recalled = true;
                    out.push(Action::Recall(id));
                }
            }
        }
        out
    }

    /// The call is over (BYE, CANCEL, failure, our hang-up). Nothing else is resumed.
    pub fn ended(&mut self, id: CallId) -> Vec<Action> {
        let mut out = Vec::new();
        self.leave_conference(id, &mut out);
        if self.calls.remove(&id).is_some() && self.active == Some(id) {
            self.active = None;
            out.push(Action::Route { active: None });
        }
        out
    }

    // ------------------------------------------------------------------ helpers

    fn check_connected(&self, id: CallId, what: &str) -> Result<(), PhoneError> {
        match self.calls.get(&id) {
            None => Err(PhoneError::NoSuchCall(id)),
            Some(s) if s.phase != Phase::Connected => Err(PhoneError::Other(format!(
                "call {id} is not connected, so it cannot be {what}"
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Parks whatever is active (if it is connected; a call still ringing out just loses the
    /// speaker and is parked when it connects), or the conference the user is in.
    fn park_active(&mut self, now_ms: i64, out: &mut Vec<Action>) {
        self.park_conference(now_ms, out);
        if let Some(old) = self.active.take() {
            self.park_active_call(old, now_ms, out);
        }
    }

    fn park_active_call(&mut self, old: CallId, now_ms: i64, out: &mut Vec<Action>) {
        if self
            .calls
            .get(&old)
            .is_some_and(|s| s.phase == Phase::Connected)
        {
            self.park_one(old, now_ms, out);
        } else {
            out.push(Action::Updated(old));
        }
    }

    /// The user leaves the conference for another call: every party is parked (music), and
    /// the conference stays together to come back to.
    fn park_conference(&mut self, now_ms: i64, out: &mut Vec<Action>) {
        if !self.in_conference {
            return;
        }
        self.in_conference = false;
        out.push(Action::Mix {
            members: Vec::new(),
        });
        for id in self.conference.clone() {
            self.park_one(id, now_ms, out);
        }
    }

    /// The user is in the conference: each party unheld, all mixed.
    fn focus_conference(&mut self, out: &mut Vec<Action>) {
        self.in_conference = true;
        for id in self.conference.clone() {
            let slot = self
                .calls
                .get_mut(&id)
                .expect("conference calls are on the board");
            slot.want_hold = false;
            slot.parked_since_ms = None;
            slot.recalled = false;
            out.push(Action::Updated(id));
            self.reconcile(id, out);
        }
        out.push(Action::Mix {
            members: self.conference.clone(),
        });
    }

    /// Call `id` leaves the conference (taken aside, or gone). The others stay; one left alone
    /// is a plain call again, active if the user was in the conference.
    fn leave_conference(&mut self, id: CallId, out: &mut Vec<Action>) {
        let Some(at) = self.conference.iter().position(|c| *c == id) else {
            return;
        };
        self.conference.remove(at);
        out.push(Action::Updated(id));
        if self.conference.len() > 1 {
            if self.in_conference {
                out.push(Action::Mix {
                    members: self.conference.clone(),
                });
            }
            return;
        }
        let last = self.conference.pop();
        let was_in = std::mem::take(&mut self.in_conference);
        if was_in {
            out.push(Action::Mix {
                members: Vec::new(),
            });
        }
        if let Some(last) = last {
            if was_in {
                self.active = Some(last);
                out.push(Action::Route { active: Some(last) });
            }
            out.push(Action::Updated(last));
        }
    }

    fn park_one(&mut self, id: CallId, now_ms: i64, out: &mut Vec<Action>) {
        let Some(slot) = self.calls.get_mut(&id) else {
            return;
        };
        if slot.want_hold {
            return;
        }
        slot.want_hold = true;
        slot.parked_since_ms = Some(now_ms);
        slot.recalled = false;
        out.push(Action::Updated(id));
        self.reconcile(id, out);
        self.recall_wake(id, out);
    }

    fn recall_wake(&self, id: CallId, out: &mut Vec<Action>) {
        if let (Some(after), Some(since)) = (
            self.recall_after_ms,
            self.calls.get(&id).and_then(|s| s.parked_since_ms),
        ) {
            out.push(Action::WakeAt(since + after));
        }
    }

    /// Sends the re-INVITE that brings SIP in line with the wish, unless one is in flight or
    /// waiting for a glare retry.
    fn reconcile(&mut self, id: CallId, out: &mut Vec<Action>) {
        let Some(slot) = self.calls.get_mut(&id) else {
            return;
        };
        if slot.phase != Phase::Connected || slot.in_flight.is_some() || slot.retry_at_ms.is_some()
        {
            return;
        }
        if slot.want_hold != slot.held {
            slot.in_flight = Some(slot.want_hold);
            out.push(Action::Reinvite {
                id,
                direction: offer_direction(slot.want_hold, slot.remote_hold),
            });
        }
    }
}

impl Slot {
    fn new(owns_call_id: bool, remote: &str) -> Slot {
        Slot {
            phase: Phase::Setup,
            owns_call_id,
            remote: remote.to_string(),
            want_hold: false,
            held: false,
            in_flight: None,
            retry_at_ms: None,
            remote_hold: false,
            parked_since_ms: None,
            recalled: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reinvites(actions: &[Action]) -> Vec<(CallId, Direction)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Reinvite { id, direction } => Some((*id, *direction)),
                _ => None,
            })
            .collect()
    }

    fn routes(actions: &[Action]) -> Vec<Option<CallId>> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Route { active } => Some(*active),
                _ => None,
            })
            .collect()
    }

    /// Incoming call `id` answered and every re-INVITE it causes accepted.
    fn answered(sb: &mut Switchboard, id: CallId, now: i64) -> Vec<Action> {
        sb.incoming(id, &format!("sip:p{id}@h"));
        let a = sb.answer(id, now).unwrap();
        for (rid, _) in reinvites(&a) {
            sb.reinvite_done(rid, ReinviteOutcome::Accepted { remote_hold: None }, now);
        }
        a
    }

    #[test]
    fn answering_while_busy_parks_the_active_call_first() {
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0);
        assert_eq!(sb.active(), Some(1));
        sb.incoming(2, "sip:b@h");
        let a = sb.answer(2, 1000).unwrap();
        // The hold for call 1 comes before the route to call 2.
        let hold_at = a
            .iter()
            .position(|x| matches!(x, Action::Reinvite { id: 1, .. }))
            .unwrap();
        let route_at = a
            .iter()
            .position(|x| *x == Action::Route { active: Some(2) })
            .unwrap();
        assert!(hold_at < route_at, "{a:?}");
        assert_eq!(reinvites(&a), vec![(1, Direction::SendOnly)]);
        assert_eq!(sb.active(), Some(2));
        assert_eq!(sb.view(1).parked_since_ms, Some(1000));
        assert!(!sb.view(1).active);
        assert!(sb.view(2).active);
    }

    #[test]
    fn a_call_taking_anothers_place_gets_that_place_without_a_reinvite() {
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0);
        answered(&mut sb, 2, 10); // 1 parked, 2 active
                                  // In the active call's place: active at once, no hold for anyone.
        sb.incoming(3, "sip:c@h");
        let (parked, a) = sb.replace(3, 2, 20).unwrap();
        assert!(!parked);
        assert!(reinvites(&a).is_empty(), "{a:?}");
        assert_eq!(routes(&a), vec![Some(3)]);
        assert_eq!(sb.active(), Some(3));
        assert_eq!(sb.len(), 2, "2 left the board");
        // In the parked call's place while 3 talks: answered parked, 3 keeps the speaker.
        sb.incoming(4, "sip:d@h");
        let (parked, a) = sb.replace(4, 1, 30).unwrap();
        assert!(parked);
        assert!(reinvites(&a).is_empty() && routes(&a).is_empty(), "{a:?}");
        assert_eq!(sb.active(), Some(3));
        assert_eq!(sb.view(4).parked_since_ms, Some(30));
        // Switching to it later resumes it like any parked call.
        assert_eq!(
            reinvites(&sb.switch_to(4, 40).unwrap()),
            vec![(3, Direction::SendOnly), (4, Direction::SendRecv)]
        );
        // Only a call ringing here can take a place.
        assert!(sb.replace(4, 3, 50).is_err());
    }

    #[test]
    fn switch_parks_the_active_one_then_resumes_the_other() {
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0);
        answered(&mut sb, 2, 10); // call 1 parked and held
        let a = sb.switch_to(1, 20).unwrap();
        assert_eq!(
            reinvites(&a),
            vec![(2, Direction::SendOnly), (1, Direction::SendRecv)]
        );
        assert_eq!(
            routes(&a),
            vec![Some(1)],
            "one route change, straight to the new call"
        );
        assert_eq!(sb.active(), Some(1));
        assert_eq!(sb.view(1).parked_since_ms, None);
        assert_eq!(sb.view(2).parked_since_ms, Some(20));
        // Switching to the active call does nothing.
        assert!(sb.switch_to(1, 30).unwrap().is_empty());
    }

    #[test]
    fn park_and_switch_need_a_connected_call() {
        let mut sb = Switchboard::new(None);
        sb.incoming(3, "sip:c@h");
        let e = sb.park(3, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "call 3 is not connected, so it cannot be parked"
        );
        assert_eq!(sb.switch_to(9, 0).unwrap_err(), PhoneError::NoSuchCall(9));
        assert!(sb.answer(9, 0).is_err());
    }

    #[test]
    fn parking_the_active_call_leaves_none_active() {
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0);
        let a = sb.park(1, 5).unwrap();
        assert_eq!(routes(&a), vec![None]);
        assert_eq!(reinvites(&a), vec![(1, Direction::SendOnly)]);
        assert_eq!(sb.active(), None);
        // Parking again while the hold is in flight sends nothing more.
        assert!(reinvites(&sb.park(1, 6).unwrap()).is_empty());
    }

    #[test]
    fn hold_refused_keeps_the_call_up_and_not_parked() {
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0);
        sb.park(1, 5).unwrap();
        let a = sb.reinvite_done(
            1,
            ReinviteOutcome::Refused {
                reason: "488".into(),
            },
            6,
        );
        assert!(
            a.contains(&Action::Warning("hold refused (488) by sip:p1@h".into())),
            "{a:?}"
        );
        assert!(a.contains(&Action::Updated(1)));
        assert_eq!(sb.view(1).parked_since_ms, None);
        assert!(reinvites(&a).is_empty(), "no retry loop");
        assert_eq!(sb.len(), 1);
        // Nothing else was active: it is the active call again.
        assert_eq!(routes(&a), vec![Some(1)]);
        assert_eq!(sb.active(), Some(1));
        assert!(sb.switch_to(1, 7).unwrap().is_empty());

        // Refused while another call is active: not parked, and the active call keeps the audio.
        answered(&mut sb, 2, 8); // parks 1 (accepted)
        let a = sb.switch_to(1, 9).unwrap(); // hold 2 + resume 1
        assert_eq!(
            reinvites(&a),
            vec![(2, Direction::SendOnly), (1, Direction::SendRecv)]
        );
        sb.reinvite_done(1, ReinviteOutcome::Accepted { remote_hold: None }, 10);
        let a = sb.reinvite_done(
            2,
            ReinviteOutcome::Refused {
                reason: "500".into(),
            },
            10,
        );
        assert!(
            a.contains(&Action::Warning("hold refused (500) by sip:p2@h".into())),
            "{a:?}"
        );
        assert!(routes(&a).is_empty(), "{a:?}");
        assert_eq!(sb.active(), Some(1));
        assert_eq!(sb.view(2).parked_since_ms, None);
        // The user can still switch to it: SIP was never held, so no re-INVITE is needed.
        let a = sb.switch_to(2, 11).unwrap();
        assert_eq!(reinvites(&a), vec![(1, Direction::SendOnly)]);
        assert_eq!(sb.active(), Some(2));
    }

    #[test]
    fn bye_while_parked_or_during_a_switch_leaves_a_consistent_board() {
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0);
        answered(&mut sb, 2, 1);
        // Call 1 (parked) hangs up.
        assert!(sb.ended(1).is_empty());
        assert_eq!(sb.active(), Some(2));
        answered(&mut sb, 3, 2); // 2 parked
                                 // Switch to 2, and 2 hangs up before its resume completes.
        let a = sb.switch_to(2, 3).unwrap();
        assert_eq!(
            reinvites(&a),
            vec![(3, Direction::SendOnly), (2, Direction::SendRecv)]
        );
        let a = sb.ended(2);
        assert_eq!(routes(&a), vec![None]);
        assert!(
            sb.reinvite_done(2, ReinviteOutcome::Accepted { remote_hold: None }, 4)
                .is_empty(),
            "late result ignored"
        );
        assert_eq!(sb.active(), None);
        // Call 3 is parked and still there; nothing resumed it behind the user's back.
        assert_eq!(sb.view(3).parked_since_ms, Some(3));
        sb.reinvite_done(3, ReinviteOutcome::Accepted { remote_hold: None }, 4);
        let a = sb.switch_to(3, 5).unwrap();
        assert_eq!(reinvites(&a), vec![(3, Direction::SendRecv)]);
    }

    #[test]
    fn a_change_of_mind_during_a_reinvite_is_sent_after_it() {
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0);
        answered(&mut sb, 2, 1);
        sb.switch_to(1, 2).unwrap(); // hold 2 + resume 1 in flight
        let a = sb.switch_to(2, 3).unwrap(); // back again before either completes
        assert!(
            reinvites(&a).is_empty(),
            "one re-INVITE per dialog at a time: {a:?}"
        );
        assert_eq!(routes(&a), vec![Some(2)]);
        // Call 1's resume completes: it must now be held again.
        let a = sb.reinvite_done(1, ReinviteOutcome::Accepted { remote_hold: None }, 4);
        assert_eq!(reinvites(&a), vec![(1, Direction::SendOnly)]);
        // Call 2's hold completes: it must be resumed.
        let a = sb.reinvite_done(2, ReinviteOutcome::Accepted { remote_hold: None }, 4);
        assert_eq!(reinvites(&a), vec![(2, Direction::SendRecv)]);
    }

    #[test]
    fn glare_retries_after_the_rfc_3261_delay() {
        assert_eq!(glare_delay_ms(true, 0), 2100);
        assert_eq!(glare_delay_ms(true, 1000), 4000);
        assert_eq!(glare_delay_ms(false, 0), 0);
        assert_eq!(glare_delay_ms(false, 1000), 2000);
        assert_eq!(glare_delay_ms(false, 60000), 2000);
        assert_eq!(glare_delay_ms(true, 500) % 10, 0);

        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0); // incoming: we don't own the Call-ID
        sb.park(1, 1000).unwrap();
        let a = sb.reinvite_done(1, ReinviteOutcome::Glare { roll: 500 }, 1100);
        assert_eq!(a, vec![Action::WakeAt(2100)]);
        assert!(sb.tick(2099).is_empty());
        assert_eq!(reinvites(&sb.tick(2100)), vec![(1, Direction::SendOnly)]);

        // Outgoing call: we own the Call-ID.
        sb.dial(2, "sip:x@h", 3000);
        sb.connected(2, 3100);
        sb.park(2, 3200).unwrap();
        let a = sb.reinvite_done(2, ReinviteOutcome::Glare { roll: 0 }, 3300);
        assert_eq!(a, vec![Action::WakeAt(5400)]);
    }

    #[test]
    fn the_peers_offer_during_our_reinvite_gets_491_and_an_offer_later_completes_our_hold() {
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0);
        sb.park(1, 1).unwrap();
        assert!(sb.reinvite_pending(1));
        assert_eq!(sb.remote_offer(1, Direction::SendRecv), Err(()));
        sb.reinvite_done(1, ReinviteOutcome::Glare { roll: 0 }, 2);
        // While we wait, the peer's own re-INVITE arrives: our answer holds, no retry needed.
        let (hold, _) = sb.remote_offer(1, Direction::SendRecv).unwrap();
        assert!(hold);
        assert!(reinvites(&sb.tick(10_000)).is_empty());
        assert_eq!(
            answer_direction(Direction::SendRecv, true),
            Direction::SendOnly
        );
        assert_eq!(
            answer_direction(Direction::RecvOnly, true),
            Direction::Inactive
        );
        assert_eq!(
            answer_direction(Direction::RecvOnly, false),
            Direction::RecvOnly
        );
    }

    /// Both ends park each other under 491s: our resume loses a glare, and while we wait the
    /// peer's own re-INVITE arrives offering `inactive` (it holds us and thinks we hold it).
    /// Our answer can only be `inactive` too, which does not tell the peer we resumed: the
    /// resume must still go out, or the peer shows us holding it for ever.
    #[test]
    fn a_resume_that_lost_a_glare_is_still_sent_after_answering_an_offer_that_cannot_carry_it() {
        let mut sb = Switchboard::new(None);
        sb.dial(1, "sip:peer@h", 0); // we own the Call-ID: 2.1-4 s back-off, the peer 0-2 s
        sb.connected(1, 1);
        sb.park(1, 2).unwrap();
        // The peer holds us too: its answer is inactive.
        sb.reinvite_done(
            1,
            ReinviteOutcome::Accepted {
                remote_hold: Some(true),
            },
            3,
        );
        assert!(sb.view(1).held_by_remote);
        let a = sb.switch_to(1, 4).unwrap();
        assert_eq!(reinvites(&a), vec![(1, Direction::RecvOnly)]);
        // The peer's re-INVITE crosses ours: we answer it 491, it answers ours 491.
        assert_eq!(sb.remote_offer(1, Direction::Inactive), Err(()));
        let a = sb.reinvite_done(1, ReinviteOutcome::Glare { roll: 0 }, 5);
        assert_eq!(a, vec![Action::WakeAt(2105)]);
        // The peer retries first (it waits 0-2 s), still holding: `inactive`, mirrored inactive.
        let (hold, _) = sb.remote_offer(1, Direction::Inactive).unwrap();
        assert!(!hold, "we want the call back, so our answer does not hold");
        assert!(sb.view(1).held_by_remote);
        // Our resume is still owed: it goes out at the retry time, as recvonly (we are held).
        assert_eq!(reinvites(&sb.tick(2105)), vec![(1, Direction::RecvOnly)]);

        // Same without a glare wait: an offer that does not send to us while we want the call
        // (the peer thinks we hold it) gets our answer, then our resume straight after.
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 2, 0);
        let (hold, a) = sb.remote_offer(2, Direction::Inactive).unwrap();
        assert!(!hold);
        assert_eq!(reinvites(&a), vec![(2, Direction::RecvOnly)]);
        // An offer that sends to us lets our answer say we want the audio: nothing more.
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 3, 0);
        let (_, a) = sb.remote_offer(3, Direction::RecvOnly).unwrap();
        assert!(reinvites(&a).is_empty(), "{a:?}");
        assert!(sb.view(3).held_by_remote);
        // And a hold is always carried by our answer: a pending hold retry is done.
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 4, 0);
        sb.park(4, 1).unwrap();
        sb.reinvite_done(4, ReinviteOutcome::Glare { roll: 0 }, 2);
        let (hold, a) = sb.remote_offer(4, Direction::Inactive).unwrap();
        assert!(hold);
        assert!(reinvites(&a).is_empty());
        assert!(reinvites(&sb.tick(10_000)).is_empty());
    }

    #[test]
    fn remote_hold_is_shown_and_shapes_our_offers() {
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0);
        let (hold, a) = sb.remote_offer(1, Direction::RecvOnly).unwrap();
        assert!(!hold);
        assert_eq!(a, vec![Action::Updated(1)]);
        assert!(sb.view(1).held_by_remote);
        assert!(
            sb.view(1).active,
            "being held does not take the call off the active slot"
        );
        let a = sb.park(1, 2).unwrap();
        assert_eq!(reinvites(&a), vec![(1, Direction::Inactive)]);
        sb.reinvite_done(1, ReinviteOutcome::Accepted { remote_hold: None }, 3);
        let a = sb.switch_to(1, 4).unwrap();
        assert_eq!(reinvites(&a), vec![(1, Direction::RecvOnly)]);
        sb.reinvite_done(1, ReinviteOutcome::Accepted { remote_hold: None }, 5);
        let (_, a) = sb.remote_offer(1, Direction::SendRecv).unwrap();
        assert_eq!(a, vec![Action::Updated(1)]);
        assert!(!sb.view(1).held_by_remote);
        // The answer to our hold says the peer holds us too (inactive).
        sb.park(1, 6).unwrap();
        let a = sb.reinvite_done(
            1,
            ReinviteOutcome::Accepted {
                remote_hold: Some(true),
            },
            7,
        );
        assert_eq!(a, vec![Action::Updated(1)]);
        assert!(sb.view(1).held_by_remote);
    }

    #[test]
    fn eight_and_more_calls_have_exactly_one_active_at_every_step() {
        let mut sb = Switchboard::new(None);
        let mut now = 0;
        for id in 1..=10 {
            now += 1;
            answered(&mut sb, id, now);
            assert_eq!(sb.active(), Some(id));
            let parked = (1..id)
                .filter(|p| sb.view(*p).parked_since_ms.is_some())
                .count();
            assert_eq!(parked as u64, id - 1);
        }
        // Switch around in a scrambled order; complete every re-INVITE.
        for step in 0..40u64 {
            now += 1;
            let target = (step * 7) % 10 + 1;
            let a = sb.switch_to(target, now).unwrap();
            for (rid, _) in reinvites(&a) {
                let more =
                    sb.reinvite_done(rid, ReinviteOutcome::Accepted { remote_hold: None }, now);
                assert!(reinvites(&more).is_empty());
            }
            let actives: Vec<CallId> = (1..=10).filter(|i| sb.view(*i).active).collect();
            assert_eq!(actives, vec![target]);
            for i in (1..=10).filter(|i| *i != target) {
                assert!(
                    sb.view(i).parked_since_ms.is_some(),
                    "call {i} should be parked"
                );
            }
        }
    }

    #[test]
    fn dialling_parks_the_active_call_and_a_call_answered_after_the_user_moved_on_is_parked() {
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0);
        let a = sb.dial(2, "sip:b@h", 10);
        assert_eq!(reinvites(&a), vec![(1, Direction::SendOnly)]);
        assert_eq!(sb.active(), Some(2));
        sb.reinvite_done(1, ReinviteOutcome::Accepted { remote_hold: None }, 11);
        // The user goes back to call 1 while call 2 is still ringing out: not allowed to
        // switch to a ringing call, but switching to 1 works and 2 loses the speaker.
        assert!(sb.switch_to(2, 12).is_err());
        sb.switch_to(1, 12).unwrap();
        sb.reinvite_done(1, ReinviteOutcome::Accepted { remote_hold: None }, 12);
        let a = sb.connected(2, 13);
        assert_eq!(reinvites(&a), vec![(2, Direction::SendOnly)]);
        assert_eq!(sb.active(), Some(1));
        assert_eq!(sb.view(2).parked_since_ms, Some(13));
    }

    #[test]
    fn a_parked_call_is_recalled_once_after_the_configured_time() {
        let mut sb = Switchboard::new(Some(60_000));
        answered(&mut sb, 1, 0);
        let a = sb.park(1, 1000).unwrap();
        assert!(a.contains(&Action::WakeAt(61_000)));
        assert!(sb.tick(60_999).is_empty());
        assert_eq!(sb.tick(61_000), vec![Action::Recall(1)]);
        assert!(sb.tick(70_000).is_empty());
    }

    fn mixes(actions: &[Action]) -> Vec<Vec<CallId>> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Mix { members } => Some(members.clone()),
                _ => None,
            })
            .collect()
    }

    fn accept_all(sb: &mut Switchboard, actions: &[Action], now: i64) {
        for (rid, _) in reinvites(actions) {
            sb.reinvite_done(rid, ReinviteOutcome::Accepted { remote_hold: None }, now);
        }
    }

    /// Calls 1 and 2 answered (1 parked), then merged; every re-INVITE accepted.
    fn three_way(sb: &mut Switchboard) -> Vec<Action> {
        answered(sb, 1, 0);
        answered(sb, 2, 10);
        let a = sb.merge(&[1], 20).unwrap();
        accept_all(sb, &a, 20);
        a
    }

    #[test]
    fn merging_resumes_the_parked_call_and_mixes_it_with_the_active_one() {
        let mut sb = Switchboard::new(Some(60_000));
        let a = three_way(&mut sb);
        assert_eq!(
            reinvites(&a),
            vec![(1, Direction::SendRecv)],
            "only the parked call needs a resume"
        );
        assert_eq!(routes(&a), vec![None], "no single call has the microphone");
        assert_eq!(
            mixes(&a),
            vec![vec![2, 1]],
            "the active call first, then the merged ones"
        );
        assert_eq!(sb.conference(), (&[2, 1][..], true));
        assert_eq!(sb.active(), None);
        for id in [1, 2] {
            let v = sb.view(id);
            assert!(
                v.conference && !v.active && v.parked_since_ms.is_none(),
                "{id}: {v:?}"
            );
        }
        // No park recall for a call that is in the conference.
        assert!(sb.tick(120_000).is_empty());
    }

    #[test]
    fn a_conference_needs_two_connected_calls_and_holds_at_most_eight() {
        let mut sb = Switchboard::new(None);
        answered(&mut sb, 1, 0);
        assert!(matches!(sb.merge(&[], 1), Err(PhoneError::Other(m)) if m.contains("only call 1")));
        sb.incoming(2, "sip:b@h");
        assert!(
            matches!(sb.merge(&[2], 1), Err(PhoneError::Other(m)) if m.contains("not connected"))
        );
        assert!(matches!(sb.merge(&[9], 1), Err(PhoneError::NoSuchCall(9))));
        assert_eq!(sb.active(), Some(1), "a refused merge changes nothing");
        for id in 3..=10 {
            answered(&mut sb, id, id as i64);
        }
        // 10 is active; 1 and 3..=9 parked: 9 calls in all.
        let err = sb.merge(&[1, 3, 4, 5, 6, 7, 8, 9], 20).unwrap_err();
        assert!(
            matches!(&err, PhoneError::Other(m) if m.contains("at most 8")),
            "{err:?}"
        );
        assert!(sb.conference().0.is_empty());
        let a = sb.merge(&[1, 3, 4, 5, 6, 7, 8], 20).unwrap();
        assert_eq!(mixes(&a), vec![vec![10, 1, 3, 4, 5, 6, 7, 8]]);
    }

    #[test]
    fn switching_away_parks_the_whole_conference_and_switching_back_brings_it_all() {
        let mut sb = Switchboard::new(None);
        three_way(&mut sb);
        answered(&mut sb, 3, 30); // answering parks the conference
        assert_eq!(sb.conference(), (&[2, 1][..], false));
        assert!(sb.view(1).parked_since_ms.is_some() && sb.view(2).parked_since_ms.is_some());
        assert_eq!(sb.active(), Some(3));
        let a = sb.switch_to(1, 40).unwrap();
        let mut held = reinvites(&a);
        held.sort_by_key(|(id, _)| *id);
        assert_eq!(
            held,
            vec![
                (1, Direction::SendRecv),
                (2, Direction::SendRecv),
                (3, Direction::SendOnly)
            ]
        );
        assert_eq!(mixes(&a), vec![vec![2, 1]]);
        assert_eq!(sb.conference(), (&[2, 1][..], true));
        assert!(sb.view(3).parked_since_ms.is_some());
        assert!(sb.switch_to(2, 50).unwrap().is_empty(), "already in it");
    }

    #[test]
    fn taking_a_party_aside_or_losing_one_leaves_the_rest_and_one_left_is_a_plain_call() {
        let mut sb = Switchboard::new(None);
        three_way(&mut sb);
        answered(&mut sb, 3, 30);
        let a = sb.merge(&[1, 2], 40).unwrap(); // back in, with 3 too
        accept_all(&mut sb, &a, 40);
        assert_eq!(sb.conference(), (&[2, 1, 3][..], true));
        let a = sb.park(1, 50).unwrap();
        assert_eq!(reinvites(&a), vec![(1, Direction::SendOnly)]);
        assert_eq!(mixes(&a), vec![vec![2, 3]]);
        assert!(!sb.view(1).conference && sb.view(1).parked_since_ms.is_some());
        let a = sb.ended(3);
        assert_eq!(
            mixes(&a),
            vec![Vec::<CallId>::new()],
            "the conference is over"
        );
        assert_eq!(routes(&a), vec![Some(2)], "the one left has the microphone");
        assert_eq!(sb.active(), Some(2));
        assert!(!sb.view(2).conference);
        assert_eq!(sb.conference(), (&[][..], false));
    }

    #[test]
    fn a_call_replacing_a_party_takes_its_seat() {
        let mut sb = Switchboard::new(None);
        three_way(&mut sb);
        sb.incoming(5, "sip:e@h");
        let (parked, a) = sb.replace(5, 1, 30).unwrap();
        assert!(!parked);
        assert_eq!(mixes(&a), vec![vec![2, 5]]);
        assert!(reinvites(&a).is_empty());
    }
}
