//! The Python virtual environment at target/venv used by the interop and speech-quality tests
//! (`pesq`, numpy, scipy, soundfile, pinned in xtask/requirements-test.txt). It is created only
//! when missing or when the requirements (or the interpreter) changed since it was built.

use std::fs;
use std::path::{Path, PathBuf};

use crate::layout::Layout;
use crate::shell::{find_on_path, Cmd};

/// Modules the tests import; checked after installing so a broken venv fails here, clearly.
const CHECK_IMPORTS: &str = "import pesq, numpy, scipy, soundfile";

/// File inside the venv recording what it was built from.
const STAMP: &str = ".xtask-requirements";

/// Makes sure target/venv matches xtask/requirements-test.txt; returns its python.
pub fn ensure_venv(layout: &Layout, dry_run: bool) -> Result<PathBuf, String> {
    let requirements_path = layout.requirements();
    let requirements = fs::read_to_string(&requirements_path).map_err(|e| {
        format!(
            "cannot read the test requirements {}: {e}",
            requirements_path.display()
        )
    })?;
    let python = base_python()?;
    let wanted = stamp_text(&requirements, &python);
    let venv = layout.venv();
    let venv_python = layout.venv_python();
    let current = fs::read_to_string(venv.join(STAMP)).ok();
    if venv_python.is_file() && current.as_deref() == Some(wanted.as_str()) {
        println!("xtask: Python venv {} is up to date", layout.show(&venv));
        return Ok(venv_python);
    }
    let why = if current.is_none() {
        "creating"
    } else {
        "requirements changed, recreating"
    };
    println!(
        "xtask: {why} Python venv {} with {}",
        layout.show(&venv),
        python.display()
    );
    let create = Cmd::new(python.display().to_string()).args([
        "-m".to_string(),
        "venv".to_string(),
        venv.display().to_string(),
    ]);
    let pip = Cmd::new(venv_python.display().to_string()).args([
        "-m".to_string(),
        "pip".to_string(),
        "install".to_string(),
        "--disable-pip-version-check".to_string(),
        "--no-input".to_string(),
        "-r".to_string(),
        requirements_path.display().to_string(),
    ]);
    let check = Cmd::new(venv_python.display().to_string()).args(["-c", CHECK_IMPORTS]);
    if dry_run {
        println!("xtask: dry run, would run:\n  {create}\n  {pip}\n  {check}");
        return Ok(venv_python);
    }
    if venv.exists() {
        fs::remove_dir_all(&venv)
            .map_err(|e| format!("cannot remove the old venv {}: {e}", venv.display()))?;
    }
    create.run(None).map_err(|e| {
        format!("{e}\ncreating the Python venv failed; on Debian/Ubuntu install python3-venv")
    })?;
    pip.run(None)
        .map_err(|e| format!("installing the test's Python packages failed: {e}"))?;
    check
        .run(None)
        .map_err(|e| format!("the new venv cannot import its packages: {e}"))?;
    fs::write(venv.join(STAMP), wanted)
        .map_err(|e| format!("cannot write {}: {e}", venv.join(STAMP).display()))?;
    Ok(venv_python)
}

/// The interpreter to build the venv from: Debian's /usr/bin/python3 when present (its
/// python3-dev headers are what `pesq` compiles against), else `python3`/`python` on PATH.
fn base_python() -> Result<PathBuf, String> {
    let system = Path::new("/usr/bin/python3");
    if cfg!(target_os = "linux") && system.is_file() {
        return Ok(system.to_path_buf());
    }
    find_on_path("python3")
        .or_else(|| find_on_path("python"))
        .ok_or_else(|| "Python 3 is not installed (needed for the speech-quality tests)".into())
}

/// What the stamp file holds: the requirements and the interpreter they were installed with.
pub fn stamp_text(requirements: &str, python: &Path) -> String {
    format!("python: {}\n{}", python.display(), requirements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_changes_with_requirements_or_interpreter() {
        let a = stamp_text("pesq==0.0.4\n", Path::new("/usr/bin/python3"));
        assert_eq!(
            a,
            stamp_text("pesq==0.0.4\n", Path::new("/usr/bin/python3"))
        );
        assert_ne!(
            a,
            stamp_text("pesq==0.0.3\n", Path::new("/usr/bin/python3"))
        );
        assert_ne!(a, stamp_text("pesq==0.0.4\n", Path::new("/opt/python3")));
    }

    #[test]
    fn requirements_are_all_pinned() {
        let text = fs::read_to_string(Layout::current().requirements()).unwrap();
        let mut count = 0;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            count += 1;
            assert!(line.contains("=="), "not pinned: {line}");
        }
        assert!(count >= 4, "expected pesq, numpy, scipy, soundfile");
    }
}
