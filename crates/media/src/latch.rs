//! Where the far end's media comes from and where ours goes (symmetric RTP): the decision, without
//! sockets or clocks, fed the source address of every packet. The session's receive task asks it
//! whether to take a packet; the send task asks it where to send.
//!
//! RTP: the first packet latches its source; after that a packet from another address is ignored
//! unless it comes from the address the SDP named (which always wins the latch back at once) or
//! the other address has sent [`RELATCH_PACKETS`] in a row (a NAT rebinding), so a stray or spoofed
//! packet can neither steal nor disturb the stream. RTCP goes where the far end's reports come
//! from. A renegotiated remote address (re-INVITE) starts over.

use std::net::SocketAddr;

/// Consecutive packets a new source address must send before RTP re-latches to it.
pub const RELATCH_PACKETS: u32 = 5;

/// What to do with an RTP packet, given where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpSource {
    /// From the latched address: take it.
    Latched,
    /// The first packet of the stream: its source is latched (`from` differs from the SDP
    /// address when the far end is behind a NAT).
    First { differs_from_sdp: bool },
    /// The stream has moved here (the SDP address came back, or a run of packets from a new
    /// address); our RTP follows. Take it.
    Moved { from: SocketAddr },
    /// Another address that has not proven itself: drop the packet.
    Ignored,
}

impl RtpSource {
    pub fn accepted(self) -> bool {
        !matches!(self, RtpSource::Ignored)
    }
}

#[derive(Debug, Clone)]
pub struct Latch {
    /// The RTP address the SDP named.
    sdp_rtp: SocketAddr,
    rtp: Option<SocketAddr>,
    rtcp: Option<SocketAddr>,
    /// Another source than the latched one, and how many packets in a row it has sent.
    candidate: Option<(SocketAddr, u32)>,
}

impl Latch {
    pub fn new(sdp_rtp: SocketAddr) -> Latch {
        Latch { sdp_rtp, rtp: None, rtcp: None, candidate: None }
    }

    /// New SDP (re-INVITE): a changed remote address starts over; the same one keeps the latch.
    pub fn renegotiated(&mut self, sdp_rtp: SocketAddr, remote_changed: bool) {
        self.sdp_rtp = sdp_rtp;
        if remote_changed {
            self.rtp = None;
            self.rtcp = None;
            self.candidate = None;
        }
    }

    pub fn on_rtp(&mut self, from: SocketAddr) -> RtpSource {
        match self.rtp {
            None => {
                self.rtp = Some(from);
                RtpSource::First { differs_from_sdp: from != self.sdp_rtp }
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
                let count = match self.candidate {
                    Some((addr, n)) if addr == from => n + 1,
                    _ => 1,
                };
                if count < RELATCH_PACKETS {
                    self.candidate = Some((from, count));
                    return RtpSource::Ignored;
                }
                self.candidate = None;
                self.rtp = Some(from);
                RtpSource::Moved { from: latched }
            }
        }
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

    #[test]
    fn a_peer_behind_a_nat_is_answered_where_its_packets_come_from() {
        let mut latch = Latch::new(a(4000));
        assert_eq!(latch.rtp_destination(), a(4000), "SDP until the far end speaks");
        assert_eq!(latch.on_rtp(a(31000)), RtpSource::First { differs_from_sdp: true });
        assert_eq!(latch.rtp_destination(), a(31000));
        assert_eq!(latch.on_rtp(a(31000)), RtpSource::Latched);
    }

    #[test]
    fn a_stray_or_spoofed_packet_neither_steals_nor_disturbs_the_stream() {
        let mut latch = Latch::new(a(4000));
        latch.on_rtp(a(4000));
        for _ in 0..RELATCH_PACKETS - 1 {
            assert_eq!(latch.on_rtp(a(6666)), RtpSource::Ignored);
        }
        // The real stream interleaves: the stranger's count starts over.
        assert_eq!(latch.on_rtp(a(4000)), RtpSource::Latched);
        assert_eq!(latch.on_rtp(a(6666)), RtpSource::Ignored);
        assert_eq!(latch.rtp_destination(), a(4000));
    }

    #[test]
    fn a_nat_rebinding_is_followed_after_a_run_of_packets() {
        let mut latch = Latch::new(a(4000));
        latch.on_rtp(a(31000));
        for _ in 0..RELATCH_PACKETS - 1 {
            assert_eq!(latch.on_rtp(a(31002)), RtpSource::Ignored);
        }
        assert_eq!(latch.on_rtp(a(31002)), RtpSource::Moved { from: a(31000) });
        assert_eq!(latch.rtp_destination(), a(31002));
    }

    #[test]
    fn the_sdp_address_wins_the_latch_back_at_once() {
        let mut latch = Latch::new(a(4000));
        latch.on_rtp(a(31000));
        assert_eq!(latch.on_rtp(a(4000)), RtpSource::Moved { from: a(31000) });
        assert_eq!(latch.rtp_destination(), a(4000));
    }

    #[test]
    fn a_new_remote_address_starts_over_and_the_same_one_keeps_the_latch() {
        let mut latch = Latch::new(a(4000));
        latch.on_rtp(a(31000));
        latch.on_rtcp(a(31001), true);
        latch.renegotiated(a(4000), false);
        assert_eq!((latch.rtp_destination(), latch.rtcp_destination(a(4001))), (a(31000), a(31001)));
        latch.renegotiated(a(5000), true);
        assert_eq!((latch.rtp_destination(), latch.rtcp_destination(a(5001))), (a(5000), a(5001)));
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
