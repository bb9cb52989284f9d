//! The UDP sockets of one audio stream.
//!
//! RTP goes on an even port P and RTCP on P+1 (RFC 3550 section 11), which is what SDP implies
//! without `a=rtcp`. Muxed RTCP arriving on the RTP port is recognised too (RFC 5761), so a peer
//! that negotiated `a=rtcp-mux` works: the engine then passes `remote_rtcp = Some(remote_rtp)`
//! and reports go out from the RTP socket. Media is sent from the socket it is received on
//! (symmetric RTP), so NATs see one flow.

use std::net::{IpAddr, SocketAddr};

use tokio::net::UdpSocket;

use crate::error::MediaError;

/// A bound RTP/RTCP socket pair.
#[derive(Debug)]
pub struct RtpEndpoint {
    pub(crate) rtp: UdpSocket,
    pub(crate) rtcp: UdpSocket,
}

impl RtpEndpoint {
    /// Binds an even RTP port and the RTCP port above it on `ip` (`0.0.0.0` for all interfaces).
    pub async fn bind(ip: IpAddr) -> Result<RtpEndpoint, MediaError> {
        let err = |reason: String| MediaError::Bind { ip, reason };
        let mut last = String::from("no free port pair found");
        for _ in 0..64 {
            let rtp = UdpSocket::bind(SocketAddr::new(ip, 0)).await.map_err(|e| err(e.to_string()))?;
            let port = rtp.local_addr().map_err(|e| err(e.to_string()))?.port();
            if port % 2 == 1 || port == u16::MAX {
                // Try to take the even port below instead; otherwise pick again.
                drop(rtp);
                let even = port - 1;
                if let (Ok(a), Ok(b)) = (
                    UdpSocket::bind(SocketAddr::new(ip, even)).await,
                    UdpSocket::bind(SocketAddr::new(ip, port)).await,
                ) {
                    return Ok(RtpEndpoint { rtp: a, rtcp: b });
                }
                continue;
            }
            match UdpSocket::bind(SocketAddr::new(ip, port + 1)).await {
                Ok(rtcp) => return Ok(RtpEndpoint { rtp, rtcp }),
                Err(e) => last = e.to_string(),
            }
        }
        Err(err(last))
    }

    /// Where RTP is received (and sent from): the port to put in SDP `m=audio`.
    pub fn local_addr(&self) -> SocketAddr {
        self.rtp.local_addr().expect("bound socket has an address")
    }

    /// Where RTCP is received: always `local_addr()` port + 1.
    pub fn rtcp_local_addr(&self) -> SocketAddr {
        self.rtcp.local_addr().expect("bound socket has an address")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_even_port_pair() {
        for _ in 0..5 {
            let e = RtpEndpoint::bind("127.0.0.1".parse().unwrap()).await.unwrap();
            let p = e.local_addr().port();
            assert_eq!(p % 2, 0);
            assert_eq!(e.rtcp_local_addr().port(), p + 1);
        }
    }
}
