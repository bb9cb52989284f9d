//! The phone's decisions, without I/O: no tokio, no rsipstack, no clock reads, no locks.
//! [`PhoneCore`] is the whole phone as one value (`phone.rs`): `handle(input, now)` with a
//! command, a SIP or media report, or a time-out; `poll()` for what to do; `next_timeout()`
//! for when to call again. The driver (`driver/`) performs the outputs and feeds back what
//! happened. Each other file is one concept:
//!
//! - `io`: the inputs and outputs (the whole contract with the driver).
//! - `account`: one SIP identity (addresses, registration, park orbits).
//! - `registration`: register, refresh, retry with back-off, un-register (one account).
//! - `outgoing`: dial → RTP port → INVITE → ringing / early media → answered or failed.
//! - `incoming`: INVITE → offer check → routing rules → ringing → answer, reject, forward,
//!   auto-answer and forward-on-no-answer timers.
//! - `in_call`: media starting and changing, re-INVITEs both ways, DTMF, mute, the dialog ending.
//! - `call`: a call's record, state transitions, outcome and end message.
//! - `switchboard`: which call is active, parked, held by remote; hold/resume re-INVITEs, glare,
//!   park recall.
//! - `offer_answer`: whether a new INVITE's offer is taken (or refused how), the answer to a
//!   re-INVITE, what an answer to our offer gives, our hold/resume offers.
//! - `blind_transfer`: hold, REFER once the hold is answered, live progress, back to the user
//!   on failure.
//! - `conference`: local conference — merge, per-party mute, leave (two parties connected by
//!   attended transfer); the switchboard keeps who is in it.
//! - `conference_handover`: leave by handing the conference to one party (its phone is
//!   referred to each other party in turn, with `Replaces`).
//! - `replacing`: an INVITE with `Replaces` takes one of our calls' place, answered at once.
//! - `attended_transfer`: consult (park, dial the colleague), then complete: REFER with
//!   `Replaces` naming the consultation call, both legs end when the caller is connected.
//! - `being_transferred`: the far end's REFER: we call the target, NOTIFY progress, the old
//!   call ends when the new one connects (after a moment left to the transferor, who may refer
//!   us again: calls referred from one call join in a conference here).
//! - `orbits`: server park orbits (slot subscriptions, parking by REFER).
//! - `transfer`: blind transfers under way (REFER answered, NOTIFY progress, time-out, what the
//!   end of the call means).
//! - `timers`: the calls' deadlines (switchboard wake-ups, auto-answer, forward on no answer).

pub mod account;
mod attended_transfer;
pub(crate) mod being_transferred;
mod blind_transfer;
pub mod call;
pub mod conference;
mod conference_handover;
mod in_call;
mod incoming;
pub mod io;
pub mod offer_answer;
pub mod orbits;
mod outgoing;
pub mod phone;
pub mod registration;
mod replacing;
pub mod switchboard;
pub mod timers;
pub mod transfer;

pub use phone::{PhoneCore, Snapshot};

#[cfg(test)]
mod tests;
