//! Plays a 440 Hz tone on an audio device for a few seconds (manual device check).
//! Usage: cargo run -p hookflash-media --example play_tone -- [DEVICE|-] [SECONDS] [RATE]

use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let device = args.next().filter(|d| d != "-");
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let rate: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(48000);
    match hookflash_media::list_devices() {
        Ok(l) => println!(
            "outputs: {:?}",
            l.outputs.iter().map(|d| &d.id).collect::<Vec<_>>()
        ),
        Err(e) => eprintln!("{e}"),
    }
    let out = hookflash_media::AudioOut::Device(device);
    let hookflash_media::AudioOut::Device(name) = out else {
        unreachable!()
    };
    let mut sink = match hookflash_media::device::CardSink::open(name.as_deref(), rate) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let frame_len = rate as usize / 50;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        let frame: Vec<i16> = (0..frame_len)
            .map(|i| {
                let t = (n as usize * frame_len + i) as f32 / rate as f32;
                ((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16
            })
            .collect();
        if let Err(e) = hookflash_media::audio_io::AudioSink::write(&mut sink, &frame) {
            eprintln!("{e}");
        }
        n += 1;
        if n.is_multiple_of(5) {
            print!("{} ", sink.queued_ms());
        }
        if let Some(w) =
            (start + Duration::from_millis(20 * n)).checked_duration_since(Instant::now())
        {
            std::thread::sleep(w);
        }
    }
    use hookflash_media::audio_io::AudioSink;
    println!(
        "{}: underruns {}, dropped frames {}",
        sink.device_config,
        sink.underruns.load(std::sync::atomic::Ordering::Relaxed),
        sink.dropped_frames
    );
    let _ = sink.finish();
}
