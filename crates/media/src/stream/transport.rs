//! The seam between the stream core and the network: which of the stream's two sockets a
//! datagram comes in on or goes out of, and the plain-UDP transport that moves them.
//!
//! The core never touches a socket: it is handed `(now, socket, from, bytes)` for every
//! datagram received and returns [`Transmit`]s for what should be sent. The drivers in
//! `session.rs` move bytes between those and [`Transport`]. This is where SRTP (protect on
//! send, unprotect on receive) and ICE (candidate pairs instead of one fixed socket pair) will
//! plug in later; today it is plain UDP on the [`RtpEndpoint`]'s two sockets.

use std::io;
use std::net::SocketAddr;

use crate::rtp_endpoint::RtpEndpoint;

/// One of the stream's two sockets: RTP on port P, RTCP on P+1 (muxed RTCP uses the RTP one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Socket {
    Rtp,
    Rtcp,
}

/// A datagram the core wants sent: out of `via`, to `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub via: Socket,
    pub to: SocketAddr,
    pub data: Vec<u8>,
}

/// Plain UDP over the stream's socket pair.
#[derive(Debug)]
pub struct Transport {
    endpoint: RtpEndpoint,
}

impl Transport {
    pub fn new(endpoint: RtpEndpoint) -> Transport {
        Transport { endpoint }
    }

    fn socket(&self, via: Socket) -> &tokio::net::UdpSocket {
        match via {
            Socket::Rtp => &self.endpoint.rtp,
            Socket::Rtcp => &self.endpoint.rtcp,
        }
    }

    /// Waits for the next datagram on `via`: its length in `buf` and where it came from.
    pub async fn recv(&self, via: Socket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket(via).recv_from(buf).await
    }

    /// Sends `data` out of `via` to `to`.
    pub async fn send(&self, via: Socket, data: &[u8], to: SocketAddr) -> io::Result<usize> {
        self.socket(via).send_to(data, to).await
    }

    /// Sends what the core asked for.
    pub async fn transmit(&self, t: &Transmit) -> io::Result<usize> {
        self.send(t.via, &t.data, t.to).await
    }
}
