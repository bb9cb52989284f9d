//! Interop tests of `hookflash-cli` and the media engine against real peers (Kamailio, baresip,
//! sipp, PulseAudio). One test binary for all of them: every test binary links the whole engine.
//! Peer tests are `#[ignore]`d; `cargo xtask test` runs them with `--ignored --test-threads=1`.
//! One file: `cargo test -p hookflash-tests --test interop -- --ignored registration::`.

use hookflash_tests::{Cli, CliRun, TestDir};
use std::path::Path;

mod accounts;
mod attended_transfer;
mod audio_device;
mod call_auth;
mod caller_id;
mod calls_baresip;
mod conference;
mod consult_other_phones;
mod continuity;
mod dtls_srtp;
mod g722_wire;
mod glare;
mod history;
mod ice;
mod latching;
mod multicall;
mod nat;
mod quality;
mod recovery;
mod registration;
mod replaces;
mod routing;
mod shared_park;
mod sipp;
mod srtp;
mod transfer;
mod turn;
mod websocket;

/// A `hookflash-cli session` as `sip:me@127.0.0.1` on `port` (PCMU, not registering) running
/// `script`, with this microphone and speaker (a WAV path, or `null`).
pub(crate) fn session(
    dir: &TestDir,
    script: &str,
    port: u16,
    mic: &Path,
    speaker: &Path,
) -> CliRun {
    let script = dir.write("script.txt", script);
    session_with(
        &[
            "--aor",
            "sip:me@127.0.0.1",
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
        &script,
        mic,
        speaker,
    )
    .spawn(dir)
}

/// A `hookflash-cli session` with these identity arguments (`--profile p.toml`, or `--aor …
/// --no-register --listen …`), PCMU, running the script file `script`, with this microphone
/// and speaker; to be spawned.
pub(crate) fn session_with(identity: &[&str], script: &Path, mic: &Path, speaker: &Path) -> Cli {
    Cli::new("session", "session")
        .args(identity)
        .args(["--codec", "pcmu", "--script"])
        .arg(script)
        .arg("--audio-in")
        .arg(mic)
        .arg("--audio-out")
        .arg(speaker)
}

/// The last `calls` listing's only call.
pub(crate) fn listed_call(cli: &CliRun) -> serde_json::Value {
    let out = cli.stdout();
    let calls = cli
        .events_named("calls")
        .last()
        .and_then(|l| l["calls"].as_array().cloned())
        .unwrap_or_default();
    assert_eq!(calls.len(), 1, "{out}");
    calls[0].clone()
}
