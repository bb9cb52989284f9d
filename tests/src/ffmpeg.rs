//! A second, independent G.722 decoder: ffmpeg's `adpcm_g722` (Debian package `ffmpeg`), to
//! hear the G.722 we send the way other stacks hear it, rather than through our own decoder.

use std::path::Path;
use std::process::Command;

/// Whether the `ffmpeg` command is installed.
pub fn available() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Decodes raw G.722 (64 kbit/s, one byte per two 16 kHz samples, as RTP payload type 9
/// carries it) with ffmpeg; `stem` names the scratch files written next to each other
/// (`stem.g722` in, `stem.wav` out). Returns the 16 kHz samples.
pub fn decode_g722(bytes: &[u8], stem: &Path) -> Result<Vec<i16>, String> {
    let input = stem.with_extension("g722");
    let output = stem.with_extension("wav");
    std::fs::write(&input, bytes).map_err(|e| format!("cannot write {}: {e}", input.display()))?;
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "g722",
            "-i",
        ])
        .arg(&input)
        .args(["-c:a", "pcm_s16le", "-ac", "1", "-ar", "16000"])
        .arg(&output)
        .output()
        .map_err(|e| format!("cannot run ffmpeg (apt-get install ffmpeg): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ffmpeg failed on {}: {}",
            input.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut r = hound::WavReader::open(&output)
        .map_err(|e| format!("cannot read {}: {e}", output.display()))?;
    let spec = r.spec();
    if spec.sample_rate != 16000 || spec.channels != 1 || spec.bits_per_sample != 16 {
        return Err(format!("ffmpeg wrote {spec:?}, not 16 kHz mono 16-bit"));
    }
    r.samples::<i16>()
        .map(|s| s.map_err(|e| e.to_string()))
        .collect()
}

/// Encodes 16 kHz mono samples to raw G.722 with ffmpeg's encoder (`stem.s16` in, `stem.g722`
/// out), for comparing an independent encoder's stream with ours.
pub fn encode_g722(samples: &[i16], stem: &Path) -> Result<Vec<u8>, String> {
    let input = stem.with_extension("s16");
    let output = stem.with_extension("g722");
    let raw: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(&input, raw).map_err(|e| format!("cannot write {}: {e}", input.display()))?;
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "s16le",
            "-ar",
            "16000",
            "-ac",
            "1",
            "-i",
        ])
        .arg(&input)
        .args(["-c:a", "g722", "-f", "g722"])
        .arg(&output)
        .output()
        .map_err(|e| format!("cannot run ffmpeg (apt-get install ffmpeg): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ffmpeg failed on {}: {}",
            input.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    std::fs::read(&output).map_err(|e| format!("cannot read {}: {e}", output.display()))
}
