//! Speech quality (ITU-T P.862 MOS-LQO) via `tests/py/pesq_score.py` and the pip `pesq` package.
//!
//! The interpreter is `$HOOKFLASH_PYTHON`, else `<workspace>/target/venv/bin/python` (which
//! `cargo xtask test` creates), else `python3`. It needs pip `pesq numpy scipy soundfile`.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// 8 kHz narrowband (P.862).
    Narrow,
    /// 16 kHz wideband (P.862.2).
    Wide,
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("HOOKFLASH_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = crate::workspace_root().join("target/venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// MOS-LQO of `degraded` against `reference`; `Err` carries the script's message.
pub fn try_score(reference: &Path, degraded: &Path, band: Band) -> Result<f64, String> {
    let script = crate::workspace_root().join("tests/py/pesq_score.py");
    let py = python();
    let out = Command::new(&py)
        .arg(&script)
        .arg(reference)
        .arg(degraded)
        .arg(match band {
            Band::Narrow => "nb",
            Band::Wide => "wb",
        })
        .output()
        .map_err(|e| format!("cannot run {} (set HOOKFLASH_PYTHON to a python with pip pesq numpy scipy soundfile): {e}", py.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "pesq_score.py {} failed: {}",
            degraded.display(),
            stderr.trim()
        ));
    }
    stdout
        .trim()
        .parse()
        .map_err(|_| format!("pesq_score.py printed {stdout:?}, stderr {stderr:?}"))
}

/// Like [`try_score`] but panics with the reason; prints the figure.
pub fn score(reference: &Path, degraded: &Path, band: Band) -> f64 {
    let s = try_score(reference, degraded, band).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("PESQ {band:?} {} = {s:.3}", degraded.display());
    s
}
