//! The 5-party mix line: what a local conference costs on the phone — four calls on four
//! codecs (Opus, G.722, PCMU, PCMA) and the user — per 20 ms: decode each call, resample it to
//! the speaker's rate (as its switch port does), mix-minus through the [`ConferenceBridge`] the
//! audio switch runs (the user's microphone and speaker as its room, at 48 kHz), resample what
//! each call hears to its codec's rate and encode it. CPU time per second of audio (getrusage,
//! so comparable with the one-call line's share of one core). The parties say different
//! alsa-utils clips, encoded beforehand (their encoders are the far ends', not ours).

use std::time::Duration;

use hookflash_media::conference_bridge::{ConferenceBridge, Room};
use hookflash_media::resample::StreamResampler;
use hookflash_media::{decoder, encoder, Codec, MediaError};

use crate::cpu::cpu_seconds;

/// The calls (the user is the fifth party).
const CALLS: [Codec; 4] = [Codec::Opus, Codec::G722, Codec::Pcmu, Codec::Pcma];
const PARTIES: usize = CALLS.len();
const RATE: u32 = 48_000;
const FRAME: usize = RATE as usize / 50;
/// Audio per run.
pub const SECONDS: usize = 10;

const CLIPS: [&str; PARTIES + 1] = [
    "Front_Center.wav",
    "Front_Left.wav",
    "Rear_Right.wav",
    "Side_Left.wav",
    "Rear_Center.wav",
];

fn clip(name: &str) -> Result<Vec<i16>, String> {
    let path = std::path::Path::new("/usr/share/sounds/alsa").join(name);
    let mut r = hound::WavReader::open(&path)
        .map_err(|e| format!("{}: {e} (apt-get install alsa-utils)", path.display()))?;
    if r.spec().sample_rate != RATE {
        return Err(format!("{} is not 48 kHz", path.display()));
    }
    let ch = r.spec().channels.max(1) as usize;
    let s: Vec<i16> = r
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    Ok(s.chunks(ch).map(|c| c[0]).collect())
}

/// A clip at `rate`, looped with a 0.5 s pause, for [`SECONDS`].
fn looped(name: &str, rate: u32) -> Result<Vec<i16>, String> {
    let mut pcm = clip(name)?;
    pcm.extend(std::iter::repeat_n(0i16, RATE as usize / 2));
    let pcm: Vec<i16> = pcm
        .iter()
        .copied()
        .cycle()
        .take(SECONDS * RATE as usize)
        .collect();
    if rate == RATE {
        return Ok(pcm);
    }
    let f: Vec<f32> = pcm.iter().map(|&v| f32::from(v) / 32768.0).collect();
    let out = hookflash_media::resample::resample_all(&f, RATE, rate).map_err(|e| e.to_string())?;
    Ok(out
        .iter()
        .map(|&v| (v * 32767.0).clamp(-32767.0, 32767.0) as i16)
        .collect())
}

/// Each call's 20 ms packets on its codec for [`SECONDS`].
fn packets() -> Result<Vec<Vec<Vec<u8>>>, String> {
    CALLS
        .iter()
        .zip(CLIPS)
        .map(|(codec, c)| {
            let rate = codec.sample_rate();
            let pcm = looped(c, rate)?;
            let mut enc = encoder(*codec).map_err(|e| e.to_string())?;
            pcm.chunks_exact(rate as usize / 50)
                .map(|f| {
                    let mut p = Vec::new();
                    enc.encode(f, &mut p).map_err(|e| e.to_string())?;
                    Ok(p)
                })
                .collect()
        })
        .collect()
}

/// The user's microphone (the fifth clip) and a speaker that drops what it plays, at 48 kHz.
struct Desk {
    mic: Vec<i16>,
    at: usize,
    played: usize,
}

impl Room for Desk {
    fn rates(&self) -> Option<(u32, u32)> {
        Some((RATE, RATE))
    }
    fn capture(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
        for o in out.iter_mut() {
            *o = self.mic[self.at % self.mic.len()];
            self.at += 1;
        }
        Ok(())
    }
    fn play(&mut self, pcm: &[i16]) -> Result<(), MediaError> {
        self.played += pcm.len();
        Ok(())
    }
}

fn to_f32(pcm: &[i16]) -> Vec<f32> {
    pcm.iter().map(|&v| f32::from(v) / 32768.0).collect()
}

fn to_i16(x: &[f32], out: &mut Vec<i16>) {
    out.clear();
    out.extend(
        x.iter()
            .map(|&v| (v * 32767.0).round().clamp(-32767.0, 32767.0) as i16),
    );
}

/// One run; returns CPU share of one core (%) = CPU seconds / audio seconds × 100.
fn once(streams: &[Vec<Vec<u8>>], mic: &[i16]) -> Result<f64, String> {
    let e = |e: MediaError| e.to_string();
    let mut decs = CALLS
        .iter()
        .map(|c| decoder(*c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)?;
    let mut encs = CALLS
        .iter()
        .map(|c| encoder(*c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)?;
    let mut up = CALLS
        .iter()
        .map(|c| StreamResampler::new(c.sample_rate(), RATE))
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)?;
    let mut down = CALLS
        .iter()
        .map(|c| StreamResampler::new(RATE, c.sample_rate()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)?;
    let ids: Vec<u64> = (1..=PARTIES as u64).collect();
    let mut bridge = ConferenceBridge::new(&ids);
    let mut desk = Desk {
        mic: mic.to_vec(),
        at: 0,
        played: 0,
    };
    let mut pcm = Vec::new();
    let mut wide = Vec::new();
    let mut heard = vec![0i16; FRAME];
    let mut narrow: Vec<f32> = Vec::new();
    let mut frame = Vec::new();
    let mut payload = Vec::new();
    let mut sent_bytes = 0usize;
    let cpu0 = cpu_seconds();
    for tick in 0..SECONDS * 50 {
        // Two 10 ms ticks of the media clock per 20 ms packet.
        bridge.catch_up(2 * tick as u64 + 2, &mut desk).map_err(e)?;
        for i in 0..PARTIES {
            pcm.clear();
            decs[i].decode(&streams[i][tick], &mut pcm).map_err(e)?;
            wide.clear();
            up[i].process(&to_f32(&pcm), &mut wide).map_err(e)?;
            to_i16(&wide, &mut frame);
            bridge.push(ids[i], &frame).map_err(e)?;
            bridge.pull(ids[i], &mut heard);
            narrow.clear();
            down[i].process(&to_f32(&heard), &mut narrow).map_err(e)?;
            to_i16(&narrow, &mut frame);
            if frame.len() >= CALLS[i].sample_rate() as usize / 50 {
                payload.clear();
                encs[i]
                    .encode(&frame[..CALLS[i].sample_rate() as usize / 50], &mut payload)
                    .map_err(e)?;
                sent_bytes += payload.len();
            }
        }
    }
    let cpu = cpu_seconds() - cpu0;
    if sent_bytes == 0 || desk.played == 0 {
        return Err("the encoders or the speaker got nothing".into());
    }
    Ok(cpu / Duration::from_secs(SECONDS as u64).as_secs_f64() * 100.0)
}

/// CPU shares (% of one core) of `runs` runs.
pub fn run(runs: usize) -> Result<Vec<f64>, String> {
    let streams = packets()?;
    let mic = looped(CLIPS[PARTIES], RATE)?;
    (0..runs).map(|_| once(&streams, &mic)).collect()
}
