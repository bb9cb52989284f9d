//! The call-waiting tone: while another call rings during a conversation, two short 440 Hz beeps
//! every 10 s are mixed into what the user hears (the ringer would drown the conversation).
//! A plain generator keyed by elapsed time, so it is tested without a sound card.

/// Beep frequency (the ITU/European call-waiting tone).
const FREQ_HZ: f64 = 440.0;
/// On-periods within each cycle, in seconds: two 200 ms beeps 200 ms apart.
const BEEPS: [(f64, f64); 2] = [(0.0, 0.2), (0.4, 0.6)];
/// The pattern repeats this often.
pub const PERIOD_S: f64 = 10.0;
/// Peak amplitude (about -20 dBFS: audible over speech without startling).
const AMPLITUDE: f64 = 3277.0;
/// Fade in/out at each beep edge so it does not click.
const RAMP_S: f64 = 0.005;

/// Mixes the tone into audio frames; keeps its place in the pattern between frames.
#[derive(Debug, Default, Clone)]
pub struct CallWaitingTone {
    /// Seconds since the tone started.
    t: f64,
}

impl CallWaitingTone {
    pub fn new() -> Self {
        CallWaitingTone { t: 0.0 }
    }

    /// The tone's level at `t` seconds after it started (before scaling to samples).
    fn envelope(t: f64) -> f64 {
        let phase = t.rem_euclid(PERIOD_S);
        BEEPS
            .iter()
            .map(|&(on, off)| {
                if phase < on || phase >= off {
                    0.0
                } else {
                    ((phase - on) / RAMP_S).min((off - phase) / RAMP_S).min(1.0)
                }
            })
            .fold(0.0, f64::max)
    }

    /// Adds the next `pcm.len()` samples of the tone (at `rate` Hz) to `pcm`, saturating.
    pub fn mix(&mut self, pcm: &mut [i16], rate: u32) {
        let dt = 1.0 / f64::from(rate.max(1));
        for s in pcm.iter_mut() {
            let env = Self::envelope(self.t);
            if env > 0.0 {
                let v = AMPLITUDE * env * (2.0 * std::f64::consts::PI * FREQ_HZ * self.t).sin();
                *s = (f64::from(*s) + v).round().clamp(-32768.0, 32767.0) as i16;
            }
            self.t += dt;
        }
        // Keep precision over long calls.
        if self.t >= PERIOD_S * 1000.0 {
            self.t -= PERIOD_S * 1000.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(secs: f64, rate: u32) -> Vec<i16> {
        let mut tone = CallWaitingTone::new();
        let mut out = vec![0i16; (secs * f64::from(rate)) as usize];
        // In 20 ms frames, as the switch does.
        for frame in out.chunks_mut((rate / 50) as usize) {
            tone.mix(frame, rate);
        }
        out
    }

    fn energy(x: &[i16]) -> f64 {
        x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64
    }

    #[test]
    fn two_beeps_then_silence_every_ten_seconds() {
        let rate = 8000;
        let x = rendered(21.0, rate);
        let at = |from: f64, to: f64| energy(&x[(from * 8000.0) as usize..(to * 8000.0) as usize]);
        assert!(at(0.02, 0.18) > 1e6, "first beep");
        assert!(at(0.22, 0.38) == 0.0, "gap between beeps");
        assert!(at(0.42, 0.58) > 1e6, "second beep");
        assert!(at(0.7, 9.9) == 0.0, "quiet for the rest of the period");
        assert!(at(10.02, 10.18) > 1e6, "repeats after 10 s");
        assert!(at(20.42, 20.58) > 1e6, "and again");
    }

    #[test]
    fn it_is_440_hz() {
        let rate = 16000;
        let x = rendered(0.2, rate);
        let beep = &x[400..2800]; // 25-175 ms
        let crossings = beep.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let hz = crossings as f64 / 2.0 / (beep.len() as f64 / f64::from(rate));
        assert!((hz - 440.0).abs() < 10.0, "{hz} Hz");
    }

    #[test]
    fn no_clicks_at_the_edges_and_speech_is_kept() {
        let rate = 48000;
        let mut speech: Vec<i16> = (0..rate as usize)
            .map(|i| ((i as f64 * 0.05).sin() * 8000.0) as i16)
            .collect();
        let original = speech.clone();
        CallWaitingTone::new().mix(&mut speech, rate);
        // Outside the beeps the audio is untouched.
        assert_eq!(
            speech[(0.3 * 48000.0) as usize..(0.39 * 48000.0) as usize],
            original[(0.3 * 48000.0) as usize..(0.39 * 48000.0) as usize]
        );
        // The tone adds at most its ramped step per sample on top of the speech's own.
        let tone: Vec<f64> = speech
            .iter()
            .zip(&original)
            .map(|(a, b)| f64::from(*a) - f64::from(*b))
            .collect();
        let max_step = tone
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max);
        assert!(max_step < 200.0, "tone step {max_step}");
    }
}
