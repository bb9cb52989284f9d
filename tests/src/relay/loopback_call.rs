//! One direction of a call between two Hookflash media engines in this process, through the
//! impairment relay: `MediaSession` A plays a WAV, its RTP crosses an [`RtpRelay`] (A is the
//! left peer, so the speech takes the `to_right` impairment), `MediaSession` B records what it
//! plays into a WAV. RTCP crosses a clean relay, so the engine's loss feedback works as in a
//! real call. Used by the quality test and the bench.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hookflash_media::{
    AudioIn, AudioOut, Codec, MediaSession, MediaStats, RtpEndpoint, StreamParams,
};

use super::impairment::Impairment;
use super::udp::{RelayConfig, RelayStats, RtpRelay};

/// What to run.
#[derive(Clone, Debug)]
pub struct LoopbackCall {
    pub codec: Codec,
    /// Impairment of the speech direction (A → B).
    pub impairment: Impairment,
    pub seed: u64,
    /// WAV A plays (any rate; the engine converts).
    pub input: PathBuf,
    /// WAV B writes (mono, the codec's rate).
    pub output: PathBuf,
    /// How long the call lasts after both sessions started.
    pub talk: Duration,
}

/// What happened.
#[derive(Clone, Debug)]
pub struct LoopbackRun {
    pub relay: RelayStats,
    pub sender: MediaStats,
    pub receiver: MediaStats,
    /// When B (the receiver) and A (the sender) were started, and when B was told to stop.
    pub receiver_started: Instant,
    pub sender_started: Instant,
    pub receiver_stopped: Instant,
}

fn payload_type(codec: Codec) -> u8 {
    codec.default_payload_type().unwrap_or(111)
}

/// Runs the call on a fresh tokio runtime (blocking the calling thread for `talk`).
pub fn run(call: &LoopbackCall) -> Result<LoopbackRun, String> {
    super::block_on(run_async(call))?
}

/// Runs the call on the current tokio runtime.
pub async fn run_async(call: &LoopbackCall) -> Result<LoopbackRun, String> {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let a_ep = RtpEndpoint::bind(ip).await.map_err(|e| e.to_string())?;
    let b_ep = RtpEndpoint::bind(ip).await.map_err(|e| e.to_string())?;
    let relay = RtpRelay::start(
        ip,
        RelayConfig {
            left_peer: Some(a_ep.local_addr()),
            right_peer: Some(b_ep.local_addr()),
            to_right: call.impairment.clone(),
            to_left: Impairment::none(),
            seed: call.seed,
        },
    )
    .map_err(|e| format!("cannot start the relay: {e}"))?;
    let params = |remote_rtp, remote_rtcp| StreamParams {
        remote_rtcp: Some(remote_rtcp),
        ..StreamParams::plain(remote_rtp, call.codec, payload_type(call.codec))
    };
    let b_params = params(relay.rtp.right_addr(), relay.rtcp.right_addr());
    let a_params = params(relay.rtp.left_addr(), relay.rtcp.left_addr());
    // The receiver first, so it is listening when the first packet arrives.
    let receiver_started = Instant::now();
    let (b, _b_events) = MediaSession::start(
        b_ep,
        b_params,
        AudioIn::Null,
        AudioOut::Wav(call.output.clone()),
    )
    .map_err(|e| format!("cannot start the receiving session: {e}"))?;
    let sender_started = Instant::now();
    let (a, _a_events) = MediaSession::start(
        a_ep,
        a_params,
        AudioIn::Wav(call.input.clone()),
        AudioOut::Null,
    )
    .map_err(|e| format!("cannot start the sending session: {e}"))?;
    tokio::time::sleep(call.talk).await;
    let sender = a.stop().await;
    let receiver_stopped = Instant::now();
    let receiver = b.stop().await;
    let relay_stats = relay.rtp.stats();
    Ok(LoopbackRun {
        relay: relay_stats,
        sender,
        receiver,
        receiver_started,
        sender_started,
        receiver_stopped,
    })
}
