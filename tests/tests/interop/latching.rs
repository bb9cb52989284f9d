//! Media that cannot be hijacked: during a call with baresip, a third socket on the same host
//! sends bursts of RTP (5 packets every 20 ms, its own loud tone) at our media ports. Our stream
//! stays latched on baresip: speech both ways scores (PESQ NB) as in the same call without the
//! intruder — had we played its packets, what we heard would score far lower; had it taken the
//! stream, our audio would have gone to it and baresip would hear nothing.

use hookflash_tests::baresip::Codec;
use hookflash_tests::pesq::{self, Band};
use hookflash_tests::wav::tone_power;
use hookflash_tests::{ports, speech, Baresip, Cli, TestDir};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const INTRUDER_HZ: f32 = 2500.0;

/// The UDP ports `pid` has open, besides `except` (its SIP port): its RTP and RTCP sockets.
fn media_ports(pid: u32, except: u16) -> Vec<u16> {
    let out = std::process::Command::new("ss")
        .args(["-Huanp"])
        .output()
        .expect("run ss (iproute2)");
    let needle = format!("pid={pid},");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| {
            l.split_whitespace()
                .nth(3)?
                .rsplit(':')
                .next()?
                .parse::<u16>()
                .ok()
        })
        .filter(|p| *p != except)
        .collect()
}

/// 20 ms of PCMU carrying `hz`, starting at sample `from`.
fn pcmu_tone(hz: f32, from: u32) -> Vec<u8> {
    (0..160u32)
        .map(|i| {
            let t = (from + i) as f32 / 8000.0;
            hookflash_media::g711::linear_to_ulaw(
                ((t * hz * std::f32::consts::TAU).sin() * 20000.0) as i16,
            )
        })
        .collect()
}

/// Sends, until `stop`, 5 RTP packets (PCMU, an SSRC and sequence of its own) every 20 ms to
/// each of `ports` on 127.0.0.1; returns how many it sent.
fn intrude(ports: Vec<u16>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u32> {
    std::thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the intruder's socket");
        let (mut seq, mut ts, mut sent) = (1000u16, 0u32, 0u32);
        while !stop.load(Ordering::SeqCst) {
            for _ in 0..5 {
                let mut packet = vec![0x80, 0x00];
                packet.extend(seq.to_be_bytes());
                packet.extend(ts.to_be_bytes());
                packet.extend(0x1badcafe_u32.to_be_bytes());
                packet.extend(pcmu_tone(INTRUDER_HZ, ts));
                for port in &ports {
                    if socket.send_to(&packet, ("127.0.0.1", *port)).is_ok() {
                        sent += 1;
                    }
                }
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(160);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        sent
    })
}

/// What one call with baresip gave: what we heard, what baresip recorded, and how many packets
/// the intruder sent (0 without one).
struct Call {
    heard: std::path::PathBuf,
    got: std::path::PathBuf,
    sent: u32,
}

/// A PCMU call to baresip, both sides playing `speech`, with or without the intruder.
fn call(dir: &TestDir, speech: &std::path::Path, intruder: bool) -> Call {
    let mut b = Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .source(speech, 1.0)
        .start(dir);
    let heard = dir.join("heard.wav");
    let sip_port = ports::free_port();
    let mut cli = Cli::new("cli", "call")
        .arg(format!("sip:b@127.0.0.1:{}", b.sip_port))
        .args([
            "--aor",
            "sip:me@127.0.0.1",
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{sip_port}"),
        ])
        .args(["--codec", "pcmu", "--duration", "8"])
        .arg("--audio-in")
        .arg(speech)
        .arg("--audio-out")
        .arg(&heard)
        .spawn(dir);
    cli.expect_event("answered", Duration::from_secs(15));
    let mut sent = 0;
    if intruder {
        let pid = cli.process().pid();
        let targets = media_ports(pid, sip_port);
        assert!(
            !targets.is_empty(),
            "found no media socket of the CLI (pid {pid})"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let thread = intrude(targets.clone(), stop.clone());
        cli.wait_exit(Duration::from_secs(30));
        stop.store(true, Ordering::SeqCst);
        sent = thread.join().expect("intruder thread");
        assert!(
            sent > 500,
            "the intruder sent only {sent} packets to {targets:?}"
        );
    } else {
        cli.wait_exit(Duration::from_secs(30));
    }
    cli.assert_success();
    b.stop();
    let got = b
        .received_wav()
        .unwrap_or_else(|| panic!("baresip recorded nothing:\n{}", b.log()));
    Call { heard, got, sent }
}

#[test]
#[ignore = "needs baresip"]
fn a_third_socket_sending_rtp_during_a_call_changes_nothing() {
    let clean_dir = TestDir::new("latching-clean");
    let speech = speech::reference(clean_dir.path());
    let clean = call(&clean_dir, &speech, false);
    let dir = TestDir::new("latching-intruder");
    let intruded = call(&dir, &speech, true);
    let score = |wav: &std::path::Path| pesq::score(&speech, wav, Band::Narrow);
    let (clean_ours, clean_theirs) = (score(&clean.heard), score(&clean.got));
    let (ours, theirs) = (score(&intruded.heard), score(&intruded.got));
    eprintln!(
        "PESQ NB without / with {} intruding packets: baresip->us {clean_ours:.3} / {ours:.3}, us->baresip {clean_theirs:.3} / {theirs:.3}",
        intruded.sent
    );
    // We played baresip, never the intruder: what we heard scores as without it.
    assert!(
        ours >= clean_ours - 0.1 && ours >= 3.5,
        "what we heard scored {ours:.3} with the intruder, {clean_ours:.3} without; its tone at {INTRUDER_HZ} Hz: {} (without: {})",
        tone_power(&intruded.heard, INTRUDER_HZ),
        tone_power(&clean.heard, INTRUDER_HZ)
    );
    // baresip still got our audio: the stream was not moved to the intruder.
    assert!(
        theirs >= clean_theirs - 0.1 && theirs >= 3.5,
        "baresip heard us at {theirs:.3} with the intruder, {clean_theirs:.3} without"
    );
}
