//! Media that cannot be hijacked: during a call with baresip, a third socket on the same host
//! sends bursts of RTP (5 packets every 20 ms, its own loud tone) at our media ports. Our stream
//! stays latched on baresip: we do not play the intruder's tone, and baresip still hears ours
//! (had the intruder taken the stream, our audio would have gone to it). Tones stand in for
//! speech: the intruder's would show at its own frequency in what we play.

use hookflash_tests::baresip::Codec;
use hookflash_tests::wav::{hears, tone_power};
use hookflash_tests::{ports, speech, Baresip, Cli, TestDir};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const THEIR_HZ: f32 = 700.0;
const OUR_HZ: f32 = 1100.0;
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

#[test]
#[ignore = "needs baresip"]
fn a_third_socket_sending_rtp_during_a_call_changes_nothing() {
    let dir = TestDir::new("latching-intruder");
    let mut b = Baresip::builder("b", "unused")
        .codec(Codec::Pcmu)
        .source(&speech::tone(dir.path(), "b.wav", THEIR_HZ.into(), 30), 1.0)
        .start(&dir);
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
        .args(["--codec", "pcmu", "--duration", "6"])
        .arg("--audio-in")
        .arg(speech::tone(dir.path(), "mic.wav", OUR_HZ.into(), 30))
        .arg("--audio-out")
        .arg(&heard)
        .spawn(&dir);
    cli.expect_event("answered", Duration::from_secs(15));
    let pid = cli.process().pid();
    let targets = media_ports(pid, sip_port);
    assert!(
        !targets.is_empty(),
        "found no media socket of the CLI (pid {pid})"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let intruder = intrude(targets.clone(), stop.clone());
    cli.wait_exit(Duration::from_secs(30));
    stop.store(true, Ordering::SeqCst);
    let sent = intruder.join().expect("intruder thread");
    cli.assert_success();
    assert!(
        sent > 500,
        "the intruder sent only {sent} packets to {targets:?}"
    );

    // We played baresip, never the intruder.
    assert!(
        hears(&heard, THEIR_HZ, INTRUDER_HZ),
        "we played the intruder's tone: {} at {INTRUDER_HZ} Hz vs {} at {THEIR_HZ} Hz",
        tone_power(&heard, INTRUDER_HZ),
        tone_power(&heard, THEIR_HZ)
    );
    // baresip still got our audio: the stream was not moved to the intruder.
    b.stop();
    let got = b
        .received_wav()
        .unwrap_or_else(|| panic!("baresip recorded nothing:\n{}", b.log()));
    assert!(
        hears(&got, OUR_HZ, INTRUDER_HZ),
        "baresip did not hear our tone while the intruder sent"
    );
}
