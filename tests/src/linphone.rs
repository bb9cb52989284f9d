//! linphonec (liblinphone 5.1, Debian package `linphone-cli`) as a peer: its own home and
//! `-c` config (SIP and RTP ports on loopback, no account), commands typed at its `linphonec>`
//! prompt (`answer`, `call`, `terminate`), and its "file mode" as the sound card: a WAV played
//! as its microphone and what it received recorded to a WAV.
//!
//! Facts this relies on (found by trying linphonec 5.1.65 on Debian 12):
//! - `~/.local/share/linphone/` must exist; `contact=sip:user@host` in `[sip]` (a display name
//!   in quotes is refused as a bad contact URL) is who it is without an account;
//! - `soundcard use files`, then `play <wav>` and `record <wav>`, replace the sound card (no
//!   sound card is found here otherwise); one record file holds every call in turn, written
//!   in real time (silence included) from its first call on; its WAV header is written when it
//!   closes the file, so [`Linphone::recording`] rewrites the sizes of a file cut short;
//! - `-a` answers every call by itself; without it a call rings until `answer`;
//! - it acts on a REFER by itself (calls the target, NOTIFYs), and takes an INVITE with
//!   `Replaces` in place of the call it names without ringing ("Receiving new incoming call"
//!   is printed for it too, but it is connected at once);
//! - calling out (also to 127.0.0.1) it names itself in From, Contact and SDP by this machine's
//!   address towards the default route, an IPv6 one unless told `ipv6 disable` (twinkle refuses
//!   `c=IN IP6` with "400 Invalid SIP body"); `nat 127.0.0.1` + `firewall nat` do not change
//!   that, so its calls' media runs over the machine's own IPv4 address (still this machine);
//!   called, it answers with the address the call came to (127.0.0.1);
//! - it spins at 50 % of a core when its standard input closes, so the pipe stays open;
//! - `-l file -d 6` writes its log (SIP messages included) to `file`.

use crate::{ports, speech, ProcessGuard, TestDir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct LinphoneBuilder {
    name: String,
    user: String,
    source: Option<PathBuf>,
    auto_answer: bool,
}

/// A running linphonec (killed on drop).
pub struct Linphone {
    /// SIP port (UDP) on 127.0.0.1.
    pub sip_port: u16,
    pub user: String,
    /// Its home, config and log directory.
    pub dir: PathBuf,
    recording: PathBuf,
    process: ProcessGuard,
}

impl Linphone {
    /// A linphonec as `sip:<user>@127.0.0.1`, not registering, answering nothing by itself.
    pub fn builder(user: &str) -> LinphoneBuilder {
        LinphoneBuilder {
            name: format!("linphonec-{user}"),
            user: user.into(),
            source: None,
            auto_answer: false,
        }
    }
}

impl LinphoneBuilder {
    /// WAV to play as its microphone (converted to 8 kHz mono, 60 s of silence after it).
    pub fn source(mut self, wav: &Path) -> Self {
        self.source = Some(wav.to_path_buf());
        self
    }

    /// Answer every call by itself (`-a`).
    pub fn auto_answer(mut self, on: bool) -> Self {
        self.auto_answer = on;
        self
    }

    /// Writes its config and starts it in file mode; waits until it took the files.
    pub fn start(self, dir: &TestDir) -> Linphone {
        let home = dir.subdir(&self.name);
        std::fs::create_dir_all(home.join(".local/share/linphone"))
            .expect("create linphone's data directory");
        let sip_port = ports::free_port();
        let rtp_port = ports::free_block(4);
        let rc = format!(
            "[sip]\n\
             sip_port={sip_port}\n\
             sip_tcp_port=0\n\
             sip_tls_port=0\n\
             contact=sip:{user}@127.0.0.1\n\
             [rtp]\n\
             audio_rtp_port={rtp_port}\n\
             [sound]\n\
             echocancellation=0\n\
             [video]\n\
             automatically_initiate=0\n\
             automatically_accept=0\n",
            user = self.user
        );
        let rc_path = home.join("linphonerc");
        std::fs::write(&rc_path, rc).expect("write linphonerc");
        let source = match &self.source {
            Some(src) => speech::convert(src, &home.join("source.wav"), 8000, 1, 60.0),
            None => {
                let p = home.join("source.wav");
                speech::sox(&[
                    "-n",
                    "-r",
                    "8000",
                    "-c",
                    "1",
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
        let recording = home.join("heard.wav");

        let mut cmd = Command::new("linphonec");
        cmd.arg("-c")
            .arg(&rc_path)
            .arg("-l")
            .arg(home.join("linphone.log"))
            .args(["-d", "6"]);
        if self.auto_answer {
            cmd.arg("-a");
        }
        cmd.current_dir(&home).env("HOME", &home);
        let mut process = ProcessGuard::spawn_with_stdin(&self.name, &mut cmd, dir.path());
        // Calling out, it names itself by its address towards the default route; IPv4 only,
        // which every peer here reads.
        process.send_line("ipv6 disable");
        process.send_line("soundcard use files");
        process.send_line(&format!("play {}", source.display()));
        process.send_line(&format!("record {}", recording.display()));
        process.await_ready(
            "Using wav files instead of soundcard",
            Duration::from_secs(10),
            "apt-get install linphone-cli",
        );
        Linphone {
            sip_port,
            user: self.user,
            dir: home,
            recording,
            process,
        }
    }
}

impl Linphone {
    /// What it printed at its prompt so far.
    pub fn log(&self) -> String {
        self.process.output()
    }

    /// Its log file (`-l`): SIP messages and call states.
    pub fn debug_log(&self) -> String {
        std::fs::read(self.dir.join("linphone.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Waits until its prompt output contains `needle`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        self.process.wait_for_output(needle, timeout)
    }

    /// How many calls it was offered ("Receiving new incoming call").
    pub fn incoming_calls(&self) -> usize {
        self.log().matches("Receiving new incoming call").count()
    }

    /// Calls `uri`.
    pub fn call(&mut self, uri: &str) {
        self.process.send_line(&format!("call {uri}"));
    }

    /// Answers the ringing call.
    pub fn answer(&mut self) {
        self.process.send_line("answer");
    }

    /// Ends the current call.
    pub fn terminate(&mut self) {
        self.process.send_line("terminate");
    }

    /// Quits linphonec (its recording is closed) and returns the recording, its WAV header
    /// made right if linphonec did not write it.
    pub fn stop(&mut self) -> PathBuf {
        self.process.send_line("quit");
        if self.process.wait_timeout(Duration::from_secs(5)).is_none() {
            self.process.stop();
        }
        if self.recording.exists() {
            fix_wav_sizes(&self.recording);
        }
        self.recording.clone()
    }

    pub fn process(&mut self) -> &mut ProcessGuard {
        &mut self.process
    }
}

/// Rewrites the RIFF and `data` chunk sizes of a PCM WAV from the file's length (a writer that
/// was stopped before it closed the file leaves them short).
pub fn fix_wav_sizes(path: &Path) {
    let mut bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let Some(data) = bytes.windows(4).position(|w| w == b"data") else {
        return;
    };
    if bytes.len() < data + 8 || &bytes[..4] != b"RIFF" {
        return;
    }
    let data_len = (bytes.len() - data - 8) as u32;
    let riff_len = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&riff_len.to_le_bytes());
    bytes[data + 4..data + 8].copy_from_slice(&data_len.to_le_bytes());
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_sizes_are_rewritten_from_the_file_length() {
        let dir = TestDir::new("linphone-wav-sizes");
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        wav.extend_from_slice(&[
            16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 16, 0,
        ]);
        wav.extend_from_slice(b"data\x02\0\0\0");
        wav.extend_from_slice(&[1, 0, 2, 0, 3, 0]);
        let p = dir.write("short.wav", &wav);
        fix_wav_sizes(&p);
        let (samples, rate) = crate::wav::read_mono(&p);
        assert_eq!((samples.len(), rate), (3, 8000));
    }
}
