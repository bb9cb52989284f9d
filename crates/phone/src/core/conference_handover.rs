//! Handing the conference to one party: the user leaves a conference of two or more other
//! parties and one of them (the new host) takes it over, instead of everyone being hung up.
//!
//! The new host's phone is asked, one party at a time and in its own dialog with us, to call
//! that party with a `Replaces` naming our call with it (RFC 3515 REFER, RFC 3891 — the
//! attended transfer of `attended_transfer.rs`, with the new host as transferee): the party's
//! phone swaps our call for the host's without ringing, and our leg with it ends "transferred".
//! Only once the host reported that party connected (NOTIFY 200) does the next REFER go out, on
//! the same dialog (RFC 5589 leaves ending the dialog to the transferor). When every party is
//! handed over we hang up our call with the host. A Hookflash host joins the calls it was
//! referred to from one call into a conference of its own (`being_transferred.rs`); another
//! phone holds them as separate calls, as its user would after any transfer.
//!
//! Nothing is dropped on the way: the host is held (taken aside) while its REFERs run; if one
//! fails, or the host's phone ends our call after the first party (many phones end the old
//! call once a transfer is through), the parties not yet handed stay in the conference here
//! with the host put back in, and the user is told who is where.

use super::io::*;
use super::phone::PhoneCore;
use super::transfer::Failure;
use crate::api::*;
use hookflash_sip::target;
use std::collections::VecDeque;

/// A hand-over under way.
#[derive(Debug)]
pub struct Handover {
    /// The party taking the conference over.
    host: CallId,
    /// Parties not handed yet, in turn.
    queue: VecDeque<CallId>,
    /// The party whose REFER is out now, and its address.
    current: Option<(CallId, String)>,
    /// The remote addresses of the parties handed over so far.
    handed: Vec<String>,
}

impl PhoneCore {
    /// Hands the conference the user is in to party `host` (see the module's comment). The reply
    /// comes when the host's phone answered the first REFER.
    pub(super) fn hand_conference(&mut self, ticket: Ticket, host: CallId, now: i64) {
        let (members, joined) = self.board.conference();
        let members = members.to_vec();
        if members.is_empty() || !joined {
            return self.reply(
                ticket,
                Err(PhoneError::Other("you are not in a conference".into())),
            );
        }
        let invalid = |detail: String| PhoneError::InvalidInput {
            what: "call".into(),
            detail,
        };
        if !members.contains(&host) {
            return self.reply(
                ticket,
                Err(invalid(format!(
                    "call {host} is not in the conference, so it cannot take it over"
                ))),
            );
        }
        if self.handover.is_some() {
            return self.reply(
                ticket,
                Err(PhoneError::Other(
                    "the conference is already being handed over".into(),
                )),
            );
        }
        let name = self.party_name(host);
        if self
            .calls
            .get(&host)
            .is_some_and(|c| c.peer.refer == Some(false))
        {
            return self.reply(ticket, Err(PhoneError::Other(format!(
                "{name}'s phone said it does not take transfers (REFER), so it cannot take the conference over"
            ))));
        }
        if let Some(busy) = members.iter().find(|m| {
            self.is_blind_transfer(**m) || self.blind.values().any(|b| b.replaces() == Some(**m))
        }) {
            return self.reply(
                ticket,
                Err(invalid(format!(
                    "call {busy} is already part of a transfer"
                ))),
            );
        }
        let queue: VecDeque<CallId> = members.iter().copied().filter(|m| *m != host).collect();
        tracing::info!("handing the conference to call {host}: parties {queue:?}");
        self.handover = Some(Handover {
            host,
            queue,
            current: None,
            handed: Vec::new(),
        });
        self.hand_next(Some(ticket), now);
    }

    /// Refers the host to the next party still here, or ends our call with the host when every
    /// party is handed over.
    fn hand_next(&mut self, mut ticket: Option<Ticket>, now: i64) {
        loop {
            let Some(h) = self.handover.as_mut() else {
                return;
            };
            let host = h.host;
            let Some(party) = h.queue.pop_front() else {
                let handed = std::mem::take(&mut h.handed);
                self.handover = None;
                if let Some(t) = ticket {
                    self.reply(t, Ok(Done::Ok));
                }
                if !handed.is_empty() {
                    let target = handed.join(", ");
                    tracing::info!("conference handed to call {host}: {target}");
                    self.hangup_with(host, EndReason::Transferred { target }, now);
                }
                return;
            };
            // A party that left meanwhile is skipped.
            let Some((uri, text)) = self
                .calls
                .get(&party)
                .filter(|c| c.info.state == CallState::Answered)
                .and_then(|c| {
                    target::parse_uri("conference party", &c.info.remote_uri)
                        .ok()
                        .map(|u| (u, c.info.remote_uri.clone()))
                })
            else {
                continue;
            };
            h.current = Some((party, text));
            // The first REFER answers the user's command; later ones are the phone's own.
            let own = ticket.is_none();
            self.start_transfer(
                ticket.take().unwrap_or(0),
                host,
                uri,
                false,
                Some(party),
                now,
            );
            if own {
                if let Some(c) = self.calls.get_mut(&host) {
                    c.waiting = None;
                }
            }
            return;
        }
    }

    /// Whether `call` is the host of a hand-over under way.
    pub(super) fn is_handover_host(&self, call: CallId) -> bool {
        self.handover.as_ref().is_some_and(|h| h.host == call)
    }

    /// The host's phone reached the current party (NOTIFY 200): our leg with that party ends
    /// (its phone's BYE, or ours) and the next party's REFER goes out on the same dialog.
    pub(super) fn handover_step_done(&mut self, host: CallId, now: i64) {
        let Some((party, party_uri)) = self.handover.as_mut().and_then(|h| h.current.take()) else {
            return;
        };
        if let Some(sip_call_id) = self.calls.get(&host).map(|c| c.sip_call_id.clone()) {
            self.transfers.forget(&sip_call_id);
        }
        self.blind.remove(&host);
        let host_uri = self
            .calls
            .get(&host)
            .map(|c| c.info.remote_uri.clone())
            .unwrap_or_default();
        let message = format!(
            "{party_uri} is now with {} (handing the conference over)",
            self.party_name(host)
        );
        self.emit(PhoneEvent::Transfer {
            call_id: party,
            target: host_uri.clone(),
            progress: TransferProgress::Connected,
            message,
        });
        if let Some(h) = self.handover.as_mut() {
            h.handed.push(party_uri);
        }
        self.attended_done(Some(party), &host_uri, now);
        self.hand_next(None, now);
    }

    /// The sentence for a REFER of the hand-over that failed (the user's reply and the warning).
    pub(super) fn handover_failure(&self, why: &Failure) -> String {
        let Some(h) = self.handover.as_ref() else {
            return "handing the conference over failed".into();
        };
        let host = self.party_name(h.host);
        let party = h
            .current
            .as_ref()
            .map(|(_, uri)| uri.clone())
            .unwrap_or_default();
        let why = match why {
            Failure::Refused { status, reason } => {
                format!("{host}'s phone could not take {party} over ({status} {reason})")
            }
            Failure::NotConfirmed => format!("our call with {host} is not confirmed"),
            Failure::Error(e) => e.clone(),
            Failure::NoOutcome { secs } => {
                format!("{host}'s phone did not say in {secs} s whether it reached {party}")
            }
        };
        let staying: Vec<String> = std::iter::once(h.host)
            .chain(h.current.as_ref().map(|(p, _)| *p))
            .chain(h.queue.iter().copied())
            .filter(|p| self.calls.contains_key(p))
            .map(|p| self.party_name(p))
            .collect();
        format!(
            "handing the conference to {host} stopped: {why}; {} stay in the conference here",
            staying.join(", ")
        )
    }

    /// The current REFER failed (`message`: `handover_failure`'s sentence): the hand-over stops,
    /// the host is put back in the conference with the parties not handed yet.
    pub(super) fn handover_failed(&mut self, host: CallId, message: String, now: i64) {
        if self.handover.take().is_none() {
            return;
        }
        self.blind.remove(&host);
        if self.calls.contains_key(&host) {
            match self.board.merge(&[host], now) {
                Ok(actions) => self.apply(actions, now),
                Err(e) => tracing::debug!("call {host} not put back in the conference: {e}"),
            }
        }
        self.emit(PhoneEvent::Warning { message });
    }

    /// Our call with the host ended mid-way (its phone ended it after taking a party): the
    /// party being handed is with the host, the rest stay here.
    pub(super) fn handover_host_ended(&mut self, host: CallId) {
        if !self.is_handover_host(host) {
            return;
        }
        let Some(h) = self.handover.take() else {
            return;
        };
        let staying: Vec<String> = h
            .queue
            .iter()
            .filter(|p| self.calls.contains_key(p))
            .map(|p| self.party_name(*p))
            .collect();
        if staying.is_empty() {
            return;
        }
        let message = format!(
            "{}'s phone ended our call after taking one party over; {} stay in the conference here",
            self.party_name(host),
            staying.join(", ")
        );
        self.emit(PhoneEvent::Warning { message });
    }

    /// A party as the user knows it: display name, else address.
    fn party_name(&self, id: CallId) -> String {
        self.calls
            .get(&id)
            .map(|c| {
                c.info
                    .remote_display_name
                    .clone()
                    .unwrap_or_else(|| c.info.remote_uri.clone())
            })
            .unwrap_or_else(|| format!("call {id}"))
    }
}
