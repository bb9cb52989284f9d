//! The stream core: every decision of one audio stream, without sockets or clocks.
//!
//! It is fed each datagram with the time it arrived and the socket it came in on
//! ([`StreamCore::handle_input`]: RTP on the RTP socket, RTCP on either), and decides:
//!
//! * **latching** (symmetric RTP, [`Latch`]): whether the packet's source is the far end, and
//!   so where our RTP and RTCP go;
//! * **which stream plays** ([`SsrcGate`]) and whether its **sequence number** is believed
//!   ([`ReceptionStats`], RFC 3550 A.1);
//! * **DTMF**: RFC 4733 telephone-events become one [`MediaEvent::Dtmf`] per key press
//!   (read them with [`StreamCore::poll_event`]);
//! * what goes into the **jitter buffer**, and once per 20 ms frame what **plays**
//!   ([`StreamCore::play`]): decoded audio, Opus FEC or concealment for a gap, comfort noise
//!   during the far end's DTX silence, silence once nothing comes, with time-stretching when
//!   the buffer asks for it;
//! * **RTCP**: what the far end's reports say about our stream (loss, jitter, round trip), and
//!   on the send side when our report is due, what it says and where it goes
//!   ([`StreamCore::poll_rtcp`]), where our RTP goes ([`StreamCore::rtp_destination`]).
//!
//! Time comes in as a [`Now`] the driver read from its clocks; the core reads none. The drivers
//! (`session.rs`) read sockets and timers, feed the core and perform what it returns through
//! the [`Transport`](super::transport::Transport).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use super::rtcp_timer::RtcpTimer;
use super::transport::{Socket, Transmit};
use crate::codec::{decoder, AudioDecoder, Codec};
use crate::comfort_noise::{ComfortNoise, CN_PAYLOAD_TYPE};
use crate::dtmf::DtmfReceiver;
use crate::jitter_buffer::{Adjust, JitterBuffer, PacketInfo, Pop};
use crate::latch::{Latch, RtpSource};
use crate::opus_codec::LossPlan;
use crate::reception::ReceptionStats;
use crate::rtcp::{self, RtcpPacket};
use crate::rtp;
use crate::session::{MediaEvent, StreamParams};
use crate::ssrc_gate::{SsrcGate, SsrcVerdict};
use crate::stats::MediaStats;

/// Playout runs in 20 ms frames whatever the remote packet time.
pub const PLAYOUT_MS: u32 = 20;
/// Concealment (ms) before a stream that stopped arriving is played as silence.
const MAX_PLC_MS: f64 = 100.0;

/// The time of an input or a poll, as the driver read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time: arrival times, intervals, report delays.
    pub mono: Instant,
    /// Wall-clock time as a 64-bit NTP timestamp: our sender reports, round-trip times.
    pub ntp: u64,
}

/// What the send side put on the wire for one frame (counted in the statistics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SentFrame {
    pub packets: u64,
    /// RTP payload octets.
    pub bytes: u64,
    /// DTMF key presses whose first event packet went out.
    pub dtmf_started: u64,
    /// The encoder's expected-loss setting (0 for codecs without FEC).
    pub expected_loss: u8,
    pub bitrate_bps: Option<u32>,
}

/// What the jitter buffer holds: audio payloads, and placeholders for telephone-event packets
/// (they use sequence numbers, so without them every DTMF would look like loss).
enum Entry {
    Audio(Vec<u8>),
    /// A telephone-event packet. It stands for one packet time of the sender's audio (played
    /// as silence), except the repeated copies of an event's end packet (`plays` false).
    Event {
        plays: bool,
    },
    /// RFC 3389 comfort noise: play noise at this level until audio resumes.
    Comfort(Vec<u8>),
}

/// A destination we can send to: not `0.0.0.0` (old-style hold; Linux would deliver it to this
/// host) and not port 0.
fn usable(dest: SocketAddr) -> bool {
    !dest.ip().is_unspecified() && dest.port() != 0
}

pub struct StreamCore {
    /// What was negotiated, as the receive side applies it.
    params: StreamParams,
    our_ssrc: u32,
    /// The stream's start, the base of the jitter buffer's arrival times.
    started: Instant,
    stats: MediaStats,
    reception: ReceptionStats,
    remote_ssrc: Option<u32>,
    /// Where the far end's RTP / RTCP actually come from, and so where ours go.
    latch: Latch,
    /// The loss our encoder plans for, from the far end's reports on our stream.
    loss_plan: LossPlan,
    /// Which SSRC is the stream.
    ssrc_gate: SsrcGate,
    dtmf: DtmfReceiver,
    /// The last telephone-event packet (timestamp, payload), to recognise repeated copies.
    last_event: Option<(u32, Vec<u8>)>,
    jb: JitterBuffer<Entry>,
    decoder: Box<dyn AudioDecoder>,
    /// Decoded audio waiting to be played.
    pcm: Vec<i16>,
    /// The frame `play` hands out.
    frame: Vec<i16>,
    playing: bool,
    last_frame: usize,
    empty_in_a_row: u32,
    /// Set while the far end is in a comfort-noise (DTX) silence.
    comfort: Option<ComfortNoise>,
    rtcp_timer: RtcpTimer,
    events: VecDeque<MediaEvent>,
}

impl StreamCore {
    /// The core of a stream that starts at `started`, sending as `our_ssrc`, decoding with
    /// `decoder` (for `params.codec`); `rtcp_seed` seeds the randomisation of report intervals.
    pub fn new(
        params: StreamParams,
        our_ssrc: u32,
        decoder: Box<dyn AudioDecoder>,
        started: Instant,
        rtcp_seed: u64,
    ) -> StreamCore {
        StreamCore {
            our_ssrc,
            started,
            stats: MediaStats::default(),
            reception: ReceptionStats::new(params.codec.rtp_clock_rate()),
            remote_ssrc: None,
            latch: Latch::new(params.remote_rtp),
            loss_plan: LossPlan::new(),
            ssrc_gate: SsrcGate::new(),
            dtmf: DtmfReceiver::new(),
            last_event: None,
            jb: JitterBuffer::new(params.ptime(), params.codec.rtp_clock_rate()),
            decoder,
            pcm: Vec::new(),
            frame: Vec::new(),
            playing: false,
            last_frame: 0,
            empty_in_a_row: 0,
            comfort: None,
            rtcp_timer: RtcpTimer::new(started, rtcp_seed),
            events: VecDeque::new(),
            params,
        }
    }

    /// The next thing the engine should hear about (DTMF, warnings), if any.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// The counters, with loss, jitter and the quality estimate filled in.
    pub fn stats(&self) -> MediaStats {
        let mut out = self.stats.clone();
        let clock = self.params.codec.rtp_clock_rate();
        out.packets_lost = self.reception.cumulative_lost();
        out.jitter_ms = self.reception.jitter() as f64 * 1000.0 / clock.max(1) as f64;
        out.estimate_quality(self.params.codec, self.params.ptime());
        out
    }

    /// Where the far end's RTP is latched (the SDP address until it has spoken).
    pub fn remote_rtp(&self) -> SocketAddr {
        self.latch.rtp_destination()
    }

    /// New SDP from a re-INVITE, `old` → `new`: a changed remote address starts latching over.
    pub fn renegotiated(&mut self, old: &StreamParams, new: &StreamParams) {
        let changed = old.remote_rtp != new.remote_rtp || old.remote_rtcp != new.remote_rtcp;
        self.latch.renegotiated(new.remote_rtp, changed);
    }

    /// Applies renegotiated parameters to the receive side. A new codec or payload type starts
    /// the stream over (decoder, jitter buffer, statistics, SSRC); returns true then, and the
    /// driver must play out at the new codec's rate.
    pub fn apply(&mut self, p: StreamParams) -> bool {
        let restart = p.codec != self.params.codec || p.payload_type != self.params.payload_type;
        if restart {
            match decoder(p.codec) {
                Ok(d) => self.decoder = d,
                Err(e) => self.events.push_back(MediaEvent::Warning(e.to_string())),
            }
            self.jb = JitterBuffer::new(p.ptime(), p.codec.rtp_clock_rate());
            self.pcm.clear();
            self.playing = false;
            self.reception = ReceptionStats::new(p.codec.rtp_clock_rate());
            self.remote_ssrc = None;
            self.ssrc_gate.reset();
        }
        self.params = p;
        restart
    }

    /// A datagram arrived on `via` from `from` at `now`. On the RTP socket, RTP and muxed RTCP
    /// are told apart (RFC 5761); on the RTCP socket everything is taken as RTCP.
    pub fn handle_input(&mut self, now: Now, via: Socket, from: SocketAddr, data: &[u8]) {
        match via {
            Socket::Rtp if rtp::is_rtcp(data) => self.on_rtcp(now, from, data, false),
            Socket::Rtp => self.on_rtp(now, from, data),
            Socket::Rtcp => self.on_rtcp(now, from, data, true),
        }
    }

    fn on_rtp(&mut self, now: Now, from: SocketAddr, data: &[u8]) {
        let pkt = match rtp::parse(data) {
            Ok(p) => p,
            Err(_) => {
                self.stats.malformed_packets += 1;
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
            self.stats.unexpected_payload_type += 1;
            return;
        }
        let clock = self.params.codec.rtp_clock_rate() as f64;
        let elapsed = now
            .mono
            .saturating_duration_since(self.started)
            .as_secs_f64();
        let arrival = (elapsed * clock) as u64;
        let info = PacketInfo {
            seq: pkt.sequence,
            timestamp: pkt.timestamp,
            ssrc: pkt.ssrc,
            arrival_ms: elapsed * 1000.0,
            timed: true,
        };
        match self
            .latch
            .on_rtp(from, pkt.ssrc, pkt.sequence, info.arrival_ms)
        {
            RtpSource::Latched => {}
            RtpSource::First { differs_from_sdp } => {
                if differs_from_sdp {
                    tracing::info!(
                        "RTP comes from {from}, not {}; sending there (symmetric RTP)",
                        self.params.remote_rtp
                    );
                }
            }
            RtpSource::Moved { from: before } => {
                tracing::info!("RTP moved from {before} to {from}; sending there")
            }
            RtpSource::Ignored => {
                self.stats.ignored_other_source += 1;
                return;
            }
        }
        match self.ssrc_gate.on_packet(pkt.ssrc, info.arrival_ms) {
            SsrcVerdict::Accept => {}
            SsrcVerdict::Switch => {
                // A new source (first packet, or the far end restarted its stream); the
                // jitter buffer starts over by itself when it sees the new SSRC.
                if self.remote_ssrc.is_some() {
                    self.stats.ssrc_changes += 1;
                }
                self.remote_ssrc = Some(pkt.ssrc);
                self.reception = ReceptionStats::new(self.params.codec.rtp_clock_rate());
            }
            SsrcVerdict::Ignore => {
                // A stray SSRC in the middle of the stream: dropped, the stream goes on.
                self.stats.ignored_other_ssrc += 1;
                return;
            }
        }
        let believed = if is_audio {
            self.reception
                .on_packet(pkt.sequence, pkt.timestamp, arrival)
        } else {
            self.reception.on_sequence(pkt.sequence)
        };
        if !believed {
            // A wild sequence number nothing confirms (damaged or injected): dropped.
            self.stats.ignored_out_of_sequence += 1;
            return;
        }
        self.stats.packets_received += 1;
        self.stats.bytes_received += pkt.payload.len() as u64;
        if !self.params.direction.receives() {
            return;
        }
        if is_event {
            if let Some(d) = self.dtmf.on_packet(pkt.timestamp, pkt.payload) {
                self.stats.dtmf_received += 1;
                self.events.push_back(MediaEvent::Dtmf(d));
            }
            let this = (pkt.timestamp, pkt.payload.to_vec());
            let plays = self.last_event.as_ref() != Some(&this);
            self.last_event = Some(this);
            self.jb.insert(
                PacketInfo {
                    timed: false,
                    ..info
                },
                Entry::Event { plays },
            );
        } else if is_cn {
            self.stats.comfort_noise_packets += 1;
            self.jb.insert(info, Entry::Comfort(pkt.payload.to_vec()));
        } else if !pkt.payload.is_empty() {
            if self.params.codec == Codec::Opus && crate::opus_codec::packet_has_fec(pkt.payload) {
                self.jb.fec_seen(info.arrival_ms);
            }
            self.jb.insert(info, Entry::Audio(pkt.payload.to_vec()));
        }
        let c = self.jb.counters;
        self.stats.duplicate_packets = c.duplicates;
        self.stats.late_packets = c.late;
        self.stats.timestamp_outliers = self.jb.timestamp_jumps().1;
    }

    fn on_rtcp(&mut self, now: Now, from: SocketAddr, data: &[u8], on_rtcp_port: bool) {
        let packets = match rtcp::parse(data) {
            Ok(p) => p,
            Err(_) => {
                self.stats.malformed_packets += 1;
                return;
            }
        };
        let clock = self.params.codec.rtp_clock_rate() as f64;
        self.stats.rtcp_received += 1;
        self.latch.on_rtcp(from, on_rtcp_port);
        for p in packets {
            let blocks = match p {
                RtcpPacket::SenderReport { info, blocks, .. } => {
                    self.reception.on_sender_report(info.ntp, now.mono);
                    blocks
                }
                RtcpPacket::ReceiverReport { blocks, .. } => blocks,
                _ => continue,
            };
            for b in blocks.iter().filter(|b| b.ssrc == self.our_ssrc) {
                self.stats.remote_fraction_lost = Some(b.fraction_lost as f64 / 256.0);
                self.stats.remote_packets_lost = Some(b.cumulative_lost as i64);
                self.stats.remote_jitter_ms = Some(b.jitter as f64 * 1000.0 / clock);
                if let Some(rtt) = rtcp::round_trip(b, now.ntp) {
                    self.stats.rtt_ms = Some(rtt.as_secs_f64() * 1000.0);
                }
                self.loss_plan.on_report(b.fraction_lost);
            }
        }
    }

    /// Plays one 20 ms frame: decoded audio, FEC/PLC for gaps, silence when nothing comes.
    /// When the jitter buffer asks for it, the frame is shortened or lengthened by a pitch
    /// period (time-stretching) so the playout delay follows the target without skips.
    /// `None` until the stream has started playing (nothing goes to the output then).
    pub fn play(&mut self) -> Option<&[i16]> {
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
                    let _ = self
                        .decoder
                        .conceal(self.last_frame, next_payload, &mut self.pcm);
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
        let c = self.jb.counters;
        let s = &mut self.stats;
        s.concealed_frames += concealed;
        s.fec_recovered += fec;
        s.duplicate_packets = c.duplicates;
        s.late_packets = c.late;
        s.loss_bursts = c.loss_bursts;
        s.playout_accelerated += accelerated;
        s.playout_stretched += stretched;
        s.jitter_buffer_target_ms = self.jb.target_delay_ms();
        s.jitter_buffer_delay_ms = self.jb.current_delay_ms();
        s.jitter_buffer_mean_delay_ms = self.jb.mean_delay_ms();
        if !self.playing {
            return None;
        }
        let take = n.min(self.pcm.len());
        self.frame.clear();
        self.frame.extend(self.pcm.drain(..take));
        self.frame.resize(n, 0);
        Some(&self.frame)
    }

    /// Where this frame's RTP goes, for a sender on `sender`'s parameters: the latched address
    /// (else the SDP one); `None` when nothing is to be sent (a direction that does not send,
    /// `c=0.0.0.0` hold, port 0).
    pub fn rtp_destination(&self, sender: &StreamParams) -> Option<SocketAddr> {
        let dest = self.latch.rtp_destination();
        (sender.direction.sends() && usable(dest)).then_some(dest)
    }

    /// The loss (percent) our encoder should plan for, from the far end's reports.
    pub fn expected_loss_percent(&self) -> u8 {
        self.loss_plan.percent()
    }

    /// Whether the far end has reported any loss yet.
    pub fn loss_reported(&self) -> bool {
        self.loss_plan.loss_reported()
    }

    /// Counts what the send side put on the wire for one frame.
    pub fn record_sent(&mut self, sent: SentFrame) {
        let s = &mut self.stats;
        s.packets_sent += sent.packets;
        s.bytes_sent += sent.bytes;
        s.dtmf_sent += sent.dtmf_started;
        s.encoder_expected_loss = sent.expected_loss;
        s.encoder_bitrate_bps = sent.bitrate_bps;
    }

    /// When our next RTCP report is due.
    pub fn next_rtcp_due(&self) -> Instant {
        self.rtcp_timer.next_due()
    }

    /// Our RTCP report, once it is due at `now`: an SR once we have sent RTP (`rtp_timestamp`
    /// is the timestamp our stream has reached), else an RR; with a report block on the far
    /// end's stream once it has been heard. Schedules the next one. `None` when not due or when
    /// there is nowhere to send it (the report is still counted as made, as its interval is).
    pub fn poll_rtcp(
        &mut self,
        now: Now,
        sender: &StreamParams,
        rtp_timestamp: u32,
    ) -> Option<Transmit> {
        if !self.rtcp_timer.is_due(now.mono) {
            return None;
        }
        let block = match self.remote_ssrc {
            Some(remote) => self.reception.report_block(remote, now.mono),
            None => None,
        };
        let info = (self.stats.packets_sent > 0).then_some(rtcp::SenderInfo {
            ntp: now.ntp,
            rtp_timestamp,
            packets: self.stats.packets_sent as u32,
            octets: self.stats.bytes_sent as u32,
        });
        // CNAME must be unique per endpoint (RFC 3550 6.5.1); nothing identifying is needed.
        let cname = format!("hookflash-{:08x}", self.our_ssrc);
        let report = rtcp::build_report(self.our_ssrc, info, block.as_slice(), &cname);
        self.rtcp_timer.sent(now.mono);
        self.rtcp_transmit(sender, report)
    }

    /// A report from [`poll_rtcp`](Self::poll_rtcp) went out.
    pub fn rtcp_sent(&mut self) {
        self.stats.rtcp_sent += 1;
    }

    /// Our RTCP BYE, when the stream ends.
    pub fn bye(&self, sender: &StreamParams) -> Option<Transmit> {
        self.rtcp_transmit(sender, rtcp::build_bye(self.our_ssrc))
    }

    /// RTCP goes where the far end's reports come from (else the SDP's RTCP address), out of
    /// the RTP socket when muxed, else out of the RTCP socket.
    fn rtcp_transmit(&self, sender: &StreamParams, data: Vec<u8>) -> Option<Transmit> {
        let to = self.latch.rtcp_destination(sender.default_rtcp());
        if !usable(to) {
            return None;
        }
        let muxed =
            sender.remote_rtcp == Some(sender.remote_rtp) || to == self.latch.rtp_destination();
        Some(Transmit {
            via: if muxed { Socket::Rtp } else { Socket::Rtcp },
            to,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    //! Stream flows in virtual time: every datagram is handed in with the moment it "arrived";
    //! no sockets, no sleeps.

    use std::time::Duration;

    use super::*;
    use crate::codec::encoder;
    use crate::dtmf::EventPayload;
    use crate::rtcp::{ReportBlock, SenderInfo};
    use crate::session::MediaDirection;

    const FAR_SSRC: u32 = 0x00fa_0001;
    const OUR_SSRC: u32 = 0x0000_cafe;
    const TE_PT: u8 = 101;
    /// One 20 ms G.711 packet, in RTP clock units.
    const TICKS: u32 = 160;

    fn addr(port: u16) -> SocketAddr {
        ([192, 0, 2, 1], port).into()
    }

    /// The SDP says the far end is at port 4000 (RTCP 4001); PCMU, telephone-event 101.
    fn params() -> StreamParams {
        StreamParams {
            telephone_event_pt: Some(TE_PT),
            ..StreamParams::plain(addr(4000), Codec::Pcmu, 0)
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn rtp_packet(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        rtp::build(&mut out, marker, pt, seq, ts, ssrc, payload);
        out
    }

    /// A stream core on a virtual clock that starts at `t0`.
    struct Flow {
        core: StreamCore,
        t0: Instant,
        ntp0: u64,
    }

    impl Flow {
        fn new(params: StreamParams) -> Flow {
            let t0 = Instant::now();
            let dec = decoder(params.codec).unwrap();
            Flow {
                core: StreamCore::new(params, OUR_SSRC, dec, t0, 42),
                t0,
                ntp0: 3_900_000_000u64 << 32,
            }
        }

        /// The moment `since` after the stream started, on both clocks.
        fn at(&self, since: Duration) -> Now {
            let ntp = self.ntp0 + ((since.as_nanos() << 32) / 1_000_000_000) as u64;
            Now {
                mono: self.t0 + since,
                ntp,
            }
        }

        fn since_start(&self, t: Instant) -> Duration {
            t - self.t0
        }

        fn rtp(&mut self, since: Duration, from: SocketAddr, packet: &[u8]) {
            let now = self.at(since);
            self.core.handle_input(now, Socket::Rtp, from, packet);
        }

        /// Packet `seq` of the far end's audio, arriving on time (`seq` * 20 ms into the stream).
        fn audio(&mut self, from: SocketAddr, seq: u16) {
            self.audio_at(ms(seq as u64 * 20), from, seq);
        }

        /// Packet `seq` of the far end's audio (20 ms of a 440 Hz tone), arriving at `since`.
        fn audio_at(&mut self, since: Duration, from: SocketAddr, seq: u16) {
            let mut enc = encoder(Codec::Pcmu).unwrap();
            let pcm: Vec<i16> = (0..TICKS as usize)
                .map(|k| {
                    let t = (seq as usize * TICKS as usize + k) as f64 / 8000.0;
                    (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
                })
                .collect();
            let mut payload = Vec::new();
            enc.encode(&pcm, &mut payload).unwrap();
            let pkt = rtp_packet(0, seq == 0, seq, seq as u32 * TICKS, FAR_SSRC, &payload);
            self.rtp(since, from, &pkt);
        }

        fn events(&mut self) -> Vec<MediaEvent> {
            std::iter::from_fn(|| self.core.poll_event()).collect()
        }
    }

    fn rms(frame: &[i16]) -> f64 {
        (frame.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / frame.len() as f64).sqrt()
    }

    #[test]
    fn first_packet_latches_a_spoofed_packet_is_dropped_and_the_sdp_address_wins_back() {
        let mut f = Flow::new(params());
        let p = params();
        assert_eq!(
            f.core.rtp_destination(&p),
            Some(addr(4000)),
            "the SDP address until the far end speaks"
        );

        f.audio(addr(31000), 0); // the far end, behind a NAT
        assert_eq!(
            f.core.rtp_destination(&p),
            Some(addr(31000)),
            "the first packet latches"
        );

        f.audio(addr(6666), 1); // someone else
        let s = f.core.stats();
        assert_eq!(
            (s.packets_received, s.ignored_other_source),
            (1, 1),
            "the spoofed packet is dropped"
        );
        assert_eq!(
            f.core.rtp_destination(&p),
            Some(addr(31000)),
            "and does not move our RTP"
        );

        f.audio(addr(4000), 2); // the address SDP named
        assert_eq!(
            f.core.rtp_destination(&p),
            Some(addr(4000)),
            "the SDP address wins back at once"
        );
        assert_eq!(f.core.remote_rtp(), addr(4000));
        assert_eq!(f.core.stats().packets_received, 2);
    }

    #[test]
    fn a_packet_with_an_old_sequence_number_or_a_different_ssrc_is_ignored() {
        let mut f = Flow::new(params());
        for seq in 1000..1010 {
            f.audio(addr(4000), seq);
        }
        assert_eq!(f.core.stats().packets_received, 10);

        // 500 behind: no reordering goes that far; nothing confirms it.
        let old = rtp_packet(0, false, 500, 500 * TICKS, FAR_SSRC, &[0xff; 160]);
        f.rtp(ms(1010 * 20), addr(4000), &old);
        // Same address, another SSRC, in the middle of the stream.
        let stray = rtp_packet(0, false, 1010, 1010 * TICKS, 0x0666, &[0xff; 160]);
        f.rtp(ms(1010 * 20 + 5), addr(4000), &stray);
        let s = f.core.stats();
        assert_eq!(s.ignored_out_of_sequence, 1);
        assert_eq!(s.ignored_other_ssrc, 1);
        assert_eq!(s.packets_received, 10, "neither is counted as received");
        assert_eq!(
            s.ssrc_changes, 0,
            "the stray SSRC does not take the stream over"
        );

        // A copy of a packet still in the jitter buffer is a duplicate.
        f.audio(addr(4000), 1009);
        assert_eq!(f.core.stats().duplicate_packets, 1);

        // The stream itself goes on.
        f.audio(addr(4000), 1010);
        assert_eq!(f.core.stats().packets_received, 12);
    }

    #[test]
    fn an_rtcp_report_is_due_after_the_interval_and_not_before() {
        let mut f = Flow::new(params());
        let p = params();
        assert_eq!(
            f.core.poll_rtcp(f.at(ms(499)), &p, 0),
            None,
            "not before half a second"
        );
        let first = f
            .core
            .poll_rtcp(f.at(ms(500)), &p, 0)
            .expect("due at half a second");
        assert_eq!(
            (first.via, first.to),
            (Socket::Rtcp, addr(4001)),
            "RTP port + 1 from SDP"
        );
        match &rtcp::parse(&first.data).unwrap()[0] {
            RtcpPacket::ReceiverReport { ssrc, blocks } => {
                assert_eq!(*ssrc, OUR_SSRC);
                assert!(blocks.is_empty(), "nothing heard yet, nothing to report on");
            }
            other => panic!("nothing sent yet: a receiver report, got {other:?}"),
        }

        // About a second later (randomised 0.5-1.5 s).
        let next = f.core.next_rtcp_due();
        let gap = f.since_start(next) - ms(500);
        assert!(gap >= ms(500) && gap < ms(1500), "{gap:?}");
        assert_eq!(
            f.core.poll_rtcp(f.at(f.since_start(next) - ms(1)), &p, 0),
            None,
            "not before"
        );

        // Meanwhile we heard the far end and sent audio: the report is an SR with a block.
        for seq in 0..20 {
            f.audio_at(ms(600 + seq as u64 * 20), addr(4000), seq);
        }
        f.core.record_sent(SentFrame {
            packets: 30,
            bytes: 4800,
            ..SentFrame::default()
        });
        let second = f
            .core
            .poll_rtcp(f.at(f.since_start(next)), &p, 777)
            .expect("due now");
        match &rtcp::parse(&second.data).unwrap()[0] {
            RtcpPacket::SenderReport { ssrc, info, blocks } => {
                assert_eq!(*ssrc, OUR_SSRC);
                assert_eq!(
                    (info.packets, info.octets, info.rtp_timestamp),
                    (30, 4800, 777)
                );
                assert_eq!(
                    info.ntp,
                    f.at(f.since_start(next)).ntp,
                    "the NTP time passed in"
                );
                assert_eq!(blocks.len(), 1);
                assert_eq!(blocks[0].ssrc, FAR_SSRC);
                assert_eq!(blocks[0].highest_seq, 19);
            }
            other => panic!("we have sent: a sender report, got {other:?}"),
        }
        assert_eq!(
            f.core.poll_rtcp(f.at(f.since_start(next)), &p, 777),
            None,
            "once per interval"
        );
    }

    #[test]
    fn the_far_ends_report_on_our_stream_sets_loss_round_trip_and_where_reports_go() {
        let mut f = Flow::new(params());
        let p = params();
        f.core.record_sent(SentFrame {
            packets: 25,
            bytes: 4000,
            ..SentFrame::default()
        });
        let sr = f.core.poll_rtcp(f.at(ms(500)), &p, 0).unwrap();
        let RtcpPacket::SenderReport { info, .. } = rtcp::parse(&sr.data).unwrap()[0].clone()
        else {
            panic!("expected an SR")
        };
        // The far end got our SR, held it 1 s and answered from behind its NAT; the answer
        // arrives 100 ms of network round trip later.
        let block = ReportBlock {
            ssrc: OUR_SSRC,
            fraction_lost: 64,
            cumulative_lost: 3,
            highest_seq: 25,
            jitter: 80,
            lsr: rtcp::ntp_middle(info.ntp),
            dlsr: 65536,
        };
        let rr = rtcp::build_report(FAR_SSRC, None, &[block], "far");
        f.core
            .handle_input(f.at(ms(1600)), Socket::Rtcp, addr(31001), &rr);

        let s = f.core.stats();
        assert_eq!(s.rtcp_received, 1);
        assert_eq!(s.remote_fraction_lost, Some(0.25));
        assert_eq!(s.remote_packets_lost, Some(3));
        assert_eq!(s.remote_jitter_ms, Some(10.0), "80 ticks at 8 kHz");
        let rtt = s.rtt_ms.expect("the block answers our SR");
        assert!((rtt - 100.0).abs() < 1.0, "round trip {rtt} ms");
        assert_eq!(
            f.core.expected_loss_percent(),
            25,
            "the encoder plans for the reported loss"
        );

        let next = f.core.next_rtcp_due();
        let t = f.core.poll_rtcp(f.at(f.since_start(next)), &p, 0).unwrap();
        assert_eq!(
            (t.via, t.to),
            (Socket::Rtcp, addr(31001)),
            "our reports follow theirs"
        );
    }

    #[test]
    fn a_far_end_sender_report_is_echoed_in_our_next_report_block() {
        let mut f = Flow::new(params());
        let p = params();
        f.audio(addr(4000), 0);
        let far_ntp = 0x1234_5678_9abc_def0u64;
        let info = SenderInfo {
            ntp: far_ntp,
            rtp_timestamp: 0,
            packets: 1,
            octets: 160,
        };
        // Muxed on the RTP port (RFC 5761).
        f.rtp(
            ms(100),
            addr(4000),
            &rtcp::build_report(FAR_SSRC, Some(info), &[], "far"),
        );
        let t = f.core.poll_rtcp(f.at(ms(600)), &p, 0).unwrap();
        assert_eq!(
            (t.via, t.to),
            (Socket::Rtp, addr(4000)),
            "muxed reports are answered muxed"
        );
        let RtcpPacket::ReceiverReport { blocks, .. } = &rtcp::parse(&t.data).unwrap()[0] else {
            panic!("expected an RR")
        };
        assert_eq!(blocks[0].lsr, rtcp::ntp_middle(far_ntp));
        assert_eq!(blocks[0].dlsr, 65536 / 2, "held half a second");
    }

    #[test]
    fn a_lost_packet_is_concealed_at_playout_time() {
        let mut f = Flow::new(params());
        let mut frames = Vec::new();
        let mut concealed_before_loss = None;
        for seq in 0..30u16 {
            if seq != 12 {
                f.audio(addr(4000), seq);
            }
            if seq == 12 {
                concealed_before_loss = Some(f.core.stats().concealed_frames);
            }
            if let Some(frame) = f.core.play() {
                frames.push(frame.to_vec());
            }
        }
        let s = f.core.stats();
        assert_eq!(
            concealed_before_loss,
            Some(0),
            "a clean stream needs no concealment"
        );
        assert_eq!(s.concealed_frames, 1, "the one missing packet is concealed");
        assert_eq!(s.packets_received, 29);
        assert!(frames.len() >= 27, "{} frames played", frames.len());
        assert!(
            frames.iter().all(|fr| fr.len() == 160),
            "20 ms frames at 8 kHz"
        );
        // Concealment repeats the tone rather than dropping out: no silent frame.
        let quietest = frames.iter().map(|fr| rms(fr)).fold(f64::MAX, f64::min);
        assert!(quietest > 1000.0, "quietest frame rms {quietest}");
    }

    #[test]
    fn nothing_plays_before_the_stream_starts_and_silence_follows_once_it_stops() {
        let mut f = Flow::new(params());
        assert_eq!(
            f.core.play(),
            None,
            "nothing to play before the first packet"
        );
        for seq in 0..10u16 {
            f.audio(addr(4000), seq);
            f.core.play();
        }
        // The far end stops: a little concealment, then plain silence.
        let tail: Vec<f64> = (0..20).filter_map(|_| f.core.play().map(rms)).collect();
        assert_eq!(tail.last(), Some(&0.0), "{tail:?}");
        let concealed = f.core.stats().concealed_frames;
        assert!(
            (1..=5).contains(&concealed),
            "{concealed} frames concealed (at most 100 ms)"
        );
    }

    #[test]
    fn rfc2833_dtmf_end_events_produce_one_dtmf_event() {
        let mut f = Flow::new(params());
        let mut seq = 0u16;
        let mut send_event = |f: &mut Flow, key: u8, ts: u32, durations: &[u16]| {
            for (i, &duration) in durations.iter().enumerate() {
                let end = i + 1 == durations.len();
                let body = EventPayload {
                    event: key,
                    end,
                    volume: 10,
                    duration,
                }
                .to_bytes();
                // The end packet is sent three times (RFC 4733 2.5.1.4).
                for _ in 0..if end { 3 } else { 1 } {
                    let pkt = rtp_packet(TE_PT, i == 0, seq, ts, FAR_SSRC, &body);
                    f.rtp(ms(seq as u64 * 20), addr(4000), &pkt);
                    seq += 1;
                }
            }
        };
        send_event(&mut f, 5, 0, &[160, 320, 480, 640, 800]);
        assert_eq!(
            f.events(),
            vec![MediaEvent::Dtmf('5')],
            "one key press, one event"
        );
        // The same key again is a new press (new timestamp), even if only its end arrives.
        send_event(&mut f, 5, 8000, &[800]);
        send_event(&mut f, 11, 16000, &[160, 800]);
        assert_eq!(
            f.events(),
            vec![MediaEvent::Dtmf('5'), MediaEvent::Dtmf('#')]
        );
        let s = f.core.stats();
        assert_eq!(s.dtmf_received, 3);
        assert_eq!(s.packets_received, 7 + 3 + 4);
        assert_eq!(
            s.packets_lost, 0,
            "event packets take their sequence numbers"
        );
    }

    #[test]
    fn a_stream_we_do_not_receive_is_counted_but_not_played_or_reported_as_dtmf() {
        let mut f = Flow::new(StreamParams {
            direction: MediaDirection::SendOnly,
            ..params()
        });
        let body = EventPayload {
            event: 1,
            end: true,
            volume: 10,
            duration: 800,
        }
        .to_bytes();
        f.rtp(
            ms(0),
            addr(4000),
            &rtp_packet(TE_PT, true, 0, 0, FAR_SSRC, &body),
        );
        for seq in 1..10u16 {
            f.audio(addr(4000), seq);
        }
        assert_eq!(f.events(), vec![]);
        assert_eq!(f.core.stats().packets_received, 10);
        assert!((0..10).all(|_| f.core.play().is_none()));
    }

    #[test]
    fn nothing_is_sent_on_hold_or_when_our_direction_does_not_send() {
        let f = Flow::new(params());
        let recvonly = StreamParams {
            direction: MediaDirection::RecvOnly,
            ..params()
        };
        assert_eq!(f.core.rtp_destination(&recvonly), None);

        let hold = StreamParams {
            remote_rtp: "0.0.0.0:4000".parse().unwrap(),
            ..params()
        };
        let mut f = Flow::new(hold.clone());
        assert_eq!(f.core.rtp_destination(&hold), None, "c=0.0.0.0");
        assert_eq!(f.core.poll_rtcp(f.at(ms(500)), &hold, 0), None);
        assert!(
            f.core.next_rtcp_due() > f.at(ms(500)).mono,
            "the report interval still runs"
        );
        assert_eq!(f.core.bye(&hold), None);
        assert_eq!(
            Flow::new(params())
                .core
                .bye(&params())
                .map(|t| (t.via, t.to)),
            Some((Socket::Rtcp, addr(4001)))
        );
    }

    #[test]
    fn a_codec_change_starts_the_stream_over() {
        let mut f = Flow::new(params());
        for seq in 0..5u16 {
            f.audio(addr(4000), seq);
            f.core.play();
        }
        assert!(!f.core.apply(StreamParams {
            direction: MediaDirection::SendRecv,
            ..params()
        }));
        let pcma = StreamParams {
            codec: Codec::Pcma,
            payload_type: 8,
            ..params()
        };
        assert!(f.core.apply(pcma), "new codec: the output follows its rate");
        assert_eq!(f.core.play(), None, "the old stream's audio is gone");
        // PCMU packets are now of an unexpected payload type.
        f.audio(addr(4000), 5);
        assert_eq!(f.core.stats().unexpected_payload_type, 1);
    }
}
