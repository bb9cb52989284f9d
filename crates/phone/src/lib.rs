//! The phone: accounts, calls and their state machines, and the async engine that drives
//! SIP (`hookflash-sip`), media (`hookflash-media`) and history (`hookflash-store`).
//!
//! Front ends (the CLI, the Tauri shell) use only what `api` exports: a [`Phone`] handle
//! with commands, and one stream of [`PhoneEvent`]s.

pub mod api;
pub use api::*;
pub mod dialling;
pub mod routing;

mod codecs;
mod core;
mod driver;
mod history_file;
mod incoming_routing;
mod instance_id;
mod logging;
mod phone;
mod profile;
mod ringer;
pub mod shared_park;
pub mod ts_types;
pub mod turn_uri;

/// Sound devices for the settings screen (re-exported so front ends need not depend on the media crate).
pub use hookflash_media::{list_devices, DeviceInfo, DeviceList};
pub use logging::log_directives;
pub use phone::Phone;
pub use profile::{load_profile, load_profile_if_exists, parse_profile, save_profile};
pub use ringer::{RingState, Ringer};
