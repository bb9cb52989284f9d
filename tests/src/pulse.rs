//! A private PulseAudio daemon with a null sink `spk`, so the CLI's `default` audio device has
//! somewhere to play (ALSA `default` → PulseAudio via libasound2-plugins) and the tests can
//! record the sink's monitor with `parecord`.
//!
//! The daemon gets its own runtime directory (`PULSE_RUNTIME_PATH`, a short path linked from the test directory:
//! its socket path must fit in 108 bytes) so
//! tests and other users of the machine do not collide; [`Pulse::env`] lists the variables a
//! child process needs to reach it.

use crate::{ProcessGuard, TestDir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct Pulse {
    runtime: PathBuf,
    label: String,
    process: ProcessGuard,
}

impl Pulse {
    /// Starts `pulseaudio` in the foreground (under a guard) and waits for its socket.
    pub fn start(dir: &TestDir) -> Pulse {
        Self::start_named(dir, "pulse")
    }

    /// Like [`start`](Self::start), with its runtime directory and logs named `name`: one
    /// daemon per phone when several phones of a test need their own sound card.
    pub fn start_named(dir: &TestDir, name: &str) -> Pulse {
        let runtime = dir.short_subdir(name);
        // A cookie for clients: the Rust client under cpal sends an empty one when it finds
        // none, which the server refuses (libpulse sends zeros), and cpal then falls back to ALSA.
        let cookie: Vec<u8> = (0..256u32)
            .map(|i| (i * 7 + std::process::id()) as u8)
            .collect();
        std::fs::write(runtime.join("cookie"), cookie).expect("write the PulseAudio cookie");
        let native = format!(
            "--load=module-native-protocol-unix auth-cookie={}",
            runtime.join("cookie").display()
        );
        let mut cmd = Command::new("pulseaudio");
        cmd.args([
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--system=no",
            "-n",
            "--use-pid-file=no",
            &native,
            "--load=module-null-sink sink_name=spk",
            "--load=module-always-sink",
        ]);
        cmd.env("PULSE_RUNTIME_PATH", &runtime)
            .env("PULSE_STATE_PATH", &runtime)
            .env("HOME", &runtime);
        // Log names: `pulseaudio`, `parecord`... for the default daemon, `pulseaudio-<name>`... else.
        let label = if name == "pulse" {
            String::new()
        } else {
            format!("-{name}")
        };
        let process = ProcessGuard::spawn(&format!("pulseaudio{label}"), &mut cmd, dir.path());
        let mut pulse = Pulse {
            runtime,
            label,
            process,
        };
        let ok = crate::wait_until(Duration::from_secs(10), || {
            if pulse.process.try_status().is_some() {
                return Some(false);
            }
            pulse
                .pactl(&["list", "short", "sinks"])
                .filter(|s| s.contains("spk"))
                .map(|_| true)
        });
        if ok != Some(true) {
            panic!(
                "PulseAudio did not start (apt-get install pulseaudio pulseaudio-utils)\n{}",
                pulse.process.log_tail()
            );
        }
        pulse.pactl(&["set-default-sink", "spk"]);
        pulse
    }

    /// Environment for processes that should use this daemon.
    pub fn env(&self) -> Vec<(String, String)> {
        let rt = self.runtime.display().to_string();
        vec![
            ("PULSE_RUNTIME_PATH".into(), rt.clone()),
            ("PULSE_SERVER".into(), format!("unix:{rt}/native")),
            ("PULSE_SINK".into(), "spk".into()),
            ("PULSE_COOKIE".into(), format!("{rt}/cookie")),
        ]
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        for (k, v) in self.env() {
            c.env(k, v);
        }
        c
    }

    /// Runs `pactl args`; `Some(stdout)` on success.
    pub fn pactl(&self, args: &[&str]) -> Option<String> {
        let out = self.command("pactl").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `parecord` of the null sink's monitor into `wav` (16-bit, `rate` Hz, mono).
    pub fn record_monitor(&self, dir: &TestDir, wav: &Path, rate: u32) -> ProcessGuard {
        let mut c = self.command("parecord");
        c.args([
            "--device=spk.monitor",
            "--file-format=wav",
            "--format=s16le",
            "--channels=1",
        ])
        .arg(format!("--rate={rate}"))
        .arg(wav);
        ProcessGuard::spawn(&format!("parecord{}", self.label), &mut c, dir.path())
    }

    /// Plays `wav` into the null sink with `paplay` and waits for it to finish.
    pub fn play(&self, wav: &Path) {
        let st = self
            .command("paplay")
            .arg("--device=spk")
            .arg(wav)
            .status()
            .expect("run paplay");
        assert!(st.success(), "paplay {} failed", wav.display());
    }

    /// Starts `paplay` of `wav` into sink `sink` in the background (stop it by dropping).
    pub fn play_into(&self, dir: &TestDir, sink: &str, wav: &Path) -> ProcessGuard {
        let mut c = self.command("paplay");
        c.arg(format!("--device={sink}")).arg(wav);
        ProcessGuard::spawn(&format!("paplay{}-{sink}", self.label), &mut c, dir.path())
    }

    /// Loads another null sink named `name`, described as `description` (what the device
    /// list shows); returns its module index (for `unload_module`).
    pub fn load_null_sink(&self, name: &str, description: &str) -> u32 {
        let properties = format!("sink_properties='device.description=\"{description}\"'");
        let out = self
            .pactl(&[
                "load-module",
                "module-null-sink",
                &format!("sink_name={name}"),
                &properties,
            ])
            .unwrap_or_else(|| panic!("pactl load-module module-null-sink {name} failed"));
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("pactl load-module printed '{out}'"))
    }

    /// Unloads a module (a null sink disappears like an unplugged headset).
    pub fn unload_module(&self, index: u32) {
        assert!(
            self.pactl(&["unload-module", &index.to_string()]).is_some(),
            "pactl unload-module {index} failed"
        );
    }

    /// Like `record_monitor`, for the monitor of sink `sink`.
    pub fn record_sink_monitor(
        &self,
        dir: &TestDir,
        sink: &str,
        wav: &Path,
        rate: u32,
    ) -> ProcessGuard {
        let mut c = self.command("parecord");
        c.args(["--file-format=wav", "--format=s16le", "--channels=1"])
            .arg(format!("--device={sink}.monitor"))
            .arg(format!("--rate={rate}"))
            .arg(wav);
        ProcessGuard::spawn(
            &format!("parecord{}-{sink}", self.label),
            &mut c,
            dir.path(),
        )
    }
}
