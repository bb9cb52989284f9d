//! Sound-card paths through a private PulseAudio daemon with a null sink: cpal talks to the
//! server itself (its PulseAudio host), so the null sink is a listed device.
//!
//! * playback: a call's audio played on `AudioOut::Device(None)` is recorded from the sink's
//!   monitor with `parec` and compared with the source;
//! * capture: `paplay` plays speech into the sink while `AudioIn::Device(None)` (pointed at the
//!   monitor with `PULSE_SOURCE`) feeds a call that is recorded to WAV on the far side.
//!
//! Needs the `pulseaudio` and `pulseaudio-utils` packages; the test starts and stops its own
//! daemon in a temporary runtime directory, so it never touches a user's session.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hookflash_media::resample::resample_all;
use hookflash_media::wav::read_mono;
use hookflash_media::{
    list_devices, AudioIn, AudioOut, Codec, MediaDirection, MediaEvent, MediaSession, RtpEndpoint,
    StreamParams,
};

const SPEECH: &str = "/usr/share/sounds/alsa/Front_Center.wav";
const STREAM_START: Duration = Duration::from_millis(2500);

struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pactl(args: &[&str]) -> Option<String> {
    let out = Command::new("pactl").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Starts a private daemon and points this process (and its children) at it.
fn start_pulse() -> Daemon {
    let dir = std::env::temp_dir().join(format!("hookflash-media-pulse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // SAFETY (edition 2021 set_var): this test binary sets its environment before any other
    // thread reads it; the one test in it runs alone.
    std::env::set_var("PULSE_RUNTIME_PATH", &dir);
    std::env::set_var("PULSE_STATE_PATH", &dir);
    std::env::set_var("PULSE_SERVER", format!("unix:{}/native", dir.display()));
    std::env::set_var("PULSE_SINK", "spk");
    std::env::set_var("PULSE_SOURCE", "spk.monitor");
    // The Rust client under cpal needs a cookie file (with none it sends an empty cookie,
    // which the server refuses, and cpal falls back to ALSA).
    std::fs::write(dir.join("cookie"), [7u8; 256]).unwrap();
    std::env::set_var("PULSE_COOKIE", dir.join("cookie"));
    let native = format!(
        "--load=module-native-protocol-unix auth-cookie={}",
        dir.join("cookie").display()
    );
    let child = Command::new("pulseaudio")
        .args([
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--system=no",
            "-n",
            "--use-pid-file=no",
            &native,
            "--load=module-null-sink sink_name=spk rate=48000",
        ])
        .env("HOME", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run pulseaudio (apt-get install pulseaudio pulseaudio-utils)");
    let daemon = Daemon { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while pactl(&["list", "short", "sinks"]).is_none_or(|s| !s.contains("spk")) {
        assert!(Instant::now() < deadline, "PulseAudio did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    pactl(&["set-default-sink", "spk"]);
    pactl(&["set-default-source", "spk.monitor"]);
    daemon
}

fn params(remote: std::net::SocketAddr) -> StreamParams {
    StreamParams {
        remote_rtp: remote,
        remote_rtcp: None,
        codec: Codec::Opus,
        payload_type: 111,
        telephone_event_pt: Some(101),
        ptime_ms: 20,
        direction: MediaDirection::SendRecv,
        srtp: None,
        dtls: None,
        ice: None,
    }
}

/// Peak normalised cross-correlation over lags 0..max_lag (both at 8 kHz).
fn best_correlation(reference: &[f32], got: &[f32], max_lag: usize) -> (usize, f64) {
    let er: f64 = reference.iter().map(|&r| (r as f64).powi(2)).sum();
    let mut best = (0, f64::MIN);
    for lag in 0..max_lag {
        if lag + reference.len() > got.len() {
            break;
        }
        let seg = &got[lag..lag + reference.len()];
        let dot: f64 = reference
            .iter()
            .zip(seg)
            .map(|(&a, &b)| a as f64 * b as f64)
            .sum();
        let eg: f64 = seg.iter().map(|&g| (g as f64).powi(2)).sum();
        let c = dot / (er.sqrt() * eg.sqrt()).max(1e-12);
        if c > best.1 {
            best = (lag, c);
        }
    }
    best
}

fn reference_8k() -> Vec<f32> {
    let (src, rate) = read_mono(Path::new(SPEECH)).unwrap();
    resample_all(&src, rate, 8000).unwrap()
}

/// How many of the reference's voiced eighths of a second are found in `got` (peak normalised
/// correlation > 0.8 at some lag), out of how many voiced ones. Unlike one correlation over the
/// whole clip, it does not fall apart when the sound server inserts a gap mid-clip (an
/// underrun of the null sink on a loaded machine shifts everything after it).
fn pieces_found(reference: &[f32], got: &[f32]) -> (usize, usize) {
    let piece = 1000;
    let voiced: Vec<&[f32]> = reference
        .chunks_exact(piece)
        .filter(|c| c.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / piece as f64 > 1e-4)
        .collect();
    let found = voiced
        .iter()
        .filter(|c| best_correlation(c, got, got.len()).1 > 0.8)
        .count();
    (found, voiced.len())
}

async fn wait_input_end(rx: &mut tokio::sync::mpsc::UnboundedReceiver<MediaEvent>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(MediaEvent::InputEnded)) => return,
            Ok(Some(_)) => continue,
            _ => panic!("no InputEnded"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PulseAudio: run by cargo xtask test"]
async fn plays_and_captures_through_pulseaudio() {
    let _daemon = start_pulse();
    let localhost: IpAddr = "127.0.0.1".parse().unwrap();
    let reference = reference_8k();

    let devices = list_devices().unwrap();
    println!("devices: {devices:#?}");
    let spk = devices
        .outputs
        .iter()
        .find(|d| d.id == "spk")
        .expect("the null sink is listed");
    assert!(
        spk.is_default,
        "the null sink is the default output: {spk:?}"
    );
    assert_eq!(devices.default_output.as_deref(), Some("spk"));
    // A monitor is offered as a microphone only when it is the default source (as here).
    assert!(
        devices
            .inputs
            .iter()
            .all(|d| !d.id.ends_with(".monitor") || d.is_default),
        "{:?}",
        devices.inputs
    );
    // A chosen device that is not there: the default plays instead, and the user is told why.
    let (told, notices) = std::sync::mpsc::channel();
    let to_us = hookflash_media::DeviceNotices::to(move |n| {
        let _ = told.send(n);
    });
    let sink = hookflash_media::audio_io::open_sink_with(
        &AudioOut::Device(Some("no-such-card".into())),
        8000,
        &to_us,
    );
    assert!(
        sink.is_ok(),
        "a missing speaker falls back to the default instead of failing the call"
    );
    drop(sink);
    let said: Vec<String> = notices.try_iter().map(|n| n.message()).collect();
    assert!(
        said.iter().any(|m| m
            == "speaker 'no-such-card' is not available (no audio device named 'no-such-card'); using the default output until it is"),
        "{said:?}"
    );

    // --- Playback: call audio on the default device, recorded from the sink's monitor.
    let raw =
        std::env::temp_dir().join(format!("hookflash-media-pulse-{}.raw", std::process::id()));
    let mut parec = Command::new("parec")
        .args([
            "--device=spk.monitor",
            "--format=s16le",
            "--rate=8000",
            "--channels=1",
            "--raw",
        ])
        .arg("--latency-msec=20")
        .stdout(std::fs::File::create(&raw).unwrap())
        .spawn()
        .expect("run parec");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ea = RtpEndpoint::bind(localhost).await.unwrap();
    let eb = RtpEndpoint::bind(localhost).await.unwrap();
    let (a_addr, b_addr) = (ea.local_addr(), eb.local_addr());
    let (b, _b_ev) =
        MediaSession::start(eb, params(a_addr), AudioIn::Null, AudioOut::Device(None)).unwrap();
    // A fresh PulseAudio takes ~1.5 s before a new stream's buffer starts draining (measured
    // on the CI box); let the card get going before the far end starts talking.
    tokio::time::sleep(STREAM_START).await;
    let (a, mut a_ev) = MediaSession::start(
        ea,
        params(b_addr),
        AudioIn::Wav(SPEECH.into()),
        AudioOut::Null,
    )
    .unwrap();
    wait_input_end(&mut a_ev).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    a.stop().await;
    let bs = b.stop().await;
    println!("B: {bs:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // SIGINT lets parec write out what it has buffered.
    let _ = Command::new("kill")
        .args(["-INT", &parec.id().to_string()])
        .status();
    let _ = parec.wait();
    let bytes = std::fs::read(&raw).unwrap();
    std::fs::remove_file(&raw).ok();
    let got: Vec<f32> = bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
        .collect();
    for (i, c) in got.chunks(4000).enumerate() {
        println!(
            "  {:.1} s: peak {:.3}",
            i as f64 / 2.0,
            c.iter().fold(0f32, |m, x| m.max(x.abs()))
        );
    }
    let (lag, corr) = best_correlation(&reference, &got, got.len());
    let (found, voiced) = pieces_found(&reference, &got);
    println!(
        "playback: {:.2} s captured from the monitor, lag {lag}, correlation {corr:.3}, {found} of {voiced} voiced eighths of a second found",
        got.len() as f64 / 8000.0
    );
    assert!(
        voiced >= 4,
        "the reference has speech in it ({voiced} voiced eighths of a second)"
    );
    assert!(
        corr > 0.8 || found * 5 >= voiced * 4,
        "speech played on the device: correlation {corr}, {found} of {voiced} voiced eighths of a second found"
    );

    // --- Capture: speech played into the sink, captured from its monitor by the session.
    let out =
        std::env::temp_dir().join(format!("hookflash-media-pulse-{}.wav", std::process::id()));
    let ea = RtpEndpoint::bind(localhost).await.unwrap();
    let eb = RtpEndpoint::bind(localhost).await.unwrap();
    let (a_addr, b_addr) = (ea.local_addr(), eb.local_addr());
    let (b, _b_ev) = MediaSession::start(
        eb,
        params(a_addr),
        AudioIn::Null,
        AudioOut::Wav(out.clone()),
    )
    .unwrap();
    let (a, _a_ev) =
        MediaSession::start(ea, params(b_addr), AudioIn::Device(None), AudioOut::Null).unwrap();
    tokio::time::sleep(STREAM_START).await;
    let st = tokio::task::spawn_blocking(|| {
        Command::new("paplay")
            .arg("--device=spk")
            .arg(SPEECH)
            .status()
    })
    .await
    .unwrap()
    .expect("run paplay");
    assert!(st.success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.stop().await;
    b.stop().await;
    let (rec, rate) = read_mono(&out).unwrap();
    std::fs::remove_file(&out).ok();
    let rec8 = resample_all(&rec, rate, 8000).unwrap();
    let (lag, corr) = best_correlation(&reference, &rec8, rec8.len());
    let (found, voiced) = pieces_found(&reference, &rec8);
    println!(
        "capture: {:.2} s recorded, lag {lag}, correlation {corr:.3}, {found} of {voiced} voiced eighths of a second found",
        rec8.len() as f64 / 8000.0
    );
    assert!(
        corr > 0.8 || found * 5 >= voiced * 4,
        "speech captured from the device: correlation {corr}, {found} of {voiced} voiced eighths of a second found"
    );
}
