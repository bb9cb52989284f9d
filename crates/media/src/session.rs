//! One audio stream of a call: two tokio tasks around an [`RtpEndpoint`].
//!
//! * The **send task** wakes every `ptime` on an absolute schedule (no drift), reads a frame
//!   from the [`AudioIn`], encodes it (or sends RFC 4733 events while a DTMF key is queued) and
//!   sends it to the latched remote address. Every ~5 s it sends an RTCP SR with a report block.
//! * The **receive task** takes RTP and RTCP datagrams, validates them, latches the remote
//!   address (symmetric RTP), feeds the jitter buffer, turns telephone-events into
//!   [`MediaEvent::Dtmf`], and every 20 ms plays one frame (decoded, FEC-recovered or concealed)
//!   into the [`AudioOut`].
//!
//! The sink keeps the rate of the codec the session started with (a WAV recording stays one
//! rate); if a re-INVITE changes codec, audio is resampled in between.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::audio_io::{
    open_sink, open_source, AudioIn, AudioOut, AudioSink, AudioSource, ResampledSink,
    ResampledSource,
};
use crate::codec::{decoder, encoder, AudioDecoder, AudioEncoder, Codec};
use crate::comfort_noise::{ComfortNoise, CN_PAYLOAD_TYPE};
use crate::dtmf::{DtmfReceiver, DtmfSender};
use crate::error::MediaError;
use crate::jitter_buffer::{Adjust, JitterBuffer, PacketInfo, Pop};
use crate::latch::{Latch, RtpSource};
use crate::opus_codec::LossPlan;
use crate::reception::ReceptionStats;
use crate::rtcp::{self, RtcpPacket};
use crate::rtp;
use crate::rtp_endpoint::RtpEndpoint;
use crate::ssrc_gate::{SsrcGate, SsrcVerdict};
use crate::stats::MediaStats;

/// Which way audio flows, from our side (SDP `a=sendrecv` etc.).
#[derive(Clone, Debug, PartialEq)]
pub enum MediaDirection {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl MediaDirection {
    pub fn sends(&self) -> bool {
        matches!(self, MediaDirection::SendRecv | MediaDirection::SendOnly)
    }
    pub fn receives(&self) -> bool {
        matches!(self, MediaDirection::SendRecv | MediaDirection::RecvOnly)
    }
}

/// What was negotiated for the stream.
#[derive(Clone, Debug)]
pub struct StreamParams {
    /// Far end's RTP address from SDP (replaced by where its RTP really comes from).
    pub remote_rtp: SocketAddr,
    /// Far end's RTCP address (`a=rtcp`); `None` means RTP port + 1. Set it equal to
    /// `remote_rtp` when `a=rtcp-mux` was negotiated.
    pub remote_rtcp: Option<SocketAddr>,
    pub codec: Codec,
    pub payload_type: u8,
    /// Payload type of `telephone-event` at the codec's RTP clock rate, if negotiated.
    pub telephone_event_pt: Option<u8>,
    /// Packet time in ms (20 is usual; 10-60 accepted).
    pub ptime_ms: u32,
    pub direction: MediaDirection,
}

impl StreamParams {
    /// The packet time actually used: a multiple of 10 ms in 10-60, and for Opus one of its
    /// frame sizes (10, 20, 40, 60); anything else falls back to 20 ms.
    pub fn ptime(&self) -> u32 {
        let p = match self.ptime_ms {
            0 => 20,
            p => p.clamp(10, 60) / 10 * 10,
        };
        match (self.codec, p) {
            (Codec::Opus, 30 | 50) => 20,
            _ => p,
        }
    }

    /// The far end's RTCP address from SDP: `remote_rtcp`, else RTP port + 1.
    pub(crate) fn default_rtcp(&self) -> SocketAddr {
        self.remote_rtcp.unwrap_or_else(|| {
            SocketAddr::new(self.remote_rtp.ip(), self.remote_rtp.port().wrapping_add(1))
        })
    }
}

/// Things the engine hears about while the session runs.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaEvent {
    /// The far end pressed a key (one event per key press).
    Dtmf(char),
    /// The WAV input has finished; silence is being sent now.
    InputEnded,
    /// Something degraded (device error, unusable packets...). The call continues.
    Warning(String),
}

/// How often RTCP reports go out.
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// At the start of a call reports go out about every second ...
const RTCP_EARLY_INTERVAL: Duration = Duration::from_secs(1);
/// ... for this long.
const RTCP_EARLY_PHASE: Duration = Duration::from_secs(10);
/// Playout runs in 20 ms frames whatever the remote packet time.
const PLAYOUT_MS: u32 = 20;
/// Concealment (ms) before a stream that stopped arriving is played as silence.
const MAX_PLC_MS: f64 = 100.0;

/// State both tasks and the handle touch (short critical sections only).
struct Shared {
    stats: MediaStats,
    reception: ReceptionStats,
    remote_ssrc: Option<u32>,
    /// Where the far end's RTP / RTCP actually come from, and so where ours go (`latch.rs`).
    latch: Latch,
    /// The loss our encoder plans for, from the far end's reports on our stream.
    loss_plan: LossPlan,
    rtp_clock: u32,
    /// What we receive (for the quality estimate).
    codec: Codec,
    ptime_ms: u32,
}

type SharedRef = Arc<Mutex<Shared>>;

fn lock(shared: &SharedRef) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running audio stream. Dropping it stops the tasks too (without waiting for them).
pub struct MediaSession {
    shared: SharedRef,
    params_tx: watch::Sender<StreamParams>,
    dtmf_tx: mpsc::UnboundedSender<char>,
    muted: Arc<AtomicBool>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl MediaSession {
    /// Spawns the tokio tasks that send (20 ms frames, paced by a timer), receive, decode and
    /// play. Needs a tokio runtime. Fails if the audio input or output cannot be opened.
    pub fn start(
        endpoint: RtpEndpoint,
        params: StreamParams,
        input: AudioIn,
        output: AudioOut,
    ) -> Result<(MediaSession, mpsc::UnboundedReceiver<MediaEvent>), MediaError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| MediaError::NoRuntime)?;
        let rate = params.codec.sample_rate();
        let source = open_source(&input, rate)?;
        let sink = open_sink(&output, rate)?;
        let enc = encoder(params.codec)?;
        let dec = decoder(params.codec)?;

        let endpoint = Arc::new(endpoint);
        let shared = Arc::new(Mutex::new(Shared {
            stats: MediaStats::default(),
            reception: ReceptionStats::new(params.codec.rtp_clock_rate()),
            remote_ssrc: None,
            latch: Latch::new(params.remote_rtp),
            loss_plan: LossPlan::new(),
            rtp_clock: params.codec.rtp_clock_rate(),
            codec: params.codec,
            ptime_ms: params.ptime(),
        }));
        let (params_tx, params_rx) = watch::channel(params.clone());
        let (dtmf_tx, dtmf_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let muted = Arc::new(AtomicBool::new(false));
        let cancel = CancellationToken::new();
        let ssrc: u32 = rand::random();
        let started = Instant::now();

        let sender = SendTask {
            endpoint: endpoint.clone(),
            shared: shared.clone(),
            params: params.clone(),
            params_rx: params_rx.clone(),
            dtmf_rx,
            events: events_tx.clone(),
            muted: muted.clone(),
            cancel: cancel.clone(),
            source: Src::Direct(source),
            encoder: enc,
            dtmf: DtmfSender::new(),
            ssrc,
            seq: rand::random(),
            ts: rand::random(),
            first: true,
            input_ended_reported: false,
            source_error_reported: false,
        };
        let receiver = RecvTask {
            endpoint,
            shared: shared.clone(),
            jb: JitterBuffer::new(params.ptime(), params.codec.rtp_clock_rate()),
            params,
            params_rx,
            events: events_tx,
            cancel: cancel.clone(),
            sink: Snk::Direct(sink),
            decoder: dec,
            dtmf: DtmfReceiver::new(),
            our_ssrc: ssrc,
            started,
            pcm: Vec::new(),
            playing: false,
            last_frame: 0,
            empty_in_a_row: 0,
            sink_error_reported: false,
            ssrc_gate: SsrcGate::new(),
            comfort: None,
            last_event: None,
        };
        let tasks = vec![runtime.spawn(sender.run()), runtime.spawn(receiver.run())];
        Ok((MediaSession { shared, params_tx, dtmf_tx, muted, cancel, tasks }, events_rx))
    }

    /// Queues a DTMF key (0-9, *, #, A-D) as RFC 4733 events: ~100 ms tone, then a gap.
    pub fn send_dtmf(&self, digit: char) -> Result<(), MediaError> {
        crate::dtmf::event_code(digit)?;
        if self.params_tx.borrow().telephone_event_pt.is_none() {
            return Err(MediaError::DtmfNotNegotiated);
        }
        self.dtmf_tx.send(digit).map_err(|_| MediaError::Stopped)
    }

    /// Mute sends silence but keeps RTP flowing (NATs and the far end's timers stay happy).
    pub fn set_mute(&self, muted: bool) {
        self.muted.store(muted, Ordering::Relaxed);
    }

    /// Applies renegotiated parameters (re-INVITE): remote address, codec, direction.
    pub fn update(&self, params: StreamParams) {
        {
            let mut s = lock(&self.shared);
            let old = self.params_tx.borrow();
            let changed = old.remote_rtp != params.remote_rtp || old.remote_rtcp != params.remote_rtcp;
            s.latch.renegotiated(params.remote_rtp, changed);
        }
        self.params_tx.send_replace(params);
    }

    /// Current counters.
    pub fn stats(&self) -> MediaStats {
        snapshot(&self.shared)
    }

    /// Where RTP is currently being sent (the latched address once the far end has spoken).
    pub fn remote_rtp(&self) -> SocketAddr {
        lock(&self.shared).latch.rtp_destination()
    }

    /// Stops both tasks, finalises the output (WAV header) and returns the final counters.
    pub async fn stop(mut self) -> MediaStats {
        self.cancel.cancel();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        snapshot(&self.shared)
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn snapshot(shared: &SharedRef) -> MediaStats {
    let s = lock(shared);
    let mut out = s.stats.clone();
    out.packets_lost = s.reception.cumulative_lost();
    out.jitter_ms = s.reception.jitter() as f64 * 1000.0 / s.rtp_clock.max(1) as f64;
    out.estimate_quality(s.codec, s.ptime_ms);
    out
}

/// The input, possibly resampled after a codec change.
enum Src {
    Direct(Box<dyn AudioSource>),
    Resampled(Box<ResampledSource>),
}

impl Src {
    fn get(&mut self) -> &mut dyn AudioSource {
        match self {
            Src::Direct(s) => s.as_mut(),
            Src::Resampled(s) => s.as_mut(),
        }
    }
    fn into_base(self) -> Box<dyn AudioSource> {
        match self {
            Src::Direct(s) => s,
            Src::Resampled(s) => s.into_inner(),
        }
    }
    /// The same input delivering `rate` (resampled if needed).
    fn at_rate(self, rate: u32) -> Result<Src, MediaError> {
        let base = self.into_base();
        if base.rate() == rate {
            return Ok(Src::Direct(base));
        }
        Ok(Src::Resampled(Box::new(ResampledSource::new(base, rate)?)))
    }
}

/// The output, possibly resampled after a codec change.
enum Snk {
    Direct(Box<dyn AudioSink>),
    Resampled(Box<ResampledSink>),
}

impl Snk {
    fn get(&mut self) -> &mut dyn AudioSink {
        match self {
            Snk::Direct(s) => s.as_mut(),
            Snk::Resampled(s) => s.as_mut(),
        }
    }
    fn into_base(self) -> Box<dyn AudioSink> {
        match self {
            Snk::Direct(s) => s,
            Snk::Resampled(s) => s.into_inner(),
        }
    }
    /// The same output accepting `rate` (resampled if needed).
    fn at_rate(self, rate: u32) -> Result<Snk, MediaError> {
        let base = self.into_base();
        if base.rate() == rate {
            return Ok(Snk::Direct(base));
        }
        Ok(Snk::Resampled(Box::new(ResampledSink::new(base, rate)?)))
    }
}

struct SendTask {
    endpoint: Arc<RtpEndpoint>,
    shared: SharedRef,
    params: StreamParams,
    params_rx: watch::Receiver<StreamParams>,
    dtmf_rx: mpsc::UnboundedReceiver<char>,
    events: mpsc::UnboundedSender<MediaEvent>,
    muted: Arc<AtomicBool>,
    cancel: CancellationToken,
    source: Src,
    encoder: Box<dyn AudioEncoder>,
    dtmf: DtmfSender,
    ssrc: u32,
    seq: u16,
    ts: u32,
    first: bool,
    input_ended_reported: bool,
    source_error_reported: bool,
}

impl SendTask {
    async fn run(mut self) {
        let mut frame = vec![0i16; self.params.codec.samples_per_frame(self.params.ptime())];
        let mut payload = Vec::with_capacity(1500);
        let mut packet = Vec::with_capacity(1500);
        let mut origin = tokio::time::Instant::now();
        let mut n: u32 = 0;
        let mut next_rtcp = origin + Duration::from_millis(500);
        let start = origin;
        loop {
            let ptime = Duration::from_millis(self.params.ptime() as u64);
            let due = origin + ptime * n;
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                changed = self.params_rx.changed() => {
                    if changed.is_err() { break; }
                    let p = self.params_rx.borrow_and_update().clone();
                    let old_ptime = self.params.ptime();
                    self.apply(p);
                    frame.resize(self.params.codec.samples_per_frame(self.params.ptime()), 0);
                    if self.params.ptime() != old_ptime {
                        // Continue from the last frame sent, at the new packet time.
                        origin += Duration::from_millis(old_ptime as u64) * n.saturating_sub(1);
                        n = 1;
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(due) => {}
            }
            n += 1;
            // After a long stall (suspended laptop, overloaded machine) don't burst a backlog.
            let now = tokio::time::Instant::now();
            if now.duration_since(origin + ptime * n) > Duration::from_millis(500) {
                origin = now;
                n = 1;
            }
            self.send_frame(&mut frame, &mut payload, &mut packet).await;
            if now >= next_rtcp {
                self.send_rtcp().await;
                // Randomised 0.5-1.5 x interval, as RFC 3550 6.3.1 recommends; about every
                // second at first, so the far end learns of loss (and turns Opus FEC on) within
                // the first seconds of a call rather than after the first regular interval.
                let jitter = rand::random_range(0.5..1.5);
                let interval = if now.duration_since(start) < RTCP_EARLY_PHASE { RTCP_EARLY_INTERVAL } else { RTCP_INTERVAL };
                next_rtcp = now + interval.mul_f64(jitter);
            }
        }
        let bye = rtcp::build_bye(self.ssrc);
        let dest = self.rtcp_dest();
        if !dest.ip().is_unspecified() && dest.port() != 0 {
            let _ = self.rtcp_socket(dest).send_to(&bye, dest).await;
        }
    }

    fn apply(&mut self, p: StreamParams) {
        if p.codec != self.params.codec {
            match encoder(p.codec) {
                Ok(e) => self.encoder = e,
                Err(e) => {
                    let _ = self.events.send(MediaEvent::Warning(e.to_string()));
                }
            }
            // Resampler construction only fails for a zero rate, which no codec has; should it
            // fail anyway the call goes on with silence and a warning.
            let silence = || Src::Direct(Box::new(crate::audio_io::NullSource::new(p.codec.sample_rate())));
            let src = std::mem::replace(&mut self.source, silence());
            self.source = src.at_rate(p.codec.sample_rate()).unwrap_or_else(|e| {
                let _ = self.events.send(MediaEvent::Warning(e.to_string()));
                silence()
            });
            self.first = true;
        }
        self.params = p;
    }

    fn rtp_dest(&self) -> SocketAddr {
        lock(&self.shared).latch.rtp_destination()
    }

    fn rtcp_dest(&self) -> SocketAddr {
        lock(&self.shared).latch.rtcp_destination(self.params.default_rtcp())
    }

    /// RTCP leaves from the RTP socket when muxed, else from the RTCP socket.
    fn rtcp_socket(&self, dest: SocketAddr) -> &tokio::net::UdpSocket {
        let muxed = self.params.remote_rtcp == Some(self.params.remote_rtp)
            || dest == self.rtp_dest();
        if muxed {
            &self.endpoint.rtp
        } else {
            &self.endpoint.rtcp
        }
    }

    async fn send_frame(&mut self, frame: &mut [i16], payload: &mut Vec<u8>, packet: &mut Vec<u8>) {
        while let Ok(d) = self.dtmf_rx.try_recv() {
            // Already validated by send_dtmf.
            let _ = self.dtmf.push(d);
        }
        let codec = self.params.codec;
        let ptime = self.params.ptime();
        let src = self.source.get();
        if let Err(e) = src.read(frame) {
            frame.fill(0);
            if !self.source_error_reported {
                self.source_error_reported = true;
                let _ = self.events.send(MediaEvent::Warning(e.to_string()));
            }
        }
        if src.ended() && !self.input_ended_reported {
            self.input_ended_reported = true;
            let _ = self.events.send(MediaEvent::InputEnded);
        }
        if self.muted.load(Ordering::Relaxed) {
            frame.fill(0);
        }
        let loss = {
            let s = lock(&self.shared);
            s.loss_plan.percent()
        };
        self.encoder.set_expected_loss(loss);

        let events = self.dtmf.tick(self.ts, ptime, codec.rtp_clock_rate());
        let ts = self.ts;
        self.ts = self.ts.wrapping_add(codec.rtp_ticks_per_frame(ptime));
        let dest = self.rtp_dest();
        // c=0.0.0.0 (old-style hold) or port 0: nowhere to send. (Linux would deliver 0.0.0.0
        // to this host.)
        if !self.params.direction.sends() || dest.ip().is_unspecified() || dest.port() == 0 {
            return;
        }
        let mut sent_packets = 0u64;
        let mut sent_bytes = 0u64;
        let mut dtmf_started = 0u64;
        if let (false, Some(te_pt)) = (events.is_empty(), self.params.telephone_event_pt) {
            for ev in &events {
                let body = ev.payload.to_bytes();
                rtp::build(packet, ev.marker, te_pt, self.seq, ev.timestamp, self.ssrc, &body);
                self.seq = self.seq.wrapping_add(1);
                if self.endpoint.rtp.send_to(packet, dest).await.is_ok() {
                    sent_packets += 1;
                    sent_bytes += body.len() as u64;
                }
                dtmf_started += ev.marker as u64;
            }
            // Audio resumes after the event with the marker bit, as a new talkspurt.
            self.first = true;
        } else {
            payload.clear();
            if let Err(e) = self.encoder.encode(frame, payload) {
                tracing::warn!("encoding failed: {e}");
                return;
            }
            rtp::build(packet, self.first, self.params.payload_type, self.seq, ts, self.ssrc, payload);
            self.first = false;
            self.seq = self.seq.wrapping_add(1);
            match self.endpoint.rtp.send_to(packet, dest).await {
                Ok(_) => {
                    sent_packets = 1;
                    sent_bytes = payload.len() as u64;
                }
                Err(e) => tracing::debug!("RTP send to {dest} failed: {e}"),
            }
        }
        let mut s = lock(&self.shared);
        s.stats.packets_sent += sent_packets;
        s.stats.bytes_sent += sent_bytes;
        s.stats.dtmf_sent += dtmf_started;
        s.stats.encoder_expected_loss = if codec == Codec::Opus { loss } else { 0 };
        s.stats.encoder_bitrate_bps = self.encoder.bitrate();
    }

    async fn send_rtcp(&mut self) {
        let report = {
            let mut s = lock(&self.shared);
            let block = match s.remote_ssrc {
                Some(remote) => s.reception.report_block(remote, Instant::now()),
                None => None,
            };
            let sender = (s.stats.packets_sent > 0).then(|| rtcp::SenderInfo {
                ntp: rtcp::ntp_now(),
                rtp_timestamp: self.ts,
                packets: s.stats.packets_sent as u32,
                octets: s.stats.bytes_sent as u32,
            });
            // CNAME must be unique per endpoint (RFC 3550 6.5.1); nothing identifying is needed.
            let cname = format!("hookflash-{:08x}", self.ssrc);
            rtcp::build_report(self.ssrc, sender, block.as_slice(), &cname)
        };
        let dest = self.rtcp_dest();
        if dest.ip().is_unspecified() || dest.port() == 0 {
            return;
        }
        if self.rtcp_socket(dest).send_to(&report, dest).await.is_ok() {
            lock(&self.shared).stats.rtcp_sent += 1;
        }
    }
}

/// What the jitter buffer holds: audio payloads, and placeholders for telephone-event packets
/// (they use sequence numbers, so without them every DTMF would look like loss).
enum Entry {
    Audio(Vec<u8>),
    /// A telephone-event packet. It stands for one packet time of the sender's audio (played
    /// as silence), except the repeated copies of an event's end packet (`plays` false).
    Event { plays: bool },
    /// RFC 3389 comfort noise: play noise at this level until audio resumes.
    Comfort(Vec<u8>),
}

struct RecvTask {
    endpoint: Arc<RtpEndpoint>,
    shared: SharedRef,
    params: StreamParams,
    params_rx: watch::Receiver<StreamParams>,
    events: mpsc::UnboundedSender<MediaEvent>,
    cancel: CancellationToken,
    sink: Snk,
    decoder: Box<dyn AudioDecoder>,
    jb: JitterBuffer<Entry>,
    dtmf: DtmfReceiver,
    our_ssrc: u32,
    started: Instant,
    /// Decoded audio waiting to be played.
    pcm: Vec<i16>,
    playing: bool,
    last_frame: usize,
    empty_in_a_row: u32,
    sink_error_reported: bool,
    /// Which SSRC is the stream.
    ssrc_gate: SsrcGate,
    /// Set while the far end is in a comfort-noise (DTX) silence.
    comfort: Option<ComfortNoise>,
    /// The last telephone-event packet (timestamp, payload), to recognise repeated copies.
    last_event: Option<(u32, Vec<u8>)>,
}

impl RecvTask {
    async fn run(mut self) {
        let mut buf = vec![0u8; 2048];
        let mut rtcp_buf = vec![0u8; 2048];
        let origin = tokio::time::Instant::now();
        let mut n: u32 = 0;
        let endpoint = self.endpoint.clone();
        loop {
            let due = origin + Duration::from_millis(PLAYOUT_MS as u64) * (n + 1);
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                changed = self.params_rx.changed() => {
                    if changed.is_err() { break; }
                    let p = self.params_rx.borrow_and_update().clone();
                    self.apply(p);
                }
                r = endpoint.rtp.recv_from(&mut buf) => match r {
                    Ok((len, from)) => self.on_datagram(&buf[..len], from),
                    Err(e) => tracing::debug!("RTP receive error: {e}"),
                },
                r = endpoint.rtcp.recv_from(&mut rtcp_buf) => match r {
                    Ok((len, from)) => self.on_rtcp(&rtcp_buf[..len], from, true),
                    Err(e) => tracing::debug!("RTCP receive error: {e}"),
                },
                _ = tokio::time::sleep_until(due) => {
                    n += 1;
                    self.play_frame();
                }
            }
        }
        if let Err(e) = self.sink.get().finish() {
            let _ = self.events.send(MediaEvent::Warning(e.to_string()));
        }
    }

    fn apply(&mut self, p: StreamParams) {
        if p.codec != self.params.codec || p.payload_type != self.params.payload_type {
            match decoder(p.codec) {
                Ok(d) => self.decoder = d,
                Err(e) => {
                    let _ = self.events.send(MediaEvent::Warning(e.to_string()));
                }
            }
            self.jb = JitterBuffer::new(p.ptime(), p.codec.rtp_clock_rate());
            self.pcm.clear();
            self.playing = false;
            let null = || Snk::Direct(Box::new(crate::audio_io::NullSink::new(p.codec.sample_rate())));
            let sink = std::mem::replace(&mut self.sink, null());
            self.sink = sink.at_rate(p.codec.sample_rate()).unwrap_or_else(|e| {
                let _ = self.events.send(MediaEvent::Warning(e.to_string()));
                null()
            });
            let mut s = lock(&self.shared);
            s.rtp_clock = p.codec.rtp_clock_rate();
            s.codec = p.codec;
            s.reception = ReceptionStats::new(p.codec.rtp_clock_rate());
            s.remote_ssrc = None;
            drop(s);
            self.ssrc_gate.reset();
        }
        lock(&self.shared).ptime_ms = p.ptime();
        self.params = p;
    }

    fn on_datagram(&mut self, data: &[u8], from: SocketAddr) {
        if rtp::is_rtcp(data) {
            self.on_rtcp(data, from, false);
            return;
        }
        let pkt = match rtp::parse(data) {
            Ok(p) => p,
            Err(_) => {
                lock(&self.shared).stats.malformed_packets += 1;
                return;
            }
        };
        let is_audio = pkt.payload_type == self.params.payload_type;
        let is_event = Some(pkt.payload_type) == self.params.telephone_event_pt;
        // Comfort noise on the static payload type (RFC 3551) is accepted on 8 kHz streams
        // whether or not SDP listed it: it is harmless and some peers send it regardless.
        let is_cn = !is_audio
            && !is_event
            && pkt.payload_type == CN_PAYLOAD_TYPE
            && self.params.codec.rtp_clock_rate() == 8000;
        if !is_audio && !is_event && !is_cn {
            lock(&self.shared).stats.unexpected_payload_type += 1;
            return;
        }
        let clock = self.params.codec.rtp_clock_rate() as f64;
        let elapsed = self.started.elapsed().as_secs_f64();
        let arrival = (elapsed * clock) as u64;
        let info = PacketInfo {
            seq: pkt.sequence,
            timestamp: pkt.timestamp,
            ssrc: pkt.ssrc,
            arrival_ms: elapsed * 1000.0,
            timed: true,
        };
        {
            let mut s = lock(&self.shared);
            match s.latch.on_rtp(from) {
                RtpSource::Latched => {}
                RtpSource::First { differs_from_sdp } => {
                    if differs_from_sdp {
                        tracing::info!("RTP comes from {from}, not {}; sending there (symmetric RTP)", self.params.remote_rtp);
                    }
                }
                RtpSource::Moved { from: before } => tracing::info!("RTP moved from {before} to {from}; sending there"),
                RtpSource::Ignored => {
                    s.stats.ignored_other_source += 1;
                    return;
                }
            }
            match self.ssrc_gate.on_packet(pkt.ssrc, info.arrival_ms) {
                SsrcVerdict::Accept => {}
                SsrcVerdict::Switch => {
                    // A new source (first packet, or the far end restarted its stream); the
                    // jitter buffer starts over by itself when it sees the new SSRC.
                    if s.remote_ssrc.is_some() {
                        s.stats.ssrc_changes += 1;
                    }
                    s.remote_ssrc = Some(pkt.ssrc);
                    s.reception = ReceptionStats::new(self.params.codec.rtp_clock_rate());
                }
                SsrcVerdict::Ignore => {
                    // A stray SSRC in the middle of the stream: dropped, the stream goes on.
                    s.stats.ignored_other_ssrc += 1;
                    return;
                }
            }
            let believed = if is_audio {
                s.reception.on_packet(pkt.sequence, pkt.timestamp, arrival)
            } else {
                s.reception.on_sequence(pkt.sequence)
            };
            if !believed {
                // A wild sequence number nothing confirms (damaged or injected): dropped.
                s.stats.ignored_out_of_sequence += 1;
                return;
            }
            s.stats.packets_received += 1;
            s.stats.bytes_received += pkt.payload.len() as u64;
        }
        if !self.params.direction.receives() {
            return;
        }
        if is_event {
            if let Some(d) = self.dtmf.on_packet(pkt.timestamp, pkt.payload) {
                lock(&self.shared).stats.dtmf_received += 1;
                let _ = self.events.send(MediaEvent::Dtmf(d));
            }
            let this = (pkt.timestamp, pkt.payload.to_vec());
            let plays = self.last_event.as_ref() != Some(&this);
            self.last_event = Some(this);
            self.jb.insert(PacketInfo { timed: false, ..info }, Entry::Event { plays });
        } else if is_cn {
            lock(&self.shared).stats.comfort_noise_packets += 1;
            self.jb.insert(info, Entry::Comfort(pkt.payload.to_vec()));
        } else if !pkt.payload.is_empty() {
            self.jb.insert(info, Entry::Audio(pkt.payload.to_vec()));
        }
        let c = self.jb.counters;
        let mut s = lock(&self.shared);
        s.stats.duplicate_packets = c.duplicates;
        s.stats.late_packets = c.late;
        s.stats.timestamp_outliers = self.jb.timestamp_jumps().1;
    }

    fn on_rtcp(&mut self, data: &[u8], from: SocketAddr, on_rtcp_port: bool) {
        let packets = match rtcp::parse(data) {
            Ok(p) => p,
            Err(_) => {
                lock(&self.shared).stats.malformed_packets += 1;
                return;
            }
        };
        let now = Instant::now();
        let clock = self.params.codec.rtp_clock_rate() as f64;
        let mut s = lock(&self.shared);
        s.stats.rtcp_received += 1;
        s.latch.on_rtcp(from, on_rtcp_port);
        for p in packets {
            let blocks = match p {
                RtcpPacket::SenderReport { info, blocks, .. } => {
                    s.reception.on_sender_report(info.ntp, now);
                    blocks
                }
                RtcpPacket::ReceiverReport { blocks, .. } => blocks,
                _ => continue,
            };
            for b in blocks.iter().filter(|b| b.ssrc == self.our_ssrc) {
                s.stats.remote_fraction_lost = Some(b.fraction_lost as f64 / 256.0);
                s.stats.remote_packets_lost = Some(b.cumulative_lost as i64);
                s.stats.remote_jitter_ms = Some(b.jitter as f64 * 1000.0 / clock);
                if let Some(rtt) = rtcp::round_trip(b, rtcp::ntp_now()) {
                    s.stats.rtt_ms = Some(rtt.as_secs_f64() * 1000.0);
                }
                s.loss_plan.on_report(b.fraction_lost);
            }
        }
    }

    /// Plays one 20 ms frame: decoded audio, FEC/PLC for gaps, silence when nothing comes.
    /// When the jitter buffer asks for it, the frame is shortened or lengthened by a pitch
    /// period (time-stretching) so the playout delay follows the target without skips.
    fn play_frame(&mut self) {
        let codec = self.params.codec;
        let rate = codec.sample_rate();
        let n = codec.samples_per_frame(PLAYOUT_MS);
        if self.last_frame == 0 {
            self.last_frame = codec.samples_per_frame(self.params.ptime());
        }
        let ms = |samples: usize| samples as f64 * 1000.0 / rate as f64;
        let adjust = self.jb.advise(ms(self.pcm.len()));
        // Time-stretching works on two frames' worth of audio when the packets are here.
        let want = if adjust == Adjust::Normal { n } else { 2 * n };
        let mut concealed = 0u64;
        let mut fec = 0u64;
        let mut guard = 0;
        while self.pcm.len() < want && guard < 16 {
            guard += 1;
            if self.pcm.len() >= n && !self.jb.has_next() {
                break;
            }
            match self.jb.pop() {
                Pop::Packet(Entry::Event { plays }) => {
                    if plays && self.playing {
                        // The sender sent the key instead of audio: silence for that time.
                        self.pcm.extend(std::iter::repeat_n(0, self.last_frame));
                        self.empty_in_a_row = 0;
                    }
                }
                Pop::Packet(Entry::Comfort(p)) => {
                    self.comfort = ComfortNoise::from_payload(&p);
                    if let Some(cn) = &mut self.comfort {
                        cn.generate(self.last_frame, &mut self.pcm);
                    }
                    self.playing = true;
                    self.empty_in_a_row = 0;
                }
                Pop::Packet(Entry::Audio(p)) => {
                    self.comfort = None;
                    let before = self.pcm.len();
                    if self.decoder.decode(&p, &mut self.pcm).is_err() {
                        self.pcm.truncate(before);
                        let _ = self.decoder.conceal(self.last_frame, None, &mut self.pcm);
                        concealed += 1;
                    } else {
                        self.last_frame = (self.pcm.len() - before).max(1);
                    }
                    self.playing = true;
                    self.empty_in_a_row = 0;
                }
                Pop::Lost { next } => {
                    let next_payload = match next {
                        Some(Entry::Audio(p)) => Some(p.as_slice()),
                        _ => None,
                    };
                    if codec == Codec::Opus
                        && next_payload.is_some_and(crate::opus_codec::packet_has_fec)
                    {
                        fec += 1;
                    }
                    let _ = self.decoder.conceal(self.last_frame, next_payload, &mut self.pcm);
                    concealed += 1;
                }
                Pop::Empty => {
                    if !self.playing {
                        break;
                    }
                    if let Some(cn) = &mut self.comfort {
                        // The sender is silent on purpose (DTX): its background noise.
                        cn.generate(self.last_frame, &mut self.pcm);
                        continue;
                    }
                    // Conceal one packet slot while waiting for the packet.
                    self.empty_in_a_row += 1;
                    if self.empty_in_a_row as f64 * self.jb.ptime_ms() > MAX_PLC_MS {
                        // Nothing is coming (hold, recvonly peer, dead link): plain silence.
                        self.pcm.extend(std::iter::repeat_n(0, self.last_frame));
                    } else {
                        let _ = self.decoder.conceal(self.last_frame, None, &mut self.pcm);
                        concealed += 1;
                    }
                }
            }
        }
        let (mut accelerated, mut stretched) = (0u64, 0u64);
        if self.playing {
            match adjust {
                Adjust::Accelerate if self.pcm.len() >= 2 * n => {
                    let removed = crate::time_stretch::compress(&mut self.pcm, 2 * n, rate);
                    if removed > 0 {
                        self.jb.note_time_stretch(-ms(removed));
                        accelerated = 1;
                    }
                }
                Adjust::Stretch if self.pcm.len() >= n => {
                    let region = self.pcm.len().min(2 * n);
                    let added = crate::time_stretch::stretch(&mut self.pcm, region, rate);
                    if added > 0 {
                        self.jb.note_time_stretch(ms(added));
                        stretched = 1;
                    }
                }
                _ => {}
            }
        }
        {
            let c = self.jb.counters;
            let mut s = lock(&self.shared);
            s.stats.concealed_frames += concealed;
            s.stats.fec_recovered += fec;
            s.stats.duplicate_packets = c.duplicates;
            s.stats.late_packets = c.late;
            s.stats.loss_bursts = c.loss_bursts;
            s.stats.playout_accelerated += accelerated;
            s.stats.playout_stretched += stretched;
            s.stats.jitter_buffer_target_ms = self.jb.target_delay_ms();
            s.stats.jitter_buffer_delay_ms = self.jb.current_delay_ms();
            s.stats.jitter_buffer_mean_delay_ms = self.jb.mean_delay_ms();
        }
        if !self.playing {
            return;
        }
        let take = n.min(self.pcm.len());
        let mut frame: Vec<i16> = self.pcm.drain(..take).collect();
        frame.resize(n, 0);
        if let Err(e) = self.sink.get().write(&frame) {
            if !self.sink_error_reported {
                self.sink_error_reported = true;
                let _ = self.events.send(MediaEvent::Warning(e.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_time_is_always_one_the_codec_can_do() {
        let mut p = StreamParams {
            remote_rtp: "127.0.0.1:4000".parse().unwrap(),
            remote_rtcp: None,
            codec: Codec::Opus,
            payload_type: 111,
            telephone_event_pt: None,
            ptime_ms: 30,
            direction: MediaDirection::SendRecv,
        };
        assert_eq!(p.ptime(), 20);
        p.ptime_ms = 40;
        assert_eq!(p.ptime(), 40);
        p.ptime_ms = 0;
        assert_eq!(p.ptime(), 20);
        p.codec = Codec::Pcmu;
        p.ptime_ms = 30;
        assert_eq!(p.ptime(), 30);
        p.ptime_ms = 250;
        assert_eq!(p.ptime(), 60);
        assert_eq!(p.default_rtcp(), "127.0.0.1:4001".parse().unwrap());
        p.remote_rtcp = Some("127.0.0.1:4000".parse().unwrap());
        assert_eq!(p.default_rtcp(), "127.0.0.1:4000".parse().unwrap());
    }
}
