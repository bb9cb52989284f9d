//! The seam between the stream core and the network: which of the stream's two sockets a
//! datagram comes in on or goes out of, and the plain-UDP transport that moves them.
//!
//! The core never touches a socket: it is handed `(now, socket, from, bytes)` for every
//! datagram received and returns [`Transmit`]s for what should be sent. The drivers in
//! `session.rs` move bytes between those and [`Transport`]. SRTP plugs in here (`srtp.rs`):
//! with keys set, every packet is protected on its way out and checked and opened on its way
//! in, and one that fails is dropped before the core sees it. DTLS-SRTP (`dtls.rs`) too: its
//! handshake records are taken here (RFC 7983 demultiplexing on the first byte) and answered,
//! and the keys it exports protect the media from then on. ICE (`ice.rs`) too: STUN checks
//! (first byte 0-3) go to its agent, media goes to the pair it selected, and media from a pair
//! it validated is handed to the core as coming from the far end's SDP address (the core's
//! latching then has nothing to prove: ICE did). TURN (`turn.rs`) too: datagrams from the
//! TURN server are unwrapped into what the far end sent to our relayed address, and when ICE's
//! pair starts at our relayed candidate, everything to the far end goes out wrapped, through the
//! server.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::rtp_endpoint::{self, RtpEndpoint};
use crate::session::StreamParams;
use crate::stream::dtls::{self, DtlsHandshake, DtlsParams, DtlsRole, DtlsState};
use crate::stream::ice::{self, IceLink, IceState};
use crate::stream::srtp::{self, Srtp, SrtpCounters, SrtpKeys};
use crate::stream::turn::{Inbound, TurnClient};
use crate::stream::turn_link::TurnLink;

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

/// How the stream's packets are protected.
#[derive(Debug)]
enum Protection {
    Clear,
    /// SDES keys: one SRTP context pair for both sockets.
    Sdes(Srtp),
    /// DTLS-SRTP: a handshake (and then keys) per component.
    Dtls(Box<DtlsLink>),
}

/// One component's DTLS association and the SRTP it keyed.
#[derive(Debug)]
struct Component {
    handshake: DtlsHandshake,
    srtp: Option<Srtp>,
}

/// DTLS-SRTP on the stream: the RTP component, and the RTCP one unless RTCP is muxed.
#[derive(Debug)]
struct DtlsLink {
    params: DtlsParams,
    rtp: Component,
    rtcp: Option<Component>,
    /// A failure not yet reported to the session.
    failure: Option<String>,
    reported: bool,
}

impl DtlsLink {
    fn component(&mut self, via: Socket) -> &mut Component {
        match (via, self.rtcp.as_mut()) {
            (Socket::Rtcp, Some(c)) => c,
            _ => &mut self.rtp,
        }
    }
}

/// UDP over the stream's socket pair, SRTP-protected when keys are set (by SDES) or once a
/// DTLS handshake has made them.
#[derive(Debug)]
pub struct Transport {
    endpoint: RtpEndpoint,
    protection: Mutex<Protection>,
    /// What earlier keys dropped (kept over a re-key).
    dropped_before: Mutex<SrtpCounters>,
    /// DTLS answers that could not go out at once (socket not writable), sent by `drive`.
    pending: Mutex<Vec<(Socket, SocketAddr, Vec<u8>)>>,
    /// ICE, when both sides' SDP had it.
    ice: Mutex<Option<IceSide>>,
    /// The sockets' TURN allocations (RTP, RTCP), made while gathering ICE candidates.
    turn: Mutex<[Option<TurnClient>; 2]>,
    /// Their connections to a TURN server reached over TCP or TLS (`turn_link.rs`).
    turn_links: [Option<Arc<TurnLink>>; 2],
    /// Wakes the housekeeping task when it has something to drive again (new parameters, an
    /// answer that could not go out at once); it sleeps otherwise.
    wake: tokio::sync::Notify,
}

fn index(via: Socket) -> usize {
    match via {
        Socket::Rtp => 0,
        Socket::Rtcp => 1,
    }
}

/// The stream's ICE agents (RTP, and RTCP unless muxed) and what they need from the SDP.
#[derive(Debug)]
struct IceSide {
    link: IceLink,
    rtcp: Option<IceLink>,
    /// The far end's SDP address, which proven media is handed to the core as.
    sdp_remote: SocketAddr,
    /// A failure already reported.
    reported: bool,
}

/// What a received datagram turned out to be.
enum Verdict {
    /// Media for the core: the opened packet's length.
    Media(usize),
    /// Taken by SRTP or DTLS (dropped, or a handshake record): wait for the next one.
    Consumed,
}

impl Transport {
    pub fn new(mut endpoint: RtpEndpoint) -> Transport {
        let turn = std::mem::take(&mut endpoint.turn);
        let turn_links = std::mem::take(&mut endpoint.turn_links);
        Transport {
            turn: Mutex::new(turn),
            turn_links,
            wake: tokio::sync::Notify::new(),
            endpoint,
            protection: Mutex::new(Protection::Clear),
            dropped_before: Mutex::new(SrtpCounters::default()),
            pending: Mutex::new(Vec::new()),
            ice: Mutex::new(None),
        }
    }

    fn ice(&self) -> std::sync::MutexGuard<'_, Option<IceSide>> {
        self.ice.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How far ICE is (`None`: the stream has no ICE).
    pub fn ice_state(&self) -> Option<IceState> {
        self.ice().as_ref().map(|s| s.link.state().clone())
    }

    fn turn(&self) -> std::sync::MutexGuard<'_, [Option<TurnClient>; 2]> {
        self.turn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the call's media goes through the TURN server.
    pub fn relayed(&self) -> bool {
        self.ice().as_ref().is_some_and(|s| s.link.relaying())
    }

    /// Where a datagram for `to` really goes: over ICE's selected pair once there is one (the
    /// RTP socket's link, or the RTCP socket's when RTCP is not muxed), and whether through the
    /// TURN server (the pair starts at our relayed candidate).
    fn route(&self, via: Socket, to: SocketAddr) -> (SocketAddr, bool) {
        let guard = self.ice();
        let Some(side) = guard.as_ref() else {
            return (to, false);
        };
        let link = match via {
            Socket::Rtp => Some(&side.link),
            Socket::Rtcp => side.rtcp.as_ref(),
        };
        match link {
            Some(l) => (l.remote().unwrap_or(to), l.relaying()),
            None => (to, false),
        }
    }

    /// The datagrams that really leave `via` for `data` to `to`: itself, or, `relayed`, the
    /// TURN server's Send indication or ChannelData carrying it (nothing without an allocation).
    fn wrap(
        &self,
        via: Socket,
        relayed: bool,
        to: SocketAddr,
        data: Vec<u8>,
    ) -> Vec<(SocketAddr, Vec<u8>)> {
        if !relayed {
            return vec![(to, data)];
        }
        let mut turn = self.turn();
        let Some(client) = turn[index(via)].as_mut() else {
            return Vec::new();
        };
        client.send(Instant::now(), to, &data);
        std::iter::from_fn(|| client.poll_transmit()).collect()
    }

    /// Starts, keeps or stops ICE as `params` say: the same parameters again (a re-INVITE for
    /// hold) keep the agent and its selected pair.
    fn configure_ice(&self, params: &StreamParams, now: Instant) -> Result<(), String> {
        let mut current = self.ice();
        match &params.ice {
            None => *current = None,
            Some(p) => match current.as_mut() {
                Some(side) if side.link.params() == p => side.sdp_remote = params.remote_rtp,
                _ => {
                    let muxed = params.remote_rtcp == Some(params.remote_rtp);
                    let rtcp = if muxed {
                        None
                    } else {
                        Some(IceLink::new(p, 2, now)?)
                    };
                    let side = IceSide {
                        link: IceLink::new(p, 1, now)?,
                        rtcp,
                        sdp_remote: params.remote_rtp,
                        reported: false,
                    };
                    // The TURN server forwards only from (and to) addresses we permitted: the
                    // far end's candidates, before any check goes through it.
                    let mut turn = self.turn();
                    for (i, link) in [Some(&side.link), side.rtcp.as_ref()]
                        .into_iter()
                        .enumerate()
                    {
                        if let (Some(link), Some(client)) = (link, turn[i].as_mut()) {
                            for addr in link.remote_addresses() {
                                client.permit(now, addr);
                            }
                        }
                    }
                    *current = Some(side);
                }
            },
        }
        Ok(())
    }

    fn protection(&self) -> std::sync::MutexGuard<'_, Protection> {
        self.protection.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn keep_counters(&self, old: &Protection) {
        let mut before = self
            .dropped_before
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for c in counters_of(old) {
            before.auth_failures += c.auth_failures;
            before.replays += c.replays;
        }
    }

    /// Encrypts from now on with `keys` (None: clear RTP). The same keys again change nothing
    /// (the SRTP state, rollover counters and replay windows, stays).
    pub fn set_keys(&self, keys: Option<&SrtpKeys>) -> Result<(), String> {
        let mut current = self.protection();
        let same = match (&*current, keys) {
            (Protection::Sdes(s), Some(k)) => s.keys() == k,
            (Protection::Clear, None) => true,
            _ => false,
        };
        if same {
            return Ok(());
        }
        let next = match keys {
            Some(k) => Protection::Sdes(Srtp::new(k.clone())?),
            None => Protection::Clear,
        };
        let old = std::mem::replace(&mut *current, next);
        self.keep_counters(&old);
        Ok(())
    }

    /// Protects the stream as `params` negotiated: DTLS-SRTP (a handshake per component, the
    /// client starting toward the far end's SDP addresses), SDES keys, or clear. The same
    /// DTLS parameters again keep the association and its keys (a re-INVITE for hold).
    pub fn configure(&self, params: &StreamParams, now: Instant) -> Result<(), String> {
        // Whatever changes, the housekeeping looks again.
        self.wake.notify_one();
        self.configure_ice(params, now)?;
        let Some(dtls) = &params.dtls else {
            return self.set_keys(params.srtp.as_ref());
        };
        let mut current = self.protection();
        if let Protection::Dtls(link) = &*current {
            if link.params == *dtls {
                return Ok(());
            }
        }
        let muxed = params.remote_rtcp == Some(params.remote_rtp);
        let local = |s: &tokio::net::UdpSocket| {
            s.local_addr()
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
        };
        let mut rtp = DtlsHandshake::new(dtls, local(&self.endpoint.rtp))?;
        let mut rtcp = if muxed {
            None
        } else {
            Some(DtlsHandshake::new(dtls, local(&self.endpoint.rtcp))?)
        };
        if dtls.role == DtlsRole::Client {
            rtp.start(now, params.remote_rtp);
            if let Some(h) = rtcp.as_mut() {
                h.start(now, params.default_rtcp());
            }
        }
        let link = DtlsLink {
            params: dtls.clone(),
            rtp: Component {
                handshake: rtp,
                srtp: None,
            },
            rtcp: rtcp.map(|handshake| Component {
                handshake,
                srtp: None,
            }),
            failure: None,
            reported: false,
        };
        let old = std::mem::replace(&mut *current, Protection::Dtls(Box::new(link)));
        self.keep_counters(&old);
        Ok(())
    }

    /// Whether packets are SRTP-protected (with DTLS: once the RTP handshake made keys).
    pub fn encrypted(&self) -> bool {
        match &*self.protection() {
            Protection::Clear => false,
            Protection::Sdes(_) => true,
            Protection::Dtls(link) => link.rtp.srtp.is_some(),
        }
    }

    /// Packets SRTP dropped so far (forged, corrupted, clear, replayed).
    pub fn srtp_counters(&self) -> SrtpCounters {
        let before = *self
            .dropped_before
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        counters_of(&self.protection())
            .into_iter()
            .fold(before, |a, c| SrtpCounters {
                auth_failures: a.auth_failures + c.auth_failures,
                replays: a.replays + c.replays,
            })
    }

    /// The TURN server's connection of `via`'s socket, when it is reached over TCP or TLS.
    fn link(&self, via: Socket) -> Option<&TurnLink> {
        self.turn_links[index(via)].as_deref()
    }

    fn socket(&self, via: Socket) -> &tokio::net::UdpSocket {
        match via {
            Socket::Rtp => &self.endpoint.rtp,
            Socket::Rtcp => &self.endpoint.rtcp,
        }
    }

    /// Waits until there may be housekeeping again (see [`Transport::drive`] returning no time).
    pub async fn woken(&self) {
        self.wake.notified().await
    }

    /// Housekeeping at `now`: ICE checks and DTLS retransmissions due, and every datagram
    /// waiting to go out (sent here). Returns when it is next needed, and the failures to report
    /// (each once), as sentences.
    pub async fn drive(&self, now: Instant) -> (Option<Instant>, Vec<String>) {
        let mut out = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut failures = Vec::new();
        let mut next_ice = None;
        // ICE checks: (socket, through the relay, to, data).
        let mut checks = Vec::new();
        if let Some(side) = self.ice().as_mut() {
            for (via, link) in [
                (Socket::Rtp, Some(&mut side.link)),
                (Socket::Rtcp, side.rtcp.as_mut()),
            ] {
                let Some(link) = link else { continue };
                link.handle_timeout(now);
                while let Some((local, to, data)) = link.poll_transmit() {
                    checks.push((via, Some(local) == link.relayed(), to, data));
                }
                next_ice = [next_ice, link.poll_timeout()].into_iter().flatten().min();
            }
            if let (IceState::Failed(why), false) = (side.link.state(), side.reported) {
                failures.push(format!("the call's media path failed: {why}"));
                side.reported = true;
            }
        }
        for (via, relayed, to, data) in checks {
            out.extend(
                self.wrap(via, relayed, to, data)
                    .into_iter()
                    .map(|(to, data)| (via, to, data)),
            );
        }
        let mut next_turn = None;
        for (i, client) in self.turn().iter_mut().enumerate() {
            let Some(client) = client else { continue };
            client.handle_timeout(now);
            let via = if i == 0 { Socket::Rtp } else { Socket::Rtcp };
            out.extend(
                std::iter::from_fn(|| client.poll_transmit()).map(|(to, data)| (via, to, data)),
            );
            next_turn = [next_turn, client.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
        }
        // DTLS goes where media goes: over ICE's pair, through the relay when it starts there.
        let mut records = Vec::new();
        let next = self.drive_dtls(now, &mut records, &mut failures);
        for (via, to, data) in records {
            let (to, relayed) = self.route(via, to);
            out.extend(
                self.wrap(via, relayed, to, data)
                    .into_iter()
                    .map(|(to, data)| (via, to, data)),
            );
        }
        for (via, to, data) in out {
            let _ = rtp_endpoint::send(self.socket(via), self.link(via), to, &data).await;
        }
        (
            [next, next_ice, next_turn].into_iter().flatten().min(),
            failures,
        )
    }

    /// DTLS retransmissions due at `now` (into `out`), a handshake failure (into `failures`,
    /// once); when DTLS is next needed.
    fn drive_dtls(
        &self,
        now: Instant,
        out: &mut Vec<(Socket, SocketAddr, Vec<u8>)>,
        failures: &mut Vec<String>,
    ) -> Option<Instant> {
        {
            let mut guard = self.protection();
            let Protection::Dtls(link) = &mut *guard else {
                return None;
            };
            let mut next: Option<Instant> = None;
            for (via, c) in [
                (Socket::Rtp, Some(&mut link.rtp)),
                (Socket::Rtcp, link.rtcp.as_mut()),
            ] {
                let Some(c) = c else { continue };
                c.handshake.handle_timeout(now);
                while let Some((to, data)) = c.handshake.poll_transmit() {
                    out.push((via, to, data));
                }
                if let DtlsState::Failed(why) = c.handshake.state() {
                    link.failure.get_or_insert_with(|| why.clone());
                }
                next = [next, c.handshake.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
            }
            if let (Some(why), false) = (&link.failure, link.reported) {
                failures.push(format!("the call's media encryption failed: {why}"));
                link.reported = true;
            }
            next
        }
    }

    /// What a datagram of `n` bytes in `buf`, from `from` on `via`, is for.
    fn inspect(
        &self,
        via: Socket,
        buf: &mut [u8],
        n: usize,
        from: SocketAddr,
        out: &mut Vec<(SocketAddr, Vec<u8>)>,
    ) -> Verdict {
        let mut guard = self.protection();
        match &mut *guard {
            Protection::Clear => Verdict::Media(n),
            Protection::Sdes(srtp) => open(srtp, via, buf, n),
            Protection::Dtls(link) => {
                let c = link.component(via);
                if dtls::is_dtls(&buf[..n]) {
                    if c.handshake.handle(Instant::now(), from, &buf[..n]) {
                        if let Some(keys) = c.handshake.keys() {
                            match Srtp::new(keys.clone()) {
                                Ok(s) => c.srtp = Some(s),
                                Err(e) => link.failure = Some(e),
                            }
                        }
                    }
                    let c = link.component(via);
                    while let Some(t) = c.handshake.poll_transmit() {
                        out.push(t);
                    }
                    if let DtlsState::Failed(why) = c.handshake.state() {
                        let why = why.clone();
                        link.failure.get_or_insert(why);
                    }
                    return Verdict::Consumed;
                }
                match c.srtp.as_mut() {
                    Some(srtp) => open(srtp, via, buf, n),
                    None => Verdict::Consumed,
                }
            }
        }
    }

    /// Waits for the next datagram on `via`: its length in `buf` and where it came from. With
    /// SRTP, the opened packet; one that fails authentication or is a replay is dropped (and
    /// counted) and the next one awaited. DTLS records go to the handshake (and its answers
    /// out), never to the core; media that arrives before the handshake made keys is dropped.
    pub async fn recv(&self, via: Socket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        loop {
            let (mut n, mut from) = tokio::select! {
                r = self.socket(via).recv_from(buf) => r?,
                m = rtp_endpoint::from_link(self.link(via)) => match (m, self.link(via)) {
                    (Ok(m), Some(link)) if m.len() <= buf.len() => {
                        buf[..m.len()].copy_from_slice(&m);
                        (m.len(), link.server())
                    }
                    (Err(e), _) => {
                        // The relay is gone with its connection: said once, media goes on
                        // over whatever other path ICE has.
                        tracing::warn!("{e}");
                        continue;
                    }
                    _ => continue,
                },
            };
            let now = Instant::now();
            // The TURN server's: its own business, or what the far end sent to our relayed
            // address (then handled as if it had come straight from there).
            let mut relayed = false;
            {
                let mut turn = self.turn();
                if let Some(client) = turn[index(via)].as_mut() {
                    match client.handle(now, from, &buf[..n]) {
                        Inbound::NotOurs => {}
                        Inbound::Consumed => {
                            let out: Vec<_> =
                                std::iter::from_fn(|| client.poll_transmit()).collect();
                            drop(turn);
                            self.send_now(via, out);
                            self.wake.notify_one();
                            continue;
                        }
                        Inbound::Relayed { peer, data } => {
                            if data.len() > buf.len() {
                                continue;
                            }
                            buf[..data.len()].copy_from_slice(&data);
                            (n, from, relayed) = (data.len(), peer, true);
                        }
                    }
                }
            }
            if ice::is_stun(&buf[..n]) {
                let mut answers = Vec::new();
                if let Some(side) = self.ice().as_mut() {
                    let link = match via {
                        Socket::Rtp => Some(&mut side.link),
                        Socket::Rtcp => side.rtcp.as_mut(),
                    };
                    if let Some(link) = link {
                        match (relayed, link.relayed()) {
                            (true, Some(ours)) => link.handle_stun_at(now, ours, from, &buf[..n]),
                            (true, None) => {}
                            (false, _) => link.handle_stun(now, from, &buf[..n]),
                        }
                        while let Some((local, to, data)) = link.poll_transmit() {
                            answers.push((Some(local) == link.relayed(), to, data));
                        }
                    }
                }
                let out = answers
                    .into_iter()
                    .flat_map(|(relayed, to, data)| self.wrap(via, relayed, to, data))
                    .collect();
                self.send_now(via, out);
                // The agent may have timers now (triggered checks, consent).
                self.wake.notify_one();
                continue;
            }
            let mut out = Vec::new();
            let verdict = self.inspect(via, buf, n, from, &mut out);
            // Handshake answers go back the way the record came.
            let out = out
                .into_iter()
                .flat_map(|(to, data)| self.wrap(via, relayed, to, data))
                .collect();
            self.send_now(via, out);
            match verdict {
                Verdict::Media(len) => return Ok((len, self.source(via, from, relayed))),
                // A handshake record may have started its retransmission timers.
                Verdict::Consumed => self.wake.notify_one(),
            }
        }
    }

    /// Sends handshake and check answers without awaiting: the driver's `select!` may drop the
    /// receiving future at any await, and a handshake flight lost that way costs the far end's
    /// retransmission timer (seconds of a call without media). What cannot go at once `drive`
    /// sends.
    fn send_now(&self, via: Socket, out: Vec<(SocketAddr, Vec<u8>)>) {
        for (to, data) in out {
            if let Err(e) =
                rtp_endpoint::send_now(self.socket(via), self.link(via), to, data.clone())
            {
                if e.kind() == io::ErrorKind::WouldBlock {
                    self.pending
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((via, to, data));
                    self.wake.notify_one();
                }
            }
        }
    }

    /// Who media from `from` counts as for the core: the far end's SDP address when it came
    /// over a pair ICE validated (to the socket, or `relayed` to our relayed address), else
    /// `from` itself.
    fn source(&self, via: Socket, from: SocketAddr, relayed: bool) -> SocketAddr {
        let mut guard = self.ice();
        match guard.as_mut() {
            Some(side) if via == Socket::Rtp => {
                let proven = match (relayed, side.link.relayed()) {
                    (false, _) => side.link.proven(Instant::now(), from),
                    (true, Some(ours)) => side.link.proven_at(Instant::now(), ours, from),
                    (true, None) => false,
                };
                if proven {
                    side.sdp_remote
                } else {
                    from
                }
            }
            _ => from,
        }
    }

    /// Sends `data` out of `via` to `to` (SRTP-protected when keys are set). With DTLS and no
    /// keys yet, nothing leaves: media is never sent in the clear on an encrypted call.
    pub async fn send(&self, via: Socket, data: &[u8], to: SocketAddr) -> io::Result<usize> {
        let protected = {
            let mut guard = self.protection();
            let srtp = match &mut *guard {
                Protection::Clear => None,
                Protection::Sdes(srtp) => Some(srtp),
                Protection::Dtls(link) => match link.component(via).srtp.as_mut() {
                    Some(s) => Some(s),
                    None => return Ok(0),
                },
            };
            match srtp {
                None => None,
                Some(srtp) => {
                    let rtcp = via == Socket::Rtcp || srtp::is_rtcp(data);
                    let Some(p) = srtp.protect(data, rtcp) else {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "not an RTP or RTCP packet",
                        ));
                    };
                    Some(p)
                }
            }
        };
        let (to, relayed) = self.route(via, to);
        let packet = protected.as_deref().unwrap_or(data);
        if !relayed {
            return self.socket(via).send_to(packet, to).await;
        }
        let len = packet.len();
        for (server, wrapped) in self.wrap(via, true, to, packet.to_vec()) {
            rtp_endpoint::send(self.socket(via), self.link(via), server, &wrapped).await?;
        }
        Ok(len)
    }

    /// Gives the TURN allocations back (the call is over): sent at once, without waiting.
    pub fn close(&self) {
        let mut turn = self.turn();
        for (i, client) in turn.iter_mut().enumerate() {
            let Some(client) = client else { continue };
            client.close(Instant::now());
            let via = if i == 0 { Socket::Rtp } else { Socket::Rtcp };
            while let Some((to, data)) = client.poll_transmit() {
                let _ = rtp_endpoint::send_now(self.socket(via), self.link(via), to, data);
            }
        }
    }

    /// Sends what the core asked for.
    pub async fn transmit(&self, t: &Transmit) -> io::Result<usize> {
        self.send(t.via, &t.data, t.to).await
    }
}

/// Checks and opens an SRTP packet in place (`buf[..n]`); one that fails is dropped (counted by `srtp`).
fn open(srtp: &mut Srtp, via: Socket, buf: &mut [u8], n: usize) -> Verdict {
    let rtcp = via == Socket::Rtcp || srtp::is_rtcp(&buf[..n]);
    match srtp.unprotect(&buf[..n], rtcp) {
        Ok(clear) => {
            buf[..clear.len()].copy_from_slice(&clear);
            Verdict::Media(clear.len())
        }
        Err(_) => Verdict::Consumed,
    }
}

fn counters_of(p: &Protection) -> Vec<SrtpCounters> {
    match p {
        Protection::Clear => vec![],
        Protection::Sdes(s) => vec![s.counters()],
        Protection::Dtls(link) => [Some(&link.rtp), link.rtcp.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|c| c.srtp.as_ref().map(Srtp::counters))
            .collect(),
    }
}
