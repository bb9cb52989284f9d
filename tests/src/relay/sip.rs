//! Puts an [`RtpRelay`] on the media path of a call between two SIP peers that know nothing of
//! it (baresip ↔ baresip): a UDP forwarder between the caller and the callee's SIP port that
//! rewrites the SDP in passing. The caller's offer gets the relay's right-hand RTP port (where
//! the callee will send) and the callee's answer gets the left-hand one; the addresses the
//! peers wrote become the relay's peers. Caller = left, callee = right, so the caller's audio
//! takes the relay's `to_right` impairment.
//!
//! The relay's peers are the ports the SDPs name at the address the SIP came from (peers may
//! write their default interface in `c=` yet send from loopback). Only what a two-party
//! loopback call needs: responses reach the forwarder because the peers
//! use `rport` (RFC 3581); in-dialog requests may go straight to the Contact, which is fine as
//! long as they carry no new SDP.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::udp::RtpRelay;

/// A media address found in an SDP body and the rewritten message.
#[derive(Debug, PartialEq)]
pub struct Rewritten {
    pub message: String,
    /// The audio address the SDP carried before rewriting.
    pub media: SocketAddr,
}

/// Rewrites the first audio stream of the SDP body of a SIP `message` to `ip:port` (session
/// and media `c=` lines, `m=audio` port) and fixes Content-Length. `None` when the message has
/// no SDP with an audio stream.
pub fn rewrite_sdp(message: &str, ip: IpAddr, port: u16) -> Option<Rewritten> {
    let (head, body) = message.split_once("\r\n\r\n")?;
    if !body.contains("m=audio ") {
        return None;
    }
    let mut conn: Option<IpAddr> = None;
    let mut media_port: Option<u16> = None;
    let mut out = String::with_capacity(body.len() + 16);
    for line in body.split_inclusive("\r\n") {
        let text = line.trim_end_matches("\r\n");
        let new = if let Some(rest) = text.strip_prefix("c=IN IP4 ") {
            if conn.is_none() || media_port.is_some() {
                conn = rest
                    .split('/')
                    .next()
                    .and_then(|a| a.trim().parse().ok())
                    .or(conn);
            }
            format!("c=IN IP4 {ip}")
        } else if let Some(rest) = text.strip_prefix("m=audio ") {
            let (p, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            media_port = p.parse().ok();
            format!("m=audio {port} {tail}")
        } else {
            text.to_string()
        };
        out.push_str(&new);
        if line.ends_with("\r\n") {
            out.push_str("\r\n");
        }
    }
    let media = SocketAddr::new(conn?, media_port?);
    let mut headers: Vec<String> = Vec::new();
    for h in head.split("\r\n") {
        let name = h
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if name == "content-length" || name == "l" {
            headers.push(format!("Content-Length: {}", out.len()));
        } else {
            headers.push(h.to_string());
        }
    }
    Some(Rewritten {
        message: format!("{}\r\n\r\n{out}", headers.join("\r\n")),
        media,
    })
}

/// The forwarder; stops when dropped.
pub struct SipForwarder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SipForwarder {
    /// Listens on `ip` (port chosen by the OS); whatever the callee (at `callee`) sends goes
    /// to the caller (the first other address that sends), everything else to the callee.
    /// With `log`, every message is appended to that file as forwarded.
    pub fn start(
        ip: IpAddr,
        callee: SocketAddr,
        relay: Arc<RtpRelay>,
        log: Option<PathBuf>,
    ) -> io::Result<SipForwarder> {
        let mut log = match log {
            Some(p) => Some(std::fs::File::create(p)?),
            None => None,
        };
        let sock = UdpSocket::bind(SocketAddr::new(ip, 0))?;
        sock.set_read_timeout(Some(Duration::from_millis(20)))?;
        let addr = sock.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new().name("sip-forwarder".into()).spawn(move || {
            let mut caller: Option<SocketAddr> = None;
            let mut buf = vec![0u8; 65_536];
            while !flag.load(Ordering::Relaxed) {
                let Ok((len, from)) = sock.recv_from(&mut buf) else { continue };
                let text = String::from_utf8_lossy(&buf[..len]).into_owned();
                let from_callee = from == callee;
                if !from_callee && caller.is_none() {
                    caller = Some(from);
                }
                let (to, relay_side) = if from_callee {
                    let Some(c) = caller else { continue };
                    // The callee's SDP goes to the caller, who must send to the left socket.
                    (c, relay.rtp.left_addr())
                } else {
                    (callee, relay.rtp.right_addr())
                };
                let original_media = rewrite_sdp(&text, relay_side.ip(), relay_side.port()).map(|r| r.media);
                let out = match rewrite_sdp(&text, relay_side.ip(), relay_side.port()) {
                    Some(r) => {
                        // The port from SDP, the address the SIP came from: a peer may write
                        // its default interface in c= (baresip does) yet send from loopback.
                        let media = SocketAddr::new(from.ip(), r.media.port());
                        let rtcp = SocketAddr::new(from.ip(), r.media.port() + 1);
                        if from_callee {
                            relay.rtp.set_right_peer(media);
                            relay.rtcp.set_right_peer(rtcp);
                        } else {
                            relay.rtp.set_left_peer(media);
                            relay.rtcp.set_left_peer(rtcp);
                        }
                        r.message
                    }
                    None => text,
                };
                if let Some(f) = log.as_mut() {
                    let _ = write!(f, "----- {from} -> forwarder -> {to} (SDP media was {original_media:?})\n{out}\n");
                }
                let _ = sock.send_to(out.as_bytes(), to);
            }
        })?;
        Ok(SipForwarder {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where the caller sends its INVITE.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for SipForwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@127.0.0.1:5070 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 999\r\n\r\n\
        v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 20010 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n";

    #[test]
    fn sdp_is_pointed_at_the_relay_and_length_fixed() {
        let r = rewrite_sdp(INVITE, "127.0.0.2".parse().unwrap(), 31000).unwrap();
        assert_eq!(
            r.media,
            "127.0.0.1:20010".parse::<std::net::SocketAddr>().unwrap()
        );
        assert!(r.message.contains("\r\nc=IN IP4 127.0.0.2\r\n"));
        assert!(r.message.contains("\r\nm=audio 31000 RTP/AVP 0 101\r\n"));
        assert!(
            r.message.contains("o=- 1 2 IN IP4 127.0.0.1"),
            "origin line is left alone"
        );
        let (_, body) = r.message.split_once("\r\n\r\n").unwrap();
        assert!(r
            .message
            .contains(&format!("Content-Length: {}\r\n", body.len())));
    }

    #[test]
    fn messages_without_audio_sdp_are_left_alone() {
        assert_eq!(
            rewrite_sdp(
                "SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\n",
                "127.0.0.1".parse().unwrap(),
                1
            ),
            None
        );
        assert_eq!(
            rewrite_sdp("garbage", "127.0.0.1".parse().unwrap(), 1),
            None
        );
    }
}
