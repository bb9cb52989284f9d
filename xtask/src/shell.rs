//! Running external commands: one `Cmd` value that can be printed (for `--dry-run` and logs),
//! run with its output streamed to the terminal (stdin always closed, so nothing ever waits for
//! input on CI), optionally with a time limit that ends the command and every process it started.

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Environment variables that `cargo run` sets for the xtask binary itself. They describe the
/// xtask package, not whatever we run next, so they are not passed on.
const CARGO_RUN_VARS: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_PKG_NAME",
    "CARGO_PKG_VERSION",
    "CARGO_PKG_VERSION_MAJOR",
    "CARGO_PKG_VERSION_MINOR",
    "CARGO_PKG_VERSION_PATCH",
    "CARGO_PKG_VERSION_PRE",
    "CARGO_PKG_AUTHORS",
    "CARGO_PKG_DESCRIPTION",
    "CARGO_PKG_HOMEPAGE",
    "CARGO_PKG_REPOSITORY",
    "CARGO_PKG_LICENSE",
    "CARGO_PKG_LICENSE_FILE",
    "CARGO_PKG_RUST_VERSION",
    "CARGO_PKG_README",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
];

/// A command line to run: program, arguments, working directory and extra environment.
#[derive(Clone, Debug, PartialEq)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub envs: Vec<(String, String)>,
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Self {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            envs: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    fn to_command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        for var in CARGO_RUN_VARS {
            command.env_remove(var);
        }
        for (key, value) in &self.envs {
            command.env(key, value);
        }
        command
    }

    /// Runs the command with its output going to our terminal and no stdin.
    /// `limit` ends it (and everything it started) when it runs longer than that.
    pub fn run(&self, limit: Option<Duration>) -> Result<(), String> {
        println!("$ {self}");
        let mut child = self
            .to_command()
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| self.spawn_error(&e))?;
        let status = wait_with_limit(&mut child, limit).map_err(|e| format!("{self}: {e}"))?;
        self.check(status)
    }

    /// Runs the command, printing its stdout line by line as it comes and also returning it.
    pub fn run_tee(&self, limit: Option<Duration>) -> Result<String, (String, String)> {
        println!("$ {self}");
        let mut child = self
            .to_command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| (self.spawn_error(&e), String::new()))?;
        let stdout = child.stdout.take().expect("stdout was piped");
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("{line}");
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let status = wait_with_limit(&mut child, limit);
        let output = reader.join().unwrap_or_default();
        match status {
            Ok(status) => self
                .check(status)
                .map(|_| output.clone())
                .map_err(|e| (e, output)),
            Err(e) => Err((format!("{self}: {e}"), output)),
        }
    }

    /// Runs the command quietly and returns its stdout if it exits 0.
    pub fn read(&self) -> Result<String, String> {
        let output = self
            .to_command()
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| self.spawn_error(&e))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "`{self}` failed ({})",
                describe_status(output.status)
            ))
        }
    }

    /// Runs the command quietly and returns stdout even when it exits non-zero
    /// (for tools such as dpkg-query that report partial results with a failure code).
    pub fn read_any_status(&self) -> Result<String, String> {
        let output = self
            .to_command()
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| self.spawn_error(&e))?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn check(&self, status: ExitStatus) -> Result<(), String> {
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{self}` failed ({})", describe_status(status)))
        }
    }

    fn spawn_error(&self, e: &std::io::Error) -> String {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "could not start `{}`: it is not installed or not on PATH",
                self.program
            )
        } else {
            format!("could not start `{}`: {e}", self.program)
        }
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(dir) = &self.cwd {
            write!(f, "(cd {} && ", quote(&dir.display().to_string()))?;
        }
        for (key, value) in &self.envs {
            write!(f, "{key}={} ", quote(value))?;
        }
        write!(f, "{}", quote(&self.program))?;
        for arg in &self.args {
            write!(f, " {}", quote(arg))?;
        }
        if self.cwd.is_some() {
            write!(f, ")")?;
        }
        Ok(())
    }
}

/// Quotes a word for display the way a shell would need it.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn describe_status(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".to_string(),
    }
}

/// True when `program` can be found on PATH.
pub fn on_path(program: &str) -> bool {
    find_on_path(program).is_some()
}

/// The full path of `program` on PATH, if it is there.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let exts: Vec<String> = if cfg!(windows) {
        vec![".exe".into(), ".cmd".into(), ".bat".into(), String::new()]
    } else {
        vec![String::new()]
    };
    for dir in std::env::split_paths(&path) {
        for ext in &exts {
            let candidate = dir.join(format!("{program}{ext}"));
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// The name to call npm by (`npm.cmd` on Windows, where `npm` is a batch file).
pub fn npm() -> &'static str {
    if cfg!(windows) {
        "npm.cmd"
    } else {
        "npm"
    }
}

fn wait_with_limit(
    child: &mut std::process::Child,
    limit: Option<Duration>,
) -> Result<ExitStatus, String> {
    let Some(limit) = limit else {
        return child.wait().map_err(|e| e.to_string());
    };
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if started.elapsed() > limit {
            eprintln!(
                "xtask: still running after {}; stopping it and the processes it started",
                crate::report::format_duration(limit)
            );
            stop_tree(child.id());
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "timed out after {}",
                crate::report::format_duration(limit)
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sends SIGTERM to `root` and all its descendants (found through /proc), gives them up to
/// five seconds to exit, then sends SIGKILL to whatever is left.
#[cfg(target_os = "linux")]
fn stop_tree(root: u32) {
    let signal = |name: &str, pids: &[u32]| {
        let alive: Vec<String> = pids
            .iter()
            .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
            .map(u32::to_string)
            .collect();
        if alive.is_empty() {
            return false;
        }
        let _ = Command::new("kill")
            .arg(name)
            .args(&alive)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status();
        true
    };
    let mut pids = descendants(&read_parent_map(), root);
    pids.push(root);
    signal("-TERM", &pids);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        // The root is our child: it stays a zombie until waited for, so only count the others.
        let others_alive = pids[..pids.len() - 1]
            .iter()
            .any(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !others_alive {
            break;
        }
    }
    signal("-KILL", &pids);
}

#[cfg(not(target_os = "linux"))]
fn stop_tree(_root: u32) {}

#[cfg(target_os = "linux")]
fn read_parent_map() -> HashMap<u32, u32> {
    let mut parents = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return parents;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) {
            if let Some(ppid) = parent_from_stat(&stat) {
                parents.insert(pid, ppid);
            }
        }
    }
    parents
}

/// The parent pid from a /proc/PID/stat line: `pid (comm) state ppid ...`; comm may hold spaces
/// and parentheses, so the fields are read after the last `)`.
pub fn parent_from_stat(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every process below `root` in a child -> parent map, children before their parents' parents.
pub fn descendants(parents: &HashMap<u32, u32>, root: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        let mut children: Vec<u32> = parents
            .iter()
            .filter(|(_, &pp)| pp == parent)
            .map(|(&pid, _)| pid)
            .collect();
        children.sort_unstable();
        for child in children {
            if !found.contains(&child) && child != root {
                found.push(child);
                frontier.push(child);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_needs_it() {
        let cmd = Cmd::new("cargo")
            .args(["test", "--", "--test-threads=1"])
            .env("A", "b c");
        assert_eq!(cmd.to_string(), "A='b c' cargo test -- --test-threads=1");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn display_shows_the_directory() {
        let cmd = Cmd::new("npm").arg("ci").cwd("/repo/ui");
        assert_eq!(cmd.to_string(), "(cd /repo/ui && npm ci)");
    }

    #[test]
    fn stat_parent_survives_odd_process_names() {
        assert_eq!(parent_from_stat("42 (cargo) S 7 42 42 0"), Some(7));
        assert_eq!(parent_from_stat("43 (we ird) (x) R 9 1 1"), Some(9));
        assert_eq!(parent_from_stat("garbage"), None);
    }

    #[test]
    fn descendants_walks_the_whole_tree_and_nothing_else() {
        let parents: HashMap<u32, u32> = [(2, 1), (3, 2), (4, 3), (5, 1), (6, 99)]
            .into_iter()
            .collect();
        let mut below = descendants(&parents, 2);
        below.sort_unstable();
        assert_eq!(below, vec![3, 4]);
        assert!(descendants(&parents, 4).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn run_reports_failure_with_the_exit_code() {
        let err = Cmd::new("sh").args(["-c", "exit 3"]).run(None).unwrap_err();
        assert!(err.contains("exit code 3"), "{err}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn run_stops_a_command_that_outlives_its_limit_and_what_it_started() {
        let pid_file = std::env::temp_dir().join(format!("xtask-limit-{}.pid", std::process::id()));
        let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let started = Instant::now();
        let err = Cmd::new("sh")
            .args(["-c", &script])
            .run(Some(Duration::from_millis(500)))
            .unwrap_err();
        assert!(err.contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(20));
        let grandchild = std::fs::read_to_string(&pid_file).unwrap();
        let _ = std::fs::remove_file(&pid_file);
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", grandchild.trim()));
        // Gone, or a zombie waiting for its new parent to reap it: either way not running.
        if let Ok(stat) = stat {
            let state = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .next()
                .unwrap();
            assert_eq!(state, "Z", "the background sleep is still running: {stat}");
        }
    }

    #[test]
    fn missing_program_gets_a_readable_error() {
        let err = Cmd::new("surely-not-a-program-xyz").read().unwrap_err();
        assert!(err.contains("not installed or not on PATH"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn run_tee_returns_what_it_printed() {
        let out = Cmd::new("sh")
            .args(["-c", "echo one; echo two"])
            .run_tee(None)
            .unwrap();
        assert_eq!(out, "one\ntwo\n");
    }
}
