//! Two MediaSessions talking to each other over 127.0.0.1: a WAV file goes in on one side and
//! is recorded on the other; the recording must have the right length and match the source
//! (after alignment) closely; DTMF keys must arrive exactly once; bad datagrams are ignored;
//! RTP latches to where the far end really sends from.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hookflash_media::resample::resample_all;
use hookflash_media::wav::read_mono;
use hookflash_media::{
    AudioIn, AudioOut, Codec, MediaDirection, MediaEvent, MediaSession, MediaStats, RtpEndpoint,
    StreamParams,
};
use tokio::sync::mpsc::UnboundedReceiver;

const SPEECH: &str = "/usr/share/sounds/alsa/Front_Center.wav";

fn localhost() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("hookflash-loopback-{}-{name}", std::process::id()))
}

fn params(remote: SocketAddr, codec: Codec) -> StreamParams {
    StreamParams {
        remote_rtp: remote,
        remote_rtcp: None,
        codec,
        payload_type: codec.default_payload_type().unwrap_or(111),
        telephone_event_pt: Some(101),
        ptime_ms: 20,
        direction: MediaDirection::SendRecv,
        srtp: None,
        dtls: None,
        ice: None,
    }
}

async fn wait_for(
    rx: &mut UnboundedReceiver<MediaEvent>,
    want: &MediaEvent,
    limit: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) if &ev == want => return true,
            Ok(Some(_)) => continue,
            _ => return false,
        }
    }
}

/// Best alignment of `got` against `reference` (lag in samples, `got` later), by brute-force
/// normalised cross-correlation over `lags`.
fn best_lag(reference: &[f32], got: &[f32], lags: std::ops::Range<i64>) -> (i64, f64) {
    let mut best = (0, f64::MIN);
    for lag in lags {
        let mut dot = 0.0f64;
        let mut eg = 0.0f64;
        let mut er = 0.0f64;
        for (i, &r) in reference.iter().enumerate() {
            let j = i as i64 + lag;
            if j < 0 || j as usize >= got.len() {
                continue;
            }
            let g = got[j as usize] as f64;
            dot += r as f64 * g;
            eg += g * g;
            er += r as f64 * r as f64;
        }
        let c = dot / (eg.sqrt() * er.sqrt()).max(1e-12);
        if c > best.1 {
            best = (lag, c);
        }
    }
    best
}

/// SNR in dB of `got` (aligned at `lag`) against `reference`, with the best gain applied.
fn snr_db(reference: &[f32], got: &[f32], lag: i64) -> f64 {
    let pairs: Vec<(f64, f64)> = reference
        .iter()
        .enumerate()
        .filter_map(|(i, &r)| {
            let j = i as i64 + lag;
            (j >= 0 && (j as usize) < got.len()).then(|| (r as f64, got[j as usize] as f64))
        })
        .collect();
    let dot: f64 = pairs.iter().map(|(r, g)| r * g).sum();
    let eg: f64 = pairs.iter().map(|(_, g)| g * g).sum();
    let gain = dot / eg.max(1e-12);
    let sig: f64 = pairs.iter().map(|(r, _)| r * r).sum();
    let noise: f64 = pairs.iter().map(|(r, g)| (r - gain * g).powi(2)).sum();
    10.0 * (sig / noise.max(1e-12)).log10()
}

/// Quarter-second pieces of `reference` with speech in them, each compared with `got` at its own
/// alignment: the coarse one (`lag8`, at 8 kHz, searched ±25 ms) refined at `rate` (±2 samples
/// of 8 kHz). A time-stretch of one frame (a scheduling hiccup on a busy machine) shifts what
/// follows it by a few milliseconds; each piece is still judged on its own. Returns (correlation,
/// SNR dB at `rate`, SNR dB in the 0-4 kHz band) per piece.
fn piecewise(
    reference: &[f32],
    got: &[f32],
    rate: u32,
    ref8: &[f32],
    got8: &[f32],
    lag8: i64,
) -> Vec<(f64, f64, f64)> {
    let factor = (rate / 8000) as usize;
    let (win8, reach8) = (2000usize, 200i64);
    let mut scores = Vec::new();
    for start8 in (0..ref8.len().saturating_sub(win8)).step_by(win8) {
        let r8 = &ref8[start8..start8 + win8];
        let energy = (r8.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / win8 as f64).sqrt();
        // The search stays inside the recording (a piece may start before it did).
        let (low, high) = ((lag8 - reach8).max(-(start8 as i64)), lag8 + reach8);
        if energy < 0.005 || low > high || start8 as i64 + high + win8 as i64 > got8.len() as i64 {
            continue;
        }
        let (local8, _) = best_lag(r8, &got8[start8..], low..high + 1);
        let snr8 = snr_db(r8, &got8[start8..], local8);
        let (start, win, f) = (start8 * factor, win8 * factor, factor as i64);
        if start + win > reference.len() {
            continue;
        }
        let r = &reference[start..start + win];
        let (local, corr) = best_lag(r, &got[start..], local8 * f - 2 * f..local8 * f + 2 * f + 1);
        scores.push((corr, snr_db(r, &got[start..], local), snr8));
    }
    scores
}

/// The median correlation of the quarter-seconds of an 8 kHz `reference` with speech in them,
/// against `got` around `lag` (see [`piecewise`]).
fn piecewise_correlation(reference: &[f32], got: &[f32], lag: i64) -> f64 {
    let pieces = piecewise(reference, got, 8000, reference, got, lag);
    assert!(
        pieces.len() >= 3,
        "too few quarter-seconds of speech compared: {pieces:?}"
    );
    median(pieces.iter().map(|p| p.0).collect())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

struct CallResult {
    out: Vec<f32>,
    out_rate: u32,
    reference: Vec<f32>,
    wall: Duration,
    digits: String,
    other_events: Vec<MediaEvent>,
    a: MediaStats,
    b: MediaStats,
}

/// A plays the speech clip to B, then sends DTMF; B records to a WAV.
async fn call(codec: Codec, name: &str) -> CallResult {
    call_with_ptime(codec, name, 20).await
}

/// As [`call`], with A sending `ptime` ms packets (B's playout stays at 20 ms frames).
async fn call_with_ptime(codec: Codec, name: &str, ptime: u32) -> CallResult {
    let ea = RtpEndpoint::bind(localhost()).await.unwrap();
    let eb = RtpEndpoint::bind(localhost()).await.unwrap();
    let (a_addr, b_addr) = (ea.local_addr(), eb.local_addr());
    let out_path = tmp(&format!("{name}.wav"));
    let started = Instant::now();
    let (b, mut b_events) = MediaSession::start(
        eb,
        params(a_addr, codec),
        AudioIn::Null,
        AudioOut::Wav(out_path.clone()),
    )
    .unwrap();
    let mut pa = params(b_addr, codec);
    pa.ptime_ms = ptime;
    let (a, mut a_events) =
        MediaSession::start(ea, pa, AudioIn::Wav(SPEECH.into()), AudioOut::Null).unwrap();
    assert!(
        wait_for(
            &mut a_events,
            &MediaEvent::InputEnded,
            Duration::from_secs(10)
        )
        .await,
        "A reports the end of its WAV input"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    for d in "1*9#".chars() {
        a.send_dtmf(d).unwrap();
    }
    // Four keys: 4 x (100 ms tone + 100 ms gap), plus margin.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let a_stats = a.stop().await;
    let b_stats = b.stop().await;
    let wall = started.elapsed();
    let mut digits = String::new();
    let mut other_events = Vec::new();
    while let Ok(ev) = b_events.try_recv() {
        match ev {
            MediaEvent::Dtmf(d) => digits.push(d),
            other => other_events.push(other),
        }
    }
    while let Ok(ev) = a_events.try_recv() {
        other_events.push(ev);
    }
    let (out, out_rate) = read_mono(&out_path).unwrap();
    std::fs::remove_file(&out_path).ok();
    let (src, src_rate) = read_mono(Path::new(SPEECH)).unwrap();
    let reference = resample_all(&src, src_rate, codec.sample_rate()).unwrap();
    CallResult {
        out,
        out_rate,
        reference,
        wall,
        digits,
        other_events,
        a: a_stats,
        b: b_stats,
    }
}

fn check_call(r: &CallResult, codec: Codec, min_snr: f64, min_snr_narrowband: f64, min_corr: f64) {
    let rate = codec.sample_rate();
    assert_eq!(r.out_rate, rate, "recording is at the codec's rate");
    assert_eq!(r.digits, "1*9#", "each DTMF key arrives exactly once");
    assert!(
        r.other_events.is_empty(),
        "no warnings: {:?}",
        r.other_events
    );

    // Length: playout starts once the jitter buffer holds 60 ms, then writes 20 ms every
    // 20 ms until stop. So the recording spans the call minus that start-up delay.
    let out_secs = r.out.len() as f64 / rate as f64;
    let wall = r.wall.as_secs_f64();
    println!("{codec:?}: recorded {out_secs:.3} s of a {wall:.3} s call");
    assert!(
        out_secs > wall - 0.25 && out_secs < wall,
        "recorded {out_secs:.3} s, call lasted {wall:.3} s"
    );

    // Alignment: coarse search at 8 kHz, then refine at the codec rate.
    let (coarse_ref, coarse_out) = if rate == 8000 {
        (r.reference.clone(), r.out.clone())
    } else {
        (
            resample_all(&r.reference, rate, 8000).unwrap(),
            resample_all(&r.out, rate, 8000).unwrap(),
        )
    };
    let (lag8, corr8) = best_lag(&coarse_ref, &coarse_out, -80..4000);
    let snr8 = snr_db(&coarse_ref, &coarse_out, lag8);
    println!("{codec:?}: in the 0-4 kHz band: correlation {corr8:.4}, SNR {snr8:.1} dB");
    println!("{codec:?}: A {:?}", r.a);
    println!("{codec:?}: B {:?}", r.b);
    let factor = (rate / 8000) as i64;
    let (lag, corr) = best_lag(
        &r.reference,
        &r.out,
        lag8 * factor - 2 * factor..lag8 * factor + 2 * factor + 1,
    );
    let snr = snr_db(&r.reference, &r.out, lag);
    println!(
        "{codec:?}: lag {lag} samples ({:.1} ms), correlation {corr:.4}, SNR {snr:.1} dB",
        lag as f64 * 1000.0 / rate as f64
    );
    // With a clean network the whole clip arrives: nothing concealed inside it, so the lag is
    // just codec delay (no inserted gaps before the speech).
    assert!(lag >= 0 && lag < rate as i64 / 50, "lag {lag}");
    // The whole clip at one alignment holds unless playout was stretched or hurried: on a busy
    // machine the sender's 20 ms ticks come late and in bursts, and the jitter buffer adapts
    // (seen in CI: one stretched frame cut the whole-clip correlation to 0.72; with a build
    // running beside the test, 6 to 10). Each quarter-second is then judged at its own
    // alignment.
    let adapted = r.b.playout_stretched + r.b.playout_accelerated;
    if adapted == 0 {
        assert!(corr > min_corr, "correlation {corr}");
        assert!(snr > min_snr, "SNR {snr} dB");
        assert!(snr8 > min_snr_narrowband, "0-4 kHz SNR {snr8} dB");
    }
    let pieces = piecewise(&r.reference, &r.out, rate, &coarse_ref, &coarse_out, lag8);
    println!("{codec:?}: quarter-seconds (correlation, SNR, 0-4 kHz SNR): {pieces:.3?}");
    assert!(
        pieces.len() >= 4,
        "too few quarter-seconds of speech compared: {pieces:?}"
    );
    let (c, s, s8) = (
        median(pieces.iter().map(|p| p.0).collect()),
        median(pieces.iter().map(|p| p.1).collect()),
        median(pieces.iter().map(|p| p.2).collect()),
    );
    assert!(
        c > min_corr,
        "median correlation of the quarter-seconds {c}"
    );
    assert!(s > min_snr, "median SNR of the quarter-seconds {s} dB");
    assert!(
        s8 > min_snr_narrowband,
        "median 0-4 kHz SNR of the quarter-seconds {s8} dB"
    );
    // Traffic: every packet A sent reached B, none lost, nothing malformed.
    assert!(r.a.packets_sent > 70);
    assert_eq!(
        r.b.packets_received, r.a.packets_sent,
        "B got all of A's packets"
    );
    assert_eq!(r.b.packets_lost, 0);
    assert_eq!(r.b.malformed_packets, 0);
    assert_eq!(r.a.dtmf_sent, 4);
    assert_eq!(r.b.dtmf_received, 4);
    assert!(
        r.b.jitter_ms < 10.0,
        "jitter {} ms on loopback",
        r.b.jitter_ms
    );
    // RTCP: the first report goes out after 0.5 s; both sides have heard one.
    assert!(r.a.rtcp_received >= 1 && r.b.rtcp_received >= 1);
    assert_eq!(r.a.remote_fraction_lost, Some(0.0), "B reports no loss");
    assert_eq!(r.a.encoder_expected_loss, 0, "clean line: no FEC overhead");
    // Quality estimate and jitter buffer on a clean line: no late packets, low delay, MOS ~4.4.
    assert_eq!(r.b.late_packets, 0);
    // DTMF packets stand for the audio they replace: nothing concealed around the keys (they
    // used to cost ~18 frames). A scheduling hiccup on a loaded machine may cost one or two.
    assert!(
        r.b.concealed_frames <= 3,
        "concealed {} frames on a clean line",
        r.b.concealed_frames
    );
    // The floor target is one playout frame plus one packet; a clean line stays near it.
    assert!(
        r.b.jitter_buffer_mean_delay_ms < r.b.jitter_buffer_target_ms + 25.0,
        "mean delay {} with target {}",
        r.b.jitter_buffer_mean_delay_ms,
        r.b.jitter_buffer_target_ms
    );
    let mos = r.b.mos.expect("B heard audio");
    assert!(mos > 4.3, "clean-line MOS {mos}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcmu_loopback_matches_source() {
    let r = call(Codec::Pcmu, "pcmu").await;
    check_call(&r, Codec::Pcmu, 25.0, 25.0, 0.99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcma_with_40ms_packets_matches_source() {
    let r = call_with_ptime(Codec::Pcma, "pcma40", 40).await;
    check_call(&r, Codec::Pcma, 25.0, 25.0, 0.99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_loopback_matches_source() {
    let r = call(Codec::Opus, "opus").await;
    check_call(&r, Codec::Opus, 6.0, 6.0, 0.85);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_datagrams_are_counted_and_ignored() {
    let ea = RtpEndpoint::bind(localhost()).await.unwrap();
    let eb = RtpEndpoint::bind(localhost()).await.unwrap();
    let (a_addr, b_addr) = (ea.local_addr(), eb.local_addr());
    let (b, _b_ev) = MediaSession::start(
        eb,
        params(a_addr, Codec::Pcma),
        AudioIn::Null,
        AudioOut::Null,
    )
    .unwrap();
    let (a, _a_ev) = MediaSession::start(
        ea,
        params(b_addr, Codec::Pcma),
        AudioIn::Null,
        AudioOut::Null,
    )
    .unwrap();
    // Let A's stream establish the latch first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let junk = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    junk.send_to(&[0u8; 5], b_addr).await.unwrap(); // too short
    junk.send_to(&[0x40; 40], b_addr).await.unwrap(); // wrong version
    junk.send_to(&vec![0x80; 1800], b_addr).await.unwrap(); // oversized
    junk.send_to(&[0x8F, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], b_addr)
        .await
        .unwrap(); // CSRCs missing
    junk.send_to(&[0x81, 201, 0, 40, 1, 2, 3, 4], b_addr)
        .await
        .unwrap(); // RTCP lying about length
                   // Valid RTP with a payload type nobody negotiated: ignored, and must not steal the latch.
    let mut stray = vec![0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9];
    stray.extend_from_slice(&[0; 160]);
    junk.send_to(&stray, b_addr).await.unwrap();
    // Valid RTP of the negotiated type from a stranger: ignored, the latch stays on A.
    for seq in 0..3u8 {
        let mut spoof = vec![0x80, 8, 0, seq, 0, 0, 0, 0, 0, 0, 0, 7];
        spoof.extend_from_slice(&[0xD5; 160]);
        junk.send_to(&spoof, b_addr).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(b.remote_rtp(), a_addr, "still sending to A");
    let bs = b.stop().await;
    let as_ = a.stop().await;
    assert_eq!(bs.malformed_packets, 5);
    assert_eq!(bs.unexpected_payload_type, 1);
    assert_eq!(bs.ignored_other_source, 3);
    assert_eq!(
        bs.packets_lost, 0,
        "the stray packets did not disturb A's stream"
    );
    assert!(bs.packets_received > 20, "real RTP kept flowing: {bs:?}");
    assert!(as_.packets_received > 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symmetric_rtp_latches_to_the_real_source() {
    let ea = RtpEndpoint::bind(localhost()).await.unwrap();
    let eb = RtpEndpoint::bind(localhost()).await.unwrap();
    let b_addr = eb.local_addr();
    let a_addr = ea.local_addr();
    // B's SDP said a wrong port for A (as behind a NAT); A sends from its real port.
    let wrong: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let (b, _b_ev) = MediaSession::start(
        eb,
        params(wrong, Codec::Pcmu),
        AudioIn::Null,
        AudioOut::Null,
    )
    .unwrap();
    let (a, _a_ev) = MediaSession::start(
        ea,
        params(b_addr, Codec::Pcmu),
        AudioIn::Null,
        AudioOut::Null,
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.remote_rtp(), a_addr, "B latched to A's real address");
    let before = a.stats().packets_received;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        a.stats().packets_received >= before + 10,
        "B's RTP reaches A after latching"
    );
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_with_zero_address_sends_nothing() {
    let ea = RtpEndpoint::bind(localhost()).await.unwrap();
    let p = params("0.0.0.0:4000".parse().unwrap(), Codec::Pcmu);
    let (a, _ev) = MediaSession::start(ea, p, AudioIn::Wav(SPEECH.into()), AudioOut::Null).unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let s = a.stop().await;
    assert_eq!((s.packets_sent, s.rtcp_sent), (0, 0), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtmf_without_telephone_event_is_refused() {
    let ea = RtpEndpoint::bind(localhost()).await.unwrap();
    let mut p = params("127.0.0.1:9".parse().unwrap(), Codec::Pcmu);
    p.telephone_event_pt = None;
    let (a, _ev) = MediaSession::start(ea, p, AudioIn::Null, AudioOut::Null).unwrap();
    let e = a.send_dtmf('5').unwrap_err();
    assert_eq!(
        e.to_string(),
        "DTMF cannot be sent: the call did not negotiate telephone-event"
    );
    assert!(a.send_dtmf('x').is_err());
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_wav_is_a_readable_error() {
    let ea = RtpEndpoint::bind(localhost()).await.unwrap();
    let p = params("127.0.0.1:9".parse().unwrap(), Codec::Pcmu);
    let e = MediaSession::start(ea, p, AudioIn::Wav("/x.wav".into()), AudioOut::Null)
        .err()
        .unwrap();
    assert_eq!(e.to_string(), "cannot open WAV file /x.wav: No such file");
}

/// Forwards datagrams between A and B through one socket, dropping every `nth` RTP packet
/// that A sends. RTCP is muxed onto the same flow so reports pass the relay too.
async fn lossy_relay(
    a: SocketAddr,
    b: SocketAddr,
    nth: u64,
) -> (SocketAddr, tokio::task::JoinHandle<u64>) {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        let mut from_a = 0u64;
        let mut dropped = 0u64;
        loop {
            let Ok(Ok((n, from))) =
                tokio::time::timeout(Duration::from_millis(500), sock.recv_from(&mut buf)).await
            else {
                return dropped;
            };
            let is_rtcp = n >= 2 && (192..=223).contains(&buf[1]);
            if from == a {
                if !is_rtcp {
                    from_a += 1;
                    if from_a.is_multiple_of(nth) {
                        dropped += 1;
                        continue;
                    }
                }
                let _ = sock.send_to(&buf[..n], b).await;
            } else {
                let _ = sock.send_to(&buf[..n], a).await;
            }
        }
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_loss_turns_on_fec_and_decoder_uses_it() {
    let ea = RtpEndpoint::bind(localhost()).await.unwrap();
    let eb = RtpEndpoint::bind(localhost()).await.unwrap();
    let (a_addr, b_addr) = (ea.local_addr(), eb.local_addr());
    let (relay, relay_task) = lossy_relay(a_addr, b_addr, 10).await;
    let mut pa = params(relay, Codec::Opus);
    pa.remote_rtcp = Some(relay);
    let mut pb = params(relay, Codec::Opus);
    pb.remote_rtcp = Some(relay);
    let out_path = tmp("opus-loss.wav");
    let (b, _b_ev) =
        MediaSession::start(eb, pb, AudioIn::Null, AudioOut::Wav(out_path.clone())).unwrap();
    // The clip three times over, so plenty of speech follows the first loss report (FEC copies
    // are only made for active speech) whenever that report arrives.
    let speech3 = tmp("speech3.wav");
    let (clip, clip_rate) = read_mono(Path::new(SPEECH)).unwrap();
    let clip3: Vec<f32> = clip.iter().chain(&clip).chain(&clip).copied().collect();
    {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: clip_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&speech3, spec).unwrap();
        for &x in &clip3 {
            w.write_sample((x * 32767.0) as i16).unwrap();
        }
        w.finalize().unwrap();
    }
    let (a, mut a_ev) =
        MediaSession::start(ea, pa, AudioIn::Wav(speech3.clone()), AudioOut::Null).unwrap();
    assert!(wait_for(&mut a_ev, &MediaEvent::InputEnded, Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let a_stats = a.stop().await;
    let b_stats = b.stop().await;
    let dropped = relay_task.await.unwrap();
    println!("relay dropped {dropped}\nA {a_stats:?}\nB {b_stats:?}");
    assert!(dropped >= 5);
    // A dropped final packet cannot be noticed (nothing follows it).
    let lost = b_stats.packets_lost as u64;
    assert!(
        lost == dropped || lost + 1 == dropped,
        "B counts the dropped packets: {lost} of {dropped}"
    );
    let reported = a_stats
        .remote_fraction_lost
        .expect("B's receiver report reached A");
    assert!(
        reported > 0.05 && reported < 0.2,
        "B reports ~10 % loss: {reported}"
    );
    assert!(
        a_stats.encoder_expected_loss >= 5,
        "A's encoder now plans for loss"
    );
    assert!(
        b_stats.fec_recovered > 0,
        "B rebuilt lost frames from FEC copies"
    );
    assert_eq!(
        a_stats.encoder_bitrate_bps,
        Some(hookflash_media::opus_codec::PROTECTED_BITRATE as u32),
        "A's encoder is in its protected setting (room for the FEC copy) once loss is reported"
    );
    let mos = b_stats.mos.expect("B heard audio");
    assert!(
        mos < 4.3 && mos > 2.5,
        "10 % loss lowers the estimate: {mos}"
    );

    let (out, rate) = read_mono(&out_path).unwrap();
    std::fs::remove_file(&out_path).ok();
    std::fs::remove_file(&speech3).ok();
    let reference = resample_all(&clip3, clip_rate, rate).unwrap();
    let (r8, o8) = (
        resample_all(&reference, rate, 8000).unwrap(),
        resample_all(&out, rate, 8000).unwrap(),
    );
    let (lag, corr) = best_lag(&r8, &o8, -80..4000);
    let snr = snr_db(&r8, &o8, lag);
    // Piece by piece: a stretched frame on a busy machine shifts what follows.
    let pieces = piecewise_correlation(&r8, &o8, lag);
    println!("with 10 % loss (0-4 kHz band): correlation {corr:.4} (piece by piece {pieces:.4}), SNR {snr:.1} dB, lag {lag}");
    assert!(
        pieces > 0.75,
        "speech still recognisable: correlation piece by piece {pieces} (whole clip {corr})"
    );
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// A plays a steady tone to B; mid-call A mutes, unmutes, both switch PCMU -> Opus (re-INVITE),
/// and finally A goes recvonly. B's recording (kept at 8 kHz) must follow every step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_codec_change_and_direction() {
    // A 2 s, 400 Hz tone source, looped by writing it long enough for the whole test.
    let tone_path = tmp("tone.wav");
    {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&tone_path, spec).unwrap();
        for i in 0..16000 * 8 {
            let v = (i as f32 / 16000.0 * 400.0 * std::f32::consts::TAU).sin() * 8000.0;
            w.write_sample(v as i16).unwrap();
        }
        w.finalize().unwrap();
    }
    let ea = RtpEndpoint::bind(localhost()).await.unwrap();
    let eb = RtpEndpoint::bind(localhost()).await.unwrap();
    let (a_addr, b_addr) = (ea.local_addr(), eb.local_addr());
    let out_path = tmp("steps.wav");
    let (b, mut b_ev) = MediaSession::start(
        eb,
        params(a_addr, Codec::Pcmu),
        AudioIn::Null,
        AudioOut::Wav(out_path.clone()),
    )
    .unwrap();
    let (a, _a_ev) = MediaSession::start(
        ea,
        params(b_addr, Codec::Pcmu),
        AudioIn::Wav(tone_path.clone()),
        AudioOut::Null,
    )
    .unwrap();
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    tokio::time::sleep_until(at(1000).into()).await;
    a.set_mute(true);
    tokio::time::sleep_until(at(2000).into()).await;
    a.set_mute(false);
    tokio::time::sleep_until(at(3000).into()).await;
    a.update(params(b_addr, Codec::Opus));
    b.update(params(a_addr, Codec::Opus));
    tokio::time::sleep_until(at(4500).into()).await;
    let sent_before = a.stats().packets_sent;
    let mut recv_only = params(b_addr, Codec::Opus);
    recv_only.direction = MediaDirection::RecvOnly;
    a.update(recv_only);
    tokio::time::sleep_until(at(5500).into()).await;
    let sent_after = a.stats().packets_sent;
    let a_stats = a.stop().await;
    let b_stats = b.stop().await;
    println!("A {a_stats:?}\nB {b_stats:?}");
    assert!(
        sent_after <= sent_before + 1,
        "recvonly sends no RTP ({sent_before} -> {sent_after})"
    );
    assert!(
        a_stats.packets_received > 200,
        "A still receives while recvonly"
    );
    assert!(
        b_stats.unexpected_payload_type <= 3,
        "codec switch is near-atomic: {}",
        b_stats.unexpected_payload_type
    );
    while let Ok(ev) = b_ev.try_recv() {
        assert!(!matches!(ev, MediaEvent::Warning(_)), "{ev:?}");
    }

    let (out, rate) = read_mono(&out_path).unwrap();
    std::fs::remove_file(&out_path).ok();
    std::fs::remove_file(&tone_path).ok();
    assert_eq!(
        rate, 8000,
        "the recording keeps its rate across the codec change"
    );
    // Windows in wall-clock terms (the recording starts ~80 ms after t0).
    let win = |from_ms: usize, to_ms: usize| rms(&out[from_ms * 8..(to_ms * 8).min(out.len())]);
    let (talk, muted, unmuted, opus, silent) = (
        win(300, 900),
        win(1300, 1900),
        win(2300, 2900),
        win(3500, 4300),
        win(5000, 5300),
    );
    println!("rms: talk {talk:.4} muted {muted:.4} unmuted {unmuted:.4} opus {opus:.4} recvonly {silent:.4}");
    let level = 8000.0 / 32768.0 / 2f64.sqrt();
    assert!(
        (talk / level - 1.0).abs() < 0.1,
        "PCMU level {talk} vs {level}"
    );
    assert!(muted < 0.001, "mute sends silence");
    assert!((unmuted / level - 1.0).abs() < 0.1);
    assert!(
        (opus / level - 1.0).abs() < 0.2,
        "Opus after the re-INVITE, resampled to 8 kHz: {opus}"
    );
    assert!(silent < 0.001, "nothing arrives once A is recvonly");
    let secs = out.len() as f64 / 8000.0;
    assert!(
        secs > 5.2 && secs < 5.6,
        "recording covers the call without gaps: {secs}"
    );
}

/// NAT rebinding: the far end's packets move to a new address; after a run of packets from
/// there, paced as audio, B follows. A single packet, or a burst, from elsewhere does not move it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relatches_after_a_run_of_packets_from_a_new_address() {
    let eb = RtpEndpoint::bind(localhost()).await.unwrap();
    let b_addr = eb.local_addr();
    let sdp_addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let (b, _ev) = MediaSession::start(
        eb,
        params(sdp_addr, Codec::Pcmu),
        AudioIn::Null,
        AudioOut::Null,
    )
    .unwrap();
    let old = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let new = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let pkt = |seq: u16| {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0xFF; 160]);
        p
    };
    old.send_to(&pkt(1), b_addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        b.remote_rtp(),
        old.local_addr().unwrap(),
        "first valid RTP sets the latch"
    );
    new.send_to(&pkt(2), b_addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        b.remote_rtp(),
        old.local_addr().unwrap(),
        "one packet is not enough to move it"
    );
    // A burst (five at once, even with the stream's SSRC and sequence) does not either.
    let third = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for seq in 3..8 {
        third.send_to(&pkt(seq), b_addr).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        b.remote_rtp(),
        old.local_addr().unwrap(),
        "a burst from a third address moves nothing"
    );
    // The stream itself, paced as audio is, from the new address: followed.
    for seq in 3..8 {
        new.send_to(&pkt(seq), b_addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        b.remote_rtp(),
        new.local_addr().unwrap(),
        "five in a row, over 80 ms, move it"
    );
    let s = b.stop().await;
    // Held back: packet 2 from the new address, the burst (5), then packets 3-6 from the new
    // address (the burst had broken its run); the fifth of the run (seq 7) moved the latch.
    assert_eq!(s.ignored_other_source, 10);
}

/// Bad input in the middle of a call, all from the far end's own address: a packet with a
/// stray SSRC, a wild sequence number, an absurd timestamp, a payload type nobody negotiated,
/// malformed RTP and RTCP, and a 64 kB datagram. Each is counted; the stream plays on with no
/// loss, no jitter spike, no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_mid_call_is_counted_and_the_stream_plays_on() {
    use hookflash_media::g711::linear_to_ulaw;
    let eb = RtpEndpoint::bind(localhost()).await.unwrap();
    let b_addr = eb.local_addr();
    let far = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let out_path = tmp("bad-input.wav");
    let (b, mut b_ev) = MediaSession::start(
        eb,
        params(far.local_addr().unwrap(), Codec::Pcmu),
        AudioIn::Null,
        AudioOut::Wav(out_path.clone()),
    )
    .unwrap();
    let rtp = |pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]| {
        let mut p = vec![0x80, pt];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        p
    };
    let frame = |n: u32| -> Vec<u8> {
        (0..160)
            .map(|i| {
                let t = (n * 160 + i) as f32 / 8000.0;
                linear_to_ulaw(((t * 400.0 * std::f32::consts::TAU).sin() * 8000.0) as i16)
            })
            .collect()
    };
    let (ssrc, seq0, ts0) = (0x5eed_u32, 65500u16, u32::MAX - 160 * 40);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for n in 0..100u32 {
        tick.tick().await;
        let seq = seq0.wrapping_add(n as u16);
        let ts = ts0.wrapping_add(n * 160);
        // Packet 50 carries an absurd timestamp but good audio and a good sequence number.
        let ts = if n == 50 {
            ts.wrapping_add(0x4000_0000)
        } else {
            ts
        };
        far.send_to(&rtp(0, seq, ts, ssrc, &frame(n)), b_addr)
            .await
            .unwrap();
        match n {
            30 => {
                far.send_to(&rtp(0, seq.wrapping_add(1), ts, 0xBAD, &frame(n)), b_addr)
                    .await
                    .unwrap();
            }
            35 => {
                far.send_to(
                    &rtp(0, seq.wrapping_add(20000), ts, ssrc, &frame(n)),
                    b_addr,
                )
                .await
                .unwrap();
            }
            40 => {
                far.send_to(&rtp(8, seq.wrapping_add(1), ts, ssrc, &frame(n)), b_addr)
                    .await
                    .unwrap();
            }
            45 => {
                far.send_to(&[0x8F, 0, 0, 1, 0, 0], b_addr).await.unwrap(); // truncated RTP
                far.send_to(&[0x81, 200, 0, 50, 0, 0, 0, 1], b_addr)
                    .await
                    .unwrap(); // RTCP lying about its length
                far.send_to(&vec![0x80u8; 65_000], b_addr).await.unwrap(); // 64 kB
            }
            _ => {}
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let s = b.stop().await;
    println!("B {s:?}");
    while let Ok(ev) = b_ev.try_recv() {
        assert!(!matches!(ev, MediaEvent::Warning(_)), "{ev:?}");
    }
    assert_eq!(s.ignored_other_ssrc, 1, "stray SSRC dropped");
    assert_eq!(s.ssrc_changes, 0, "the stream was never restarted");
    assert_eq!(s.ignored_out_of_sequence, 1, "wild sequence number dropped");
    assert_eq!(s.unexpected_payload_type, 1);
    assert_eq!(
        s.malformed_packets, 3,
        "truncated RTP, lying RTCP, 64 kB datagram"
    );
    assert_eq!(
        s.timestamp_outliers, 1,
        "absurd timestamp kept out of the delay statistics"
    );
    assert_eq!(
        s.packets_received, 100,
        "every real packet counted, nothing else"
    );
    assert_eq!(
        s.packets_lost, 0,
        "the wild sequence number did not count as loss"
    );
    assert!(
        s.jitter_ms < 10.0,
        "no jitter spike from the absurd timestamp: {}",
        s.jitter_ms
    );
    assert_eq!(s.late_packets, 0);
    assert!(s.mos.is_some_and(|m| m > 4.3), "{:?}", s.mos);

    // The recording: the tone at a steady level from start to end (no dropouts).
    let (out, _) = read_mono(&out_path).unwrap();
    std::fs::remove_file(&out_path).ok();
    let level = 8000.0 / 32768.0 / 2f64.sqrt();
    let played: Vec<f32> = out.iter().copied().skip_while(|&x| x == 0.0).collect();
    assert!(played.len() >= 95 * 160, "{} samples played", played.len());
    // Every 20 ms window at the tone's level (two spared for a scheduling hiccup).
    let off: Vec<(usize, f64)> = played[..95 * 160]
        .chunks(160)
        .map(rms)
        .enumerate()
        .filter(|&(_, r)| (r / level - 1.0).abs() >= 0.15)
        .collect();
    assert!(
        off.len() <= 2,
        "windows off the tone's level {level}: {off:?}"
    );
}

/// RFC 3389: the far end goes silent with a comfort-noise packet; B plays noise at the
/// announced level (not silence, not a concealed tone) until the talk resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comfort_noise_fills_the_far_ends_silence() {
    use hookflash_media::g711::linear_to_ulaw;
    let eb = RtpEndpoint::bind(localhost()).await.unwrap();
    let b_addr = eb.local_addr();
    let far = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let out_path = tmp("comfort-noise.wav");
    let (b, _b_ev) = MediaSession::start(
        eb,
        params(far.local_addr().unwrap(), Codec::Pcmu),
        AudioIn::Null,
        AudioOut::Wav(out_path.clone()),
    )
    .unwrap();
    let rtp = |pt: u8, seq: u16, ts: u32, payload: &[u8]| {
        let mut p = vec![0x80, pt];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&77u32.to_be_bytes());
        p.extend_from_slice(payload);
        p
    };
    let tone: Vec<u8> = (0..160)
        .map(|i| {
            linear_to_ulaw(
                ((i as f32 / 8000.0 * 400.0 * std::f32::consts::TAU).sin() * 8000.0) as i16,
            )
        })
        .collect();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut seq = 1000u16;
    // 500 ms of tone, CN (-50 dBov), 600 ms of nothing, 500 ms of tone, CN again.
    for n in 0..80u32 {
        tick.tick().await;
        let ts = n * 160;
        let pkt = match n {
            0..25 | 55..79 => rtp(0, seq, ts, &tone),
            25 | 79 => rtp(13, seq, ts, &[50]),
            _ => continue,
        };
        far.send_to(&pkt, b_addr).await.unwrap();
        seq = seq.wrapping_add(1);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = b.stop().await;
    println!("B {s:?}");
    assert_eq!(s.comfort_noise_packets, 2);
    assert_eq!(
        s.unexpected_payload_type, 0,
        "CN is not an unknown payload type"
    );
    // Silence periods are not loss (a scheduling hiccup on a loaded machine may cost a frame).
    assert!(s.concealed_frames <= 2, "concealed {}", s.concealed_frames);
    assert_eq!(s.packets_lost, 0);
    let (out, _) = read_mono(&out_path).unwrap();
    std::fs::remove_file(&out_path).ok();
    let ms = |a: usize, b: usize| rms(&out[a * 8..(b * 8).min(out.len())]);
    let (talk, noise, talk2, tail) = (ms(100, 400), ms(700, 1000), ms(1250, 1500), ms(1700, 1900));
    println!("rms: talk {talk:.5} noise {noise:.5} talk again {talk2:.5} tail {tail:.5}");
    let tone_level = 8000.0 / 32768.0 / 2f64.sqrt();
    let noise_level = 10f64.powf(-50.0 / 20.0);
    assert!((talk / tone_level - 1.0).abs() < 0.1);
    assert!(
        (noise / noise_level - 1.0).abs() < 0.2,
        "noise {noise} vs {noise_level}"
    );
    assert!((talk2 / tone_level - 1.0).abs() < 0.1);
    assert!(
        (tail / noise_level - 1.0).abs() < 0.2,
        "noise after the last CN: {tail}"
    );
}

/// Forwards datagrams between A and B through one socket, delaying each RTP packet from A by a
/// seeded random 0-`max_ms` ms (so packets also overtake each other).
async fn jittery_relay(a: SocketAddr, b: SocketAddr, max_ms: u64) -> SocketAddr {
    let sock = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        let mut seed = 0x9e37_79b9u32;
        loop {
            let Ok(Ok((n, from))) =
                tokio::time::timeout(Duration::from_millis(500), sock.recv_from(&mut buf)).await
            else {
                return;
            };
            let data = buf[..n].to_vec();
            let is_rtcp = n >= 2 && (192..=223).contains(&data[1]);
            if from == a && !is_rtcp {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let delay = Duration::from_millis((seed >> 8) as u64 % (max_ms + 1));
                let s = sock.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = s.send_to(&data, b).await;
                });
            } else {
                let dest = if from == a { b } else { a };
                let _ = sock.send_to(&data, dest).await;
            }
        }
    });
    addr
}

/// Through 0-60 ms of random delay (packets reorder), the adaptive buffer raises its target,
/// time-stretches instead of skipping, and hardly anything arrives too late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jitter_raises_the_buffer_delay_and_little_arrives_late() {
    let ea = RtpEndpoint::bind(localhost()).await.unwrap();
    let eb = RtpEndpoint::bind(localhost()).await.unwrap();
    let (a_addr, b_addr) = (ea.local_addr(), eb.local_addr());
    let relay = jittery_relay(a_addr, b_addr, 60).await;
    let mut pa = params(relay, Codec::Pcmu);
    pa.remote_rtcp = Some(relay);
    let mut pb = params(relay, Codec::Pcmu);
    pb.remote_rtcp = Some(relay);
    let out_path = tmp("jittery.wav");
    let (b, _b_ev) =
        MediaSession::start(eb, pb, AudioIn::Null, AudioOut::Wav(out_path.clone())).unwrap();
    let (a, mut a_ev) =
        MediaSession::start(ea, pa, AudioIn::Wav(SPEECH.into()), AudioOut::Null).unwrap();
    assert!(wait_for(&mut a_ev, &MediaEvent::InputEnded, Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.stop().await;
    let s = b.stop().await;
    println!("B {s:?}");
    assert_eq!(s.packets_lost, 0, "the relay delays but never drops");
    assert!(
        s.jitter_buffer_target_ms >= 60.0,
        "target grew: {}",
        s.jitter_buffer_target_ms
    );
    let late_share = s.late_packets as f64 / s.packets_received as f64;
    assert!(
        late_share < 0.05,
        "late {} of {}",
        s.late_packets,
        s.packets_received
    );
    // Speech is still there: the recording correlates with the clip (time-stretching shifts it
    // by a few ms, so the single-lag correlation is looser than on a clean line).
    let (out, rate) = read_mono(&out_path).unwrap();
    std::fs::remove_file(&out_path).ok();
    let (src, src_rate) = read_mono(Path::new(SPEECH)).unwrap();
    let reference = resample_all(&src, src_rate, rate).unwrap();
    let (lag, corr) = best_lag(&reference, &out, -80..4000);
    // Per 100 ms of speech, the best alignment near the overall one.
    let seg = 800;
    let mut corrs = Vec::new();
    for start in (0..reference.len().saturating_sub(seg)).step_by(seg) {
        let part = &reference[start..start + seg];
        if rms(part) < 0.02 {
            continue;
        }
        let centre = start as i64 + lag;
        let (_, c) = best_lag(part, &out, centre - 400..centre + 400);
        corrs.push(c);
    }
    let mean = corrs.iter().sum::<f64>() / corrs.len().max(1) as f64;
    println!("through jitter: whole-clip correlation {corr:.3} at lag {lag}; per 100 ms of speech {mean:.3} over {} pieces", corrs.len());
    assert!(corrs.len() >= 5);
    assert!(mean > 0.9, "speech intact piece by piece: {mean}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g722_loopback_matches_source() {
    let r = call(Codec::G722, "g722").await;
    check_call(&r, Codec::G722, 20.0, 20.0, 0.99);
}

/// Waits (up to 10 s) for A's clip to end, lets the last packets land, stops both sessions and
/// returns what B recorded into `out_path` (removed), both sessions' stats and every event.
async fn play_to_the_end(
    (a, mut a_events): (MediaSession, UnboundedReceiver<MediaEvent>),
    (b, mut b_events): (MediaSession, UnboundedReceiver<MediaEvent>),
    out_path: &Path,
) -> (Vec<f32>, MediaStats, MediaStats, Vec<MediaEvent>) {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, a_events.recv()).await {
        if e == MediaEvent::InputEnded {
            break;
        }
        events.push(e);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (sa, sb) = (a.stop().await, b.stop().await);
    while let Ok(e) = a_events.try_recv() {
        events.push(e);
    }
    while let Ok(e) = b_events.try_recv() {
        events.push(e);
    }
    let (out, _) = read_mono(out_path).unwrap();
    std::fs::remove_file(out_path).ok();
    (out, sa, sb, events)
}

/// DTLS-SRTP between two sessions (RTCP on its own port, so both components shake hands): A,
/// the client, plays the clip; B records it. With the right fingerprints the clip arrives
/// encrypted; with a wrong one nothing is heard and the failure is reported.
async fn dtls_call(fingerprint_ok: bool) -> (Vec<f32>, MediaStats, MediaStats, Vec<MediaEvent>) {
    use hookflash_media::stream::{dtls_identity, DtlsParams, DtlsRole, Fingerprint};
    let ours = dtls_identity().unwrap().fingerprint().clone();
    let theirs = if fingerprint_ok {
        ours.clone()
    } else {
        Fingerprint {
            hash: "sha-256".into(),
            value: vec![9; 32],
        }
    };
    let ea = RtpEndpoint::bind(localhost()).await.unwrap();
    let eb = RtpEndpoint::bind(localhost()).await.unwrap();
    let (a_addr, b_addr) = (ea.local_addr(), eb.local_addr());
    let out_path = tmp(&format!("dtls-{fingerprint_ok}.wav"));
    let mut pb = params(a_addr, Codec::Pcmu);
    pb.dtls = Some(DtlsParams {
        role: DtlsRole::Server,
        remote_fingerprints: vec![ours.clone()],
    });
    let (b, b_events) =
        MediaSession::start(eb, pb, AudioIn::Null, AudioOut::Wav(out_path.clone())).unwrap();
    let mut pa = params(b_addr, Codec::Pcmu);
    pa.dtls = Some(DtlsParams {
        role: DtlsRole::Client,
        remote_fingerprints: vec![theirs],
    });
    let (a, a_events) =
        MediaSession::start(ea, pa, AudioIn::Wav(SPEECH.into()), AudioOut::Null).unwrap();
    play_to_the_end((a, a_events), (b, b_events), &out_path).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtls_srtp_keys_the_call_and_the_clip_arrives() {
    let (out, a, b, events) = dtls_call(true).await;
    println!("A {a:?}\nB {b:?}\n{events:?}");
    assert!(a.encrypted && b.encrypted, "both ends keyed by DTLS");
    assert!(
        b.packets_received > 70,
        "B heard {} packets",
        b.packets_received
    );
    assert_eq!(b.srtp_auth_failures, 0);
    assert!(
        a.rtcp_received >= 1 && b.rtcp_received >= 1,
        "SRTCP over the RTCP component's own handshake"
    );
    let (src, rate) = read_mono(Path::new(SPEECH)).unwrap();
    let reference = resample_all(&src, rate, 8000).unwrap();
    // The first packets go before the handshake has made keys: they are not sent (never in the
    // clear), so the recording may start a little into the clip.
    let (lag, corr) = best_lag(&reference, &out, -4000..8000);
    // Piece by piece: a stretched frame on a busy machine shifts what follows.
    let pieces = piecewise_correlation(&reference, &out, lag);
    println!("lag {lag}, correlation {corr:.4}, piece by piece {pieces:.4}");
    // The clip arrived (a wrong key or path would give noise or nothing: near 0); its quality
    // is the codec tests' business.
    assert!(
        pieces > 0.8,
        "correlation piece by piece {pieces} (whole clip {corr})"
    );
    assert!(
        !events.iter().any(|e| matches!(e, MediaEvent::Warning(_))),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtls_with_a_certificate_not_in_the_sdp_hears_nothing_and_says_why() {
    let (out, a, b, events) = dtls_call(false).await;
    assert!(!a.encrypted && !b.encrypted);
    assert_eq!(
        b.packets_received, 0,
        "no media without keys (none sent in the clear)"
    );
    assert!(out.iter().all(|s| s.abs() < 1e-3), "B heard something");
    let warned = events.iter().any(|e| matches!(e, MediaEvent::Warning(w) if w.contains("encryption failed") && w.contains("fingerprint")));
    assert!(warned, "{events:?}");
}

/// ICE between two sessions whose SDP addresses lead nowhere (a socket nobody reads): only
/// the candidates name the real ones. The checks find the pair, the clip arrives over it, RTCP
/// rides on it (rtcp-mux), and the stats name the pair's candidate types.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_finds_the_path_the_sdp_address_does_not() {
    use hookflash_media::stream::IceParams;
    let ea = RtpEndpoint::bind(localhost()).await.unwrap();
    let eb = RtpEndpoint::bind(localhost()).await.unwrap();
    let nowhere = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (a_addr, b_addr, dead) = (
        ea.local_addr(),
        eb.local_addr(),
        nowhere.local_addr().unwrap(),
    );
    let host = |a: SocketAddr| format!("1 1 UDP 2130706431 {} {} typ host", a.ip(), a.port());
    let ice =
        |me: SocketAddr, them: SocketAddr, controlling: bool, (lu, ru): (&str, &str)| IceParams {
            local_ufrag: lu.into(),
            local_pwd: format!("{lu}0123456789abcdefghij"),
            remote_ufrag: ru.into(),
            remote_pwd: format!("{ru}0123456789abcdefghij"),
            local_candidates: vec![host(me)],
            remote_candidates: vec![host(them)],
            controlling,
        };
    let out_path = tmp("ice.wav");
    let mut pb = params(dead, Codec::Pcmu);
    pb.remote_rtcp = Some(dead);
    pb.ice = Some(ice(b_addr, a_addr, false, ("bbbb", "aaaa")));
    let (b, b_events) =
        MediaSession::start(eb, pb, AudioIn::Null, AudioOut::Wav(out_path.clone())).unwrap();
    let mut pa = params(dead, Codec::Pcmu);
    pa.remote_rtcp = Some(dead);
    pa.ice = Some(ice(a_addr, b_addr, true, ("aaaa", "bbbb")));
    let (a, a_events) =
        MediaSession::start(ea, pa, AudioIn::Wav(SPEECH.into()), AudioOut::Null).unwrap();
    let (out, sa, sb, events) = play_to_the_end((a, a_events), (b, b_events), &out_path).await;
    println!("A {sa:?}\nB {sb:?}\n{events:?}");
    assert_eq!(sa.ice_pair, Some(("host", "host")));
    assert_eq!(sb.ice_pair, Some(("host", "host")));
    assert!(
        sb.packets_received > 70,
        "B heard {} packets",
        sb.packets_received
    );
    assert_eq!(
        sb.ignored_other_source, 0,
        "media over the checked pair counts as the far end's"
    );
    assert!(
        sa.rtcp_received >= 1 && sb.rtcp_received >= 1,
        "RTCP over the pair"
    );
    let (src, rate) = read_mono(Path::new(SPEECH)).unwrap();
    let reference = resample_all(&src, rate, 8000).unwrap();
    // Packets sent before the checks selected the pair went to the SDP address: the recording
    // may start a little into the clip.
    let (lag, corr) = best_lag(&reference, &out, -4000..8000);
    // Piece by piece: a stretched frame on a busy machine shifts what follows.
    let pieces = piecewise_correlation(&reference, &out, lag);
    println!("lag {lag}, correlation {corr:.4}, piece by piece {pieces:.4}");
    // The clip arrived (a wrong key or path would give noise or nothing: near 0); its quality
    // is the codec tests' business.
    assert!(
        pieces > 0.8,
        "correlation piece by piece {pieces} (whole clip {corr})"
    );
    assert!(
        !events.iter().any(|e| matches!(e, MediaEvent::Warning(_))),
        "{events:?}"
    );
    drop(nowhere);
}
