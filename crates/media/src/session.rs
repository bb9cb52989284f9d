//! One audio stream of a call: two tokio tasks driving a [`StreamCore`] over a [`Transport`].
//!
//! The decisions live in the I/O-free stream core (`stream/core.rs`): latching, SSRC and
//! sequence checks, DTMF detection, the jitter buffer and playout, RTCP. The tasks here only
//! read sockets, timers and the audio input, feed the core, and perform what it returns:
//!
//! * The **send task** wakes every `ptime` on an absolute schedule (no drift; [`Pacer`]), reads
//!   a frame from the [`AudioIn`], encodes it (or sends RFC 4733 events while a DTMF key is
//!   queued) and sends it where the core says (the latched remote address). After each frame it
//!   asks the core whether an RTCP report is due and sends it.
//! * The **receive task** hands every RTP and RTCP datagram to the core, forwards the
//!   [`MediaEvent`]s it produces, and every 20 ms asks it for one frame (decoded, FEC-recovered
//!   or concealed) to write to the [`AudioOut`].
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
use crate::codec::{decoder, encoder, AudioEncoder, Codec};
use crate::dtmf::DtmfSender;
use crate::error::MediaError;
use crate::rtcp;
use crate::rtp;
use crate::rtp_endpoint::RtpEndpoint;
use crate::stats::MediaStats;
use crate::stream::core::PLAYOUT_MS;
use crate::stream::media_clock::MediaClock;
use crate::stream::{
    DtlsParams, IceParams, IceState, Now, Pacer, SentFrame, Socket, SrtpKeys, StreamCore, Transport,
};

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
    /// SRTP keys (SDES) when the media is encrypted; `None`: clear RTP.
    pub srtp: Option<SrtpKeys>,
    /// DTLS-SRTP (RFC 5763): our role and the far end's fingerprints; the keys come from the
    /// handshake. Takes precedence over `srtp`.
    pub dtls: Option<DtlsParams>,
    /// ICE (RFC 8445): both sides' credentials and candidates. Media then goes over the pair the
    /// checks select (RTCP muxed on it), and media from a pair they validated counts as the far
    /// end's.
    pub ice: Option<IceParams>,
}

impl StreamParams {
    /// Clear RTP both ways to `remote_rtp` (RTCP on the next port) with `codec` as payload type
    /// `payload_type`, 20 ms packets, no DTMF events: a plain call's stream, to refine with
    /// struct update syntax.
    pub fn plain(remote_rtp: SocketAddr, codec: Codec, payload_type: u8) -> StreamParams {
        StreamParams {
            remote_rtp,
            remote_rtcp: None,
            codec,
            payload_type,
            telephone_event_pt: None,
            ptime_ms: 20,
            direction: MediaDirection::SendRecv,
            srtp: None,
            dtls: None,
            ice: None,
        }
    }

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

/// The stream core, shared by both tasks and the handle (short critical sections only).
type CoreRef = Arc<Mutex<StreamCore>>;

fn lock(core: &CoreRef) -> std::sync::MutexGuard<'_, StreamCore> {
    core.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads the clocks the core is fed (it reads none itself).
fn now() -> Now {
    Now {
        mono: Instant::now(),
        ntp: rtcp::ntp_now(),
    }
}

/// A running audio stream. Dropping it stops the tasks too (without waiting for them).
pub struct MediaSession {
    core: CoreRef,
    transport: Arc<Transport>,
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
        // A call on a switch ticks on the switch's clock, with every other port; a stream on
        // its own keeps its own timing.
        let clock = match &input {
            AudioIn::Port(port) => Some(port.clock()),
            _ => None,
        };
        let rate = params.codec.sample_rate();
        let source = open_source(&input, rate)?;
        let sink = open_sink(&output, rate)?;
        let enc = encoder(params.codec)?;
        let dec = decoder(params.codec)?;

        let transport = Arc::new(Transport::new(endpoint));
        transport
            .configure(&params, Instant::now())
            .map_err(MediaError::Srtp)?;
        let ssrc: u32 = rand::random();
        let core = Arc::new(Mutex::new(StreamCore::new(
            params.clone(),
            ssrc,
            dec,
            Instant::now(),
            rand::random(),
        )));
        let (params_tx, params_rx) = watch::channel(params.clone());
        let (dtmf_tx, dtmf_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let muted = Arc::new(AtomicBool::new(false));
        let cancel = CancellationToken::new();

        let sender = SendTask {
            transport: transport.clone(),
            core: core.clone(),
            params: params.clone(),
            params_rx: params_rx.clone(),
            dtmf_rx,
            events: events_tx.clone(),
            muted: muted.clone(),
            cancel: cancel.clone(),
            source: Src::Direct(source),
            clock,
            encoder: enc,
            dtmf: DtmfSender::new(),
            ssrc,
            seq: rand::random(),
            ts: rand::random(),
            first: true,
            input_ended_reported: false,
            source_error_reported: false,
        };
        let events_tx_transport = events_tx.clone();
        let receiver = RecvTask {
            transport: transport.clone(),
            core: core.clone(),
            params_rx,
            events: events_tx,
            cancel: cancel.clone(),
            sink: Snk::Direct(sink),
            clock,
            frame: Vec::new(),
            sink_error_reported: false,
        };
        let housekeeping = TransportTask {
            transport: transport.clone(),
            events: events_tx_transport,
            cancel: cancel.clone(),
        };
        let tasks = vec![
            runtime.spawn(sender.run()),
            runtime.spawn(receiver.run()),
            runtime.spawn(housekeeping.run()),
        ];
        Ok((
            MediaSession {
                core,
                transport,
                params_tx,
                dtmf_tx,
                muted,
                cancel,
                tasks,
            },
            events_rx,
        ))
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
        if let Err(e) = self.transport.configure(&params, Instant::now()) {
            tracing::warn!("new SRTP keys not usable, keeping the old ones: {e}");
        }
        {
            let mut core = lock(&self.core);
            let old = self.params_tx.borrow();
            core.renegotiated(&old, &params);
        }
        self.params_tx.send_replace(params);
    }

    /// Current counters.
    pub fn stats(&self) -> MediaStats {
        self.with_transport(lock(&self.core).stats())
    }

    fn with_transport(&self, mut stats: MediaStats) -> MediaStats {
        let dropped = self.transport.srtp_counters();
        stats.encrypted = self.transport.encrypted();
        stats.srtp_auth_failures = dropped.auth_failures;
        stats.srtp_replays = dropped.replays;
        stats.ice_pair = match self.transport.ice_state() {
            Some(IceState::Connected {
                local_kind,
                remote_kind,
                ..
            }) => Some((local_kind, remote_kind)),
            _ => None,
        };
        stats
    }

    /// Where RTP is currently being sent (the latched address once the far end has spoken).
    pub fn remote_rtp(&self) -> SocketAddr {
        lock(&self.core).remote_rtp()
    }

    /// Stops both tasks, finalises the output (WAV header) and returns the final counters.
    pub async fn stop(mut self) -> MediaStats {
        self.cancel.cancel();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        let stats = self.with_transport(lock(&self.core).stats());
        self.transport.close();
        stats
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Drives DTLS handshakes (retransmissions, the client's first flight) and ICE checks (pacing,
/// retransmissions, consent), and reports a failed one to the engine once. Idle when the stream
/// has neither.
struct TransportTask {
    transport: Arc<Transport>,
    events: mpsc::UnboundedSender<MediaEvent>,
    cancel: CancellationToken,
}

impl TransportTask {
    async fn run(self) {
        loop {
            let (next, failures) = self.transport.drive(Instant::now()).await;
            for why in failures {
                let _ = self.events.send(MediaEvent::Warning(why));
            }
            // Handshake timers are a second or more and ICE paces checks at 50 ms; 20 ms keeps
            // a new flight prompt. Nothing to drive (clear or SDES media, no ICE or TURN): asleep
            // until new parameters or an answer that could not go out wake it.
            let Some(next) = next else {
                tokio::select! {
                    _ = self.cancel.cancelled() => return,
                    _ = self.transport.woken() => continue,
                }
            };
            let wait = next
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(20));
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
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

/// Drives the send side: paces frames, reads and encodes audio, and sends RTP and RTCP where
/// the core says.
struct SendTask {
    transport: Arc<Transport>,
    core: CoreRef,
    params: StreamParams,
    params_rx: watch::Receiver<StreamParams>,
    dtmf_rx: mpsc::UnboundedReceiver<char>,
    events: mpsc::UnboundedSender<MediaEvent>,
    muted: Arc<AtomicBool>,
    cancel: CancellationToken,
    source: Src,
    clock: Option<MediaClock>,
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
        let mut pacer = match self.clock {
            Some(clock) => Pacer::on_clock(clock, Instant::now(), self.ptime()),
            None => Pacer::new(Instant::now(), self.ptime()),
        };
        loop {
            let due = tokio::time::Instant::from_std(pacer.next_due());
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                changed = self.params_rx.changed() => {
                    if changed.is_err() { break; }
                    let p = self.params_rx.borrow_and_update().clone();
                    self.apply(p);
                    frame.resize(self.params.codec.samples_per_frame(self.params.ptime()), 0);
                    pacer.set_period(self.ptime());
                    continue;
                }
                _ = tokio::time::sleep_until(due) => {}
            }
            let now = now();
            pacer.tick(now.mono);
            self.send_frame(&mut frame, &mut payload, &mut packet).await;
            let report = lock(&self.core).poll_rtcp(now, &self.params, self.ts);
            if let Some(t) = report {
                if self.transport.transmit(&t).await.is_ok() {
                    lock(&self.core).rtcp_sent();
                }
            }
        }
        let bye = lock(&self.core).bye(&self.params);
        if let Some(t) = bye {
            let _ = self.transport.transmit(&t).await;
        }
    }

    fn ptime(&self) -> Duration {
        Duration::from_millis(self.params.ptime() as u64)
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
            let silence = || {
                Src::Direct(Box::new(crate::audio_io::NullSource::new(
                    p.codec.sample_rate(),
                )))
            };
            let src = std::mem::replace(&mut self.source, silence());
            self.source = src.at_rate(p.codec.sample_rate()).unwrap_or_else(|e| {
                let _ = self.events.send(MediaEvent::Warning(e.to_string()));
                silence()
            });
            self.first = true;
        }
        self.params = p;
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
        let (loss, reported) = {
            let core = lock(&self.core);
            (core.expected_loss_percent(), core.loss_reported())
        };
        self.encoder.set_expected_loss(loss, reported);

        let events = self.dtmf.tick(self.ts, ptime, codec.rtp_clock_rate());
        let ts = self.ts;
        self.ts = self.ts.wrapping_add(codec.rtp_ticks_per_frame(ptime));
        let dest = lock(&self.core).rtp_destination(&self.params);
        let Some(dest) = dest else { return };
        let mut sent = SentFrame::default();
        if let (false, Some(te_pt)) = (events.is_empty(), self.params.telephone_event_pt) {
            for ev in &events {
                let body = ev.payload.to_bytes();
                rtp::build(
                    packet,
                    ev.marker,
                    te_pt,
                    self.seq,
                    ev.timestamp,
                    self.ssrc,
                    &body,
                );
                self.seq = self.seq.wrapping_add(1);
                if self.transport.send(Socket::Rtp, packet, dest).await.is_ok() {
                    sent.packets += 1;
                    sent.bytes += body.len() as u64;
                }
                sent.dtmf_started += ev.marker as u64;
            }
            // Audio resumes after the event with the marker bit, as a new talkspurt.
            self.first = true;
        } else {
            payload.clear();
            if let Err(e) = self.encoder.encode(frame, payload) {
                tracing::warn!("encoding failed: {e}");
                return;
            }
            rtp::build(
                packet,
                self.first,
                self.params.payload_type,
                self.seq,
                ts,
                self.ssrc,
                payload,
            );
            self.first = false;
            self.seq = self.seq.wrapping_add(1);
            match self.transport.send(Socket::Rtp, packet, dest).await {
                Ok(_) => {
                    sent.packets = 1;
                    sent.bytes = payload.len() as u64;
                }
                Err(e) => tracing::debug!("RTP send to {dest} failed: {e}"),
            }
        }
        sent.expected_loss = if codec == Codec::Opus { loss } else { 0 };
        sent.bitrate_bps = self.encoder.bitrate();
        lock(&self.core).record_sent(sent);
    }
}

/// Drives the receive side: hands every datagram to the core, forwards its events, and every
/// 20 ms writes the frame it plays to the output.
struct RecvTask {
    transport: Arc<Transport>,
    core: CoreRef,
    params_rx: watch::Receiver<StreamParams>,
    events: mpsc::UnboundedSender<MediaEvent>,
    cancel: CancellationToken,
    sink: Snk,
    clock: Option<MediaClock>,
    /// The frame being written (copied out of the core so the output is written unlocked).
    frame: Vec<i16>,
    sink_error_reported: bool,
}

impl RecvTask {
    async fn run(mut self) {
        let mut buf = vec![0u8; 2048];
        let mut rtcp_buf = vec![0u8; 2048];
        // Played on the media clock's grid, with every other port of the switch.
        let now = Instant::now();
        let origin = tokio::time::Instant::from_std(self.clock.map_or(now, |c| c.align(now)));
        let mut n: u32 = 0;
        let transport = self.transport.clone();
        loop {
            let due = origin + Duration::from_millis(PLAYOUT_MS as u64) * (n + 1);
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                changed = self.params_rx.changed() => {
                    if changed.is_err() { break; }
                    let p = self.params_rx.borrow_and_update().clone();
                    self.apply(p);
                }
                r = transport.recv(Socket::Rtp, &mut buf) => match r {
                    Ok((len, from)) => self.input(Socket::Rtp, from, &buf[..len]),
                    Err(e) => tracing::debug!("RTP receive error: {e}"),
                },
                r = transport.recv(Socket::Rtcp, &mut rtcp_buf) => match r {
                    Ok((len, from)) => self.input(Socket::Rtcp, from, &rtcp_buf[..len]),
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

    /// Forwards what the core has for the engine.
    fn forward_events(&self, core: &mut StreamCore) {
        while let Some(e) = core.poll_event() {
            let _ = self.events.send(e);
        }
    }

    fn apply(&mut self, p: StreamParams) {
        let rate = p.codec.sample_rate();
        let restarted = {
            let mut core = lock(&self.core);
            let restarted = core.apply(p);
            self.forward_events(&mut core);
            restarted
        };
        if restarted {
            let null = || Snk::Direct(Box::new(crate::audio_io::NullSink::new(rate)));
            let sink = std::mem::replace(&mut self.sink, null());
            self.sink = sink.at_rate(rate).unwrap_or_else(|e| {
                let _ = self.events.send(MediaEvent::Warning(e.to_string()));
                null()
            });
        }
    }

    fn input(&mut self, via: Socket, from: SocketAddr, data: &[u8]) {
        let mut core = lock(&self.core);
        core.handle_input(now(), via, from, data);
        self.forward_events(&mut core);
    }

    /// Writes the core's next 20 ms frame to the output (nothing until the stream plays).
    fn play_frame(&mut self) {
        {
            let mut core = lock(&self.core);
            let Some(frame) = core.play() else { return };
            self.frame.clear();
            self.frame.extend_from_slice(frame);
        }
        if let Err(e) = self.sink.get().write(&self.frame) {
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
            srtp: None,
            dtls: None,
            ice: None,
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
        assert_eq!(
            p.default_rtcp(),
            "127.0.0.1:4001".parse::<SocketAddr>().unwrap()
        );
        p.remote_rtcp = Some("127.0.0.1:4000".parse::<SocketAddr>().unwrap());
        assert_eq!(
            p.default_rtcp(),
            "127.0.0.1:4000".parse::<SocketAddr>().unwrap()
        );
    }
}
