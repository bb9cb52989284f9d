//! G.722 wideband speech (ITU-T G.722, 64 kbit/s mode), written from the Recommendation.
//!
//! Sub-band ADPCM: a 24-tap quadrature mirror filter (QMF) splits 16 kHz audio into a lower
//! band (0-4 kHz) and a higher band (4-8 kHz), each at 8 kHz. The lower band is coded with a
//! 6-bit adaptive quantiser, the higher band with 2 bits; one byte per pair of input samples
//! (higher band in the top two bits). Both bands share the same backward-adaptive predictor
//! (two poles, six zeros) and a logarithmic step-size adaptation, so the decoder follows the
//! encoder from the bits alone. All arithmetic is the Recommendation's integer arithmetic, so
//! we interoperate bit-exactly with other implementations.
//!
//! RTP note (RFC 3551): G.722 is payload type 9 with an RTP clock of 8000 Hz although it
//! carries 16 kHz audio; [`crate::Codec::G722`] keeps both rates apart.
//!
//! Loss concealment: the decoder repeats the last pitch periods of its 16 kHz output with the
//! same [`Plc`] the G.711 decoder uses, and lets the ADPCM state continue unchanged (the
//! backward adaptation re-converges within a few milliseconds once packets arrive again; the
//! PLC's cross-fade hides that first stretch).

use crate::codec::{AudioDecoder, AudioEncoder};
use crate::error::MediaError;
use crate::plc::Plc;

/// Quadrature mirror filter coefficients h0..h11 (the filter is symmetric: h(23-i) = h(i)).
const QMF_HALF: [i32; 12] = [3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876];

/// All 24 taps, indexed by position in the 24-sample history (position 23 is the newest;
/// the filter being symmetric, position p and delay 23-p carry the same coefficient).
const QMF: [i32; 24] = {
    let mut h = [0; 24];
    let mut i = 0;
    while i < 12 {
        h[i] = QMF_HALF[i];
        h[23 - i] = QMF_HALF[i];
        i += 1;
    }
    h
};

/// The QMF sums over the odd and even positions of a 24-sample history.
fn qmf_sums(history: &[i32; 24]) -> (i32, i32) {
    let mut odd = 0;
    let mut even = 0;
    for p in (0..24).step_by(2) {
        even += history[p] * QMF[p];
        odd += history[p + 1] * QMF[p + 1];
    }
    (odd, even)
}

/// Lower band: decision levels of the 6-bit quantiser (magnitude part, scaled by 2^12 / det).
const LOW_DECISION: [i32; 30] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940,
    1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
];
/// Lower band code for interval `m` (1..=30) of a negative / non-negative difference.
const LOW_CODE_NEG: [u8; 31] = [
    0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
    10, 9, 8, 7, 6, 5, 4,
];
const LOW_CODE_POS: [u8; 31] = [
    0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39,
    38, 37, 36, 35, 34, 33, 32,
];
/// Inverse quantiser outputs: 4-bit (used for adaptation) and 6-bit (the decoder's output).
const LOW_INV4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];
const LOW_INV6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
/// Magnitude index of a 4-bit code, and the log step-size multiplier for it.
const LOW_MAG4: [usize; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
const LOW_LOG_STEP: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
/// Antilog table for the scale factor (2^(i/32) in Q11).
const ANTILOG: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
/// Higher band: 2-bit codes, their inverse quantiser, magnitude index and step multiplier.
const HIGH_CODE_NEG: [u8; 3] = [0, 1, 0];
const HIGH_CODE_POS: [u8; 3] = [0, 3, 2];
const HIGH_INV2: [i32; 4] = [-7408, -1616, 7408, 1616];
const HIGH_MAG2: [usize; 4] = [2, 1, 2, 1];
const HIGH_LOG_STEP: [i32; 3] = [0, -214, 798];

fn sat16(x: i32) -> i32 {
    x.clamp(i16::MIN as i32, i16::MAX as i32)
}

/// Sign of a 16-bit quantity as the Recommendation uses it: 0 for >= 0, -1 for < 0.
fn sign(x: i32) -> i32 {
    if x < 0 {
        -1
    } else {
        0
    }
}

/// One band's adaptive state: scale factor and the pole-zero predictor.
#[derive(Clone, Debug)]
struct Band {
    /// Log scale factor (NBL / NBH).
    log_scale: i32,
    /// Quantiser scale factor (DETL / DETH).
    scale: i32,
    /// Predicted signal (SL / SH), and its zero-section part (SZL / SZH).
    predicted: i32,
    zero_part: i32,
    /// Reconstructed signal r(n-1), r(n-2).
    recon: [i32; 2],
    /// Partially reconstructed signal p(n), p(n-1), p(n-2).
    partial: [i32; 3],
    /// Pole coefficients a1, a2.
    poles: [i32; 2],
    /// Quantised differences d(n-1)..d(n-6) and zero coefficients b1..b6.
    diffs: [i32; 6],
    zeros: [i32; 6],
}

impl Band {
    fn new(scale: i32) -> Self {
        Band {
            log_scale: 0,
            scale,
            predicted: 0,
            zero_part: 0,
            recon: [0; 2],
            partial: [0; 3],
            poles: [0; 2],
            diffs: [0; 6],
            zeros: [0; 6],
        }
    }

    /// LOGSCL/LOGSCH then SCALEL/SCALEH: adapt the step size after a code with log
    /// multiplier `step`, keeping the log scale in `0..=max`; `shift` is 8 (lower) or 10.
    fn adapt_scale(&mut self, step: i32, max: i32, shift: i32) {
        self.log_scale = (((self.log_scale * 127) >> 7) + step).clamp(0, max);
        let mantissa = ANTILOG[((self.log_scale >> 6) & 31) as usize];
        let exp = shift - (self.log_scale >> 11);
        let v = if exp < 0 {
            mantissa << -exp
        } else {
            mantissa >> exp
        };
        self.scale = v << 2;
    }

    /// Block 4: reconstruct, update the pole and zero coefficients with the quantised
    /// difference `d`, and predict the next sample.
    fn adapt_predictor(&mut self, d: i32) {
        let recon0 = sat16(self.predicted + d);
        let partial0 = sat16(self.zero_part + d);
        let [a1, a2] = self.poles;
        let (s0, s1, s2) = (sign(partial0), sign(self.partial[0]), sign(self.partial[1]));

        // Second pole (UPPOL2), then the first with the stability limit (UPPOL1).
        let a1x4 = sat16(a1 * 4);
        let t = if s0 == s1 { -a1x4 } else { a1x4 }.min(32767);
        let new_a2 = ((if s0 == s2 { 128 } else { -128 }) + (t >> 7) + ((a2 * 32512) >> 15))
            .clamp(-12288, 12288);
        let limit = sat16(15360 - new_a2);
        let new_a1 =
            sat16((if s0 == s1 { 192 } else { -192 }) + ((a1 * 32640) >> 15)).clamp(-limit, limit);

        // Zero section (UPZERO): leak, then nudge towards the sign agreement of d.
        let nudge = if d == 0 { 0 } else { 128 };
        let sd = sign(d);
        for (b, di) in self.zeros.iter_mut().zip(self.diffs.iter()) {
            let step = if sign(*di) == sd { nudge } else { -nudge };
            *b = sat16(step + ((*b * 32640) >> 15));
        }

        // Delays.
        self.diffs.copy_within(0..5, 1);
        self.diffs[0] = d;
        self.recon = [recon0, self.recon[0]];
        self.partial = [partial0, self.partial[0], self.partial[1]];
        self.poles = [new_a1, new_a2];

        // Pole section (FILTEP), zero section (FILTEZ), prediction (PREDIC).
        let pole_part = sat16(
            ((new_a1 * sat16(self.recon[0] * 2)) >> 15)
                + ((new_a2 * sat16(self.recon[1] * 2)) >> 15),
        );
        let zero_part: i32 = self
            .zeros
            .iter()
            .zip(self.diffs.iter())
            .map(|(b, d)| (b * sat16(d * 2)) >> 15)
            .sum();
        self.zero_part = sat16(zero_part);
        self.predicted = sat16(pole_part + self.zero_part);
    }

    /// Lower band inverse quantiser with the 4-bit code (`code6 >> 2`); adapts the state.
    fn low_adapt(&mut self, code6: u8) {
        let code4 = (code6 >> 2) as usize;
        let d = (self.scale * LOW_INV4[code4]) >> 15;
        self.adapt_scale(LOW_LOG_STEP[LOW_MAG4[code4]], 18432, 8);
        self.adapt_predictor(d);
    }

    /// Higher band inverse quantiser; adapts the state and returns the quantised difference.
    fn high_adapt(&mut self, code2: u8) -> i32 {
        let d = (self.scale * HIGH_INV2[code2 as usize]) >> 15;
        self.adapt_scale(HIGH_LOG_STEP[HIGH_MAG2[code2 as usize]], 22528, 10);
        self.adapt_predictor(d);
        d
    }
}

/// Magnitude as the Recommendation takes it (one's complement for negatives).
fn magnitude(e: i32) -> i32 {
    if e >= 0 {
        e
    } else {
        -(e + 1)
    }
}

/// Encodes 16 kHz PCM into G.722 at 64 kbit/s (one byte per two samples).
#[derive(Clone, Debug)]
pub struct G722Encoder {
    qmf: [i32; 24],
    low: Band,
    high: Band,
    /// An odd sample left over from the last call (frames are normally even).
    pending: Option<i16>,
}

impl Default for G722Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Encoder {
    pub fn new() -> Self {
        G722Encoder {
            qmf: [0; 24],
            low: Band::new(32),
            high: Band::new(8),
            pending: None,
        }
    }

    /// Transmit QMF: shifts in two samples and returns the lower and higher band signals.
    ///
    /// Scaling: the coefficients add up to 8192 (DC gain 1 in Q13), and the shift by 14 takes
    /// 16-bit PCM to bands at half its amplitude, the Recommendation's 15-bit band signals for
    /// 14-bit PCM carried left-justified in 16-bit words. The ITU-T reference software
    /// (coefficients doubled, the sum doubled, then the top 16 bits), spandsp and FFmpeg scale
    /// the same way; the decoder's shift by 11 undoes it, so 16-bit PCM comes back at its level.
    fn analysis(&mut self, first: i16, second: i16) -> (i32, i32) {
        self.qmf.copy_within(2.., 0);
        self.qmf[22] = first as i32;
        self.qmf[23] = second as i32;
        // Odd positions hold even delays (x(j), x(j-2), ...), even positions odd delays.
        let (even_delays, odd_delays) = qmf_sums(&self.qmf);
        (
            (even_delays + odd_delays) >> 14,
            (even_delays - odd_delays) >> 14,
        )
    }

    /// Encodes one pair of samples into one byte.
    pub fn encode_pair(&mut self, first: i16, second: i16) -> u8 {
        let (x_low, x_high) = self.analysis(first, second);

        // Lower band: 6-bit quantiser on the prediction error.
        let el = sat16(x_low - self.low.predicted);
        let mag = magnitude(el);
        let interval = (1..30)
            .find(|&i| mag < (LOW_DECISION[i] * self.low.scale) >> 12)
            .unwrap_or(30);
        let code_low = if el < 0 {
            LOW_CODE_NEG[interval]
        } else {
            LOW_CODE_POS[interval]
        };
        self.low.low_adapt(code_low);

        // Higher band: 2-bit quantiser.
        let eh = sat16(x_high - self.high.predicted);
        let m = if magnitude(eh) >= (564 * self.high.scale) >> 12 {
            2
        } else {
            1
        };
        let code_high = if eh < 0 {
            HIGH_CODE_NEG[m]
        } else {
            HIGH_CODE_POS[m]
        };
        self.high.high_adapt(code_high);

        (code_high << 6) | code_low
    }

    /// Encodes `pcm`, appending one byte per pair of samples.
    pub fn encode_into(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        let mut samples = self.pending.take().into_iter().chain(pcm.iter().copied());
        while let Some(a) = samples.next() {
            match samples.next() {
                Some(b) => out.push(self.encode_pair(a, b)),
                None => self.pending = Some(a),
            }
        }
    }
}

/// Decodes G.722 (64 kbit/s) back to 16 kHz PCM.
#[derive(Clone, Debug)]
pub struct G722Decoder {
    qmf: [i32; 24],
    low: Band,
    high: Band,
}

impl Default for G722Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Decoder {
    pub fn new() -> Self {
        G722Decoder {
            qmf: [0; 24],
            low: Band::new(32),
            high: Band::new(8),
        }
    }

    /// Decodes one byte into two samples.
    pub fn decode_byte(&mut self, code: u8) -> [i16; 2] {
        let code_low = code & 0x3f;
        let code_high = code >> 6;

        // Lower band output uses the full 6-bit inverse quantiser; adaptation uses 4 bits.
        let out_low = (self.low.predicted + ((self.low.scale * LOW_INV6[code_low as usize]) >> 15))
            .clamp(-16384, 16383);
        self.low.low_adapt(code_low);

        let predicted_high = self.high.predicted;
        let d_high = self.high.high_adapt(code_high);
        let out_high = (predicted_high + d_high).clamp(-16384, 16383);

        // Receive QMF: sum and difference of the bands interleaved in one history.
        self.qmf.copy_within(2.., 0);
        self.qmf[22] = out_low + out_high;
        self.qmf[23] = out_low - out_high;
        let (first, second) = qmf_sums(&self.qmf);
        [sat16(first >> 11) as i16, sat16(second >> 11) as i16]
    }

    /// Decodes `payload`, appending two samples per byte.
    pub fn decode_into(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        out.reserve(payload.len() * 2);
        for &b in payload {
            out.extend_from_slice(&self.decode_byte(b));
        }
    }
}

/// The session's G.722 encoder.
pub struct G722AudioEncoder(G722Encoder);

impl G722AudioEncoder {
    pub fn new() -> Self {
        G722AudioEncoder(G722Encoder::new())
    }
}

impl Default for G722AudioEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioEncoder for G722AudioEncoder {
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), MediaError> {
        self.0.encode_into(pcm, out);
        Ok(())
    }

    fn bitrate(&self) -> Option<u32> {
        Some(64_000)
    }
}

/// The session's G.722 decoder, with pitch-repetition concealment at 16 kHz.
pub struct G722AudioDecoder {
    decoder: G722Decoder,
    plc: Plc,
}

impl G722AudioDecoder {
    pub fn new() -> Self {
        G722AudioDecoder {
            decoder: G722Decoder::new(),
            plc: Plc::new(16000),
        }
    }
}

impl Default for G722AudioDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioDecoder for G722AudioDecoder {
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), MediaError> {
        let start = out.len();
        self.decoder.decode_into(payload, out);
        self.plc.on_good(&mut out[start..]);
        Ok(())
    }

    fn conceal(
        &mut self,
        samples: usize,
        _next_payload: Option<&[u8]>,
        out: &mut Vec<i16>,
    ) -> Result<(), MediaError> {
        self.plc.conceal(samples, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ALSA "Front Center" clip resampled to 16 kHz, or `None` when it is not installed.
    fn speech_16k() -> Option<Vec<i16>> {
        let path = "/usr/share/sounds/alsa/Front_Center.wav";
        let mut r = hound::WavReader::open(path).ok()?;
        let spec = r.spec();
        let samples: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
        let mono: Vec<f32> = samples
            .chunks(spec.channels as usize)
            .map(|c| c[0] as f32 / 32768.0)
            .collect();
        let out = crate::resample::resample_all(&mono, spec.sample_rate, 16000).ok()?;
        Some(out.iter().map(|x| (x * 32767.0).round() as i16).collect())
    }

    /// The decoded signal lags the input by the two QMFs (22 samples at 16 kHz); find the lag
    /// that lines them up best within a small window, then measure.
    fn aligned_error(input: &[i16], output: &[i16]) -> (usize, Vec<f64>, Vec<f64>) {
        let best = (0..64)
            .max_by(|&a, &b| {
                let c = |lag: usize| -> f64 {
                    input
                        .iter()
                        .zip(&output[lag..])
                        .map(|(x, y)| *x as f64 * *y as f64)
                        .sum()
                };
                c(a).total_cmp(&c(b))
            })
            .unwrap();
        let n = input.len().min(output.len() - best);
        let x: Vec<f64> = input[..n].iter().map(|v| *v as f64).collect();
        let y: Vec<f64> = output[best..best + n].iter().map(|v| *v as f64).collect();
        (best, x, y)
    }

    fn snr_db(x: &[f64], y: &[f64]) -> f64 {
        let sig: f64 = x.iter().map(|v| v * v).sum();
        let err: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
        10.0 * (sig / err.max(1e-9)).log10()
    }

    /// Segmental SNR over 10 ms segments with speech in them (the usual clamp to -10..35 dB).
    fn segmental_snr_db(x: &[f64], y: &[f64]) -> f64 {
        let seg = 160;
        let mut total = 0.0;
        let mut count = 0;
        for (a, b) in x.chunks(seg).zip(y.chunks(seg)) {
            let sig: f64 = a.iter().map(|v| v * v).sum::<f64>() / a.len() as f64;
            if sig.sqrt() < 300.0 {
                continue; // silence between words
            }
            total += snr_db(a, b).clamp(-10.0, 35.0);
            count += 1;
        }
        total / count.max(1) as f64
    }

    /// Raw little-endian 16-bit samples from `crates/media/tests/fixtures/g722/`.
    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/g722")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn fixture_pcm(name: &str) -> Vec<i16> {
        fixture(name)
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    /// FFmpeg's `adpcm_g722`, an independent implementation, encodes the fixture input (tones
    /// at -20 and -6 dBFS, both bands at once, a chirp near full scale) to the same bytes.
    #[test]
    fn encodes_bit_exactly_like_an_independent_encoder() {
        let input = fixture_pcm("input.s16");
        let theirs = fixture("ffmpeg.g722");
        let mut ours = Vec::new();
        G722Encoder::new().encode_into(&input, &mut ours);
        assert_eq!(ours.len(), theirs.len());
        let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
        assert_eq!(
            first, None,
            "our G.722 differs from FFmpeg's from byte {first:?} on"
        );
    }

    /// And our decoder makes the same samples of FFmpeg's stream as FFmpeg's decoder.
    #[test]
    fn decodes_bit_exactly_like_an_independent_decoder() {
        let theirs = fixture_pcm("ffmpeg-decoded.s16");
        let mut ours = Vec::new();
        G722Decoder::new().decode_into(&fixture("ffmpeg.g722"), &mut ours);
        assert_eq!(ours.len(), theirs.len());
        let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
        assert_eq!(
            first, None,
            "our decoding of FFmpeg's G.722 differs from FFmpeg's from sample {first:?} on"
        );
    }

    /// What an independent decoder plays of the stream (the one we send: the test above shows
    /// the bytes are ours) has the source's level in every segment, within 1 dB, and the tones
    /// no peak above the source's: a stream coded 6 dB hot would play at twice the level. (The
    /// loud chirp does overshoot, in any G.722: the ADPCM lags a sweep through the band split.)
    #[test]
    fn an_independent_decoder_plays_the_stream_at_the_source_level() {
        let input = fixture_pcm("input.s16");
        let decoded = fixture_pcm("ffmpeg-decoded.s16");
        let rms = |x: &[i16]| {
            (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
        };
        let peak = |x: &[i16]| x.iter().map(|v| (*v as i32).abs()).max().unwrap_or(0);
        // The two QMFs delay by 22 samples; skip the first 25 ms of each segment (adaptation).
        for (k, name) in [
            "1 kHz at -20 dBFS",
            "1 kHz at -6 dBFS",
            "300 + 6500 Hz",
            "chirp 100-6000 Hz at -2.7 dBFS",
        ]
        .iter()
        .enumerate()
        {
            let (from, to) = (k * 2000 + 400, (k + 1) * 2000);
            let src = &input[from..to];
            let out = &decoded[from + 22..(to + 22).min(decoded.len())];
            let gain_db = 20.0 * (rms(out) / rms(src)).log10();
            eprintln!(
                "{name}: {gain_db:+.2} dB, peak {} for {}",
                peak(out),
                peak(src)
            );
            assert!(
                gain_db.abs() < 1.0,
                "{name}: the independent decoder plays it {gain_db:+.2} dB off"
            );
            if k < 3 {
                assert!(
                    peak(out) as f64 <= 1.1 * peak(src) as f64,
                    "{name}: peak {} against {}",
                    peak(out),
                    peak(src)
                );
            }
        }
    }

    /// The transmit QMF maps 16-bit PCM to bands at half its amplitude (see `analysis`): the
    /// scaling every decoder expects. One bit more or less and the far end plays us at twice or
    /// half the level while our own pair still agrees with itself.
    #[test]
    fn the_transmit_qmf_maps_16_bit_pcm_to_half_amplitude_bands() {
        let band_peak = |hz: f64, high: bool| {
            let mut enc = G722Encoder::new();
            let x: Vec<i16> = (0..3200)
                .map(|i| {
                    (16000.0 * (i as f64 * hz / 16000.0 * std::f64::consts::TAU).sin()).round()
                        as i16
                })
                .collect();
            let bands: Vec<(i32, i32)> = x
                .chunks_exact(2)
                .map(|p| enc.analysis(p[0], p[1]))
                .collect();
            bands[400..]
                .iter()
                .map(|(l, h)| if high { h.abs() } else { l.abs() })
                .max()
                .unwrap()
        };
        let low = band_peak(500.0, false);
        let high = band_peak(5000.0, true);
        assert!(
            (7700..=8300).contains(&low),
            "500 Hz at 16000 gives a lower band of {low}, not 8000"
        );
        assert!(
            (7700..=8300).contains(&high),
            "5 kHz at 16000 gives a higher band of {high}, not 8000"
        );
        let mut enc = G722Encoder::new();
        let dc = (0..64).map(|_| enc.analysis(1000, 1000)).last().unwrap();
        assert_eq!(dc, (500, 0), "DC 1000 gives bands {dc:?}");
    }

    #[test]
    fn speech_round_trip_keeps_a_high_snr() {
        let Some(speech) = speech_16k() else {
            eprintln!("skipped: /usr/share/sounds/alsa/Front_Center.wav not installed");
            return;
        };
        let mut enc = G722Encoder::new();
        let mut dec = G722Decoder::new();
        let mut bits = Vec::new();
        // 20 ms frames, as the session sends them.
        for frame in speech.chunks(320) {
            enc.encode_into(frame, &mut bits);
        }
        assert_eq!(bits.len(), speech.len() / 2);
        let mut out = Vec::new();
        for frame in bits.chunks(160) {
            dec.decode_into(frame, &mut out);
        }
        let (lag, x, y) = aligned_error(&speech, &out);
        let snr = snr_db(&x, &y);
        let seg = segmental_snr_db(&x, &y);
        eprintln!("G.722 speech round trip: lag {lag} samples, SNR {snr:.1} dB, segmental SNR {seg:.1} dB");
        assert_eq!(lag, 22, "the two QMFs delay by 22 samples");
        assert!(snr > 25.0, "SNR {snr:.1} dB");
        assert!(seg > 24.0, "segmental SNR {seg:.1} dB");
        // Same level in and out (within 1 dB).
        let e_in: f64 = x.iter().map(|v| v * v).sum();
        let e_out: f64 = y.iter().map(|v| v * v).sum();
        assert!((10.0 * (e_out / e_in).log10()).abs() < 1.0);
    }

    #[test]
    fn a_7khz_tone_survives_in_the_higher_band() {
        // 7 kHz is above G.711's band: only a wideband codec carries it.
        let tone: Vec<i16> = (0..3200)
            .map(|i| (8000.0 * (i as f64 * 7000.0 / 16000.0 * std::f64::consts::TAU).sin()) as i16)
            .collect();
        let mut enc = G722Encoder::new();
        let mut dec = G722Decoder::new();
        let mut bits = Vec::new();
        enc.encode_into(&tone, &mut bits);
        let mut out = Vec::new();
        dec.decode_into(&bits, &mut out);
        let tail = &out[1600..];
        let rms =
            (tail.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / tail.len() as f64).sqrt();
        // Input RMS is 8000 / sqrt(2) = 5657; the QMF's transition band costs a little.
        assert!(rms > 3000.0 && rms < 8000.0, "7 kHz RMS {rms:.0}");
    }

    #[test]
    fn silence_encodes_to_the_idle_pattern_and_decodes_to_near_silence() {
        let mut enc = G722Encoder::new();
        let mut dec = G722Decoder::new();
        let mut bits = Vec::new();
        enc.encode_into(&[0; 320], &mut bits);
        assert_eq!(bits.len(), 160);
        let mut out = Vec::new();
        dec.decode_into(&bits, &mut out);
        assert!(out.iter().all(|s| s.abs() < 64), "{:?}", &out[..16]);
    }

    #[test]
    fn odd_frames_carry_the_spare_sample_over() {
        let mut a = G722Encoder::new();
        let mut b = G722Encoder::new();
        let pcm: Vec<i16> = (0..320).map(|i| ((i * 37) % 2000) as i16 - 1000).collect();
        let mut whole = Vec::new();
        a.encode_into(&pcm, &mut whole);
        let mut split = Vec::new();
        b.encode_into(&pcm[..101], &mut split);
        b.encode_into(&pcm[101..], &mut split);
        assert_eq!(whole, split);
    }

    #[test]
    fn full_scale_input_does_not_overflow() {
        let square: Vec<i16> = (0..1600)
            .map(|i| if (i / 8) % 2 == 0 { i16::MAX } else { i16::MIN })
            .collect();
        let mut enc = G722Encoder::new();
        let mut dec = G722Decoder::new();
        let mut bits = Vec::new();
        enc.encode_into(&square, &mut bits);
        let mut out = Vec::new();
        dec.decode_into(&bits, &mut out);
        assert_eq!(out.len(), square.len());
    }

    #[test]
    fn concealment_fills_the_gap_then_fades() {
        let mut d = G722AudioDecoder::new();
        let mut enc = G722Encoder::new();
        let tone: Vec<i16> = (0..1600)
            .map(|i| (6000.0 * (i as f64 * 200.0 / 16000.0 * std::f64::consts::TAU).sin()) as i16)
            .collect();
        let mut bits = Vec::new();
        enc.encode_into(&tone, &mut bits);
        let mut out = Vec::new();
        for frame in bits.chunks(160) {
            d.decode(frame, &mut out).unwrap();
        }
        let mut lost = Vec::new();
        d.conceal(320, None, &mut lost).unwrap();
        assert_eq!(lost.len(), 320);
        let rms = |x: &[i16]| {
            (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
        };
        assert!(
            rms(&lost) > 2000.0,
            "first lost frame keeps the tone: {}",
            rms(&lost)
        );
        for _ in 0..4 {
            lost.clear();
            d.conceal(320, None, &mut lost).unwrap();
        }
        assert!(
            rms(&lost) < 100.0,
            "after 100 ms of loss it is silent: {}",
            rms(&lost)
        );
    }
}
