//! The conference mixer: N parties, each hears everyone but itself (mix-minus).
//!
//! Each party joins at its own sample rate (a call's codec rate, or the microphone's); the
//! mixer works at one rate and resamples on the way in and out. Every tick
//! ([`ConferenceMixer::mix`]) takes one frame from each party (silence from a party that has
//! not delivered one), sums all of them once, and gives each party the sum minus its own
//! frame. Sums are kept in floating point and pass a soft limiter, so loud talkers at once
//! bend smoothly under full scale instead of wrapping or clipping hard.
//!
//! It fits the [`AudioSwitch`](crate::AudioSwitch) model: a port's session writes what it
//! received ([`ConferenceMixer::push`]) and reads what it sends ([`ConferenceMixer::pull`]);
//! the local microphone/speaker is one more party. The audio switch drives it through a
//! [`ConferenceBridge`](crate::conference_bridge::ConferenceBridge) on the media clock.

use std::collections::VecDeque;

use crate::error::MediaError;
use crate::resample::StreamResampler;

/// Where the soft limiter starts bending (fraction of full scale).
const KNEE: f32 = 0.5;

/// Soft limiter: linear below [`KNEE`], then a tanh curve that approaches full scale and
/// never passes it; continuous with slope 1 at the knee, monotonic, odd.
pub fn soft_limit(x: f32) -> f32 {
    let a = x.abs();
    if a <= KNEE {
        return x;
    }
    let room = 1.0 - KNEE;
    (KNEE + room * ((a - KNEE) / room).tanh()).copysign(x)
}

/// Mix-minus of equal-length frames (floats, full scale ±1): `out[i]` = limited sum of all
/// frames but `frames[i]`. The core of [`ConferenceMixer::mix`], at one rate.
pub fn mix_minus(frames: &[Vec<f32>], out: &mut [Vec<f32>]) {
    let n = frames.first().map_or(0, Vec::len);
    let mut total = vec![0f32; n];
    for f in frames {
        for (t, &s) in total.iter_mut().zip(f) {
            *t += s;
        }
    }
    for (f, o) in frames.iter().zip(out.iter_mut()) {
        o.clear();
        o.extend(total.iter().zip(f).map(|(&t, &s)| soft_limit(t - s)));
    }
}

struct Party {
    id: u64,
    /// The rate the party's audio arrives at.
    in_rate: u32,
    /// The rate the party hears at.
    out_rate: u32,
    /// Smoothed level of what the party says (RMS, full scale 1).
    level: f32,
    into_mix: StreamResampler,
    out_of_mix: StreamResampler,
    /// The party's audio at the mixer rate, not yet mixed.
    inbox: VecDeque<f32>,
    /// What the party hears, at its own rate, not yet pulled.
    outbox: VecDeque<f32>,
}

/// An N-party mix-minus mixer; see the module documentation.
pub struct ConferenceMixer {
    rate: u32,
    frame: usize,
    parties: Vec<Party>,
    scratch_in: Vec<Vec<f32>>,
    scratch_out: Vec<Vec<f32>>,
}

impl ConferenceMixer {
    /// A mixer at `rate` Hz that mixes `frame_ms` at a time.
    pub fn new(rate: u32, frame_ms: u32) -> Self {
        ConferenceMixer {
            rate,
            frame: (rate as usize * frame_ms as usize / 1000).max(1),
            parties: Vec::new(),
            scratch_in: Vec::new(),
            scratch_out: Vec::new(),
        }
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Samples per mixing frame at the mixer rate.
    pub fn frame_len(&self) -> usize {
        self.frame
    }

    /// Adds party `id` whose audio is at `rate` Hz (replaces an earlier party with that id).
    pub fn add_party(&mut self, id: u64, rate: u32) -> Result<(), MediaError> {
        self.add_party_rates(id, rate, rate)
    }

    /// Adds party `id` that speaks at `in_rate` Hz and hears at `out_rate` Hz.
    pub fn add_party_rates(
        &mut self,
        id: u64,
        in_rate: u32,
        out_rate: u32,
    ) -> Result<(), MediaError> {
        self.remove_party(id);
        self.parties.push(Party {
            id,
            in_rate,
            out_rate,
            level: 0.0,
            into_mix: StreamResampler::new(in_rate, self.rate)?,
            out_of_mix: StreamResampler::new(self.rate, out_rate)?,
            inbox: VecDeque::new(),
            outbox: VecDeque::new(),
        });
        Ok(())
    }

    pub fn remove_party(&mut self, id: u64) {
        self.parties.retain(|p| p.id != id);
    }

    pub fn party_ids(&self) -> Vec<u64> {
        self.parties.iter().map(|p| p.id).collect()
    }

    /// The rate party `id` speaks at.
    pub fn party_in_rate(&self, id: u64) -> Option<u32> {
        self.parties.iter().find(|p| p.id == id).map(|p| p.in_rate)
    }

    pub fn has_party(&self, id: u64) -> bool {
        self.parties.iter().any(|p| p.id == id)
    }

    /// How loud each party has been speaking lately: RMS in dBFS (-96 for silence), smoothed
    /// over about a quarter of a second.
    pub fn levels(&self) -> Vec<(u64, f32)> {
        self.parties
            .iter()
            .map(|p| (p.id, (20.0 * p.level.max(1.6e-5).log10()).max(-96.0)))
            .collect()
    }

    /// Party `id` said `pcm` (at its own rate). Unknown ids are ignored.
    pub fn push(&mut self, id: u64, pcm: &[i16]) -> Result<(), MediaError> {
        let Some(p) = self.parties.iter_mut().find(|p| p.id == id) else {
            return Ok(());
        };
        let input: Vec<f32> = pcm.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let mut out =
            Vec::with_capacity(input.len() * self.rate as usize / p.in_rate as usize + 16);
        p.into_mix.process(&input, &mut out)?;
        p.inbox.extend(out);
        // A party far ahead of the ticks (its clock runs fast) loses its oldest audio
        // rather than growing a delay: keep at most 60 ms (and 3 frames) waiting.
        let cap = (3 * self.frame).max(self.rate as usize * 60 / 1000);
        if p.inbox.len() > cap {
            let extra = p.inbox.len() - cap;
            p.inbox.drain(..extra);
        }
        Ok(())
    }

    /// One tick: mixes one frame from every party into what each of the others hears.
    pub fn mix(&mut self) -> Result<(), MediaError> {
        let n = self.frame;
        let count = self.parties.len();
        self.scratch_in.resize_with(count, Vec::new);
        self.scratch_out.resize_with(count, Vec::new);
        for (p, buf) in self.parties.iter_mut().zip(self.scratch_in.iter_mut()) {
            buf.clear();
            let take = p.inbox.len().min(n);
            buf.extend(p.inbox.drain(..take));
            buf.resize(n, 0.0);
            let rms = (buf.iter().map(|s| s * s).sum::<f32>() / n as f32).sqrt();
            // About 250 ms to follow a change at 10 ms frames.
            p.level += (rms - p.level) * (n as f32 / (self.rate as f32 * 0.25)).min(1.0);
        }
        mix_minus(&self.scratch_in[..count], &mut self.scratch_out[..count]);
        for (p, mixed) in self.parties.iter_mut().zip(&self.scratch_out) {
            let mut out = Vec::with_capacity(n * p.out_rate as usize / self.rate as usize + 16);
            p.out_of_mix.process(mixed, &mut out)?;
            p.outbox.extend(out);
            // A party that stopped listening (its stream reads nothing) does not pile up
            // audio: keep at most 120 ms to be heard.
            let cap = p.out_rate as usize * 120 / 1000;
            if p.outbox.len() > cap {
                let extra = p.outbox.len() - cap;
                p.outbox.drain(..extra);
            }
        }
        Ok(())
    }

    /// What party `id` hears, at its own rate; silence where nothing is mixed yet.
    pub fn pull(&mut self, id: u64, out: &mut [i16]) {
        let Some(p) = self.parties.iter_mut().find(|p| p.id == id) else {
            out.fill(0);
            return;
        };
        let have = p.outbox.len().min(out.len());
        for (o, s) in out.iter_mut().zip(p.outbox.drain(..have)) {
            *o = (s * 32767.0).round().clamp(-32767.0, 32767.0) as i16;
        }
        out[have..].fill(0);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, n: usize, amp: f64) -> Vec<i16> {
        (0..n)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as i16
            })
            .collect()
    }

    /// Amplitude of `freq` in `x` (single-bin DFT, normalised to a sine's amplitude).
    pub(crate) fn level(x: &[i16], freq: f64, rate: u32) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &s) in x.iter().enumerate() {
            let w = 2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate);
            re += f64::from(s) * w.cos();
            im += f64::from(s) * w.sin();
        }
        2.0 * (re * re + im * im).sqrt() / x.len() as f64
    }

    #[test]
    fn each_party_hears_everyone_but_itself() {
        let rate = 16_000;
        let mut m = ConferenceMixer::new(rate, 20);
        let freqs = [300.0, 500.0, 700.0, 900.0];
        for id in 0..4 {
            m.add_party(id, rate).unwrap();
        }
        let n = m.frame_len();
        let mut heard = vec![Vec::new(); 4];
        for _ in 0..25 {
            for (id, f) in freqs.iter().enumerate() {
                m.push(id as u64, &tone(*f, rate, n, 3000.0)).unwrap();
            }
            m.mix().unwrap();
            for (id, h) in heard.iter_mut().enumerate() {
                let mut out = vec![0i16; n];
                m.pull(id as u64, &mut out);
                h.extend_from_slice(&out);
            }
        }
        for (id, h) in heard.iter().enumerate() {
            for (other, f) in freqs.iter().enumerate() {
                let l = level(h, *f, rate);
                if other == id {
                    assert!(l < 30.0, "party {id} hears itself at {l:.0}");
                } else {
                    assert!(
                        (l - 3000.0).abs() < 150.0,
                        "party {id} hears party {other} at {l:.0}, not 3000"
                    );
                }
            }
        }
    }

    #[test]
    fn loud_parties_at_once_never_wrap_or_exceed_full_scale() {
        let rate = 8000;
        let mut m = ConferenceMixer::new(rate, 20);
        for id in 0..5 {
            m.add_party(id, rate).unwrap();
        }
        let n = m.frame_len();
        for _ in 0..10 {
            for id in 0..5 {
                // Everyone at full scale, in phase: the plain sum would be 4 × full scale.
                m.push(id, &tone(400.0, rate, n, 32767.0)).unwrap();
            }
            m.mix().unwrap();
        }
        let mut out = vec![0i16; n * 10];
        m.pull(0, &mut out);
        let first_half = &out[..n / 2];
        // Same sign as the input (no wrap-around) and bounded.
        let input = tone(400.0, rate, n / 2, 32767.0);
        for (o, i) in first_half.iter().zip(&input) {
            assert!(
                i32::from(*o) * i32::from(*i) >= 0,
                "wrapped: in {i}, out {o}"
            );
        }
        assert!(
            out.iter().all(|&v| v >= -32767),
            "no sample at or past negative full scale"
        );
        assert!(out.iter().any(|&v| v.abs() > 30000), "loud stays loud");
    }

    #[test]
    fn soft_limit_is_linear_below_the_knee_and_bounded_above() {
        assert_eq!(soft_limit(0.3), 0.3);
        assert_eq!(soft_limit(-0.5), -0.5);
        let mut last = 0.0;
        for k in 0..1000 {
            let y = soft_limit(k as f32 * 0.01);
            assert!(y >= last && y <= 1.0);
            last = y;
        }
        assert_eq!(soft_limit(-4.0), -soft_limit(4.0));
    }

    #[test]
    fn parties_at_other_rates_are_resampled_both_ways() {
        let mut m = ConferenceMixer::new(48_000, 20);
        m.add_party(1, 8000).unwrap();
        m.add_party(2, 48_000).unwrap();
        let mut at8 = Vec::new();
        let mut at48 = Vec::new();
        // Whole cycles per 20 ms frame (9 and 20), so the frames join without a phase jump.
        for _ in 0..50 {
            m.push(1, &tone(450.0, 8000, 160, 4000.0)).unwrap();
            m.push(2, &tone(1000.0, 48_000, 960, 4000.0)).unwrap();
            m.mix().unwrap();
            let mut a = vec![0i16; 160];
            let mut b = vec![0i16; 960];
            m.pull(1, &mut a);
            m.pull(2, &mut b);
            at8.extend_from_slice(&a);
            at48.extend_from_slice(&b);
        }
        // Skip the first 200 ms (resampler start-up).
        let l8 = level(&at8[1600..], 1000.0, 8000);
        let l48 = level(&at48[9600..], 450.0, 48_000);
        assert!(
            (l8 - 4000.0).abs() < 400.0,
            "8 kHz party hears the 1 kHz tone at {l8:.0}"
        );
        assert!(
            (l48 - 4000.0).abs() < 400.0,
            "48 kHz party hears the 450 Hz tone at {l48:.0}"
        );
        assert!(level(&at8[1600..], 450.0, 8000) < 100.0, "and not itself");
        m.remove_party(1);
        assert_eq!(m.party_ids(), vec![2]);
        let mut silent = vec![1i16; 10];
        m.pull(1, &mut silent);
        assert!(
            silent.iter().all(|&v| v == 0),
            "a party that left hears nothing"
        );
    }
}
