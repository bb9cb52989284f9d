//! The 5-party mix line: what a conference bridge in the phone costs per 20 ms tick — decode
//! five Opus streams, mix-minus them ([`ConferenceMixer`]), encode five Opus streams — as
//! CPU time per second of audio (getrusage, so comparable with the one-call line's share of
//! one core). The parties say five different alsa-utils clips, encoded beforehand (their
//! encoders are the far ends', not ours).

use std::time::Duration;

use hookflash_media::{decoder, encoder, Codec, ConferenceMixer};

use crate::cpu::cpu_seconds;

const PARTIES: usize = 5;
const RATE: u32 = 48_000;
const FRAME: usize = RATE as usize / 50;
/// Audio per run.
pub const SECONDS: usize = 10;

const CLIPS: [&str; PARTIES] = ["Front_Center.wav", "Front_Left.wav", "Rear_Right.wav", "Side_Left.wav", "Rear_Center.wav"];

fn clip(name: &str) -> Result<Vec<i16>, String> {
    let path = std::path::Path::new("/usr/share/sounds/alsa").join(name);
    let mut r = hound::WavReader::open(&path).map_err(|e| format!("{}: {e} (apt-get install alsa-utils)", path.display()))?;
    if r.spec().sample_rate != RATE {
        return Err(format!("{} is not 48 kHz", path.display()));
    }
    let ch = r.spec().channels.max(1) as usize;
    let s: Vec<i16> = r.samples::<i16>().collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    Ok(s.chunks(ch).map(|c| c[0]).collect())
}

/// Each party's 20 ms Opus packets for [`SECONDS`] (its clip looped with a 0.5 s pause).
fn packets() -> Result<Vec<Vec<Vec<u8>>>, String> {
    let frames = SECONDS * 50;
    CLIPS
        .iter()
        .map(|c| {
            let mut pcm = clip(c)?;
            pcm.extend(std::iter::repeat_n(0i16, RATE as usize / 2));
            let mut enc = encoder(Codec::Opus).map_err(|e| e.to_string())?;
            let looped: Vec<i16> = pcm.iter().copied().cycle().take(frames * FRAME).collect();
            looped
                .chunks_exact(FRAME)
                .map(|f| {
                    let mut p = Vec::new();
                    enc.encode(f, &mut p).map_err(|e| e.to_string())?;
                    Ok(p)
                })
                .collect()
        })
        .collect()
}

/// One run; returns CPU share of one core (%) = CPU seconds / audio seconds × 100.
fn once(streams: &[Vec<Vec<u8>>]) -> Result<f64, String> {
    let e = |e: hookflash_media::MediaError| e.to_string();
    let mut decs = (0..PARTIES).map(|_| decoder(Codec::Opus)).collect::<Result<Vec<_>, _>>().map_err(e)?;
    let mut encs = (0..PARTIES).map(|_| encoder(Codec::Opus)).collect::<Result<Vec<_>, _>>().map_err(e)?;
    let mut mixer = ConferenceMixer::new(RATE, 20);
    for id in 0..PARTIES {
        mixer.add_party(id as u64, RATE).map_err(e)?;
    }
    let mut pcm = Vec::with_capacity(FRAME);
    let mut heard = vec![0i16; FRAME];
    let mut payload = Vec::new();
    let mut sent_bytes = 0usize;
    let cpu0 = cpu_seconds();
    for tick in 0..SECONDS * 50 {
        for (id, (dec, stream)) in decs.iter_mut().zip(streams).enumerate() {
            pcm.clear();
            dec.decode(&stream[tick], &mut pcm).map_err(e)?;
            mixer.push(id as u64, &pcm).map_err(e)?;
        }
        mixer.mix().map_err(e)?;
        for (id, enc) in encs.iter_mut().enumerate() {
            mixer.pull(id as u64, &mut heard);
            payload.clear();
            enc.encode(&heard, &mut payload).map_err(e)?;
            sent_bytes += payload.len();
        }
    }
    let cpu = cpu_seconds() - cpu0;
    if sent_bytes == 0 {
        return Err("the encoders produced nothing".into());
    }
    Ok(cpu / Duration::from_secs(SECONDS as u64).as_secs_f64() * 100.0)
}

/// CPU shares (% of one core) of `runs` runs.
pub fn run(runs: usize) -> Result<Vec<f64>, String> {
    let streams = packets()?;
    (0..runs).map(|_| once(&streams)).collect()
}
