//! Streaming mono sample-rate conversion on top of rubato's FFT resampler.
//!
//! Audio arrives in pieces of any length; [`StreamResampler::process`] returns whatever output
//! is ready, with the resampler's start-up delay trimmed so output lines up with input.
//! [`StreamResampler::flush`] pushes out the tail at end of stream.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use crate::error::MediaError;

/// Converts a mono f32 stream from one rate to another. Rates that match pass straight through.
pub struct StreamResampler {
    from: u32,
    to: u32,
    inner: Option<Fft<f32>>,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    /// Output frames still to discard (resampler delay).
    skip: usize,
    /// Input frames accepted and output frames produced, for exact tail length on flush.
    consumed_in: u64,
    produced_out: u64,
}

impl StreamResampler {
    pub fn new(from: u32, to: u32) -> Result<Self, MediaError> {
        let err = |e: &dyn std::fmt::Display| MediaError::Resample { from, to, reason: e.to_string() };
        if from == 0 || to == 0 {
            return Err(err(&"sample rate must be above zero"));
        }
        let inner = if from == to {
            None
        } else {
            // ~20 ms chunks at the input rate keep latency low.
            let chunk = (from as usize / 50).max(64);
            Some(
                Fft::<f32>::new(from as usize, to as usize, chunk, 1, FixedSync::Input)
                    .map_err(|e| err(&e))?,
            )
        };
        let skip = inner.as_ref().map_or(0, |r| r.output_delay());
        Ok(StreamResampler {
            from,
            to,
            inner,
            pending: Vec::new(),
            scratch: Vec::new(),
            skip,
            consumed_in: 0,
            produced_out: 0,
        })
    }

    pub fn input_rate(&self) -> u32 {
        self.from
    }

    pub fn output_rate(&self) -> u32 {
        self.to
    }

    fn run_chunk(&mut self, partial: Option<usize>, out: &mut Vec<f32>) -> Result<(), MediaError> {
        let (from, to) = (self.from, self.to);
        let r = self.inner.as_mut().expect("only called when resampling");
        let need = r.input_frames_next();
        let out_frames = r.output_frames_max();
        self.scratch.resize(out_frames, 0.0);
        let mut padded;
        let input: &[f32] = match partial {
            None => &self.pending[..need],
            Some(n) => {
                padded = self.pending[..n].to_vec();
                padded.resize(need, 0.0);
                &padded
            }
        };
        let err = |e: &dyn std::fmt::Display| MediaError::Resample { from, to, reason: e.to_string() };
        let inbuf = InterleavedSlice::new(input, 1, need).map_err(|e| err(&e))?;
        let mut outbuf =
            InterleavedSlice::new_mut(&mut self.scratch[..], 1, out_frames).map_err(|e| err(&e))?;
        let (_, written) =
            r.process_into_buffer(&inbuf, &mut outbuf, None::<&Indexing>).map_err(|e| err(&e))?;
        let drop = self.skip.min(written);
        self.skip -= drop;
        out.extend_from_slice(&self.scratch[drop..written]);
        self.produced_out += (written - drop) as u64;
        let used = partial.unwrap_or(need);
        self.pending.drain(..used);
        Ok(())
    }

    /// Feeds `input` and appends all output that is ready to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), MediaError> {
        self.consumed_in += input.len() as u64;
        if self.inner.is_none() {
            out.extend_from_slice(input);
            self.produced_out += input.len() as u64;
            return Ok(());
        }
        self.pending.extend_from_slice(input);
        while self.pending.len() >= self.inner.as_ref().map_or(0, |r| r.input_frames_next()) {
            self.run_chunk(None, out)?;
        }
        Ok(())
    }

    /// Ends the stream: appends the remaining output so the total length matches
    /// `input_length * to / from` (rounded).
    pub fn flush(&mut self, out: &mut Vec<f32>) -> Result<(), MediaError> {
        if self.inner.is_none() {
            return Ok(());
        }
        let target = (self.consumed_in * self.to as u64 + self.from as u64 / 2) / self.from as u64;
        let mut guard = 0;
        while self.produced_out < target && guard < 64 {
            let n = self.pending.len();
            self.run_chunk(Some(n), out)?;
            guard += 1;
        }
        if self.produced_out > target {
            let extra = (self.produced_out - target) as usize;
            out.truncate(out.len().saturating_sub(extra));
            self.produced_out = target;
        }
        Ok(())
    }
}

/// Resamples a whole mono clip in one go.
pub fn resample_all(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, MediaError> {
    let mut r = StreamResampler::new(from, to)?;
    let mut out = Vec::with_capacity(input.len() * to as usize / from.max(1) as usize + 16);
    r.process(input, &mut out)?;
    r.flush(&mut out)?;
    Ok(out)
}

/// i16 PCM to f32 in [-1, 1).
pub fn to_f32(pcm: &[i16], out: &mut Vec<f32>) {
    out.extend(pcm.iter().map(|&s| s as f32 / 32768.0));
}

/// f32 in [-1, 1] to i16 PCM, clipping.
pub fn to_i16(x: &[f32], out: &mut Vec<i16>) {
    out.extend(x.iter().map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, freq: f32, n: usize) -> Vec<f32> {
        (0..n).map(|i| (i as f32 / rate as f32 * freq * std::f32::consts::TAU).sin() * 0.5).collect()
    }

    #[test]
    fn whole_clip_lengths_match_the_ratio() {
        for (from, to, n) in [(48000, 8000, 48000), (8000, 48000, 8000), (44100, 48000, 44100), (22050, 8000, 12345)] {
            let out = resample_all(&sine(from, 440.0, n), from, to).unwrap();
            let expected = (n as u64 * to as u64 + from as u64 / 2) / from as u64;
            assert_eq!(out.len() as u64, expected, "{from}->{to}");
        }
    }

    #[test]
    fn streaming_in_odd_pieces_is_aligned_and_clean() {
        let (from, to) = (48000, 8000);
        let input = sine(from, 440.0, 48000);
        let mut r = StreamResampler::new(from, to).unwrap();
        let mut out = Vec::new();
        for piece in input.chunks(777) {
            r.process(piece, &mut out).unwrap();
        }
        r.flush(&mut out).unwrap();
        assert_eq!(out.len(), 8000);
        // Compare with an ideal 440 Hz sine at 8 kHz: aligned (delay trimmed) and low error.
        let ideal = sine(to, 440.0, 8000);
        let err: f32 = out[400..7600].iter().zip(&ideal[400..7600]).map(|(a, b)| (a - b).powi(2)).sum();
        let sig: f32 = ideal[400..7600].iter().map(|a| a * a).sum();
        let snr_db = 10.0 * (sig / err).log10();
        assert!(snr_db > 40.0, "SNR {snr_db} dB");
    }

    #[test]
    fn same_rate_passes_through() {
        let mut r = StreamResampler::new(8000, 8000).unwrap();
        let mut out = Vec::new();
        r.process(&[0.1, 0.2], &mut out).unwrap();
        r.flush(&mut out).unwrap();
        assert_eq!(out, vec![0.1, 0.2]);
        assert!(StreamResampler::new(0, 8000).is_err());
    }

    #[test]
    fn pcm_conversions_clip() {
        let mut f = Vec::new();
        to_f32(&[-32768, 0, 16384], &mut f);
        assert_eq!(f, vec![-1.0, 0.0, 0.5]);
        let mut i = Vec::new();
        to_i16(&[2.0, -2.0, 0.5], &mut i);
        assert_eq!(i, vec![32767, -32768, 16384]);
    }
}
