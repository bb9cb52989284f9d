//! PESQ under loss: our engine, the offline libopus/G.711 references and baresip ↔ baresip, on
//! the same speech (the alsa-utils clips) and the same seeded loss patterns, in one run.
//!
//! Conditions: 0, 5, 10, 20 % random loss and 8 % Gilbert–Elliott burst loss (mean burst 3
//! packets) on the speech direction. Opus is scored wideband (16 kHz), G.711 narrowband (8 kHz).

use std::path::{Path, PathBuf};
use std::time::Duration;

use hookflash_media::Codec;
use hookflash_tests::baresip::Codec as BaresipCodec;
use hookflash_tests::pesq::{self, Band};
use hookflash_tests::relay::loopback_call::{self, LoopbackCall};
use hookflash_tests::relay::{loss_pattern, Impairment, LossModel};
use hookflash_tests::{speech, TestDir};

use crate::lines::{fmt2, median, Line, Verdict};
use crate::offline;
use hookflash_tests::baresip_relay_call as baresip_call;

/// Calls of our engine per codec and condition (the figure is their median).
const ENGINE_RUNS: usize = 3;

/// `HOOKFLASH_BENCH_PESQ=opus-110,pcmu-208` runs only those codec-seed lines (for tuning one
/// line without loading the machine with the whole table); unset or empty runs them all.
fn selected(slug: &str) -> bool {
    match std::env::var("HOOKFLASH_BENCH_PESQ") {
        Ok(list) if !list.trim().is_empty() => list.split(',').any(|s| s.trim() == slug),
        _ => true,
    }
}

/// A loss condition and its seed (shared by every system).
pub struct Condition {
    pub label: &'static str,
    pub loss: LossModel,
    pub seed: u64,
}

pub fn conditions() -> Vec<Condition> {
    vec![
        Condition {
            label: "0% loss",
            loss: LossModel::None,
            seed: 101,
        },
        Condition {
            label: "5% random loss",
            loss: LossModel::Random { rate: 0.05 },
            seed: 105,
        },
        Condition {
            label: "10% random loss",
            loss: LossModel::Random { rate: 0.10 },
            seed: 110,
        },
        Condition {
            label: "20% random loss",
            loss: LossModel::Random { rate: 0.20 },
            seed: 120,
        },
        Condition {
            label: "8% burst loss (mean 3)",
            loss: LossModel::Burst {
                rate: 0.08,
                mean_burst: 3.0,
            },
            seed: 208,
        },
    ]
}

/// The issue-3 target for a codec and condition (`None`: no target, information only).
pub enum Target {
    None,
    AtLeast(f64),
    /// At least this much above baresip's score.
    AboveBaresip(f64),
}

pub fn target(codec: Codec, c: &Condition) -> Target {
    match (codec, &c.loss) {
        (_, LossModel::Burst { .. }) => Target::AboveBaresip(0.5),
        // A clean line: nobody sounds better than us.
        (_, LossModel::None) => Target::AboveBaresip(0.0),
        (Codec::Opus, LossModel::Random { rate }) if *rate == 0.05 => Target::AtLeast(3.8),
        (Codec::Opus, LossModel::Random { rate }) if *rate == 0.10 => Target::AtLeast(3.4),
        (Codec::Opus, LossModel::Random { rate }) if *rate == 0.20 => Target::AtLeast(2.5),
        (Codec::Pcmu, LossModel::Random { rate }) if *rate == 0.05 => Target::AtLeast(3.7),
        (Codec::Pcmu, LossModel::Random { rate }) if *rate == 0.10 => Target::AtLeast(3.3),
        _ => Target::None,
    }
}

/// Verdict and target text for `ours` against the target and baresip's figure.
pub fn judge(
    t: &Target,
    ours: &Result<f64, String>,
    baresip: &Result<f64, String>,
) -> (String, Verdict) {
    match (t, ours) {
        (Target::None, _) => ("-".into(), Verdict::Info),
        (_, Err(_)) => (target_text(t), Verdict::NotMeasured),
        (Target::AtLeast(x), Ok(v)) => (target_text(t), Verdict::of(*v >= *x)),
        (Target::AboveBaresip(d), Ok(v)) => match baresip {
            Ok(b) if *d == 0.0 => (format!("≥ baresip = {b:.2}"), Verdict::of(*v >= *b)),
            Ok(b) => (
                format!("≥ baresip + {d} = {:.2}", b + d),
                Verdict::of(*v >= b + d),
            ),
            Err(_) => (target_text(t), Verdict::NotMeasured),
        },
    }
}

fn target_text(t: &Target) -> String {
    match t {
        Target::None => "-".into(),
        Target::AtLeast(x) => format!("≥ {x}"),
        Target::AboveBaresip(d) if *d == 0.0 => "≥ baresip".into(),
        Target::AboveBaresip(d) => format!("≥ baresip + {d}"),
    }
}

pub fn read_i16(path: &Path) -> Result<Vec<i16>, String> {
    let mut r =
        hound::WavReader::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let ch = r.spec().channels.max(1) as usize;
    let s: Vec<i16> = r
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(s.chunks(ch).map(|c| c[0]).collect())
}

pub fn write_wav(path: &Path, rate: u32, pcm: &[i16]) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    for &s in pcm {
        w.write_sample(s).map_err(|e| e.to_string())?;
    }
    w.finalize().map_err(|e| e.to_string())
}

fn score(reference: &Path, degraded: &Path, band: Band) -> Result<f64, String> {
    let s = pesq::try_score(reference, degraded, band);
    eprintln!(
        "  PESQ {band:?} {} = {s:?}",
        degraded.file_name().and_then(|n| n.to_str()).unwrap_or("?")
    );
    s
}

struct Material {
    speech48: PathBuf,
    pcm48: Vec<i16>,
    pcm8: Vec<i16>,
}

/// Runs the whole table and returns its lines, and the CPU shares (% of one core per end) of
/// the baresip Opus calls.
pub fn run(dir: &TestDir, with_baresip: bool) -> (Vec<Line>, Vec<f64>) {
    let mut baresip_opus_cpu = Vec::new();
    let speech48 = speech::reference(dir.path());
    let speech8 = speech::convert(&speech48, &dir.join("speech-8k.wav"), 8000, 1, 0.0);
    let m = match (read_i16(&speech48), read_i16(&speech8)) {
        (Ok(pcm48), Ok(pcm8)) => Material {
            speech48,
            pcm48,
            pcm8,
        },
        (Err(e), _) | (_, Err(e)) => {
            return (
                vec![Line::not_measured("PESQ", "speech material", &e, "-")],
                Vec::new(),
            )
        }
    };
    let talk = Duration::from_secs_f64(speech::duration_secs(&m.speech48) + 0.8);
    let mut lines = Vec::new();
    for codec in [Codec::Opus, Codec::Pcmu] {
        let (band, bcodec, tag) = match codec {
            Codec::Opus => (Band::Wide, BaresipCodec::Opus, "opus"),
            _ => (Band::Narrow, BaresipCodec::Pcmu, "pcmu"),
        };
        for c in conditions() {
            let slug = format!("{tag}-{}", c.seed);
            if !selected(&slug) {
                continue;
            }
            eprintln!("PESQ {tag} {}", c.label);
            let pattern = loss_pattern(&c.loss, c.seed, 2000);
            // Our engine through the relay: the median of ENGINE_RUNS calls (its Opus FEC starts
            // once RTCP reports loss, so one short clip varies from run to run).
            let mut scores = Vec::new();
            let mut notes = Vec::new();
            let mut last_err = String::new();
            for run in 0..ENGINE_RUNS {
                let out = dir.join(format!("ours-{slug}-{run}.wav"));
                let call = LoopbackCall {
                    codec,
                    impairment: Impairment::with_loss(c.loss.clone()),
                    seed: c.seed,
                    input: m.speech48.clone(),
                    output: out.clone(),
                    talk,
                };
                match loopback_call::run(&call)
                    .and_then(|r| score(&m.speech48, &out, band).map(|s| (r, s)))
                {
                    Ok((r, s)) => {
                        scores.push(s);
                        let kbps = r.sender.bytes_sent as f64 * 8.0
                            / (r.sender.packets_sent.max(1) as f64 * 0.020)
                            / 1000.0;
                        notes.push(match codec {
                            Codec::Opus => format!(
                                "{s:.2} at {kbps:.0} kbit/s, FEC rebuilt {} of {} lost",
                                r.receiver.fec_recovered, r.receiver.packets_lost
                            ),
                            _ => format!("{s:.2}"),
                        });
                    }
                    Err(e) => last_err = e,
                }
            }
            let ours = median(&scores).ok_or(last_err);
            // Offline references, same loss pattern.
            let mut refs = Vec::new();
            match codec {
                Codec::Opus => {
                    for (name, fec) in [("libopus PLC", false), ("libopus FEC", true)] {
                        let p = dir.join(format!(
                            "{}-{slug}.wav",
                            if fec { "libopus-fec" } else { "libopus-plc" }
                        ));
                        let s = offline::opus(&m.pcm48, &pattern, fec)
                            .and_then(|pcm| write_wav(&p, 48_000, &pcm))
                            .and_then(|_| score(&m.speech48, &p, band));
                        refs.push(format!("{name} {}", fmt2(&s)));
                    }
                }
                _ => {
                    let p = dir.join(format!("g711-silence-{slug}.wav"));
                    let s = offline::g711_silence_fill(&m.pcm8, &pattern)
                        .and_then(|pcm| write_wav(&p, 8000, &pcm))
                        .and_then(|_| score(&m.speech48, &p, band));
                    refs.push(format!("G.711 silence fill {}", fmt2(&s)));
                }
            }
            // baresip ↔ baresip through the same relay and seed.
            let baresip = if with_baresip {
                baresip_call::call(
                    dir,
                    &format!("b-{slug}"),
                    bcodec,
                    &m.speech48,
                    Impairment::with_loss(c.loss.clone()),
                    c.seed,
                )
                .and_then(|r| {
                    if let (Codec::Opus, Some(c)) = (codec, r.cpu_percent) {
                        baresip_opus_cpu.push(c);
                    }
                    score(&m.speech48, &r.received, band)
                })
            } else {
                Err("skipped (--no-baresip)".into())
            };
            refs.push(format!("baresip {}", fmt2(&baresip)));
            let (target_text, verdict) = judge(&target(codec, &c), &ours, &baresip);
            let what = match codec {
                Codec::Opus => format!(
                    "Opus PESQ-WB, {} (libopus at {} kbit/s)",
                    c.label,
                    offline::OPUS_BITRATE / 1000
                ),
                _ => format!("G.711 µ-law PESQ-NB, {}", c.label),
            };
            let ours_text = match &ours {
                Ok(_) => format!(
                    "{} (median of {}: {})",
                    fmt2(&ours),
                    scores.len(),
                    notes.join("; ")
                ),
                Err(_) => fmt2(&ours),
            };
            lines.push(Line::new(
                "PESQ",
                &what,
                ours_text,
                refs.join("; "),
                &target_text,
                verdict,
            ));
        }
    }
    (lines, baresip_opus_cpu)
}
