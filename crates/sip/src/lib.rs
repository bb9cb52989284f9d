//! SIP for Hookflash: the transport/transaction/dialog machinery is rsipstack's; this crate adds
//! what we own: the endpoint set-up per account (`stack`), REGISTER with our own digest
//! authentication (`registration`, `digest`), SDP offer/answer (`sdp`), dial-string
//! normalisation (`target`), RFC 4235 dialog-info XML (`dialog_info`) and user-readable errors (`error`).

pub use rsipstack;

pub mod auth;
pub mod dialog_info;
pub mod digest;
pub mod error;
pub mod invite;
pub mod registration;
pub mod sdp;
pub mod stack;
pub mod target;

pub use error::SipError;
