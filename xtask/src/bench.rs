//! `cargo xtask bench`: runs the benchmarks that exist and writes target/bench/report.json and
//! target/bench/report.md with what was measured, the machine, the date and the git commit.
//!
//! Sources, each used when it exists: the tests crate's `bench` binary
//! (`cargo run --release -p hookflash-tests --bin bench --features bench`: the issue-3 quality bench, whose
//! `bench-line` rows become the report's PASS/FAIL table, plus timing lines; it scores speech
//! with PESQ in the target/venv Python, which this command creates like `cargo xtask test`
//! does) and the media crate's bench targets
//! (`cargo bench -p hookflash-media`, codec encode/decode throughput). A missing source is recorded
//! as "not available yet" and is not an error; a source that exists and fails is.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::layout::{cargo, Layout};
use crate::python_venv::ensure_venv;
use crate::report::format_duration;
use crate::shell::Cmd;

/// How long one benchmark command may run before it is stopped.
const LIMIT: Duration = Duration::from_secs(30 * 60);

/// Options of `cargo xtask bench`.
#[derive(Debug, Default, PartialEq)]
pub struct BenchOptions {
    pub dry_run: bool,
}

/// One measured number, as the benchmark printed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub name: String,
    pub value: String,
}

/// One line of the quality bench: a figure, its reference(s), the target and PASS/FAIL.
/// The bench prints it as `bench-line<TAB>section<TAB>line<TAB>ours<TAB>reference<TAB>target<TAB>verdict`.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultLine {
    pub section: String,
    pub line: String,
    pub ours: String,
    pub reference: String,
    pub target: String,
    pub verdict: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Ok,
    Failed(String),
    NotAvailable(String),
}

struct SourceReport {
    name: &'static str,
    command: String,
    status: Status,
    duration: Duration,
    measurements: Vec<Measurement>,
    results: Vec<ResultLine>,
    log: Option<String>,
}

/// Runs `cargo xtask bench`; returns the exit code.
pub fn bench(options: &BenchOptions) -> Result<i32, String> {
    let layout = Layout::current();
    let out_dir = layout.bench_dir();
    let mut tests_bench = tests_bench_command(&layout, options.dry_run);
    if !options.dry_run {
        // The desktop section's two apps; without them its lines say "not measured".
        match desktop_binaries(&layout) {
            Ok((app, hello)) => {
                tests_bench = tests_bench
                    .env("HOOKFLASH_BENCH_APP", app.display().to_string())
                    .env("HOOKFLASH_BENCH_HELLO", hello.display().to_string());
            }
            Err(e) => println!("xtask: the desktop lines will be 'not measured': {e}"),
        }
    }
    let sources = [
        (
            "hookflash-tests bench",
            tests_bench,
            tests_bench_exists(&layout.root),
            "the hookflash-tests crate has no `bench` binary yet (tests/src/bin/bench.rs)",
        ),
        (
            "hookflash-media cargo bench",
            Cmd::new(cargo())
                .args(["bench", "-p", "hookflash-media"])
                .cwd(&layout.root),
            media_benches_exist(&layout.root.join("crates").join("media")),
            "hookflash-media has no bench target yet (crates/media/benches/)",
        ),
    ];
    if !options.dry_run {
        // PESQ needs the venv; without it the bench still runs and says what it could not score.
        if let Err(e) = ensure_venv(&layout, false) {
            println!("xtask: no Python venv for PESQ ({e}); PESQ lines will be 'not measured'");
        }
    }
    let mut reports = Vec::new();
    for (name, cmd, available, missing_note) in sources {
        println!("==> {name}");
        if !available {
            println!("xtask: NOT AVAILABLE YET: {missing_note}");
            reports.push(SourceReport {
                name,
                command: plain_command(&cmd),
                status: Status::NotAvailable(missing_note.to_string()),
                duration: Duration::ZERO,
                measurements: Vec::new(),
                results: Vec::new(),
                log: None,
            });
            continue;
        }
        if options.dry_run {
            println!("xtask: dry run, would run:\n  {cmd}");
            continue;
        }
        let started = Instant::now();
        let (status, output) = match cmd.run_tee(Some(LIMIT)) {
            Ok(out) => (Status::Ok, out),
            Err((e, out)) => (Status::Failed(e), out),
        };
        let log_name = format!("{}.log", name.replace(' ', "-"));
        fs::create_dir_all(&out_dir)
            .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
        fs::write(out_dir.join(&log_name), &output)
            .map_err(|e| format!("cannot write {}: {e}", out_dir.join(&log_name).display()))?;
        reports.push(SourceReport {
            name,
            command: plain_command(&cmd),
            status,
            duration: started.elapsed(),
            measurements: parse_measurements(&output),
            results: parse_result_lines(&output),
            log: Some(log_name),
        });
    }
    if options.dry_run {
        println!("xtask: dry run: no benchmark was run and no report was written");
        return Ok(0);
    }

    let machine = MachineInfo::read(&layout.root);
    fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let json_path = out_dir.join("report.json");
    let md_path = out_dir.join("report.md");
    fs::write(&json_path, to_json(&machine, &reports))
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    fs::write(&md_path, to_markdown(&machine, &reports))
        .map_err(|e| format!("cannot write {}: {e}", md_path.display()))?;

    println!();
    for r in &reports {
        let status = match &r.status {
            Status::Ok => format!("ok, {} measurement(s)", r.measurements.len()),
            Status::Failed(e) => format!("FAILED: {e}"),
            Status::NotAvailable(_) => "not available yet".to_string(),
        };
        println!("xtask: {}: {status}", r.name);
    }
    if reports
        .iter()
        .all(|r| matches!(r.status, Status::NotAvailable(_)))
    {
        println!("xtask: NO BENCHMARK IS AVAILABLE YET: nothing was measured; the report says so");
    }
    println!(
        "xtask: wrote {} and {}",
        layout.show(&json_path),
        layout.show(&md_path)
    );
    let failed = reports
        .iter()
        .any(|r| matches!(r.status, Status::Failed(_)));
    Ok(if failed { 1 } else { 0 })
}

/// The quality bench's command: with the `webrtc-apm` feature (WebRTC's C++ echo canceller
/// as the reference of the echo lines) when its prerequisites install and it builds; else
/// without, telling the bench why in `HOOKFLASH_BENCH_NO_WEBRTC_APM`.
fn tests_bench_command(layout: &Layout, dry_run: bool) -> Cmd {
    let base = Cmd::new(cargo())
        .args([
            "run",
            "--release",
            "-p",
            "hookflash-tests",
            "--bin",
            "bench",
        ])
        .cwd(&layout.root);
    if dry_run {
        return base.args(["--features", "webrtc-apm"]);
    }
    let plain = base.clone().args(["--features", "bench"]);
    let why = match crate::webrtc_apm::ensure(layout, false) {
        Err(e) => e,
        Ok(meson_dir) => {
            println!("==> building the bench with WebRTC's C++ audio processing (first time: several minutes)");
            let path = crate::webrtc_apm::path_with(&meson_dir);
            let build = Cmd::new(cargo())
                .args([
                    "build",
                    "--release",
                    "-p",
                    "hookflash-tests",
                    "--bin",
                    "bench",
                    "--features",
                    "webrtc-apm",
                ])
                .cwd(&layout.root)
                .env("PATH", path.clone())
                .run(Some(LIMIT));
            match build {
                Ok(()) => return base.args(["--features", "webrtc-apm"]).env("PATH", path),
                Err(e) => format!("the bundled C++ build of webrtc-audio-processing failed ({e}); see the xtask output"),
            }
        }
    };
    println!("xtask: the echo lines run without the WebRTC C++ reference: {why}");
    plain.env("HOOKFLASH_BENCH_NO_WEBRTC_APM", why)
}

/// Builds what the desktop lines compare, both optimised: the app (after its UI) and the
/// hello-world Tauri app of `bench/hello-tauri` (its own workspace and target folder, so the
/// project's builds never include it).
fn desktop_binaries(layout: &Layout) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    println!(
        "==> the desktop bench's apps (release builds of hookflash-app and bench/hello-tauri)"
    );
    let ui = layout.ui();
    crate::npm::require_project(&ui, "ui", "the Svelte UI")?;
    crate::npm::ci_if_stale(&ui, "ui", false)?;
    crate::npm::script(&ui, "build", &[]).run(Some(LIMIT))?;
    crate::run::build_command(layout, true).run(Some(LIMIT))?;
    let hello_dir = layout.root.join("bench").join("hello-tauri");
    let hello_target = layout.target.join("hello-tauri");
    Cmd::new(cargo())
        .args(["build", "--release", "--locked", "--manifest-path"])
        .arg(hello_dir.join("Cargo.toml").display().to_string())
        .args([
            "--target-dir".to_string(),
            hello_target.display().to_string(),
        ])
        .cwd(&layout.root)
        .run(Some(LIMIT))?;
    Ok((
        layout.release_bin("hookflash-app"),
        hello_target
            .join("release")
            .join(format!("hello-tauri{}", std::env::consts::EXE_SUFFIX)),
    ))
}

/// `cargo bench -p x` as a person would type it (no absolute cargo path, no `cd`).
fn plain_command(cmd: &Cmd) -> String {
    format!("cargo {}", cmd.args.join(" "))
}

fn tests_bench_exists(root: &Path) -> bool {
    let tests = root.join("tests");
    tests.join("src/bin/bench.rs").is_file()
        || tests.join("src/bin/bench/main.rs").is_file()
        || fs::read_to_string(tests.join("Cargo.toml"))
            .map(|toml| declares_target(&toml, "bin", "bench"))
            .unwrap_or(false)
}

fn media_benches_exist(media: &Path) -> bool {
    let has_rs = fs::read_dir(media.join("benches"))
        .map(|entries| {
            entries.flatten().any(|e| {
                let p = e.path();
                p.extension().is_some_and(|x| x == "rs") || p.join("main.rs").is_file()
            })
        })
        .unwrap_or(false);
    has_rs
        || fs::read_to_string(media.join("Cargo.toml"))
            .map(|toml| toml.lines().any(|l| l.trim() == "[[bench]]"))
            .unwrap_or(false)
}

/// True when a Cargo.toml declares a `[[kind]]` target called `name`.
pub fn declares_target(toml: &str, kind: &str, name: &str) -> bool {
    let header = format!("[[{kind}]]");
    let mut inside = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == header;
        } else if inside {
            let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            if compact == format!("name=\"{name}\"") {
                return true;
            }
        }
    }
    false
}

/// Pulls the numbers out of benchmark output: libtest's `test x ... bench: N ns/iter (+/- M)`,
/// criterion's `x  time: [lo mid hi]` (the middle estimate) and `thrpt:` lines.
pub fn parse_measurements(output: &str) -> Vec<Measurement> {
    let mut found = Vec::new();
    let mut previous_line = "";
    let mut last_name = String::new();
    for line in output.lines() {
        let trimmed = line.trim();
        if let (Some(rest), Some(at)) = (trimmed.strip_prefix("test "), trimmed.find(" bench:")) {
            let name = rest[..at - 5].trim_end_matches(" ...").trim().to_string();
            let value = trimmed[at + " bench:".len()..].trim().to_string();
            found.push(Measurement { name, value });
        } else if let Some(at) = trimmed.find("time:") {
            let before = trimmed[..at].trim();
            let name = if before.is_empty() {
                previous_line.trim()
            } else {
                before
            };
            last_name = name.to_string();
            let value = middle_estimate(&trimmed[at + "time:".len()..]);
            found.push(Measurement {
                name: name.to_string(),
                value,
            });
        } else if let Some(at) = trimmed.find("thrpt:") {
            if !last_name.is_empty() {
                let value = middle_estimate(&trimmed[at + "thrpt:".len()..]);
                found.push(Measurement {
                    name: format!("{last_name} (throughput)"),
                    value,
                });
            }
        }
        if !trimmed.is_empty() {
            previous_line = line;
        }
    }
    found
}

/// The quality bench's `bench-line` rows (see [`ResultLine`]); malformed rows are skipped.
pub fn parse_result_lines(output: &str) -> Vec<ResultLine> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("bench-line\t")?;
            let f: Vec<&str> = rest.split('\t').collect();
            if f.len() != 6 {
                return None;
            }
            Some(ResultLine {
                section: f[0].into(),
                line: f[1].into(),
                ours: f[2].into(),
                reference: f[3].into(),
                target: f[4].into(),
                verdict: f[5].into(),
            })
        })
        .collect()
}

/// `[1.0 µs 1.1 µs 1.2 µs]` -> `1.1 µs`; anything else is kept as printed.
fn middle_estimate(text: &str) -> String {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    let words: Vec<&str> = inner.split_whitespace().collect();
    if words.len() == 6 {
        format!("{} {}", words[2], words[3])
    } else {
        text.trim().to_string()
    }
}

/// The machine the numbers come from.
struct MachineInfo {
    date: String,
    commit: String,
    dirty: bool,
    nproc: usize,
    cpu_model: String,
    os: String,
}

impl MachineInfo {
    fn read(root: &Path) -> MachineInfo {
        let git = |args: &[&str]| {
            Cmd::new("git")
                .args(args.iter().copied())
                .cwd(root)
                .read()
                .map(|s| s.trim().to_string())
        };
        let cpu_model = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| cpu_model(&text))
            .unwrap_or_else(|| "unknown".to_string());
        MachineInfo {
            date: utc_timestamp(SystemTime::now()),
            commit: git(&["rev-parse", "HEAD"]).unwrap_or_else(|_| "unknown".to_string()),
            dirty: git(&["status", "--porcelain", "--untracked-files=no"])
                .map(|s| !s.is_empty())
                .unwrap_or(false),
            nproc: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpu_model,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }
}

/// The `model name` of the first CPU in /proc/cpuinfo.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_string())
    })
}

/// `2026-11-21T06:30:00Z` for a point in time (UTC).
pub fn utc_timestamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn status_words(status: &Status) -> (&'static str, String) {
    match status {
        Status::Ok => ("ok", String::new()),
        Status::Failed(e) => ("failed", e.clone()),
        Status::NotAvailable(note) => ("not available yet", note.clone()),
    }
}

fn to_json(machine: &MachineInfo, reports: &[SourceReport]) -> String {
    let mut sources = Vec::new();
    for r in reports {
        let (status, note) = status_words(&r.status);
        let measurements: Vec<String> = r
            .measurements
            .iter()
            .map(|m| {
                format!(
                    "{{\"name\": {}, \"value\": {}}}",
                    json_string(&m.name),
                    json_string(&m.value)
                )
            })
            .collect();
        let results: Vec<String> = r
            .results
            .iter()
            .map(|l| {
                format!(
                    "{{\"section\": {}, \"line\": {}, \"ours\": {}, \"reference\": {}, \"target\": {}, \"verdict\": {}}}",
                    json_string(&l.section),
                    json_string(&l.line),
                    json_string(&l.ours),
                    json_string(&l.reference),
                    json_string(&l.target),
                    json_string(&l.verdict)
                )
            })
            .collect();
        sources.push(format!(
            "    {{\n      \"name\": {},\n      \"command\": {},\n      \"status\": {},\n      \
             \"note\": {},\n      \"duration_s\": {:.1},\n      \"log\": {},\n      \
             \"results\": [{}],\n      \"measurements\": [{}]\n    }}",
            json_string(r.name),
            json_string(&r.command),
            json_string(status),
            json_string(&note),
            r.duration.as_secs_f64(),
            r.log
                .as_deref()
                .map(|l| json_string(&format!("target/bench/{l}")))
                .unwrap_or("null".into()),
            if results.is_empty() {
                String::new()
            } else {
                format!("\n        {}\n      ", results.join(",\n        "))
            },
            if measurements.is_empty() {
                String::new()
            } else {
                format!("\n        {}\n      ", measurements.join(",\n        "))
            }
        ));
    }
    format!(
        "{{\n  \"date\": {},\n  \"commit\": {},\n  \"dirty\": {},\n  \"machine\": {{\"nproc\": {}, \
         \"cpu_model\": {}, \"os\": {}}},\n  \"sources\": [\n{}\n  ]\n}}\n",
        json_string(&machine.date),
        json_string(&machine.commit),
        machine.dirty,
        machine.nproc,
        json_string(&machine.cpu_model),
        json_string(&machine.os),
        sources.join(",\n")
    )
}

/// The PASS/FAIL table of the quality bench, with a count line.
fn results_table(results: &[ResultLine]) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let count = |v: &str| results.iter().filter(|l| l.verdict == v).count();
    let mut md = format!(
        "Targets of issue 3: {} PASS, {} FAIL, {} not measured, {} for information.\n\n",
        count("PASS"),
        count("FAIL"),
        count("not measured"),
        count("info")
    );
    md.push_str("| section | line | ours | reference | target | verdict |\n| --- | --- | --- | --- | --- | --- |\n");
    for l in results {
        let verdict = match l.verdict.as_str() {
            "PASS" | "FAIL" => format!("**{}**", l.verdict),
            other => other.to_string(),
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            cell(&l.section),
            cell(&l.line),
            cell(&l.ours),
            cell(&l.reference),
            cell(&l.target),
            verdict
        ));
    }
    md.push('\n');
    md
}

fn to_markdown(machine: &MachineInfo, reports: &[SourceReport]) -> String {
    let mut md = String::from("# Hookflash benchmark report\n\n");
    md.push_str(&format!(
        "- date: {}\n- commit: {}{}\n- machine: {} CPU(s), {}, {}\n\n",
        machine.date,
        machine.commit,
        if machine.dirty {
            " (with uncommitted changes)"
        } else {
            ""
        },
        machine.nproc,
        machine.cpu_model,
        machine.os
    ));
    for r in reports {
        let (status, note) = status_words(&r.status);
        md.push_str(&format!("## {}\n\n`{}`: **{status}**", r.name, r.command));
        if r.status != Status::Ok && !note.is_empty() {
            md.push_str(&format!(": {note}"));
        }
        if matches!(r.status, Status::NotAvailable(_)) {
            md.push_str("\n\n");
            continue;
        }
        md.push_str(&format!(" in {}", format_duration(r.duration)));
        if let Some(log) = &r.log {
            md.push_str(&format!(" (full output: target/bench/{log})"));
        }
        md.push_str("\n\n");
        if !r.results.is_empty() {
            md.push_str(&results_table(&r.results));
        }
        if r.measurements.is_empty() && r.results.is_empty() {
            md.push_str("No measurement lines were recognised in its output.\n\n");
        } else if !r.measurements.is_empty() {
            md.push_str("| benchmark | result |\n| --- | --- |\n");
            for m in &r.measurements {
                md.push_str(&format!(
                    "| {} | {} |\n",
                    m.name.replace('|', "\\|"),
                    m.value.replace('|', "\\|")
                ));
            }
            md.push('\n');
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_bench_lines_are_read() {
        let out =
            "running 2 tests\ntest opus::encode_20ms ... bench:      12,345 ns/iter (+/- 67)\n\
                   test g711::decode ... bench:         890.12 ns/iter (+/- 5.00)\n";
        let m = parse_measurements(out);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name, "opus::encode_20ms");
        assert_eq!(m[0].value, "12,345 ns/iter (+/- 67)");
        assert_eq!(m[1].name, "g711::decode");
    }

    #[test]
    fn criterion_lines_are_read_including_wrapped_names() {
        let out = "opus_encode             time:   [10.1 µs 10.2 µs 10.3 µs]\n\
                   \x20                       thrpt:  [1.9 Melem/s 2.0 Melem/s 2.1 Melem/s]\n\
                   codecs/a_very_long_benchmark_name_here\n\
                   \x20                       time:   [1.0 ms 1.1 ms 1.2 ms]\n";
        let m = parse_measurements(out);
        assert_eq!(
            m,
            vec![
                Measurement {
                    name: "opus_encode".into(),
                    value: "10.2 µs".into()
                },
                Measurement {
                    name: "opus_encode (throughput)".into(),
                    value: "2.0 Melem/s".into()
                },
                Measurement {
                    name: "codecs/a_very_long_benchmark_name_here".into(),
                    value: "1.1 ms".into()
                },
            ]
        );
    }

    #[test]
    fn result_lines_are_read_and_tabled() {
        let out = "noise\nbench-line\tPESQ\tOpus 5%\t3.90\tlibopus FEC 3.59\t≥ 3.8\tPASS\n\
                   bench-line\tshort\tline\n\
                   bench-line\tEcho\tERLE\tnot measured: no AEC\t-\t≥ 40 dB\tnot measured\n";
        let r = parse_result_lines(out);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].ours, "3.90");
        assert_eq!(r[0].verdict, "PASS");
        assert_eq!(r[1].section, "Echo");
        let md = results_table(&r);
        assert!(md.contains("1 PASS, 0 FAIL, 1 not measured"));
        assert!(md.contains("| PESQ | Opus 5% | 3.90 | libopus FEC 3.59 | ≥ 3.8 | **PASS** |"));
        assert!(
            parse_measurements(out).is_empty(),
            "result lines are not read as timings"
        );
    }

    #[test]
    fn unrelated_output_gives_nothing() {
        assert!(parse_measurements("Compiling foo\nFinished release\n").is_empty());
    }

    #[test]
    fn bench_binaries_are_found_in_cargo_toml() {
        let toml = "[package]\nname = \"x\"\n[[bin]]\nname = \"bench\"\npath = \"src/b.rs\"\n";
        assert!(declares_target(toml, "bin", "bench"));
        assert!(!declares_target(
            "[package]\nname = \"bench\"\n",
            "bin",
            "bench"
        ));
    }

    #[test]
    fn cpu_model_comes_from_cpuinfo() {
        let text = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t: fpu\n";
        assert_eq!(
            cpu_model(text).as_deref(),
            Some("Intel(R) Xeon(R) Processor")
        );
        assert_eq!(cpu_model("processor : 0\n"), None);
    }

    #[test]
    fn timestamps_are_utc_iso() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_242_600); // 2026-11-21T06:30:00Z
        assert_eq!(utc_timestamp(t), "2026-11-21T06:30:00Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_timestamp(leap), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
