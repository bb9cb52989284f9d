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

/// We call a baresip that takes only encrypted media (its `mediaenc`) with `--srtp srtp`, speech
/// both ways, on PCMU and on Opus: the call says it is encrypted, baresip's log shows one of
/// `saw`, our log at debug holds none of `never` (the SDP, keys), and what each side recorded
/// scores PESQ ≥ 3.5 NB (PCMU) and ≥ 4.0 WB (Opus) — only packets that authenticate and decrypt
/// score like that. `name` names the test's folders and its lines in the output.
pub(crate) fn encrypted_speech_both_ways(
    name: &str,
    mediaenc: &str,
    srtp: &str,
    saw: &[&str],
    never: &[&str],
) {
    use hookflash_tests::baresip::Codec;
    use hookflash_tests::pesq::{self, Band};
    use hookflash_tests::{ports, speech, Baresip};
    use std::time::Duration;
    for (codec, band, floor) in [
        (Codec::Pcmu, Band::Narrow, 3.5),
        (Codec::Opus, Band::Wide, 4.0),
    ] {
        let tag = codec.cli_name();
        let dir = TestDir::new(&format!("{name}-{tag}"));
        let speech = speech::reference(dir.path());
        let mut b = Baresip::builder("b", "unused")
            .codec(codec)
            .mediaenc(mediaenc)
            .source(&speech, 1.0)
            .start(&dir);
        let heard = dir.join("heard.wav");
        let mut cli = Cli::new("cli", "call")
            .arg(format!("sip:b@127.0.0.1:{}", b.sip_port))
            .args([
                "--aor",
                "sip:me@127.0.0.1",
                "--no-register",
                "--listen",
                &format!("127.0.0.1:{}", ports::free_port()),
            ])
            .args(["--codec", tag, "--srtp", srtp, "--duration", "8"])
            .env("HOOKFLASH_LOG", "debug")
            .arg("--audio-in")
            .arg(&speech)
            .arg("--audio-out")
            .arg(&heard)
            .spawn(&dir);
        cli.wait_exit(Duration::from_secs(40));
        cli.assert_success();
        let answered = cli.expect_event("answered", Duration::from_secs(1));
        assert_eq!(answered["encrypted"], true, "{answered}");
        let theirs_log = b.log();
        assert!(
            saw.iter()
                .any(|s| theirs_log.contains(s) || theirs_log.to_lowercase().contains(s)),
            "baresip's log shows none of {saw:?}:\n{theirs_log}"
        );
        let log = cli.stderr();
        assert!(log.contains("DEBUG"), "the log was not at debug:\n{log}");
        let found: Vec<_> = never.iter().filter(|s| log.contains(**s)).collect();
        assert!(found.is_empty(), "our debug log holds {found:?}:\n{log}");
        b.stop();
        let got = b
            .received_wav()
            .unwrap_or_else(|| panic!("baresip recorded nothing:\n{}", b.log()));
        let (ours, theirs) = (
            pesq::score(&speech, &heard, band),
            pesq::score(&speech, &got, band),
        );
        eprintln!("{name} {tag} {band:?}: baresip->us {ours:.3}, us->baresip {theirs:.3}");
        assert!(
            ours >= floor && theirs >= floor,
            "{tag}: PESQ {ours:.3} (what we heard) / {theirs:.3} (what baresip heard) below {floor}"
        );
    }
}
