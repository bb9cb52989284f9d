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

/// A block of `n` consecutive free ports (UDP and TCP); returns the first one.
///
/// Use a block when a peer binds several ports (baresip: SIP on p, TLS on p+1; RTP ranges).
pub fn free_block(n: u16) -> u16 {
    assert!(n > 0 && u32::from(n) < LAST - FIRST);
    for _ in 0..2000 {
        let mut base = cursor().fetch_add(u32::from(n), Ordering::SeqCst);
        if base + u32::from(n) >= LAST {
            // Wrap around; another thread may wrap at the same time, which is harmless.
            cursor().store(FIRST + u32::from(n), Ordering::SeqCst);
            base = FIRST;
        }
        let base = base as u16;
        if (0..n).all(|i| is_free(base + i)) {
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

    #[test]
    fn blocks_do_not_overlap_and_are_bindable() {
        let a = free_block(4);
        let b = free_block(4);
        assert!(a + 4 <= b || b + 4 <= a, "blocks overlap: {a} and {b}");
        for p in a..a + 4 {
            assert!(is_free(p));
        }
    }
}
