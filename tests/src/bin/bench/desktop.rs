//! The desktop app's own costs (issue 11), side by side with a hello-world Tauri 2 app built the
//! same way (`bench/hello-tauri`, release profile, the same tauri), on a private Xvfb display with
//! openbox:
//!
//! - cold start: from starting the process to "ready to dial" in its log (the window's page has
//!   loaded and the engine runs; for hello-world, its page has loaded), median of three starts;
//! - idle memory: PSS of the app and every process it started (WebKit's web and network
//!   processes), 10 s after it is ready, compared with hello-world's (≤ 1.3×);
//! - idle CPU: the same process tree's CPU time over 20 s of doing nothing (≤ 0.2 % of a core);
//! - incoming INVITE to ringing window: the app started in the background (`--minimized`), an
//!   INVITE sent to it over UDP, until an "Incoming call:" window is mapped on the display
//!   (xdotool); median of five calls, each CANCELled before the next (≤ 300 ms).
//!
//! The binaries come from `HOOKFLASH_BENCH_APP` and `HOOKFLASH_BENCH_HELLO` (xtask builds them);
//! without them the lines say "not measured".

use crate::lines::{median, Line, Verdict};
use hookflash_tests::process::ProcessGuard;
use hookflash_tests::TestDir;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SECTION: &str = "Desktop";
const IDLE_SETTLE: Duration = Duration::from_secs(10);
const IDLE_CPU: Duration = Duration::from_secs(20);

/// A private X display with a window manager, for as long as it lives.
struct Display {
    name: String,
    _xvfb: ProcessGuard,
    _wm: Option<ProcessGuard>,
}

fn start_display(logs: &Path) -> Result<Display, String> {
    let n = (90..140)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .ok_or("no free X display number")?;
    let name = format!(":{n}");
    let xvfb = ProcessGuard::spawn(
        "xvfb",
        Command::new("Xvfb").args([
            name.as_str(),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ]),
        logs,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
        if Instant::now() > deadline {
            return Err("Xvfb did not start (apt-get install xvfb)".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let wm = which("openbox").then(|| {
        ProcessGuard::spawn(
            "openbox",
            Command::new("openbox").env("DISPLAY", &name),
            logs,
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    Ok(Display {
        name,
        _xvfb: xvfb,
        _wm: wm,
    })
}

fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).exists()))
        .unwrap_or(false)
}

/// The processes of the tree under `root` (itself included), from /proc.
fn tree(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // The command name is in parentheses and may hold spaces: fields start after ')'.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            let ppid = rest
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found
}

/// PSS of the tree, in MiB.
fn pss_mib(root: u32) -> f64 {
    tree(root)
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .filter_map(|text| {
            text.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .sum::<f64>()
        / 1024.0
}

/// CPU seconds the tree has used so far (user + system).
fn cpu_seconds(root: u32) -> f64 {
    // SAFETY: sysconf only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    tree(root)
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            let rest = stat.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
            Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
        })
        .sum::<f64>()
        / ticks
}

/// One running app under test.
struct Running {
    guard: ProcessGuard,
    started: Instant,
}

impl Running {
    fn start(
        name: &str,
        bin: &Path,
        args: &[&str],
        env: &[(String, String)],
        logs: &Path,
    ) -> Running {
        let mut cmd = Command::new(bin);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        Running {
            guard: ProcessGuard::spawn(name, &mut cmd, logs),
            started,
        }
    }

    /// How long until `needle` showed in its log (stderr), polled every 5 ms.
    fn time_to(&mut self, needle: &str, timeout: Duration) -> Result<Duration, String> {
        loop {
            if self.guard.stderr().contains(needle) {
                return Ok(self.started.elapsed());
            }
            if let Some(status) = self.guard.try_status() {
                return Err(format!(
                    "{} exited ({status}) before \"{needle}\"",
                    self.guard.name()
                ));
            }
            if self.started.elapsed() > timeout {
                return Err(format!(
                    "no \"{needle}\" from {} within {timeout:?}",
                    self.guard.name()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Idle figures of one started app: (start-up, PSS MiB, CPU % of a core).
fn idle(
    name: &str,
    bin: &Path,
    ready: &str,
    env: &[(String, String)],
    logs: &Path,
) -> Result<(Vec<f64>, f64, f64), String> {
    let mut starts = Vec::new();
    for i in 0..3 {
        let mut app = Running::start(&format!("{name}-start{i}"), bin, &[], env, logs);
        starts.push(app.time_to(ready, Duration::from_secs(30))?.as_secs_f64() * 1000.0);
        if i < 2 {
            drop(app);
            std::thread::sleep(Duration::from_millis(500));
            continue;
        }
        std::thread::sleep(IDLE_SETTLE);
        let pid = app.guard.pid();
        let pss = pss_mib(pid);
        let before = cpu_seconds(pid);
        let t = Instant::now();
        std::thread::sleep(IDLE_CPU);
        let cpu = (cpu_seconds(pid) - before) / t.elapsed().as_secs_f64() * 100.0;
        eprintln!("desktop bench: {name}: starts {starts:?} ms, PSS {pss:.1} MiB over {} processes, idle CPU {cpu:.3} %", tree(pid).len());
        return Ok((starts, pss, cpu));
    }
    unreachable!()
}

/// An INVITE with a PCMU offer from `local` to `target`, and its CANCEL.
fn invite_and_cancel(target: SocketAddr, local: SocketAddr, n: usize) -> (String, String) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let id = format!("{}-{n}-{nanos}", std::process::id());
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
        local.port() + 2
    );
    let head = |method: &str, with_body: bool| {
        format!(
            "{method} sip:alice@{target} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bKbench{id};rport\r\n\
             Max-Forwards: 70\r\n\
             From: \"Bench Caller\" <sip:bench@127.0.0.1>;tag=b{id}\r\n\
             To: <sip:alice@{target}>\r\n\
             Call-ID: bench-{id}@127.0.0.1\r\n\
             CSeq: 1 {method}\r\n\
             Contact: <sip:bench@{local}>\r\n\
             {}Content-Length: {}\r\n\r\n{}",
            if with_body {
                "Content-Type: application/sdp\r\n"
            } else {
                ""
            },
            if with_body { sdp.len() } else { 0 },
            if with_body { sdp.as_str() } else { "" },
        )
    };
    (head("INVITE", true), head("CANCEL", false))
}

/// Whether an "Incoming call:" window is mapped on `display`.
fn ringing_window_shown(display: &str) -> bool {
    Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "^Incoming call"])
        .env("DISPLAY", display)
        .output()
        .map(|o| o.status.success() && !o.stdout.is_empty())
        .unwrap_or(false)
}

/// INVITE → ringing window, ms, for each of `calls` calls.
fn ringing(
    bin: &Path,
    env: &[(String, String)],
    display: &str,
    sip: SocketAddr,
    logs: &Path,
    calls: usize,
) -> Result<Vec<f64>, String> {
    let mut app = Running::start("hookflash-ringing", bin, &["--minimized"], env, logs);
    app.time_to("ready to dial", Duration::from_secs(30))?;
    std::thread::sleep(Duration::from_secs(2));
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let mut times = Vec::new();
    for n in 0..calls {
        let (invite, cancel) = invite_and_cancel(sip, local, n);
        let sent = Instant::now();
        socket
            .send_to(invite.as_bytes(), sip)
            .map_err(|e| e.to_string())?;
        loop {
            if ringing_window_shown(display) {
                times.push(sent.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            if sent.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "no ringing window within 10 s of INVITE {n} (see {})",
                    logs.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        socket
            .send_to(cancel.as_bytes(), sip)
            .map_err(|e| e.to_string())?;
        let gone = Instant::now();
        while ringing_window_shown(display) && gone.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(times)
}

fn env_for(display: &str, home: &Path, profile: Option<&Path>) -> Vec<(String, String)> {
    let mut env = vec![
        ("DISPLAY".to_string(), display.to_string()),
        ("HOME".to_string(), home.display().to_string()),
        (
            "XDG_CONFIG_HOME".to_string(),
            home.join("config").display().to_string(),
        ),
        (
            "XDG_DATA_HOME".to_string(),
            home.join("data").display().to_string(),
        ),
        (
            "XDG_CACHE_HOME".to_string(),
            home.join("cache").display().to_string(),
        ),
        (
            "DBUS_SESSION_BUS_ADDRESS".to_string(),
            "disabled:".to_string(),
        ),
        ("NO_AT_BRIDGE".to_string(), "1".to_string()),
        ("HOOKFLASH_PASSWORD".to_string(), String::new()),
        ("HOOKFLASH_AUDIO_IN".to_string(), "null".to_string()),
        ("HOOKFLASH_AUDIO_OUT".to_string(), "null".to_string()),
        ("RUST_LOG".to_string(), "info".to_string()),
    ];
    if let Some(p) = profile {
        env.push(("HOOKFLASH_PROFILE".to_string(), p.display().to_string()));
    }
    env
}

fn binary(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.exists())
}

pub fn lines(dir: &TestDir) -> Vec<Line> {
    let targets = [
        "≤ 1.3 × hello-world Tauri",
        "≤ 0.2 % of a core",
        "≤ 1.5 s",
        "≤ 300 ms",
    ];
    let what = [
        "idle memory (PSS of the app and its WebKit processes, 10 s after start)",
        "idle CPU (the same processes, 20 s doing nothing)",
        "cold start to \"ready to dial\" (median of 3 starts)",
        "incoming INVITE to a ringing window on screen (app in the background; median of 5)",
    ];
    let not = |why: &str| -> Vec<Line> {
        (0..4)
            .map(|i| Line::not_measured(SECTION, what[i], why, targets[i]))
            .collect()
    };
    let (Some(app), Some(hello)) = (
        binary("HOOKFLASH_BENCH_APP"),
        binary("HOOKFLASH_BENCH_HELLO"),
    ) else {
        return not(
            "HOOKFLASH_BENCH_APP / HOOKFLASH_BENCH_HELLO not set (cargo xtask bench builds them)",
        );
    };
    if !which("xdotool") || !which("Xvfb") {
        return not("needs Xvfb and xdotool (cargo xtask test installs them)");
    }
    let logs = dir.path().join("desktop");
    let _ = std::fs::create_dir_all(&logs);
    let display = match start_display(&logs) {
        Ok(d) => d,
        Err(e) => return not(&e),
    };
    let sip_port = hookflash_tests::ports::free_port();
    let profile = logs.join("profile.toml");
    let _ = std::fs::write(
        &profile,
        format!(
            "history_db = \"{}\"\n[account]\naor = \"sip:alice@127.0.0.1\"\nregister = false\nlisten = \"127.0.0.1:{sip_port}\"\n",
            logs.join("history.sqlite3").display()
        ),
    );
    let ours_env = env_for(&display.name, &logs.join("home-app"), Some(&profile));
    let hello_env = env_for(&display.name, &logs.join("home-hello"), None);

    let ours = idle("hookflash", &app, "ready to dial", &ours_env, &logs);
    let reference = idle("hello-tauri", &hello, "ready", &hello_env, &logs);
    let mut out = Vec::new();
    match (&ours, &reference) {
        (Ok((starts, pss, cpu)), Ok((hello_starts, hello_pss, hello_cpu))) => {
            let ratio = pss / hello_pss;
            out.push(Line::new(
                SECTION,
                what[0],
                format!("{pss:.1} MiB ({ratio:.2} × hello-world)"),
                format!("hello-world Tauri 2 (same tauri, release): {hello_pss:.1} MiB"),
                targets[0],
                Verdict::of(ratio <= 1.3),
            ));
            out.push(Line::new(
                SECTION,
                what[1],
                format!("{cpu:.3} %"),
                format!("hello-world: {hello_cpu:.3} %"),
                targets[1],
                Verdict::of(*cpu <= 0.2),
            ));
            let start = median(starts).unwrap_or(f64::NAN);
            out.push(Line::new(
                SECTION,
                what[2],
                format!(
                    "{start:.0} ms (starts {})",
                    starts
                        .iter()
                        .map(|s| format!("{s:.0}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!(
                    "hello-world page loaded: {:.0} ms",
                    median(hello_starts).unwrap_or(f64::NAN)
                ),
                targets[2],
                Verdict::of(start <= 1500.0),
            ));
        }
        (Err(e), _) | (_, Err(e)) => out.extend(not(e).into_iter().take(3)),
    }
    let sip: SocketAddr = ([127, 0, 0, 1], sip_port).into();
    out.push(
        match ringing(&app, &ours_env, &display.name, sip, &logs, 5) {
            Ok(times) => {
                let m = median(&times).unwrap_or(f64::NAN);
                Line::new(
                    SECTION,
                    what[3],
                    format!(
                        "{m:.0} ms ({})",
                        times
                            .iter()
                            .map(|t| format!("{t:.0}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "-".into(),
                    targets[3],
                    Verdict::of(m <= 300.0),
                )
            }
            Err(e) => Line::not_measured(SECTION, what[3], &e, targets[3]),
        },
    );
    out
}
