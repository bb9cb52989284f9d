//! Comfort noise (RFC 3389): during silence a sender may stop sending audio and send one small
//! CN packet instead, carrying the background-noise level. The receiver plays noise at that
//! level until audio resumes, so the line does not sound dead.
//!
//! Only the level is used; the optional spectral (reflection-coefficient) bytes are ignored,
//! which RFC 3389 allows: the noise is white at the announced level.

/// RFC 3551 static payload type of comfort noise on an 8 kHz clock.
pub const CN_PAYLOAD_TYPE: u8 = 13;

/// Noise generator for one silence period.
#[derive(Clone, Debug)]
pub struct ComfortNoise {
    /// RMS of the noise in 16-bit sample units.
    rms: f32,
    seed: u32,
}

impl ComfortNoise {
    /// From a CN payload: the first byte is the level in −dBov (0-127). `None` when empty.
    pub fn from_payload(payload: &[u8]) -> Option<Self> {
        let level = *payload.first()? & 0x7F;
        Some(Self::at_dbov(-(level as f32)))
    }

    /// Noise at `dbov` (0 dBov = full scale).
    pub fn at_dbov(dbov: f32) -> Self {
        ComfortNoise {
            rms: 32767.0 * 10f32.powf(dbov / 20.0),
            seed: 0x1234_5678,
        }
    }

    /// RMS level produced, in sample units.
    pub fn rms(&self) -> f32 {
        self.rms
    }

    /// Appends `samples` of noise to `out`.
    pub fn generate(&mut self, samples: usize, out: &mut Vec<i16>) {
        // Uniform white noise in [-a, a] has RMS a / sqrt(3).
        let a = self.rms * 3f32.sqrt();
        for _ in 0..samples {
            self.seed = self
                .seed
                .wrapping_mul(1_664_525)
                .wrapping_add(1_013_904_223);
            let u = (self.seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
            out.push((u * a).round().clamp(-32768.0, 32767.0) as i16);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_noise_at_the_announced_level() {
        // 40 dBov below full scale: RMS 327.
        let mut cn = ComfortNoise::from_payload(&[40, 1, 2, 3]).unwrap();
        let mut out = Vec::new();
        cn.generate(8000, &mut out);
        let rms = (out.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / out.len() as f64).sqrt();
        assert!((rms / 327.67 - 1.0).abs() < 0.05, "rms {rms}");
        let mean = out.iter().map(|&s| s as f64).sum::<f64>() / out.len() as f64;
        assert!(mean.abs() < 20.0, "no DC: {mean}");
        assert!(ComfortNoise::from_payload(&[]).is_none());
        // 127 dBov below: effectively silence.
        let mut quiet = ComfortNoise::from_payload(&[127]).unwrap();
        let mut q = Vec::new();
        quiet.generate(100, &mut q);
        assert!(q.iter().all(|&s| s.abs() <= 1));
    }
}
