//! Runs the system under test, `hookflash-cli`, and reads its `--json` event stream.
//!
//! Binary: `$HOOKFLASH_CLI_BIN`, else `<workspace>/target/debug/hookflash-cli`. Every run gets
//! `--json` and a `--history-db` inside the test directory, `HOME` pointing into the test
//! directory, and the password (if any) in `HOOKFLASH_PASSWORD` — never on argv.

use crate::{ProcessGuard, TestDir};
use serde_json::Value;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// Path of the CLI binary; panics with the build command when it is missing.
pub fn cli_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("HOOKFLASH_CLI_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "HOOKFLASH_CLI_BIN={} does not exist",
            p.display()
        );
        return p;
    }
    let p = crate::workspace_root().join("target/debug/hookflash-cli");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build -p hookflash-cli` first (or set HOOKFLASH_CLI_BIN)",
        p.display()
    );
    p
}

/// A `hookflash-cli` command line being put together.
#[derive(Debug, Clone)]
pub struct Cli {
    name: String,
    args: Vec<OsString>,
    password: Option<String>,
    envs: Vec<(String, String)>,
    json: bool,
    program: Option<PathBuf>,
    /// The network namespace to run in (`ip netns exec`), e.g. a [`crate::netns::HomeNat`]'s home.
    netns: Option<String>,
}

impl Cli {
    /// `hookflash-cli <subcommand>`; `name` labels the log files.
    pub fn new(name: &str, subcommand: &str) -> Cli {
        Cli {
            name: name.into(),
            args: vec![subcommand.into()],
            password: None,
            envs: Vec::new(),
            json: true,
            program: None,
            netns: None,
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Password passed in `HOOKFLASH_PASSWORD`.
    pub fn password(mut self, pw: &str) -> Self {
        self.password = Some(pw.into());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.envs.push((k.into(), v.into()));
        self
    }

    /// Run `program` instead of [`cli_bin`] (for testing this harness with a stand-in).
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// Runs in network namespace `name` (see [`crate::netns::HomeNat`]).
    pub fn in_netns(mut self, name: &str) -> Self {
        self.netns = Some(name.into());
        self
    }

    /// Human output instead of `--json`.
    pub fn human(mut self) -> Self {
        self.json = false;
        self
    }

    /// Starts the CLI in the background.
    pub fn spawn(self, dir: &TestDir) -> CliRun {
        let home = dir.subdir(&format!("{}-home", self.name));
        let program = self.program.clone().unwrap_or_else(cli_bin);
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(program);
                c
            }
            None => Command::new(program),
        };
        if self.json {
            cmd.arg("--json");
        }
        cmd.arg("--history-db").arg(home.join("history.sqlite3"));
        cmd.args(&self.args);
        cmd.env("HOME", &home).env_remove("HOOKFLASH_PASSWORD");
        if let Some(pw) = &self.password {
            cmd.env("HOOKFLASH_PASSWORD", pw);
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        CliRun {
            process: ProcessGuard::spawn(&self.name, &mut cmd, dir.path()),
        }
    }

    /// Runs the CLI to completion; panics (with its log) if it is still running after `timeout`.
    pub fn run(self, dir: &TestDir, timeout: Duration) -> CliRun {
        let mut r = self.spawn(dir);
        r.wait_exit(timeout);
        r
    }
}

/// A running (or finished) CLI process.
pub struct CliRun {
    process: ProcessGuard,
}

impl CliRun {
    pub fn stdout(&self) -> String {
        self.process.stdout()
    }

    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// All JSON objects printed on stdout so far (non-JSON lines are skipped).
    pub fn events(&self) -> Vec<Value> {
        parse_events(&self.stdout())
    }

    /// The events whose `"event"` is `name`.
    pub fn events_named(&self, name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == name)
            .collect()
    }

    /// Waits for the first event named `name`.
    pub fn wait_event(&self, name: &str, timeout: Duration) -> Option<Value> {
        crate::wait_until(timeout, || self.events_named(name).into_iter().next())
    }

    /// Like [`wait_event`](Self::wait_event) but panics with the CLI's output on timeout.
    pub fn expect_event(&mut self, name: &str, timeout: Duration) -> Value {
        match self.wait_event(name, timeout) {
            Some(e) => e,
            None => {
                let exited = self.process.try_status();
                panic!(
                    "hookflash-cli printed no {name:?} event within {timeout:?} (exit status: {exited:?})\n{}",
                    self.process.log_tail()
                )
            }
        }
    }

    /// Waits for the CLI to exit; panics with its log when it does not within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        match self.process.wait_timeout(timeout) {
            Some(s) => s,
            None => panic!(
                "hookflash-cli did not exit within {timeout:?}\n{}",
                self.process.log_tail()
            ),
        }
    }

    /// The exit status if it has exited.
    pub fn status(&mut self) -> Option<ExitStatus> {
        self.process.try_status()
    }

    /// Panics with the log unless the CLI exited 0.
    pub fn assert_success(&mut self) {
        let st = self.process.try_status();
        assert!(
            st.is_some_and(|s| s.success()),
            "hookflash-cli did not exit 0 (status {st:?})\n{}",
            self.process.log_tail()
        );
    }

    /// Panics unless the CLI exited non-zero with exactly one `hookflash-cli: ...` line on
    /// stderr containing `needle`; returns that line.
    pub fn assert_failed_with(&mut self, needle: &str) -> String {
        let st = self.process.try_status();
        assert!(
            st.is_some_and(|s| !s.success()),
            "hookflash-cli should have failed (status {st:?})\n{}",
            self.process.log_tail()
        );
        let stderr = self.stderr();
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(
            lines.len() == 1
                && lines[0].starts_with("hookflash-cli: ")
                && lines[0].contains(needle),
            "expected ONE stderr line `hookflash-cli: ...{needle}...`, got:\n{stderr}"
        );
        lines[0].to_string()
    }

    /// Stops the CLI (SIGTERM, then SIGKILL).
    pub fn stop(&mut self) {
        self.process.stop();
    }

    pub fn process(&mut self) -> &mut ProcessGuard {
        &mut self.process
    }
}

/// JSON objects, one per line; other lines are ignored.
pub fn parse_events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(Value::is_object)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_a_stand_in_and_checks_its_failure_line() {
        let dir = TestDir::new("cli-wrapper-selftest");
        let script = dir.write(
            "fake-cli.sh",
            "#!/bin/sh\necho \"$@\" > \"$HOME/argv\"\necho \"$HOOKFLASH_PASSWORD\" > \"$HOME/pw\"\n\
             echo '{\"event\":\"registration_failed\",\"status\":403}'\n\
             echo 'hookflash-cli: registration refused (403) by 127.0.0.1: Forbidden' >&2\nexit 1\n",
        );
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&script)
            .status()
            .unwrap();
        let mut run = Cli::new("fake", "register")
            .program(&script)
            .args(["--aor", "sip:a@127.0.0.1"])
            .password("s3cret")
            .run(&dir, Duration::from_secs(5));
        let line = run.assert_failed_with("registration refused (403)");
        assert!(line.starts_with("hookflash-cli: "));
        assert_eq!(run.events_named("registration_failed")[0]["status"], 403);
        let home = dir.join("fake-home");
        let argv = std::fs::read_to_string(home.join("argv")).unwrap();
        assert!(
            argv.starts_with("--json --history-db ")
                && argv.contains("register --aor sip:a@127.0.0.1"),
            "{argv}"
        );
        assert!(
            !argv.contains("s3cret"),
            "password leaked into argv: {argv}"
        );
        assert_eq!(
            std::fs::read_to_string(home.join("pw")).unwrap().trim(),
            "s3cret"
        );
    }

    #[test]
    fn events_are_parsed_one_per_line() {
        let out = "{\"event\":\"registering\",\"aor\":\"sip:a@b\"}\nnot json\n{\"event\":\"registered\",\"expires\":600}\n";
        let ev = parse_events(out);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[1]["event"], "registered");
        assert_eq!(ev[1]["expires"], 600);
    }
}
