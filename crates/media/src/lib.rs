//! hookflash-media: everything a SIP call needs to move audio.
//!
//! The engine binds an [`RtpEndpoint`], puts its address in SDP, and once the far end's SDP is
//! known starts a [`MediaSession`] with [`StreamParams`], an [`AudioIn`] and an [`AudioOut`].
//! The session sends 20 ms frames paced by a timer, receives through a jitter buffer, decodes,
//! plays, exchanges RTCP reports, and reports DTMF and problems as [`MediaEvent`]s.
//! [`Ringback`] plays the ringing tone while an outgoing call rings.
//!
//! Protocol pieces (`rtp`, `rtcp`, `dtmf`, `jitter_buffer`, `reception`) are plain values with
//! no I/O, tested on their own; `stream::core` combines them into the decisions of one stream
//! (still no sockets, no clock), and `session` drives it from sockets and timers.

pub mod audio_io;
pub mod audio_processing;
pub mod audio_switch;
pub mod call_waiting_tone;
pub mod codec;
pub mod comfort_noise;
pub mod conference_bridge;
pub mod conference_mixer;
pub mod delay_estimator;
pub mod device;
pub mod device_watch;
pub mod dtmf;
pub mod error;
pub mod g711;
pub mod g722;
pub mod hold_music;
pub mod jitter_buffer;
pub mod jitter_replay;
pub mod latch;
pub mod mos;
pub mod opus_codec;
pub mod pitch;
pub mod plc;
pub mod reception;
pub mod resample;
pub mod ringtone;
pub mod rtcp;
pub mod rtp;
pub mod rtp_endpoint;
pub mod session;
pub mod ssrc_gate;
pub mod stats;
pub mod stream;
pub mod time_stretch;
pub mod tone;
pub mod tone_player;
pub mod wav;

pub use audio_io::{AudioIn, AudioOut};
pub use audio_processing::{AudioProcessor, ProcessingSettings};
pub use audio_switch::{AudioSwitch, SwitchPort, WeakAudioSwitch};
pub use codec::{decoder, encoder, AudioDecoder, AudioEncoder, Codec};
pub use conference_mixer::ConferenceMixer;
pub use device::{list_devices, DeviceInfo, DeviceList};
pub use device_watch::{DeviceNotice, DeviceNotices, DeviceRole};
pub use error::MediaError;
pub use hold_music::HoldMusic;
pub use ringtone::Ringtone;
pub use rtp_endpoint::RtpEndpoint;
pub use session::{MediaDirection, MediaEvent, MediaSession, StreamParams};
pub use stats::MediaStats;
pub use tone::Ringback;
