//! STUN and TURN for one media socket: the address a NAT gives the socket (a server-reflexive
//! ICE candidate, RFC 8489 Binding) and a relayed address on a TURN server (RFC 8656 Allocate),
//! and afterwards the relay itself: permissions for the far end's addresses, data wrapped in
//! Send indications or ChannelData on the way out and unwrapped on the way in, allocation and
//! permission refreshes. webrtc-rs's sans-I/O `rtc-turn` client does the protocol (long-term
//! credentials, retransmissions, channel binding); this file feeds it the datagrams from the
//! servers and the time, and answers the transport's questions: is this datagram the server's,
//! what did the far end send through the relay, and what goes out to the server.
//!
//! Gathering runs before the SDP is written (the candidates go in it), on the socket the call
//! will use; the same object then moves with the socket into the call's transport, because a
//! TURN allocation belongs to that socket's 5-tuple.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc_shared::{TransportContext, TransportMessage, TransportProtocol};
use rtc_turn::client::{Client, ClientConfig, Event};
use sansio::Protocol;

use crate::stream::turn_link::TurnTransport;

/// A TURN server and the long-term credential it takes.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnServer {
    pub addr: SocketAddr,
    pub username: String,
    pub password: String,
    /// How the server is reached (UDP from the media socket, or a TCP/TLS connection).
    pub transport: TurnTransport,
}

impl fmt::Debug for TurnServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnServer")
            .field("addr", &self.addr)
            .field("username", &self.username)
            .field("password", &"***")
            .field("transport", &self.transport)
            .finish()
    }
}

/// Where a call's sockets learn their public and relayed addresses (resolved addresses).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IceServers {
    /// Binding requests go here (none: to the TURN server, which answers them too).
    pub stun: Option<SocketAddr>,
    pub turn: Option<TurnServer>,
}

impl IceServers {
    pub fn is_empty(&self) -> bool {
        self.stun.is_none() && self.turn.is_none()
    }

    /// Where Binding requests go: the STUN server, else a TURN server reached over UDP (over
    /// TCP/TLS it would see the connection's address, not the media socket's).
    pub fn binding_server(&self) -> Option<SocketAddr> {
        self.stun.or(self
            .turn
            .as_ref()
            .filter(|t| !t.transport.is_stream())
            .map(|t| t.addr))
    }
}

/// What a datagram that arrived on the socket was.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// Not from our servers: the caller's to handle.
    NotOurs,
    /// The servers' business (answers, refreshes), or something to drop.
    Consumed,
    /// Sent to our relayed address by `peer`: the datagram it sent.
    Relayed { peer: SocketAddr, data: Vec<u8> },
}

/// One socket's STUN/TURN client.
pub struct TurnClient {
    client: Client,
    servers: IceServers,
    /// The transaction ids of the Binding request and of the Allocate still unanswered.
    binding: Option<[u8; 12]>,
    allocate: Option<[u8; 12]>,
    reflexive: Option<SocketAddr>,
    relayed: Option<SocketAddr>,
    /// What went wrong, as sentences (a server that does not answer, refused credentials).
    problems: Vec<String>,
}

impl fmt::Debug for TurnClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnClient")
            .field("servers", &self.servers)
            .field("reflexive", &self.reflexive)
            .field("relayed", &self.relayed)
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl TurnClient {
    /// Starts gathering for the socket bound to `local`: a Binding request to the STUN server
    /// (or the TURN server) and an Allocate to the TURN server, if there is one.
    pub fn start(
        local: SocketAddr,
        servers: &IceServers,
        now: Instant,
    ) -> Result<TurnClient, String> {
        let turn = servers.turn.as_ref();
        let config = ClientConfig {
            stun_serv_addr: servers
                .binding_server()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            turn_serv_addr: turn.map(|t| t.addr.to_string()).unwrap_or_default(),
            local_addr: local,
            // Over TCP/TLS (`turn_link.rs`) the client sends each request once: the stream
            // retransmits. The relay it asks for is UDP either way.
            transport_protocol: if turn.is_some_and(|t| t.transport.is_stream()) {
                TransportProtocol::TCP
            } else {
                TransportProtocol::UDP
            },
            username: turn.map(|t| t.username.clone()).unwrap_or_default(),
            password: turn.map(|t| t.password.clone()).unwrap_or_default(),
            realm: String::new(),
            software: String::new(),
            // STUN's usual 500 ms first retransmission (RFC 8489 6.2.1) is long for a call
            // waiting on its candidates: a lost request is repeated sooner.
            rto_in_ms: 250,
            // Refreshes also keep the NAT's mapping toward the server alive while the call is
            // quiet (held, muted with DTX): well inside the usual 30 s UDP timeout.
            allocation_refresh_interval_cap: Some(Duration::from_secs(20)),
        };
        let provider = rtc_turn::crypto::default_provider()
            .map_err(|e| format!("STUN/TURN cannot start: {e}"))?;
        let mut client =
            Client::new(config, provider).map_err(|e| format!("STUN/TURN cannot start: {e}"))?;
        let binding = match servers.binding_server() {
            Some(_) => Some(
                client
                    .send_binding_request(now)
                    .map_err(|e| format!("STUN cannot start: {e}"))?
                    .0,
            ),
            None => None,
        };
        let allocate = match turn {
            Some(_) => Some(
                client
                    .allocate(now)
                    .map_err(|e| format!("TURN cannot start: {e}"))?
                    .0,
            ),
            None => None,
        };
        Ok(TurnClient {
            client,
            servers: servers.clone(),
            binding,
            allocate,
            reflexive: None,
            relayed: None,
            problems: Vec::new(),
        })
    }

    /// Whether every request of the gathering has been answered or has given up.
    pub fn gathered(&self) -> bool {
        self.binding.is_none() && self.allocate.is_none()
    }

    /// Whether the Binding request and the Allocate are still unanswered.
    pub fn unanswered(&self) -> (bool, bool) {
        (self.binding.is_some(), self.allocate.is_some())
    }

    /// The socket's address as the STUN server saw it.
    pub fn reflexive(&self) -> Option<SocketAddr> {
        self.reflexive
    }

    /// Our address on the TURN server, once allocated.
    pub fn relayed(&self) -> Option<SocketAddr> {
        self.relayed
    }

    /// What went wrong so far, as sentences for the user.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    fn is_server(&self, from: SocketAddr) -> bool {
        Some(from) == self.servers.stun || Some(from) == self.servers.turn.as_ref().map(|t| t.addr)
    }

    fn turn_addr(&self) -> String {
        self.servers
            .turn
            .as_ref()
            .map(|t| t.addr.to_string())
            .unwrap_or_default()
    }

    /// A datagram from `from` that arrived on the socket.
    pub fn handle(&mut self, now: Instant, from: SocketAddr, data: &[u8]) -> Inbound {
        if !self.is_server(from) {
            return Inbound::NotOurs;
        }
        let local = SocketAddr::from(([0, 0, 0, 0], 0));
        let msg = TransportMessage {
            now,
            transport: TransportContext {
                local_addr: local,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(data),
        };
        // A malformed or unexpected message from the server is dropped.
        let _ = self.client.handle_read(msg);
        self.take_events()
            .map_or(Inbound::Consumed, |(peer, data)| Inbound::Relayed {
                peer,
                data,
            })
    }

    /// Timers: retransmissions, allocation and permission refreshes.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = self.client.handle_timeout(now);
        let _ = self.take_events();
    }

    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.client.poll_timeout()
    }

    /// The next datagram for a server: where to.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        let t = self.client.poll_write()?;
        Some((t.transport.peer_addr, t.message.to_vec()))
    }

    /// Handles the client's events; returns the data a peer relayed, if that was one.
    fn take_events(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        let mut relayed = None;
        while let Some(e) = self.client.poll_event() {
            match e {
                Event::BindingResponse(id, addr) if Some(id.0) == self.binding => {
                    self.reflexive = Some(addr);
                    self.binding = None;
                }
                Event::BindingError(id, err) if Some(id.0) == self.binding => {
                    self.problems.push(format!(
                        "the STUN server {} refused our request: {err}",
                        self.servers
                            .binding_server()
                            .map(|a| a.to_string())
                            .unwrap_or_default()
                    ));
                    self.binding = None;
                }
                Event::AllocateResponse(id, addr) if Some(id.0) == self.allocate => {
                    self.relayed = Some(addr);
                    self.allocate = None;
                }
                Event::AllocateError(id, err) if Some(id.0) == self.allocate => {
                    let err = err.to_string();
                    let why = if err.contains("401") {
                        format!(
                            "the TURN server {} refused our user name and password (401)",
                            self.turn_addr()
                        )
                    } else {
                        format!(
                            "the TURN server {} gave us no relay: {err}",
                            self.turn_addr()
                        )
                    };
                    self.problems.push(why);
                    self.allocate = None;
                }
                Event::TransactionTimeout(id) => {
                    if Some(id.0) == self.binding {
                        self.problems.push(format!(
                            "the STUN server {} did not answer",
                            self.servers
                                .binding_server()
                                .map(|a| a.to_string())
                                .unwrap_or_default()
                        ));
                        self.binding = None;
                    } else if self.allocate.is_some_and(|a| a[..11] == id.0[..11]) {
                        // The unauthenticated first Allocate's id differs in its last byte.
                        self.problems.push(format!(
                            "the TURN server {} did not answer",
                            self.turn_addr()
                        ));
                        self.allocate = None;
                    }
                }
                Event::DataIndicationOrChannelData(_, peer, data) => {
                    relayed = Some((peer, data.to_vec()))
                }
                _ => {}
            }
        }
        relayed
    }

    /// Lets `peer` send to our relayed address and us to it (the server drops data from anyone
    /// without a permission). Asked again for the same address, nothing is sent.
    pub fn permit(&mut self, now: Instant, peer: SocketAddr) {
        // A relay of one address family reaches peers of that family only (RFC 8656 12: 443).
        if let Some(relayed) = self.relayed.filter(|r| r.is_ipv4() == peer.is_ipv4()) {
            if let Ok(mut relay) = self.client.relay(relayed) {
                let _ = relay.create_permission(now, peer);
            }
        }
    }

    /// Sends `data` to `peer` through the relay (out through [`TurnClient::poll_transmit`]).
    /// Without a permission for `peer` yet one is asked for and this datagram is dropped, as
    /// the network would drop it; false when there is no allocation.
    pub fn send(&mut self, now: Instant, peer: SocketAddr, data: &[u8]) -> bool {
        let Some(relayed) = self.relayed else {
            return false;
        };
        let Ok(mut relay) = self.client.relay(relayed) else {
            return false;
        };
        if relay.send_to(now, data, peer).is_err() {
            let _ = relay.create_permission(now, peer);
        }
        true
    }

    /// Gives the allocation back (a Refresh with lifetime 0), when the call ends.
    pub fn close(&mut self, now: Instant) {
        if let Some(relayed) = self.relayed.take() {
            if let Ok(mut relay) = self.client.relay(relayed) {
                let _ = relay.close(now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers() -> IceServers {
        IceServers {
            stun: None,
            turn: Some(TurnServer {
                addr: "127.0.0.1:3478".parse().unwrap(),
                username: "agent".into(),
                password: "turn-secret".into(),
                transport: TurnTransport::Udp,
            }),
        }
    }

    /// Gathering sends a Binding request and an (unauthenticated) Allocate to the TURN server,
    /// which also answers Binding requests when no STUN server is named.
    #[test]
    fn gathering_asks_the_turn_server_for_our_address_and_a_relay() {
        let now = Instant::now();
        let mut c = TurnClient::start("10.0.0.2:4000".parse().unwrap(), &servers(), now).unwrap();
        let mut sent = Vec::new();
        while let Some((to, data)) = c.poll_transmit() {
            assert_eq!(to, "127.0.0.1:3478".parse::<SocketAddr>().unwrap());
            sent.push(u16::from_be_bytes([data[0], data[1]]));
        }
        // STUN message types: Binding request 0x0001, Allocate request 0x0003.
        sent.sort();
        assert_eq!(sent, vec![0x0001, 0x0003]);
        assert!(!c.gathered());
    }

    /// A server that never answers: gathering ends with a sentence for each request, and the
    /// datagrams of anyone else are left to the caller.
    #[test]
    fn a_silent_server_is_named_and_gathering_ends() {
        let mut now = Instant::now();
        let mut c = TurnClient::start("10.0.0.2:4000".parse().unwrap(), &servers(), now).unwrap();
        for _ in 0..400 {
            c.handle_timeout(now);
            while c.poll_transmit().is_some() {}
            if c.gathered() {
                break;
            }
            now += Duration::from_millis(100);
        }
        assert!(c.gathered(), "{c:?}");
        assert_eq!(c.reflexive(), None);
        assert_eq!(c.relayed(), None);
        let problems = c.problems().join("; ");
        assert!(
            problems.contains("TURN server 127.0.0.1:3478 did not answer"),
            "{problems}"
        );
        assert_eq!(
            c.handle(now, "10.9.9.9:5000".parse().unwrap(), b"rtp"),
            Inbound::NotOurs
        );
    }

    #[test]
    fn the_turn_password_stays_out_of_debug() {
        let c = TurnClient::start("10.0.0.2:4000".parse().unwrap(), &servers(), Instant::now())
            .unwrap();
        assert!(!format!("{c:?}").contains("turn-secret"));
        assert!(!format!("{:?}", servers()).contains("turn-secret"));
    }
}
