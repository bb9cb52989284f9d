//! Call-progress tones: a dual-frequency generator with an on/off cadence, and [`Ringback`],
//! which plays the ringing tone to an [`AudioOut`] on its own thread while an outgoing call rings.

use crate::audio_io::AudioOut;
use crate::device_watch::DeviceNotices;
use crate::error::MediaError;
use crate::tone_player::TonePlayer;

/// Two summed sines switched on and off in a repeating cadence.
#[derive(Clone, Debug)]
pub struct ToneGenerator {
    rate: u32,
    freqs: [f32; 2],
    amplitude: f32,
    on_samples: u64,
    period_samples: u64,
    position: u64,
}

impl ToneGenerator {
    pub fn new(rate: u32, freqs: [f32; 2], amplitude: f32, on_ms: u32, off_ms: u32) -> Self {
        let ms = |m: u32| rate as u64 * m as u64 / 1000;
        ToneGenerator {
            rate,
            freqs,
            amplitude,
            on_samples: ms(on_ms),
            period_samples: ms(on_ms + off_ms).max(1),
            position: 0,
        }
    }

    /// North American ringback: 440 + 480 Hz, 2 s on, 4 s off.
    pub fn ringback(rate: u32) -> Self {
        ToneGenerator::new(rate, [440.0, 480.0], 0.12, 2000, 4000)
    }

    pub fn fill(&mut self, out: &mut [i16]) {
        for o in out.iter_mut() {
            let in_cadence = self.position % self.period_samples;
            *o = if in_cadence < self.on_samples {
                let t = self.position as f32 / self.rate as f32;
                let v: f32 = self
                    .freqs
                    .iter()
                    .map(|f| (t * f * std::f32::consts::TAU).sin())
                    .sum::<f32>()
                    * self.amplitude;
                (v * 32767.0) as i16
            } else {
                0
            };
            self.position += 1;
        }
    }
}

/// Local ringback tone, playing until [`Ringback::stop`] (or drop).
pub struct Ringback(TonePlayer);

const RINGBACK_RATE: u32 = 8000;

impl Ringback {
    /// Opens `output` and starts the tone. `AudioOut::Null` plays nothing.
    /// A sound card's notices go to `notices`.
    pub fn start(output: AudioOut, notices: &DeviceNotices) -> Result<Ringback, MediaError> {
        let mut tone = ToneGenerator::ringback(RINGBACK_RATE);
        let player = TonePlayer::start("ringback", output, RINGBACK_RATE, notices, move |frame| {
            tone.fill(frame)
        })?;
        Ok(Ringback(player))
    }

    /// Stops the tone (and finalises a WAV output).
    pub fn stop(self) {
        self.0.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn cadence_and_level() {
        let mut g = ToneGenerator::ringback(8000);
        let mut on = vec![0i16; 16000];
        g.fill(&mut on);
        let peak = on.iter().map(|s| s.abs()).max().unwrap();
        assert!(
            peak > 7000 && peak < 8000,
            "two tones at 0.12 peak near 0.24 FS: {peak}"
        );
        let mut off = vec![1i16; 32000];
        g.fill(&mut off);
        assert!(off.iter().all(|&s| s == 0), "4 s of silence");
        let mut again = vec![0i16; 800];
        g.fill(&mut again);
        assert!(again.iter().any(|&s| s != 0), "cadence repeats");
    }

    #[test]
    fn ringback_to_wav_is_real_time_and_finalised() {
        let path =
            std::env::temp_dir().join(format!("hookflash-ringback-{}.wav", std::process::id()));
        let r = Ringback::start(AudioOut::Wav(path.clone()), &DeviceNotices::none()).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        r.stop();
        let reader = hound::WavReader::open(&path).unwrap();
        let secs = reader.len() as f32 / 8000.0;
        assert!((0.4..0.7).contains(&secs), "{secs} s written in 0.5 s");
        std::fs::remove_file(&path).ok();
        Ringback::start(AudioOut::Null, &DeviceNotices::none())
            .unwrap()
            .stop();
    }
}
