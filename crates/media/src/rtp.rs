//! RTP packets (RFC 3550 section 5): parsing untrusted datagrams and building our own.
//! Parsing never panics; anything odd is a [`RtpParseError`] the session counts and drops.

/// The largest datagram we accept as media. Anything bigger is counted as oversized.
pub const MAX_DATAGRAM: usize = 1500;

/// Why a datagram is not a usable RTP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtpParseError {
    TooShort,
    TooLarge,
    BadVersion,
    BadCsrcCount,
    BadExtension,
    BadPadding,
}

/// A parsed RTP packet borrowing the datagram it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: &'a [u8],
}

/// True if the datagram looks like RTCP rather than RTP (RFC 5761 section 4: packet types 192-223).
pub fn is_rtcp(datagram: &[u8]) -> bool {
    datagram.len() >= 2 && (192..=223).contains(&datagram[1])
}

/// Parses an RTP packet, validating every length field against the datagram.
pub fn parse(datagram: &[u8]) -> Result<RtpPacket<'_>, RtpParseError> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(RtpParseError::TooLarge);
    }
    if datagram.len() < 12 {
        return Err(RtpParseError::TooShort);
    }
    let b0 = datagram[0];
    if b0 >> 6 != 2 {
        return Err(RtpParseError::BadVersion);
    }
    let padding = b0 & 0x20 != 0;
    let extension = b0 & 0x10 != 0;
    let csrc_count = (b0 & 0x0F) as usize;
    let mut offset = 12 + 4 * csrc_count;
    if offset > datagram.len() {
        return Err(RtpParseError::BadCsrcCount);
    }
    if extension {
        if offset + 4 > datagram.len() {
            return Err(RtpParseError::BadExtension);
        }
        let words = u16::from_be_bytes([datagram[offset + 2], datagram[offset + 3]]) as usize;
        offset += 4 + 4 * words;
        if offset > datagram.len() {
            return Err(RtpParseError::BadExtension);
        }
    }
    let mut end = datagram.len();
    if padding {
        let pad = datagram[end - 1] as usize;
        if pad == 0 || offset + pad > end {
            return Err(RtpParseError::BadPadding);
        }
        end -= pad;
    }
    Ok(RtpPacket {
        marker: datagram[1] & 0x80 != 0,
        payload_type: datagram[1] & 0x7F,
        sequence: u16::from_be_bytes([datagram[2], datagram[3]]),
        timestamp: u32::from_be_bytes([datagram[4], datagram[5], datagram[6], datagram[7]]),
        ssrc: u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]),
        payload: &datagram[offset..end],
    })
}

/// Writes a minimal RTP packet (no CSRCs, extension or padding) into `out`, replacing its contents.
pub fn build(
    out: &mut Vec<u8>,
    marker: bool,
    payload_type: u8,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    payload: &[u8],
) {
    out.clear();
    out.push(0x80);
    out.push(((marker as u8) << 7) | (payload_type & 0x7F));
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_then_parse() {
        let mut buf = Vec::new();
        build(
            &mut buf,
            true,
            111,
            65535,
            0xDEADBEEF,
            0x01020304,
            &[9, 8, 7],
        );
        assert_eq!(buf.len(), 15);
        assert_eq!(&buf[..2], &[0x80, 0x80 | 111]);
        let p = parse(&buf).unwrap();
        assert_eq!(
            p,
            RtpPacket {
                marker: true,
                payload_type: 111,
                sequence: 65535,
                timestamp: 0xDEADBEEF,
                ssrc: 0x01020304,
                payload: &[9, 8, 7]
            }
        );
        assert!(!is_rtcp(&buf));
    }

    #[test]
    fn parses_csrcs_extension_and_padding() {
        let mut d = vec![0x80 | 0x20 | 0x10 | 0x02, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        d.extend_from_slice(&[0; 8]); // two CSRCs
        d.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4]); // one-word extension
        d.extend_from_slice(&[0xAA, 0xBB]); // payload
        d.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        let p = parse(&d).unwrap();
        assert_eq!(p.payload, &[0xAA, 0xBB]);
        assert_eq!(p.sequence, 1);
    }

    #[test]
    fn rejects_malformed_datagrams() {
        assert_eq!(parse(&[]), Err(RtpParseError::TooShort));
        assert_eq!(parse(&[0x80; 11]), Err(RtpParseError::TooShort));
        assert_eq!(parse(&[0x40; 12]), Err(RtpParseError::BadVersion));
        let mut d = vec![0x8F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse(&d), Err(RtpParseError::BadCsrcCount));
        d[0] = 0x90; // extension flag but no extension header
        assert_eq!(parse(&d), Err(RtpParseError::BadExtension));
        d.extend_from_slice(&[0, 0, 0xFF, 0xFF]); // extension claiming 65535 words
        assert_eq!(parse(&d), Err(RtpParseError::BadExtension));
        let mut p = vec![0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 200];
        assert_eq!(parse(&p), Err(RtpParseError::BadPadding));
        *p.last_mut().unwrap() = 0;
        assert_eq!(parse(&p), Err(RtpParseError::BadPadding));
        assert_eq!(
            parse(&vec![0x80; MAX_DATAGRAM + 1]),
            Err(RtpParseError::TooLarge)
        );
    }

    #[test]
    fn never_panics_on_random_bytes() {
        let mut x: u32 = 12345;
        for len in 0..200 {
            let d: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1664525).wrapping_add(1013904223);
                    (x >> 24) as u8
                })
                .collect();
            if let Ok(p) = parse(&d) {
                assert!(p.payload.len() <= d.len());
            }
        }
    }

    #[test]
    fn recognises_rtcp_by_packet_type() {
        assert!(is_rtcp(&[0x80, 200, 0, 6]));
        assert!(is_rtcp(&[0x81, 201, 0, 7]));
        assert!(!is_rtcp(&[0x80, 0]));
        assert!(!is_rtcp(&[0x80, 0x80 | 96]));
    }
}
