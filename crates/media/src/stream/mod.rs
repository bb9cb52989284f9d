//! One audio stream, split the sans-I/O way (as str0m's `Rtc`): the decisions are plain values
//! that are fed datagrams and the time and say what to do; the socket tasks in `session.rs` are
//! thin drivers around them.
//!
//! * [`core`](self::core): the stream core — latching, SSRC and sequence checks, DTMF
//!   detection, the jitter buffer and the 20 ms playout decision, RTCP reports (what they say,
//!   when they are due, where they go) and where our RTP goes. No sockets, no clock.
//! * [`pacer`](self::pacer): when the send side's next frame is due (absolute schedule, on the
//!   media clock's grid).
//! * [`media_clock`](self::media_clock): the one 10 ms grid every stream of an audio switch sends
//!   and plays on.
//! * [`rtcp_timer`](self::rtcp_timer): when the next RTCP report is due (RFC 3550 randomised
//!   interval).
//! * [`transport`](self::transport): the seam between the core and the UDP sockets, where SRTP,
//!   DTLS and ICE plug in.
//! * [`srtp`](self::srtp): SRTP/SRTCP protection of one stream (webrtc-rs `rtc-srtp`), dropping
//!   and counting forged and replayed packets.
//! * [`dtls`](self::dtls): DTLS-SRTP of one component (webrtc-rs `rtc-dtls`): the handshake that
//!   checks the far end's certificate against its SDP fingerprint and exports the SRTP keys.
//! * [`ice`](self::ice): ICE connectivity checks of one stream (webrtc-rs `rtc-ice`): the pair
//!   media uses and which sources have proven themselves.
//! * [`turn`](self::turn): STUN and TURN of one socket (webrtc-rs `rtc-turn`): its public and
//!   relayed addresses for ICE, then the relay itself.

pub mod core;
pub mod dtls;
pub mod ice;
pub mod media_clock;
pub mod pacer;
pub mod rtcp_timer;
pub mod srtp;
pub mod transport;
pub mod turn;
pub mod turn_link;

pub use self::core::{Now, SentFrame, StreamCore};
pub use self::dtls::{identity as dtls_identity, DtlsParams, DtlsRole, Fingerprint};
pub use self::ice::{IceParams, IceState};
pub use self::pacer::Pacer;
pub use self::rtcp_timer::RtcpTimer;
pub use self::srtp::{SrtpKeys, SrtpSuite};
pub use self::transport::{Socket, Transmit, Transport};
pub use self::turn::{IceServers, TurnClient, TurnServer};
pub use self::turn_link::{TurnLink, TurnTransport};
