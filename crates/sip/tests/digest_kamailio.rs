//! Cross-checks `hookflash_sip::digest` against a real registrar: starts
//! Kamailio on 127.0.0.1 (its own config and db_text subscriber table in a
//! temporary directory, a free UDP port), sends hand-built REGISTER requests
//! over UDP and expects `200 OK` for correct credentials and another `401` for
//! a wrong password. Covers MD5 with qop=auth, MD5 without qop (RFC 2069
//! style) and SHA-256 with qop=auth (RFC 8760).
//!
//! Kamailio is stopped with SIGTERM to its own pid when the test ends,
//! pass or fail.
//!
//! Needs the `kamailio` package (Debian: `apt-get install kamailio`).
//! Run with `cargo test -p hookflash-sip --test digest_kamailio -- --ignored`.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hookflash_sip::digest::{self, Algorithm};

const REALM: &str = "hookflash.test";
const PASSWORD: &str = "s3cret pass";

/// A running Kamailio; stopped (and its temp dir removed) when dropped, so a
/// failing assertion does not leave it behind.
struct Kamailio {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        // Only ever signal the exact pid of our own child, and only while it
        // is unreaped (so the pid cannot have been reused). SIGTERM makes the
        // Kamailio main process stop its worker processes.
        if let Ok(None) = self.child.try_wait() {
            let pid = self.child.id();
            assert!(pid > 1, "refusing to signal pid {pid}");
            let _ = Command::new("kill")
                .args(["-s", "TERM", "--", &pid.to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while let Ok(None) = self.child.try_wait() {
                if Instant::now() > deadline {
                    let _ = self.child.kill(); // SIGKILL to that pid only
                    let _ = self.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn find_kamailio() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("kamailio"))
                .collect()
        })
        .unwrap_or_default();
    candidates.push("/usr/sbin/kamailio".into());
    candidates.push("/usr/local/sbin/kamailio".into());
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the kamailio binary was not found on PATH, /usr/sbin or /usr/local/sbin; \
             install it (Debian: apt-get install kamailio) to run this test"
            )
        })
}

fn find_module_dir() -> PathBuf {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        for e in entries.flatten() {
            candidates.push(e.path().join("kamailio/modules"));
        }
    }
    for p in [
        "/usr/lib/kamailio/modules",
        "/usr/lib64/kamailio/modules",
        "/usr/local/lib64/kamailio/modules",
        "/usr/local/lib/kamailio/modules",
    ] {
        candidates.push(p.into());
    }
    candidates.into_iter().find(|d| d.join("auth_db.so").is_file() && d.join("db_text.so").is_file()).unwrap_or_else(|| {
        panic!("Kamailio's modules (auth_db.so, db_text.so) were not found under /usr/lib/*/kamailio/modules; is the kamailio package complete?")
    })
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_kamailio(algorithm: Option<&str>) -> Kamailio {
    let bin = find_kamailio();
    let modules = find_module_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!(
        "hookflash-digest-kamailio-{}-{nanos}",
        std::process::id()
    ));
    let db = dir.join("db");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(
        db.join("version"),
        "table_name(str) table_version(int)\nsubscriber:7\n",
    )
    .unwrap();
    // Nullable ha1/ha1b columns; calculate_ha1 uses the plaintext password.
    std::fs::write(
        db.join("subscriber"),
        format!(
            "id(int,auto) username(str) domain(str) password(str) ha1(str,null) ha1b(str,null)\n\
             1:alice:{REALM}:{pw}::\n2:plain:{REALM}:{pw}::\n",
            pw = PASSWORD.replace(':', "\\:")
        ),
    )
    .unwrap();

    let port = free_udp_port();
    let algorithm_param = algorithm
        .map(|a| format!("modparam(\"auth\", \"algorithm\", \"{a}\")\n"))
        .unwrap_or_default();
    let cfg = format!(
        r#"#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=1
auto_aliases=no
listen=udp:127.0.0.1:{port}
mpath="{modules}"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "db_text.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
modparam("auth_db", "db_url", "text://{db}")
modparam("auth_db", "calculate_ha1", yes)
modparam("auth_db", "password_column", "password")
modparam("auth_db", "use_domain", 1)
{algorithm_param}
request_route {{
    if (method != "REGISTER") {{
        sl_send_reply("405", "Method Not Allowed");
        exit;
    }}
    if (!www_authorize("{REALM}", "subscriber")) {{
        # user "plain" gets an RFC 2069 challenge without qop.
        if ($tU == "plain") {{
            www_challenge("{REALM}", "0");
        }} else {{
            www_challenge("{REALM}", "1");
        }}
        exit;
    }}
    sl_send_reply("200", "OK");
    exit;
}}
"#,
        modules = modules.display(),
        db = db.display(),
    );
    let cfg_path = dir.join("kamailio.cfg");
    std::fs::write(&cfg_path, cfg).unwrap();

    let log = std::fs::File::create(dir.join("kamailio.log")).unwrap();
    let child = Command::new(&bin)
        .arg("-f")
        .arg(&cfg_path)
        .args(["-DD", "-E", "-w"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {}: {e}", bin.display()));
    Kamailio { child, dir, port }
}

struct Reply {
    status: u16,
    www_authenticate: Vec<String>,
    raw: String,
}

fn parse_reply(raw: &str) -> Reply {
    let mut lines = raw.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not a SIP response: {raw:?}"));
    let www_authenticate = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("WWW-Authenticate")
                .then(|| value.trim().to_string())
        })
        .collect();
    Reply {
        status,
        www_authenticate,
        raw: raw.to_string(),
    }
}

struct Client {
    sock: UdpSocket,
    server_port: u16,
    cseq: u32,
}

impl Client {
    fn new(server_port: u16) -> Client {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        Client {
            sock,
            server_port,
            cseq: 0,
        }
    }

    /// Sends a REGISTER for `user` and waits for the final response.
    /// Retransmits until `deadline` (covers Kamailio still starting up).
    fn register(
        &mut self,
        user: &str,
        authorization: Option<&str>,
        deadline: Duration,
        kam: &mut Kamailio,
    ) -> Reply {
        self.cseq += 1;
        let local = self.sock.local_addr().unwrap();
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let branch = format!("z9hG4bK{}", digest::new_cnonce());
        let msg = format!(
            "REGISTER sip:{REALM} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@{REALM}>;tag=hf{cseq}\r\n\
             To: <sip:{user}@{REALM}>\r\n\
             Call-ID: digest-test-{user}@127.0.0.1\r\n\
             CSeq: {cseq} REGISTER\r\n\
             Contact: <sip:{user}@{local}>\r\n\
             Expires: 60\r\n\
             {auth}\
             Content-Length: 0\r\n\r\n",
            cseq = self.cseq
        );
        let start = Instant::now();
        let mut buf = [0u8; 65536];
        loop {
            if let Ok(Some(status)) = kam.child.try_wait() {
                let log = std::fs::read_to_string(kam.dir.join("kamailio.log")).unwrap_or_default();
                panic!("kamailio exited ({status}) before answering; its log:\n{log}");
            }
            self.sock
                .send_to(msg.as_bytes(), ("127.0.0.1", self.server_port))
                .unwrap();
            while let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                let reply = parse_reply(&String::from_utf8_lossy(&buf[..n]));
                if reply.status >= 200
                    && reply.raw.contains(&format!("CSeq: {} REGISTER", self.cseq))
                {
                    return reply;
                }
            }
            if start.elapsed() > deadline {
                let log = std::fs::read_to_string(kam.dir.join("kamailio.log")).unwrap_or_default();
                panic!(
                    "no answer from kamailio on 127.0.0.1:{} within {deadline:?}; its log:\n{log}",
                    self.server_port
                );
            }
        }
    }
}

/// Challenge, answer, expect 200; then prove a wrong password is refused.
fn register_with_digest(kam: &mut Kamailio, user: &str, expect_alg: Algorithm, expect_qop: bool) {
    let mut client = Client::new(kam.port);
    let first = client.register(user, None, Duration::from_secs(15), kam);
    assert_eq!(
        first.status, 401,
        "expected a challenge, got:\n{}",
        first.raw
    );
    let challenges: Vec<_> = first
        .www_authenticate
        .iter()
        .flat_map(|h| digest::parse_challenges(h, false))
        .filter_map(Result::ok)
        .collect();
    let ch = digest::choose(&challenges)
        .unwrap_or_else(|| panic!("no usable challenge in:\n{}", first.raw));
    assert_eq!(
        ch.algorithm, expect_alg,
        "challenge: {:?}",
        first.www_authenticate
    );
    assert_eq!(ch.realm, REALM);
    assert_eq!(
        !ch.qop.is_empty(),
        expect_qop,
        "challenge: {:?}",
        first.www_authenticate
    );

    let uri = format!("sip:{REALM}");
    let good = digest::respond(
        ch,
        user,
        PASSWORD,
        "REGISTER",
        &uri,
        b"",
        1,
        &digest::new_cnonce(),
    );
    assert_eq!(good.header_name, "Authorization");
    let ok = client.register(user, Some(&good.value), Duration::from_secs(5), kam);
    assert_eq!(
        ok.status, 200,
        "Kamailio refused our {expect_alg} response.\nWe sent: {}\nIt answered:\n{}",
        good.value, ok.raw
    );

    // A wrong password must not pass: otherwise the 200 above proves nothing.
    let again = client.register(user, None, Duration::from_secs(5), kam);
    assert_eq!(again.status, 401);
    let ch2 = digest::parse_challenge(&again.www_authenticate[0], false).unwrap();
    let bad = digest::respond(
        &ch2,
        user,
        "wrong password",
        "REGISTER",
        &uri,
        b"",
        1,
        &digest::new_cnonce(),
    );
    let refused = client.register(user, Some(&bad.value), Duration::from_secs(5), kam);
    assert_eq!(
        refused.status, 401,
        "a wrong password was accepted:\n{}",
        refused.raw
    );
}

#[test]
#[ignore = "needs kamailio: run by cargo xtask test"]
fn kamailio_accepts_md5_digest() {
    let mut kam = start_kamailio(None);
    register_with_digest(&mut kam, "alice", Algorithm::Md5, true);
    register_with_digest(&mut kam, "plain", Algorithm::Md5, false);
}

#[test]
#[ignore = "needs kamailio: run by cargo xtask test"]
fn kamailio_accepts_sha256_digest() {
    let mut kam = start_kamailio(Some("SHA-256"));
    register_with_digest(&mut kam, "alice", Algorithm::Sha256, true);
}
