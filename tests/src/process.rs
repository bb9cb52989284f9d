//! Runs a peer process under a guard: its stdout/stderr go to log files in the test directory,
//! it is killed (with its whole process group) when the guard is dropped — also when the test
//! panics — and on a panic the tail of its logs is printed. Should the test process itself be
//! killed, the peer gets SIGTERM from the kernel (PR_SET_PDEATHSIG).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Lines of each log printed when a test fails.
const TAIL_LINES: usize = 40;

pub struct ProcessGuard {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

impl ProcessGuard {
    /// Spawns `cmd` in its own process group, logging to `<log_dir>/<name>.stdout|stderr`.
    pub fn spawn(name: &str, cmd: &mut Command, log_dir: &Path) -> ProcessGuard {
        Self::spawn_with(name, cmd, log_dir, Stdio::null())
    }

    /// Like [`spawn`](Self::spawn), with standard input a pipe that stays open for
    /// [`send_line`](Self::send_line): for phones driven by commands typed at their prompt
    /// (twinkle-console, linphonec; linphonec spins on a closed input).
    pub fn spawn_with_stdin(name: &str, cmd: &mut Command, log_dir: &Path) -> ProcessGuard {
        Self::spawn_with(name, cmd, log_dir, Stdio::piped())
    }

    fn spawn_with(name: &str, cmd: &mut Command, log_dir: &Path, stdin: Stdio) -> ProcessGuard {
        let stdout_path = log_dir.join(format!("{name}.stdout"));
        let stderr_path = log_dir.join(format!("{name}.stderr"));
        let out = File::create(&stdout_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", stdout_path.display()));
        let err = File::create(&stderr_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", stderr_path.display()));
        std::fs::write(
            log_dir.join(format!("{name}.cmdline")),
            format!("{cmd:?}\n"),
        )
        .ok();
        // SAFETY: prctl is async-signal-safe; it only sets a flag on the child process.
        unsafe {
            // If the test process dies without running our Drop (killed by a signal), the peer
            // gets SIGTERM instead of lingering.
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd
            .stdin(stdin)
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({:?}): {e}", cmd.get_program()));
        ProcessGuard {
            name: name.to_string(),
            child,
            status: None,
            stdout_path,
            stderr_path,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Types `line` at the process's prompt (it must have been started with
    /// [`spawn_with_stdin`](Self::spawn_with_stdin)); the line is also appended to
    /// `<name>.stdin` in the log directory. Panics when the process no longer reads its input.
    pub fn send_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self
            .child
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("{} was started without a stdin pipe", self.name));
        if let Err(e) = stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|_| stdin.flush())
        {
            panic!(
                "cannot type {line:?} into {}: {e}\n{}",
                self.name,
                self.log_tail()
            );
        }
        let log = self.stdout_path.with_extension("stdin");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the stdin log");
        writeln!(f, "{line}").ok();
    }

    /// Waits up to `timeout` for `needle` in its output (it says it is ready); panics, with
    /// `hint` and the end of its log, when it exits first or does not say so in time.
    pub fn await_ready(&mut self, needle: &str, timeout: Duration, hint: &str) {
        let ready = crate::wait_until(timeout, || {
            if self.try_status().is_some() {
                return Some(false);
            }
            self.output().contains(needle).then_some(true)
        });
        if ready != Some(true) {
            panic!(
                "{} did not start ({hint})\n{}",
                self.name(),
                self.log_tail()
            );
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout_path(&self) -> &Path {
        &self.stdout_path
    }

    pub fn stderr_path(&self) -> &Path {
        &self.stderr_path
    }

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        read_lossy(&self.stdout_path)
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        read_lossy(&self.stderr_path)
    }

    /// stdout followed by stderr.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }

    /// Waits until stdout or stderr contains `needle`; false on timeout.
    pub fn wait_for_output(&self, needle: &str, timeout: Duration) -> bool {
        crate::wait_until(timeout, || self.output().contains(needle).then_some(())).is_some()
    }

    /// The exit status if the process has ended.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits up to `timeout` for the process to end on its own.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_status() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` to the process group.
    pub fn signal(&self, signal: i32) {
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group we created at spawn.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }

    /// SIGTERM, then SIGKILL after 3 s; returns the exit status.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        if self.try_status().is_none() {
            self.signal(libc::SIGTERM);
            if self.wait_timeout(Duration::from_secs(3)).is_none() {
                self.signal(libc::SIGKILL);
                self.status = self.child.wait().ok();
            }
        }
        // Children of the group (e.g. kamailio workers) may outlive the leader briefly.
        self.signal(libc::SIGKILL);
        self.status
    }

    /// The last lines of both logs, labelled, for failure messages.
    pub fn log_tail(&self) -> String {
        format!(
            "----- {} stdout ({}) -----\n{}----- {} stderr ({}) -----\n{}",
            self.name,
            self.stdout_path.display(),
            tail(&self.stdout(), TAIL_LINES),
            self.name,
            self.stderr_path.display(),
            tail(&self.stderr(), TAIL_LINES)
        )
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        let was_running = self.try_status().is_none();
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "{} ({}):\n{}",
                self.name,
                if was_running {
                    "killed at end of test"
                } else {
                    "had exited"
                },
                self.log_tail()
            );
        }
    }
}

fn read_lossy(p: &Path) -> String {
    std::fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// The last `n` lines of `text` (with a trailing newline).
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    let mut out = lines[start..].join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail("a", 5), "a\n");
    }

    #[test]
    fn lines_typed_reach_the_process_and_are_logged() {
        let dir = crate::TestDir::new("process-guard-stdin-selftest");
        let mut g = ProcessGuard::spawn_with_stdin(
            "sh",
            Command::new("sh").args(["-c", "read l; echo \"got $l\"; exec sleep 30"]),
            dir.path(),
        );
        g.send_line("answer");
        assert!(
            g.wait_for_output("got answer", Duration::from_secs(5)),
            "{}",
            g.log_tail()
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("sh.stdin")).unwrap(),
            "answer\n"
        );
    }

    #[test]
    fn guard_captures_output_and_kills_on_drop() {
        let dir = crate::TestDir::new("process-guard-selftest");
        let mut g = ProcessGuard::spawn(
            "sh",
            Command::new("sh").args(["-c", "echo hello; echo oops >&2; exec sleep 30"]),
            dir.path(),
        );
        assert!(g.wait_for_output("hello", Duration::from_secs(5)));
        assert!(g.stderr().contains("oops"));
        assert!(g.try_status().is_none());
        let st = g.stop().expect("stopped");
        assert!(!st.success());
    }
}
