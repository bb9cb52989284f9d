//! Reading WAV recordings and simple level checks (RMS, speech-band energy share).

use std::path::Path;

/// Samples of a WAV file as f32 in [-1, 1], mixed down to mono, with its sample rate.
pub fn read_mono(path: &Path) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("cannot read WAV {}: {e}", path.display()));
    let spec = r.spec();
    let ch = usize::from(spec.channels.max(1));
    let raw: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.unwrap_or(0.0)).collect(),
        hound::SampleFormat::Int => {
            let scale = (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.unwrap_or(0) as f32 / scale)
                .collect()
        }
    };
    let mono = raw
        .chunks(ch)
        .map(|f| f.iter().sum::<f32>() / ch as f32)
        .collect();
    (mono, spec.sample_rate)
}

/// Root mean square of the samples (0 for none).
pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
}

/// Fraction of the signal's energy between `lo` and `hi` Hz (Goertzel on a grid of 50 Hz bins,
/// 100 Hz..rate/2). Speech has most of its energy between 200 and 4000 Hz.
pub fn band_energy_fraction(samples: &[f32], rate: u32, lo: f32, hi: f32) -> f32 {
    let n = samples.len().min(rate as usize * 4);
    if n == 0 {
        return 0.0;
    }
    let x = &samples[..n];
    let (mut inside, mut total) = (0.0f64, 0.0f64);
    let mut f = 100.0f32;
    while f < rate as f32 / 2.0 {
        let p = goertzel_power(x, rate, f);
        total += p;
        if f >= lo && f <= hi {
            inside += p;
        }
        f += 50.0;
    }
    if total == 0.0 {
        0.0
    } else {
        (inside / total) as f32
    }
}

/// Seconds of `samples` (in 100 ms windows with RMS > 0.01) where the dual tone
/// `f1` + `f2` carries more than half of the energy — e.g. 440 + 480 Hz, the ringback tone.
pub fn dual_tone_secs(samples: &[f32], rate: u32, f1: f32, f2: f32) -> f32 {
    let n = (rate / 10) as usize;
    let mut windows = 0usize;
    for w in samples.chunks_exact(n) {
        let energy: f64 = w.iter().map(|v| f64::from(*v) * f64::from(*v)).sum();
        if rms(w) <= 0.01 || energy == 0.0 {
            continue;
        }
        // A full-scale sinusoid of energy E over N samples has Goertzel power E * N / 2.
        let share =
            (goertzel_power(w, rate, f1) + goertzel_power(w, rate, f2)) / (energy * n as f64 / 2.0);
        if share > 0.5 {
            windows += 1;
        }
    }
    windows as f32 * 0.1
}

/// Power of `hz` in a WAV file (whole file, normalised by its length).
pub fn tone_power(wav: &Path, hz: f32) -> f64 {
    let (samples, rate) = read_mono(wav);
    goertzel_power(&samples, rate, hz) / (samples.len() as f64).powi(2).max(1.0)
}

/// Whether a recording holds the tone `wanted` and (20 times) less of the tone `other`.
pub fn hears(wav: &Path, wanted: f32, other: f32) -> bool {
    let (w, o) = (tone_power(wav, wanted), tone_power(wav, other));
    w > 1e-6 && w > 20.0 * o
}

/// Goertzel power of `freq` in `x` (not normalised by length).
pub fn goertzel_power(x: &[f32], rate: u32, freq: f32) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f64::from(freq) / f64::from(rate);
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - c * s1 * s2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: u32, secs: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn rms_of_sine_is_amplitude_over_root_two() {
        let r = rms(&tone(1000.0, 8000, 1.0));
        assert!((r - 0.5 / 2f32.sqrt()).abs() < 0.01, "{r}");
        assert_eq!(rms(&[]), 0.0);
    }

    #[test]
    fn dual_tone_is_measured_and_speechlike_tones_are_not() {
        let rate = 16000;
        let ring: Vec<f32> = tone(440.0, rate, 1.0)
            .iter()
            .zip(tone(480.0, rate, 1.0))
            .map(|(a, b)| (a + b) / 2.0)
            .collect();
        let got = dual_tone_secs(&ring, rate, 440.0, 480.0);
        assert!((got - 1.0).abs() < 0.11, "{got}");
        assert_eq!(
            dual_tone_secs(&tone(1000.0, rate, 1.0), rate, 440.0, 480.0),
            0.0
        );
        assert_eq!(dual_tone_secs(&vec![0.0; 16000], rate, 440.0, 480.0), 0.0);
    }

    #[test]
    fn band_fraction_separates_in_and_out_of_band_tones() {
        assert!(band_energy_fraction(&tone(1000.0, 16000, 1.0), 16000, 200.0, 4000.0) > 0.9);
        assert!(band_energy_fraction(&tone(6000.0, 16000, 1.0), 16000, 200.0, 4000.0) < 0.1);
    }
}
