//! coturn (Debian's `coturn` 4.6, the `turnserver` program) as the STUN/TURN server: UDP only,
//! long-term credentials for one user, relayed addresses on the address it listens on, no
//! config file, database or TLS of the system's. Started for one test, stopped when dropped.

use crate::{ports, ProcessGuard, TestDir};
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

pub struct Coturn {
    /// Where it takes STUN Binding requests and TURN Allocates (UDP).
    pub addr: SocketAddr,
    pub username: String,
    pub password: String,
    /// The first and last port of its relayed addresses.
    pub relay_ports: (u16, u16),
    process: ProcessGuard,
}

impl Coturn {
    /// Starts coturn on `ip` (a free port) with user `agent`; relays from `ip` as well.
    pub fn start(dir: &TestDir, ip: IpAddr) -> Coturn {
        let cdir = dir.short_subdir("coturn");
        let port = ports::free_port();
        let relay = ports::free_block(40);
        let (username, password) = ("agent".to_string(), "turn-secret-4711".to_string());
        let mut cmd = Command::new("turnserver");
        cmd.arg("-n")
            .arg(format!("--listening-ip={ip}"))
            .arg(format!("--listening-port={port}"))
            .arg(format!("--relay-ip={ip}"))
            .arg(format!("--min-port={relay}"))
            .arg(format!("--max-port={}", relay + 39))
            .arg("--lt-cred-mech")
            .arg(format!("--user={username}:{password}"))
            .arg("--realm=hookflash.test")
            .args([
                "--no-tls",
                "--no-dtls",
                "--no-tcp",
                "--no-cli",
                "--log-file=stdout",
                "--simple-log",
                "--verbose",
            ])
            .arg(format!(
                "--pidfile={}",
                cdir.join("turnserver.pid").display()
            ))
            .arg(format!("--userdb={}", cdir.join("turndb").display()));
        let mut process = ProcessGuard::spawn("coturn", &mut cmd, dir.path());
        process.await_ready(
            "Total General servers",
            Duration::from_secs(10),
            "apt-get install coturn",
        );
        Coturn {
            addr: SocketAddr::new(ip, port),
            username,
            password,
            relay_ports: (relay, relay + 39),
            process,
        }
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        self.process.output()
    }

    /// The account profile lines (`[account.turn]`) that point a phone at this server.
    pub fn profile_section(&self) -> String {
        format!(
            "[account.turn]\nserver = \"{}\"\nusername = \"{}\"\npassword = \"{}\"\n",
            self.addr, self.username, self.password
        )
    }
}
