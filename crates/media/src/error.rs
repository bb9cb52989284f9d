//! The one error type of the media crate. Every variant renders as a sentence a user can act on.

use std::path::PathBuf;

/// What went wrong while setting up or running audio. `Display` is the user-facing message.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot open WAV file {}: {reason}", path.display())]
    WavOpen { path: PathBuf, reason: String },
    #[error("cannot write WAV file {}: {reason}", path.display())]
    WavWrite { path: PathBuf, reason: String },
    #[error("WAV file {} is not usable: {reason}", path.display())]
    WavFormat { path: PathBuf, reason: String },
    #[error("no audio device named '{0}'")]
    NoSuchDevice(String),
    #[error("no default {0} audio device is available on this computer")]
    NoDefaultDevice(&'static str),
    #[error("audio device '{device}' failed: {reason}")]
    Device { device: String, reason: String },
    #[error("cannot list audio devices: {0}")]
    DeviceList(String),
    #[error("cannot open a UDP port for audio on {ip}: {reason}")]
    Bind {
        ip: std::net::IpAddr,
        reason: String,
    },
    #[error("network error while sending audio: {0}")]
    Network(String),
    #[error("{codec} codec error: {reason}")]
    Codec { codec: &'static str, reason: String },
    #[error("'{0}' is not a DTMF key (use 0-9, *, #, A-D)")]
    InvalidDtmf(char),
    #[error("DTMF cannot be sent: the call did not negotiate telephone-event")]
    DtmfNotNegotiated,
    #[error("the media session has already stopped")]
    Stopped,
    #[error("media needs a running tokio runtime")]
    NoRuntime,
    #[error("cannot encrypt the call's media: {0}")]
    Srtp(String),
    #[error("cannot resample audio from {from} Hz to {to} Hz: {reason}")]
    Resample { from: u32, to: u32, reason: String },
}
