//! Where the far end's media comes from and where ours goes (symmetric RTP): the decision, without
//! sockets or clocks, fed the source address, SSRC and sequence number of every packet. The
//! stream core asks it whether to take a packet and where to send.
//!
//! RTP: the first packet latches its source; after that a packet from another address is ignored
//! unless it comes from the address the SDP named (which always wins the latch back at once), or
//! the other address has proven it carries *this* stream: [`RELATCH_PACKETS`] in a row with the
//! stream's SSRC and sequence numbers that follow on, spread over [`RELATCH_MIN_MS`] with nothing
//! from the latched address meanwhile (a NAT rebinding: the old address has gone quiet), or, for
//! a stream that restarted with a new SSRC somewhere else, [`RELATCH_NEW_SOURCE_PACKETS`] in a
//! row with consecutive sequence numbers over ten times as long. A stray or spoofed burst (someone
//! sending packets every 20 ms from a third address) can therefore neither steal our audio nor
//! disturb the stream: without the SSRC and sequence it never counts, and even with them (an
//! attacker on the path) the real stream arriving every 20 ms resets its run before it has lasted
//! long enough. Against an attacker on the path, SRTP is the answer: forged packets never get here.
//! RTCP goes where the far end's reports come from. A renegotiated remote address (re-INVITE)
//! starts over.

use std::net::SocketAddr;

/// Consecutive packets with the stream's SSRC and following sequence numbers a new source
/// address must send before RTP re-latches to it.
pub const RELATCH_PACKETS: u32 = 5;

/// How long (arrival time, ms) such a run must last: a burst arriving at once never does.
pub const RELATCH_MIN_MS: f64 = 80.0;

/// Consecutive packets (one new SSRC, consecutive sequence numbers, nothing from the latched
/// address in between: one second of audio) before a stream that restarted elsewhere is followed.
pub const RELATCH_NEW_SOURCE_PACKETS: u32 = 50;

/// How far ahead a sequence number may be and still "follow on" (loss in between).
const MAX_SEQUENCE_GAP: u16 = 100;

/// What to do with an RTP packet, given where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpSource {
    /// From the latched address: take it.
    Latched,
    /// The first packet of the stream: its source is latched (`from` differs from the SDP
    /// address when the far end is behind a NAT).
    First { differs_from_sdp: bool },
    /// The stream has moved here (the SDP address came back, or a proven run of packets from a
    /// new address); our RTP follows. Take it.
    Moved { from: SocketAddr },
    /// Another address that has not proven itself: drop the packet.
    Ignored,
}

impl RtpSource {
    pub fn accepted(self) -> bool {
        !matches!(self, RtpSource::Ignored)
    }
}

/// A run of packets from an address other than the latched one.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    addr: SocketAddr,
    ssrc: u32,
    last_seq: u16,
    count: u32,
    /// Arrival time of its first packet, ms.
    since_ms: f64,
}

#[derive(Debug, Clone)]
pub struct Latch {
    /// The RTP address the SDP named.
    sdp_rtp: SocketAddr,
    rtp: Option<SocketAddr>,
    rtcp: Option<SocketAddr>,
    /// SSRC and sequence number of the last packet taken.
    last: Option<(u32, u16)>,
    candidate: Option<Candidate>,
}

/// `seq` comes after `prev`, at most `MAX_SEQUENCE_GAP` ahead.
fn follows(prev: u16, seq: u16) -> bool {
    (1..=MAX_SEQUENCE_GAP).contains(&seq.wrapping_sub(prev))
}

impl Latch {
    pub fn new(sdp_rtp: SocketAddr) -> Latch {
        Latch {
            sdp_rtp,
            rtp: None,
            rtcp: None,
            last: None,
            candidate: None,
        }
    }

    /// New SDP (re-INVITE): a changed remote address starts over; the same one keeps the latch.
    pub fn renegotiated(&mut self, sdp_rtp: SocketAddr, remote_changed: bool) {
        self.sdp_rtp = sdp_rtp;
        if remote_changed {
            self.rtp = None;
            self.rtcp = None;
            self.last = None;
            self.candidate = None;
        }
    }

    /// An RTP packet from `from` with this SSRC and sequence number, arrived at `at_ms`.
    pub fn on_rtp(&mut self, from: SocketAddr, ssrc: u32, seq: u16, at_ms: f64) -> RtpSource {
        let verdict = match self.rtp {
            None => {
                self.rtp = Some(from);
                RtpSource::First {
                    differs_from_sdp: from != self.sdp_rtp,
                }
            }
            Some(latched) if latched == from => {
                self.candidate = None;
                RtpSource::Latched
            }
            Some(latched) if from == self.sdp_rtp => {
                self.candidate = None;
                self.rtp = Some(from);
                RtpSource::Moved { from: latched }
            }
            Some(latched) => {
                let continues = matches!(self.candidate, Some(c) if c.addr == from && c.ssrc == ssrc && follows(c.last_seq, seq));
                let count = if continues {
                    self.candidate.map_or(1, |c| c.count + 1)
                } else {
                    1
                };
                // The stream itself carried on here (its SSRC, its sequence), or one new stream did.
                let same_stream = matches!(self.last, Some((s, _)) if s == ssrc);
                let first_follows = match (self.candidate, self.last) {
                    (Some(c), _) if continues => c.count > 0,
                    (_, Some((s, last_seq))) if s == ssrc => follows(last_seq, seq),
                    _ => true,
                };
                let (needed, lasting) = if same_stream {
                    (RELATCH_PACKETS, RELATCH_MIN_MS)
                } else {
                    (RELATCH_NEW_SOURCE_PACKETS, RELATCH_MIN_MS * 10.0)
                };
                if !first_follows {
                    // The stream's SSRC, but a sequence number that does not carry on from ours.
                    self.candidate = None;
                    return RtpSource::Ignored;
                }
                let since_ms = match self.candidate {
                    Some(c) if continues => c.since_ms,
                    _ => at_ms,
                };
                if count < needed || at_ms - since_ms < lasting {
                    self.candidate = Some(Candidate {
                        addr: from,
                        ssrc,
                        last_seq: seq,
                        count,
                        since_ms,
                    });
                    return RtpSource::Ignored;
                }
                self.candidate = None;
                self.rtp = Some(from);
                RtpSource::Moved { from: latched }
            }
        };
        self.last = Some((ssrc, seq));
        verdict
    }

    /// An RTCP packet from `from`, on the RTCP port or muxed on the RTP port.
    pub fn on_rtcp(&mut self, from: SocketAddr, on_rtcp_port: bool) {
        if on_rtcp_port || self.rtcp.is_none() {
            self.rtcp = Some(from);
        }
    }

    /// Where our RTP goes: the latched source, else the SDP address.
    pub fn rtp_destination(&self) -> SocketAddr {
        self.rtp.unwrap_or(self.sdp_rtp)
    }

    /// Where our RTCP goes: where the far end's reports come from, else `default` (from SDP).
    pub fn rtcp_destination(&self, default: SocketAddr) -> SocketAddr {
        self.rtcp.unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(port: u16) -> SocketAddr {
        ([192, 0, 2, 1], port).into()
    }

    const PEER: u32 = 0x1234;
    const STRANGER: u32 = 0x6666;

    #[test]
    fn a_peer_behind_a_nat_is_answered_where_its_packets_come_from() {
        let mut latch = Latch::new(a(4000));
        assert_eq!(
            latch.rtp_destination(),
            a(4000),
            "SDP until the far end speaks"
        );
        assert_eq!(
            latch.on_rtp(a(31000), PEER, 1, 0.0),
            RtpSource::First {
                differs_from_sdp: true
            }
        );
        assert_eq!(latch.rtp_destination(), a(31000));
        assert_eq!(latch.on_rtp(a(31000), PEER, 2, 20.0), RtpSource::Latched);
    }

    #[test]
    fn a_stray_or_spoofed_packet_neither_steals_nor_disturbs_the_stream() {
        let mut latch = Latch::new(a(4000));
        latch.on_rtp(a(4000), PEER, 1, 0.0);
        for seq in 0..RELATCH_PACKETS - 1 {
            assert_eq!(
                latch.on_rtp(a(6666), PEER, 2 + seq as u16, 1.0 + 20.0 * seq as f64),
                RtpSource::Ignored
            );
        }
        // The real stream interleaves: the stranger's count starts over.
        assert_eq!(latch.on_rtp(a(4000), PEER, 2, 90.0), RtpSource::Latched);
        assert_eq!(latch.on_rtp(a(6666), PEER, 3, 91.0), RtpSource::Ignored);
        assert_eq!(latch.rtp_destination(), a(4000));
    }

    #[test]
    fn bursts_from_a_third_address_every_20_ms_never_take_the_stream() {
        // Five packets every 20 ms from a stranger, between the far end's packets (from a NAT
        // address, so the SDP address cannot win it back): its own SSRC, or the stream's with
        // made-up sequence numbers, or the stream's sequence numbers copied — for ten seconds.
        for (ssrc, seq_of) in [(STRANGER, 0u16), (PEER, 7000), (PEER, 0)] {
            let mut latch = Latch::new(a(4000));
            for tick in 0u16..500 {
                let t = 20.0 * tick as f64;
                assert!(latch.on_rtp(a(31000), PEER, 100 + tick, t).accepted());
                for k in 0..5 {
                    let seq = if seq_of == 0 {
                        101 + tick + k
                    } else {
                        seq_of.wrapping_add(tick * 5 + k)
                    };
                    let at = t + 5.0 + k as f64;
                    assert_eq!(
                        latch.on_rtp(a(6666), ssrc, seq, at),
                        RtpSource::Ignored,
                        "tick {tick} packet {k}"
                    );
                }
                assert_eq!(latch.rtp_destination(), a(31000));
            }
        }
    }

    #[test]
    fn a_nat_rebinding_is_followed_after_a_run_of_the_streams_own_packets() {
        let mut latch = Latch::new(a(4000));
        latch.on_rtp(a(31000), PEER, 10, 0.0);
        for k in 0..RELATCH_PACKETS - 1 {
            assert_eq!(
                latch.on_rtp(a(31002), PEER, 11 + k as u16, 20.0 * (1 + k) as f64),
                RtpSource::Ignored
            );
        }
        assert_eq!(
            latch.on_rtp(a(31002), PEER, 15, 100.0),
            RtpSource::Moved { from: a(31000) }
        );
        assert_eq!(latch.rtp_destination(), a(31002));
    }

    #[test]
    fn a_stream_restarted_elsewhere_with_a_new_ssrc_is_followed_after_a_second() {
        let mut latch = Latch::new(a(4000));
        latch.on_rtp(a(31000), PEER, 10, 0.0);
        for k in 0..RELATCH_NEW_SOURCE_PACKETS - 1 {
            assert_eq!(
                latch.on_rtp(a(32000), 0x9999, 500 + k as u16, 20.0 * (1 + k) as f64),
                RtpSource::Ignored
            );
        }
        assert_eq!(
            latch.on_rtp(a(32000), 0x9999, 549, 1000.0),
            RtpSource::Moved { from: a(31000) }
        );
        // A gap in the sequence starts the count over.
        let mut latch = Latch::new(a(4000));
        latch.on_rtp(a(31000), PEER, 10, 0.0);
        for k in 0..RELATCH_NEW_SOURCE_PACKETS {
            let seq = if k == 25 { 9000 } else { 500 + k as u16 };
            assert_eq!(
                latch.on_rtp(a(32000), 0x9999, seq, 20.0 * (1 + k) as f64),
                RtpSource::Ignored
            );
        }
    }

    #[test]
    fn the_sdp_address_wins_the_latch_back_at_once() {
        let mut latch = Latch::new(a(4000));
        latch.on_rtp(a(31000), PEER, 1, 0.0);
        assert_eq!(
            latch.on_rtp(a(4000), PEER, 2, 20.0),
            RtpSource::Moved { from: a(31000) }
        );
        assert_eq!(latch.rtp_destination(), a(4000));
    }

    #[test]
    fn a_new_remote_address_starts_over_and_the_same_one_keeps_the_latch() {
        let mut latch = Latch::new(a(4000));
        latch.on_rtp(a(31000), PEER, 1, 0.0);
        latch.on_rtcp(a(31001), true);
        latch.renegotiated(a(4000), false);
        assert_eq!(
            (latch.rtp_destination(), latch.rtcp_destination(a(4001))),
            (a(31000), a(31001))
        );
        latch.renegotiated(a(5000), true);
        assert_eq!(
            (latch.rtp_destination(), latch.rtcp_destination(a(5001))),
            (a(5000), a(5001))
        );
    }

    #[test]
    fn rtcp_follows_the_reports_and_muxed_reports_only_fill_a_gap() {
        let mut latch = Latch::new(a(4000));
        assert_eq!(latch.rtcp_destination(a(4001)), a(4001));
        latch.on_rtcp(a(4000), false); // muxed on the RTP flow
        assert_eq!(latch.rtcp_destination(a(4001)), a(4000));
        latch.on_rtcp(a(4001), true);
        latch.on_rtcp(a(4000), false);
        assert_eq!(latch.rtcp_destination(a(4001)), a(4001));
    }
}
