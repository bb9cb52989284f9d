//! A G.722 call from `hookflash-cli` to baresip through a tap (a SIP forwarder that routes the
//! media through a relay keeping what it relays), returning the RTP we sent: for hearing our
//! G.722 with a decoder that is not ours (the interop test `g722_wire` and `cargo xtask bench`).

use crate::baresip::Codec;
use crate::relay::sip::SipForwarder;
use crate::relay::{RelayConfig, RtpRelay};
use crate::{ports, Baresip, Cli, TestDir};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// One RTP packet as captured.
#[derive(Clone, Debug)]
pub struct Rtp {
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

/// Reads an RTP packet (CSRCs, header extension and padding skipped); `None` if it is not one.
pub fn parse(p: &[u8]) -> Option<Rtp> {
    if p.len() < 12 || p[0] >> 6 != 2 {
        return None;
    }
    let mut at = 12 + 4 * usize::from(p[0] & 0x0f);
    if p[0] & 0x10 != 0 {
        let words = usize::from(u16::from_be_bytes([*p.get(at + 2)?, *p.get(at + 3)?]));
        at += 4 + 4 * words;
    }
    let mut end = p.len();
    if p[0] & 0x20 != 0 {
        end = end.checked_sub(usize::from(*p.last()?))?;
    }
    Some(Rtp {
        pt: p[1] & 0x7f,
        seq: u16::from_be_bytes([p[2], p[3]]),
        ts: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
        payload: p.get(at..end)?.to_vec(),
    })
}

/// hookflash-cli calls a baresip that takes only G.722 for `secs` seconds, playing `input`
/// (a WAV file), through the tap; returns the G.722 packets (payload type 9) we sent, in the
/// order the tap saw them.
pub fn cli_g722_call(dir: &TestDir, input: &Path, secs: u64) -> Result<Vec<Rtp>, String> {
    let mut b = Baresip::builder("b", "unused")
        .codec(Codec::G722)
        .start(dir);
    let ip = "127.0.0.1".parse().expect("loopback");
    let relay = Arc::new(
        RtpRelay::start(ip, RelayConfig::transparent()).map_err(|e| format!("relay: {e}"))?,
    );
    let tap = SipForwarder::start(
        ip,
        SocketAddr::new(ip, b.sip_port),
        relay.clone(),
        Some(dir.join("sip.log")),
    )
    .map_err(|e| format!("SIP forwarder: {e}"))?;
    let mut cli = Cli::new("cli", "call")
        .arg(format!("sip:b@{}", tap.addr()))
        .args([
            "--aor",
            "sip:me@127.0.0.1",
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{}", ports::free_port()),
        ])
        .args(["--codec", "g722", "--duration", &secs.to_string()])
        .arg("--audio-in")
        .arg(input)
        .args(["--audio-out", "null"])
        .spawn(dir);
    let status = cli.wait_exit(Duration::from_secs(secs + 30));
    b.stop();
    if !status.success() {
        return Err(format!(
            "hookflash-cli call failed ({status}): {}",
            cli.stderr().lines().last().unwrap_or_default()
        ));
    }
    Ok(relay
        .rtp
        .captured(true)
        .iter()
        .filter_map(|p| parse(p))
        .filter(|r| r.pt == 9)
        .collect())
}

/// 16 kHz mono samples of a WAV file (any rate: sox converts it to `dir/name`).
pub fn samples_16k(wav: &Path, dir: &TestDir, name: &str) -> Result<Vec<i16>, String> {
    let out = crate::speech::convert(wav, &dir.join(name), 16000, 1, 0.0);
    let mut r = hound::WavReader::open(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    r.samples::<i16>()
        .map(|s| s.map_err(|e| e.to_string()))
        .collect()
}

/// Writes 16 kHz mono 16-bit samples to a WAV file.
pub fn write_wav_16k(path: &Path, samples: &[i16]) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let err = |e: hound::Error| format!("{}: {e}", path.display());
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for s in samples {
        w.write_sample(*s).map_err(err)?;
    }
    w.finalize().map_err(err)
}

/// Level of `decoded` against `source` in dB (energy ratio over the whole of both: the call's
/// leading and trailing silence add nothing).
pub fn gain_db(source: &[i16], decoded: &[i16]) -> f64 {
    let energy = |x: &[i16]| x.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>();
    10.0 * (energy(decoded) / energy(source)).log10()
}

/// Largest magnitude of the samples.
pub fn peak(x: &[i16]) -> i32 {
    x.iter().map(|v| i32::from(*v).abs()).max().unwrap_or(0)
}
