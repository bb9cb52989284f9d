//! `hookflash-cli check`: one screen that tells an administrator whether an agent's setup works —
//! the registrar reached over the account's transport (TLS verified, and against what), the
//! registration, NAT (the address the registrar sees against ours, the keep-alive), an OPTIONS
//! probe of the registrar, and how calls' media will be protected. The report is one JSON
//! event (`--json`) or its lines; the exit status says whether the phone is ready for calls.

use hookflash_phone::{
    AccountConfig, AccountStatus, MediaEncryption, MediaServersProbe, ProbeResult, Transport,
};
use serde_json::{json, Value};
use std::net::SocketAddr;

/// What `check` found, before it is worded.
#[derive(Clone)]
pub struct Findings<'a> {
    pub account: &'a AccountConfig,
    pub status: Option<&'a AccountStatus>,
    /// The registration's outcome: the granted expiry, or the error a user reads.
    pub registered: Result<u32, String>,
    pub probe: Option<Result<ProbeResult, String>>,
    pub local: SocketAddr,
    pub codecs: Vec<String>,
    /// What the account's STUN/TURN servers said (None: it names none).
    pub media_servers: Option<MediaServersProbe>,
}

/// The media path behind NAT: ICE, and what the STUN/TURN servers gave a media socket; and the
/// problem when a configured TURN server gave no relay.
fn media_nat(a: &AccountConfig, probe: Option<&MediaServersProbe>) -> (String, Option<String>) {
    let ice = if a.ice {
        "ICE offered"
    } else {
        "ICE only when the far end offers it (ice = false)"
    };
    let Some(p) = probe else {
        return (
            format!("{ice}; no STUN or TURN server: host candidates only"),
            None,
        );
    };
    let mut parts = vec![ice.to_string()];
    if let Some(public) = &p.public {
        parts.push(format!("public media address {public}"));
    }
    if let Some(relay) = &p.relayed {
        use hookflash_phone::turn_uri::{parse, TurnVia};
        let over = match a
            .turn
            .as_ref()
            .and_then(|t| parse(&t.server).ok())
            .map(|u| u.via)
        {
            Some(TurnVia::Tls) => " (reached over TLS)",
            Some(TurnVia::Tcp) => " (reached over TCP)",
            _ => "",
        };
        parts.push(format!("relay {relay} on the TURN server{over}"));
    }
    let problem = match (&a.turn, &p.relayed) {
        (Some(t), None) => Some(format!(
            "no media relay from the TURN server {}: {}",
            t.server,
            p.problems
                .iter()
                .find(|x| x.contains("TURN"))
                .cloned()
                .unwrap_or_else(|| "no answer".into())
        )),
        _ => None,
    };
    for why in &p.problems {
        parts.push(format!("FAILED: {why}"));
    }
    (parts.join("; "), problem)
}

/// The transport the account uses to reach its registrar.
fn transport(a: &AccountConfig) -> &'static str {
    let named = |t: &str| {
        a.registrar
            .as_deref()
            .is_some_and(|r| r.to_ascii_lowercase().contains(&format!("transport={t}")))
    };
    match a.transport {
        Some(Transport::Tls) => "tls",
        Some(Transport::Tcp) => "tcp",
        Some(Transport::Ws) => "ws",
        Some(Transport::Wss) => "wss",
        _ if named("wss") => "wss",
        _ if named("ws") => "ws",
        _ if named("tls")
            || a.registrar
                .as_deref()
                .is_some_and(|r| r.starts_with("sips:"))
            || a.aor.starts_with("sips:") =>
        {
            "tls"
        }
        _ if named("tcp") => "tcp",
        _ => "udp",
    }
}

/// The report as one JSON event; `ready` says whether calls can reach this phone.
pub fn report(f: &Findings) -> Value {
    let a = f.account;
    let transport = transport(a);
    let registrar = a.registrar.clone().unwrap_or_else(|| a.aor.clone());
    let tls = (transport == "tls" || transport == "wss").then(|| match &f.registered {
        Ok(_) => match &a.tls_ca_file {
            Some(ca) => format!("verified against the system's roots and {}", ca.display()),
            None => "verified against the system's roots".to_string(),
        },
        Err(e)
            if e.contains("secure connection")
                || e.contains("certificate")
                || e.contains("TLS") =>
        {
            format!("FAILED: {e}")
        }
        Err(_) => "not reached".to_string(),
    });
    let registration = match (&f.registered, &tls) {
        (Ok(expires), _) => format!("registered for {expires} s"),
        (Err(_), Some(t)) if t.starts_with("FAILED") => "FAILED: the certificate above".to_string(),
        (Err(e), _) => format!("FAILED: {e}"),
    };
    let public = f.status.and_then(|s| s.public_address.clone());
    let every = f
        .status
        .and_then(|s| s.keep_alive_secs)
        .unwrap_or(if transport == "udp" { 25 } else { 30 });
    let mut keepalive = match transport {
        "udp" => format!("every {every} s (UDP: an OPTIONS the registrar answers, a changed NAT mapping registered again)"),
        "ws" | "wss" => {
            format!("a WebSocket ping every {every} s, the connection checked every 2 s")
        }
        _ => format!("every {every} s (TCP/TLS), the connection checked every 2 s"),
    };
    if f.status.is_some_and(|s| s.outbound) {
        keepalive
            .push_str("; SIP outbound (RFC 5626): the registrar keeps this device's one binding");
    }
    let nat = match (&f.registered, &public) {
        (Err(_), _) => "unknown (not registered)".to_string(),
        (Ok(_), Some(p)) => format!("behind NAT: the registrar sees us at {p}, we are {}; that address is registered, keep-alive {keepalive}", f.local),
        (Ok(_), None) => format!("none seen: the registrar sees our own address {}; keep-alive {keepalive}", f.local),
    };
    let probe = match &f.probe {
        None => "not sent".to_string(),
        Some(Ok(p)) => format!(
            "OPTIONS to {} answered {} {} in {} ms",
            p.target, p.status, p.reason, p.round_trip_ms
        ),
        Some(Err(e)) => format!("FAILED: {e}"),
    };
    let media = match (a.media_encryption, a.require_encryption) {
        (MediaEncryption::Sdes, true) => "SRTP required (SDES keys, AES_CM_128_HMAC_SHA1_80 or _32): a call that cannot be encrypted is refused",
        (MediaEncryption::Sdes, false) => "SRTP offered (SDES keys); clear audio when the far end does not take it",
        (MediaEncryption::Dtls, true) => "SRTP required (DTLS-SRTP: keys from a DTLS handshake checked against the SDP fingerprint): a call that cannot be encrypted is refused",
        (MediaEncryption::Dtls, false) => "SRTP offered (DTLS-SRTP); SDES keys or clear audio accepted when the far end offers them",
        (MediaEncryption::None, _) => "NOT encrypted (media_encryption = \"none\")",
    };
    let (media_path, relay_problem) = media_nat(a, f.media_servers.as_ref());
    let problem = match (&f.registered, &f.probe) {
        (Err(e), _) => Some(format!("not registered: {e}")),
        (_, Some(Err(e))) => Some(format!("the registrar does not answer OPTIONS: {e}")),
        _ => relay_problem,
    };
    json!({
        "event": "check",
        "account": a.aor,
        "registrar": registrar,
        "transport": transport,
        "tls": tls,
        "registration": registration,
        "nat": nat,
        "public_address": public,
        "probe": probe,
        "media": media,
        "media_path": media_path,
        "codecs": f.codecs,
        "ready": problem.is_none(),
        "problem": problem,
    })
}

/// The report's lines, for a person.
pub fn text(v: &Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let mut lines = vec![
        format!("account       {}", s("account")),
        format!(
            "registrar     {} over {}",
            s("registrar"),
            s("transport").to_uppercase()
        ),
    ];
    if let Some(tls) = v["tls"].as_str() {
        lines.push(format!("certificate   {tls}"));
    }
    lines.push(format!("registration  {}", s("registration")));
    lines.push(format!("NAT           {}", s("nat")));
    lines.push(format!("probe         {}", s("probe")));
    lines.push(format!("media         {}", s("media")));
    lines.push(format!("media path    {}", s("media_path")));
    let codecs: Vec<&str> = v["codecs"]
        .as_array()
        .map(|c| c.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    lines.push(format!("codecs        {}", codecs.join(", ")));
    lines.push(match v["ready"].as_bool() {
        Some(true) => "result        ready: calls can reach this phone".to_string(),
        _ => format!("result        NOT ready — {}", s("problem")),
    });
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookflash_phone::RegistrationState;

    fn account(registrar: &str) -> AccountConfig {
        let mut a = AccountConfig::new("sip:agent@continuity.example");
        a.registrar = Some(registrar.into());
        a.media_encryption = MediaEncryption::Sdes;
        a.require_encryption = true;
        a
    }

    fn status(public: Option<&str>) -> AccountStatus {
        AccountStatus {
            aor: "sip:agent@continuity.example".into(),
            display_name: None,
            registers: true,
            registration: RegistrationState::Registered { expires_in: 600 },
            public_address: public.map(String::from),
            outbound: false,
            keep_alive_secs: Some(25),
        }
    }

    #[test]
    fn a_working_tls_setup_behind_nat_reads_ready() {
        let a = account("sip:continuity.example:5061;transport=tls");
        let st = status(Some("203.0.113.9:40000"));
        let probe = ProbeResult {
            target: "sip:continuity.example:5061;transport=tls".into(),
            status: 200,
            reason: "OK".into(),
            round_trip_ms: 42,
            seen_as: None,
        };
        let f = Findings {
            account: &a,
            status: Some(&st),
            registered: Ok(600),
            probe: Some(Ok(probe)),
            local: "192.168.1.20:5070".parse().unwrap(),
            codecs: vec!["pcmu".into()],
            media_servers: None,
        };
        let v = report(&f);
        assert_eq!(
            (v["transport"].as_str(), v["ready"].as_bool()),
            (Some("tls"), Some(true)),
            "{v}"
        );
        let t = text(&v);
        for says in [
            "over TLS",
            "verified against the system's roots",
            "registered for 600 s",
            "behind NAT: the registrar sees us at 203.0.113.9:40000, we are 192.168.1.20:5070",
            "answered 200 OK in 42 ms",
            "SRTP required",
            "ready: calls can reach this phone",
        ] {
            assert!(t.contains(says), "missing '{says}' in:\n{t}");
        }
    }

    #[test]
    fn a_refused_certificate_reads_not_ready_with_the_reason() {
        let a = account("sip:continuity.example:5061;transport=tls");
        let e = "secure connection to continuity.example refused: the certificate of continuity.example has expired".to_string();
        let f = Findings {
            account: &a,
            status: None,
            registered: Err(e.clone()),
            probe: None,
            local: "10.0.0.2:5060".parse().unwrap(),
            codecs: vec![],
            media_servers: None,
        };
        let t = text(&report(&f));
        assert!(
            t.contains(&format!("certificate   FAILED: {e}"))
                && t.contains("NOT ready — not registered: secure connection"),
            "{t}"
        );
        assert!(t.contains("NAT           unknown"), "{t}");
        assert!(
            t.contains("registration  FAILED: the certificate above"),
            "the reason once, not twice:\n{t}"
        );
    }

    /// An agent behind a strict NAT with a TURN server: the relay is named; a TURN server that
    /// refuses the credential makes the setup not ready, with the reason.
    #[test]
    fn the_media_relay_is_checked_when_a_turn_server_is_named() {
        let mut a = account("sip:continuity.example:5061;transport=tls");
        a.ice = true;
        a.turn = Some(hookflash_phone::TurnConfig {
            server: "turn.example:3478".into(),
            username: "agent".into(),
            password: "pw".into(),
        });
        let st = status(None);
        let probe = ProbeResult {
            target: "sip:continuity.example".into(),
            status: 200,
            reason: "OK".into(),
            round_trip_ms: 9,
            seen_as: None,
        };
        let works = MediaServersProbe {
            public: Some("203.0.113.9:40000".into()),
            relayed: Some("198.51.100.1:50000".into()),
            problems: vec![],
        };
        let f = Findings {
            account: &a,
            status: Some(&st),
            registered: Ok(600),
            probe: Some(Ok(probe.clone())),
            local: "10.0.0.2:5060".parse().unwrap(),
            codecs: vec![],
            media_servers: Some(works),
        };
        let v = report(&f);
        let t = text(&v);
        assert!(t.contains("media path    ICE offered; public media address 203.0.113.9:40000; relay 198.51.100.1:50000 on the TURN server"), "{t}");
        assert_eq!(v["ready"].as_bool(), Some(true), "{t}");
        let mut over_tls = a.clone();
        over_tls.turn.as_mut().unwrap().server = "turns:turn.example".into();
        let t = text(&report(&Findings {
            account: &over_tls,
            ..f.clone()
        }));
        assert!(
            t.contains("relay 198.51.100.1:50000 on the TURN server (reached over TLS)"),
            "{t}"
        );
        let refused = MediaServersProbe {
            public: Some("203.0.113.9:40000".into()),
            relayed: None,
            problems: vec![
                "the TURN server 198.51.100.1:3478 refused our user name and password (401)".into(),
            ],
        };
        let f = Findings {
            media_servers: Some(refused),
            probe: Some(Ok(probe)),
            ..f
        };
        let t = text(&report(&f));
        assert!(t.contains("FAILED: the TURN server 198.51.100.1:3478 refused our user name and password (401)"), "{t}");
        assert!(t.contains("NOT ready — no media relay from the TURN server turn.example:3478: the TURN server 198.51.100.1:3478 refused"), "{t}");
        // No servers named: said, not a problem.
        let f = Findings {
            media_servers: None,
            ..f
        };
        let t = text(&report(&f));
        assert!(
            t.contains("media path    ICE offered; no STUN or TURN server: host candidates only")
                && t.contains("result        ready"),
            "{t}"
        );
    }
}
