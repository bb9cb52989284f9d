//! Opus from a sender that adds no FEC (baresip 1.0.0's default), under random loss: what our
//! engine plays against what baresip plays, receiving exactly the same packets with the same
//! ones lost, and libopus decoding them without a jitter buffer, with its classic concealment
//! and with its deep (neural) concealment.
//!
//! Per condition and seed: baresip and our engine receive one baresip stream with the same
//! packets lost ([`same_packets`]); the RTP payloads are also decoded offline with the relay's
//! loss pattern. Each figure is the median over [`SEEDS`] seeds.

use std::path::Path;

use hookflash_media::opus_codec::{packet_has_fec, OpusDecoder, DECODER_COMPLEXITY};
use hookflash_media::{AudioDecoder, Codec};
use hookflash_tests::pesq::Band;
use hookflash_tests::relay::LossModel;
use hookflash_tests::{speech, TestDir};

use crate::lines::{fmt2, median, Line, Verdict};
use crate::pesq_table::write_wav;
use crate::same_packets;

/// Seeds per loss rate (the figures are medians: one short clip varies with where the losses fall).
const SEEDS: u64 = 3;

/// Loss rates (percent) measured.
const RATES: [u32; 3] = [5, 10, 20];

struct Scores {
    ours: Vec<f64>,
    baresip: Vec<f64>,
    classic: Vec<f64>,
    deep: Vec<f64>,
    fec_packets: usize,
    packets: usize,
    errors: Vec<String>,
}

/// libopus decoding the RTP payloads in order, a lost one concealed (no FEC to use).
fn offline(
    payloads: &[(usize, Vec<u8>)],
    pattern: &[bool],
    complexity: i32,
) -> Result<Vec<i16>, String> {
    let mut dec = OpusDecoder::with_complexity(complexity).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (index, payload) in payloads {
        let r = if pattern.get(*index).copied().unwrap_or(false) {
            dec.conceal(960, None, &mut out)
        } else {
            dec.decode(payload, &mut out)
        };
        r.map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn one_seed(
    dir: &TestDir,
    speech48: &Path,
    rate: u32,
    seed: u64,
    s: &mut Scores,
) -> Result<(), String> {
    let loss = LossModel::Random {
        rate: f64::from(rate) / 100.0,
    };
    let slug = format!("nofec-{rate}-{seed}");
    let same = same_packets::receive(dir, speech48, Codec::Opus, &loss, seed, &slug)?;
    s.baresip.push(same.baresip);
    s.packets += same.payloads.len();
    s.fec_packets += same
        .payloads
        .iter()
        .filter(|(_, p)| packet_has_fec(p))
        .count();
    for (name, complexity, into) in [
        ("classic", 0, &mut s.classic),
        ("deep", DECODER_COMPLEXITY, &mut s.deep),
    ] {
        let p = dir.join(format!("{slug}-libopus-{name}.wav"));
        let pcm = offline(&same.payloads, &same.pattern, complexity)?;
        write_wav(&p, 48_000, &pcm)?;
        into.push(same_packets::score(speech48, &p, Band::Wide)?);
    }
    s.ours.push(same.ours);
    Ok(())
}

pub fn lines(dir: &TestDir, with_baresip: bool) -> Vec<Line> {
    let what = |rate: u32| {
        format!("Opus PESQ-WB receiving a sender without FEC (baresip 1.0.0), {rate}% random loss, the same packets lost for every receiver")
    };
    let target = |rate: u32| {
        if rate == 10 {
            "≥ baresip + 0.5"
        } else {
            "≥ baresip"
        }
    };
    if !with_baresip {
        return RATES
            .iter()
            .map(|&r| {
                Line::not_measured(
                    "PESQ",
                    &what(r),
                    "the sender is baresip (--no-baresip)",
                    target(r),
                )
            })
            .collect();
    }
    let speech48 = speech::reference(dir.path());
    let mut out = Vec::new();
    for rate in RATES {
        // `HOOKFLASH_BENCH_NOFEC=5,10` runs only those loss rates (for tuning one line).
        if std::env::var("HOOKFLASH_BENCH_NOFEC").is_ok_and(|l| {
            !l.trim().is_empty() && !l.split(',').any(|r| r.trim() == rate.to_string())
        }) {
            continue;
        }
        eprintln!("PESQ Opus without sender FEC, {rate}% loss");
        let mut s = Scores {
            ours: vec![],
            baresip: vec![],
            classic: vec![],
            deep: vec![],
            fec_packets: 0,
            packets: 0,
            errors: vec![],
        };
        for k in 0..SEEDS {
            if let Err(e) = one_seed(dir, &speech48, rate, 300 + u64::from(rate) * 10 + k, &mut s) {
                eprintln!("  no-FEC run {rate}% seed {k}: {e}");
                s.errors.push(e);
            }
        }
        let m = |v: &[f64]| {
            median(v).ok_or_else(|| {
                s.errors
                    .last()
                    .cloned()
                    .unwrap_or_else(|| "no run finished".into())
            })
        };
        let (ours, baresip) = (m(&s.ours), m(&s.baresip));
        let margin = if rate == 10 { 0.5 } else { 0.0 };
        let verdict = match (&ours, &baresip) {
            (Ok(o), Ok(b)) => Verdict::of(*o >= b + margin),
            _ => Verdict::NotMeasured,
        };
        let runs = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(Line::new(
            "PESQ",
            &what(rate),
            format!("{} (median of {}: {}; engine: jitter buffer, libopus deep PLC)", fmt2(&ours), s.ours.len(), runs(&s.ours)),
            format!(
                "baresip {} ({}); libopus classic PLC {}; libopus deep PLC {}; {} of {} packets carried FEC",
                fmt2(&baresip),
                runs(&s.baresip),
                fmt2(&m(&s.classic)),
                fmt2(&m(&s.deep)),
                s.fec_packets,
                s.packets
            ),
            target(rate),
            verdict,
        ));
    }
    out
}
