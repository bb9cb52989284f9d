//! Changing the playout delay without audible skips: shorten or lengthen decoded audio by one
//! pitch period, cross-fading two consecutive periods (overlap-add). Voiced speech keeps its
//! pitch and sounds continuous; silence and low-level noise can be shortened by more at once.
//!
//! The jitter buffer decides *when* (`jitter_buffer::Adjust`); this file only does the *how*
//! on a slice of PCM at the front of the playout queue.

use crate::pitch::{find_period, layout_from_start, rms};

/// Below this RMS (about −50 dBFS) audio counts as silence and may be cut by a whole chunk.
const QUIET_RMS: f32 = 100.0;
/// Below this correlation a segment is not periodic enough to stretch inaudibly.
const MIN_CORRELATION: f32 = 0.6;

fn period_range(rate: u32) -> (usize, usize) {
    // 2.5 ms .. 15 ms: 67-400 Hz voices.
    ((rate as usize) / 400, (rate as usize) * 15 / 1000)
}

fn crossfade(from: f32, to: f32, i: usize, len: usize) -> f32 {
    let w = (i as f32 + 0.5) / len as f32;
    from * (1.0 - w) + to * w
}

fn to_f32(x: &[i16]) -> Vec<f32> {
    x.iter().map(|&s| s as f32).collect()
}

fn clip(v: f32) -> i16 {
    v.round().clamp(-32768.0, 32767.0) as i16
}

/// Removes about one pitch period from the first `region` samples of `pcm` (or up to half the
/// region when it is quiet). Returns the number of samples removed (0 when the audio is neither
/// periodic nor quiet enough to cut cleanly).
pub fn compress(pcm: &mut Vec<i16>, region: usize, rate: u32) -> usize {
    let region = region.min(pcm.len());
    let x = to_f32(&pcm[..region]);
    let (min, max) = period_range(rate);
    let p = if rms(&x) < QUIET_RMS {
        // Quiet: cut a larger piece (half the region), still cross-faded.
        region / 2
    } else {
        match find_period(&x, rate, min, max.min(region / 2), 0, layout_from_start) {
            Some((p, c)) if c >= MIN_CORRELATION => p,
            _ => return 0,
        }
    };
    if p == 0 || 2 * p > region {
        return 0;
    }
    // y[i] = fade from x[i] into x[p + i] over one period; then continue at x[2p].
    for i in 0..p {
        pcm[i] = clip(crossfade(x[i], x[p + i], i, p));
    }
    pcm.drain(p..2 * p);
    p
}

/// Inserts about one pitch period after the first period of `pcm[..region]`. Returns the number
/// of samples added (0 when the audio is not periodic or quiet enough).
pub fn stretch(pcm: &mut Vec<i16>, region: usize, rate: u32) -> usize {
    let region = region.min(pcm.len());
    let x = to_f32(&pcm[..region]);
    let (min, max) = period_range(rate);
    let p = if rms(&x) < QUIET_RMS {
        region / 2
    } else {
        match find_period(&x, rate, min, max.min(region / 2), 0, layout_from_start) {
            Some((p, c)) if c >= MIN_CORRELATION => p,
            _ => return 0,
        }
    };
    if p == 0 || 2 * p > region {
        return 0;
    }
    // Keep x[..p], insert a period fading from x[p + i] (what naturally follows x[p - 1]) into
    // x[i] (what naturally leads into x[p]), then keep x[p..]: both joins are continuous.
    let inserted: Vec<i16> = (0..p)
        .map(|i| clip(crossfade(x[p + i], x[i], i, p)))
        .collect();
    pcm.splice(p..p, inserted);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voiced(n: usize, period: f32, rate: f32) -> Vec<i16> {
        let _ = rate;
        (0..n)
            .map(|i| {
                let ph = i as f32 / period * std::f32::consts::TAU;
                (6000.0 * ph.sin() + 2500.0 * (2.0 * ph + 0.3).sin()) as i16
            })
            .collect()
    }

    fn max_step(x: &[i16]) -> i32 {
        x.windows(2)
            .map(|w| (w[1] as i32 - w[0] as i32).abs())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn compress_removes_one_period_without_a_click() {
        let mut x = voiced(480, 64.0, 8000.0);
        let natural = max_step(&x);
        let removed = compress(&mut x, 320, 8000);
        assert_eq!(removed, 64);
        assert_eq!(x.len(), 480 - 64);
        assert!(
            max_step(&x) <= natural + natural / 10,
            "step {} vs {natural}",
            max_step(&x)
        );
    }

    #[test]
    fn stretch_adds_one_period_without_a_click() {
        let mut x = voiced(480, 64.0, 8000.0);
        let natural = max_step(&x);
        let added = stretch(&mut x, 320, 8000);
        assert_eq!(added, 64);
        assert_eq!(x.len(), 480 + 64);
        assert!(max_step(&x) <= natural + natural / 10);
        // The stretched signal is still the same tone: one period later it repeats itself.
        let f = to_f32(&x);
        let c = crate::pitch::similarity(&f, 0, 64, 400);
        assert!(c > 0.98, "still periodic: {c}");
    }

    #[test]
    fn works_at_48_khz() {
        let mut x = voiced(1920, 300.0, 48000.0);
        let removed = compress(&mut x, 1920, 48000);
        assert!((removed as i32 - 300).abs() <= 1, "removed {removed}");
    }

    #[test]
    fn silence_is_cut_by_more_and_noise_is_left_alone() {
        let mut quiet = vec![3i16; 320];
        assert_eq!(compress(&mut quiet, 320, 8000), 160);
        assert_eq!(quiet.len(), 160);
        let mut seed = 1u32;
        let mut noise: Vec<i16> = (0..320)
            .map(|_| {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                ((seed >> 16) as i16) / 4
            })
            .collect();
        let before = noise.clone();
        assert_eq!(
            compress(&mut noise, 320, 8000),
            0,
            "loud aperiodic audio is not cut"
        );
        assert_eq!(noise, before);
    }
}
