//! `cargo xtask bench` source: the issue-3 quality bench. Every figure is measured in this run
//! next to its reference, on the same speech (the Debian alsa-utils clips) and the same seeds.
//!
//! - `pesq`: PESQ under loss for our engine, libopus PLC/FEC, G.711 silence fill and baresip
//!   ([`pesq_table`]);
//! - `latency`: engine-internal latency, ours and baresip's ([`latency`]);
//! - `jitter`: jitter buffer on a seeded trace, ours and the `neteq` crate's ([`jitter_trace`]);
//! - `cpu`: codec cost, call set-up, CPU share of one call ([`cpu`]).
//!
//! Result lines are printed as `bench-line<TAB>…` ([`lines`]) and legacy `name time: […]`
//! lines; xtask writes both into target/bench/report.{json,md}. Arguments pick sections
//! (`bench pesq cpu`); `--no-baresip` leaves baresip out. Peer logs and recordings go to a
//! test directory under target/interop-logs/.

mod baresip_call;
mod cpu;
mod lines;
mod offline;
mod pesq_table;

use hookflash_tests::TestDir;
use lines::{median, Line, Verdict};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_baresip = !args.iter().any(|a| a == "--no-baresip");
    let sections: Vec<&str> = args.iter().map(String::as_str).filter(|a| !a.starts_with("--")).collect();
    let want = |s: &str| sections.is_empty() || sections.contains(&s);
    let dir = TestDir::new("bench");
    let mut lines: Vec<Line> = Vec::new();

    if sections.contains(&"baresip-probe") {
        // One clean baresip ↔ baresip call through the relay, for checking the set-up by hand.
        let speech = hookflash_tests::speech::reference(dir.path());
        let r = baresip_call::call(&dir, "probe", hookflash_tests::baresip::Codec::Pcmu, &speech, Default::default(), 1);
        eprintln!("baresip probe: {:?}", r.map(|r| (r.received, r.relay)));
        return;
    }
    if want("pesq") {
        for l in pesq_table::run(&dir, with_baresip) {
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
                "none measured (baresip's CPU not measured in this run)".into(),
                "≤ 2 %",
                Verdict::of(m <= 2.0),
            ),
            None => Line::not_measured("CPU", "one Opus call end to end", "no run finished", "≤ 2 %"),
        };
        l.emit();
        lines.push(l);
    }
    for l in [
        Line::not_measured("CPU", "5-party mix, share of one core", "there is no mixer yet", "-"),
        Line::not_measured("Echo", "echo return loss enhancement after convergence (40 ms room)", "there is no echo canceller yet", "≥ 40 dB"),
        Line::not_measured("Echo", "near-end PESQ in double talk", "there is no echo canceller yet", "-"),
    ] {
        l.emit();
        lines.push(l);
    }
    let fails = lines.iter().filter(|l| l.verdict == Verdict::Fail).count();
    let passes = lines.iter().filter(|l| l.verdict == Verdict::Pass).count();
    eprintln!("bench: {passes} PASS, {fails} FAIL, {} lines; recordings in {}", lines.len(), dir.path().display());
}
