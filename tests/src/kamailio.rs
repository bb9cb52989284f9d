//! Kamailio as registrar + record-routing proxy, configured per test.
//!
//! The builder writes `kamailio.cfg` and a `db_text` database (`subscriber` table with the
//! test's users and plaintext passwords) into the test directory, starts
//! `kamailio -f cfg -DD -E` under a [`ProcessGuard`] and waits until it answers OPTIONS.
//!
//! Routing: REGISTER needs digest auth (MD5 or SHA-256 per instance) and is saved in usrloc
//! (in memory); requests to a local AOR are looked up (404 when not registered) and relayed with
//! record-routing; OPTIONS to the server itself get 200. Every request and every saved
//! registration is logged as a `HF-REQ` / `HF-SAVED` line on stderr, which the tests count.
//!
//! With `.park_orbits(...)` it is also a park-orbit PBX front: INVITEs to the orbit users are
//! relayed to the orbit (e.g. a sipp UAS) with the `dialog` module tracking them, and
//! `pua_dialoginfo` publishes their state to its own `presence` + `presence_dialoginfo`, which
//! answers (digest-authenticated) `SUBSCRIBE Event: dialog` for the orbit URIs with RFC 4235
//! NOTIFYs.

use crate::{ports, sip_probe, tls, ProcessGuard, TestDir};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Digest algorithm Kamailio challenges with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Md5,
    Sha256,
}

#[derive(Debug, Clone)]
pub struct KamailioBuilder {
    users: Vec<(String, String)>,
    digest: Digest,
    tls: bool,
    /// The TLS server certificate (a faulty one for the tests of refusals).
    tls_cert: tls::ServerCert,
    min_expires: u32,
    name: String,
    /// Orbit user pattern (regex on the R-URI user) and where those INVITEs go.
    park_orbits: Option<(String, SocketAddr)>,
    invite_auth: Option<InviteAuth>,
    /// Whose requests inside a dialog (re-INVITE, REFER, NOTIFY, INFO, MESSAGE) are challenged.
    in_dialog_auth: Option<String>,
    /// Another address it listens on (UDP/TCP, same port), e.g. outside a test's NAT.
    also_listen: Option<std::net::Ipv4Addr>,
    /// SIP over WebSocket: a WS port (and a WSS port when TLS is on).
    websocket: bool,
    ws_path: Option<String>,
    /// SIP outbound (RFC 5626) taken when a REGISTER offers it, with this Flow-Timer (s).
    outbound: Option<u32>,
}

/// Whether Kamailio challenges new INVITEs (407) before relaying them, and with which realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteAuth {
    /// The From domain (the caller's own realm, as for REGISTER).
    FromDomain,
    /// Always this realm (a proxy asking for a password of another realm).
    Realm(String),
}

pub struct Kamailio {
    /// UDP and TCP port.
    pub port: u16,
    /// TLS port, when built with `.tls(true)`.
    pub tls_port: Option<u16>,
    /// SIP over WebSocket port (`.websocket(true)`); its `/` takes the upgrade, other ports refuse it (403).
    pub ws_port: Option<u16>,
    /// SIP over secure WebSocket port (`.websocket(true)` with TLS).
    pub wss_port: Option<u16>,
    /// The test CA that signed the TLS server certificate (give it to the CLI as `--tls-ca`).
    pub ca_pem: Option<PathBuf>,
    pub digest: Digest,
    process: ProcessGuard,
    name: String,
    cfg_path: PathBuf,
    kdir: PathBuf,
    log_dir: PathBuf,
    /// How many times it was started (`restart`).
    starts: u32,
}

impl Kamailio {
    pub fn builder() -> KamailioBuilder {
        KamailioBuilder {
            users: Vec::new(),
            digest: Digest::Md5,
            tls: false,
            tls_cert: tls::ServerCert::Usual,
            min_expires: 10,
            name: "kamailio".into(),
            park_orbits: None,
            invite_auth: None,
            in_dialog_auth: None,
            also_listen: None,
            websocket: false,
            ws_path: None,
            outbound: None,
        }
    }
}

impl KamailioBuilder {
    /// Adds a subscriber (domain 127.0.0.1).
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_string(), password.to_string()));
        self
    }

    pub fn digest(mut self, digest: Digest) -> Self {
        self.digest = digest;
        self
    }

    /// Also listen on TLS with a certificate from a freshly generated test CA.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Registrar `min_expires` (default 10 s).
    /// Serve TLS with this server certificate (a wrong name, expired, self-signed).
    pub fn tls_cert(mut self, cert: tls::ServerCert) -> Self {
        self.tls = true;
        self.tls_cert = cert;
        self
    }

    pub fn min_expires(mut self, secs: u32) -> Self {
        self.min_expires = secs;
        self
    }

    /// Park orbits: INVITEs whose R-URI user matches `user_regex` (e.g. `^70[0-9]$`) go to
    /// `orbit` with their dialog state published, and `SUBSCRIBE Event: dialog` is served.
    pub fn park_orbits(mut self, user_regex: &str, orbit: SocketAddr) -> Self {
        self.park_orbits = Some((user_regex.to_string(), orbit));
        self
    }

    /// Challenge `user`'s requests inside dialogs (re-INVITE, REFER, NOTIFY, INFO, MESSAGE) with
    /// `Proxy-Authenticate` for the From domain before relaying them; logged as
    /// `HF-IN-DIALOG-CHALLENGE <method>` and, answered, `HF-IN-DIALOG-AUTHED <method>` with the
    /// `Proxy-Authorization` header.
    pub fn challenge_in_dialog(mut self, user: &str) -> Self {
        self.in_dialog_auth = Some(user.to_string());
        self
    }

    /// Challenge new INVITEs with `Proxy-Authenticate` (the configured digest algorithm) before
    /// relaying them; each is logged as `HF-INVITE-CHALLENGE`, an accepted answer as
    /// `HF-INVITE-AUTHED` with its `Proxy-Authorization` header.
    pub fn challenge_invites(mut self, auth: InviteAuth) -> Self {
        self.invite_auth = Some(auth);
        self
    }

    /// Name used for the log files (default "kamailio"); set it when a test runs two instances.
    /// Also listens on `ip` (same ports) and takes requests for local AORs addressed to it.
    pub fn also_listen(mut self, ip: std::net::Ipv4Addr) -> Self {
        self.also_listen = Some(ip);
        self
    }

    /// Also take SIP over WebSocket (RFC 7118, the `xhttp` and `websocket` modules) on a port of
    /// its own, and over secure WebSocket on another when TLS is on. An upgrade on any other TCP
    /// port is refused with 403; each is logged as `HF-WS-UPGRADE port=<port> url=<path>`.
    pub fn websocket(mut self, on: bool) -> Self {
        self.websocket = on;
        self
    }

    /// Takes the WebSocket upgrade on `path` only (as a gateway at `wss://host/ws`); any other
    /// path is answered 404.
    pub fn ws_path(mut self, path: &str) -> Self {
        self.ws_path = Some(path.to_string());
        self
    }

    /// The registrar takes SIP outbound (RFC 5626) from a UA that offers it, answering
    /// `Require: outbound` and `Flow-Timer: flow_timer_secs`.
    pub fn outbound(mut self, flow_timer_secs: u32) -> Self {
        self.outbound = Some(flow_timer_secs);
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Writes the configuration and starts Kamailio; panics with its log if it does not come up.
    pub fn start(self, dir: &TestDir) -> Kamailio {
        let kdir = dir.subdir(&self.name);
        let db = kdir.join("db");
        std::fs::create_dir_all(&db).expect("create db_text directory");
        let mut versions = String::from("table_name(str) table_version(int)\nsubscriber:7\n");
        if self.park_orbits.is_some() {
            for (table, version, header) in PRESENCE_TABLES {
                versions.push_str(&format!("{table}:{version}\n"));
                std::fs::write(db.join(table), format!("{header}\n"))
                    .expect("write presence table");
            }
        }
        std::fs::write(db.join("version"), versions).expect("write db_text version table");
        std::fs::write(db.join("subscriber"), subscriber_table(&self.users))
            .expect("write subscriber table");

        let port = ports::free_port();
        let (tls_port, ca) = if self.tls {
            let ca = tls::generate_with(&kdir.join("tls"), &self.tls_cert);
            let tls_cfg = format!(
                "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n\
                 private_key = {}\ncertificate = {}\n\n[client:default]\nmethod = TLSv1.2+\n\
                 verify_certificate = no\nrequire_certificate = no\n",
                ca.server_key.display(),
                ca.server_pem.display()
            );
            std::fs::write(kdir.join("tls.cfg"), tls_cfg).expect("write tls.cfg");
            (Some(ports::free_port()), Some(ca))
        } else {
            (None, None)
        };
        let ws_port = self.websocket.then(ports::free_port);
        let wss_port = (self.websocket && self.tls).then(ports::free_port);
        let mut cfg = config_text(&ConfigParams {
            port,
            tls_port,
            ws_port,
            wss_port,
            db_dir: db.display().to_string(),
            tls_cfg: kdir.join("tls.cfg").display().to_string(),
            digest: self.digest,
            min_expires: self.min_expires,
            park_orbits: self.park_orbits.clone(),
            invite_auth: self.invite_auth.clone(),
            in_dialog_auth: self.in_dialog_auth.clone(),
            also_listen: self.also_listen,
            outbound: self.outbound,
        });
        if let Some(path) = &self.ws_path {
            let upgrade = "    if ($hdr(Upgrade) =~ \"websocket\"";
            assert!(cfg.contains(upgrade), "ws_path needs .websocket(true)");
            cfg = cfg.replace(upgrade, &format!("    if ($hu != \"{path}\") {{\n        xhttp_reply(\"404\", \"Not Found\", \"\", \"\");\n        exit;\n    }}\n{upgrade}"));
        }
        let cfg_path = kdir.join("kamailio.cfg");
        std::fs::write(&cfg_path, cfg).expect("write kamailio.cfg");

        let process = launch(&self.name, &cfg_path, &kdir, port, dir.path());
        Kamailio {
            port,
            tls_port,
            ws_port,
            wss_port,
            ca_pem: ca.map(|c| c.ca_pem),
            digest: self.digest,
            process,
            name: self.name,
            cfg_path,
            kdir,
            log_dir: dir.path().to_path_buf(),
            starts: 1,
        }
    }
}

/// Starts Kamailio with `cfg` and waits until it answers OPTIONS on `port`.
fn launch(name: &str, cfg: &Path, kdir: &Path, port: u16, log_dir: &Path) -> ProcessGuard {
    let mut cmd = Command::new("kamailio");
    cmd.arg("-f")
        .arg(cfg)
        .args(["-DD", "-E", "-m", "48", "-M", "8", "-Y"])
        .arg(kdir);
    let mut process = ProcessGuard::spawn(name, &mut cmd, log_dir);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let up = crate::wait_until(Duration::from_secs(10), || {
        if process.try_status().is_some() {
            return Some(false);
        }
        sip_probe::options(
            addr,
            &format!("sip:127.0.0.1:{port}"),
            Duration::from_millis(300),
        )
        .map(|r| r.status == 200)
    });
    if up != Some(true) {
        panic!("Kamailio did not come up on 127.0.0.1:{port} (is the `kamailio` package installed?)\n{}", process.log_tail());
    }
    process
}

impl Kamailio {
    /// UDP/TCP address.
    pub fn addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// `sip:127.0.0.1:<port>;transport=<transport>` (TLS, WS and WSS use their own ports).
    pub fn registrar_uri(&self, transport: &str) -> String {
        let port = match transport {
            "tls" => self
                .tls_port
                .expect("Kamailio was built without .tls(true)"),
            "ws" => self
                .ws_port
                .expect("Kamailio was built without .websocket(true)"),
            "wss" => self
                .wss_port
                .expect("Kamailio was built without .websocket(true) and .tls(true)"),
            _ => self.port,
        };
        format!("sip:127.0.0.1:{port};transport={transport}")
    }

    /// Everything Kamailio logged so far.
    pub fn log(&self) -> String {
        self.process.output()
    }

    /// The `HF-SAVED` lines for `user` (one per accepted REGISTER, including un-REGISTER).
    pub fn saved_registrations(&self, user: &str) -> Vec<String> {
        let needle = format!("HF-SAVED user={user} ");
        self.log()
            .lines()
            .filter(|l| l.contains(&needle))
            .map(str::to_string)
            .collect()
    }

    /// The `HF-REQ` lines of REGISTER requests from `user` (challenged or not).
    pub fn register_requests(&self, user: &str) -> Vec<String> {
        let needle = format!("HF-REQ REGISTER from={user} ");
        self.log()
            .lines()
            .filter(|l| l.contains(&needle))
            .map(str::to_string)
            .collect()
    }

    /// `HF-REQ` lines of requests Kamailio sent to itself (a routing loop in the config).
    pub fn looped_requests(&self) -> Vec<String> {
        let needle = format!("src=127.0.0.1:{} ", self.port);
        self.log()
            .lines()
            .filter(|l| l.contains("HF-REQ") && l.contains(&needle))
            .map(str::to_string)
            .collect()
    }

    /// Asks Kamailio whether `user`'s AOR is registered: OPTIONS to `sip:user@127.0.0.1` is
    /// relayed to the contact when there is one and answered 404 when there is none.
    pub fn options_to_aor(&self, user: &str) -> Option<u16> {
        sip_probe::options(
            self.addr(),
            &format!("sip:{user}@127.0.0.1"),
            Duration::from_secs(3),
        )
        .map(|r| r.status)
    }

    /// Waits until a registration of `user` has been saved (a `HF-SAVED` line with a non-zero expiry).
    pub fn wait_registered(&self, user: &str, timeout: Duration) -> bool {
        crate::wait_until(timeout, || {
            self.saved_registrations(user)
                .iter()
                .any(|l| !is_unregister_line(l))
                .then_some(())
        })
        .is_some()
    }

    pub fn process(&mut self) -> &mut ProcessGuard {
        &mut self.process
    }

    /// Stops Kamailio (its registrations are in memory: they go with it).
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Starts it again on the same ports with the same configuration, once it answers OPTIONS;
    /// from then on `log()` and what reads it see the new process only.
    pub fn start_again(&mut self) {
        self.process.stop();
        self.starts += 1;
        let name = format!("{}-{}", self.name, self.starts);
        self.process = launch(&name, &self.cfg_path, &self.kdir, self.port, &self.log_dir);
    }
}

/// True if a `HF-SAVED` line records an un-REGISTER (Expires 0 in the header or the contact).
pub fn is_unregister_line(line: &str) -> bool {
    line.contains("expires_hdr=0 ")
        || line.contains("contact=* ")
        || line.contains("expires=0>")
        || line.contains(";expires=0")
}

fn subscriber_table(users: &[(String, String)]) -> String {
    let mut t = String::from(
        "id(int,auto) username(str) domain(str) password(str) ha1(str,null) ha1b(str,null)\n",
    );
    for (i, (u, p)) in users.iter().enumerate() {
        assert!(
            !u.contains(':') && !p.contains(':') && !u.contains('\n') && !p.contains('\n'),
            "db_text cannot store ':' or newlines in user names or passwords"
        );
        t.push_str(&format!("{}:{u}:127.0.0.1:{p}::\n", i + 1));
    }
    t
}

struct ConfigParams {
    port: u16,
    tls_port: Option<u16>,
    ws_port: Option<u16>,
    wss_port: Option<u16>,
    db_dir: String,
    tls_cfg: String,
    digest: Digest,
    min_expires: u32,
    park_orbits: Option<(String, SocketAddr)>,
    invite_auth: Option<InviteAuth>,
    in_dialog_auth: Option<String>,
    also_listen: Option<std::net::Ipv4Addr>,
    outbound: Option<u32>,
}

/// db_text tables (name, schema version, header line) of presence and pua, as Kamailio 5.6 ships them.
const PRESENCE_TABLES: [(&str, u32, &str); 5] = [
    ("presentity", 5, "id(int,auto) username(string) domain(string) event(string) etag(string) expires(int) received_time(int) body(string) sender(string) priority(int) ruid(string,null)"),
    ("active_watchers", 12, "id(int,auto) presentity_uri(string) watcher_username(string) watcher_domain(string) to_user(string) to_domain(string) event(string) event_id(string,null) to_tag(string) from_tag(string) callid(string) local_cseq(int) remote_cseq(int) contact(string) record_route(string,null) expires(int) status(int) reason(string,null) version(int) socket_info(string) local_contact(string) from_user(string) from_domain(string) updated(int) updated_winfo(int) flags(int) user_agent(string,null)"),
    ("watchers", 3, "id(int,auto) presentity_uri(string) watcher_username(string) watcher_domain(string) event(string) status(int) reason(string,null) inserted_time(int)"),
    ("xcap", 4, "id(int,auto) username(string) domain(string) doc(string) doc_type(int) etag(string) source(int) doc_uri(string) port(int)"),
    ("pua", 7, "id(int,auto) pres_uri(string) pres_id(string) event(int) expires(int) desired_expires(int) flag(int) etag(string) tuple_id(string,null) watcher_uri(string) call_id(string) to_tag(string) from_tag(string) cseq(int) record_route(string,null) contact(string) remote_contact(string) version(int) extra_headers(string)"),
];

fn config_text(p: &ConfigParams) -> String {
    let mut c = String::from("#!KAMAILIO\n");
    c.push_str(&format!(
        "debug=2\nlog_stderror=yes\nchildren=2\ntcp_children=2\nauto_aliases=no\n\
         listen=udp:127.0.0.1:{port}\nlisten=tcp:127.0.0.1:{port}\n",
        port = p.port
    ));
    if let Some(ip) = p.also_listen {
        // mhomed: send from the address that routes to the destination.
        c.push_str(&format!(
            "listen=udp:{ip}:{port}\nlisten=tcp:{ip}:{port}\nmhomed=1\n",
            port = p.port
        ));
    }
    if let Some(tp) = p.tls_port {
        c.push_str(&format!("enable_tls=yes\nlisten=tls:127.0.0.1:{tp}\n"));
    }
    if let Some(wp) = p.ws_port {
        // HTTP requests (the upgrade) carry no Content-Length.
        c.push_str(&format!(
            "listen=tcp:127.0.0.1:{wp}\ntcp_accept_no_cl=yes\n"
        ));
    }
    if let Some(wsp) = p.wss_port {
        c.push_str(&format!("listen=tls:127.0.0.1:{wsp}\n"));
    }
    c.push_str("mpath=\"/usr/lib/x86_64-linux-gnu/kamailio/modules/\"\n");
    for m in [
        "tm",
        "sl",
        "rr",
        "pv",
        "maxfwd",
        "usrloc",
        "registrar",
        "textops",
        "siputils",
        "xlog",
        "sanity",
        "db_text",
        "auth",
        "auth_db",
    ] {
        c.push_str(&format!("loadmodule \"{m}.so\"\n"));
    }
    if p.ws_port.is_some() {
        c.push_str("loadmodule \"xhttp.so\"\nloadmodule \"websocket.so\"\n");
    }
    if p.tls_port.is_some() {
        c.push_str("loadmodule \"tls.so\"\n");
        c.push_str(&format!("modparam(\"tls\",\"config\",\"{}\")\n", p.tls_cfg));
    }
    c.push_str(&format!(
        "modparam(\"usrloc\",\"db_mode\",0)\n\
         modparam(\"registrar\",\"min_expires\",{min})\n\
         modparam(\"registrar\",\"default_expires\",600)\n\
         modparam(\"auth_db\",\"db_url\",\"text://{db}\")\n\
         modparam(\"auth_db\",\"calculate_ha1\",yes)\n\
         modparam(\"auth_db\",\"password_column\",\"password\")\n\
         modparam(\"auth_db\",\"load_credentials\",\"\")\n\
         modparam(\"rr\",\"enable_full_lr\",1)\n",
        min = p.min_expires,
        db = p.db_dir
    ));
    if let Some(flow) = p.outbound {
        c.push_str(&format!(
            "modparam(\"registrar\",\"outbound_mode\",1)\nmodparam(\"registrar\",\"flow_timer\",{flow})\n"
        ));
    }
    if p.digest == Digest::Sha256 {
        c.push_str("modparam(\"auth\",\"algorithm\",\"SHA-256\")\n");
    }
    if p.park_orbits.is_some() {
        for m in [
            "dialog",
            "presence",
            "presence_dialoginfo",
            "pua",
            "pua_dialoginfo",
        ] {
            c.push_str(&format!("loadmodule \"{m}.so\"\n"));
        }
        c.push_str(&format!(
            "modparam(\"presence\",\"db_url\",\"text://{db}\")\n\
             modparam(\"presence\",\"server_address\",\"sip:127.0.0.1:{port}\")\n\
             modparam(\"pua\",\"db_url\",\"text://{db}\")\n\
             modparam(\"pua\",\"outbound_proxy\",\"sip:127.0.0.1:{port}\")\n\
             modparam(\"pua_dialoginfo\",\"include_localremote\",1)\n\
             modparam(\"pua_dialoginfo\",\"include_callid\",1)\n\
             modparam(\"pua_dialoginfo\",\"include_tags\",1)\n",
            db = p.db_dir,
            port = p.port
        ));
    }
    // Requests for a local AOR: domain 127.0.0.1 with no port (5060) or one of ours. Not
    // `uri == myself` with an `alias` for 127.0.0.1: that would also match the contacts of the
    // UAs on 127.0.0.1, and loose_route() would then loop in-dialog requests back to Kamailio.
    let mut ports = vec![5060, p.port];
    ports.extend(p.tls_port);
    ports.extend(p.ws_port);
    ports.extend(p.wss_port);
    let local_domain = match p.also_listen {
        Some(ip) => format!("($rd == \"127.0.0.1\" || $rd == \"{ip}\")"),
        None => "$rd == \"127.0.0.1\"".to_string(),
    };
    let local_aor = ports
        .iter()
        .map(|port| format!("$rp == {port}"))
        .collect::<Vec<_>>()
        .join(" || ");
    let (presence, orbit_invite) = match &p.park_orbits {
        Some((user_regex, orbit)) => (
            PRESENCE_ROUTE.to_string(),
            ORBIT_ROUTE
                .replace("@ORBIT_RE@", user_regex)
                .replace("@ORBIT@", &format!("sip:{orbit}")),
        ),
        None => (String::new(), String::new()),
    };
    let invite_auth = match &p.invite_auth {
        None => String::new(),
        Some(InviteAuth::FromDomain) => INVITE_AUTH_ROUTE.replace("@REALM@", "$fd"),
        Some(InviteAuth::Realm(r)) => INVITE_AUTH_ROUTE.replace("@REALM@", r),
    };
    let in_dialog_auth = match &p.in_dialog_auth {
        None => String::new(),
        Some(user) => IN_DIALOG_AUTH_ROUTE.replace("@USER@", user),
    };
    c.push_str(
        &ROUTES
            .replace("@LOCAL_AOR@", &format!("{local_domain} && ({local_aor})"))
            .replace("    @PRESENCE@\n", &presence)
            .replace("    @ORBIT_INVITE@\n", &orbit_invite)
            .replace("    @INVITE_AUTH@\n", &invite_auth)
            .replace("        @IN_DIALOG_AUTH@\n", &in_dialog_auth),
    );
    if let Some(wp) = p.ws_port {
        let wss = p
            .wss_port
            .map(|w| format!(" && $Rp != {w}"))
            .unwrap_or_default();
        c.push_str(&WS_ROUTE.replace("@NOT_WS_PORT@", &format!("$Rp != {wp}{wss}")));
    }
    c
}

/// The WebSocket upgrade (RFC 6455 with the `sip` subprotocol) on the WS/WSS ports; refused
/// (403) on any other. SIP then arrives on the connection as on any other transport; replies and
/// requests to a WebSocket client go back on its connection (its Contact is the connection's
/// address, and Kamailio reuses a WebSocket connection to that address).
const WS_ROUTE: &str = r#"
event_route[xhttp:request] {
    set_reply_close();
    set_reply_no_connect();
    xlog("L_NOTICE", "HF-WS-UPGRADE port=$Rp url=$hu\n");
    if (@NOT_WS_PORT@) {
        xhttp_reply("403", "Forbidden", "", "");
        exit;
    }
    if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
        if (ws_handle_handshake()) {
            exit;
        }
    }
    xhttp_reply("404", "Not Found", "", "");
}
"#;

const ROUTES: &str = r#"
request_route {
    xlog("L_NOTICE", "HF-REQ $rm from=$fU ruri=$ru src=$si:$sp proto=$pr\n");
    if (!mf_process_maxfwd_header("10")) {
        sl_send_reply("483", "Too Many Hops");
        exit;
    }
    if (!sanity_check()) {
        xlog("L_WARN", "HF-MALFORMED from $si:$sp\n");
        exit;
    }
    @PRESENCE@
    if (has_totag()) {
        @IN_DIALOG_AUTH@
        if (loose_route()) {
            t_relay();
            exit;
        }
        if (is_method("ACK")) {
            if (t_check_trans()) { t_relay(); }
            exit;
        }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("CANCEL")) {
        if (t_check_trans()) { t_relay(); }
        exit;
    }
    t_check_trans();
    if (is_method("REGISTER")) {
        if (!auth_check("$fd", "subscriber", "1")) {
            xlog("L_NOTICE", "HF-CHALLENGE user=$fU rc=$rc\n");
            auth_challenge("$fd", "0");
            exit;
        }
        if (!save("location")) {
            sl_reply_error();
            exit;
        }
        xlog("L_NOTICE", "HF-SAVED user=$tU expires_hdr=$hdr(Expires) contact=$ct proto=$pr\n");
        exit;
    }
    if (is_method("OPTIONS") && uri == myself && $rU == $null) {
        sl_send_reply("200", "OK");
        exit;
    }
    @ORBIT_INVITE@
    @INVITE_AUTH@
    if (@LOCAL_AOR@) {
        if (!lookup("location")) {
            sl_send_reply("404", "Not Found");
            exit;
        }
    }
    if (is_method("INVITE|SUBSCRIBE")) {
        record_route();
    }
    if (!t_relay()) {
        sl_reply_error();
    }
    exit;
}
"#;

/// Presence server part: SUBSCRIBE (digest-authenticated like REGISTER) and PUBLISH (from
/// pua_dialoginfo in this same Kamailio) are handled here, in and out of dialog.
const PRESENCE_ROUTE: &str = r#"    if (is_method("PUBLISH|SUBSCRIBE")) {
        if (is_method("SUBSCRIBE") && !auth_check("$fd", "subscriber", "1")) {
            xlog("L_NOTICE", "HF-SUB-CHALLENGE user=$fU rc=$rc\n");
            auth_challenge("$fd", "0");
            exit;
        }
        if (!t_newtran()) {
            sl_reply_error();
            exit;
        }
        if (is_method("PUBLISH")) {
            handle_publish();
        } else {
            xlog("L_NOTICE", "HF-SUBSCRIBE user=$fU ruri=$ru event=$hdr(Event) expires=$hdr(Expires)\n");
            handle_subscribe();
        }
        t_release();
        exit;
    }
"#;

/// New INVITEs must carry a `Proxy-Authorization` for `@REALM@` (checked against the subscriber
/// table) before they are relayed.
const INVITE_AUTH_ROUTE: &str = r#"    if (is_method("INVITE")) {
        if (!proxy_authorize("@REALM@", "subscriber")) {
            xlog("L_NOTICE", "HF-INVITE-CHALLENGE user=$fU realm=@REALM@\n");
            proxy_challenge("@REALM@", "1");
            exit;
        }
        xlog("L_NOTICE", "HF-INVITE-AUTHED user=$fU $hdr(Proxy-Authorization)\n");
        consume_credentials();
    }
"#;

/// `@USER@`'s requests inside a dialog must carry a `Proxy-Authorization` for their From domain
/// (a transaction first, so the ACK of a challenged re-INVITE ends here instead of being routed on).
const IN_DIALOG_AUTH_ROUTE: &str = r#"        if (is_method("INVITE|REFER|NOTIFY|INFO|MESSAGE|UPDATE") && $fU == "@USER@") {
            if (!proxy_authorize("$fd", "subscriber")) {
                xlog("L_NOTICE", "HF-IN-DIALOG-CHALLENGE $rm user=$fU\n");
                t_newtran();
                proxy_challenge("$fd", "1");
                exit;
            }
            xlog("L_NOTICE", "HF-IN-DIALOG-AUTHED $rm user=$fU $hdr(Proxy-Authorization)\n");
            consume_credentials();
        }
        if (is_method("ACK")) {
            # The ACK of a challenged re-INVITE ends here (t_check_trans stops the script); an
            # ACK of a 2xx goes on.
            t_check_trans();
        }
"#;

/// Calls to an orbit slot: tracked by the dialog module; pua_dialoginfo (send_publish_flag -1:
/// every tracked dialog) publishes their state for caller and callee.
const ORBIT_ROUTE: &str = r#"    if (is_method("INVITE") && $rU =~ "@ORBIT_RE@") {
        xlog("L_NOTICE", "HF-ORBIT $rU from=$fU\n");
        dlg_manage();
        record_route();
        $du = "@ORBIT@";
        t_relay();
        exit;
    }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriber_table_has_nullable_ha1_columns_and_rows() {
        let t = subscriber_table(&[("alice".into(), "pw1".into())]);
        assert!(t.starts_with(
            "id(int,auto) username(str) domain(str) password(str) ha1(str,null) ha1b(str,null)\n"
        ));
        assert!(t.contains("1:alice:127.0.0.1:pw1::\n"));
    }

    #[test]
    fn sha256_config_sets_algorithm_only_when_asked() {
        let mut p = ConfigParams {
            port: 5060,
            tls_port: None,
            ws_port: None,
            wss_port: None,
            db_dir: "/x".into(),
            tls_cfg: "/t".into(),
            digest: Digest::Md5,
            min_expires: 10,
            park_orbits: None,
            invite_auth: None,
            in_dialog_auth: None,
            also_listen: None,
            outbound: None,
        };
        assert!(!config_text(&p).contains("SHA-256"));
        p.digest = Digest::Sha256;
        p.tls_port = Some(5061);
        let c = config_text(&p);
        assert!(c.contains("modparam(\"auth\",\"algorithm\",\"SHA-256\")"));
        assert!(c.contains("listen=tls:127.0.0.1:5061"));
        assert!(c.contains("min_expires\",10"));
        assert!(
            c.contains("if ($rd == \"127.0.0.1\" && ($rp == 5060 || $rp == 5060 || $rp == 5061))"),
            "{c}"
        );
        assert!(
            !c.contains("alias="),
            "an alias for 127.0.0.1 makes every local contact `myself`"
        );
        assert!(
            !c.contains("@PRESENCE@") && !c.contains("@ORBIT_INVITE@") && !c.contains("presence"),
            "{c}"
        );
        assert!(
            !c.contains("@INVITE_AUTH@") && !c.contains("proxy_challenge"),
            "{c}"
        );
        p.invite_auth = Some(InviteAuth::Realm("evil.example".into()));
        let c = config_text(&p);
        assert!(
            c.contains("proxy_challenge(\"evil.example\", \"1\")"),
            "{c}"
        );
        p.park_orbits = Some(("^70[0-9]$".into(), ([127, 0, 0, 1], 7000).into()));
        let c = config_text(&p);
        assert!(
            c.contains("loadmodule \"pua_dialoginfo.so\"") && c.contains("handle_subscribe()"),
            "{c}"
        );
        assert!(
            c.contains("$rU =~ \"^70[0-9]$\"") && c.contains("$du = \"sip:127.0.0.1:7000\""),
            "{c}"
        );
    }

    #[test]
    fn websocket_config_takes_the_upgrade_on_its_ports_only() {
        let mut p = ConfigParams {
            port: 5070,
            tls_port: Some(5071),
            ws_port: None,
            wss_port: None,
            db_dir: "/x".into(),
            tls_cfg: "/t".into(),
            digest: Digest::Md5,
            min_expires: 10,
            park_orbits: None,
            invite_auth: None,
            in_dialog_auth: None,
            also_listen: None,
            outbound: None,
        };
        assert!(!config_text(&p).contains("websocket"));
        (p.ws_port, p.wss_port) = (Some(8080), Some(8443));
        let c = config_text(&p);
        assert!(
            c.contains("listen=tcp:127.0.0.1:8080\n") && c.contains("listen=tls:127.0.0.1:8443\n"),
            "{c}"
        );
        assert!(
            c.contains("loadmodule \"xhttp.so\"") && c.contains("loadmodule \"websocket.so\""),
            "{c}"
        );
        assert!(
            c.contains("if ($Rp != 8080 && $Rp != 8443) {") && c.contains("ws_handle_handshake()"),
            "{c}"
        );
        assert!(
            c.contains("$rp == 8080 || $rp == 8443"),
            "WS and WSS AORs are local: {c}"
        );
    }

    #[test]
    fn unregister_lines_are_recognised() {
        assert!(is_unregister_line(
            "HF-SAVED user=a expires_hdr=0 contact=<sip:a@x> proto=udp"
        ));
        assert!(is_unregister_line(
            "HF-SAVED user=a expires_hdr=<null> contact=<sip:a@x>;expires=0 proto=udp"
        ));
        assert!(!is_unregister_line(
            "HF-SAVED user=a expires_hdr=10 contact=<sip:a@x> proto=udp"
        ));
    }
}
