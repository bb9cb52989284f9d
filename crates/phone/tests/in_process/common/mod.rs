//! What the in-process phone tests share: a loopback account, waiting for an event, a fresh
//! directory for history files.
#![allow(dead_code)]

use hookflash_phone::*;
use std::time::Duration;
use tokio::sync::broadcast::Receiver;

/// `sip:<user>@127.0.0.1` on a free loopback port, not registering, history in `dir`.
pub fn config(user: &str, dir: &std::path::Path) -> PhoneConfig {
    PhoneConfig {
        account: AccountConfig {
            display_name: Some(format!("{user} Example")),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            register: false,
            ..AccountConfig::new(format!("sip:{user}@127.0.0.1"))
        },
        more_accounts: Vec::new(),
        history_db: dir.join(format!("{user}.sqlite3")),
        user_agent: None,
    }
}

/// The next event that satisfies `f` (panics after 10 s, naming `what`).
pub async fn next_matching<F: Fn(&PhoneEvent) -> bool>(
    rx: &mut Receiver<PhoneEvent>,
    what: &str,
    f: F,
) -> PhoneEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("event stream closed");
        if f(&ev) {
            return ev;
        }
    }
}

/// An empty directory under the system temp dir, unique to this test process.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("hookflash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
