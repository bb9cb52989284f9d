//! Local conference (3-way and up to eight other parties), hosted on this phone: the user's
//! calls are mixed here — each party hears all the others and the user, never itself — by the
//! audio switch's conference bridge (`hookflash-media`'s `conference_bridge.rs`).
//!
//! The switchboard keeps who is in it and the holds (`Switchboard::merge`: every party resumed;
//! switching to another call parks the whole conference, switching to any of its calls brings it
//! back; a party taken aside or gone leaves the others, and a conference down to one call is
//! that call). This file adds what the user asks of it:
//! * `conference`: merge the active call with the given calls (parked ones, or the whole
//!   conference again);
//! * `mute` a party toward the conference (nobody hears it, it still hears all) or the user's
//!   own microphone toward everyone;
//! * `leave`: with two other parties they are connected to each other by attended transfer
//!   (REFER with `Replaces`, `attended_transfer.rs`) and our legs end; with more the conference
//!   is mixed here, so leaving would end it: refused with that warning unless the user says
//!   `end`, which hangs up every party, or hands it to one party (`conference_handover.rs`).
//!
//! Every change reaches front ends as `PhoneEvent::Conference` (parties, whether the user is
//! in it, the user's mute) and each party's `CallUpdated` (`conference`, `conference_muted`).
//! While the user is in it, the bridge's levels are read every 250 ms and passed on as
//! `PhoneEvent::ConferenceLevels` (level meters; the CLI does not print them).

use super::io::*;
use super::phone::PhoneCore;
use super::timers::Timer;
use crate::api::*;
use std::collections::BTreeSet;

/// What the core remembers of the conference besides the switchboard's list.
#[derive(Debug, Default)]
pub struct Conference {
    /// Parties kept out of the mix.
    pub muted: BTreeSet<CallId>,
    /// The user's microphone kept out of the mix.
    pub me_muted: bool,
    /// The parties as last announced (so an unchanged conference is not news).
    announced: (Vec<CallId>, bool, bool),
    /// Levels are being read (a `Timer::ConferenceLevels` is set).
    metering: bool,
}

/// How often the conference's levels are read while the user is in it.
pub const LEVELS_EVERY_MS: i64 = 250;

impl PhoneCore {
    /// Merges the active call with `ids` (and the conference, if there is one) and puts the
    /// user in it.
    pub(super) fn conference(&mut self, ticket: Ticket, ids: &[CallId], now: i64) {
        for id in ids {
            let Some(c) = self.calls.get(id) else {
                return self.reply(ticket, Err(PhoneError::NoSuchCall(*id)));
            };
            if c.info.state != CallState::Answered {
                let e = PhoneError::InvalidInput {
                    what: "call".into(),
                    detail: format!("call {id} is not connected, so it cannot join a conference"),
                };
                return self.reply(ticket, Err(e));
            }
            if self.is_blind_transfer(*id) {
                let e = PhoneError::InvalidInput {
                    what: "call".into(),
                    detail: format!(
                        "call {id} is being transferred, so it cannot join a conference"
                    ),
                };
                return self.reply(ticket, Err(e));
            }
        }
        // One bridge mixes the calls of one microphone/speaker pair: a call on other audio
        // devices cannot be heard by the rest.
        let (members, _) = self.board.conference();
        let mut all: Vec<CallId> = members.to_vec();
        all.extend(self.board.active());
        all.extend(ids.iter().copied());
        let audio = |id: &CallId| {
            self.calls
                .get(id)
                .map(|c| (c.opts.audio_in.clone(), c.opts.audio_out.clone()))
        };
        if let Some(first) = all.iter().find_map(audio) {
            if let Some(odd) = all.iter().find(|id| audio(id).is_some_and(|a| a != first)) {
                let e = PhoneError::Other(format!(
                    "cannot merge: call {odd} uses another microphone or speaker than the others, so it cannot be mixed with them"
                ));
                return self.reply(ticket, Err(e));
            }
        }
        match self.board.merge(ids, now) {
            Ok(actions) => {
                self.apply(actions, now);
                self.reply(ticket, Ok(Done::Ok));
            }
            Err(e) => {
                let e = match e {
                    PhoneError::Other(detail) => {
                        PhoneError::Other(format!("cannot merge: {detail}"))
                    }
                    e => e,
                };
                self.reply(ticket, Err(e));
            }
        }
    }

    /// Keeps party `id` (None: the user's microphone) out of the conference's mix, or lets it
    /// back in.
    pub(super) fn conference_mute(&mut self, ticket: Ticket, id: Option<CallId>, muted: bool) {
        let members = self.board.conference().0.to_vec();
        if members.is_empty() {
            return self.reply(ticket, Err(not_in_conference()));
        }
        match id {
            Some(id) if !members.contains(&id) => {
                let e = PhoneError::InvalidInput {
                    what: "call".into(),
                    detail: format!("call {id} is not in the conference"),
                };
                return self.reply(ticket, Err(e));
            }
            Some(id) => {
                if muted {
                    self.conf.muted.insert(id);
                } else {
                    self.conf.muted.remove(&id);
                }
                self.publish(id);
            }
            None => self.conf.me_muted = muted,
        }
        self.media(MediaOutput::ConferenceMute { id, muted });
        self.announce_conference();
        self.reply(ticket, Ok(Done::Ok));
    }

    /// The user leaves the conference; see the module's comment.
    pub(super) fn leave_conference(&mut self, ticket: Ticket, end: bool, now: i64) {
        let (members, joined) = self.board.conference();
        let members = members.to_vec();
        if members.is_empty() || !joined {
            return self.reply(ticket, Err(not_in_conference()));
        }
        if end {
            tracing::info!("conference ended by the user: hanging up {members:?}");
            for id in members {
                self.hangup_with(id, EndReason::LocalHangup, now);
            }
            return self.reply(ticket, Ok(Done::Ok));
        }
        if members.len() > 2 {
            let e = PhoneError::Other(format!(
                "the conference with {} other parties is mixed on this phone, so leaving would end it for everyone; \
                 hand it to one of them (their phone then hosts it), take parties aside until two are left \
                 (they are then connected to each other), or end it",
                members.len()
            ));
            return self.reply(ticket, Err(e));
        }
        // Two parties: one is referred to the other, in the place of our call with it.
        let (a, b) = self.leave_order(members[0], members[1]);
        tracing::info!("leaving the conference: connecting call {a} to call {b}");
        self.complete_transfer(ticket, a, b, false, now);
    }

    /// Reads the levels every [`LEVELS_EVERY_MS`] while the user is in a conference.
    pub(super) fn meter_conference(&mut self, now: i64) {
        let joined = self.board.conference().1;
        if joined && !self.conf.metering {
            self.conf.metering = true;
            self.timers
                .set(now + LEVELS_EVERY_MS, Timer::ConferenceLevels);
        }
    }

    /// `Timer::ConferenceLevels`: read them (and again later) while the user is in it.
    pub(super) fn conference_levels_due(&mut self, now: i64) {
        self.conf.metering = false;
        if self.board.conference().1 {
            self.media(MediaOutput::MeasureConference);
            self.meter_conference(now);
        }
    }

    /// The levels read: to front ends (only the conference's parties and the user).
    pub(super) fn on_conference_levels(&mut self, levels: Vec<PartyLevel>) {
        let (members, joined) = self.board.conference();
        if !joined {
            return;
        }
        let levels: Vec<PartyLevel> = levels
            .into_iter()
            .filter(|l| l.call_id.is_none_or(|id| members.contains(&id)))
            .collect();
        if !levels.is_empty() {
            self.emit(PhoneEvent::ConferenceLevels { levels });
        }
    }

    /// Which of two calls is referred (first) to which (second) when the user leaves: by what
    /// their phones said they can do — the one referred must take REFER, the target should take
    /// `Replaces` (else it rings as a new call) — and whether the target's address reaches its
    /// phone (a call we made has the address we dialled; a caller's is its From, which may lead
    /// nowhere). At equal merit the older call (usually the caller the colleague was brought in
    /// for) is referred to the newer.
    fn leave_order(&self, x: CallId, y: CallId) -> (CallId, CallId) {
        let merit = |referee: CallId, target: CallId| {
            let (Some(r), Some(t)) = (self.calls.get(&referee), self.calls.get(&target)) else {
                return i32::MIN;
            };
            let mut m = 0;
            m += match r.peer.refer {
                Some(true) => 1,
                Some(false) => -10,
                None => 0,
            };
            m += match t.peer.replaces {
                Some(true) => 1,
                Some(false) => -3,
                None => 0,
            };
            if t.info.direction != Direction::Outgoing {
                m -= 2;
            }
            m
        };
        let (older, newer) = (x.min(y), x.max(y));
        if merit(newer, older) > merit(older, newer) {
            (newer, older)
        } else {
            (older, newer)
        }
    }

    /// Tells front ends about the conference if it changed, and forgets mutes once it is over.
    pub(super) fn announce_conference(&mut self) {
        let (members, joined) = self.board.conference();
        let members = members.to_vec();
        // Mutes end with the party's place in the conference (the user's with the conference).
        let gone: Vec<CallId> = self
            .conf
            .muted
            .iter()
            .copied()
            .filter(|m| !members.contains(m))
            .collect();
        for id in gone {
            self.conf.muted.remove(&id);
            self.media(MediaOutput::ConferenceMute {
                id: Some(id),
                muted: false,
            });
        }
        if members.is_empty() && self.conf.me_muted {
            self.conf.me_muted = false;
            self.media(MediaOutput::ConferenceMute {
                id: None,
                muted: false,
            });
        }
        let now = (members.clone(), joined, self.conf.me_muted);
        if now == self.conf.announced {
            return;
        }
        self.conf.announced = now;
        let message = conference_message(&members, joined);
        self.emit(PhoneEvent::Conference {
            parties: members,
            joined,
            muted: self.conf.me_muted,
            message,
        });
    }
}

fn not_in_conference() -> PhoneError {
    PhoneError::Other("you are not in a conference".into())
}

/// The sentence of a `PhoneEvent::Conference`.
pub fn conference_message(parties: &[CallId], joined: bool) -> String {
    let list = parties
        .iter()
        .map(|p| format!("call {p}"))
        .collect::<Vec<_>>()
        .join(", ");
    match (parties.len(), joined) {
        (0, _) => "the conference is over".to_string(),
        (_, true) => format!("in conference with {list}"),
        (_, false) => format!("conference with {list} on hold"),
    }
}
