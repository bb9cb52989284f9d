//! Test harness for real peers (Kamailio, baresip, twinkle, linphonec, sipp, PulseAudio) and the `hookflash-cli` binary.
//!
//! Each concept lives in its own module: [`ports`] hands out free loopback ports, [`test_dir`]
//! makes a per-test log directory, [`process`] runs peers under a guard that kills them on drop
//! and prints their log tails when a test fails, and one module per peer builds its config.
//! The tests in `tests/tests/*.rs` use these; peer tests are `#[ignore]`d so plain `cargo test`
//! stays fast (`cargo xtask test` runs them).

pub mod baresip;
pub mod baresip_relay_call;
pub mod cli;
pub mod coturn;
pub mod ffmpeg;
pub mod g722_tap;
pub mod kamailio;
pub mod linphone;
pub mod netns;
pub mod pesq;
pub mod ports;
pub mod process;
pub mod pulse;
pub mod relay;
pub mod sip_probe;
pub mod sipp;
pub mod speech;
pub mod test_dir;
pub mod tls;
pub mod twinkle;
pub mod wav;

pub use baresip::Baresip;
pub use cli::{Cli, CliRun};
pub use kamailio::{Digest, InviteAuth, Kamailio};
pub use process::ProcessGuard;
pub use test_dir::TestDir;

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The Cargo workspace root (parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// Polls `f` every 50 ms until it returns `Some`, or gives up after `timeout`.
pub fn wait_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
