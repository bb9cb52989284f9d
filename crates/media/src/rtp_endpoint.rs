//! The UDP sockets of one audio stream.
//!
//! RTP goes on an even port P and RTCP on P+1 (RFC 3550 section 11), which is what SDP implies
//! without `a=rtcp`. Muxed RTCP arriving on the RTP port is recognised too (RFC 5761), so a peer
//! that negotiated `a=rtcp-mux` works: the engine then passes `remote_rtcp = Some(remote_rtp)`
//! and reports go out from the RTP socket. Media is sent from the socket it is received on
//! (symmetric RTP), so NATs see one flow.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use std::sync::Arc;

use tokio::net::UdpSocket;

use crate::error::MediaError;
use crate::stream::turn::{IceServers, Inbound, TurnClient};
use crate::stream::turn_link::TurnLink;

/// A bound RTP/RTCP socket pair.
#[derive(Debug)]
pub struct RtpEndpoint {
    pub(crate) rtp: UdpSocket,
    pub(crate) rtcp: UdpSocket,
    /// The sockets' TURN allocations (RTP, RTCP), which the call's transport then relays through.
    pub(crate) turn: [Option<TurnClient>; 2],
    /// Their connections to the TURN server when it is reached over TCP or TLS.
    pub(crate) turn_links: [Option<Arc<TurnLink>>; 2],
}

/// Sends `data` for `to` from `socket`, or over `link` when it is the TURN server's connection.
pub(crate) fn send_now(
    socket: &UdpSocket,
    link: Option<&TurnLink>,
    to: SocketAddr,
    data: Vec<u8>,
) -> std::io::Result<()> {
    match link.filter(|l| l.server() == to) {
        Some(l) => {
            l.send(data);
            Ok(())
        }
        None => socket.try_send_to(&data, to).map(|_| ()),
    }
}

/// [`send_now`], waiting for the socket to take the datagram.
pub(crate) async fn send(
    socket: &UdpSocket,
    link: Option<&TurnLink>,
    to: SocketAddr,
    data: &[u8],
) -> std::io::Result<usize> {
    match link.filter(|l| l.server() == to) {
        Some(l) => {
            l.send(data.to_vec());
            Ok(data.len())
        }
        None => socket.send_to(data, to).await,
    }
}

/// The next message from `link`'s server; never, without a link.
pub(crate) async fn from_link(link: Option<&TurnLink>) -> Result<Vec<u8>, String> {
    match link {
        Some(l) => l.recv().await,
        None => std::future::pending().await,
    }
}

/// What one socket learned from the STUN/TURN servers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// The address a NAT gave the socket (as the STUN server saw it).
    pub reflexive: Option<SocketAddr>,
    /// Our address on the TURN server.
    pub relayed: Option<SocketAddr>,
}

/// What [`RtpEndpoint::gather`] learned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gathered {
    pub rtp: Found,
    pub rtcp: Found,
    /// What went wrong, as sentences (a server that did not answer, refused credentials).
    pub problems: Vec<String>,
}

impl RtpEndpoint {
    /// Binds an even RTP port and the RTCP port above it on `ip` (`0.0.0.0` for all interfaces).
    pub async fn bind(ip: IpAddr) -> Result<RtpEndpoint, MediaError> {
        let err = |reason: String| MediaError::Bind { ip, reason };
        let mut last = String::from("no free port pair found");
        for _ in 0..64 {
            let rtp = UdpSocket::bind(SocketAddr::new(ip, 0))
                .await
                .map_err(|e| err(e.to_string()))?;
            let port = rtp.local_addr().map_err(|e| err(e.to_string()))?.port();
            if port % 2 == 1 || port == u16::MAX {
                // Try to take the even port below instead; otherwise pick again.
                drop(rtp);
                let even = port - 1;
                if let (Ok(a), Ok(b)) = (
                    UdpSocket::bind(SocketAddr::new(ip, even)).await,
                    UdpSocket::bind(SocketAddr::new(ip, port)).await,
                ) {
                    return Ok(RtpEndpoint {
                        rtp: a,
                        rtcp: b,
                        turn: [None, None],
                        turn_links: [None, None],
                    });
                }
                continue;
            }
            match UdpSocket::bind(SocketAddr::new(ip, port + 1)).await {
                Ok(rtcp) => {
                    return Ok(RtpEndpoint {
                        rtp,
                        rtcp,
                        turn: [None, None],
                        turn_links: [None, None],
                    })
                }
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

    /// Gives back TURN allocations made by [`RtpEndpoint::gather`] that no call will use (sent
    /// at once, not waited for).
    pub fn release(&mut self) {
        for (i, slot) in self.turn.iter_mut().enumerate() {
            let Some(mut client) = slot.take() else {
                continue;
            };
            client.close(Instant::now());
            let socket = if i == 0 { &self.rtp } else { &self.rtcp };
            while let Some((to, data)) = client.poll_transmit() {
                let _ = send_now(socket, self.turn_links[i].as_deref(), to, data);
            }
        }
        self.turn_links = [None, None];
    }

    /// Asks `servers`, from both sockets, for the address a NAT gives each (STUN Binding) and
    /// for a relayed address (TURN Allocate), waiting at most `within` for the answers: a call
    /// does not wait long for a candidate. Allocations made are kept for the call's transport.
    pub async fn gather(&mut self, servers: &IceServers, within: Duration) -> Gathered {
        let mut gathered = Gathered::default();
        let start = Instant::now();
        let deadline = start + within;
        let mut clients: [Option<TurnClient>; 2] = [None, None];
        // Over TCP/TLS each socket's client gets its own connection to the server first (an
        // allocation belongs to one connection); without one that socket asks for no relay.
        let mut links: [Option<Arc<TurnLink>>; 2] = [None, None];
        let mut without_turn = servers.clone();
        without_turn.turn = None;
        if let Some(t) = servers.turn.as_ref().filter(|t| t.transport.is_stream()) {
            let connect = || TurnLink::connect(t.addr, &t.transport, within);
            let (rtp, rtcp) = tokio::join!(connect(), connect());
            for (i, r) in [rtp, rtcp].into_iter().enumerate() {
                match r {
                    Ok(link) => links[i] = Some(Arc::new(link)),
                    Err(e) => gathered.problems.push(e),
                }
            }
        }
        for (i, socket) in [&self.rtp, &self.rtcp].into_iter().enumerate() {
            let local = socket
                .local_addr()
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
            let stream_failed = servers
                .turn
                .as_ref()
                .is_some_and(|t| t.transport.is_stream())
                && links[i].is_none();
            let these = if stream_failed {
                &without_turn
            } else {
                servers
            };
            if these.is_empty() {
                continue;
            }
            match TurnClient::start(local, these, start) {
                Ok(c) => clients[i] = Some(c),
                Err(e) => {
                    gathered.problems.push(e);
                    break;
                }
            }
        }
        let (mut buf_rtp, mut buf_rtcp) = (vec![0u8; 2048], vec![0u8; 2048]);
        loop {
            for (i, socket) in [&self.rtp, &self.rtcp].into_iter().enumerate() {
                if let Some(c) = clients[i].as_mut() {
                    while let Some((to, data)) = c.poll_transmit() {
                        let _ = send(socket, links[i].as_deref(), to, &data).await;
                    }
                }
            }
            if clients.iter().flatten().all(TurnClient::gathered) {
                break;
            }
            let wake = clients
                .iter_mut()
                .flatten()
                .filter_map(TurnClient::poll_timeout)
                .min()
                .map_or(deadline, |t| t.min(deadline));
            let turn_addr = servers.turn.as_ref().map(|t| t.addr);
            tokio::select! {
                r = self.rtp.recv_from(&mut buf_rtp) => if let (Ok((n, from)), Some(c)) = (r, clients[0].as_mut()) {
                    // Nothing but the servers knows these sockets yet: anything else is dropped.
                    let _: Inbound = c.handle(Instant::now(), from, &buf_rtp[..n]);
                },
                r = self.rtcp.recv_from(&mut buf_rtcp) => if let (Ok((n, from)), Some(c)) = (r, clients[1].as_mut()) {
                    let _: Inbound = c.handle(Instant::now(), from, &buf_rtcp[..n]);
                },
                r = from_link(links[0].as_deref()) => match (r, clients[0].as_mut(), turn_addr) {
                    (Ok(m), Some(c), Some(server)) => { let _: Inbound = c.handle(Instant::now(), server, &m); }
                    (Err(e), _, _) => { gathered.problems.push(e); links[0] = None; }
                    _ => {}
                },
                r = from_link(links[1].as_deref()) => match (r, clients[1].as_mut(), turn_addr) {
                    (Ok(m), Some(c), Some(server)) => { let _: Inbound = c.handle(Instant::now(), server, &m); }
                    (Err(e), _, _) => { gathered.problems.push(e); links[1] = None; }
                    _ => {}
                },
                _ = tokio::time::sleep_until(wake.into()) => {
                    for c in clients.iter_mut().flatten() {
                        c.handle_timeout(Instant::now());
                    }
                }
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        let waited = format!("within {:.1} s", within.as_secs_f32());
        for c in clients.iter().flatten() {
            let (binding, allocating) = c.unanswered();
            if let (true, Some(addr)) = (binding, servers.binding_server()) {
                gathered
                    .problems
                    .push(format!("the STUN server {addr} did not answer {waited}"));
            }
            if let (true, Some(t)) = (allocating, &servers.turn) {
                gathered.problems.push(format!(
                    "the TURN server {} did not answer {waited}",
                    t.addr
                ));
            }
        }
        for (i, slot) in clients.into_iter().enumerate() {
            let Some(c) = slot else { continue };
            gathered.problems.extend(c.problems().iter().cloned());
            let found = Found {
                reflexive: c.reflexive(),
                relayed: c.relayed(),
            };
            if i == 0 {
                gathered.rtp = found;
            } else {
                gathered.rtcp = found;
            }
            // Kept only for an allocation: a reflexive address needs nothing more from the server.
            if c.relayed().is_some() {
                self.turn[i] = Some(c);
                self.turn_links[i] = links[i].take();
            }
        }
        // Both sockets usually meet the same fate: said once.
        let mut seen = std::collections::HashSet::new();
        gathered.problems.retain(|p| seen.insert(p.clone()));
        gathered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_even_port_pair() {
        for _ in 0..5 {
            let e = RtpEndpoint::bind("127.0.0.1".parse().unwrap())
                .await
                .unwrap();
            let p = e.local_addr().port();
            assert_eq!(p % 2, 0);
            assert_eq!(e.rtcp_local_addr().port(), p + 1);
        }
    }
}
