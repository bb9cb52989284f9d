//! ICE (RFC 8445) for one stream: connectivity checks between our candidates and the far end's,
//! the pair media then uses, and which source addresses have proven themselves. webrtc-rs's
//! sans-I/O `rtc-ice` agent does the checks (STUN, priorities, nomination, consent keep-alives);
//! this file feeds it the STUN datagrams and the time, hands back what to send and answers the
//! transport's two questions: where does media go, and may media from this address be played.
//!
//! One link per component: RTP (1), and RTCP (2) when it is not muxed, each with its own agent
//! on its own socket (the same credentials). Our candidates are the ones our SDP carried
//! (`a=candidate` values); those of a component share its socket's address as their base, so a
//! check answered from any of them is sent from that socket.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc_ice::agent::agent_config::AgentConfig;
use rtc_ice::candidate::{unmarshal_candidate, CandidateType};
use rtc_ice::mdns::MulticastDnsMode;
use rtc_ice::state::ConnectionState;
use rtc_ice::{Agent, Event};
use rtc_shared::{TransportContext, TransportMessage, TransportProtocol};
use sansio::Protocol;

/// What the SDP exchange gave ICE for a stream.
#[derive(Clone, PartialEq, Eq)]
pub struct IceParams {
    pub local_ufrag: String,
    pub local_pwd: String,
    pub remote_ufrag: String,
    pub remote_pwd: String,
    /// Ours, as our SDP wrote them (`a=candidate:` values).
    pub local_candidates: Vec<String>,
    /// The far end's, as its SDP wrote them (component 1, UDP).
    pub remote_candidates: Vec<String>,
    /// We nominate the pair (RFC 8445 6.1.1: the offerer, with a full peer).
    pub controlling: bool,
}

impl fmt::Debug for IceParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The passwords key the checks' MESSAGE-INTEGRITY: never in a log.
        f.debug_struct("IceParams")
            .field("local_ufrag", &self.local_ufrag)
            .field("remote_ufrag", &self.remote_ufrag)
            .field("local_candidates", &self.local_candidates)
            .field("remote_candidates", &self.remote_candidates)
            .field("controlling", &self.controlling)
            .finish_non_exhaustive()
    }
}

/// How far the checks are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IceState {
    Checking,
    /// A pair is selected: media goes to `remote`, from our candidate `local` (a relayed one
    /// means through the TURN server).
    Connected {
        local: SocketAddr,
        remote: SocketAddr,
        local_kind: &'static str,
        remote_kind: &'static str,
    },
    /// No pair worked (or consent was lost): the reason, for the user.
    Failed(String),
}

/// The ICE agent of one stream.
pub struct IceLink {
    agent: Agent,
    params: IceParams,
    /// The socket's address as our candidates name it (the host candidate's).
    base: SocketAddr,
    /// Our relayed candidate's address on the TURN server, if we have one.
    relayed: Option<SocketAddr>,
    component: u16,
    state: IceState,
}

impl fmt::Debug for IceLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceLink")
            .field("params", &self.params)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

fn kind(t: CandidateType) -> &'static str {
    match t {
        CandidateType::Host => "host",
        CandidateType::ServerReflexive => "srflx",
        CandidateType::PeerReflexive => "prflx",
        CandidateType::Relay => "relay",
        _ => "unknown",
    }
}

/// Whether a datagram is a STUN message (RFC 7983: first byte 0-3, and RFC 5389's magic cookie).
pub fn is_stun(data: &[u8]) -> bool {
    data.len() >= 20 && data[0] < 4 && data[4..8] == [0x21, 0x12, 0xA4, 0x42]
}

impl IceLink {
    /// Starts the checks of `component` at `now`. Fails (with a sentence) when no candidate of
    /// ours can be read or the agent cannot be made.
    pub fn new(params: &IceParams, component: u16, now: Instant) -> Result<IceLink, String> {
        let config = AgentConfig {
            local_ufrag: params.local_ufrag.clone(),
            local_pwd: params.local_pwd.clone(),
            // No mDNS: SIP peers name their candidates by address.
            multicast_dns_mode: MulticastDnsMode::Disabled,
            is_controlling: params.controlling,
            check_interval: Duration::from_millis(50),
            // A path that stops answering consent checks for 30 s is gone (RFC 7675).
            disconnected_timeout: Some(Duration::from_secs(5)),
            failed_timeout: Some(Duration::from_secs(25)),
            keepalive_interval: Some(Duration::from_secs(2)),
            ..Default::default()
        };
        let provider =
            rtc_ice::crypto::default_provider().map_err(|e| format!("ICE cannot start: {e}"))?;
        let mut agent = Agent::new(now, Arc::new(config), provider)
            .map_err(|e| format!("ICE cannot start: {e}"))?;
        let (mut base, mut relayed) = (None, None);
        for raw in &params.local_candidates {
            let c = unmarshal_candidate(raw)
                .map_err(|e| format!("our ICE candidate \"{raw}\" cannot be used: {e}"))?;
            if c.component() != component {
                continue;
            }
            match c.candidate_type() {
                CandidateType::Host => _ = base.get_or_insert(c.addr()),
                CandidateType::Relay => _ = relayed.get_or_insert(c.addr()),
                _ => {}
            }
            agent
                .add_local_candidate(c)
                .map_err(|e| format!("our ICE candidate \"{raw}\" cannot be used: {e}"))?;
        }
        let base = base.ok_or("ICE needs a host candidate of ours, and none was given")?;
        for raw in &params.remote_candidates {
            // One the agent cannot take (a family we have no candidate for...) leaves the others.
            match unmarshal_candidate(raw) {
                Ok(c) if c.component() == component => {
                    let _ = agent.add_remote_candidate(c);
                }
                _ => {}
            }
        }
        agent
            .start_connectivity_checks(
                now,
                params.controlling,
                params.remote_ufrag.clone(),
                params.remote_pwd.clone(),
            )
            .map_err(|e| format!("ICE cannot start: {e}"))?;
        Ok(IceLink {
            agent,
            params: params.clone(),
            base,
            relayed,
            component,
            state: IceState::Checking,
        })
    }

    pub fn params(&self) -> &IceParams {
        &self.params
    }

    pub fn state(&self) -> &IceState {
        &self.state
    }

    fn context(&self, local: SocketAddr, peer: SocketAddr) -> TransportContext {
        TransportContext {
            local_addr: local,
            peer_addr: peer,
            ecn: None,
            transport_protocol: TransportProtocol::UDP,
        }
    }

    /// Our relayed candidate's address (on the TURN server), if we offered one.
    pub fn relayed(&self) -> Option<SocketAddr> {
        self.relayed
    }

    /// The far end's candidate addresses (the TURN server needs a permission for each).
    pub fn remote_addresses(&self) -> Vec<SocketAddr> {
        self.params
            .remote_candidates
            .iter()
            .filter_map(|raw| unmarshal_candidate(raw).ok())
            .filter(|c| c.component() == self.component)
            .map(|c| c.addr())
            .collect()
    }

    /// A STUN datagram from `from` that arrived on the socket itself.
    pub fn handle_stun(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        self.handle_stun_at(now, self.base, from, data)
    }

    /// A STUN datagram from `from` that arrived at our candidate `local` (the socket's address,
    /// or our relayed address when the TURN server relayed it).
    pub fn handle_stun_at(
        &mut self,
        now: Instant,
        local: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    ) {
        let msg = TransportMessage {
            now,
            transport: self.context(local, from),
            message: BytesMut::from(data),
        };
        // A check the agent will not take (unknown username, bad integrity) is dropped.
        let _ = self.agent.handle_read(msg);
        self.take_events();
    }

    /// Timers: checks to pace, retransmissions, consent.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = self.agent.handle_timeout(now);
        self.take_events();
    }

    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.agent.poll_timeout()
    }

    /// The next STUN datagram to send: from which of our candidates (the socket's address or
    /// our relayed one), and where to.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, SocketAddr, Vec<u8>)> {
        let t = self.agent.poll_write()?;
        Some((
            t.transport.local_addr,
            t.transport.peer_addr,
            t.message.to_vec(),
        ))
    }

    fn take_events(&mut self) {
        while let Some(e) = self.agent.poll_event() {
            match e.event {
                Event::SelectedCandidatePairChange(local, remote) => {
                    self.state = IceState::Connected {
                        local: local.addr(),
                        remote: remote.addr(),
                        local_kind: kind(local.candidate_type()),
                        remote_kind: kind(remote.candidate_type()),
                    };
                }
                Event::ConnectionStateChange(ConnectionState::Failed) => {
                    let why = if matches!(self.state, IceState::Connected { .. }) {
                        "the far end stopped answering ICE consent checks"
                    } else {
                        "ICE found no working path to the far end (none of its candidates answered)"
                    };
                    self.state = IceState::Failed(why.to_string());
                }
                _ => {}
            }
        }
    }

    /// Where media goes: the selected pair's far end, once there is one.
    pub fn remote(&self) -> Option<SocketAddr> {
        match self.state {
            IceState::Connected { remote, .. } => Some(remote),
            _ => None,
        }
    }

    /// Whether media goes through the TURN server (the selected pair's local candidate is our
    /// relayed one).
    pub fn relaying(&self) -> bool {
        matches!(self.state, IceState::Connected { local, .. } if Some(local) == self.relayed)
    }

    /// Whether media from `from` that arrived on the socket itself comes over a pair ICE has
    /// validated (a proven source).
    pub fn proven(&mut self, now: Instant, from: SocketAddr) -> bool {
        self.proven_at(now, self.base, from)
    }

    /// The same for media that arrived at our candidate `local` (our relayed address: through
    /// the TURN server).
    pub fn proven_at(&mut self, now: Instant, local: SocketAddr, from: SocketAddr) -> bool {
        let ctx = self.context(local, from);
        self.agent.is_valid_non_stun_traffic(now, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(local: &str, remote: &str, controlling: bool, (lu, ru): (&str, &str)) -> IceParams {
        IceParams {
            local_ufrag: lu.into(),
            local_pwd: format!("{lu}-password-0123456789"),
            remote_ufrag: ru.into(),
            remote_pwd: format!("{ru}-password-0123456789"),
            local_candidates: vec![format!(
                "1 1 UDP 2130706431 {} {} typ host",
                local.split(':').next().unwrap(),
                local.split(':').nth(1).unwrap()
            )],
            remote_candidates: vec![format!(
                "1 1 UDP 2130706431 {} {} typ host",
                remote.split(':').next().unwrap(),
                remote.split(':').nth(1).unwrap()
            )],
            controlling,
        }
    }

    /// Two agents exchanging their checks in virtual time: both select the pair, media from the
    /// far end's candidate is proven, from a third address it is not.
    #[test]
    fn two_agents_agree_on_a_pair_in_virtual_time() {
        let a_addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let b_addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut now = Instant::now();
        let mut a = IceLink::new(
            &params("127.0.0.1:4000", "127.0.0.1:5000", true, ("aaaa", "bbbb")),
            1,
            now,
        )
        .unwrap();
        let mut b = IceLink::new(
            &params("127.0.0.1:5000", "127.0.0.1:4000", false, ("bbbb", "aaaa")),
            1,
            now,
        )
        .unwrap();
        for _ in 0..200 {
            a.handle_timeout(now);
            b.handle_timeout(now);
            while let Some((_, to, data)) = a.poll_transmit() {
                assert!(is_stun(&data));
                if to == b_addr {
                    b.handle_stun(now, a_addr, &data);
                }
            }
            while let Some((_, to, data)) = b.poll_transmit() {
                if to == a_addr {
                    a.handle_stun(now, b_addr, &data);
                }
            }
            if a.remote().is_some() && b.remote().is_some() {
                break;
            }
            now += Duration::from_millis(10);
        }
        assert_eq!(a.remote(), Some(b_addr), "{:?}", a.state());
        assert_eq!(b.remote(), Some(a_addr), "{:?}", b.state());
        assert!(matches!(
            a.state(),
            IceState::Connected {
                local_kind: "host",
                remote_kind: "host",
                ..
            }
        ));
        assert!(a.proven(now, b_addr));
        assert!(!a.proven(now, "127.0.0.1:6666".parse().unwrap()));
    }

    /// A far end that never answers: the checks give up with a sentence.
    #[test]
    fn silence_fails_with_a_reason() {
        let mut now = Instant::now();
        let mut a = IceLink::new(
            &params("127.0.0.1:4000", "127.0.0.1:5000", true, ("aaaa", "bbbb")),
            1,
            now,
        )
        .unwrap();
        for _ in 0..400 {
            a.handle_timeout(now);
            while a.poll_transmit().is_some() {}
            now += Duration::from_millis(100);
        }
        match a.state() {
            IceState::Failed(why) => assert!(why.contains("no working path"), "{why}"),
            other => panic!("still {other:?}"),
        }
    }

    #[test]
    fn stun_is_told_from_rtp_and_dtls() {
        let mut stun = vec![0u8; 20];
        stun[1] = 1;
        stun[4..8].copy_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        assert!(is_stun(&stun));
        let mut rtp = stun.clone();
        rtp[0] = 0x80;
        assert!(!is_stun(&rtp));
        assert!(!is_stun(&[0u8; 12]));
    }

    #[test]
    fn passwords_stay_out_of_debug() {
        let p = params("127.0.0.1:4000", "127.0.0.1:5000", true, ("aaaa", "bbbb"));
        assert!(!format!("{p:?}").contains("password"));
    }
}
