//! Call-progress tones: a dual-frequency generator with an on/off cadence, and [`Ringback`],
//! which plays the ringing tone to an [`AudioOut`] on its own thread while an outgoing call rings.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::audio_io::{open_sink, AudioOut};
use crate::error::MediaError;

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
pub struct Ringback {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const RINGBACK_RATE: u32 = 8000;

impl Ringback {
    /// Opens `output` and starts the tone. `AudioOut::Null` plays nothing.
    pub fn start(output: AudioOut) -> Result<Ringback, MediaError> {
        let stop = Arc::new(AtomicBool::new(false));
        if output == AudioOut::Null {
            return Ok(Ringback { stop, thread: None });
        }
        let mut sink = open_sink(&output, RINGBACK_RATE)?;
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ringback".into())
            .spawn(move || {
                let mut tone = ToneGenerator::ringback(RINGBACK_RATE);
                let mut frame = vec![0i16; RINGBACK_RATE as usize / 50];
                let start = Instant::now();
                let mut n: u32 = 0;
                while !stop2.load(Ordering::Relaxed) {
                    tone.fill(&mut frame);
                    if let Err(e) = sink.write(&frame) {
                        tracing::warn!("ringback stopped: {e}");
                        break;
                    }
                    n += 1;
                    // Absolute schedule: no drift however late a wake-up is.
                    let due = start + Duration::from_millis(20) * n;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
                let _ = sink.finish();
            })
            .map_err(|e| MediaError::Device { device: "ringback".into(), reason: e.to_string() })?;
        Ok(Ringback { stop, thread: Some(thread) })
    }

    /// Stops the tone (and finalises a WAV output).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Ringback {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_and_level() {
        let mut g = ToneGenerator::ringback(8000);
        let mut on = vec![0i16; 16000];
        g.fill(&mut on);
        let peak = on.iter().map(|s| s.abs()).max().unwrap();
        assert!(peak > 7000 && peak < 8000, "two tones at 0.12 peak near 0.24 FS: {peak}");
        let mut off = vec![1i16; 32000];
        g.fill(&mut off);
        assert!(off.iter().all(|&s| s == 0), "4 s of silence");
        let mut again = vec![0i16; 800];
        g.fill(&mut again);
        assert!(again.iter().any(|&s| s != 0), "cadence repeats");
    }

    #[test]
    fn ringback_to_wav_is_real_time_and_finalised() {
        let path = std::env::temp_dir().join(format!("hookflash-ringback-{}.wav", std::process::id()));
        let r = Ringback::start(AudioOut::Wav(path.clone())).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        r.stop();
        let reader = hound::WavReader::open(&path).unwrap();
        let secs = reader.len() as f32 / 8000.0;
        assert!((0.4..0.7).contains(&secs), "{secs} s written in 0.5 s");
        std::fs::remove_file(&path).ok();
        Ringback::start(AudioOut::Null).unwrap().stop();
    }
}
