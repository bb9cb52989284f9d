//! Music on hold: what a parked caller hears, streamed from the phone itself.
//!
//! [`HoldMusic::Generated`] is a royalty-free loop made here in code: a slow I-vi-IV-V chord
//! progression in C major (2 s per chord, 8 s loop), each chord three soft sine tones with a
//! gentle attack and release and a quiet arpeggio on top, all below ~1050 Hz and well under
//! full scale. [`HoldMusic::Wav`] plays a user's WAV file over and over instead.
//!
//! Every parked call gets its own [`HoldMusicSource`], so each caller hears the loop from
//! its start.

use std::f64::consts::TAU;
use std::path::PathBuf;

use crate::audio_io::AudioSource;
use crate::error::MediaError;

/// Which music parked calls hear.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum HoldMusic {
    /// The loop generated in code.
    #[default]
    Generated,
    /// A WAV file (any rate, mono or stereo), looped.
    Wav(PathBuf),
    /// Silence (a plain hold).
    Silence,
}

/// Seconds per chord.
const CHORD_SECS: f64 = 2.0;
/// C major, A minor, F major, G major (Hz): root, third, fifth.
pub const CHORDS: [[f64; 3]; 4] = [
    [261.63, 329.63, 392.00],
    [220.00, 261.63, 329.63],
    [174.61, 220.00, 261.63],
    [196.00, 246.94, 293.66],
];
/// Peak amplitude of one chord tone (three sum to about -12 dBFS, plus a quieter arpeggio).
const TONE_AMPLITUDE: f64 = 2800.0;
const ARPEGGIO_AMPLITUDE: f64 = 1500.0;
/// Attack and release of each chord, seconds.
const FADE_SECS: f64 = 0.25;

/// An endless source of hold music at a fixed rate.
pub struct HoldMusicSource {
    rate: u32,
    kind: Kind,
}

enum Kind {
    Generated {
        n: u64,
    },
    Wav {
        path: PathBuf,
        inner: Box<dyn AudioSource>,
    },
    Silence,
}

impl HoldMusicSource {
    /// Opens the music at `rate`. A WAV file that cannot be read is an error (with its reason).
    pub fn open(music: &HoldMusic, rate: u32) -> Result<Self, MediaError> {
        let kind = match music {
            HoldMusic::Generated => Kind::Generated { n: 0 },
            HoldMusic::Silence => Kind::Silence,
            HoldMusic::Wav(path) => Kind::Wav {
                path: path.clone(),
                inner: open_wav(path, rate)?,
            },
        };
        Ok(HoldMusicSource { rate, kind })
    }

    /// The generated loop at `rate` (cannot fail).
    pub fn generated(rate: u32) -> Self {
        HoldMusicSource {
            rate,
            kind: Kind::Generated { n: 0 },
        }
    }
}

fn open_wav(path: &std::path::Path, rate: u32) -> Result<Box<dyn AudioSource>, MediaError> {
    Ok(Box::new(crate::wav::WavSource::open(path, rate)?))
}

/// One sample of the generated loop at time `t` seconds.
pub fn generated_sample(t: f64) -> f64 {
    let loop_secs = CHORD_SECS * CHORDS.len() as f64;
    let t_loop = t % loop_secs;
    let chord = (t_loop / CHORD_SECS) as usize % CHORDS.len();
    let tc = t_loop - chord as f64 * CHORD_SECS; // time within the chord
    let env = envelope(tc, CHORD_SECS);
    let mut v = 0.0;
    for f in CHORDS[chord] {
        v += (TAU * f * t_loop).sin() * TONE_AMPLITUDE;
    }
    // Arpeggio: the chord's notes an octave up, one every half second, each fading out.
    let step = (tc / 0.5) as usize;
    let ts = tc - step as f64 * 0.5;
    let note = CHORDS[chord][step % 3] * 2.0;
    let pluck = (-ts * 6.0).exp() * envelope(ts, 0.5);
    v += (TAU * note * t_loop).sin() * ARPEGGIO_AMPLITUDE * pluck;
    v * env
}

/// Raised-cosine fade in and out over `FADE_SECS` at both ends of a span of `len` seconds.
fn envelope(t: f64, len: f64) -> f64 {
    let fade = FADE_SECS.min(len / 4.0);
    let edge = |x: f64| 0.5 - 0.5 * (std::f64::consts::PI * (x / fade).clamp(0.0, 1.0)).cos();
    edge(t) * edge(len - t)
}

impl AudioSource for HoldMusicSource {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn read(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
        match &mut self.kind {
            Kind::Silence => out.fill(0),
            Kind::Generated { n } => {
                let rate = self.rate as f64;
                for o in out.iter_mut() {
                    *o = generated_sample(*n as f64 / rate)
                        .round()
                        .clamp(-32768.0, 32767.0) as i16;
                    *n += 1;
                }
            }
            Kind::Wav { path, inner } => {
                inner.read(out)?;
                if inner.ended() {
                    // Start over (the tail of this frame is silence; the next one plays).
                    *inner = open_wav(path, self.rate)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Energy of `f` in `x` (Goertzel), normalised by length.
    fn power(x: &[i16], rate: f64, f: f64) -> f64 {
        let w = TAU * f / rate;
        let c = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in x {
            let s = v as f64 + c * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        (s1 * s1 + s2 * s2 - c * s1 * s2) / (x.len() as f64).powi(2)
    }

    #[test]
    fn generated_loop_plays_the_chords_softly_and_repeats() {
        let rate = 8000;
        let mut m = HoldMusicSource::generated(rate);
        let mut pcm = vec![0i16; 8 * rate as usize * 2];
        m.read(&mut pcm).unwrap();
        let peak = pcm.iter().map(|v| v.unsigned_abs()).max().unwrap();
        assert!(peak > 3000 && peak < 12000, "peak {peak}");
        // The middle of the first chord is C major: C4 loud, A3 (not in it) quiet.
        let mid = &pcm[rate as usize / 2..rate as usize * 3 / 2];
        assert!(power(mid, 8000.0, 261.63) > 100.0 * power(mid, 8000.0, 220.0));
        // The second chord (A minor) has A3.
        let second = &pcm[rate as usize * 5 / 2..rate as usize * 7 / 2];
        assert!(power(second, 8000.0, 220.0) > 100.0 * power(second, 8000.0, 1000.0));
        // 8 s loop: the second pass equals the first.
        let loop_len = 8 * rate as usize;
        let diff = (0..loop_len)
            .map(|i| (pcm[i] as i32 - pcm[i + loop_len] as i32).abs())
            .max()
            .unwrap();
        assert!(diff <= 2, "loop differs by {diff}");
        // Chord changes fade through silence: no clicks.
        assert!(pcm[2 * rate as usize].unsigned_abs() < 50);
    }

    #[test]
    fn a_wav_file_loops_and_a_missing_one_is_an_error() {
        let dir = std::env::temp_dir().join(format!("hookflash-hold-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("music.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for _ in 0..800 {
            w.write_sample(1000i16).unwrap();
        }
        w.finalize().unwrap();
        let mut m = HoldMusicSource::open(&HoldMusic::Wav(path.clone()), 8000).unwrap();
        let mut f = vec![0i16; 160];
        let mut loud_frames = 0;
        for _ in 0..20 {
            m.read(&mut f).unwrap();
            if f.iter().all(|&v| v == 1000) {
                loud_frames += 1;
            }
        }
        // 0.1 s file read over 0.4 s: it played more than once.
        assert!(loud_frames >= 8, "{loud_frames}");
        let e = HoldMusicSource::open(&HoldMusic::Wav(dir.join("none.wav")), 8000)
            .err()
            .unwrap();
        assert!(e.to_string().contains("none.wav"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
