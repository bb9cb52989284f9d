//! Plays a generated sound (ringback, ringtone) to an [`AudioOut`] on its own thread, one
//! 20 ms frame at a time on an absolute schedule, until stopped or dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::audio_io::{open_sink_with, AudioOut};
use crate::device_watch::DeviceNotices;
use crate::error::MediaError;

/// A sound playing on its own thread until [`TonePlayer::stop`] (or drop).
pub struct TonePlayer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TonePlayer {
    /// Opens `output` at `rate` and plays what `fill` writes into each 20 ms frame.
    /// `name` names the thread and the sound in errors. `AudioOut::Null` plays nothing.
    /// A sound card's notices go to `notices`.
    pub fn start(
        name: &str,
        output: AudioOut,
        rate: u32,
        notices: &DeviceNotices,
        mut fill: impl FnMut(&mut [i16]) + Send + 'static,
    ) -> Result<TonePlayer, MediaError> {
        let stop = Arc::new(AtomicBool::new(false));
        if output == AudioOut::Null {
            return Ok(TonePlayer { stop, thread: None });
        }
        let mut sink = open_sink_with(&output, rate, notices)?;
        let stop2 = stop.clone();
        let what = name.to_string();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let mut frame = vec![0i16; rate as usize / 50];
                let start = Instant::now();
                let mut n: u32 = 0;
                while !stop2.load(Ordering::Relaxed) {
                    fill(&mut frame);
                    if let Err(e) = sink.write(&frame) {
                        tracing::warn!("{what} stopped: {e}");
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
            .map_err(|e| MediaError::Device {
                device: name.into(),
                reason: e.to_string(),
            })?;
        Ok(TonePlayer {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops playing (and finalises a WAV output).
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

impl Drop for TonePlayer {
    fn drop(&mut self) {
        self.halt();
    }
}
