//! One audio stream, split the sans-I/O way (as str0m's `Rtc`): the decisions are plain values
//! that are fed datagrams and the time and say what to do; the socket tasks in `session.rs` are
//! thin drivers around them.
//!
//! * [`rtcp_timer`]: when the next RTCP report is due (RFC 3550 randomised interval).
//! * [`transport`]: the seam between the stream and the UDP sockets, where SRTP and ICE will
//!   plug in (plain UDP today).

pub mod rtcp_timer;
pub mod transport;

pub use self::rtcp_timer::RtcpTimer;
pub use self::transport::{Socket, Transmit, Transport};
