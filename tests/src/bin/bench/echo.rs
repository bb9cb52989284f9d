//! Echo lines: far-end speech through a synthetic room into the microphone, processed by our
//! voice processing (sonora, shipped) and by WebRTC's C++ module (`webrtc-audio-processing`,
//! bench only, feature `webrtc-apm`), on the same signals.
//!
//! The room: a seeded impulse response with a 40 ms bulk delay (the direct path) and a
//! decaying noise tail (RT60 250 ms), echo return loss about 10 dB. The microphone hears the
//! echo, white noise at -70 dBFS and, from 20 s on, the near-end talker (double talk: both
//! talk). The speech is the Debian alsa-utils clips at 16 kHz; both engines get 10 ms frames,
//! speaker frame first, with every part on (high-pass, AEC3, noise suppression, AGC2), as the
//! product runs.
//!
//! - ERLE: echo return loss enhancement, 10·log10(microphone power / output power) over the
//!   10 ms frames with far-end speech in the last 10 s before double talk (after 10 s of
//!   convergence);
//! - near-end PESQ-WB in double talk: the output against the clean near-end speech, next to
//!   the unprocessed microphone's score.

use std::path::Path;

use hookflash_media::audio_processing::{AudioProcessor, FrameEngine, ProcessingSettings};
use hookflash_tests::pesq::{try_score, Band};
use hookflash_tests::speech;

use crate::pesq_table::{read_i16, write_wav};

pub const RATE: u32 = 16_000;
const FRAME: usize = (RATE / 100) as usize;
/// Far end alone until here (s); then double talk.
const SINGLE_TALK_S: usize = 20;
const TOTAL_S: usize = 28;
const NOISE_DBFS: f64 = -70.0;
pub const DESCRIPTION: &str =
    "40 ms room (seeded RIR, RT60 250 ms, ERL ≈ 10 dB), -70 dBFS mic noise, 16 kHz";

/// The clips the far end says, in order (the near end says `speech::reference`'s).
const FAR_CLIPS: [&str; 8] = [
    "Front_Left.wav",
    "Rear_Center.wav",
    "Side_Right.wav",
    "Front_Right.wav",
    "Rear_Left.wav",
    "Side_Left.wav",
    "Front_Center.wav",
    "Rear_Right.wav",
];

/// A small seeded generator (xorshift), so every run and both engines hear the same room.
struct Rng(u64);
impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// The room impulse response at [`RATE`]: 40 ms of nothing, the direct path, then a
/// decaying noise tail.
pub fn room_response(seed: u64) -> Vec<f64> {
    let delay = RATE as usize * 40 / 1000;
    let tail = RATE as usize / 4;
    let mut rng = Rng(seed | 1);
    let mut h = vec![0.0; delay + tail];
    h[delay] = 0.25;
    for k in 1..tail {
        let t = k as f64 / f64::from(RATE);
        // 60 dB down after 250 ms.
        h[delay + k] = 0.02 * rng.uniform() * (-6.9 * t / 0.25).exp();
    }
    h
}

fn convolve(x: &[i16], h: &[f64]) -> Vec<f64> {
    let taps: Vec<(usize, f64)> = h
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, g)| *g != 0.0)
        .collect();
    let mut y = vec![0.0; x.len()];
    for (i, &s) in x.iter().enumerate() {
        if s == 0 {
            continue;
        }
        let s = f64::from(s);
        for &(k, g) in &taps {
            if let Some(o) = y.get_mut(i + k) {
                *o += g * s;
            }
        }
    }
    y
}

/// The bench's signals, all at [`RATE`], [`TOTAL_S`] long.
pub struct Signals {
    pub far: Vec<i16>,
    pub echo: Vec<f64>,
    pub near: Vec<i16>,
    pub mic: Vec<i16>,
    /// Distinguishes the scenes' files ("" for the continuous double talk).
    pub tag: &'static str,
}

/// Speech, room, noise and the microphone mix; files go to `dir`.
pub fn signals(dir: &Path) -> Result<Signals, String> {
    let n = RATE as usize * TOTAL_S;
    // Far end: the clips with 0.2 s pauses, repeated to fill the run.
    let pause = vec![0i16; RATE as usize / 5];
    let mut sentence = Vec::new();
    for c in FAR_CLIPS {
        let src = Path::new("/usr/share/sounds/alsa").join(c);
        if !src.exists() {
            return Err(format!(
                "speech clip {} is missing (apt-get install alsa-utils)",
                src.display()
            ));
        }
        let dst = speech::convert(&src, &dir.join(format!("echo-far-{c}")), RATE, 1, 0.0);
        sentence.extend(read_i16(&dst)?);
        sentence.extend_from_slice(&pause);
    }
    let far: Vec<i16> = sentence.iter().copied().cycle().take(n).collect();
    // Near end: the reference speech, from the start of double talk.
    let near_clip = speech::convert(
        &speech::reference(dir),
        &dir.join("echo-near-16k.wav"),
        RATE,
        1,
        0.0,
    );
    let near_speech = read_i16(&near_clip)?;
    let start = RATE as usize * SINGLE_TALK_S;
    let mut near = vec![0i16; n];
    for (o, &s) in near[start..].iter_mut().zip(&near_speech) {
        *o = s;
    }
    Ok(mix(far, near, ""))
}

/// The microphone: the far end through the room, the near end and the noise.
fn mix(far: Vec<i16>, near: Vec<i16>, tag: &'static str) -> Signals {
    let n = far.len();
    let echo = convolve(&far, &room_response(4040));
    let mut rng = Rng(7070);
    let noise_amp = 32768.0 * 10f64.powf(NOISE_DBFS / 20.0) * 3f64.sqrt(); // uniform: rms = amp/√3
    let mic = (0..n)
        .map(|i| {
            (echo[i] + f64::from(near[i]) + noise_amp * rng.uniform())
                .round()
                .clamp(-32768.0, 32767.0) as i16
        })
        .collect();
    Signals {
        far,
        echo,
        near,
        mic,
        tag,
    }
}

/// How long the talkers overlap at each change of turn in [`conversation`].
pub const TURN_OVERLAP_MS: usize = 400;

/// The first and last 10 ms frame of `x` louder than -40 dBFS (the speech in a clip), in samples.
fn speech_span(x: &[i16]) -> Option<(usize, usize)> {
    let loud = |c: &[i16]| {
        c.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / c.len() as f64
            > (32768.0f64 * 0.01).powi(2)
    };
    let first = x.chunks(FRAME).position(loud)?;
    let last = x.chunks(FRAME).rposition(loud)?;
    Some((first * FRAME, ((last + 1) * FRAME).min(x.len())))
}

/// The same room after the same 20 s of far-end single talk, then a conversation in the style
/// of ITU-T P.501's double-talk sequences: the talkers take turns (four each: the near end says
/// the reference clips, the far end four other clips), and each one starts
/// [`TURN_OVERLAP_MS`] before the other has finished, so every change of turn is double talk.
pub fn conversation(dir: &Path) -> Result<Signals, String> {
    let n = RATE as usize * TOTAL_S;
    let start = RATE as usize * SINGLE_TALK_S;
    let single = signals(dir)?;
    let mut far = single.far[..start].to_vec();
    far.resize(n, 0);
    let mut near = vec![0i16; n];
    let clip = |name: &str, who: &str| -> Result<Vec<i16>, String> {
        let src = Path::new("/usr/share/sounds/alsa").join(name);
        read_i16(&speech::convert(
            &src,
            &dir.join(format!("echo-{who}-turn-{name}")),
            RATE,
            1,
            0.0,
        ))
    };
    let overlap = RATE as usize * TURN_OVERLAP_MS / 1000;
    let mut t = start + RATE as usize / 4;
    for (near_name, far_name) in speech::CLIPS.iter().zip(&FAR_CLIPS) {
        let place = |track: &mut Vec<i16>, x: &[i16], speech_at: usize| -> Result<usize, String> {
            let (a, b) = speech_span(x)
                .ok_or_else(|| format!("no speech found in a clip for {near_name}/{far_name}"))?;
            for (i, &s) in x[a..b].iter().enumerate() {
                if let Some(o) = track.get_mut(speech_at + i) {
                    *o = s;
                }
            }
            Ok(speech_at + (b - a))
        };
        let near_end = place(&mut near, &clip(near_name, "near")?, t)?;
        let far_end = place(
            &mut far,
            &clip(far_name, "far")?,
            near_end.saturating_sub(overlap),
        )?;
        t = far_end.saturating_sub(overlap);
    }
    Ok(mix(far, near, "-conversation"))
}

/// Runs the signals through `p`: speaker frame, then microphone frame, every 10 ms.
pub fn process(p: &mut AudioProcessor, sig: &Signals) -> Vec<i16> {
    let mut out = Vec::with_capacity(sig.mic.len());
    for (f, m) in sig.far.chunks(FRAME).zip(sig.mic.chunks(FRAME)) {
        p.render(f);
        let mut m = m.to_vec();
        p.capture(&mut m);
        out.extend_from_slice(&m);
    }
    out
}

/// One engine's figures.
#[derive(Debug)]
pub struct EchoFigures {
    pub erle_db: f64,
    pub pesq: Result<f64, String>,
}

fn power(x: impl Iterator<Item = f64>) -> f64 {
    x.map(|v| v * v).sum()
}

/// ERLE over the far-end-active frames of the last 10 s of single talk.
pub fn erle_db(sig: &Signals, out: &[i16]) -> f64 {
    let (from, to) = (
        RATE as usize * (SINGLE_TALK_S - 10),
        RATE as usize * SINGLE_TALK_S,
    );
    let (mut mic_p, mut out_p) = (0.0, 0.0);
    for start in (from..to).step_by(FRAME) {
        let r = start..start + FRAME;
        let echo_p = power(sig.echo[r.clone()].iter().copied()) / FRAME as f64;
        // Frames where the echo is above -50 dBFS: the far end is talking.
        if echo_p < (32768.0f64 * 10f64.powf(-50.0 / 20.0)).powi(2) {
            continue;
        }
        mic_p += power(sig.mic[r.clone()].iter().map(|&v| f64::from(v)));
        out_p += power(out[r].iter().map(|&v| f64::from(v)));
    }
    10.0 * (mic_p / out_p.max(1.0)).log10()
}

/// PESQ-WB of the double-talk part of `out` against the clean near-end speech.
pub fn near_pesq(dir: &Path, name: &str, sig: &Signals, out: &[i16]) -> Result<f64, String> {
    let start = RATE as usize * SINGLE_TALK_S;
    let reference = dir.join(format!("echo-near-clean{}.wav", sig.tag));
    write_wav(&reference, RATE, &sig.near[start..])?;
    let degraded = dir.join(format!("echo-near-{name}{}.wav", sig.tag));
    write_wav(&degraded, RATE, &out[start..])?;
    try_score(&reference, &degraded, Band::Wide)
}

/// Figures for one engine (`None`: the unprocessed microphone).
pub fn measure(
    dir: &Path,
    name: &str,
    sig: &Signals,
    engine: Option<Box<dyn FrameEngine>>,
) -> EchoFigures {
    let out = match engine {
        Some(e) => process(&mut AudioProcessor::with_engine(Some(e), RATE, RATE), sig),
        None => sig.mic.clone(),
    };
    EchoFigures {
        erle_db: erle_db(sig, &out),
        pesq: near_pesq(dir, name, sig, &out),
    }
}

/// PESQ-WB of the near end alone through `engine` (the far end silent, no echo; the same
/// microphone noise), over the double-talk window: what the processing itself does to the
/// near-end voice, the ceiling of the double-talk figure.
pub fn near_alone(
    dir: &Path,
    name: &str,
    sig: &Signals,
    engine: Box<dyn FrameEngine>,
) -> Result<f64, String> {
    let quiet = Signals {
        far: vec![0; sig.far.len()],
        echo: vec![0.0; sig.echo.len()],
        near: sig.near.clone(),
        tag: sig.tag,
        mic: sig
            .mic
            .iter()
            .zip(&sig.echo)
            .map(|(&m, &e)| (f64::from(m) - e).round().clamp(-32768.0, 32767.0) as i16)
            .collect(),
    };
    let out = process(
        &mut AudioProcessor::with_engine(Some(engine), RATE, RATE),
        &quiet,
    );
    near_pesq(dir, &format!("{name}-alone"), &quiet, &out)
}

/// Our shipped engine with these parts on (the lines: all of them).
pub fn sonora(parts: ProcessingSettings) -> Box<dyn FrameEngine> {
    Box::new(hookflash_media::audio_processing::SonoraEngine::new(
        RATE, RATE, parts,
    ))
}

/// Echo cancellation alone (for the log: what noise suppression and AGC add).
pub fn aec_only() -> ProcessingSettings {
    ProcessingSettings {
        echo_cancellation: true,
        noise_suppression: false,
        gain_control: false,
    }
}

/// WebRTC's C++ audio processing with the same parts on as [`sonora`].
#[cfg(feature = "webrtc-apm")]
pub fn webrtc(parts: ProcessingSettings) -> Result<Box<dyn FrameEngine>, String> {
    use webrtc_audio_processing::config::{
        AdaptiveDigital, EchoCanceller, GainController, GainController2, HighPassFilter,
        NoiseSuppression,
    };
    let apm = webrtc_audio_processing::Processor::new(RATE).map_err(|e| e.to_string())?;
    apm.set_config(webrtc_audio_processing::Config {
        high_pass_filter: Some(HighPassFilter::default()),
        echo_canceller: parts.echo_cancellation.then(EchoCanceller::default),
        noise_suppression: parts.noise_suppression.then(NoiseSuppression::default),
        gain_controller: parts.gain_control.then(|| {
            GainController::GainController2(GainController2 {
                adaptive_digital: Some(AdaptiveDigital::default()),
                ..Default::default()
            })
        }),
        ..Default::default()
    });
    struct Apm(webrtc_audio_processing::Processor);
    impl FrameEngine for Apm {
        fn render(&mut self, far: &[i16]) {
            let mut f: Vec<f32> = far.iter().map(|&s| f32::from(s) / 32768.0).collect();
            let _ = self.0.process_render_frame([f.as_mut_slice()]);
        }
        fn capture(&mut self, near: &mut [i16]) {
            let mut f: Vec<f32> = near.iter().map(|&s| f32::from(s) / 32768.0).collect();
            if self.0.process_capture_frame([f.as_mut_slice()]).is_ok() {
                for (o, s) in near.iter_mut().zip(&f) {
                    *o = (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                }
            }
        }
    }
    Ok(Box::new(Apm(apm)))
}

#[cfg(not(feature = "webrtc-apm"))]
pub fn webrtc(_parts: ProcessingSettings) -> Result<Box<dyn FrameEngine>, String> {
    // xtask says why it left the feature off; run by hand, the feature was simply not asked for.
    Err(std::env::var("HOOKFLASH_BENCH_NO_WEBRTC_APM")
        .unwrap_or_else(|_| "this bench was built without the webrtc-apm feature (cargo xtask bench turns it on)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_has_the_bulk_delay_and_a_decaying_tail() {
        let h = room_response(4040);
        assert!(h[..640].iter().all(|&g| g == 0.0), "nothing before 40 ms");
        assert_eq!(h[640], 0.25);
        let energy = |r: std::ops::Range<usize>| h[r].iter().map(|g| g * g).sum::<f64>();
        assert!(
            energy(660..1440) > 10.0 * energy(3200..4640),
            "the tail decays"
        );
        assert_eq!(h, room_response(4040), "seeded");
        // Echo return loss about 10 dB.
        let erl = -10.0 * h.iter().map(|g| g * g).sum::<f64>().log10();
        assert!((8.0..14.0).contains(&erl), "ERL {erl:.1} dB");
    }
}
