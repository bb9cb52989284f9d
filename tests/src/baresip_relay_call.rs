//! baresip ↔ baresip through the impairment relay: the reference the bench compares our
//! engine with, and (with the datagrams the relay keeps) a stream another phone sent, for
//! replaying into ours ([`crate::relay::replay_receive`]).
//!
//! The callee (bob) starts first; a [`SipForwarder`] sits between the caller (alice) and bob's
//! SIP port and rewrites both SDPs so that each side's RTP goes to the relay. Alice plays the
//! speech (the call ends when it has played); bob's `sndfile` dump is what he decoded. The run
//! fails unless the relay really carried alice's audio.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::baresip::Codec;
use crate::relay::sip::SipForwarder;
use crate::relay::{Impairment, RelayConfig, RelayStats, RtpRelay};
use crate::{speech, Baresip, TestDir};

pub struct BaresipRun {
    /// bob's `dump-*-dec.wav`.
    pub received: PathBuf,
    pub relay: RelayStats,
    /// CPU share of one core per call end (alice's and bob's CPU time over the call, halved).
    pub cpu_percent: Option<f64>,
    /// alice's datagrams as they reached the relay (before its impairment), at most
    /// [`crate::relay::udp::CAPTURED`].
    pub sent: Vec<Vec<u8>>,
}

/// CPU seconds (user + system) a process has used so far, from /proc.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime + stime) / hz)
}

/// One call; `name` keeps the peers' logs apart in `dir`.
pub fn call(
    dir: &TestDir,
    name: &str,
    codec: Codec,
    speech_wav: &Path,
    impairment: Impairment,
    seed: u64,
) -> Result<BaresipRun, String> {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut bob = Baresip::builder("bob", "secret")
        .name(&format!("{name}-bob"))
        .codec(codec)
        .auto_answer(true)
        .start(dir);
    let relay = Arc::new(
        RtpRelay::start(
            ip,
            RelayConfig {
                to_right: impairment,
                seed,
                ..RelayConfig::transparent()
            },
        )
        .map_err(|e| format!("cannot start the relay: {e}"))?,
    );
    let forwarder = SipForwarder::start(
        ip,
        SocketAddr::new(ip, bob.sip_port),
        relay.clone(),
        Some(dir.join(format!("{name}-sip.log"))),
    )
    .map_err(|e| format!("cannot start the SIP forwarder: {e}"))?;
    let talk = speech::duration_secs(speech_wav) + 1.0;
    let mut alice = Baresip::builder("alice", "secret")
        .name(&format!("{name}-alice"))
        .codec(codec)
        .source(speech_wav, 1.0)
        .auto_answer(false)
        .dial(&format!("sip:bob@{}", forwarder.addr()))
        .quit_after(talk.ceil() as u32 + 8)
        .start(dir);
    if !bob.wait_established(Duration::from_secs(10)) {
        return Err(format!(
            "baresip bob never answered (logs in {})",
            dir.path().display()
        ));
    }
    let pids = [alice.process().pid(), bob.process().pid()];
    let cpu0: Option<f64> = pids.iter().map(|&p| cpu_seconds(p)).sum();
    let wall0 = std::time::Instant::now();
    // alice's aufile source ends the call when the speech has played.
    let ended = alice.wait_call_ended(Duration::from_secs_f64(talk + 6.0));
    let cpu1: Option<f64> = pids.iter().map(|&p| cpu_seconds(p)).sum();
    let cpu_percent = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some((b - a) / wall0.elapsed().as_secs_f64() * 100.0 / 2.0),
        _ => None,
    };
    std::thread::sleep(Duration::from_millis(300));
    alice.stop();
    bob.stop();
    let stats = relay.rtp.stats();
    let sent = relay.rtp.captured(true);
    let _ = std::fs::write(
        dir.join(format!("{name}-relay.txt")),
        format!("rtp: {stats:?}\nrtcp: {:?}\n", relay.rtcp.stats()),
    );
    if !ended {
        eprintln!("baresip call {name} did not end by itself; stopped it");
    }
    let expected = (talk * 50.0 * 0.8) as u64;
    if stats.to_right.received < expected {
        return Err(format!(
            "the relay carried only {} of alice's RTP packets (expected ≥ {expected}): media did not go through it",
            stats.to_right.received
        ));
    }
    let received = bob.received_wav().ok_or_else(|| {
        format!(
            "baresip bob wrote no dump-*-dec.wav in {}",
            bob.dir.display()
        )
    })?;
    Ok(BaresipRun {
        received,
        relay: stats,
        cpu_percent,
        sent,
    })
}
