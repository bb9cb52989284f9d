//! Twinkle 1.10 (`twinkle-console`, Debian package `twinkle-console`) as a peer: its own home
//! with `~/.twinkle/twinkle.sys` (ports, sound devices) and one user profile, commands typed at
//! its `Twinkle>` prompt (`call`, `answer`, `bye`), and its own PulseAudio daemon as the sound
//! card: a tone played into a null sink whose monitor is the default source is its microphone,
//! and the monitor of the default sink (its speaker) is recorded.
//!
//! Facts this relies on (found by trying twinkle-console 1.10.2 on Debian 12):
//! - the command line takes only profile names (files in `~/.twinkle/`); ports come from
//!   `twinkle.sys` (`sip_udp_port`, `rtp_port`), and it binds them on every address;
//! - it has no file or null sound device: without a sound card the call fails ("Failed to open
//!   sound card") and twinkle stops answering, so it gets a PulseAudio daemon (ALSA `default`
//!   reaches it through libasound2-plugins once `PULSE_SERVER` is set). Through that plugin its
//!   capture stalls about 1.5 s into each call's audio (likely: it sizes reads by `snd_pcm_delay`), and
//!   in about half the runs it plays nothing at all, so its audio is only a hint;
//! - it acts on a REFER by itself with `allow_refer=yes` and `ask_user_to_refer=no` (it holds
//!   the call, calls the target, NOTIFYs), putting a `Replaces` from the Refer-To into its
//!   INVITE; with `ext_replaces=yes` it takes an INVITE with `Replaces` in place of the call it
//!   names, without ringing;
//! - with `log_show_sip=yes`, `~/.twinkle/twinkle.log` holds every SIP message it sent or got;
//! - it keeps a Unix socket in `~/.twinkle/`, so the home is a short path.

use crate::pulse::Pulse;
use crate::{ports, ProcessGuard, TestDir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct TwinkleBuilder {
    name: String,
    user: String,
    source: Option<PathBuf>,
}

/// A running twinkle-console (killed on drop, with its sound daemon).
pub struct Twinkle {
    /// SIP port (UDP) on 127.0.0.1.
    pub sip_port: u16,
    pub user: String,
    /// Its home (`.twinkle/` inside holds the config and `twinkle.log`).
    pub dir: PathBuf,
    recording: PathBuf,
    // Dropped in this order: the phone, then what feeds and records its sound card, then that.
    process: ProcessGuard,
    player: Option<ProcessGuard>,
    recorder: ProcessGuard,
    _pulse: Pulse,
}

impl Twinkle {
    /// A twinkle with user `sip:<user>@127.0.0.1`, not registering, answering nothing by itself.
    pub fn builder(user: &str) -> TwinkleBuilder {
        TwinkleBuilder {
            name: format!("twinkle-{user}"),
            user: user.into(),
            source: None,
        }
    }
}

impl TwinkleBuilder {
    /// WAV played into its microphone (any format `paplay` reads) from start-up on.
    pub fn source(mut self, wav: &Path) -> Self {
        self.source = Some(wav.to_path_buf());
        self
    }

    /// Writes its home and starts it with its own PulseAudio; waits for its prompt.
    pub fn start(self, dir: &TestDir) -> Twinkle {
        let home = dir.short_subdir(&self.name);
        let conf = home.join(".twinkle");
        std::fs::create_dir_all(&conf).expect("create ~/.twinkle");
        let pulse = Pulse::start_named(dir, &format!("{}-pulse", self.name));
        pulse.load_null_sink("mic", "twinkle microphone");
        assert!(
            pulse
                .pactl(&["set-default-source", "mic.monitor"])
                .is_some(),
            "pactl set-default-source failed"
        );
        let recording = dir.join(format!("{}-heard.wav", self.name));
        let recorder = pulse.record_monitor(dir, &recording, 8000);
        let player = self
            .source
            .as_ref()
            .map(|wav| pulse.play_into(dir, "mic", wav));

        let sip_port = ports::free_port();
        let rtp_port = ports::free_block(10);
        let sys = format!(
            "dev_ringtone=alsa:default\n\
             dev_speaker=alsa:default\n\
             dev_mic=alsa:default\n\
             validate_audio_dev=no\n\
             sip_udp_port={sip_port}\n\
             rtp_port={rtp_port}\n\
             log_show_sip=yes\n\
             log_max_size=20\n"
        );
        std::fs::write(conf.join("twinkle.sys"), sys).expect("write twinkle.sys");
        let profile = format!(
            "user_name={user}\n\
             user_domain=127.0.0.1\n\
             user_display={display}\n\
             register_at_startup=no\n\
             allow_refer=yes\n\
             ask_user_to_refer=no\n\
             ext_replaces=yes\n\
             codecs=g711u\n",
            user = self.user,
            display = self.user.to_uppercase(),
        );
        let profile_file = format!("{}.cfg", self.user);
        std::fs::write(conf.join(&profile_file), profile).expect("write the twinkle profile");

        let mut cmd = Command::new("twinkle-console");
        cmd.arg(&profile_file).current_dir(&home).env("HOME", &home);
        for (k, v) in pulse.env() {
            cmd.env(k, v);
        }
        let mut process = ProcessGuard::spawn_with_stdin(&self.name, &mut cmd, dir.path());
        process.await_ready(
            "Twinkle>",
            Duration::from_secs(10),
            "apt-get install twinkle-console",
        );
        Twinkle {
            sip_port,
            user: self.user,
            dir: home,
            recording,
            process,
            player,
            recorder,
            _pulse: pulse,
        }
    }
}

impl Twinkle {
    /// What it printed at its prompt so far.
    pub fn log(&self) -> String {
        self.process.output()
    }

    /// Every SIP message it sent or received so far (`~/.twinkle/twinkle.log`).
    pub fn sip_log(&self) -> String {
        std::fs::read(self.dir.join(".twinkle/twinkle.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Waits until its prompt output contains `needle`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        self.process.wait_for_output(needle, timeout)
    }

    /// Calls `uri` (`call <uri>` at its prompt).
    pub fn call(&mut self, uri: &str) {
        self.process.send_line(&format!("call {uri}"));
    }

    /// Answers the call ringing on the active line.
    pub fn answer(&mut self) {
        self.process.send_line("answer");
    }

    /// Ends the call on the active line.
    pub fn bye(&mut self) {
        self.process.send_line("bye");
    }

    /// Stops twinkle and the recording of its speaker; returns the recording (8 kHz mono).
    /// Its speaker's monitor is silent-free: PulseAudio records only while something plays,
    /// so the file holds the calls' audio back to back, not the wall-clock time.
    pub fn stop(&mut self) -> PathBuf {
        self.process.send_line("quit");
        if self.process.wait_timeout(Duration::from_secs(3)).is_none() {
            self.process.stop();
        }
        // parecord finishes the WAV header on SIGTERM.
        self.recorder.stop();
        if let Some(p) = &mut self.player {
            p.stop();
        }
        self.recording.clone()
    }

    pub fn process(&mut self) -> &mut ProcessGuard {
        &mut self.process
    }
}
