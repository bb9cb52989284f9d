//! Interop tests of `hookflash-cli` and the media engine against real peers (Kamailio, baresip,
//! sipp, PulseAudio). One test binary for all of them: every test binary links the whole engine.
//! Peer tests are `#[ignore]`d; `cargo xtask test` runs them with `--ignored --test-threads=1`.
//! One file: `cargo test -p hookflash-tests --test interop -- --ignored registration::`.

mod accounts;
mod audio_device;
mod call_auth;
mod caller_id;
mod calls_baresip;
mod glare;
mod history;
mod multicall;
mod quality;
mod registration;
mod routing;
mod shared_park;
mod sipp;
mod transfer;
