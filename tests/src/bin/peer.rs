//! `peer`: starts one of the harness's real peers for tests written outside Rust (the app's e2e
//! tests, tests/e2e/), configured exactly as the Rust interop tests configure it, and keeps it
//! running until this process is stopped (the peer gets SIGTERM when it goes).
//!
//! ```text
//! peer kamailio --ready ready.json --user alice:secret [--user bob:other] [--digest sha256]
//! ```
//!
//! When the peer answers, `--ready` is written with what the caller needs, e.g.
//! `{"port":20012,"log":"/…/interop-logs/e2e-kamailio-…/kamailio.stderr"}`; the peer's files live in a
//! test directory under `$HOOKFLASH_TEST_DIR`.

use clap::{Parser, Subcommand};
use hookflash_tests::{Digest, Kamailio, TestDir};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(about = "Start a real peer of the interop harness for tests outside Rust")]
struct Args {
    #[command(subcommand)]
    peer: Peer,
}

#[derive(Subcommand, Debug)]
enum Peer {
    /// Kamailio as registrar and proxy with digest authentication (domain 127.0.0.1).
    Kamailio {
        /// Written (JSON: port, log) once Kamailio answers OPTIONS.
        #[arg(long)]
        ready: PathBuf,
        /// A subscriber as `user:password` (repeat for more).
        #[arg(long = "user", required = true)]
        users: Vec<String>,
        /// The digest algorithm of the challenges: md5 or sha256.
        #[arg(long, default_value = "md5")]
        digest: String,
    },
}

fn main() {
    let Peer::Kamailio {
        ready,
        users,
        digest,
    } = Args::parse().peer;
    let digest = match digest.as_str() {
        "md5" => Digest::Md5,
        "sha256" => Digest::Sha256,
        other => fail(&format!("unknown digest '{other}' (use md5 or sha256)")),
    };
    let dir = TestDir::new("e2e-kamailio");
    let mut builder = Kamailio::builder().digest(digest);
    for user in &users {
        let Some((name, password)) = user.split_once(':') else {
            fail(&format!("--user '{user}' is not user:password"))
        };
        builder = builder.user(name, password);
    }
    let kamailio = builder.start(&dir);
    let log = dir.join("kamailio.stderr");
    let line = serde_json::json!({"port": kamailio.port, "log": log});
    if let Err(e) = std::fs::write(&ready, line.to_string()) {
        fail(&format!("cannot write {}: {e}", ready.display()));
    }
    // Until stopped; dropping `kamailio` (never reached) or this process dying ends Kamailio.
    loop {
        std::thread::park();
    }
}

fn fail(message: &str) -> ! {
    eprintln!("peer: {message}");
    std::process::exit(2)
}
