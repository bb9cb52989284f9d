//! baresip 1.0 as a peer: config directory, account, audio from a WAV, received audio dumped
//! to WAV, commands over its `ctrl_tcp` interface.
//!
//! Facts this relies on (found by trying baresip 1.0.0 on Debian 12):
//! - accounts only do MD5 digest;
//! - `aufile` plays a WAV that must already have the codec's rate and channel count
//!   (8000 Hz mono for PCMU, 48000 Hz stereo for opus/48000/2); the call ends when it ends,
//!   so the builder converts the source and pads it with silence;
//! - `sndfile` writes what it decoded as `dump-*-dec.wav` (and what it sent as `-enc.wav`) into
//!   `snd_path`;
//! - the codec is chosen with the account parameter `audio_codecs=opus/48000/2`;
//! - it binds TCP on the `sip_listen` port and TLS on port + 1;
//! - `ctrl_tcp` takes netstring-framed JSON `{"command":"sndcode","params":"5"}` (one digit per
//!   command) to send RFC 4733 DTMF, and received digits are logged as
//!   `received event: '5' (end=1)`.

use crate::{ports, speech, ProcessGuard, TestDir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Audio codec baresip offers/accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcmu,
    Pcma,
    Opus,
    /// G.722 (needs baresip's `g722.so`, built against spandsp).
    G722,
}

impl Codec {
    /// The spelling baresip's `audio_codecs` account parameter needs.
    pub fn baresip_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU/8000",
            Codec::Pcma => "PCMA/8000",
            Codec::Opus => "opus/48000/2",
            Codec::G722 => "G722/16000/1",
        }
    }

    /// The spelling of `hookflash-cli --codec`.
    pub fn cli_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "pcmu",
            Codec::Pcma => "pcma",
            Codec::Opus => "opus",
            Codec::G722 => "g722",
        }
    }

    /// Sample rate and channels of the codec's audio (what `aufile` needs).
    pub fn format(self) -> (u32, u16) {
        match self {
            Codec::Pcmu | Codec::Pcma => (8000, 1),
            Codec::Opus => (48000, 2),
            Codec::G722 => (16000, 1),
        }
    }
}

#[derive(Debug, Clone)]
pub struct BaresipBuilder {
    name: String,
    user: String,
    password: String,
    registrar_port: Option<u16>,
    codec: Codec,
    source: Option<PathBuf>,
    pad_secs: f32,
    auto_answer: bool,
    dial: Option<String>,
    quit_after: Option<u32>,
    mediaenc: Option<String>,
    ice: bool,
    listen_ip: std::net::IpAddr,
}

pub struct Baresip {
    /// SIP (UDP and TCP) port; TLS is on `sip_port + 1`.
    pub sip_port: u16,
    pub ctrl_port: u16,
    /// Its config directory, also where `sndfile` writes the dumps.
    pub dir: PathBuf,
    pub user: String,
    process: ProcessGuard,
}

impl Baresip {
    /// A baresip with account `sip:<user>@127.0.0.1` (MD5 password `password`).
    pub fn builder(user: &str, password: &str) -> BaresipBuilder {
        BaresipBuilder {
            name: format!("baresip-{user}"),
            user: user.into(),
            password: password.into(),
            registrar_port: None,
            codec: Codec::Pcmu,
            source: None,
            pad_secs: 1.0,
            auto_answer: true,
            dial: None,
            quit_after: None,
            mediaenc: None,
            ice: false,
            listen_ip: [127, 0, 0, 1].into(),
        }
    }
}

impl BaresipBuilder {
    /// Register at Kamailio on 127.0.0.1:`port` over UDP (also routes outgoing calls there).
    pub fn registrar(mut self, port: u16) -> Self {
        self.registrar_port = Some(port);
        self
    }

    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// WAV to play into calls (any rate; converted to the codec's) followed by `pad_secs` of silence.
    pub fn source(mut self, wav: &Path, pad_secs: f32) -> Self {
        self.source = Some(wav.to_path_buf());
        self.pad_secs = pad_secs;
        self
    }

    pub fn auto_answer(mut self, on: bool) -> Self {
        self.auto_answer = on;
        self
    }

    /// Dial `uri` at start-up (`-e "/dial uri"`).
    pub fn dial(mut self, uri: &str) -> Self {
        self.dial = Some(uri.into());
        self
    }

    /// Quit after `secs` seconds (`-t`).
    pub fn quit_after(mut self, secs: u32) -> Self {
        self.quit_after = Some(secs);
        self
    }

    /// Media encryption of its account (`mediaenc=`): `srtp` (SDES key offered on RTP/AVP),
    /// `srtp-mand` (RTP/SAVP only), `srtp-mandf`: loads the `srtp` module; `dtls_srtp`
    /// (DTLS-SRTP, UDP/TLS/RTP/SAVP): loads the `dtls_srtp` module.
    /// ICE (baresip's `ice` module, `medianat=ice`): its offers and answers carry candidates and
    /// it runs connectivity checks.
    pub fn ice(mut self) -> Self {
        self.ice = true;
        self
    }

    /// Where it listens for SIP (default 127.0.0.1), e.g. an address a test's namespace reaches.
    pub fn listen_ip(mut self, ip: std::net::IpAddr) -> Self {
        self.listen_ip = ip;
        self
    }

    pub fn mediaenc(mut self, mode: &str) -> Self {
        self.mediaenc = Some(mode.into());
        self
    }

    /// Log/config name (default `baresip-<user>`).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Writes the config and starts baresip; waits until it says it is ready.
    pub fn start(self, dir: &TestDir) -> Baresip {
        let bdir = dir.short_subdir(&self.name);
        let (rate, ch) = self.codec.format();
        let source = match &self.source {
            Some(src) => speech::convert(src, &bdir.join("source.wav"), rate, ch, self.pad_secs),
            None => {
                // Silence, long enough for any test call.
                let p = bdir.join("source.wav");
                let (r, c) = (rate.to_string(), ch.to_string());
                speech::sox(&[
                    "-n",
                    "-r",
                    &r,
                    "-c",
                    &c,
                    "-b",
                    "16",
                    p.to_str().unwrap(),
                    "trim",
                    "0",
                    "60",
                ]);
                p
            }
        };
        let sip_port = ports::free_block(2);
        let ctrl_port = ports::free_port();
        let rtp = ports::free_block(10);
        let config = format!(
            "poll_method epoll\n\
             sip_listen {listen}:{sip_port}\n\
             audio_source aufile,{src}\n\
             audio_alert aufile,{src}\n\
             rtp_ports {rtp}-{rtp_end}\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module opus.so\n\
             module g722.so\n\
             module aufile.so\n\
             module sndfile.so\n\
             {srtp}\
             {ice}\
             module account.so\n\
             module menu.so\n\
             module ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n\
             snd_path {snd}\n",
            src = source.display(),
            listen = self.listen_ip,
            rtp_end = rtp + 9,
            snd = bdir.display(),
            // Before `account`, which looks the account's `mediaenc` up as it loads.
            srtp = match self.mediaenc.as_deref() {
                None => "",
                Some(m) if m.starts_with("dtls") => "module dtls_srtp.so\n",
                Some(_) => "module srtp.so\n",
            },
            ice = if self.ice { "module ice.so\n" } else { "" },
        );
        std::fs::write(bdir.join("config"), config).expect("write baresip config");
        let mut account = format!(
            "<sip:{}@127.0.0.1;transport=udp>;auth_pass={}",
            self.user, self.password
        );
        if self.auto_answer {
            account.push_str(";answermode=auto");
        }
        match self.registrar_port {
            Some(p) => account.push_str(&format!(";outbound=\"sip:127.0.0.1:{p};transport=udp\"")),
            None => account.push_str(";regint=0"),
        }
        if let Some(mode) = &self.mediaenc {
            account.push_str(&format!(";mediaenc={mode}"));
        }
        if self.ice {
            account.push_str(";medianat=ice");
        }
        account.push_str(&format!(";audio_codecs={}\n", self.codec.baresip_name()));
        std::fs::write(bdir.join("accounts"), account).expect("write baresip accounts");
        std::fs::write(bdir.join("contacts"), "").expect("write baresip contacts");

        let mut cmd = Command::new("baresip");
        cmd.arg("-f").arg(&bdir);
        if let Some(uri) = &self.dial {
            cmd.args(["-e", &format!("/dial {uri}")]);
        }
        if let Some(t) = self.quit_after {
            cmd.args(["-t", &t.to_string()]);
        }
        let mut process = ProcessGuard::spawn(&self.name, &mut cmd, dir.path());
        process.await_ready(
            "baresip is ready",
            Duration::from_secs(10),
            "apt-get install baresip",
        );
        Baresip {
            sip_port,
            ctrl_port,
            dir: bdir,
            user: self.user,
            process,
        }
    }
}

impl Baresip {
    /// Everything baresip printed so far.
    pub fn log(&self) -> String {
        self.process.output()
    }

    /// Waits until baresip reports its registration answered 200.
    pub fn wait_registered(&self, timeout: Duration) -> bool {
        let needle = format!("{}@127.0.0.1: {{0/UDP/v4}} 200 OK", self.user);
        self.process.wait_for_output(&needle, timeout)
    }

    /// Waits until baresip's output contains `needle`.
    pub fn process_output_wait(&self, needle: &str, timeout: Duration) -> bool {
        self.process.wait_for_output(needle, timeout)
    }

    /// Waits until a call is established (either direction).
    pub fn wait_established(&self, timeout: Duration) -> bool {
        crate::wait_until(timeout, || {
            let log = self.log();
            (log.contains("Call established") || log.contains("answering call")).then_some(())
        })
        .is_some()
    }

    /// Waits until baresip says a call has ended.
    pub fn wait_call_ended(&self, timeout: Duration) -> bool {
        crate::wait_until(timeout, || {
            let log = self.log();
            (log.contains("terminated (duration") || log.contains("session closed")).then_some(())
        })
        .is_some()
    }

    /// The DTMF digits baresip received (RFC 4733 event ends), in order.
    pub fn received_dtmf(&self) -> String {
        parse_received_dtmf(&self.log())
    }

    /// Sends one ctrl_tcp command and returns the response's JSON text.
    pub fn command(&self, command: &str, params: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.ctrl_port))
            .unwrap_or_else(|e| panic!("cannot reach baresip ctrl_tcp on {}: {e}", self.ctrl_port));
        s.set_read_timeout(Some(Duration::from_secs(3))).ok();
        let body =
            serde_json::json!({"command": command, "params": params, "token": "hf"}).to_string();
        s.write_all(netstring(&body).as_bytes())
            .expect("write to baresip ctrl_tcp");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // Events may arrive first; read until the response to our token.
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if text.contains("\"response\":true") {
                return text.into_owned();
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    /// Sends `digits` as RFC 4733 DTMF in the current call, one every 300 ms.
    pub fn send_dtmf(&self, digits: &str) {
        for d in digits.chars() {
            let r = self.command("sndcode", &d.to_string());
            assert!(
                r.contains("\"ok\":true"),
                "baresip refused sndcode {d}: {r}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Hang up the current call.
    pub fn hangup(&self) {
        self.command("hangup", "");
    }

    /// The newest `dump-*-dec.wav` (what baresip received and decoded), if any.
    pub fn received_wav(&self) -> Option<PathBuf> {
        let mut dumps: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("dump-") && n.ends_with("-dec.wav"))
            })
            .collect();
        dumps.sort();
        dumps.pop()
    }

    /// Every `dump-*-dec.wav` (one per call), in the order they were last written: after
    /// [`Baresip::stop`], the order the calls ended.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut dumps: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("dump-") && n.ends_with("-dec.wav"))
                    })
                    .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
                    .collect()
            })
            .unwrap_or_default();
        dumps.sort();
        dumps.into_iter().map(|(_, p)| p).collect()
    }

    /// Stops baresip (SIGTERM) so that `sndfile` closes its WAV files.
    pub fn stop(&mut self) {
        self.process.stop();
    }

    pub fn process(&mut self) -> &mut ProcessGuard {
        &mut self.process
    }
}

fn netstring(s: &str) -> String {
    format!("{}:{},", s.len(), s)
}

/// Digits from baresip log lines `received event: 'D' (end=1)`.
pub fn parse_received_dtmf(log: &str) -> String {
    let mut out = String::new();
    for line in log.lines() {
        let mut rest = line;
        while let Some(i) = rest.find("received event: '") {
            let after = &rest[i + "received event: '".len()..];
            let mut chars = after.chars();
            if let Some(d) = chars.next() {
                if after[d.len_utf8()..].starts_with("' (end=1)") {
                    out.push(d);
                }
            }
            rest = &after[1.min(after.len())..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_digits_are_parsed_from_end_events() {
        let log = "received event: '1' (end=0)\nreceived event: '1' (end=1)\nx received event: '#' (end=0)\nreceived event: '#' (end=1)\n";
        assert_eq!(parse_received_dtmf(log), "1#");
    }

    #[test]
    fn netstring_frames_length() {
        assert_eq!(netstring("abc"), "3:abc,");
    }
}
