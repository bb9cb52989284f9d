//! Free port allocation on 127.0.0.1.
//!
//! Ports come from 20000..32000 (below Linux's ephemeral range, so the OS does not hand them out
//! to other sockets meanwhile). Each process starts at an offset derived from its pid and walks
//! forward, so test binaries running side by side rarely probe the same ports; every port handed
//! out is checked to be bindable on both UDP and TCP.

use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

const FIRST: u32 = 20000;
const LAST: u32 = 32000;

fn cursor() -> &'static AtomicU32 {
    static CURSOR: OnceLock<AtomicU32> = OnceLock::new();
    CURSOR.get_or_init(|| AtomicU32::new(FIRST + (std::process::id() % 590) * 20))
}

/// True if `port` can be bound on 127.0.0.1 for both UDP and TCP right now.
pub fn is_free(port: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The next block of `n` ports this process has not handed out yet: one atomic step, so threads
/// asking at the same time get disjoint blocks, also when the cursor wraps around (two threads
/// wrapping at once used to both get the first block, and one's probe of it made the other's
/// port look taken).
fn next_block(cursor: &AtomicU32, n: u32) -> u32 {
    let mut base = 0;
    cursor
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |at| {
            base = if at + n >= LAST { FIRST } else { at };
            Some(base + n)
        })
        .expect("the update always returns a value");
    base
}

/// A block of `n` consecutive free ports (UDP and TCP); returns the first one.
///
/// Use a block when a peer binds several ports (baresip: SIP on p, TLS on p+1; RTP ranges).
/// "Free" means free when probed: another program may take a port afterwards (no allocator can
/// reserve a port for a peer that binds it later); within this process no port is handed out twice.
pub fn free_block(n: u16) -> u16 {
    free_block_from(cursor(), n, is_free)
}

/// [`free_block`] with its cursor and probe given (the tests replace the probe).
fn free_block_from(cursor: &AtomicU32, n: u16, probe: impl Fn(u16) -> bool) -> u16 {
    assert!(n > 0 && u32::from(n) < LAST - FIRST);
    for _ in 0..2000 {
        let base = next_block(cursor, u32::from(n)) as u16;
        if (0..n).all(|i| probe(base + i)) {
            return base;
        }
    }
    panic!("no block of {n} free ports found on 127.0.0.1 in {FIRST}..{LAST}");
}

/// One free port (UDP and TCP).
pub fn free_port() -> u16 {
    free_block(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks handed out in this process never overlap and stay in the range. (This test used
    /// to probe the ports again afterwards: racy by nature — any program on the machine may bind a
    /// port between two probes — and it failed on fresh machines.)
    #[test]
    fn blocks_do_not_overlap_and_stay_in_the_range() {
        let a = free_block(4);
        let b = free_block(4);
        assert!(a + 4 <= b || b + 4 <= a, "blocks overlap: {a} and {b}");
        for base in [a, b] {
            assert!(
                u32::from(base) >= FIRST && u32::from(base) + 4 <= LAST,
                "{base} outside {FIRST}..{LAST}"
            );
        }
    }

    /// A block is handed out only when every port of it was free when probed: a block with one
    /// taken port is skipped for the next one.
    #[test]
    fn a_block_with_a_taken_port_is_skipped() {
        let cursor = AtomicU32::new(FIRST);
        let taken = FIRST as u16 + 2;
        let probed = std::sync::Mutex::new(Vec::new());
        let base = free_block_from(&cursor, 4, |p| {
            probed.lock().unwrap().push(p);
            p != taken
        });
        assert_eq!(base, FIRST as u16 + 4);
        assert!(probed.lock().unwrap().contains(&taken));
    }

    /// Threads that reach the end of the range together each get their own block after the
    /// wrap-around. (The old cursor gave every thread that wrapped at once the first block, and
    /// one's probe of it made the other's port look taken.)
    #[test]
    fn threads_wrapping_together_get_disjoint_blocks() {
        let threads = 8;
        let n = 4;
        let cursor = AtomicU32::new(LAST - 1);
        let start = std::sync::Barrier::new(threads);
        let mut bases: Vec<u32> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        next_block(&cursor, n)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        bases.sort_unstable();
        let expected: Vec<u32> = (0..threads as u32).map(|i| FIRST + i * n).collect();
        assert_eq!(bases, expected);
    }
}

/// This machine's address on the interface toward its default route (found by connecting a UDP
/// socket, which sends nothing). For peers that leave loopback out of what they offer, e.g.
/// baresip's ICE, which gathers no loopback candidate and ignores loopback ones it is offered.
/// Panics with the reason when the machine has no such interface.
pub fn interface_ip() -> std::net::IpAddr {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind a UDP socket");
    s.connect("192.0.2.123:9")
        .or_else(|_| s.connect("203.0.113.1:9"))
        .expect("this test needs a network interface besides loopback (no route found)");
    let ip = s.local_addr().expect("local address").ip();
    assert!(
        !ip.is_loopback() && !ip.is_unspecified(),
        "this test needs a network interface besides loopback (found {ip})"
    );
    ip
}
