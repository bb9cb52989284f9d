//! Sound cards through cpal: on Linux the PulseAudio server's sinks and sources when one runs
//! (PulseAudio itself or PipeWire's pulse server, i.e. every desktop), plain ALSA otherwise.
//!
//! Each cpal stream lives on its own thread (streams need not be `Send` on every platform).
//! Between the real-time callback and the session sits a lock-free ring buffer; the session
//! side resamples when the card does not run at the codec's rate. Clock drift between card and
//! network is absorbed by bounding the ring: excess is dropped, shortfall is played as silence.
//!
//! [`CardSink`]/[`CardSource`] are one open stream each; they notice when the card goes away
//! (cpal reports an error, or the callbacks stop). Switching to another card when that
//! happens is `device_watch.rs`'s job.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use crate::audio_io::{AudioSink, AudioSource};
use crate::error::MediaError;
use crate::resample::{to_f32, to_i16, StreamResampler};

/// One device as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Stable identifier to store in settings and pass to `AudioIn::Device`/`AudioOut::Device`
    /// (ALSA PCM name such as `default`, `pulse`, `hw:CARD=PCH,DEV=0`).
    pub id: String,
    /// Human-readable description.
    pub name: String,
    /// The system's default device of its direction.
    pub is_default: bool,
}

/// Capture and playback devices for the settings screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceList {
    pub inputs: Vec<DeviceInfo>,
    pub outputs: Vec<DeviceInfo>,
    /// Id of the system default capture device, if any.
    pub default_input: Option<String>,
    /// Id of the system default playback device, if any.
    pub default_output: Option<String>,
}

fn info(d: &cpal::Device) -> DeviceInfo {
    let id = d.id().map(|i| i.id().to_string()).unwrap_or_default();
    let name = d
        .description()
        .map(|x| x.name().to_string())
        .unwrap_or_else(|_| id.clone());
    DeviceInfo {
        id,
        name,
        is_default: false,
    }
}

/// Lists the capture and playback devices of the default audio host, the defaults marked.
pub fn list_devices() -> Result<DeviceList, MediaError> {
    let host = cpal::default_host();
    let err = |e: cpal::Error| MediaError::DeviceList(e.to_string());
    let default_input = host.default_input_device().map(|d| info(&d).id);
    let default_output = host.default_output_device().map(|d| info(&d).id);
    let mark = |mut list: Vec<DeviceInfo>, default: &Option<String>| {
        for d in &mut list {
            d.is_default = Some(&d.id) == default.as_ref();
        }
        list
    };
    Ok(DeviceList {
        // PulseAudio lists each sink's monitor as a source: not a microphone to offer, unless
        // the system has nothing else and made one the default.
        inputs: mark(
            host.input_devices()
                .map_err(err)?
                .map(|d| info(&d))
                .collect(),
            &default_input,
        )
        .into_iter()
        .filter(|d| d.is_default || !d.id.ends_with(".monitor"))
        .collect(),
        outputs: mark(
            host.output_devices()
                .map_err(err)?
                .map(|d| info(&d))
                .collect(),
            &default_output,
        ),
        default_input,
        default_output,
    })
}

/// True when a device of that id or name is listed now (it may have been unplugged).
pub fn device_present(name: &str, input: bool) -> bool {
    find_in(&cpal::default_host(), Some(name), input).is_ok()
}

/// Whether the host's device list follows unplugging even for a device we have open: true for
/// the PulseAudio server and the other platforms' hosts; ALSA lists configured PCMs whether or
/// not their card is there, so there only a failing stream says a card is gone.
fn listing_is_live(host: &cpal::Host) -> bool {
    !cfg!(target_os = "linux") || host.id().name() != "ALSA"
}

/// What [`PresenceProbe`] last saw.
const UNKNOWN: u8 = 0;
const LISTED: u8 = 1;
const ABSENT: u8 = 2;

/// Looks every second, on its own thread, whether a chosen device is listed, so the audio
/// path can ask without waiting on the sound server. Stops when dropped.
pub struct PresenceProbe {
    seen: Arc<std::sync::atomic::AtomicU8>,
    live: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl PresenceProbe {
    pub fn start(name: &str, input: bool) -> PresenceProbe {
        let seen = Arc::new(std::sync::atomic::AtomicU8::new(UNKNOWN));
        let live = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, l2, st2, name) = (seen.clone(), live.clone(), stop.clone(), name.to_string());
        let spawned = std::thread::Builder::new()
            .name("hf-device-probe".into())
            .spawn(move || {
                let host = cpal::default_host();
                l2.store(listing_is_live(&host), Ordering::Relaxed);
                while !st2.load(Ordering::Relaxed) {
                    let listed = find_in(&host, Some(&name), input).is_ok();
                    s2.store(if listed { LISTED } else { ABSENT }, Ordering::Relaxed);
                    for _ in 0..10 {
                        if st2.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot watch the device list: {e}");
        }
        PresenceProbe { seen, live, stop }
    }

    /// `Some(listed)` once looked at least once, `None` before.
    pub fn listed(&self) -> Option<bool> {
        match self.seen.load(Ordering::Relaxed) {
            LISTED => Some(true),
            ABSENT => Some(false),
            _ => None,
        }
    }

    /// True when the list drops a device as it is unplugged, even while we have it open.
    pub fn live(&self) -> bool {
        self.live.load(Ordering::Relaxed)
    }
}

impl Drop for PresenceProbe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The human-readable name of the device `name` refers to (`None`: the default device).
fn display_name(device: &cpal::Device, name: Option<&str>) -> String {
    let described = info(device).name;
    match name {
        Some(n) if described.is_empty() => n.to_string(),
        _ if described.is_empty() => "default".to_string(),
        _ => described.lines().next().unwrap_or_default().to_string(),
    }
}

/// Milliseconds since the first call, shared by callbacks and the session side.
fn now_ms() -> u64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

/// How long a running stream may go without a callback before it counts as gone.
const STALL_MS: u64 = 1000;

/// A new stream may pause for longer: PulseAudio's ALSA plugin on a null sink calls back once,
/// then not again for about 1.1 s while the server sets the stream up (measured).
const STARTUP_MS: u64 = 3000;
const STARTUP_STALL_MS: u64 = 2500;

/// How long an error may stand without a callback after it before the card counts as gone.
/// PulseAudio's ALSA plugin reports a transient I/O error while a new stream connects, and
/// the stream carries on; a card that is really gone stops calling back.
const ERROR_GRACE_MS: u64 = 300;

/// What a stream's callbacks tell the session side about the card's health.
#[derive(Clone, Default)]
struct Health {
    /// `now_ms()` of an error that no callback has followed yet, 0 when there is none.
    error_at: Arc<AtomicU64>,
    /// `now_ms()` of the last callback, 0 before the first.
    last_callback: Arc<AtomicU64>,
    /// `now_ms()` of the first callback, 0 before it.
    first_callback: Arc<AtomicU64>,
}

impl Health {
    fn beat(&self) {
        let now = now_ms().max(1);
        if self.last_callback.swap(now, Ordering::Relaxed) == 0 {
            self.first_callback.store(now, Ordering::Relaxed);
        }
        self.error_at.store(0, Ordering::Relaxed);
    }

    fn on_error(&self, e: &cpal::Error) {
        tracing::warn!("audio device error: {e}");
        let _ = self.error_at.compare_exchange(
            0,
            now_ms().max(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// An error no callback followed within `ERROR_GRACE_MS`, or started and then silent for
    /// longer than `STALL_MS` (an unplugged PulseAudio sink just stops calling back).
    fn is_gone(&self) -> bool {
        gone_at(
            now_ms(),
            self.error_at.load(Ordering::Relaxed),
            self.first_callback.load(Ordering::Relaxed),
            self.last_callback.load(Ordering::Relaxed),
        )
    }
}

/// The health verdict from timestamps in ms (0 = never): see [`Health::is_gone`].
fn gone_at(now: u64, error_at: u64, first: u64, last: u64) -> bool {
    if error_at != 0 && now.saturating_sub(error_at) > ERROR_GRACE_MS {
        return true;
    }
    if last == 0 {
        return false;
    }
    let stall = if last.saturating_sub(first) < STARTUP_MS {
        STARTUP_STALL_MS
    } else {
        STALL_MS
    };
    now.saturating_sub(last) > stall
}

fn find_device(name: Option<&str>, input: bool) -> Result<cpal::Device, MediaError> {
    find_in(&cpal::default_host(), name, input)
}

fn find_in(host: &cpal::Host, name: Option<&str>, input: bool) -> Result<cpal::Device, MediaError> {
    let kind = if input { "input" } else { "output" };
    let Some(name) = name else {
        let d = if input {
            host.default_input_device()
        } else {
            host.default_output_device()
        };
        return d.ok_or(MediaError::NoDefaultDevice(kind));
    };
    let devices = if input {
        host.input_devices()
    } else {
        host.output_devices()
    }
    .map_err(|e| MediaError::DeviceList(e.to_string()))?;
    for d in devices {
        let i = info(&d);
        if i.id == name || i.name == name {
            return Ok(d);
        }
    }
    Err(MediaError::NoSuchDevice(name.to_string()))
}

/// Picks a stream config: the wanted rate if the device can do it, else its default.
fn pick_config(
    device: &cpal::Device,
    rate: u32,
    input: bool,
    label: &str,
) -> Result<(cpal::StreamConfig, cpal::SampleFormat), MediaError> {
    let derr = |e: cpal::Error| MediaError::Device {
        device: label.to_string(),
        reason: e.to_string(),
    };
    let default = if input {
        device.default_input_config()
    } else {
        device.default_output_config()
    }
    .map_err(derr)?;
    let ranges: Vec<cpal::SupportedStreamConfigRange> = if input {
        device.supported_input_configs().map_err(derr)?.collect()
    } else {
        device.supported_output_configs().map_err(derr)?.collect()
    };
    let usable =
        |f: cpal::SampleFormat| matches!(f, cpal::SampleFormat::F32 | cpal::SampleFormat::I16);
    let exact = ranges
        .iter()
        .filter(|r| usable(r.sample_format()) && r.contains_rate(rate))
        .min_by_key(|r| {
            (r.channels() as i32 - 1).abs() + (r.sample_format() != default.sample_format()) as i32
        });
    if let Some(r) = exact {
        let mut c = (*r).with_sample_rate(rate).config();
        c.buffer_size = low_latency(r.buffer_size(), rate);
        return Ok((c, r.sample_format()));
    }
    if usable(default.sample_format()) {
        let mut c = default.config();
        c.buffer_size = low_latency(default.buffer_size(), c.sample_rate);
        return Ok((c, default.sample_format()));
    }
    Err(MediaError::Device {
        device: label.to_string(),
        reason: format!(
            "it only offers {} samples, which Hookflash cannot use",
            default.sample_format()
        ),
    })
}

/// Asks for ~20 ms device periods. Left to itself, ALSA's `pulse` plugin picks buffers of
/// a second or more, which is a second of mouth-to-ear delay.
fn low_latency(supported: &cpal::SupportedBufferSize, rate: u32) -> cpal::BufferSize {
    let want = rate / 50;
    match supported {
        cpal::SupportedBufferSize::Range { min, max } => {
            cpal::BufferSize::Fixed(want.clamp(*min, *max))
        }
        cpal::SupportedBufferSize::Unknown => cpal::BufferSize::Default,
    }
}

/// Keeps a cpal stream alive on its own thread until dropped.
struct StreamThread {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StreamThread {
    fn spawn<F>(label: String, build: F) -> Result<Self, MediaError>
    where
        F: FnOnce() -> Result<cpal::Stream, MediaError> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("audio {label}"))
            .spawn(move || {
                let stream = match build() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                if let Err(e) = stream.play() {
                    let _ = tx.send(Err(MediaError::Device {
                        device: label,
                        reason: e.to_string(),
                    }));
                    return;
                }
                let _ = tx.send(Ok(()));
                while !stop2.load(Ordering::Relaxed) {
                    std::thread::park_timeout(std::time::Duration::from_millis(200));
                }
                drop(stream);
            })
            .map_err(|e| MediaError::Device {
                device: "audio thread".into(),
                reason: e.to_string(),
            })?;
        match rx.recv() {
            Ok(Ok(())) => Ok(StreamThread {
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(MediaError::Device {
                device: "audio thread".into(),
                reason: "it stopped unexpectedly".into(),
            }),
        }
    }
}

impl Drop for StreamThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Plays call audio on one sound card stream.
pub struct CardSink {
    rate: u32,
    producer: rtrb::Producer<f32>,
    resampler: StreamResampler,
    f_in: Vec<f32>,
    f_out: Vec<f32>,
    /// Times the card ran dry (played silence), and frames dropped because it fell behind.
    pub underruns: Arc<AtomicU64>,
    pub dropped_frames: u64,
    /// The stream configuration the card accepted (for logs).
    pub device_config: String,
    dev_rate: u32,
    /// Set by the first callback: until the card asks for audio, writes are discarded rather
    /// than queued (some backends take a second or more to start).
    running: Arc<AtomicBool>,
    health: Health,
    /// What the user calls this device ("USB Headset"; "default" for the default).
    pub display_name: String,
    _stream: StreamThread,
}

impl CardSink {
    pub fn open(name: Option<&str>, rate: u32) -> Result<Self, MediaError> {
        let device = find_device(name, false)?;
        let display_name = display_name(&device, name);
        let label = name.unwrap_or("default").to_string();
        let (config, format) = pick_config(&device, rate, false, &label)?;
        let dev_rate = config.sample_rate;
        let device_config = format!("{config:?} {format}");
        tracing::info!("playing on '{label}' with {device_config}");
        let (producer, consumer) = rtrb::RingBuffer::<f32>::new(dev_rate as usize); // 1 s
        let underruns = Arc::new(AtomicU64::new(0));
        let u2 = underruns.clone();
        let running = Arc::new(AtomicBool::new(false));
        let r2 = running.clone();
        let health = Health::default();
        let h2 = health.clone();
        let label2 = label.clone();
        let stream = StreamThread::spawn(label.clone(), move || {
            build_output(&device, &config, format, consumer, u2, r2, h2).map_err(|e| {
                MediaError::Device {
                    device: label2,
                    reason: e.to_string(),
                }
            })
        })?;
        Ok(CardSink {
            rate,
            producer,
            resampler: StreamResampler::new(rate, dev_rate)?,
            f_in: Vec::new(),
            f_out: Vec::new(),
            underruns,
            dropped_frames: 0,
            device_config,
            dev_rate,
            running,
            health,
            display_name,
            _stream: stream,
        })
    }

    /// The card went away (unplugged, its server or sink removed).
    pub fn is_gone(&self) -> bool {
        self.health.is_gone()
    }
}

/// Playback callback state: waits for 40 ms of audio before playing, and again after running dry.
struct Playout {
    consumer: rtrb::Consumer<f32>,
    running: Arc<AtomicBool>,
    primed: bool,
    prime: usize,
    max_queued: usize,
    underruns: Arc<AtomicU64>,
}

impl Playout {
    /// Called at the start of each callback: if audio piled up (the card started late or runs
    /// slow), skip the oldest so delay stays bounded.
    fn trim(&mut self) {
        let queued = self.consumer.slots();
        if queued > self.max_queued {
            let skip = queued - self.prime;
            if let Ok(chunk) = self.consumer.read_chunk(skip) {
                chunk.commit_all();
            }
        }
    }

    fn next_sample(&mut self) -> f32 {
        if !self.primed {
            self.running.store(true, Ordering::Relaxed);
            if self.consumer.slots() < self.prime {
                return 0.0;
            }
            self.primed = true;
        }
        match self.consumer.pop() {
            Ok(s) => s,
            Err(_) => {
                self.primed = false;
                self.underruns.fetch_add(1, Ordering::Relaxed);
                0.0
            }
        }
    }
}

fn build_output(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    format: cpal::SampleFormat,
    consumer: rtrb::Consumer<f32>,
    underruns: Arc<AtomicU64>,
    running: Arc<AtomicBool>,
    health: Health,
) -> Result<cpal::Stream, cpal::Error> {
    let channels = config.channels.max(1) as usize;
    let prime = config.sample_rate as usize / 25;
    let max_queued = config.sample_rate as usize / 5; // 200 ms
    let mut p = Playout {
        consumer,
        running,
        primed: false,
        prime,
        max_queued,
        underruns,
    };
    let h_err = health.clone();
    let on_err = move |e: cpal::Error| h_err.on_error(&e);
    let h2 = health.clone();
    match format {
        cpal::SampleFormat::I16 => device.build_output_stream::<i16, _, _>(
            *config,
            move |data, _| {
                health.beat();
                p.trim();
                for frame in data.chunks_mut(channels) {
                    let s = (p.next_sample() * 32767.0).clamp(-32768.0, 32767.0) as i16;
                    frame.fill(s);
                }
            },
            on_err,
            None,
        ),
        _ => device.build_output_stream::<f32, _, _>(
            *config,
            move |data, _| {
                h2.beat();
                p.trim();
                for frame in data.chunks_mut(channels) {
                    frame.fill(p.next_sample());
                }
            },
            on_err,
            None,
        ),
    }
}

impl CardSink {
    /// True once the card has started asking for audio.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    /// Audio waiting for the card, in milliseconds.
    pub fn queued_ms(&self) -> u32 {
        let queued = self.producer.buffer().capacity() - self.producer.slots();
        (queued as u64 * 1000 / self.dev_rate as u64) as u32
    }
}

impl AudioSink for CardSink {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn write(&mut self, pcm: &[i16]) -> Result<(), MediaError> {
        self.f_in.clear();
        to_f32(pcm, &mut self.f_in);
        self.f_out.clear();
        self.resampler.process(&self.f_in, &mut self.f_out)?;
        if !self.running.load(Ordering::Relaxed) {
            return Ok(());
        }
        // The callback trims excess; only a card that stopped altogether fills the ring.
        for &s in &self.f_out {
            if self.producer.push(s).is_err() {
                self.dropped_frames += 1;
                break;
            }
        }
        Ok(())
    }
}

/// Captures call audio from one sound card stream.
pub struct CardSource {
    rate: u32,
    consumer: rtrb::Consumer<f32>,
    resampler: StreamResampler,
    ready: std::collections::VecDeque<i16>,
    f_in: Vec<f32>,
    f_out: Vec<f32>,
    pcm: Vec<i16>,
    primed: bool,
    health: Health,
    /// What the user calls this device ("USB Headset"; "default" for the default).
    pub display_name: String,
    _stream: StreamThread,
}

impl CardSource {
    pub fn open(name: Option<&str>, rate: u32) -> Result<Self, MediaError> {
        let device = find_device(name, true)?;
        let display_name = display_name(&device, name);
        let label = name.unwrap_or("default").to_string();
        let (config, format) = pick_config(&device, rate, true, &label)?;
        let dev_rate = config.sample_rate;
        let (mut producer, consumer) = rtrb::RingBuffer::<f32>::new(dev_rate as usize);
        let channels = config.channels.max(1) as usize;
        let label2 = label.clone();
        let health = Health::default();
        let (h1, h2, h_err) = (health.clone(), health.clone(), health.clone());
        let stream = StreamThread::spawn(label.clone(), move || {
            let on_err = move |e: cpal::Error| h_err.on_error(&e);
            match format {
                cpal::SampleFormat::I16 => device.build_input_stream::<i16, _, _>(
                    config,
                    move |data, _| {
                        h1.beat();
                        for f in data.chunks(channels) {
                            let s = f.iter().map(|&x| x as f32).sum::<f32>()
                                / (channels as f32 * 32768.0);
                            let _ = producer.push(s);
                        }
                    },
                    on_err,
                    None,
                ),
                _ => device.build_input_stream::<f32, _, _>(
                    config,
                    move |data, _| {
                        h2.beat();
                        for f in data.chunks(channels) {
                            let _ = producer.push(f.iter().sum::<f32>() / channels as f32);
                        }
                    },
                    on_err,
                    None,
                ),
            }
            .map_err(|e| MediaError::Device {
                device: label2,
                reason: e.to_string(),
            })
        })?;
        Ok(CardSource {
            rate,
            consumer,
            resampler: StreamResampler::new(dev_rate, rate)?,
            ready: Default::default(),
            f_in: Vec::new(),
            f_out: Vec::new(),
            pcm: Vec::new(),
            primed: false,
            health,
            display_name,
            _stream: stream,
        })
    }

    /// The card went away (unplugged, its server or source removed).
    pub fn is_gone(&self) -> bool {
        self.health.is_gone()
    }
}

impl AudioSource for CardSource {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn read(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
        let n = self.consumer.slots();
        self.f_in.clear();
        if let Ok(chunk) = self.consumer.read_chunk(n) {
            let (a, b) = chunk.as_slices();
            self.f_in.extend_from_slice(a);
            self.f_in.extend_from_slice(b);
            chunk.commit_all();
        }
        self.f_out.clear();
        self.resampler.process(&self.f_in, &mut self.f_out)?;
        self.pcm.clear();
        to_i16(&self.f_out, &mut self.pcm);
        self.ready.extend(self.pcm.iter().copied());
        // Keep at most ~100 ms queued so capture latency cannot creep up with clock drift.
        let max = self.rate as usize / 10 + out.len();
        if self.ready.len() > max {
            let excess = self.ready.len() - max;
            self.ready.drain(..excess);
        }
        if !self.primed && self.ready.len() >= out.len() * 2 {
            self.primed = true;
        }
        if !self.primed || self.ready.len() < out.len() {
            self.primed = false;
            out.fill(0);
            return Ok(());
        }
        let n = out.len();
        for (o, s) in out.iter_mut().zip(self.ready.drain(..n)) {
            *o = s;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::gone_at;

    #[test]
    fn a_stream_that_never_called_back_is_not_judged_by_silence() {
        assert!(!gone_at(60_000, 0, 0, 0));
    }

    #[test]
    fn a_transient_error_followed_by_callbacks_is_forgiven() {
        // The callback clears `error_at`; an error still standing after the grace is not.
        assert!(!gone_at(10_100, 10_000, 5_000, 10_090));
        assert!(gone_at(
            10_000 + super::ERROR_GRACE_MS + 1,
            10_000,
            5_000,
            9_990
        ));
    }

    #[test]
    fn a_new_stream_may_pause_while_the_server_sets_it_up() {
        // One callback, then 1.2 s of nothing (PulseAudio null sink start): not gone.
        assert!(!gone_at(1_200, 0, 1, 1));
        assert!(gone_at(1 + super::STARTUP_STALL_MS + 1, 0, 1, 1));
    }

    #[test]
    fn a_running_stream_that_stops_calling_back_is_gone() {
        let (first, last) = (1_000, 9_000);
        assert!(!gone_at(last + super::STALL_MS, 0, first, last));
        assert!(gone_at(last + super::STALL_MS + 1, 0, first, last));
    }
}
