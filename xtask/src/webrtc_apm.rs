//! What the bench's echo-canceller reference needs: `webrtc-audio-processing` 2.1.0 builds
//! WebRTC's C++ audio processing module with meson + ninja and needs abseil-cpp ≥ 20240722.
//! Debian 12's meson (1.0.1) refuses the build script's `meson setup --reconfigure` of a new
//! build directory, so meson 1.6.1 comes from PyPI into target/meson-venv (put first on PATH
//! for the bench's build). Debian 12 ships abseil 20220623, and meson's own fallback downloads
//! abseil from outside the package registries, so abseil 20240722 is built from Debian's
//! (trixie) source package with cmake and installed to /usr/local once (a few minutes; later
//! runs find it).
//!
//! Only `cargo xtask bench` calls this; `cargo xtask test` never builds the C++ (the bench's
//! `webrtc-apm` feature stays off there). When anything is missing the bench runs without the
//! reference and its echo line says why.

use std::path::{Path, PathBuf};

use crate::install::ensure_system_packages;
use crate::layout::Layout;
use crate::shell::{on_path, Cmd};

/// The abseil version WebRTC's meson build asks for.
const ABSEIL_MIN: &str = "20240722";
/// Debian's source package of that version (trixie).
const ABSEIL_SOURCE: &str = "abseil=20240722.0-4";
const TRIXIE_SOURCES: &str = "/etc/apt/sources.list.d/hookflash-trixie-src.sources";

/// The meson version the build script works with (`setup --reconfigure` of a new directory).
const MESON: &str = "meson==1.6.1";

/// Makes sure the C++ reference can be built; returns the directory to put first on PATH for
/// the build (it holds meson). `Err` says why it cannot (the bench then runs without it).
pub fn ensure(layout: &Layout, dry_run: bool) -> Result<PathBuf, String> {
    if !cfg!(target_os = "linux") {
        return Err("the WebRTC C++ reference is only set up on Linux".into());
    }
    ensure_system_packages(
        &[
            "ninja-build",
            "pkg-config",
            "cmake",
            "build-essential",
            "dpkg-dev",
            "python3-venv",
        ]
        .map(String::from),
        dry_run,
    )?;
    let venv = layout.root.join("target").join("meson-venv");
    let bin = venv.join("bin");
    if dry_run {
        println!("xtask: dry run: would install {MESON} into {} and, if missing, abseil {ABSEIL_MIN} into /usr/local", venv.display());
        return Ok(bin);
    }
    if !bin.join("meson").is_file() {
        Cmd::new("python3")
            .args(["-m", "venv"])
            .arg(venv.to_string_lossy())
            .run(None)?;
        Cmd::new(bin.join("pip").to_string_lossy())
            .args(["install", "--quiet", MESON])
            .run(None)?;
    }
    if !abseil_ok() {
        build_abseil(layout)?;
    }
    Ok(bin)
}

/// `PATH` with `dir` first.
pub fn path_with(dir: &Path) -> String {
    match std::env::var("PATH") {
        Ok(p) if !p.is_empty() => format!("{}:{p}", dir.display()),
        _ => dir.display().to_string(),
    }
}

fn abseil_ok() -> bool {
    Cmd::new("pkg-config")
        .arg(format!("--atleast-version={ABSEIL_MIN}"))
        .arg("absl_base")
        .read()
        .is_ok()
}

fn build_abseil(layout: &Layout) -> Result<(), String> {
    println!("xtask: building abseil-cpp {ABSEIL_MIN} (WebRTC's C++ needs it; Debian 12 has an older one)");
    if !Path::new(TRIXIE_SOURCES).exists() {
        // Source packages only (deb-src): nothing installed from trixie.
        std::fs::write(
            TRIXIE_SOURCES,
            "Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
        )
        .map_err(|e| format!("cannot write {TRIXIE_SOURCES} (run as root): {e}"))?;
    }
    Cmd::new("apt-get").arg("update").run(None)?;
    let dir = layout.root.join("target").join("abseil-src");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Cmd::new("apt-get")
        .args(["source", "--download-only", ABSEIL_SOURCE])
        .cwd(&dir)
        .run(None)?;
    let tarball = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(".orig.tar.gz"))
        .ok_or("apt-get source left no abseil .orig.tar.gz")?;
    Cmd::new("tar")
        .arg("xzf")
        .arg(tarball.to_string_lossy())
        .cwd(&dir)
        .run(None)?;
    let src = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("abseil-"))
        })
        .ok_or("the abseil tarball had no abseil-* directory")?;
    let build = dir.join("build").to_string_lossy().to_string();
    Cmd::new("cmake")
        .arg("-S")
        .arg(src.to_string_lossy())
        .args(["-B", build.as_str(), "-G", "Ninja"])
        .args([
            "-DCMAKE_BUILD_TYPE=Release",
            "-DBUILD_SHARED_LIBS=ON",
            "-DCMAKE_CXX_STANDARD=17",
            "-DABSL_PROPAGATE_CXX_STD=ON",
            "-DABSL_BUILD_TESTING=OFF",
            "-DCMAKE_INSTALL_PREFIX=/usr/local",
        ])
        .run(None)?;
    Cmd::new("ninja").args(["-C", build.as_str()]).run(None)?;
    Cmd::new("ninja")
        .args(["-C", build.as_str(), "install"])
        .run(None)?;
    if on_path("ldconfig") {
        Cmd::new("ldconfig").run(None)?;
    }
    if abseil_ok() {
        Ok(())
    } else {
        Err(format!(
            "abseil was built but pkg-config still finds no absl_base ≥ {ABSEIL_MIN}"
        ))
    }
}
