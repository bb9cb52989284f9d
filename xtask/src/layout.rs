//! Where things live in the repository and in the build output: the paths every xtask command
//! agrees on (and that the tests receive through HOOKFLASH_* environment variables).

use std::env::consts::EXE_SUFFIX;
use std::path::{Path, PathBuf};

/// The repository layout as seen from one checkout.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The repository root (the directory holding the workspace Cargo.toml).
    pub root: PathBuf,
    /// Cargo's target directory (`CARGO_TARGET_DIR` if set, else `<root>/target`).
    pub target: PathBuf,
}

impl Layout {
    /// The layout of the checkout `cargo xtask` runs in: `cargo run` says where xtask's
    /// manifest is (`CARGO_MANIFEST_DIR` at run time), else the checkout it was built from. Not
    /// only the build-time path: with a target directory shared between checkouts, cargo reuses
    /// an xtask binary built in another checkout, which would then test that other tree.
    pub fn current() -> Layout {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .filter(|d| d.join("Cargo.toml").is_file())
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let root = manifest_dir
            .parent()
            .expect("xtask lives one level below the repository root")
            .to_path_buf();
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => {
                let dir = PathBuf::from(dir);
                if dir.is_absolute() {
                    dir
                } else {
                    root.join(dir)
                }
            }
            _ => root.join("target"),
        };
        Layout { root, target }
    }

    pub fn ui(&self) -> PathBuf {
        self.root.join("ui")
    }

    pub fn e2e(&self) -> PathBuf {
        self.root.join("tests").join("e2e")
    }

    /// The Python requirements of the interop/quality tests (pinned, read by `cargo xtask test`).
    pub fn requirements(&self) -> PathBuf {
        self.root.join("xtask").join("requirements-test.txt")
    }

    pub fn venv(&self) -> PathBuf {
        self.target.join("venv")
    }

    /// The Python interpreter inside the test venv (HOOKFLASH_PYTHON).
    pub fn venv_python(&self) -> PathBuf {
        if cfg!(windows) {
            self.venv().join("Scripts").join("python.exe")
        } else {
            self.venv().join("bin").join("python")
        }
    }

    /// A debug binary of the workspace, e.g. `hookflash-cli` (HOOKFLASH_CLI_BIN).
    pub fn debug_bin(&self, name: &str) -> PathBuf {
        self.target
            .join("debug")
            .join(format!("{name}{EXE_SUFFIX}"))
    }

    pub fn release_bin(&self, name: &str) -> PathBuf {
        self.target
            .join("release")
            .join(format!("{name}{EXE_SUFFIX}"))
    }

    pub fn e2e_artifacts(&self) -> PathBuf {
        self.target.join("e2e-artifacts")
    }

    pub fn bench_dir(&self) -> PathBuf {
        self.target.join("bench")
    }

    /// A path shown relative to the repository root when it is inside it (for messages).
    pub fn show(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(rel) => rel.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }
}

/// The cargo executable that started us (so the same toolchain builds everything).
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Where `cargo install` puts binaries (`$CARGO_HOME/bin`, default `~/.cargo/bin`).
pub fn cargo_bin_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home).join("bin"));
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    Some(PathBuf::from(home).join(".cargo").join("bin"))
}

/// True when running under CI (`CI` set to anything but empty, `0` or `false`).
pub fn is_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_holds_the_workspace_manifest() {
        let layout = Layout::current();
        assert!(layout.root.join("Cargo.toml").is_file());
        assert!(layout.root.join("xtask").is_dir());
    }

    #[test]
    fn paths_are_shown_relative_to_the_root() {
        let layout = Layout {
            root: PathBuf::from("/repo"),
            target: PathBuf::from("/repo/target"),
        };
        assert_eq!(layout.show(Path::new("/repo/tests/e2e")), "tests/e2e");
        assert_eq!(layout.show(Path::new("/elsewhere/x")), "/elsewhere/x");
        assert!(layout.venv_python().starts_with("/repo/target/venv"));
    }
}
