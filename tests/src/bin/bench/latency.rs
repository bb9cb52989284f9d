//! Engine-internal latency (file → RTP → jitter buffer → file, clean line): a short chirp is
//! played 1 s into the sender's input; its position in the receiver's recording is found by
//! cross-correlation.
//!
//! A recording has no clock of its own, so it is put on the wall clock: the receiving session
//! writes one 20 ms frame per playout tick (ticks every 20 ms from its start) once playout
//! has begun, so with K ticks elapsed at the stop and F frames in the file, the file's first
//! sample was played at tick K − F + 1. The sender's input sample s leaves at
//! `sender start + s / rate` (the input is paced in real time). The result can be off by one
//! tick (20 ms) when the stop falls on a tick boundary, so the bench takes the median of runs.

use std::f64::consts::PI;
use std::path::Path;
use std::time::{Duration, Instant};

use hookflash_media::Codec;
use hookflash_tests::relay::loopback_call::{self, LoopbackCall};
use hookflash_tests::relay::Impairment;
use hookflash_tests::TestDir;

use crate::pesq_table::{read_i16, write_wav};

/// Where the chirp starts in the input.
const CHIRP_AT_S: f64 = 1.0;
const CHIRP_S: f64 = 0.03;
const TICK_S: f64 = 0.020;

/// A linear chirp 300 → 3000 Hz (inside every codec's band) with a Hann window, at `rate`.
pub fn chirp(rate: u32) -> Vec<f64> {
    let n = (CHIRP_S * f64::from(rate)) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let (f0, f1) = (300.0, 3000.0);
            let phase = 2.0 * PI * (f0 * t + (f1 - f0) * t * t / (2.0 * CHIRP_S));
            let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos();
            0.5 * w * phase.sin()
        })
        .collect()
}

/// Index in `x` where `template` matches best (largest normalised cross-correlation).
pub fn find(x: &[f64], template: &[f64]) -> Option<usize> {
    if x.len() < template.len() || template.is_empty() {
        return None;
    }
    let t_energy: f64 = template.iter().map(|v| v * v).sum();
    let mut best = (0.0, None);
    let mut window: f64 = x[..template.len()].iter().map(|v| v * v).sum();
    for i in 0..=x.len() - template.len() {
        if i > 0 {
            let (out, inn) = (x[i - 1], x[i + template.len() - 1]);
            window += inn * inn - out * out;
        }
        if window <= 1e-9 {
            continue;
        }
        let c: f64 = x[i..i + template.len()]
            .iter()
            .zip(template)
            .map(|(a, b)| a * b)
            .sum();
        let score = c / (window.max(1e-12) * t_energy).sqrt();
        if score > best.0 {
            best = (score, Some(i));
        }
    }
    // A real match of a windowed chirp is well above noise.
    if best.0 > 0.5 {
        best.1
    } else {
        None
    }
}

/// The input: silence, the chirp at 1 s, silence, at 48 kHz.
pub fn input_wav(path: &Path) -> Result<(), String> {
    let rate = 48_000u32;
    let mut pcm = vec![0i16; (2.5 * f64::from(rate)) as usize];
    let at = (CHIRP_AT_S * f64::from(rate)) as usize;
    for (i, v) in chirp(rate).iter().enumerate() {
        pcm[at + i] = (v * 32767.0) as i16;
    }
    write_wav(path, rate, &pcm)
}

/// One latency run of our engine; seconds.
pub fn ours_once(dir: &TestDir, codec: Codec, n: usize) -> Result<f64, String> {
    let input = dir.join(format!("latency-in-{n}.wav"));
    input_wav(&input)?;
    let output = dir.join(format!("latency-{codec:?}-{n}.wav"));
    let call = LoopbackCall {
        codec,
        impairment: Impairment::none(),
        seed: 0,
        input,
        output: output.clone(),
        talk: Duration::from_millis(2200),
    };
    let run = loopback_call::run(&call)?;
    let pcm = read_i16(&output)?;
    locate(
        &pcm,
        codec.sample_rate(),
        run.receiver_started,
        run.receiver_stopped,
        run.sender_started,
    )
    .ok_or_else(|| format!("the chirp was not found in {}", output.display()))
}

/// Seconds from the chirp entering the sender (1 s after `sender_started`) to it being played
/// in `pcm`, the recording of a session started at `receiver_started` and stopped at
/// `receiver_stopped` (see the module notes); `None` when the chirp is not in the recording.
pub fn locate(
    pcm: &[i16],
    rate: u32,
    receiver_started: Instant,
    receiver_stopped: Instant,
    sender_started: Instant,
) -> Option<f64> {
    let x: Vec<f64> = pcm.iter().map(|&s| f64::from(s) / 32768.0).collect();
    let pos = find(&x, &chirp(rate))?;
    let frame = (f64::from(rate) * TICK_S) as usize;
    let frames = pcm.len().div_ceil(frame);
    let ticks = ((receiver_stopped - receiver_started).as_secs_f64() / TICK_S).floor() as i64;
    let first_tick = ticks - frames as i64 + 1;
    // Times relative to the sender's start.
    let offset = receiver_started
        .saturating_duration_since(sender_started)
        .as_secs_f64()
        - sender_started
            .saturating_duration_since(receiver_started)
            .as_secs_f64();
    let play_start = first_tick as f64 * TICK_S + offset;
    Some(play_start + pos as f64 / f64::from(rate) - CHIRP_AT_S)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chirp_is_found_where_it_was_put_even_in_noise() {
        let rate = 8000;
        let c = chirp(rate);
        let mut x = vec![0.0; 8000];
        let mut seed = 1u32;
        for v in x.iter_mut() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = (f64::from(seed >> 16) / 65536.0 - 0.5) * 0.05;
        }
        for (i, v) in c.iter().enumerate() {
            x[3000 + i] += v;
        }
        assert_eq!(find(&x, &c), Some(3000));
        assert_eq!(find(&vec![0.0; 8000], &c), None);
    }
}
