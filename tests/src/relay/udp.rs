//! The relay's socket side: two UDP sockets, "left" and "right", and one thread per direction.
//!
//! A datagram the left peer sends to the relay's left socket goes through the left-to-right
//! [`Impairer`] and leaves from the right socket to the right peer, and the other way round.
//! Peers are given up front or learned from the first datagram each side sends (latching), so
//! each peer just sends to "its" relay socket. [`RtpRelay`] pairs an impaired RTP relay with an
//! unimpaired RTCP relay on the ports above (even/odd, as SDP implies without `a=rtcp`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::impairment::{Impairer, Impairment};

/// Longest wait between checks of the stop flag.
const POLL: Duration = Duration::from_millis(5);

/// What a relay direction does, and with which seed.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Left peer's address; `None` = learn it from the first datagram on the left socket.
    pub left_peer: Option<SocketAddr>,
    pub right_peer: Option<SocketAddr>,
    pub to_right: Impairment,
    pub to_left: Impairment,
    /// Seed of the left-to-right direction; right-to-left uses `seed + 1`.
    pub seed: u64,
}

impl RelayConfig {
    /// No impairment either way, peers learned.
    pub fn transparent() -> RelayConfig {
        RelayConfig {
            left_peer: None,
            right_peer: None,
            to_right: Impairment::none(),
            to_left: Impairment::none(),
            seed: 0,
        }
    }
}

/// Counters of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Datagrams from the expected peer.
    pub received: u64,
    /// Their size in bytes (whole datagrams).
    pub received_bytes: u64,
    pub dropped: u64,
    /// Datagrams sent on (duplicates count twice).
    pub forwarded: u64,
    pub duplicated: u64,
    /// Datagrams from an address that is not the peer, ignored.
    pub foreign: u64,
    /// Where the last of those came from.
    pub last_foreign: Option<SocketAddr>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayStats {
    pub to_right: DirectionStats,
    pub to_left: DirectionStats,
}

type Peer = Arc<Mutex<Option<SocketAddr>>>;

/// How many datagrams of each direction a relay keeps for a test to read (`UdpRelay::captured`).
pub const CAPTURED: usize = 1000;

/// The first `CAPTURED` datagrams relayed each way: [to the right, to the left].
type Captured = Arc<Mutex<[Vec<Vec<u8>>; 2]>>;

/// A running relay; stops when dropped.
pub struct UdpRelay {
    left_addr: SocketAddr,
    right_addr: SocketAddr,
    left_peer: Peer,
    right_peer: Peer,
    stats: Arc<Mutex<RelayStats>>,
    captured: Captured,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl UdpRelay {
    /// Binds two sockets on `ip` (ports chosen by the OS) and starts relaying.
    pub fn start(ip: IpAddr, cfg: RelayConfig) -> io::Result<UdpRelay> {
        let left = UdpSocket::bind(SocketAddr::new(ip, 0))?;
        let right = UdpSocket::bind(SocketAddr::new(ip, 0))?;
        UdpRelay::start_on(left, right, cfg)
    }

    /// Relays between two sockets the caller bound.
    pub fn start_on(left: UdpSocket, right: UdpSocket, cfg: RelayConfig) -> io::Result<UdpRelay> {
        let left_addr = left.local_addr()?;
        let right_addr = right.local_addr()?;
        let left_peer: Peer = Arc::new(Mutex::new(cfg.left_peer));
        let right_peer: Peer = Arc::new(Mutex::new(cfg.right_peer));
        let stats = Arc::new(Mutex::new(RelayStats::default()));
        let captured: Captured = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let clock = Instant::now();
        let mut threads = Vec::new();
        for to_right in [true, false] {
            let (from_sock, to_sock, from_peer, to_peer, imp, seed) = if to_right {
                (
                    left.try_clone()?,
                    right.try_clone()?,
                    left_peer.clone(),
                    right_peer.clone(),
                    cfg.to_right.clone(),
                    cfg.seed,
                )
            } else {
                (
                    right.try_clone()?,
                    left.try_clone()?,
                    right_peer.clone(),
                    left_peer.clone(),
                    cfg.to_left.clone(),
                    cfg.seed.wrapping_add(1),
                )
            };
            let dir = Direction {
                from_sock,
                to_sock,
                from_peer,
                to_peer,
                impairer: Impairer::new(imp, seed),
                stats: stats.clone(),
                captured: captured.clone(),
                to_right,
                stop: stop.clone(),
                clock,
            };
            let name = if to_right {
                "relay-to-right"
            } else {
                "relay-to-left"
            };
            threads.push(
                std::thread::Builder::new()
                    .name(name.into())
                    .spawn(move || dir.run())?,
            );
        }
        Ok(UdpRelay {
            left_addr,
            right_addr,
            left_peer,
            right_peer,
            stats,
            captured,
            stop,
            threads,
        })
    }

    /// The first datagrams (up to `CAPTURED`) relayed toward the right peer (`to_right`) or the
    /// left one, as they came in: what a capture on the wire would show.
    pub fn captured(&self, to_right: bool) -> Vec<Vec<u8>> {
        self.captured.lock().unwrap()[usize::from(!to_right)].clone()
    }

    /// Where the left peer sends.
    pub fn left_addr(&self) -> SocketAddr {
        self.left_addr
    }

    /// Where the right peer sends.
    pub fn right_addr(&self) -> SocketAddr {
        self.right_addr
    }

    pub fn set_left_peer(&self, peer: SocketAddr) {
        *self.left_peer.lock().unwrap() = Some(peer);
    }

    pub fn set_right_peer(&self, peer: SocketAddr) {
        *self.right_peer.lock().unwrap() = Some(peer);
    }

    pub fn stats(&self) -> RelayStats {
        *self.stats.lock().unwrap()
    }

    /// Stops the threads (packets still queued are dropped) and returns the final counters.
    pub fn stop(mut self) -> RelayStats {
        self.halt();
        self.stats()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for UdpRelay {
    fn drop(&mut self) {
        self.halt();
    }
}

struct Direction {
    from_sock: UdpSocket,
    to_sock: UdpSocket,
    from_peer: Peer,
    to_peer: Peer,
    impairer: Impairer,
    stats: Arc<Mutex<RelayStats>>,
    captured: Captured,
    to_right: bool,
    stop: Arc<AtomicBool>,
    clock: Instant,
}

impl Direction {
    fn stats<'a>(&self, s: &'a mut RelayStats) -> &'a mut DirectionStats {
        if self.to_right {
            &mut s.to_right
        } else {
            &mut s.to_left
        }
    }

    fn run(mut self) {
        // (due, order of scheduling, datagram): earliest first, FIFO among equal times.
        let mut queue: BinaryHeap<Reverse<(Duration, u64, Vec<u8>)>> = BinaryHeap::new();
        let mut order = 0u64;
        let mut buf = vec![0u8; 65_536];
        while !self.stop.load(Ordering::Relaxed) {
            let now = self.clock.elapsed();
            while queue.peek().is_some_and(|Reverse((due, _, _))| *due <= now) {
                let Reverse((_, _, data)) = queue.pop().expect("peeked");
                let to = *self.to_peer.lock().unwrap();
                if let Some(to) = to {
                    if self.to_sock.send_to(&data, to).is_ok() {
                        let mut s = self.stats.lock().unwrap();
                        self.stats(&mut s).forwarded += 1;
                    }
                }
            }
            let wait = match queue.peek() {
                Some(Reverse((due, _, _))) => due
                    .saturating_sub(now)
                    .clamp(Duration::from_micros(100), POLL),
                None => POLL,
            };
            let _ = self.from_sock.set_read_timeout(Some(wait));
            let (len, from) = match self.from_sock.recv_from(&mut buf) {
                Ok(r) => r,
                // Timeouts, and ICMP port-unreachable echoes of earlier sends: carry on.
                Err(_) => continue,
            };
            let accepted = {
                let mut peer = self.from_peer.lock().unwrap();
                match *peer {
                    None => {
                        *peer = Some(from);
                        true
                    }
                    Some(p) => p == from,
                }
            };
            let mut s = self.stats.lock().unwrap();
            if !accepted {
                let d = self.stats(&mut s);
                d.foreign += 1;
                d.last_foreign = Some(from);
                continue;
            }
            {
                let mut captured = self.captured.lock().unwrap();
                let kept = &mut captured[usize::from(!self.to_right)];
                if kept.len() < CAPTURED {
                    kept.push(buf[..len].to_vec());
                }
            }
            let fate = self.impairer.next(self.clock.elapsed());
            let d = self.stats(&mut s);
            d.received += 1;
            d.received_bytes += len as u64;
            if fate.lost() {
                d.dropped += 1;
            }
            if fate.deliveries.len() > 1 {
                d.duplicated += 1;
            }
            drop(s);
            for due in fate.deliveries {
                queue.push(Reverse((due, order, buf[..len].to_vec())));
                order += 1;
            }
        }
    }
}

/// Binds an even port and the odd port above it on `ip` (RTP and RTCP).
pub fn bind_pair(ip: IpAddr) -> io::Result<(UdpSocket, UdpSocket)> {
    let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no free even/odd port pair");
    for _ in 0..64 {
        let probe = UdpSocket::bind(SocketAddr::new(ip, 0))?;
        let port = probe.local_addr()?.port();
        let even = port & !1;
        drop(probe);
        if even == 0 {
            continue;
        }
        match (
            UdpSocket::bind(SocketAddr::new(ip, even)),
            UdpSocket::bind(SocketAddr::new(ip, even + 1)),
        ) {
            (Ok(a), Ok(b)) => return Ok((a, b)),
            (Err(e), _) | (_, Err(e)) => last = e,
        }
    }
    Err(last)
}

/// An RTP relay with impairment plus a clean RTCP relay on the ports above it.
pub struct RtpRelay {
    pub rtp: UdpRelay,
    pub rtcp: UdpRelay,
}

impl RtpRelay {
    /// `cfg` peers are RTP addresses; RTCP peers are the ports above them (learned when `None`).
    pub fn start(ip: IpAddr, cfg: RelayConfig) -> io::Result<RtpRelay> {
        let (l_rtp, l_rtcp) = bind_pair(ip)?;
        let (r_rtp, r_rtcp) = bind_pair(ip)?;
        let above = |a: Option<SocketAddr>| a.map(|a| SocketAddr::new(a.ip(), a.port() + 1));
        let rtcp_cfg = RelayConfig {
            left_peer: above(cfg.left_peer),
            right_peer: above(cfg.right_peer),
            ..RelayConfig::transparent()
        };
        let rtp = UdpRelay::start_on(l_rtp, r_rtp, cfg)?;
        let rtcp = UdpRelay::start_on(l_rtcp, r_rtcp, rtcp_cfg)?;
        Ok(RtpRelay { rtp, rtcp })
    }

    /// Sets both peers' RTP addresses (RTCP: the ports above).
    pub fn set_peers(&self, left: SocketAddr, right: SocketAddr) {
        self.rtp.set_left_peer(left);
        self.rtp.set_right_peer(right);
        self.rtcp
            .set_left_peer(SocketAddr::new(left.ip(), left.port() + 1));
        self.rtcp
            .set_right_peer(SocketAddr::new(right.ip(), right.port() + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::impairment::LossModel;

    fn loopback() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn relays_both_ways_with_loss_on_one_direction_only() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let loss = LossModel::Random { rate: 0.5 };
        let relay = UdpRelay::start(
            loopback(),
            RelayConfig {
                left_peer: Some(a.local_addr().unwrap()),
                right_peer: Some(b.local_addr().unwrap()),
                to_right: Impairment::with_loss(loss.clone()),
                to_left: Impairment::none(),
                seed: 99,
            },
        )
        .unwrap();
        for s in [&a, &b] {
            s.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
        }
        let n = 200u16;
        for i in 0..n {
            a.send_to(&i.to_be_bytes(), relay.left_addr()).unwrap();
            b.send_to(&i.to_be_bytes(), relay.right_addr()).unwrap();
            std::thread::sleep(Duration::from_micros(300));
        }
        let collect = |s: &UdpSocket| {
            let mut got = Vec::new();
            let mut buf = [0u8; 16];
            while let Ok((len, _)) = s.recv_from(&mut buf) {
                assert_eq!(len, 2);
                got.push(u16::from_be_bytes([buf[0], buf[1]]));
            }
            got
        };
        let at_b = collect(&b);
        let at_a = collect(&a);
        assert_eq!(
            at_a,
            (0..n).collect::<Vec<_>>(),
            "clean direction delivers all, in order"
        );
        let pattern = crate::relay::impairment::loss_pattern(&loss, 99, n as usize);
        let expected: Vec<u16> = (0..n).filter(|i| !pattern[*i as usize]).collect();
        assert_eq!(
            at_b, expected,
            "lossy direction drops exactly the seeded pattern"
        );
        let st = relay.stop();
        assert_eq!(st.to_right.received, u64::from(n));
        assert_eq!(st.to_right.forwarded, expected.len() as u64);
        assert_eq!(st.to_left.dropped, 0);
    }

    #[test]
    fn learns_peers_and_ignores_strangers() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        a.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let relay = UdpRelay::start(
            loopback(),
            RelayConfig {
                right_peer: Some(b.local_addr().unwrap()),
                ..RelayConfig::transparent()
            },
        )
        .unwrap();
        a.send_to(b"hi", relay.left_addr()).unwrap();
        let mut buf = [0u8; 8];
        let (len, from) = b.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..len], from), (&b"hi"[..], relay.right_addr()));
        std::thread::sleep(Duration::from_millis(20));
        stranger.send_to(b"no", relay.left_addr()).unwrap();
        b.send_to(b"yo", relay.right_addr()).unwrap();
        let (len, from) = a.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..len], from), (&b"yo"[..], relay.left_addr()));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(relay.stats().to_right.foreign, 1);
    }

    #[test]
    fn delay_is_applied() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let relay = UdpRelay::start(
            loopback(),
            RelayConfig {
                right_peer: Some(b.local_addr().unwrap()),
                to_right: Impairment {
                    delay: Duration::from_millis(60),
                    ..Impairment::none()
                },
                ..RelayConfig::transparent()
            },
        )
        .unwrap();
        b.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let t0 = Instant::now();
        a.send_to(b"x", relay.left_addr()).unwrap();
        let mut buf = [0u8; 4];
        b.recv_from(&mut buf).unwrap();
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(60), "{took:?}");
    }

    #[test]
    fn pairs_are_even_and_consecutive() {
        let (a, b) = bind_pair(loopback()).unwrap();
        let p = a.local_addr().unwrap().port();
        assert_eq!(p % 2, 0);
        assert_eq!(b.local_addr().unwrap().port(), p + 1);
    }
}
