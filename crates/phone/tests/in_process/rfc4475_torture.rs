//! RFC 4475 torture messages sent over UDP to a running phone: every message, valid or not,
//! leaves the phone answering OPTIONS, and the valid requests get a response.
//! Fixtures: `../shared/fixtures/rfc4475/` beside the repository (the team's shared folder).

use hookflash_phone::*;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::Duration;

fn fixtures() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/rfc4475");
    assert!(
        root.is_dir(),
        "RFC 4475 fixtures not found at {} (shared/ must sit beside the repo)",
        root.display()
    );
    root
}

fn options(to: std::net::SocketAddr, from: &UdpSocket, n: u32) -> String {
    let me = from.local_addr().unwrap();
    format!(
        "OPTIONS sip:probe@{to} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-probe-{n}\r\nMax-Forwards: 70\r\n\
         From: <sip:probe@{me}>;tag=p{n}\r\nTo: <sip:probe@{to}>\r\nCall-ID: probe-{n}@test\r\nCSeq: {n} OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Sends OPTIONS and waits for its 200, skipping any other datagrams.
fn still_answers(sock: &UdpSocket, to: std::net::SocketAddr, n: u32) -> bool {
    sock.send_to(options(to, sock, n).as_bytes(), to).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let mut buf = vec![0u8; 65536];
    while std::time::Instant::now() < deadline {
        if let Ok((len, _)) = sock.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..len]);
            if text.starts_with("SIP/2.0 200") && text.contains(&format!("probe-{n}@test")) {
                return true;
            }
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torture_messages_never_stop_the_phone() {
    let dir = std::env::temp_dir().join(format!("hookflash-torture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let phone = Phone::start(
        PhoneConfig {
            account: AccountConfig {
                listen: Some("127.0.0.1:0".parse().unwrap()),
                register: false,
                ..AccountConfig::new("sip:alice@127.0.0.1")
            },
            more_accounts: Vec::new(),
            history_db: dir.join("h.sqlite3"),
            user_agent: None,
        },
        PasswordSource::None,
    )
    .await
    .unwrap();
    let target = phone.local_sip_addr();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dat"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 45,
        "expected the RFC 4475 message set, found {}",
        files.len()
    );

    let valid = [
        "wsinv",
        "intmeth",
        "esc01",
        "escnull",
        "esc02",
        "lwsdisp",
        "longreq",
        "dblreq",
        "semiuri",
        "transports",
        "mpart01",
        "unreason",
        "noreason",
    ];
    let mut answered_valid = 0;
    let mut n = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        sock.send_to(&bytes, target).unwrap();
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        // Give the phone a moment, and note whether a valid request got any answer.
        let mut buf = vec![0u8; 65536];
        let mut got = false;
        let until = std::time::Instant::now() + Duration::from_millis(250);
        while std::time::Instant::now() < until {
            if let Ok((len, _)) = sock.recv_from(&mut buf) {
                if buf[..len].starts_with(b"SIP/2.0 ") {
                    got = true;
                }
            }
        }
        if valid.contains(&name.as_str()) && got {
            answered_valid += 1;
        }
        n += 1;
        assert!(
            still_answers(&sock, target, n),
            "the phone stopped answering OPTIONS after {name}"
        );
    }
    eprintln!(
        "{answered_valid} of {} valid torture requests answered",
        valid.len()
    );
    // Requests whose Via points elsewhere get their answer sent there, so not every valid
    // message is answered to us; most must be.
    assert!(
        answered_valid >= 6,
        "only {answered_valid} of the valid torture requests were answered"
    );
    phone.shutdown().await;
}
