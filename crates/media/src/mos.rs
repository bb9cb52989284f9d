//! Estimated call quality: the ITU-T G.107 E-model transmission rating R and the MOS it maps
//! to, from what a session can measure (codec, packet loss after FEC, one-way delay).
//!
//! R = 93.2 − Id − Ie,eff, with every other G.107 parameter at its default (93.2 is the
//! default rating: Ro − Is with the default talker-echo terms).
//! * Id: the delay term Idd of G.107 for the one-way delay Ta (0 up to 100 ms).
//! * Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl), with the codec's equipment impairment
//!   Ie and packet-loss robustness Bpl from ITU-T G.113 Appendix I: G.711 with Appendix I PLC
//!   has Ie 0, Bpl 25.1. Opus has no G.113 entry; we use Ie 0 and Bpl 20 (a deliberately
//!   more cautious robustness than G.711 + PLC; its own PLC and FEC do at least as well).
//! * MOS = 1 + 0.035 R + R (R − 60)(100 − R) · 7·10⁻⁶, clamped to 1..4.5.
//!
//! This is the narrowband scale: a clean G.711 call rates R 93.2, MOS 4.41.

use crate::codec::Codec;

/// What the E-model needs to know about a call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EModelInput {
    pub codec: Codec,
    /// Packets lost for the listener (lost or late, minus those FEC rebuilt), percent.
    pub loss_percent: f64,
    /// G.107 burst ratio: 1 for random loss, above 1 for bursty loss.
    pub burst_ratio: f64,
    /// Mouth-to-ear delay estimate, ms.
    pub one_way_delay_ms: f64,
}

/// The default rating with no impairments (G.107 defaults).
pub const R_DEFAULT: f64 = 93.2;

/// Equipment impairment Ie and packet-loss robustness Bpl of a codec.
pub fn codec_impairment(codec: Codec) -> (f64, f64) {
    match codec {
        Codec::Pcmu | Codec::Pcma => (0.0, 25.1),
        Codec::Opus => (0.0, 20.0),
        // G.722 at 64 kbit/s has no equipment impairment at narrowband; with pitch-repetition
        // PLC it is about as robust as G.711 with Appendix I.
        Codec::G722 => (0.0, 25.1),
    }
}

/// G.107 delay impairment Idd for a one-way delay `ta_ms`.
pub fn delay_impairment(ta_ms: f64) -> f64 {
    if ta_ms <= 100.0 {
        return 0.0;
    }
    let x = (ta_ms / 100.0).log2();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
        + 2.0)
}

/// Effective equipment impairment Ie,eff under packet loss.
pub fn effective_equipment_impairment(
    ie: f64,
    bpl: f64,
    loss_percent: f64,
    burst_ratio: f64,
) -> f64 {
    let ppl = loss_percent.clamp(0.0, 100.0);
    let burst = burst_ratio.max(1.0);
    ie + (95.0 - ie) * ppl / (ppl / burst + bpl)
}

/// The transmission rating R.
pub fn r_factor(input: &EModelInput) -> f64 {
    let (ie, bpl) = codec_impairment(input.codec);
    R_DEFAULT
        - delay_impairment(input.one_way_delay_ms.max(0.0))
        - effective_equipment_impairment(ie, bpl, input.loss_percent, input.burst_ratio)
}

/// Mean opinion score (1-4.5) for a rating R (G.107 Annex B).
pub fn mos_from_r(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).clamp(1.0, 4.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(codec: Codec, loss: f64, delay: f64) -> EModelInput {
        EModelInput {
            codec,
            loss_percent: loss,
            burst_ratio: 1.0,
            one_way_delay_ms: delay,
        }
    }

    #[test]
    fn clean_g711_is_the_default_rating() {
        let r = r_factor(&input(Codec::Pcmu, 0.0, 50.0));
        assert!((r - 93.2).abs() < 1e-9);
        let mos = mos_from_r(r);
        assert!((mos - 4.41).abs() < 0.005, "MOS {mos}");
    }

    #[test]
    fn known_values() {
        // Idd: none up to 100 ms; X = 1 at 200 ms gives 25 (2^(1/6) - 3 (1 + 3^-6)^(1/6) + 2).
        assert_eq!(delay_impairment(100.0), 0.0);
        assert!(
            (delay_impairment(200.0) - 3.04).abs() < 0.01,
            "{}",
            delay_impairment(200.0)
        );
        assert!(delay_impairment(400.0) > 15.0);
        // Ie,eff for G.711 + PLC at 5 % random loss: 95 * 5 / (5 + 25.1) = 15.78.
        let ie = effective_equipment_impairment(0.0, 25.1, 5.0, 1.0);
        assert!((ie - 15.78).abs() < 0.01, "{ie}");
        // Burstiness hurts: the same 5 % in bursts (BurstR 2) rates worse.
        assert!(effective_equipment_impairment(0.0, 25.1, 5.0, 2.0) > ie);
        // R 50 is MOS 2.58; R 70 is 3.60; R 80 is 4.02 (the G.107 mapping).
        assert!((mos_from_r(50.0) - 2.575).abs() < 0.01);
        assert!((mos_from_r(70.0) - 3.597).abs() < 0.01);
        assert!((mos_from_r(80.0) - 4.024).abs() < 0.01);
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
    }

    #[test]
    fn loss_and_delay_lower_the_score() {
        let clean = mos_from_r(r_factor(&input(Codec::Pcma, 0.0, 40.0)));
        let lossy = mos_from_r(r_factor(&input(Codec::Pcma, 10.0, 40.0)));
        let late = mos_from_r(r_factor(&input(Codec::Pcma, 0.0, 350.0)));
        assert!(lossy < clean - 0.8, "{lossy} vs {clean}");
        assert!(late < clean - 0.3, "{late} vs {clean}");
    }
}
