//! Runs SIPp scenarios from `tests/sipp/*.xml` against the CLI (UAC) or as the CLI's peer (UAS).
//!
//! Every run uses `-m 1` (one call; `.calls(n)` for more), `-nostdin`, a global timeout with `-timeout_error` so a
//! stuck scenario fails, and writes the SIP message trace and error log into the test directory.
//! Exit status 0 means the scenario (including its regex checks) passed.

use crate::{ports, ProcessGuard, TestDir};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// Path of a scenario file in `tests/sipp/`.
pub fn scenario(name: &str) -> PathBuf {
    let p = crate::workspace_root().join("tests/sipp").join(name);
    assert!(p.exists(), "sipp scenario {} is missing", p.display());
    p
}

#[derive(Debug, Clone)]
pub struct Sipp {
    scenario: String,
    target: Option<SocketAddr>,
    service: Option<String>,
    vars: Vec<(String, String)>,
    timeout_secs: u32,
    /// Calls to run before exiting (`-m`, default 1).
    calls: u32,
    /// Local SIP port sipp listens on.
    pub port: u16,
    /// The address it listens on and sends from (127.0.0.1 unless `.ip(...)`).
    ip: std::net::Ipv4Addr,
    /// Names its log files (default: the scenario's), for two sipps with one scenario.
    name: Option<String>,
}

impl Sipp {
    /// A UAC scenario sending to `target`.
    pub fn uac(scenario: &str, target: SocketAddr) -> Sipp {
        Sipp {
            scenario: scenario.into(),
            target: Some(target),
            service: None,
            vars: Vec::new(),
            timeout_secs: 30,
            calls: 1,
            port: ports::free_port(),
            ip: std::net::Ipv4Addr::LOCALHOST,
            name: None,
        }
    }

    /// A UAS scenario waiting on `127.0.0.1:<self.port>` (see `.ip`).
    pub fn uas(scenario: &str) -> Sipp {
        Sipp {
            scenario: scenario.into(),
            target: None,
            service: None,
            vars: Vec::new(),
            timeout_secs: 30,
            calls: 1,
            port: ports::free_port(),
            ip: std::net::Ipv4Addr::LOCALHOST,
            name: None,
        }
    }

    /// User part of the Request-URI (`-s`).
    pub fn service(mut self, user: &str) -> Self {
        self.service = Some(user.into());
        self
    }

    /// A scenario variable (`-set name value`, used as `[$name]`).
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.vars.push((name.into(), value.into()));
        self
    }

    /// Run `n` calls (`-m n`; e.g. a UAS answering two INVITEs) before exiting.
    pub fn calls(mut self, n: u32) -> Self {
        self.calls = n;
        self
    }

    /// Its log files are `sipp-<name>.*` (default: the scenario's name).
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Listen on and send from `ip` (e.g. the outside address of a [`crate::netns::HomeNat`]).
    pub fn ip(mut self, ip: std::net::Ipv4Addr) -> Self {
        self.ip = ip;
        self
    }

    pub fn timeout(mut self, secs: u32) -> Self {
        self.timeout_secs = secs;
        self
    }

    /// This sipp's address (what the CLI should call for a UAS scenario).
    pub fn addr(&self) -> SocketAddr {
        (self.ip, self.port).into()
    }

    /// Starts sipp in the background.
    pub fn spawn(&self, dir: &TestDir) -> SippRun {
        let stem = self
            .name
            .clone()
            .unwrap_or_else(|| self.scenario.trim_end_matches(".xml").to_string());
        let mut cmd = Command::new("sipp");
        cmd.arg("-sf").arg(scenario(&self.scenario));
        cmd.args([
            "-i",
            &self.ip.to_string(),
            "-p",
            &self.port.to_string(),
            "-m",
            &self.calls.to_string(),
            "-nostdin",
        ]);
        cmd.args([
            "-timeout",
            &format!("{}s", self.timeout_secs),
            "-timeout_error",
        ]);
        cmd.args(["-trace_msg", "-trace_err", "-trace_logs"]);
        cmd.arg("-message_file")
            .arg(dir.join(format!("sipp-{stem}.messages.log")));
        cmd.arg("-error_file")
            .arg(dir.join(format!("sipp-{stem}.errors.log")));
        cmd.arg("-log_file")
            .arg(dir.join(format!("sipp-{stem}.actions.log")));
        let mp = ports::free_block(4);
        cmd.args(["-mp", &mp.to_string()]);
        if let Some(s) = &self.service {
            cmd.args(["-s", s]);
        }
        for (k, v) in &self.vars {
            cmd.args(["-set", k, v]);
        }
        if let Some(t) = self.target {
            cmd.arg(t.to_string());
        }
        let process = ProcessGuard::spawn(&format!("sipp-{stem}"), &mut cmd, dir.path());
        SippRun {
            process,
            messages: dir.join(format!("sipp-{stem}.messages.log")),
            errors: dir.join(format!("sipp-{stem}.errors.log")),
        }
    }
}

pub struct SippRun {
    process: ProcessGuard,
    messages: PathBuf,
    errors: PathBuf,
}

impl SippRun {
    /// Waits for sipp to finish; panics if it is still running after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        match self.process.wait_timeout(timeout) {
            Some(s) => s,
            None => panic!("sipp did not finish within {timeout:?}\n{}", self.report()),
        }
    }

    /// Waits and panics with the SIP trace unless the scenario passed (exit 0).
    pub fn assert_passed(&mut self, timeout: Duration) {
        let st = self.wait(timeout);
        assert!(
            st.success(),
            "sipp scenario failed ({st})\n{}",
            self.report()
        );
    }

    /// The SIP messages sipp sent and received so far.
    pub fn messages(&self) -> String {
        std::fs::read_to_string(&self.messages).unwrap_or_default()
    }

    /// The logs and the tail of the message trace.
    pub fn report(&self) -> String {
        format!(
            "{}----- sipp errors ({}) -----\n{}----- sipp messages ({}) -----\n{}",
            self.process.log_tail(),
            self.errors.display(),
            crate::process::tail(
                &std::fs::read_to_string(&self.errors).unwrap_or_default(),
                30
            ),
            self.messages.display(),
            crate::process::tail(&self.messages(), 80)
        )
    }

    pub fn process(&mut self) -> &mut ProcessGuard {
        &mut self.process
    }
}

/// The value of header `name` in the first SIP message of a sipp trace (`SippRun::messages`)
/// that starts with `start` (e.g. "SIP/2.0 200 OK", "REFER sip:").
pub fn header_in(messages: &str, start: &str, name: &str) -> Option<String> {
    let at = messages.find(start)?;
    messages[at..]
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
}

/// The `tag` parameter of a From/To value ("" without one).
pub fn tag_of(value: &str) -> String {
    value
        .split(";tag=")
        .nth(1)
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}
