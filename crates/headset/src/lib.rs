//! USB headsets' call buttons and lights (HID Usage Tables, Telephony and LED pages).
//!
//! * `descriptor.rs`: a HID report descriptor read into where each control sits (pure).
//! * `telephony.rs`: a headset's hook switch, mute and flash buttons as presses, and the phone's
//!   state as its ring / off-hook / mute LEDs (pure state machine).
//! * `device.rs`: the adapter — a thread that finds a telephony headset with hidapi, feeds its
//!   reports to the state machine, writes its lights, and notices it leave and come back.

pub mod descriptor;
pub mod device;
pub mod telephony;

pub use device::{watch, HeadsetWatch, Notice};
pub use telephony::{Headset, Lights, Press};
