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
//! latching then has nothing to prove: ICE did).

use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::rtp_endpoint::RtpEndpoint;
use crate::session::StreamParams;
use crate::stream::dtls::{self, DtlsHandshake, DtlsParams, DtlsRole, DtlsState};
use crate::stream::ice::{self, IceLink, IceState};
use crate::stream::srtp::{self, Srtp, SrtpCounters, SrtpKeys};

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
    pub fn new(endpoint: RtpEndpoint) -> Transport {
        Transport {
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

    /// Where a datagram for `to` really goes: over ICE's selected pair once there is one
    /// (everything rides the RTP socket's pair: ICE is used with rtcp-mux).
    fn route(&self, via: Socket, to: SocketAddr) -> SocketAddr {
        let guard = self.ice();
        let Some(side) = guard.as_ref() else { return to };
        let link = match via {
            Socket::Rtp => Some(&side.link),
            Socket::Rtcp => side.rtcp.as_ref(),
        };
        link.and_then(IceLink::remote).unwrap_or(to)
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
                    let rtcp = if muxed { None } else { Some(IceLink::new(p, 2, now)?) };
                    *current = Some(IceSide { link: IceLink::new(p, 1, now)?, rtcp, sdp_remote: params.remote_rtp, reported: false });
                }
            },
        }
        Ok(())
    }

    fn protection(&self) -> std::sync::MutexGuard<'_, Protection> {
        self.protection.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn keep_counters(&self, old: &Protection) {
        let mut before = self.dropped_before.lock().unwrap_or_else(|p| p.into_inner());
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
        self.configure_ice(params, now)?;
        let Some(dtls) = &params.dtls else { return self.set_keys(params.srtp.as_ref()) };
        let mut current = self.protection();
        if let Protection::Dtls(link) = &*current {
            if link.params == *dtls {
                return Ok(());
            }
        }
        let muxed = params.remote_rtcp == Some(params.remote_rtp);
        let local = |s: &tokio::net::UdpSocket| s.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let mut rtp = DtlsHandshake::new(dtls, local(&self.endpoint.rtp))?;
        let mut rtcp = if muxed { None } else { Some(DtlsHandshake::new(dtls, local(&self.endpoint.rtcp))?) };
        if dtls.role == DtlsRole::Client {
            rtp.start(now, params.remote_rtp);
            if let Some(h) = rtcp.as_mut() {
                h.start(now, params.default_rtcp());
            }
        }
        let link = DtlsLink {
            params: dtls.clone(),
            rtp: Component { handshake: rtp, srtp: None },
            rtcp: rtcp.map(|handshake| Component { handshake, srtp: None }),
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
        let before = *self.dropped_before.lock().unwrap_or_else(|p| p.into_inner());
        counters_of(&self.protection()).into_iter().fold(before, |a, c| SrtpCounters {
            auth_failures: a.auth_failures + c.auth_failures,
            replays: a.replays + c.replays,
        })
    }

    fn socket(&self, via: Socket) -> &tokio::net::UdpSocket {
        match via {
            Socket::Rtp => &self.endpoint.rtp,
            Socket::Rtcp => &self.endpoint.rtcp,
        }
    }

    /// Housekeeping at `now`: ICE checks and DTLS retransmissions due, and every datagram
    /// waiting to go out (sent here). Returns when it is next needed, and the failures to report
    /// (each once), as sentences.
    pub async fn drive(&self, now: Instant) -> (Option<Instant>, Vec<String>) {
        let mut out = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut failures = Vec::new();
        let mut next_ice = None;
        if let Some(side) = self.ice().as_mut() {
            side.link.handle_timeout(now);
            while let Some((to, data)) = side.link.poll_transmit() {
                out.push((Socket::Rtp, to, data));
            }
            if let Some(rtcp) = side.rtcp.as_mut() {
                rtcp.handle_timeout(now);
                while let Some((to, data)) = rtcp.poll_transmit() {
                    out.push((Socket::Rtcp, to, data));
                }
                next_ice = rtcp.poll_timeout();
            }
            if let (IceState::Failed(why), false) = (side.link.state(), side.reported) {
                failures.push(format!("the call's media path failed: {why}"));
                side.reported = true;
            }
            next_ice = [next_ice, side.link.poll_timeout()].into_iter().flatten().min();
        }
        let next = self.drive_dtls(now, &mut out, &mut failures);
        for (via, to, data) in out {
            let to = if ice::is_stun(&data) { to } else { self.route(via, to) };
            let _ = self.socket(via).send_to(&data, to).await;
        }
        ([next, next_ice].into_iter().flatten().min(), failures)
    }

    /// DTLS retransmissions due at `now` (into `out`), a handshake failure (into `failures`,
    /// once); when DTLS is next needed.
    fn drive_dtls(&self, now: Instant, out: &mut Vec<(Socket, SocketAddr, Vec<u8>)>, failures: &mut Vec<String>) -> Option<Instant> {
        {
            let mut guard = self.protection();
            let Protection::Dtls(link) = &mut *guard else { return None };
            let mut next: Option<Instant> = None;
            for (via, c) in [(Socket::Rtp, Some(&mut link.rtp)), (Socket::Rtcp, link.rtcp.as_mut())] {
                let Some(c) = c else { continue };
                c.handshake.handle_timeout(now);
                while let Some((to, data)) = c.handshake.poll_transmit() {
                    out.push((via, to, data));
                }
                if let DtlsState::Failed(why) = c.handshake.state() {
                    link.failure.get_or_insert_with(|| why.clone());
                }
                next = [next, c.handshake.poll_timeout()].into_iter().flatten().min();
            }
            if let (Some(why), false) = (&link.failure, link.reported) {
                failures.push(format!("the call's media encryption failed: {why}"));
                link.reported = true;
            }
            next
        }
    }

    /// What a datagram of `n` bytes in `buf`, from `from` on `via`, is for.
    fn inspect(&self, via: Socket, buf: &mut [u8], n: usize, from: SocketAddr, out: &mut Vec<(SocketAddr, Vec<u8>)>) -> Verdict {
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
            let (n, from) = self.socket(via).recv_from(buf).await?;
            let mut out = Vec::new();
            if ice::is_stun(&buf[..n]) {
                if let Some(side) = self.ice().as_mut() {
                    let link = match via {
                        Socket::Rtp => Some(&mut side.link),
                        Socket::Rtcp => side.rtcp.as_mut(),
                    };
                    if let Some(link) = link {
                        link.handle_stun(Instant::now(), from, &buf[..n]);
                        while let Some((to, data)) = link.poll_transmit() {
                            out.push((to, data));
                        }
                    }
                }
                self.send_now(via, out);
                continue;
            }
            let verdict = self.inspect(via, buf, n, from, &mut out);
            self.send_now(via, out);
            if let Verdict::Media(len) = verdict {
                return Ok((len, self.source(via, from)));
            }
        }
    }

    /// Sends handshake and check answers without awaiting: the driver's `select!` may drop the
    /// receiving future at any await, and a handshake flight lost that way costs the far end's
    /// retransmission timer (seconds of a call without media). What cannot go at once `drive`
    /// sends.
    fn send_now(&self, via: Socket, out: Vec<(SocketAddr, Vec<u8>)>) {
        for (to, data) in out {
            if let Err(e) = self.socket(via).try_send_to(&data, to) {
                if e.kind() == io::ErrorKind::WouldBlock {
                    self.pending.lock().unwrap_or_else(|p| p.into_inner()).push((via, to, data));
                }
            }
        }
    }

    /// Who media from `from` counts as for the core: the far end's SDP address when it came
    /// over a pair ICE validated, else `from` itself.
    fn source(&self, via: Socket, from: SocketAddr) -> SocketAddr {
        let mut guard = self.ice();
        match guard.as_mut() {
            Some(side) if via == Socket::Rtp => {
                if side.link.proven(Instant::now(), from) {
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
                        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not an RTP or RTCP packet"));
                    };
                    Some(p)
                }
            }
        };
        let to = self.route(via, to);
        self.socket(via).send_to(protected.as_deref().unwrap_or(data), to).await
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
        Protection::Dtls(link) => {
            [Some(&link.rtp), link.rtcp.as_ref()].into_iter().flatten().filter_map(|c| c.srtp.as_ref().map(Srtp::counters)).collect()
        }
    }
}
