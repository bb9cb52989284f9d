//! Speech material for quality tests, made with `sox` from the Debian `alsa-utils` clips
//! (`/usr/share/sounds/alsa/*.wav`, 48 kHz mono real speech).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The clips joined into the reference, with 0.25 s of silence between them.
pub const CLIPS: [&str; 4] = [
    "Front_Center.wav",
    "Front_Left.wav",
    "Rear_Right.wav",
    "Side_Left.wav",
];

const CLIP_DIR: &str = "/usr/share/sounds/alsa";

/// A sine tone of `hz` for `secs` s at 8 kHz (16-bit mono, -10 dBFS) in `dir/name`.
pub fn tone(dir: &Path, name: &str, hz: f64, secs: u32) -> PathBuf {
    let p = dir.join(name);
    sox(&[
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        p.to_str().unwrap(),
        "synth",
        &secs.to_string(),
        "sine",
        &hz.to_string(),
        "vol",
        "0.3",
    ]);
    p
}

/// Runs sox with `args`; panics with sox's message on failure.
pub fn sox(args: &[&str]) {
    let out = Command::new("sox")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run sox (apt-get install sox): {e}"));
    assert!(
        out.status.success(),
        "sox {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes the ~6.5 s, 48 kHz mono reference speech to `dir/speech.wav` and returns its path.
pub fn reference(dir: &Path) -> PathBuf {
    let silence = dir.join("silence-250ms.wav");
    let s = silence.to_str().expect("utf-8 path");
    sox(&[
        "-n", "-r", "48000", "-c", "1", "-b", "16", s, "trim", "0", "0.25",
    ]);
    let clips: Vec<String> = CLIPS.iter().map(|c| format!("{CLIP_DIR}/{c}")).collect();
    for c in &clips {
        assert!(
            Path::new(c).exists(),
            "speech clip {c} is missing (apt-get install alsa-utils)"
        );
    }
    let mut args: Vec<&str> = vec![s];
    for c in &clips {
        args.push(c);
        args.push(s);
    }
    let out = dir.join("speech.wav");
    args.push(out.to_str().expect("utf-8 path"));
    sox(&args);
    out
}

/// Converts `src` to `rate` Hz with `channels` channels, 16-bit, appending `pad_secs` of silence.
pub fn convert(src: &Path, dst: &Path, rate: u32, channels: u16, pad_secs: f32) -> PathBuf {
    let rate = rate.to_string();
    let ch = channels.to_string();
    let pad = format!("{pad_secs}");
    sox(&[
        src.to_str().expect("utf-8 path"),
        "-r",
        &rate,
        "-c",
        &ch,
        "-b",
        "16",
        dst.to_str().expect("utf-8 path"),
        "pad",
        "0",
        &pad,
    ]);
    dst.to_path_buf()
}

/// Duration of a WAV file in seconds (via hound).
pub fn duration_secs(path: &Path) -> f64 {
    let r = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let spec = r.spec();
    f64::from(r.duration()) / f64::from(spec.sample_rate)
}
