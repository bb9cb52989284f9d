//! Voice processing of the microphone: echo cancellation, noise suppression and automatic
//! gain control, on by default and switchable per part.
//!
//! The far-end reference is what goes to the speaker ([`AudioProcessor::render`]); the
//! near-end is the microphone ([`AudioProcessor::capture`], processed in place). Both meet in
//! the [`AudioSwitch`](crate::AudioSwitch), which owns one processor for its one microphone
//! and speaker. The engines work on 10 ms frames; [`AudioProcessor`] cuts any chunk size into
//! 10 ms frames (chunks that are not whole frames delay the microphone by one frame).
//!
//! The product engine is [`SonoraEngine`]: `sonora`, a pure-Rust port of WebRTC's audio
//! processing module (AEC3, noise suppression, AGC2, high-pass filter). The bench wraps
//! tonarino's `webrtc-audio-processing` (the C++ original) in the same [`FrameEngine`] trait to
//! compare the two on the same signals. With every part switched off nothing runs and the
//! microphone passes bit-exact.

use std::collections::VecDeque;

/// Which parts of the microphone processing run. Default: all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessingSettings {
    /// Remove the far end's voice that the microphone picks up from the speaker.
    pub echo_cancellation: bool,
    /// Lower steady background noise (fans, hum).
    pub noise_suppression: bool,
    /// Bring the talker to a steady level.
    pub gain_control: bool,
}

impl Default for ProcessingSettings {
    fn default() -> Self {
        ProcessingSettings {
            echo_cancellation: true,
            noise_suppression: true,
            gain_control: true,
        }
    }
}

impl ProcessingSettings {
    /// Everything off: the microphone passes untouched.
    pub fn off() -> Self {
        ProcessingSettings {
            echo_cancellation: false,
            noise_suppression: false,
            gain_control: false,
        }
    }

    /// All parts on or all off.
    pub fn all(on: bool) -> Self {
        if on {
            Self::default()
        } else {
            Self::off()
        }
    }

    pub fn is_off(&self) -> bool {
        !(self.echo_cancellation || self.noise_suppression || self.gain_control)
    }
}

/// A voice-processing engine working on whole 10 ms frames.
pub trait FrameEngine: Send {
    /// One 10 ms frame of what the speaker plays (the echo reference), at the render rate.
    fn render(&mut self, far: &[i16]);
    /// One 10 ms frame of the microphone at the capture rate, processed in place.
    fn capture(&mut self, near: &mut [i16]);
}

/// The product engine: `sonora` (WebRTC AEC3 + NS + AGC2 in Rust).
pub struct SonoraEngine {
    apm: sonora::AudioProcessing,
}

impl SonoraEngine {
    /// An engine for a microphone at `capture_rate` and a speaker at `render_rate` (Hz, mono).
    pub fn new(capture_rate: u32, render_rate: u32, settings: ProcessingSettings) -> Self {
        use sonora::config::{
            AdaptiveDigital, EchoCanceller, GainController2, HighPassFilter, NoiseSuppression,
        };
        let config = sonora::Config {
            high_pass_filter: Some(HighPassFilter::default()),
            echo_canceller: settings.echo_cancellation.then(EchoCanceller::default),
            noise_suppression: settings.noise_suppression.then(NoiseSuppression::default),
            gain_controller2: settings.gain_control.then(|| GainController2 {
                adaptive_digital: Some(AdaptiveDigital::default()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let apm = sonora::AudioProcessing::builder()
            .config(config)
            .capture_config(sonora::StreamConfig::new(capture_rate, 1))
            .render_config(sonora::StreamConfig::new(render_rate, 1))
            .build();
        SonoraEngine { apm }
    }
}

impl FrameEngine for SonoraEngine {
    fn render(&mut self, far: &[i16]) {
        let mut unused = vec![0i16; far.len()];
        if let Err(e) = self.apm.process_render_i16(far, &mut unused) {
            tracing::debug!("echo reference frame refused: {e}");
        }
    }

    fn capture(&mut self, near: &mut [i16]) {
        let mut out = vec![0i16; near.len()];
        match self.apm.process_capture_i16(near, &mut out) {
            Ok(()) => near.copy_from_slice(&out),
            Err(e) => tracing::debug!("microphone frame left unprocessed: {e}"),
        }
    }
}

/// Rates the engines accept (WebRTC's range).
fn rate_supported(rate: u32) -> bool {
    (8000..=384_000).contains(&rate) && rate.is_multiple_of(100)
}

/// Voice processing for one microphone and one speaker, fed chunks of any size.
pub struct AudioProcessor {
    engine: Option<Box<dyn FrameEngine>>,
    capture_frame: usize,
    render_frame: usize,
    /// Speaker samples not yet a whole 10 ms frame.
    render_pending: Vec<i16>,
    /// Microphone samples not yet a whole 10 ms frame.
    capture_pending: Vec<i16>,
    /// Processed microphone samples not yet handed out.
    capture_ready: VecDeque<i16>,
}

impl AudioProcessor {
    /// The product processor (sonora) with these parts switched on; with all off, or a rate
    /// the engine cannot take, the microphone passes untouched.
    pub fn new(capture_rate: u32, render_rate: u32, settings: ProcessingSettings) -> Self {
        if settings.is_off() {
            return Self::with_engine(None, capture_rate, render_rate);
        }
        if !rate_supported(capture_rate) || !rate_supported(render_rate) {
            tracing::warn!(
                "voice processing is off: it needs 8-384 kHz in 10 ms frames (microphone {capture_rate} Hz, speaker {render_rate} Hz)"
            );
            return Self::with_engine(None, capture_rate, render_rate);
        }
        Self::with_engine(
            Some(Box::new(SonoraEngine::new(
                capture_rate,
                render_rate,
                settings,
            ))),
            capture_rate,
            render_rate,
        )
    }

    /// A processor around any 10 ms engine (`None`: pass-through).
    pub fn with_engine(
        engine: Option<Box<dyn FrameEngine>>,
        capture_rate: u32,
        render_rate: u32,
    ) -> Self {
        AudioProcessor {
            engine,
            capture_frame: (capture_rate / 100).max(1) as usize,
            render_frame: (render_rate / 100).max(1) as usize,
            render_pending: Vec::new(),
            capture_pending: Vec::new(),
            capture_ready: VecDeque::new(),
        }
    }

    /// Whether anything runs (false: pass-through).
    pub fn is_active(&self) -> bool {
        self.engine.is_some()
    }

    /// What the speaker is about to play: the echo reference.
    pub fn render(&mut self, far: &[i16]) {
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        let n = self.render_frame;
        if self.render_pending.is_empty() && far.len().is_multiple_of(n) {
            far.chunks_exact(n).for_each(|f| engine.render(f));
            return;
        }
        self.render_pending.extend_from_slice(far);
        let whole = self.render_pending.len() / n * n;
        self.render_pending[..whole]
            .chunks_exact(n)
            .for_each(|f| engine.render(f));
        self.render_pending.drain(..whole);
    }

    /// What the microphone picked up, replaced in place by the processed signal.
    pub fn capture(&mut self, mic: &mut [i16]) {
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        let n = self.capture_frame;
        // The common case (20 ms reads): whole frames, no buffering, no added delay.
        if self.capture_pending.is_empty()
            && self.capture_ready.is_empty()
            && mic.len().is_multiple_of(n)
        {
            mic.chunks_exact_mut(n).for_each(|f| engine.capture(f));
            return;
        }
        if self.capture_ready.is_empty() && self.capture_pending.is_empty() {
            // Entering the buffered mode: one frame of delay, once, covers every later chunk
            // (ready + pending always hold one frame more than the chunk being read).
            self.capture_ready.extend(std::iter::repeat_n(0i16, n));
        }
        self.capture_pending.extend_from_slice(mic);
        let whole = self.capture_pending.len() / n * n;
        for f in self.capture_pending[..whole].chunks_exact_mut(n) {
            engine.capture(f);
            self.capture_ready.extend(f.iter().copied());
        }
        self.capture_pending.drain(..whole);
        let short = mic.len().saturating_sub(self.capture_ready.len()); // 0 by the invariant
        mic[..short].fill(0);
        let take = mic.len() - short;
        for (o, s) in mic[short..]
            .iter_mut()
            .zip(self.capture_ready.drain(..take))
        {
            *o = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 16_000;

    /// Seeded noise-excited "speech": white noise shaped by a slow syllable envelope.
    fn speechlike(seed: u64, n: usize, level: f64) -> Vec<i16> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut lp = 0.0;
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let white = ((s >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0;
                lp = 0.7 * lp + 0.3 * white;
                let t = i as f64 / RATE as f64;
                let env = (0.5 + 0.5 * (2.0 * std::f64::consts::PI * 3.0 * t + seed as f64).sin())
                    .powi(2);
                (level * env * lp * 3.0).clamp(-32767.0, 32767.0) as i16
            })
            .collect()
    }

    /// A synthetic echo path: 20 ms bulk delay, then a short decaying tail, 0.5 gain.
    fn echo_of(far: &[i16]) -> Vec<f64> {
        let delay = (RATE / 50) as usize;
        let taps = [0.5, -0.25, 0.12, -0.06, 0.03];
        (0..far.len())
            .map(|i| {
                taps.iter()
                    .enumerate()
                    .filter_map(|(k, g)| {
                        i.checked_sub(delay + k * 3).map(|j| g * f64::from(far[j]))
                    })
                    .sum()
            })
            .collect()
    }

    fn power(x: &[i16]) -> f64 {
        x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64
    }

    /// Runs far/mic through `p` in 20 ms chunks; returns the processed microphone.
    fn run(p: &mut AudioProcessor, far: &[i16], mic: &[i16]) -> Vec<i16> {
        let chunk = (RATE / 50) as usize;
        let mut out = Vec::with_capacity(mic.len());
        for (f, m) in far.chunks(chunk).zip(mic.chunks(chunk)) {
            p.render(f);
            let mut m = m.to_vec();
            p.capture(&mut m);
            out.extend_from_slice(&m);
        }
        out
    }

    #[test]
    fn echo_is_cancelled_after_convergence() {
        let secs = 8;
        let far = speechlike(1, RATE as usize * secs, 6000.0);
        let mic: Vec<i16> = echo_of(&far).iter().map(|&e| e as i16).collect();
        let settings = ProcessingSettings {
            noise_suppression: false,
            gain_control: false,
            ..Default::default()
        };
        let mut p = AudioProcessor::new(RATE, RATE, settings);
        assert!(p.is_active());
        let out = run(&mut p, &far, &mic);
        // The last 3 s, after convergence.
        let tail = RATE as usize * 3;
        let erle = 10.0
            * (power(&mic[mic.len() - tail..]) / power(&out[out.len() - tail..]).max(1e-3)).log10();
        assert!(
            erle > 20.0,
            "echo return loss enhancement {erle:.1} dB after {} s",
            secs - 3
        );
    }

    #[test]
    fn double_talk_keeps_the_near_end() {
        let secs = 8;
        let n = RATE as usize * secs;
        let far = speechlike(2, n, 6000.0);
        // The near end talks only in the last 3 s, over the far end.
        let near: Vec<i16> = speechlike(7, n, 6000.0)
            .iter()
            .enumerate()
            .map(|(i, &v)| if i >= n - 3 * RATE as usize { v } else { 0 })
            .collect();
        let mic: Vec<i16> = echo_of(&far)
            .iter()
            .zip(&near)
            .map(|(&e, &s)| (e + f64::from(s)).clamp(-32768.0, 32767.0) as i16)
            .collect();
        let settings = ProcessingSettings {
            noise_suppression: false,
            gain_control: false,
            ..Default::default()
        };
        let mut p = AudioProcessor::new(RATE, RATE, settings);
        let out = run(&mut p, &far, &mic);
        let tail = RATE as usize * 3;
        let kept = power(&out[n - tail..]) / power(&near[n - tail..]);
        // The near end is not muted: at least a fifth of its power (-7 dB) gets through.
        assert!(
            kept > 0.2,
            "near-end power kept in double talk: {:.1} dB",
            10.0 * kept.log10()
        );
    }

    #[test]
    fn switched_off_is_bit_exact_pass_through() {
        let far = speechlike(3, RATE as usize, 8000.0);
        let mic = speechlike(4, RATE as usize, 8000.0);
        let mut p = AudioProcessor::new(RATE, RATE, ProcessingSettings::off());
        assert!(!p.is_active());
        assert_eq!(run(&mut p, &far, &mic), mic);
        // Odd chunk sizes too.
        let mut m = mic[..123].to_vec();
        p.render(&far[..77]);
        p.capture(&mut m);
        assert_eq!(m, &mic[..123]);
    }

    /// Counts frames and checks their sizes; output = input + 1.
    struct Probe {
        frame: usize,
        rendered: usize,
    }
    impl FrameEngine for Probe {
        fn render(&mut self, far: &[i16]) {
            assert_eq!(far.len(), self.frame);
            self.rendered += far.len();
        }
        fn capture(&mut self, near: &mut [i16]) {
            assert_eq!(near.len(), self.frame);
            near.iter_mut().for_each(|v| *v += 1);
        }
    }

    #[test]
    fn odd_chunks_are_cut_into_10_ms_frames_and_keep_their_order() {
        let mut p = AudioProcessor::with_engine(
            Some(Box::new(Probe {
                frame: 441,
                rendered: 0,
            })),
            44_100,
            44_100,
        );
        let input: Vec<i16> = (0..5000).map(|i| (i % 3000) as i16).collect();
        let mut out = Vec::new();
        for c in input.chunks(300) {
            p.render(c);
            let mut m = c.to_vec();
            p.capture(&mut m);
            out.extend_from_slice(&m);
        }
        // A constant delay (leading silence), then every sample once, in order, processed.
        let lead = out.iter().take_while(|&&v| v == 0).count();
        assert_eq!(lead, 441, "one 10 ms frame of delay");
        let expect: Vec<i16> = input.iter().map(|v| v + 1).collect();
        assert_eq!(&out[lead..], &expect[..out.len() - lead]);
    }

    #[test]
    fn unsupported_rates_pass_through() {
        let p = AudioProcessor::new(7000, 16_000, ProcessingSettings::default());
        assert!(!p.is_active());
        assert!(ProcessingSettings::off().is_off() && !ProcessingSettings::default().is_off());
        assert_eq!(ProcessingSettings::all(false), ProcessingSettings::off());
    }
}
