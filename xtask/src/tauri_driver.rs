//! tauri-driver, the WebDriver server that lets the end-to-end tests drive the real app window
//! (through WebKitWebDriver on Linux). Installed with `cargo install` at a pinned version, and
//! only when that version is not already installed.

use crate::layout::{cargo, cargo_bin_dir};
use crate::shell::Cmd;

/// The tauri-driver release the e2e tests are run with (2.x matches Tauri 2).
pub const TAURI_DRIVER_VERSION: &str = "2.1.0";

/// Installs tauri-driver at [`TAURI_DRIVER_VERSION`] unless it is already there.
pub fn ensure_tauri_driver(dry_run: bool) -> Result<(), String> {
    if cfg!(target_os = "macos") {
        println!("xtask: tauri-driver does not support macOS (no WKWebView driver); skipping it");
        return Ok(());
    }
    let listed = Cmd::new(cargo()).args(["install", "--list"]).read()?;
    let installed = installed_version(&listed, "tauri-driver");
    let binary_present = cargo_bin_dir()
        .map(|dir| {
            dir.join(format!("tauri-driver{}", std::env::consts::EXE_SUFFIX))
                .is_file()
        })
        .unwrap_or(false);
    if installed.as_deref() == Some(TAURI_DRIVER_VERSION) && binary_present {
        println!("xtask: tauri-driver {TAURI_DRIVER_VERSION} is installed");
        return Ok(());
    }
    match &installed {
        Some(v) => {
            println!("xtask: tauri-driver {v} is installed; installing {TAURI_DRIVER_VERSION}")
        }
        None => println!("xtask: installing tauri-driver {TAURI_DRIVER_VERSION}"),
    }
    let install = Cmd::new(cargo()).args([
        "install",
        "tauri-driver",
        "--locked",
        "--version",
        TAURI_DRIVER_VERSION,
        "--force",
    ]);
    if dry_run {
        println!("xtask: dry run, would run:\n  {install}");
        return Ok(());
    }
    install
        .run(None)
        .map_err(|e| format!("installing tauri-driver failed: {e}"))
}

/// The version of `krate` in `cargo install --list` output (`tauri-driver v2.1.0:` lines).
pub fn installed_version(list: &str, krate: &str) -> Option<String> {
    list.lines()
        .filter(|line| !line.starts_with(char::is_whitespace))
        .find_map(|line| {
            let mut words = line.split_whitespace();
            if words.next()? != krate {
                return None;
            }
            let version = words.next()?.trim_end_matches(':');
            Some(version.trim_start_matches('v').to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_installed_version() {
        let list = "cargo-edit v0.12.0:\n    cargo-add\ntauri-driver v2.1.0:\n    tauri-driver\n";
        assert_eq!(
            installed_version(list, "tauri-driver").as_deref(),
            Some("2.1.0")
        );
    }

    #[test]
    fn git_installs_and_absent_crates() {
        let list = "tauri-driver v2.0.4 (https://example.invalid/x#abc):\n    tauri-driver\n";
        assert_eq!(
            installed_version(list, "tauri-driver").as_deref(),
            Some("2.0.4")
        );
        assert_eq!(installed_version("", "tauri-driver"), None);
        // a binary *named* tauri-driver under another crate does not count
        assert_eq!(
            installed_version("other v1.0.0:\n    tauri-driver\n", "tauri-driver"),
            None
        );
    }
}
