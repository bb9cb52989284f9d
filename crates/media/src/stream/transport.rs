//! The seam between the stream core and the network: which of the stream's two sockets a
//! datagram comes in on or goes out of, and the plain-UDP transport that moves them.
//!
//! The core never touches a socket: it is handed `(now, socket, from, bytes)` for every
//! datagram received and returns [`Transmit`]s for what should be sent. The drivers in
//! `session.rs` move bytes between those and [`Transport`]. SRTP plugs in here (`srtp.rs`):
//! with keys set, every packet is protected on its way out and checked and opened on its way
//! in, and one that fails is dropped before the core sees it. ICE (candidate pairs instead of
//! one fixed socket pair) will plug in here too.

use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;

use crate::rtp_endpoint::RtpEndpoint;
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

/// UDP over the stream's socket pair, SRTP-protected when keys are set.
#[derive(Debug)]
pub struct Transport {
    endpoint: RtpEndpoint,
    srtp: Mutex<Option<Srtp>>,
    /// What earlier keys dropped (kept over a re-key).
    dropped_before: Mutex<SrtpCounters>,
}

impl Transport {
    pub fn new(endpoint: RtpEndpoint) -> Transport {
        Transport { endpoint, srtp: Mutex::new(None), dropped_before: Mutex::new(SrtpCounters::default()) }
    }

    fn srtp(&self) -> std::sync::MutexGuard<'_, Option<Srtp>> {
        self.srtp.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Encrypts from now on with `keys` (None: clear RTP). The same keys again change nothing
    /// (the SRTP state, rollover counters and replay windows, stays).
    pub fn set_keys(&self, keys: Option<&SrtpKeys>) -> Result<(), String> {
        let mut current = self.srtp();
        if current.as_ref().map(Srtp::keys) == keys {
            return Ok(());
        }
        let next = keys.map(|k| Srtp::new(k.clone())).transpose()?;
        if let Some(old) = current.take() {
            let mut before = self.dropped_before.lock().unwrap_or_else(|p| p.into_inner());
            before.auth_failures += old.counters().auth_failures;
            before.replays += old.counters().replays;
        }
        *current = next;
        Ok(())
    }

    /// Whether packets are SRTP-protected.
    pub fn encrypted(&self) -> bool {
        self.srtp().is_some()
    }

    /// Packets SRTP dropped so far (forged, corrupted, clear, replayed).
    pub fn srtp_counters(&self) -> SrtpCounters {
        let before = *self.dropped_before.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.srtp().as_ref().map(Srtp::counters).unwrap_or_default();
        SrtpCounters { auth_failures: before.auth_failures + now.auth_failures, replays: before.replays + now.replays }
    }

    fn socket(&self, via: Socket) -> &tokio::net::UdpSocket {
        match via {
            Socket::Rtp => &self.endpoint.rtp,
            Socket::Rtcp => &self.endpoint.rtcp,
        }
    }

    /// Waits for the next datagram on `via`: its length in `buf` and where it came from. With
    /// SRTP, the opened packet; one that fails authentication or is a replay is dropped (and
    /// counted) and the next one awaited.
    pub async fn recv(&self, via: Socket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.socket(via).recv_from(buf).await?;
            let mut guard = self.srtp();
            let Some(srtp) = guard.as_mut() else { return Ok((n, from)) };
            let rtcp = via == Socket::Rtcp || srtp::is_rtcp(&buf[..n]);
            if let Ok(clear) = srtp.unprotect(&buf[..n], rtcp) {
                buf[..clear.len()].copy_from_slice(&clear);
                return Ok((clear.len(), from));
            }
        }
    }

    /// Sends `data` out of `via` to `to` (SRTP-protected when keys are set).
    pub async fn send(&self, via: Socket, data: &[u8], to: SocketAddr) -> io::Result<usize> {
        let protected = {
            let mut guard = self.srtp();
            match guard.as_mut() {
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
        self.socket(via).send_to(protected.as_deref().unwrap_or(data), to).await
    }

    /// Sends what the core asked for.
    pub async fn transmit(&self, t: &Transmit) -> io::Result<usize> {
        self.send(t.via, &t.data, t.to).await
    }
}
