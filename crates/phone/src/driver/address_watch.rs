//! Noticing that the address our SIP traffic leaves from changed: an interface went down, the
//! laptop moved to another Wi-Fi, a VPN came up. Every few seconds the driver asks the system
//! which local address routes toward each account's registrar (a UDP socket "connected" to it:
//! no packet leaves) and compares it with the address the account's SIP stack is bound to. A
//! different one means the stack must be bound again there and the account registered again
//! (the registration then removes the binding of the old address in the same REGISTER).
//!
//! Only accounts whose address was chosen automatically are watched: a configured `listen`
//! address is the user's decision. No route at all (the network is down) changes nothing: the
//! account waits for one.

use std::net::{IpAddr, SocketAddr};

/// How often the routes are looked at.
pub(super) const LOOK_EVERY_MS: i64 = 3_000;

/// What is watched for one account: where its registrar is, and the address bound now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Watched {
    pub towards: SocketAddr,
    pub bound: IpAddr,
}

pub(super) struct AddressWatch {
    /// Per account (None: not watched).
    accounts: Vec<Option<Watched>>,
    next_look_ms: i64,
}

impl AddressWatch {
    pub(super) fn new(accounts: Vec<Option<Watched>>, now_ms: i64) -> AddressWatch {
        AddressWatch {
            accounts,
            next_look_ms: now_ms + LOOK_EVERY_MS,
        }
    }

    /// When the next look is due (None: nothing is watched).
    pub(super) fn next_look(&self) -> Option<i64> {
        self.accounts
            .iter()
            .any(Option::is_some)
            .then_some(self.next_look_ms)
    }

    /// Looks at the routes if a look is due at `now_ms`, with `route` telling the local address
    /// that reaches a destination (None: no route). Returns the accounts whose address changed,
    /// with the new one.
    pub(super) fn look(
        &mut self,
        now_ms: i64,
        route: impl Fn(SocketAddr) -> Option<IpAddr>,
    ) -> Vec<(usize, IpAddr)> {
        if now_ms < self.next_look_ms || self.next_look().is_none() {
            return Vec::new();
        }
        self.next_look_ms = now_ms + LOOK_EVERY_MS;
        let mut changed = Vec::new();
        for (i, w) in self.accounts.iter().enumerate() {
            let Some(w) = w else { continue };
            if let Some(ip) = route(w.towards) {
                if ip != w.bound && !ip.is_unspecified() {
                    changed.push((i, ip));
                }
            }
        }
        changed
    }

    /// The account's stack is bound to `ip` now.
    pub(super) fn rebound(&mut self, account: usize, ip: IpAddr) {
        if let Some(Some(w)) = self.accounts.get_mut(account) {
            w.bound = ip;
        }
    }
}

/// The local address the system routes `towards` from (no packet is sent).
pub(super) fn route_towards(towards: SocketAddr) -> Option<IpAddr> {
    let bind: SocketAddr = if towards.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = std::net::UdpSocket::bind(bind).ok()?;
    s.connect(towards).ok()?;
    Some(s.local_addr().ok()?.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A laptop on Wi-Fi: the route to the registrar moves to another address, goes away (no
    /// network) and comes back; only a new address is reported, once, and only when a look is due.
    #[test]
    fn a_new_route_address_is_reported_once_and_no_route_changes_nothing() {
        let registrar: SocketAddr = "198.51.100.10:5060".parse().unwrap();
        let fixed: SocketAddr = "198.51.100.20:5060".parse().unwrap();
        let mut watch = AddressWatch::new(
            vec![
                Some(Watched {
                    towards: registrar,
                    bound: ip("192.168.1.20"),
                }),
                None,
            ],
            0,
        );
        let now_route = RefCell::new(Some(ip("192.168.1.20")));
        let route = |to: SocketAddr| {
            assert_ne!(to, fixed, "an unwatched account was looked at");
            *now_route.borrow()
        };
        assert_eq!(watch.next_look(), Some(LOOK_EVERY_MS));
        assert!(
            watch.look(LOOK_EVERY_MS, route).is_empty(),
            "nothing changed"
        );
        // Moved to another network: not seen before the next look is due.
        *now_route.borrow_mut() = Some(ip("10.0.0.7"));
        assert!(watch.look(LOOK_EVERY_MS + 1_000, route).is_empty());
        assert_eq!(
            watch.look(2 * LOOK_EVERY_MS, route),
            vec![(0, ip("10.0.0.7"))]
        );
        watch.rebound(0, ip("10.0.0.7"));
        assert!(
            watch.look(3 * LOOK_EVERY_MS, route).is_empty(),
            "reported again after the rebind"
        );
        // The network goes away: no route, nothing to do.
        *now_route.borrow_mut() = None;
        assert!(watch.look(4 * LOOK_EVERY_MS, route).is_empty());
        // Back on the first network.
        *now_route.borrow_mut() = Some(ip("192.168.1.20"));
        assert_eq!(
            watch.look(5 * LOOK_EVERY_MS, route),
            vec![(0, ip("192.168.1.20"))]
        );
    }

    #[test]
    fn nothing_watched_never_looks() {
        let mut watch = AddressWatch::new(vec![None], 0);
        assert_eq!(watch.next_look(), None);
        assert!(watch
            .look(10 * LOOK_EVERY_MS, |_| panic!("looked"))
            .is_empty());
    }

    #[test]
    fn the_loopback_route_is_found() {
        assert_eq!(
            route_towards("127.0.0.1:5060".parse().unwrap()),
            Some(ip("127.0.0.1"))
        );
    }
}
