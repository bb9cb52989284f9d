//! Pitch-period search by normalised autocorrelation, shared by loss concealment (`plc.rs`)
//! and the jitter buffer's time-stretching (`time_stretch.rs`).
//!
//! Both need "the lag at which this stretch of audio best repeats itself". The search runs on a
//! copy decimated to 8 kHz (cheap at 48 kHz), then refines around the best coarse lag at the
//! full rate.

/// Normalised cross-correlation of `x[a..a+len]` with `x[b..b+len]` (−1..1; 0 for silence).
pub fn similarity(x: &[f32], a: usize, b: usize, len: usize) -> f32 {
    let (mut dot, mut ea, mut eb) = (0.0f64, 0.0f64, 0.0f64);
    for i in 0..len {
        let (p, q) = (x[a + i] as f64, x[b + i] as f64);
        dot += p * q;
        ea += p * p;
        eb += q * q;
    }
    if ea <= 1e-9 || eb <= 1e-9 {
        return 0.0;
    }
    (dot / (ea * eb).sqrt()) as f32
}

/// How the compared segments are placed for a candidate lag `p` in a buffer of `n` samples:
/// returns `(a, b, len)` for [`similarity`], or `None` if `p` does not fit.
type Layout = fn(n: usize, p: usize, window: usize) -> Option<(usize, usize, usize)>;

/// The last `window` samples against the `window` samples one period earlier (concealment:
/// what would continue the history).
pub fn layout_before_end(n: usize, p: usize, window: usize) -> Option<(usize, usize, usize)> {
    (n >= window + p).then(|| (n - window - p, n - window, window))
}

/// The first period against the second (time-stretching: two periods to cross-fade).
pub fn layout_from_start(n: usize, p: usize, _window: usize) -> Option<(usize, usize, usize)> {
    (n >= 2 * p).then_some((0, p, p))
}

/// Finds the lag in `min..=max` samples (at `rate`) where `x` best repeats itself, placing the
/// compared segments with `layout`. Returns `(lag, correlation)`; `None` if no lag fits.
pub fn find_period(
    x: &[f32],
    rate: u32,
    min: usize,
    max: usize,
    window: usize,
    layout: Layout,
) -> Option<(usize, f32)> {
    let factor = (rate / 8000).max(1) as usize;
    let max = max.min(x.len());
    if min > max {
        return None;
    }
    let best_in = |x: &[f32], lags: std::ops::RangeInclusive<usize>, window: usize| {
        let mut best: Option<(usize, f32)> = None;
        for p in lags {
            if let Some((a, b, len)) = layout(x.len(), p, window) {
                let c = similarity(x, a, b, len);
                if best.is_none_or(|(_, bc)| c > bc) {
                    best = Some((p, c));
                }
            }
        }
        best
    };
    if factor == 1 {
        return best_in(x, min..=max, window);
    }
    // Coarse search at ~8 kHz (averaging each group of `factor` samples), then refine.
    let coarse: Vec<f32> = x
        .chunks_exact(factor)
        .map(|c| c.iter().sum::<f32>() / factor as f32)
        .collect();
    let (cp, _) = best_in(
        &coarse,
        (min / factor).max(1)..=max / factor,
        window / factor,
    )?;
    let lo = (cp * factor).saturating_sub(factor).max(min);
    let hi = (cp * factor + factor).min(max);
    best_in(x, lo..=hi, window)
}

/// Root-mean-square level of `x` (same units as the samples).
pub fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&s| (s as f64) * (s as f64)).sum::<f64>() / x.len() as f64).sqrt() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn periodic(n: usize, period: usize) -> Vec<f32> {
        // A pulse-train-like voiced signal: fundamental plus two harmonics.
        (0..n)
            .map(|i| {
                let ph = (i % period) as f32 / period as f32 * std::f32::consts::TAU;
                5000.0 * ph.sin() + 2000.0 * (2.0 * ph).sin() + 1000.0 * (3.0 * ph + 1.0).sin()
            })
            .collect()
    }

    #[test]
    fn finds_the_period_at_8_and_48_khz() {
        let x = periodic(400, 57);
        let (p, c) = find_period(&x, 8000, 20, 120, 80, layout_before_end).unwrap();
        assert_eq!(p, 57);
        assert!(c > 0.99);
        let (p, _) = find_period(&x, 8000, 20, 120, 0, layout_from_start).unwrap();
        assert_eq!(p, 57, "from the start as well");
        let y = periodic(2400, 342);
        let (p, c) = find_period(&y, 48000, 120, 720, 480, layout_before_end).unwrap();
        assert!((p as i64 - 342).abs() <= 1, "48 kHz lag {p}");
        assert!(c > 0.98);
    }

    #[test]
    fn silence_and_short_input_are_harmless() {
        let z = vec![0.0; 300];
        let (_, c) = find_period(&z, 8000, 20, 120, 80, layout_before_end).unwrap();
        assert_eq!(c, 0.0);
        assert!(find_period(&z[..10], 8000, 20, 120, 80, layout_before_end).is_none());
        assert_eq!(rms(&[]), 0.0);
    }
}
