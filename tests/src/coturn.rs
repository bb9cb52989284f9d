//! coturn (Debian's `coturn` 4.6, the `turnserver` program) as the STUN/TURN server: UDP, and
//! TLS when given a certificate ([`Coturn::start_with_tls`]); long-term credentials for one user,
//! relayed addresses on the address it listens on, no config file or database of the system's.
//! Started for one test, stopped when dropped.

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
    /// Where it takes TURN over TLS, when started with a certificate.
    pub tls_addr: Option<SocketAddr>,
    process: ProcessGuard,
}

impl Coturn {
    /// Starts coturn on `ip` (a free port) with user `agent`; relays from `ip` as well.
    pub fn start(dir: &TestDir, ip: IpAddr) -> Coturn {
        Self::start_inner(dir, ip, None)
    }

    /// [`Coturn::start`], also taking TURN over TLS on another free port with this certificate
    /// and key (PEM).
    pub fn start_with_tls(
        dir: &TestDir,
        ip: IpAddr,
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> Coturn {
        Self::start_inner(dir, ip, Some((cert, key)))
    }

    fn start_inner(
        dir: &TestDir,
        ip: IpAddr,
        tls: Option<(&std::path::Path, &std::path::Path)>,
    ) -> Coturn {
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
            .args(["--no-dtls", "--no-tcp"]);
        let tls_port = tls.map(|(cert, key)| {
            let tls_port = ports::free_port();
            cmd.arg(format!("--tls-listening-port={tls_port}"))
                .arg(format!("--cert={}", cert.display()))
                .arg(format!("--pkey={}", key.display()));
            tls_port
        });
        if tls.is_none() {
            cmd.arg("--no-tls");
        }
        cmd.args(["--no-cli", "--log-file=stdout", "--simple-log", "--verbose"])
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
            tls_addr: tls_port.map(|p| SocketAddr::new(ip, p)),
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

    /// The profile lines for reaching this server over TLS (`turns:`).
    pub fn tls_profile_section(&self) -> String {
        let tls = self.tls_addr.expect("coturn started with TLS");
        format!(
            "[account.turn]\nserver = \"turns:{tls}\"\nusername = \"{}\"\npassword = \"{}\"\n",
            self.username, self.password
        )
    }
}
