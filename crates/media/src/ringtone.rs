//! The ringtone for incoming calls, played on the ringer device (which may differ from the
//! call's speaker: ring on the laptop's loudspeaker, talk on the headset) until stopped.
//!
//! The sound: a two-tone trill (1000 + 1333 Hz, switched every 50 ms) in two 0.4 s bursts
//! with 0.2 s between them, then 2 s of silence, repeating; about -12 dBFS.

use crate::audio_io::AudioOut;
use crate::device_watch::DeviceNotices;
use crate::error::MediaError;
use crate::tone_player::TonePlayer;

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
    let freq = if (ms / 50).is_multiple_of(2) {
        1000.0
    } else {
        1333.0
    };
    let t = n as f32 / RATE as f32;
    (LEVEL * (t * freq * std::f32::consts::TAU).sin() * 32767.0) as i16
}

/// A ringtone playing on its own thread until [`Ringtone::stop`] (or drop).
pub struct Ringtone(TonePlayer);

impl Ringtone {
    /// Opens `output` and starts ringing. `AudioOut::Null` rings silently. A sound card's
    /// notices go to `notices`.
    pub fn start(output: AudioOut, notices: &DeviceNotices) -> Result<Ringtone, MediaError> {
        let mut n: u64 = 0;
        let player = TonePlayer::start("ringtone", output, RATE, notices, move |frame| {
            for s in frame.iter_mut() {
                *s = ring_sample(n);
                n += 1;
            }
        })?;
        Ok(Ringtone(player))
    }

    /// Stops ringing (and finalises a WAV output).
    pub fn stop(self) {
        self.0.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
        let r = Ringtone::start(AudioOut::Wav(path.clone()), &DeviceNotices::none()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        r.stop();
        let samples: Vec<i16> = hound::WavReader::open(&path)
            .unwrap()
            .samples::<i16>()
            .map(|s| s.unwrap())
            .collect();
        assert!(
            samples.len() >= RATE as usize / 10,
            "{} samples",
            samples.len()
        );
        assert!(samples.iter().any(|s| s.unsigned_abs() > 7000));
        let _ = std::fs::remove_dir_all(&dir);
        Ringtone::start(AudioOut::Null, &DeviceNotices::none())
            .unwrap()
            .stop();
    }
}
