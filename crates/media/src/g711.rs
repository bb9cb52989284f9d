//! G.711 µ-law (PCMU) and A-law (PCMA), written from the ITU-T G.711 segment tables.
//! Loss concealment is pitch-waveform repetition (`plc.rs`, after G.711 Appendix I).

use crate::codec::{AudioDecoder, AudioEncoder};
use crate::error::MediaError;

/// Which G.711 companding law.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Law {
    /// µ-law, North America and Japan (PCMU).
    Mu,
    /// A-law, the rest of the world (PCMA).
    A,
}

const MU_BIAS: i32 = 0x84;
const MU_CLIP: i32 = 8159;

/// Segment end points for µ-law (on the 14-bit magnitude plus bias).
const MU_SEG_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
/// Segment end points for A-law (on the 13-bit magnitude).
const A_SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

fn segment(value: i32, ends: &[i32; 8]) -> usize {
    ends.iter().position(|&end| value <= end).unwrap_or(8)
}

/// Compresses one 16-bit linear sample to a µ-law byte.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut v = (sample as i32) >> 2;
    let mask: u8 = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    v = v.min(MU_CLIP) + (MU_BIAS >> 2);
    let seg = segment(v, &MU_SEG_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let code = ((seg as u8) << 4) | (((v >> (seg + 1)) & 0x0F) as u8);
    code ^ mask
}

/// Expands a µ-law byte to a 16-bit linear sample.
pub fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code;
    let mut t = (((u & 0x0F) as i32) << 3) + MU_BIAS;
    t <<= (u & 0x70) >> 4;
    (if u & 0x80 != 0 {
        MU_BIAS - t
    } else {
        t - MU_BIAS
    }) as i16
}

/// Compresses one 16-bit linear sample to an A-law byte.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut v = (sample as i32) >> 3;
    let mask: u8 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let seg = segment(v, &A_SEG_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let mut code = (seg as u8) << 4;
    code |= if seg < 2 {
        ((v >> 1) & 0x0F) as u8
    } else {
        ((v >> seg) & 0x0F) as u8
    };
    code ^ mask
}

/// Expands an A-law byte to a 16-bit linear sample.
pub fn alaw_to_linear(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// G.711 encoder (either law).
pub struct G711Encoder {
    law: Law,
}

impl G711Encoder {
    pub fn new(law: Law) -> Self {
        G711Encoder { law }
    }
}

impl AudioEncoder for G711Encoder {
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), MediaError> {
        let f = match self.law {
            Law::Mu => linear_to_ulaw,
            Law::A => linear_to_alaw,
        };
        out.extend(pcm.iter().map(|&s| f(s)));
        Ok(())
    }
}

/// G.711 decoder with pitch-based loss concealment.
pub struct G711Decoder {
    law: Law,
    plc: crate::plc::Plc,
}

impl G711Decoder {
    pub fn new(law: Law) -> Self {
        G711Decoder {
            law,
            plc: crate::plc::Plc::new(8000),
        }
    }
}

impl AudioDecoder for G711Decoder {
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), MediaError> {
        let f = match self.law {
            Law::Mu => ulaw_to_linear,
            Law::A => alaw_to_linear,
        };
        let start = out.len();
        out.extend(payload.iter().map(|&b| f(b)));
        self.plc.on_good(&mut out[start..]);
        Ok(())
    }

    fn conceal(
        &mut self,
        samples: usize,
        next_payload: Option<&[u8]>,
        out: &mut Vec<i16>,
    ) -> Result<(), MediaError> {
        let f = match self.law {
            Law::Mu => ulaw_to_linear,
            Law::A => alaw_to_linear,
        };
        match next_payload.filter(|p| !p.is_empty()) {
            Some(next) => {
                let next: Vec<i16> = next.iter().map(|&b| f(b)).collect();
                self.plc.conceal_before(samples, &next, out);
            }
            None => self.plc.conceal(samples, out),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_values() {
        // Values from the G.711 tables: 0 -> 0xFF, full scale -> 0x80 / 0x00.
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(32767), 0x80);
        assert_eq!(linear_to_ulaw(-32768), 0x00);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0xF0), 120);
        assert_eq!(ulaw_to_linear(0xEF), 132);
        assert_eq!(ulaw_to_linear(0x70), -120);
    }

    #[test]
    fn alaw_known_values() {
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(linear_to_alaw(32767), 0xAA);
        assert_eq!(linear_to_alaw(-32768), 0x2A);
    }

    #[test]
    fn every_code_round_trips() {
        for code in 0..=255u8 {
            assert_eq!(
                linear_to_alaw(alaw_to_linear(code)),
                code,
                "A-law {code:#04x}"
            );
            // 0x7F is µ-law's "negative zero"; it decodes to 0, which encodes as 0xFF.
            if code != 0x7F {
                assert_eq!(
                    linear_to_ulaw(ulaw_to_linear(code)),
                    code,
                    "µ-law {code:#04x}"
                );
            }
        }
    }

    #[test]
    fn quantisation_error_is_small_relative_to_signal() {
        for law in [Law::Mu, Law::A] {
            type Pair = (fn(i16) -> u8, fn(u8) -> i16);
            let (enc, dec): Pair = match law {
                Law::Mu => (linear_to_ulaw, ulaw_to_linear),
                Law::A => (linear_to_alaw, alaw_to_linear),
            };
            for s in (-32000i32..32000).step_by(7) {
                let back = dec(enc(s as i16)) as i32;
                let err = (back - s).abs();
                // Logarithmic quantiser: error stays within ~3.2 % of the magnitude (+ small floor).
                assert!(err <= s.abs() / 30 + 16, "{law:?} {s} -> {back}");
            }
        }
    }

    #[test]
    fn concealment_continues_then_fades_to_silence() {
        let mut d = G711Decoder::new(Law::Mu);
        let mut out = Vec::new();
        // A 200 Hz tone, 40 ms of it.
        let tone: Vec<u8> = (0..320)
            .map(|i| {
                linear_to_ulaw(((i as f32 / 40.0 * std::f32::consts::TAU).sin() * 8000.0) as i16)
            })
            .collect();
        d.decode(&tone, &mut out).unwrap();
        out.clear();
        d.conceal(160, None, &mut out).unwrap();
        assert_eq!(out.len(), 160);
        assert!(
            out.iter().map(|&s| s.abs()).max().unwrap() > 6000,
            "the tone goes on"
        );
        for _ in 0..3 {
            out.clear();
            d.conceal(160, None, &mut out).unwrap();
        }
        assert!(out.iter().all(|&s| s == 0), "silence after 60 ms");
    }
}
