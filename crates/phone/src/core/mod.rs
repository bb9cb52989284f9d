//! The phone's decisions, without I/O: no tokio, no rsipstack, no clock reads, no locks. Each
//! file is one concept as a plain state machine or pure functions: inputs with the time passed
//! in, outputs (what to send, what the front ends see, when to wake up) returned. The engine
//! (`engine*.rs`) is the adapter that performs the outputs and feeds the results back.
//!
//! - `registration`: register, refresh, retry with back-off, un-register (one account).
//! - `switchboard`: which call is active, parked, held by remote; hold/resume re-INVITEs, glare,
//!   park recall.
//! - `call`: a call's state transitions, outcome and end message.
//! - `timers`: every deadline of the phone (switchboard wake-ups, auto-answer, forward on no
//!   answer), so one task sleeps until the earliest.
//! - `transfer`: blind transfers under way (REFER answered, NOTIFY progress, time-out, what the
//!   end of the call means); parking on a server orbit uses it.
//! - `offer_answer`: whether a new INVITE's offer is taken (or refused how), the answer to a
//!   re-INVITE, what an answer to our offer gives, our hold/resume offers.
//!
//! Still decided inside the engine, to move here: the life of an incoming call between the
//! INVITE and the answer; and the engine is still several tasks
//! over shared state, not one driver over one core value.

pub mod call;
pub mod offer_answer;
pub mod registration;
pub mod switchboard;
pub mod timers;
pub mod transfer;
