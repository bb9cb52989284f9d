//! A per-test directory for configs, recordings and peer logs.
//!
//! Directories live under `$HOOKFLASH_TEST_DIR` (default: `<workspace>/target/interop-logs`) and
//! are kept after the test so the logs can be read; each test run gets a fresh one. When the
//! test panics, dropping the [`TestDir`] prints its path.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    /// Creates `<root>/<name>-<unix time>-<pid>-<n>`.
    pub fn new(name: &str) -> TestDir {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let root = std::env::var_os("HOOKFLASH_TEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::workspace_root().join("target").join("interop-logs"));
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let path = root.join(format!(
            "{name}-{secs}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create test directory {}: {e}", path.display()));
        eprintln!("test directory: {}", path.display());
        TestDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `self.path().join(name)`.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// Creates a subdirectory and returns its path.
    pub fn subdir(&self, name: &str) -> PathBuf {
        let p = self.path.join(name);
        std::fs::create_dir_all(&p)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        p
    }

    /// Creates a directory with a short real path (`/tmp/hf-<pid>-<n>`) and links it into the test
    /// directory as `name`, returning the short path.
    ///
    /// For peers that break on long paths: Unix socket paths are limited to 108 bytes (PulseAudio's
    /// `native` socket) and baresip's `sndfile` truncates file names at 127 bytes, so a checkout at
    /// a deep path would otherwise fail in ways unrelated to the code under test.
    pub fn short_subdir(&self, name: &str) -> PathBuf {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let short = std::env::temp_dir().join(format!(
            "hf-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&short); // a stale one from an earlier process with our pid
        std::fs::create_dir_all(&short)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", short.display()));
        let link = self.path.join(name);
        std::os::unix::fs::symlink(&short, &link).unwrap_or_else(|e| {
            panic!("cannot link {} -> {}: {e}", link.display(), short.display())
        });
        short
    }

    /// Writes a file in the directory and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path.join(name);
        std::fs::write(&p, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        p
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "test failed; configs and logs are in {}",
                self.path.display()
            );
        }
    }
}
