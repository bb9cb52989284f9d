//! A home network behind a NAT router, built from network namespaces for one test and removed
//! when it is dropped:
//!
//! ```text
//!  namespace "home"            namespace "router"                  this namespace
//!  10.201.N.2 ── veth ── 10.201.N.1 | 10.200.N.1 ── veth ── 10.200.N.2  (registrar, peers)
//!                           nftables masquerade (random ports) out of 10.200.N.1,
//!                           UDP mappings forgotten after `udp_timeout` seconds
//! ```
//!
//! A program run in "home" (`Cli::in_netns(&nat.home)`) reaches 10.200.N.2 only through the router, which rewrites
//! its source to 10.200.N.1 and a port of its own choosing, and lets answers back in only while
//! the mapping lives: like a home router. Traffic stays between this namespace and the test's
//! own namespaces. Needs root (CAP_NET_ADMIN) and nftables (`cargo xtask test` installs it).

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct HomeNat {
    /// Namespace of the machine at home (run programs there with [`HomeNat::exec`]).
    pub home: String,
    /// Namespace of the router.
    pub router: String,
    /// The home machine's own address.
    pub home_ip: Ipv4Addr,
    /// The router's outside address: what servers outside see as the home's address.
    pub public_ip: Ipv4Addr,
    /// This namespace's address on the outside link: where servers for the home listen.
    pub outside_ip: Ipv4Addr,
    outside_link: String,
}

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn must(args: &[&str]) {
    if let Err(e) = run(args) {
        panic!("building the test's NAT: {e} (network namespaces need root and the `nftables` package)");
    }
}

impl HomeNat {
    /// Builds the three links and the router, whose UDP mappings last `udp_timeout_secs`.
    pub fn new(udp_timeout_secs: u32) -> HomeNat {
        let n = (std::process::id() * 7 + NEXT.fetch_add(1, Ordering::SeqCst)) % 250 + 1;
        let home = format!("hf-home-{n}");
        let router = format!("hf-router-{n}");
        let outside_link = format!("hfo{n}");
        let inside_link = format!("hfi{n}");
        // Left over by a run that was killed: start clean.
        let _ = run(&["ip", "netns", "del", &home]);
        let _ = run(&["ip", "netns", "del", &router]);
        let _ = run(&["ip", "link", "del", &outside_link]);
        let nat = HomeNat {
            home_ip: Ipv4Addr::new(10, 201, n as u8, 2),
            public_ip: Ipv4Addr::new(10, 200, n as u8, 1),
            outside_ip: Ipv4Addr::new(10, 200, n as u8, 2),
            home,
            router,
            outside_link,
        };
        let (h, r) = (nat.home.as_str(), nat.router.as_str());
        must(&["ip", "netns", "add", h]);
        must(&["ip", "netns", "add", r]);
        // Outside link: this namespace <-> router.
        must(&[
            "ip",
            "link",
            "add",
            &nat.outside_link,
            "type",
            "veth",
            "peer",
            "name",
            "wan0",
            "netns",
            r,
        ]);
        must(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", nat.outside_ip),
            "dev",
            &nat.outside_link,
        ]);
        must(&["ip", "link", "set", &nat.outside_link, "up"]);
        must(&[
            "ip",
            "-n",
            r,
            "addr",
            "add",
            &format!("{}/24", nat.public_ip),
            "dev",
            "wan0",
        ]);
        must(&["ip", "-n", r, "link", "set", "wan0", "up"]);
        // Inside link: router <-> home.
        must(&[
            "ip",
            "-n",
            r,
            "link",
            "add",
            &inside_link,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            h,
        ]);
        must(&[
            "ip",
            "-n",
            r,
            "addr",
            "add",
            &format!("10.201.{n}.1/24"),
            "dev",
            &inside_link,
        ]);
        must(&["ip", "-n", r, "link", "set", &inside_link, "up"]);
        must(&["ip", "-n", r, "link", "set", "lo", "up"]);
        must(&[
            "ip",
            "-n",
            h,
            "addr",
            "add",
            &format!("{}/24", nat.home_ip),
            "dev",
            "eth0",
        ]);
        must(&["ip", "-n", h, "link", "set", "eth0", "up"]);
        must(&["ip", "-n", h, "link", "set", "lo", "up"]);
        must(&[
            "ip",
            "-n",
            h,
            "route",
            "add",
            "default",
            "via",
            &format!("10.201.{n}.1"),
        ]);
        // The router: forwards, masquerades what leaves on the outside link (ports chosen at
        // random, so the public port is not the home's own), forgets idle UDP mappings.
        must(&[
            "ip",
            "netns",
            "exec",
            r,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ]);
        must(&[
            "ip", "netns", "exec", r, "nft", "add", "table", "ip", "hfnat",
        ]);
        must(&[
            "ip",
            "netns",
            "exec",
            r,
            "nft",
            "add",
            "chain",
            "ip",
            "hfnat",
            "post",
            "{ type nat hook postrouting priority 100 ; }",
        ]);
        must(&[
            "ip",
            "netns",
            "exec",
            r,
            "nft",
            "add",
            "rule",
            "ip",
            "hfnat",
            "post",
            "oifname",
            "wan0",
            "masquerade",
            "random",
        ]);
        for key in [
            "net.netfilter.nf_conntrack_udp_timeout",
            "net.netfilter.nf_conntrack_udp_timeout_stream",
        ] {
            must(&[
                "ip",
                "netns",
                "exec",
                r,
                "sysctl",
                "-qw",
                &format!("{key}={udp_timeout_secs}"),
            ]);
        }
        nat
    }

    /// Moves the home machine to another address on its network (as a laptop that joins
    /// another Wi-Fi gets one): the new address is added, the old one removed, the default
    /// route kept. Returns the new address.
    pub fn change_home_address(&mut self, last_octet: u8) -> Ipv4Addr {
        let h = self.home.as_str();
        let o = self.home_ip.octets();
        let new = Ipv4Addr::new(o[0], o[1], o[2], last_octet);
        // The new address is a secondary one on the same network: promoted, not removed with the
        // old primary.
        must(&[
            "ip",
            "netns",
            "exec",
            h,
            "sysctl",
            "-qw",
            "net.ipv4.conf.eth0.promote_secondaries=1",
        ]);
        must(&[
            "ip",
            "-n",
            h,
            "addr",
            "add",
            &format!("{new}/24"),
            "dev",
            "eth0",
        ]);
        must(&[
            "ip",
            "-n",
            h,
            "addr",
            "del",
            &format!("{}/24", self.home_ip),
            "dev",
            "eth0",
        ]);
        let _ = run(&[
            "ip",
            "-n",
            h,
            "route",
            "replace",
            "default",
            "via",
            &format!("{}.{}.{}.1", o[0], o[1], o[2]),
        ]);
        self.home_ip = new;
        new
    }

    /// Gives the router another outside address (an ISP reconnecting the line hands out a new
    /// one): the new address is added, the old one removed. The kernel forgets every mapping
    /// made on the old address, so the home's next packet out gets a new public address and
    /// port. Returns the new public address.
    pub fn change_public_address(&mut self, last_octet: u8) -> Ipv4Addr {
        let r = self.router.as_str();
        let o = self.public_ip.octets();
        let new = Ipv4Addr::new(o[0], o[1], o[2], last_octet);
        must(&[
            "ip",
            "netns",
            "exec",
            r,
            "sysctl",
            "-qw",
            "net.ipv4.conf.wan0.promote_secondaries=1",
        ]);
        must(&[
            "ip",
            "-n",
            r,
            "addr",
            "add",
            &format!("{new}/24"),
            "dev",
            "wan0",
        ]);
        must(&[
            "ip",
            "-n",
            r,
            "addr",
            "del",
            &format!("{}/24", self.public_ip),
            "dev",
            "wan0",
        ]);
        self.public_ip = new;
        new
    }

    /// Makes the router drop UDP from home to `ip` except to `open_ports`: a firewall that
    /// lets signalling and the TURN server through and nothing else (a direct media path fails).
    pub fn only_open_udp_to(&self, ip: Ipv4Addr, open_ports: &[u16]) {
        let r = self.router.as_str();
        let ports = open_ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        must(&[
            "ip",
            "netns",
            "exec",
            r,
            "nft",
            "add",
            "chain",
            "ip",
            "hfnat",
            "filter",
            "{ type filter hook forward priority 0 ; }",
        ]);
        must(&[
            "ip",
            "netns",
            "exec",
            r,
            "nft",
            "add",
            "rule",
            "ip",
            "hfnat",
            "filter",
            "ip",
            "daddr",
            &ip.to_string(),
            "udp",
            "dport",
            "!=",
            &format!("{{ {ports} }}"),
            "counter",
            "drop",
        ]);
    }

    /// The router's firewall rules with their counters (what `only_open_udp_to` dropped).
    pub fn firewall(&self) -> String {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.router,
                "nft",
                "list",
                "chain",
                "ip",
                "hfnat",
                "filter",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// The router's live UDP mappings (`/proc/net/nf_conntrack` lines), for failure messages.
    pub fn mappings(&self) -> String {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.router,
                "cat",
                "/proc/net/nf_conntrack",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for HomeNat {
    fn drop(&mut self) {
        // Removing a namespace removes its ends of the links, and with them the peers here.
        let _ = run(&["ip", "netns", "del", &self.home]);
        let _ = run(&["ip", "netns", "del", &self.router]);
        let _ = run(&["ip", "link", "del", &self.outside_link]);
    }
}
