//! Jitter buffers on one seeded arrival trace: 20 ms packets, normally distributed delay with
//! σ = 30 ms (packets keep their order unless reordered: one network queue), 1 % explicitly
//! reordered (held back 40 ms), 2 % lost, made by the relay's impairment model.
//!
//! Both buffers get the same trace and are judged the same way:
//! - late share: frames concealed while their packet was not lost by the network, i.e. the
//!   share of concealed playout time minus the trace's network-loss share;
//! - mean buffer delay: the audio held in the buffer (ms), sampled before every playout step;
//!   by Little's law this is the mean time audio waits in the buffer.
//!
//! Ours is `hookflash_media::jitter_buffer::JitterBuffer`, driven in simulated time by the media
//! crate's `jitter_replay::replay`, as the session drives it (its mean delay is the audio queued
//! plus decoded-but-unplayed). The `neteq` crate reads the wall
//! clock itself, so its run replays the trace in real time (10 ms `get_audio` steps) with
//! G.711 payloads of real speech.

use std::time::{Duration, Instant};

use hookflash_media::{decoder, encoder, Codec};
use hookflash_tests::relay::{Impairer, Impairment, LossModel};

pub const PACKETS: usize = 1000;
const PTIME_MS: u64 = 20;
const SEED: u64 = 3030;

/// One packet of the trace: sequence index and arrival time (ms), `None` when lost.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrival {
    pub index: usize,
    pub at_ms: f64,
}

/// The trace description, for the report.
pub fn description() -> String {
    format!("{PACKETS} × 20 ms packets, σ = 30 ms jitter, 1 % reorder, 2 % loss, seed {SEED}")
}

/// The seeded trace: arrivals sorted by time, and the network-loss share.
pub fn trace() -> (Vec<Arrival>, f64) {
    let imp = Impairment {
        loss: LossModel::Random { rate: 0.02 },
        // A base delay far from zero so the normal jitter is not clipped; it does not change
        // how long packets wait in a buffer.
        delay: Duration::from_millis(100),
        jitter: Duration::from_millis(30),
        jitter_reorders: false,
        reorder: 0.01,
        reorder_hold: Duration::from_millis(40),
        duplicate: 0.0,
    };
    let mut imp = Impairer::new(imp, SEED);
    let mut out = Vec::new();
    let mut lost = 0;
    for i in 0..PACKETS {
        let fate = imp.next(Duration::from_millis(i as u64 * PTIME_MS));
        match fate.deliveries.first() {
            Some(t) => out.push(Arrival {
                index: i,
                at_ms: t.as_secs_f64() * 1000.0,
            }),
            None => lost += 1,
        }
    }
    out.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
    (out, lost as f64 / PACKETS as f64)
}

/// How a buffer did on the trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Share of playout time concealed (loss and lateness).
    pub concealed_share: f64,
    /// `concealed_share` minus the network-loss share (never below 0).
    pub late_share: f64,
    pub mean_delay_ms: f64,
}

fn outcome(
    concealed: usize,
    frames: usize,
    loss_share: f64,
    level_sum_ms: f64,
    samples: usize,
) -> Outcome {
    let concealed_share = concealed as f64 / frames.max(1) as f64;
    Outcome {
        concealed_share,
        late_share: (concealed_share - loss_share).max(0.0),
        mean_delay_ms: level_sum_ms / samples.max(1) as f64,
    }
}

/// Our jitter buffer, driven through the trace by the media crate's own replay (every 20 ms a
/// playout frame, as the session does, time-stretching included).
pub fn ours(arrivals: &[Arrival], loss_share: f64) -> Outcome {
    let trace: Vec<(u64, f64)> = arrivals.iter().map(|a| (a.index as u64, a.at_ms)).collect();
    let o = hookflash_media::jitter_replay::replay(PTIME_MS as u32, &trace);
    let concealed = (o.lost + o.concealed_slots) as usize;
    let frames = o.played as usize + concealed;
    // Their mean delay is already an average; weight 1 over 1 sample.
    outcome(concealed, frames, loss_share, o.mean_delay_ms, 1)
}

/// G.711 µ-law decoding for neteq (its decoder trait wants f32 samples).
struct Pcmu(Box<dyn hookflash_media::AudioDecoder>);

impl neteq::codec::AudioDecoder for Pcmu {
    fn sample_rate(&self) -> u32 {
        8000
    }
    fn channels(&self) -> u8 {
        1
    }
    fn decode(&mut self, encoded: &[u8]) -> neteq::Result<Vec<f32>> {
        let mut pcm = Vec::new();
        let _ = self.0.decode(encoded, &mut pcm);
        Ok(pcm.into_iter().map(|s| f32::from(s) / 32768.0).collect())
    }
}

/// The `neteq` crate on the same trace, replayed in real time (takes the trace's length).
pub fn neteq(arrivals: &[Arrival], loss_share: f64, speech8: &[i16]) -> Result<Outcome, String> {
    use neteq::neteq::SpeechType;
    let cfg = neteq::NetEqConfig {
        sample_rate: 8000,
        channels: 1,
        ..Default::default()
    };
    let mut nq = neteq::NetEq::new(cfg).map_err(|e| format!("neteq: {e:?}"))?;
    let dec = decoder(Codec::Pcmu).map_err(|e| e.to_string())?;
    nq.register_decoder(0, Box::new(Pcmu(dec)));
    // Payloads: the speech, looped, in µ-law.
    let mut enc = encoder(Codec::Pcmu).map_err(|e| e.to_string())?;
    let frame = 160;
    let payload = |i: usize, enc: &mut Box<dyn hookflash_media::AudioEncoder>| {
        let n = speech8.len() / frame;
        let f = &speech8[(i % n.max(1)) * frame..][..frame];
        let mut p = Vec::new();
        let _ = enc.encode(f, &mut p);
        p
    };
    let start = Instant::now();
    let end_ms = arrivals.last().map(|a| a.at_ms).unwrap_or(0.0);
    let mut next = 0;
    let (mut frames, mut concealed, mut playing) = (0usize, 0usize, false);
    let (mut level_sum, mut samples) = (0.0, 0usize);
    let mut step = 1u64;
    while (step * 10) as f64 <= end_ms {
        let now = (step * 10) as f64;
        let due = start + Duration::from_micros((now * 1000.0) as u64);
        while next < arrivals.len() && arrivals[next].at_ms <= now {
            let a = &arrivals[next];
            let at = start + Duration::from_micros((a.at_ms * 1000.0) as u64);
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let header =
                neteq::RtpHeader::new(a.index as u16, (a.index * frame) as u32, 0x1234, 0, false);
            let packet = neteq::AudioPacket::new(
                header,
                payload(a.index, &mut enc),
                8000,
                1,
                PTIME_MS as u32,
            );
            nq.insert_packet(packet)
                .map_err(|e| format!("neteq insert: {e:?}"))?;
            next += 1;
        }
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if playing {
            level_sum += nq.current_buffer_size_ms() as f64;
            samples += 1;
        }
        let out = nq
            .get_audio()
            .map_err(|e| format!("neteq get_audio: {e:?}"))?;
        match out.speech_type {
            SpeechType::Expand => {
                if playing {
                    frames += 1;
                    concealed += 1;
                }
            }
            _ => {
                if next > 0 {
                    playing = true;
                    frames += 1;
                }
            }
        }
        step += 1;
    }
    Ok(outcome(concealed, frames, loss_share, level_sum, samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_is_seeded_and_has_the_asked_loss() {
        let (a, loss) = trace();
        let (b, _) = trace();
        assert_eq!(a, b);
        assert!((0.005..0.04).contains(&loss), "{loss}");
        assert_eq!(a.len() + (loss * PACKETS as f64).round() as usize, PACKETS);
        assert!(a.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
    }

    #[test]
    fn a_clean_trace_plays_without_concealment_after_the_start() {
        let arrivals: Vec<Arrival> = (0..200)
            .map(|i| Arrival {
                index: i,
                at_ms: 5.0 + 20.0 * i as f64,
            })
            .collect();
        let o = ours(&arrivals, 0.0);
        assert_eq!(o.concealed_share, 0.0);
        assert!(o.mean_delay_ms >= 20.0 && o.mean_delay_ms <= 80.0, "{o:?}");
    }
}
