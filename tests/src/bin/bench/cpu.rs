//! Engine cost, from the bench that came before the quality tables: codec cost per 20 ms
//! frame (encode + decode) on real speech, call set-up time between two in-process phones over
//! loopback (INVITE → answered), and the CPU share of one call (both ends in this process, WAV
//! in, null out, from getrusage; half the process's share). Printed as
//! `name time: [min median max]` lines, which xtask's report also reads.

use hookflash_media::{decoder, encoder, Codec};
use hookflash_phone::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn speech_48k() -> Vec<i16> {
    let path = Path::new("/usr/share/sounds/alsa/Front_Center.wav");
    let mut reader =
        hound::WavReader::open(path).expect("alsa-utils speech clip (apt install alsa-utils)");
    let spec = reader.spec();
    assert_eq!(spec.sample_rate, 48000, "expected a 48 kHz clip");
    let ch = spec.channels as usize;
    let samples: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap()).collect();
    samples.chunks(ch).map(|c| c[0]).collect()
}

pub fn line(name: &str, mut v: Vec<f64>, unit: &str) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let med = v[v.len() / 2];
    println!(
        "{name} time: [{:.3} {unit} {:.3} {unit} {:.3} {unit}]",
        v[0],
        med,
        v[v.len() - 1]
    );
}

fn codec_cost(codec: Codec, speech48: &[i16]) {
    let rate = codec.sample_rate() as usize;
    let pcm: Vec<i16> = if rate == 48000 {
        speech48.to_vec()
    } else {
        speech48.iter().step_by(48000 / rate).copied().collect()
    };
    let frame = rate / 50;
    let mut runs = Vec::new();
    for _ in 0..7 {
        let mut enc = encoder(codec).unwrap();
        let mut dec = decoder(codec).unwrap();
        let mut payload = Vec::new();
        let mut out = Vec::new();
        let frames: Vec<&[i16]> = pcm.chunks_exact(frame).collect();
        let start = Instant::now();
        for _ in 0..20 {
            for f in &frames {
                payload.clear();
                out.clear();
                enc.encode(f, &mut payload).unwrap();
                dec.decode(&payload, &mut out).unwrap();
            }
        }
        runs.push(start.elapsed().as_secs_f64() * 1e6 / (20 * frames.len()) as f64);
    }
    line(
        &format!("codec/{codec:?} encode+decode per 20 ms frame"),
        runs,
        "µs",
    );
}

pub fn cpu_seconds() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn config(user: &str, dir: &Path) -> PhoneConfig {
    PhoneConfig {
        account: AccountConfig {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            register: false,
            ..AccountConfig::new(format!("sip:{user}@127.0.0.1"))
        },
        more_accounts: Vec::new(),
        history_db: dir.join(format!("{user}.sqlite3")),
        user_agent: None,
    }
}

async fn wait_for(
    rx: &mut tokio::sync::broadcast::Receiver<PhoneEvent>,
    f: impl Fn(&PhoneEvent) -> bool,
) -> PhoneEvent {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("timed out")
            .expect("closed");
        if f(&ev) {
            return ev;
        }
    }
}

/// One call between two phones; returns (set-up ms, CPU share of one core during `talk`).
async fn one_call(dir: &Path, codec: CodecName, wav: &Path, talk: Duration) -> (f64, f64) {
    let a = Phone::start(config("alice", dir), PasswordSource::None)
        .await
        .unwrap();
    let b = Phone::start(config("bob", dir), PasswordSource::None)
        .await
        .unwrap();
    let mut a_ev = a.subscribe();
    let mut b_ev = b.subscribe();
    let opts = CallOptions {
        audio_in: AudioEndpoint::Wav(wav.to_path_buf()),
        audio_out: AudioEndpoint::Null,
        codecs: vec![codec],
        caller_id: None,
        from: None,
    };
    let start = Instant::now();
    let id = a
        .dial(&format!("sip:bob@{}", b.local_sip_addr()), opts.clone())
        .await
        .unwrap();
    let PhoneEvent::IncomingCall { call } =
        wait_for(&mut b_ev, |e| matches!(e, PhoneEvent::IncomingCall { .. })).await
    else {
        unreachable!()
    };
    b.answer(call.id, opts).await.unwrap();
    wait_for(
        &mut a_ev,
        |e| matches!(e, PhoneEvent::CallUpdated { call } if call.state == CallState::Answered),
    )
    .await;
    let setup_ms = start.elapsed().as_secs_f64() * 1000.0;
    let cpu0 = cpu_seconds();
    let wall0 = Instant::now();
    tokio::time::sleep(talk).await;
    let share = (cpu_seconds() - cpu0) / wall0.elapsed().as_secs_f64() * 100.0;
    a.hangup(id).await.unwrap();
    wait_for(&mut b_ev, |e| matches!(e, PhoneEvent::CallEnded { .. })).await;
    a.shutdown().await;
    b.shutdown().await;
    // Both ends run in this process: one call's share is half.
    (setup_ms, share / 2.0)
}

/// Codec cost and the call runs; returns the Opus CPU shares (% of one core per call).
pub fn run() -> Vec<f64> {
    let speech = speech_48k();
    codec_cost(Codec::Pcmu, &speech);
    codec_cost(Codec::Pcma, &speech);
    codec_cost(Codec::Opus, &speech);

    let dir: PathBuf = std::env::temp_dir().join(format!("hookflash-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wav = PathBuf::from("/usr/share/sounds/alsa/Front_Center.wav");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut opus_cpu = Vec::new();
    for codec in [CodecName::Pcmu, CodecName::Opus] {
        let mut setups = Vec::new();
        let mut cpus = Vec::new();
        for _ in 0..5 {
            let (s, c) = rt.block_on(one_call(&dir, codec, &wav, Duration::from_secs(3)));
            setups.push(s);
            cpus.push(c);
        }
        line(
            &format!("call/{codec:?} set-up over loopback (INVITE to answered)"),
            setups,
            "ms",
        );
        line(
            &format!("call/{codec:?} CPU share of one core per call"),
            cpus.clone(),
            "%",
        );
        if codec == CodecName::Opus {
            opus_cpu = cpus;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    opus_cpu
}
