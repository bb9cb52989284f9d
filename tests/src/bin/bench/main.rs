//! `cargo xtask bench` source: the issue-3 quality bench. Every figure is measured in this run
//! next to its reference, on the same speech (the Debian alsa-utils clips) and the same seeds.
//!
//! - `pesq`: PESQ under loss for our engine, libopus PLC/FEC, G.711 silence fill and baresip
//!   ([`pesq_table`]);
//! - `latency`: engine-internal latency, ours and baresip's ([`latency`]);
//! - `jitter`: jitter buffer on a seeded trace, ours and the `neteq` crate's ([`jitter_trace`]);
//! - `cpu`: codec cost, call set-up, CPU share of one call ([`cpu`]);
//! - `mix`: CPU share of a 5-party Opus mix-minus ([`mix`]);
//! - `echo`: echo cancellation (ERLE) and near-end PESQ in double talk, sonora vs WebRTC's
//!   C++ module ([`echo`]);
//! - `nofec`: Opus from a sender without FEC (baresip) under loss, ours vs baresip receiving the
//!   same packets, vs libopus classic and deep concealment ([`no_fec`]);
//! - `g711same`: G.711 under random and burst loss, our concealment vs baresip's on the same
//!   stream with the same packets lost ([`g711_same_packets`]);
//! - `g722`: the G.722 we send in a call, decoded by FFmpeg, vs the codec alone ([`g722_sent`]);
//! - `desktop`: the desktop app's idle memory and CPU, start-up and INVITE-to-ringing-window
//!   time, beside a hello-world Tauri app ([`desktop`]).
//!
//! Result lines are printed as `bench-line<TAB>…` ([`lines`]) and legacy `name time: […]`
//! lines; xtask writes both into target/bench/report.{json,md}. Arguments pick sections
//! (`bench pesq cpu`); `--no-baresip` leaves baresip out. Peer logs and recordings go to a
//! test directory under target/interop-logs/.

mod baresip_echo;
mod cpu;
mod desktop;
mod echo;
mod g711_same_packets;
mod g722_sent;
mod jitter_trace;
mod latency;
mod lines;
mod mix;
mod no_fec;
mod offline;
mod pesq_table;
mod same_packets;

use hookflash_tests::TestDir;
use lines::{median, Line, Verdict};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_baresip = !args.iter().any(|a| a == "--no-baresip");
    let sections: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |s: &str| sections.is_empty() || sections.contains(&s);
    let dir = TestDir::new("bench");
    let mut lines: Vec<Line> = Vec::new();

    if sections.contains(&"baresip-probe") {
        // One clean baresip ↔ baresip call through the relay, for checking the set-up by hand.
        let speech = hookflash_tests::speech::reference(dir.path());
        let r = hookflash_tests::baresip_relay_call::call(
            &dir,
            "probe",
            hookflash_tests::baresip::Codec::Pcmu,
            &speech,
            Default::default(),
            1,
        );
        eprintln!("baresip probe: {:?}", r.map(|r| (r.received, r.relay)));
        return;
    }
    let mut baresip_cpu = Vec::new();
    if want("pesq") {
        let (table, cpu) = pesq_table::run(&dir, with_baresip);
        baresip_cpu = cpu;
        for l in table {
            l.emit();
            lines.push(l);
        }
    }
    if want("g711same") {
        for l in g711_same_packets::lines(&dir, with_baresip) {
            l.emit();
            lines.push(l);
        }
    }
    if want("nofec") {
        for l in no_fec::lines(&dir, with_baresip) {
            l.emit();
            lines.push(l);
        }
    }
    if want("latency") {
        for l in latency_lines(&dir, with_baresip) {
            l.emit();
            lines.push(l);
        }
    }
    if want("jitter") {
        for l in jitter_lines(&dir) {
            l.emit();
            lines.push(l);
        }
    }
    if want("cpu") {
        let shares = cpu::run();
        let l = match median(&shares) {
            Some(m) => Line::new(
                "CPU",
                &format!("one Opus call end to end, share of one core (median of {} runs)", shares.len()),
                format!("{m:.2} %"),
                match median(&baresip_cpu) {
                    Some(b) => format!("baresip {b:.2} % (Opus call per end, median of the {} baresip Opus calls of the PESQ table); 0.9 × baresip = {:.2} %", baresip_cpu.len(), 0.9 * b),
                    None => "baresip: not measured (needs the pesq section with baresip)".into(),
                },
                "≤ 0.9 × baresip (≤ 2 % without it)",
                Verdict::of(match median(&baresip_cpu) {
                    Some(b) => m <= 0.9 * b,
                    None => m <= 2.0,
                }),
            ),
            None => Line::not_measured("CPU", "one Opus call end to end", "no run finished", "≤ 0.9 × baresip"),
        };
        l.emit();
        lines.push(l);
    }
    if want("mix") {
        let l = mix_line();
        l.emit();
        lines.push(l);
    }
    if want("echo") {
        for l in echo_lines(&dir) {
            l.emit();
            lines.push(l);
        }
    }
    if want("g722") {
        let l = g722_sent::line(&dir, with_baresip);
        l.emit();
        lines.push(l);
    }
    if want("desktop") {
        for l in desktop::lines(&dir) {
            l.emit();
            lines.push(l);
        }
    }
    let fails = lines.iter().filter(|l| l.verdict == Verdict::Fail).count();
    let passes = lines.iter().filter(|l| l.verdict == Verdict::Pass).count();
    eprintln!(
        "bench: {passes} PASS, {fails} FAIL, {} lines; recordings in {}",
        lines.len(),
        dir.path().display()
    );
}

/// The 5-party mix line (median of 5 runs): at most 8 % of one core.
fn mix_line() -> Line {
    let what = "5-party local conference: 4 calls on Opus, G.722, PCMU, PCMA and the user; decode, resample, mix-minus (conference bridge), resample, encode; CPU time per second of audio as share of one core";
    match mix::run(5) {
        Ok(shares) => {
            eprintln!("5-party mix CPU shares: {shares:?} %");
            let m = median(&shares).unwrap_or(f64::NAN);
            Line::new(
                "CPU",
                what,
                format!("{m:.2} % (median of {} runs of {} s)", shares.len(), mix::SECONDS),
                "target ≤ 8 % of one core; baresip 1.0.0 has no N-party mixer to run the same load through".into(),
                "≤ 8 %",
                if m <= 8.0 { Verdict::Pass } else { Verdict::Fail },
            )
        }
        Err(e) => Line::not_measured("CPU", what, &e, "≤ 8 %"),
    }
}

/// The echo lines: ERLE and near-end PESQ, sonora (ours) vs webrtc-audio-processing.
fn echo_lines(dir: &TestDir) -> Vec<Line> {
    let sig = match echo::signals(dir.path()) {
        Ok(s) => s,
        Err(e) => {
            return vec![
                Line::not_measured(
                    "Echo",
                    "echo return loss enhancement after convergence (40 ms room)",
                    &e,
                    "≥ 40 dB",
                ),
                Line::not_measured(
                    "Echo",
                    "near-end PESQ-WB in a conversation with double talk at each change of turn",
                    &e,
                    "≥ 3.0",
                ),
                Line::not_measured(
                    "Echo",
                    "near-end PESQ-WB in continuous double talk",
                    &e,
                    "-",
                ),
                Line::not_measured("Echo", "near-end PESQ-WB with the far end silent", &e, "-"),
            ]
        }
    };
    use hookflash_media::ProcessingSettings;
    let ours = echo::measure(
        dir.path(),
        "sonora",
        &sig,
        Some(echo::sonora(ProcessingSettings::default())),
    );
    let raw = echo::measure(dir.path(), "unprocessed", &sig, None);
    let theirs = echo::webrtc(ProcessingSettings::default())
        .map(|e| echo::measure(dir.path(), "webrtc", &sig, Some(e)));
    eprintln!(
        "echo ({}): sonora {ours:?}, webrtc-audio-processing {theirs:?}, unprocessed {raw:?}",
        echo::DESCRIPTION
    );
    // For the log: echo cancellation alone, without noise suppression and AGC.
    let ours_aec = echo::measure(
        dir.path(),
        "sonora-aec-only",
        &sig,
        Some(echo::sonora(echo::aec_only())),
    );
    let theirs_aec = echo::webrtc(echo::aec_only())
        .map(|e| echo::measure(dir.path(), "webrtc-aec-only", &sig, Some(e)));
    eprintln!("echo, AEC alone: sonora {ours_aec:?}, webrtc-audio-processing {theirs_aec:?}");
    // The near end without any echo through the same processing: the double-talk ceiling.
    let ours_alone = echo::near_alone(
        dir.path(),
        "sonora",
        &sig,
        echo::sonora(ProcessingSettings::default()),
    );
    let theirs_alone = echo::webrtc(ProcessingSettings::default())
        .and_then(|e| echo::near_alone(dir.path(), "webrtc", &sig, e));
    eprintln!("echo, near end alone (no far end): sonora {ours_alone:?}, webrtc-audio-processing {theirs_alone:?}");
    // The conversation: double talk at each change of turn (P.501 style).
    let conv = echo::conversation(dir.path());
    let (conv_ours, conv_theirs, conv_raw) = match &conv {
        Ok(c) => (
            echo::measure(
                dir.path(),
                "sonora",
                c,
                Some(echo::sonora(ProcessingSettings::default())),
            )
            .pesq,
            echo::webrtc(ProcessingSettings::default())
                .and_then(|e| echo::measure(dir.path(), "webrtc", c, Some(e)).pesq),
            echo::measure(dir.path(), "unprocessed", c, None).pesq,
        ),
        Err(e) => (Err(e.clone()), Err(e.clone()), Err(e.clone())),
    };
    eprintln!("echo, conversation: sonora {conv_ours:?}, webrtc-audio-processing {conv_theirs:?}, unprocessed {conv_raw:?}");
    // For the log: which part changes the near end's voice (each alone, after the high-pass filter).
    for (part, parts) in [
        (
            "high-pass filter only",
            ProcessingSettings {
                echo_cancellation: false,
                noise_suppression: false,
                gain_control: false,
            },
        ),
        (
            "AEC",
            ProcessingSettings {
                echo_cancellation: true,
                noise_suppression: false,
                gain_control: false,
            },
        ),
        (
            "noise suppression",
            ProcessingSettings {
                echo_cancellation: false,
                noise_suppression: true,
                gain_control: false,
            },
        ),
        (
            "AGC2",
            ProcessingSettings {
                echo_cancellation: false,
                noise_suppression: false,
                gain_control: true,
            },
        ),
    ] {
        let ours = echo::near_alone(
            dir.path(),
            &format!("sonora-{}", part.replace(' ', "-")),
            &sig,
            echo::sonora(parts),
        );
        let theirs = echo::webrtc(parts).and_then(|e| {
            echo::near_alone(
                dir.path(),
                &format!("webrtc-{}", part.replace(' ', "-")),
                &sig,
                e,
            )
        });
        eprintln!(
            "echo, near end alone, {part}: sonora {ours:?}, webrtc-audio-processing {theirs:?}"
        );
    }
    let (erle_ref, pesq_ref) = match &theirs {
        Ok(t) => (
            format!(
                "webrtc-audio-processing 2.1.0 (C++ AEC3): {:.1} dB",
                t.erle_db
            ),
            format!(
                "webrtc-audio-processing 2.1.0: {}; unprocessed microphone {}",
                lines::fmt2(&t.pesq),
                lines::fmt2(&raw.pesq)
            ),
        ),
        Err(e) => (
            format!("webrtc-audio-processing: not measured: {e}"),
            format!(
                "webrtc-audio-processing: not measured: {e}; unprocessed microphone {}",
                lines::fmt2(&raw.pesq)
            ),
        ),
    };
    vec![
        Line::new(
            "Echo",
            &format!("echo return loss enhancement after 10 s of convergence, far end alone ({}), sonora 0.2.0, all parts on", echo::DESCRIPTION),
            format!("{:.1} dB", ours.erle_db),
            erle_ref,
            "≥ 40 dB",
            Verdict::of(ours.erle_db >= 40.0),
        ),
        Line::new(
            "Echo",
            &format!("near-end PESQ-WB in a conversation (same room; the talkers take turns, each starting {} ms before the other ends: double talk at every change of turn, ITU-T P.501 style), sonora 0.2.0", echo::TURN_OVERLAP_MS),
            lines::fmt2(&conv_ours),
            format!("webrtc-audio-processing 2.1.0: {}; unprocessed microphone {}", lines::fmt2(&conv_theirs), lines::fmt2(&conv_raw)),
            "≥ 3.0",
            match &conv_ours {
                Ok(p) => Verdict::of(*p >= 3.0),
                Err(_) => Verdict::NotMeasured,
            },
        ),
        Line::new(
            "Echo",
            "near-end PESQ-WB in 8 s of continuous double talk (same room, the near end over a far end that never pauses; the worst case), sonora 0.2.0",
            lines::fmt2(&ours.pesq),
            pesq_ref,
            "-",
            if ours.pesq.is_ok() { Verdict::Info } else { Verdict::NotMeasured },
        ),
        Line::new(
            "Echo",
            "near-end PESQ-WB with the far end silent (no echo; the same near end, noise and processing): what the processing does to the voice itself",
            lines::fmt2(&ours_alone),
            format!("webrtc-audio-processing 2.1.0: {}", lines::fmt2(&theirs_alone)),
            "-",
            if ours_alone.is_ok() { Verdict::Info } else { Verdict::NotMeasured },
        ),
    ]
}

/// The jitter-buffer lines: ours and the `neteq` crate on the same seeded trace.
fn jitter_lines(dir: &TestDir) -> Vec<Line> {
    let (arrivals, loss) = jitter_trace::trace();
    let ours = jitter_trace::ours(&arrivals, loss);
    let speech48 = hookflash_tests::speech::reference(dir.path());
    let speech8 = hookflash_tests::speech::convert(
        &speech48,
        &dir.join("jitter-speech-8k.wav"),
        8000,
        1,
        0.0,
    );
    let reference =
        pesq_table::read_i16(&speech8).and_then(|pcm| jitter_trace::neteq(&arrivals, loss, &pcm));
    eprintln!(
        "jitter trace ({}): ours {ours:?}, neteq {reference:?}",
        jitter_trace::description()
    );
    let section = "Jitter buffer";
    let trace = jitter_trace::description();
    let pct = |x: f64| format!("{:.2} %", x * 100.0);
    let (late_ref, delay_ref, delay_verdict) = match &reference {
        Ok(r) => (
            format!(
                "neteq 0.9.1: {} (all concealment {})",
                pct(r.late_share),
                pct(r.concealed_share)
            ),
            format!("neteq 0.9.1: {:.1} ms", r.mean_delay_ms),
            Verdict::of(ours.mean_delay_ms <= r.mean_delay_ms),
        ),
        Err(e) => (
            format!("neteq: not measured: {e}"),
            format!("neteq: not measured: {e}"),
            Verdict::NotMeasured,
        ),
    };
    vec![
        Line::new(
            section,
            &format!("frames concealed because late ({trace})"),
            format!(
                "{} (all concealment {})",
                pct(ours.late_share),
                pct(ours.concealed_share)
            ),
            late_ref,
            "≤ 1 %",
            Verdict::of(ours.late_share <= 0.01),
        ),
        Line::new(
            section,
            &format!("mean buffer delay ({trace})"),
            format!("{:.1} ms", ours.mean_delay_ms),
            delay_ref,
            "≤ neteq's",
            delay_verdict,
        ),
    ]
}

/// Engine-internal latency lines: ours (median of 3 runs) and baresip's (echo round trip minus
/// our one-way figure), per codec.
fn latency_lines(dir: &TestDir, with_baresip: bool) -> Vec<Line> {
    use hookflash_media::Codec;
    let mut out = Vec::new();
    for codec in [Codec::Pcmu, Codec::Opus] {
        let runs: Vec<f64> = (0..3)
            .filter_map(|n| match latency::ours_once(dir, codec, n) {
                Ok(v) => Some(v * 1000.0),
                Err(e) => {
                    eprintln!("latency run {codec:?} {n}: {e}");
                    None
                }
            })
            .collect();
        let ours = median(&runs);
        let rts: Vec<f64> = if with_baresip {
            (0..3)
                .filter_map(|n| match baresip_echo::round_trip(dir, codec, n) {
                    Ok(v) => Some(v * 1000.0),
                    Err(e) => {
                        eprintln!("baresip echo run {codec:?} {n}: {e}");
                        None
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        eprintln!("latency {codec:?}: ours {runs:?} ms, baresip echo round trips {rts:?} ms");
        let baresip = match (median(&rts), ours) {
            (Some(rt), Some(o)) => Some(rt - o),
            _ => None,
        };
        let what = format!(
            "engine-internal latency, {codec:?}, file → RTP → jitter buffer → file, clean line"
        );
        let line = match ours {
            None => Line::not_measured(
                "Latency",
                &what,
                "no run found the chirp (see the bench log)",
                "≤ 40 ms and ≤ 0.5 × baresip",
            ),
            Some(o) => {
                let (reference, verdict) = match baresip {
                    Some(b) => (
                        format!(
                            "baresip {b:.0} ms (echo round trip {:.0} ms minus ours)",
                            median(&rts).unwrap_or(0.0)
                        ),
                        Verdict::of(o <= 40.0 && o <= 0.5 * b),
                    ),
                    None => (
                        "baresip: not measured (see the bench log)".to_string(),
                        Verdict::of(o <= 40.0),
                    ),
                };
                Line::new(
                    "Latency",
                    &what,
                    format!("{o:.0} ms (median of {})", runs.len()),
                    reference,
                    "≤ 40 ms and ≤ 0.5 × baresip",
                    verdict,
                )
            }
        };
        out.push(line);
    }
    out
}
