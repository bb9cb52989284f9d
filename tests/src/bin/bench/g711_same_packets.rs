//! G.711 µ-law under loss, our concealment against baresip's on the very same stream: baresip
//! sends, baresip and our engine each receive it with the same packets lost
//! ([`same_packets`]), and a silence fill of the same payloads is the floor. Each figure is the
//! median over [`SEEDS`] seeds. The PESQ table's G.711 lines compare two separate calls, whose
//! losses land on different syllables (their start differs by a few packets); these lines
//! compare the concealment alone.
//!
//! baresip's figure is its decoder's output (`sndfile`'s dump). baresip 1.0.0 conceals nothing
//! for G.711 (its `plc` module changes nothing here: measured, same scores): a lost frame is
//! simply missing from what it decodes, so the recording closes up around it (57 lost packets
//! made it 1.4 s shorter than ours), which PESQ forgives more readily than a filled gap. What
//! its player makes of the missing time was not measured: recorded from a PulseAudio null sink,
//! baresip's playout came out 1.5 s short even on a clean line (PESQ 2.14 against 3.84 for
//! its decoder's output), so that recording measures the harness, not baresip.

use std::path::Path;

use hookflash_media::Codec;
use hookflash_tests::pesq::Band;
use hookflash_tests::relay::LossModel;
use hookflash_tests::{speech, TestDir};

use crate::lines::{fmt2, median, Line, Verdict};
use crate::pesq_table::write_wav;
use crate::same_packets;

/// Seeds per condition (the figures are medians).
const SEEDS: u64 = 3;

struct Condition {
    label: &'static str,
    loss: LossModel,
    first_seed: u64,
    /// Margin over baresip the line asks for.
    margin: f64,
}

fn conditions() -> [Condition; 2] {
    [
        Condition {
            label: "5% random loss",
            loss: LossModel::Random { rate: 0.05 },
            first_seed: 405,
            margin: 0.0,
        },
        Condition {
            label: "8% burst loss (mean 3)",
            loss: LossModel::Burst {
                rate: 0.08,
                mean_burst: 3.0,
            },
            first_seed: 508,
            margin: 0.5,
        },
    ]
}

/// The payloads decoded with a lost one replaced by silence.
fn silence_fill(payloads: &[(usize, Vec<u8>)], pattern: &[bool]) -> Vec<i16> {
    let mut out = Vec::new();
    for (index, payload) in payloads {
        if pattern.get(*index).copied().unwrap_or(false) {
            out.extend(std::iter::repeat_n(0i16, payload.len()));
        } else {
            out.extend(
                payload
                    .iter()
                    .map(|&b| hookflash_media::g711::ulaw_to_linear(b)),
            );
        }
    }
    out
}

fn one_seed(
    dir: &TestDir,
    speech48: &Path,
    c: &Condition,
    seed: u64,
) -> Result<(f64, f64, f64), String> {
    let slug = format!("g711-same-{}-{seed}", c.first_seed);
    let same = same_packets::receive(dir, speech48, Codec::Pcmu, &c.loss, seed, &slug)?;
    let p = dir.join(format!("{slug}-silence-fill.wav"));
    write_wav(&p, 8000, &silence_fill(&same.payloads, &same.pattern))?;
    let silence = same_packets::score(speech48, &p, Band::Narrow)?;
    Ok((same.ours, same.baresip, silence))
}

pub fn lines(dir: &TestDir, with_baresip: bool) -> Vec<Line> {
    let what = |c: &Condition| {
        format!("G.711 µ-law PESQ-NB receiving baresip's stream, {}, the same packets lost for both receivers", c.label)
    };
    let target = |c: &Condition| {
        if c.margin > 0.0 {
            format!("≥ baresip + {}", c.margin)
        } else {
            "≥ baresip".to_string()
        }
    };
    if !with_baresip {
        return conditions()
            .iter()
            .map(|c| {
                Line::not_measured(
                    "PESQ",
                    &what(c),
                    "the sender is baresip (--no-baresip)",
                    &target(c),
                )
            })
            .collect();
    }
    let speech48 = speech::reference(dir.path());
    let mut out = Vec::new();
    for c in conditions() {
        eprintln!("PESQ G.711 on baresip's stream, {}", c.label);
        let (mut ours, mut baresip, mut silence, mut errors) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for seed in c.first_seed..c.first_seed + SEEDS {
            match one_seed(dir, &speech48, &c, seed) {
                Ok((o, b, s)) => {
                    ours.push(o);
                    baresip.push(b);
                    silence.push(s);
                }
                Err(e) => {
                    eprintln!("  G.711 same-packets run seed {seed}: {e}");
                    errors.push(e);
                }
            }
        }
        let m = |v: &[f64]| {
            median(v).ok_or_else(|| {
                errors
                    .last()
                    .cloned()
                    .unwrap_or_else(|| "no run finished".into())
            })
        };
        let runs = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (o, b) = (m(&ours), m(&baresip));
        let verdict = match (&o, &b) {
            (Ok(o), Ok(b)) => Verdict::of(*o >= b + c.margin),
            _ => Verdict::NotMeasured,
        };
        out.push(Line::new(
            "PESQ",
            &what(&c),
            format!("{} (median of {}: {})", fmt2(&o), ours.len(), runs(&ours)),
            format!(
                "baresip {} ({}; its decoder's output: lost frames left out, the recording closes up around them); silence fill {}",
                fmt2(&b),
                runs(&baresip),
                fmt2(&m(&silence))
            ),
            &target(&c),
            verdict,
        ));
    }
    out
}
