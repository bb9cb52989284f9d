//! An impairment relay for UDP media (because `tc netem` is not available here): seeded random
//! and Gilbert–Elliott burst loss, delay, jitter, reordering and duplication, applied per
//! direction between two peers.
//!
//! - [`impairment`]: the pure, seeded model (packet → dropped or delivered at T, maybe twice);
//! - [`udp`]: the socket adapter (one thread per direction) and an RTP + RTCP pair;
//! - [`loopback_call`]: two in-process media engines talking through a relay;
//! - [`replay_receive`]: another phone's captured stream replayed through a relay into one engine;
//! - [`sip`]: a SIP forwarder that rewrites SDP so two SIP peers' media goes through a relay.
//!
//! `cargo run -p hookflash-tests --bin relay -- --help` runs one by hand.

pub mod impairment;
pub mod loopback_call;
pub mod replay_receive;
pub mod sip;
pub mod udp;

/// Runs `f` to completion on a fresh two-thread tokio runtime (the engine's sessions need one).
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    Ok(rt.block_on(f))
}

pub use impairment::{loss_pattern, Fate, Impairer, Impairment, LossModel, LossProcess};
pub use udp::{bind_pair, DirectionStats, RelayConfig, RelayStats, RtpRelay, UdpRelay};
