//! SIP for Hookflash. The transport/transaction/dialog machinery is rsipstack's, and its types
//! stay inside this crate: the phone sees our own (`types`). What we own: the endpoint per account
//! (`stack`), sorting what arrives (`incoming`) and what happens in calls (`dialog_events`), the
//! INVITE dialogs of calls (`invite`), REGISTER (`registration`), RFC 6665 subscriptions
//! (`subscription`), the one answer to 401/407 (`auth`, with the maths in `digest`), SDP
//! offer/answer (`sdp`), dial strings (`target`), RFC 4235 dialog-info XML (`dialog_info`) and
//! user-readable errors (`error`).

pub mod auth;
pub mod capabilities;
pub mod dialog_events;
pub mod dialog_info;
pub mod digest;
pub mod dtls_srtp;
pub mod error;
pub mod ice;
pub mod incoming;
pub mod invite;
pub mod probe;
pub mod registration;
pub mod replaces;
pub mod sdes;
pub mod sdp;
pub mod stack;
pub mod subscription;
pub mod target;
pub mod trust;
pub mod types;

pub use error::SipError;
pub use types::{Method, NameAddr, Request, SipUri, Transport};
