//! RTCP (RFC 3550 section 6): building our SR/RR + SDES compound packets and reading the report
//! blocks the far end sends back, which carry the loss figure that tunes Opus FEC.

/// One reception report block (RFC 3550 section 6.4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportBlock {
    /// SSRC of the stream this block reports on.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256 units.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed on the wire).
    pub cumulative_lost: i32,
    pub highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from that source.
    pub lsr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

/// Sender information of an SR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderInfo {
    pub ntp: u64,
    pub rtp_timestamp: u32,
    pub packets: u32,
    pub octets: u32,
}

/// One packet of a compound RTCP datagram, as far as Hookflash cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport {
        ssrc: u32,
        info: SenderInfo,
        blocks: Vec<ReportBlock>,
    },
    ReceiverReport {
        ssrc: u32,
        blocks: Vec<ReportBlock>,
    },
    Bye {
        ssrcs: Vec<u32>,
    },
    /// SDES, APP, feedback...: recognised and skipped.
    Other {
        packet_type: u8,
    },
}

/// Why a datagram is not valid RTCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcpParseError {
    TooShort,
    BadVersion,
    BadLength,
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn parse_blocks(body: &[u8], count: usize) -> Result<Vec<ReportBlock>, RtcpParseError> {
    if body.len() < count * 24 {
        return Err(RtcpParseError::BadLength);
    }
    Ok((0..count)
        .map(|i| {
            let b = &body[i * 24..i * 24 + 24];
            let lost = u32::from_be_bytes([0, b[5], b[6], b[7]]);
            // Sign-extend the 24-bit cumulative loss.
            let cumulative_lost = ((lost << 8) as i32) >> 8;
            ReportBlock {
                ssrc: be32(&b[0..4]),
                fraction_lost: b[4],
                cumulative_lost,
                highest_seq: be32(&b[8..12]),
                jitter: be32(&b[12..16]),
                lsr: be32(&b[16..20]),
                dlsr: be32(&b[20..24]),
            }
        })
        .collect())
}

/// Parses a compound RTCP datagram. Packets it does not understand are returned as `Other`.
pub fn parse(datagram: &[u8]) -> Result<Vec<RtcpPacket>, RtcpParseError> {
    let mut out = Vec::new();
    let mut rest = datagram;
    if rest.len() < 4 {
        return Err(RtcpParseError::TooShort);
    }
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(RtcpParseError::TooShort);
        }
        if rest[0] >> 6 != 2 {
            return Err(RtcpParseError::BadVersion);
        }
        let count = (rest[0] & 0x1F) as usize;
        let packet_type = rest[1];
        let len = (u16::from_be_bytes([rest[2], rest[3]]) as usize + 1) * 4;
        if len > rest.len() {
            return Err(RtcpParseError::BadLength);
        }
        let pkt = &rest[..len];
        rest = &rest[len..];
        let body = &pkt[4..];
        out.push(match packet_type {
            200 => {
                if body.len() < 24 {
                    return Err(RtcpParseError::BadLength);
                }
                let info = SenderInfo {
                    ntp: ((be32(&body[4..8]) as u64) << 32) | be32(&body[8..12]) as u64,
                    rtp_timestamp: be32(&body[12..16]),
                    packets: be32(&body[16..20]),
                    octets: be32(&body[20..24]),
                };
                RtcpPacket::SenderReport {
                    ssrc: be32(&body[0..4]),
                    info,
                    blocks: parse_blocks(&body[24..], count)?,
                }
            }
            201 => {
                if body.len() < 4 {
                    return Err(RtcpParseError::BadLength);
                }
                RtcpPacket::ReceiverReport {
                    ssrc: be32(&body[0..4]),
                    blocks: parse_blocks(&body[4..], count)?,
                }
            }
            203 => {
                if body.len() < count * 4 {
                    return Err(RtcpParseError::BadLength);
                }
                RtcpPacket::Bye {
                    ssrcs: (0..count).map(|i| be32(&body[i * 4..])).collect(),
                }
            }
            other => RtcpPacket::Other { packet_type: other },
        });
    }
    Ok(out)
}

fn push_block(out: &mut Vec<u8>, b: &ReportBlock) {
    out.extend_from_slice(&b.ssrc.to_be_bytes());
    out.push(b.fraction_lost);
    let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0xFF_FFFF;
    out.extend_from_slice(&lost.to_be_bytes()[1..]);
    out.extend_from_slice(&b.highest_seq.to_be_bytes());
    out.extend_from_slice(&b.jitter.to_be_bytes());
    out.extend_from_slice(&b.lsr.to_be_bytes());
    out.extend_from_slice(&b.dlsr.to_be_bytes());
}

fn finish_length(out: &mut [u8], start: usize) {
    let words = (out.len() - start) / 4 - 1;
    out[start + 2..start + 4].copy_from_slice(&(words as u16).to_be_bytes());
}

fn push_sdes_cname(out: &mut Vec<u8>, ssrc: u32, cname: &str) {
    let start = out.len();
    out.extend_from_slice(&[0x81, 202, 0, 0]);
    out.extend_from_slice(&ssrc.to_be_bytes());
    let name = &cname.as_bytes()[..cname.len().min(255)];
    out.push(1); // CNAME
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    // End-of-list null item, then pad to a 32-bit boundary.
    out.push(0);
    while !(out.len() - start).is_multiple_of(4) {
        out.push(0);
    }
    finish_length(out, start);
}

/// Builds a compound SR (when `sender` is given) or RR, followed by SDES CNAME.
pub fn build_report(
    ssrc: u32,
    sender: Option<SenderInfo>,
    blocks: &[ReportBlock],
    cname: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(100);
    let blocks = &blocks[..blocks.len().min(31)];
    out.push(0x80 | blocks.len() as u8);
    out.push(if sender.is_some() { 200 } else { 201 });
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&ssrc.to_be_bytes());
    if let Some(s) = sender {
        out.extend_from_slice(&s.ntp.to_be_bytes());
        out.extend_from_slice(&s.rtp_timestamp.to_be_bytes());
        out.extend_from_slice(&s.packets.to_be_bytes());
        out.extend_from_slice(&s.octets.to_be_bytes());
    }
    for b in blocks {
        push_block(&mut out, b);
    }
    finish_length(&mut out, 0);
    push_sdes_cname(&mut out, ssrc, cname);
    out
}

/// Builds a BYE for `ssrc` (sent when the session stops).
pub fn build_bye(ssrc: u32) -> Vec<u8> {
    let mut out = vec![0x81, 203, 0, 1];
    out.extend_from_slice(&ssrc.to_be_bytes());
    out
}

/// The current wall-clock time as a 64-bit NTP timestamp.
pub fn ntp_now() -> u64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() + 2_208_988_800;
    let frac = ((d.subsec_nanos() as u64) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// The middle 32 bits of an NTP timestamp, as used in LSR/DLSR arithmetic.
pub fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// Round-trip time from a report block (RFC 3550 section 6.4.1), if it carries one.
pub fn round_trip(block: &ReportBlock, now_ntp: u64) -> Option<std::time::Duration> {
    if block.lsr == 0 {
        return None;
    }
    let a = ntp_middle(now_ntp);
    let rtt = a.wrapping_sub(block.lsr).wrapping_sub(block.dlsr);
    if rtt > 0x8000_0000 {
        return None;
    }
    Some(std::time::Duration::from_micros(
        rtt as u64 * 1_000_000 / 65536,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> ReportBlock {
        ReportBlock {
            ssrc: 0xAABBCCDD,
            fraction_lost: 64,
            cumulative_lost: -3,
            highest_seq: 70000,
            jitter: 12,
            lsr: 0x1234_5678,
            dlsr: 65536,
        }
    }

    #[test]
    fn sender_report_round_trip() {
        let info = SenderInfo {
            ntp: 0x0102030405060708,
            rtp_timestamp: 9,
            packets: 10,
            octets: 11,
        };
        let d = build_report(7, Some(info), &[block()], "hookflash@test");
        assert_eq!(d.len() % 4, 0);
        let pkts = parse(&d).unwrap();
        assert_eq!(pkts.len(), 2);
        assert_eq!(
            pkts[0],
            RtcpPacket::SenderReport {
                ssrc: 7,
                info,
                blocks: vec![block()]
            }
        );
        assert_eq!(pkts[1], RtcpPacket::Other { packet_type: 202 });
    }

    #[test]
    fn receiver_report_round_trip() {
        let d = build_report(8, None, &[block(), block()], "x");
        let pkts = parse(&d).unwrap();
        assert_eq!(
            pkts[0],
            RtcpPacket::ReceiverReport {
                ssrc: 8,
                blocks: vec![block(), block()]
            }
        );
        let bye = parse(&build_bye(8)).unwrap();
        assert_eq!(bye, vec![RtcpPacket::Bye { ssrcs: vec![8] }]);
    }

    #[test]
    fn rejects_truncated_and_lying_lengths() {
        let d = build_report(8, None, &[block()], "x");
        assert!(parse(&d[..3]).is_err());
        assert!(parse(&d[..20]).is_err());
        let mut lying = d.clone();
        lying[0] = 0x85; // claims 5 blocks, holds 1
        assert_eq!(parse(&lying[..32]), Err(RtcpParseError::BadLength));
        lying[0] = 0x40;
        assert_eq!(parse(&lying), Err(RtcpParseError::BadVersion));
    }

    #[test]
    fn rtt_from_lsr_and_dlsr() {
        let now: u64 = 0x0000_1000_8000_0000; // middle 32 bits = 0x1000_8000
        let b = ReportBlock {
            lsr: 0x1000_0000,
            dlsr: 0x4000,
            ..block()
        };
        // 0x8000 - 0x4000 = 0x4000 units = 0.25 s
        assert_eq!(
            round_trip(&b, now),
            Some(std::time::Duration::from_millis(250))
        );
        assert_eq!(round_trip(&ReportBlock { lsr: 0, ..b }, now), None);
    }
}
