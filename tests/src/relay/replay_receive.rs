//! Our engine receiving a stream another phone sent: RTP datagrams captured on the wire (say
//! baresip's Opus, from [`super::UdpRelay::captured`]) are sent again at their RTP timestamps'
//! pace through an impairment relay to one `MediaSession`, which records what it plays into a
//! WAV. With the same impairment and seed as the capture's relay, every packet meets the same
//! fate: ours and the other phone receive exactly the same stream (the bench's "Opus without
//! sender FEC" lines and the interop test beside them).

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hookflash_media::{
    AudioIn, AudioOut, Codec, MediaSession, MediaStats, RtpEndpoint, StreamParams,
};

use super::impairment::Impairment;
use super::udp::{RelayConfig, RelayStats, RtpRelay};
use crate::g722_tap::{self, Rtp};

/// What to replay.
#[derive(Clone, Debug)]
pub struct ReplayReceive {
    /// The datagrams, in the order they crossed the wire (RTCP among them is sent too, so the
    /// loss pattern hits the same packets as on the captured call).
    pub datagrams: Vec<Vec<u8>>,
    pub codec: Codec,
    /// RTP clock of the codec's payload (48000 for Opus).
    pub clock_rate: u32,
    pub impairment: Impairment,
    pub seed: u64,
    /// WAV the session writes (mono, the codec's rate).
    pub output: PathBuf,
}

/// What happened.
#[derive(Clone, Debug)]
pub struct ReplayRun {
    pub relay: RelayStats,
    pub receiver: MediaStats,
    /// RTP packets in the replay and the payload type they carried.
    pub rtp_packets: usize,
    pub payload_type: u8,
}

/// The RTP packets among `datagrams` (RTCP, with packet types 200–204, left out).
pub fn rtp_packets(datagrams: &[Vec<u8>]) -> Vec<Rtp> {
    datagrams
        .iter()
        .filter(|d| !is_rtcp(d))
        .filter_map(|d| g722_tap::parse(d))
        .collect()
}

fn is_rtcp(d: &[u8]) -> bool {
    d.len() >= 2 && (200..=204).contains(&d[1])
}

/// The payload type most packets carry (the audio codec's, not telephone-event's).
fn main_payload_type(rtp: &[Rtp]) -> Option<u8> {
    let mut counts = [0usize; 128];
    for p in rtp {
        counts[usize::from(p.pt)] += 1;
    }
    (0u8..128)
        .max_by_key(|&pt| counts[usize::from(pt)])
        .filter(|&pt| counts[usize::from(pt)] > 0)
}

/// Replays on a fresh tokio runtime (blocks for the stream's length plus half a second).
pub fn run(r: &ReplayReceive) -> Result<ReplayRun, String> {
    super::block_on(run_async(r))?
}

async fn run_async(r: &ReplayReceive) -> Result<ReplayRun, String> {
    let rtp = rtp_packets(&r.datagrams);
    let pt = main_payload_type(&rtp).ok_or("the capture holds no RTP packet")?;
    let ts0 = rtp.iter().find(|p| p.pt == pt).map(|p| p.ts).unwrap_or(0);
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let sender =
        UdpSocket::bind((ip, 0)).map_err(|e| format!("cannot bind the replay socket: {e}"))?;
    let b_ep = RtpEndpoint::bind(ip).await.map_err(|e| e.to_string())?;
    let relay = RtpRelay::start(
        ip,
        RelayConfig {
            left_peer: Some(sender.local_addr().map_err(|e| e.to_string())?),
            right_peer: Some(b_ep.local_addr()),
            to_right: r.impairment.clone(),
            to_left: Impairment::none(),
            seed: r.seed,
        },
    )
    .map_err(|e| format!("cannot start the relay: {e}"))?;
    let params = StreamParams {
        remote_rtcp: Some(relay.rtcp.right_addr()),
        ..StreamParams::plain(relay.rtp.right_addr(), r.codec, pt)
    };
    let (b, _events) =
        MediaSession::start(b_ep, params, AudioIn::Null, AudioOut::Wav(r.output.clone()))
            .map_err(|e| format!("cannot start the receiving session: {e}"))?;
    // Send each datagram when its RTP timestamp falls due (RTCP with the packet before it).
    let to = relay.rtp.left_addr();
    let datagrams = r.datagrams.clone();
    let clock = f64::from(r.clock_rate.max(1));
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let mut due = Duration::ZERO;
        for d in &datagrams {
            if let Some(p) = g722_tap::parse(d).filter(|p| p.pt == pt && !is_rtcp(d)) {
                due = Duration::from_secs_f64(f64::from(p.ts.wrapping_sub(ts0)) / clock);
            }
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            let _ = sender.send_to(d, to);
        }
    })
    .await
    .map_err(|e| format!("the replay thread failed: {e}"))?;
    // Let the jitter buffer play out what it holds.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let receiver = b.stop().await;
    Ok(ReplayRun {
        relay: relay.rtp.stats(),
        receiver,
        rtp_packets: rtp.len(),
        payload_type: pt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(pt: u8, seq: u16) -> Vec<u8> {
        let mut p = vec![0x80, pt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xAA];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p
    }

    #[test]
    fn finds_the_audio_payload_type_and_leaves_rtcp_out() {
        let mut d = vec![rtp(96, 1), rtp(96, 2), rtp(101, 3), rtp(96, 4)];
        // An RTCP sender report multiplexed on the RTP port.
        d.push(vec![0x80, 200, 0, 6, 0, 0, 0, 1]);
        let packets = rtp_packets(&d);
        assert_eq!(packets.len(), 4);
        assert_eq!(main_payload_type(&packets), Some(96));
        assert_eq!(main_payload_type(&[]), None);
    }
}
