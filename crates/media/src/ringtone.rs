//! The ringtone for incoming calls, played on the ringer device (which may differ from the
//! call's speaker: ring on the laptop's loudspeaker, talk on the headset) until stopped.
//!
//! The sound: a two-tone trill (1000 + 1333 Hz, switched every 50 ms) in two 0.4 s bursts
//! with 0.2 s between them, then 2 s of silence, repeating; about -12 dBFS.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::audio_io::{open_sink, AudioOut};
use crate::error::MediaError;

const RATE: u32 = 16000;
const CYCLE_MS: u64 = 3000;
const LEVEL: f32 = 0.25;

/// Sample `n` (at `RATE`) of the ring cadence.
fn ring_sample(n: u64) -> i16 {
    let ms = n * 1000 / RATE as u64 % CYCLE_MS;
    let on = ms < 400 || (600..1000).contains(&ms);
    if !on {
        return 0;
    }
    let freq = if (ms / 50).is_multiple_of(2) { 1000.0 } else { 1333.0 };
    let t = n as f32 / RATE as f32;
    (LEVEL * (t * freq * std::f32::consts::TAU).sin() * 32767.0) as i16
}

/// A ringtone playing on its own thread until [`Ringtone::stop`] (or drop).
pub struct Ringtone {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ringtone {
    /// Opens `output` and starts ringing. `AudioOut::Null` rings silently.
    pub fn start(output: AudioOut) -> Result<Ringtone, MediaError> {
        let stop = Arc::new(AtomicBool::new(false));
        if output == AudioOut::Null {
            return Ok(Ringtone { stop, thread: None });
        }
        let mut sink = open_sink(&output, RATE)?;
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ringtone".into())
            .spawn(move || {
                let frame_len = RATE as usize / 50;
                let mut frame = vec![0i16; frame_len];
                let start = Instant::now();
                let mut n: u64 = 0;
                while !stop2.load(Ordering::Relaxed) {
                    for (i, s) in frame.iter_mut().enumerate() {
                        *s = ring_sample(n * frame_len as u64 + i as u64);
                    }
                    if let Err(e) = sink.write(&frame) {
                        tracing::warn!("ringtone stopped: {e}");
                        break;
                    }
                    n += 1;
                    let due = start + Duration::from_millis(20) * n as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
                let _ = sink.finish();
            })
            .map_err(|e| MediaError::Device { device: "ringtone".into(), reason: e.to_string() })?;
        Ok(Ringtone { stop, thread: Some(thread) })
    }

    /// Stops ringing (and finalises a WAV output).
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

impl Drop for Ringtone {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_two_bursts_then_silence() {
        let at = |ms: u64| ring_sample(ms * RATE as u64 / 1000 + 3);
        let burst = |from: u64, to: u64| (from..to).map(|ms| at(ms).unsigned_abs()).max().unwrap();
        assert!(burst(0, 400) > 7000, "first burst");
        assert_eq!(burst(400, 600), 0, "gap");
        assert!(burst(600, 1000) > 7000, "second burst");
        assert_eq!(burst(1000, 3000), 0, "pause");
        assert!(burst(3000, 3400) > 7000, "repeats");
        assert!(burst(0, 3000) <= (LEVEL * 32767.0) as u16 + 1);
    }

    #[test]
    fn rings_into_a_wav_until_stopped() {
        let dir = std::env::temp_dir().join(format!("hf-ringtone-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ring.wav");
        let r = Ringtone::start(AudioOut::Wav(path.clone())).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        r.stop();
        let samples: Vec<i16> = hound::WavReader::open(&path).unwrap().samples::<i16>().map(|s| s.unwrap()).collect();
        assert!(samples.len() >= RATE as usize / 10, "{} samples", samples.len());
        assert!(samples.iter().any(|s| s.unsigned_abs() > 7000));
        let _ = std::fs::remove_dir_all(&dir);
        Ringtone::start(AudioOut::Null).unwrap().stop();
    }
}
