//! The TURN server an account names (`[account.turn] server`), read as RFC 7065 writes it:
//! `turn.example.com`, `turn:host:port` (UDP, port 3478), `turn:host?transport=tcp` (TCP),
//! `turns:host` (TLS, port 5349; the certificate checked for `host` against the system's roots
//! and the account's `tls_ca_file`). Pure: no name is resolved here.

/// How the server is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnVia {
    Udp,
    Tcp,
    Tls,
}

/// A TURN server's host, port and transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnUri {
    /// The name or address, without brackets (what a certificate is checked against).
    pub host: String,
    pub port: u16,
    pub via: TurnVia,
}

impl TurnUri {
    /// `host:port` for a name lookup (`[v6]:port` for an IPv6 address).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Reads `server` (see the module); the error says what is wrong with it.
pub fn parse(server: &str) -> Result<TurnUri, String> {
    let text = server.trim();
    let bad = |why: &str| format!("TURN server \"{text}\": {why}");
    let (secure, rest) = if let Some(r) = strip_scheme(text, "turns:") {
        (true, r)
    } else if let Some(r) = strip_scheme(text, "turn:") {
        (false, r)
    } else {
        (false, text)
    };
    let rest = rest.trim_start_matches("//");
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let mut via = if secure { TurnVia::Tls } else { TurnVia::Udp };
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            match pair
                .split_once('=')
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_ascii_lowercase()))
            {
                Some((k, v)) if k == "transport" => {
                    via = match (v.as_str(), secure) {
                        ("udp", false) => TurnVia::Udp,
                        ("tcp", false) => TurnVia::Tcp,
                        ("tcp", true) => TurnVia::Tls,
                        ("udp", true) => return Err(bad("turns: runs over TCP (TLS), not UDP")),
                        _ => {
                            return Err(bad(&format!(
                                "unknown transport \"{v}\" (udp or tcp; turns: for TLS)"
                            )))
                        }
                    }
                }
                _ => {
                    return Err(bad(&format!(
                        "unknown parameter \"{pair}\" (only transport=udp|tcp)"
                    )))
                }
            }
        }
    }
    let default_port = if via == TurnVia::Tls { 5349 } else { 3478 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 address needs its closing ]"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad("unexpected text after the IPv6 address")),
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p)),
            Some(_) => {
                return Err(bad(
                    "an IPv6 address goes in brackets: turn:[2001:db8::1]:3478",
                ))
            }
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty()
        || host
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c == '@')
    {
        return Err(bad("no host name"));
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(bad(&format!("\"{p}\" is not a port"))),
        },
    };
    Ok(TurnUri { host, port, via })
}

fn strip_scheme<'a>(text: &'a str, scheme: &str) -> Option<&'a str> {
    (text.len() >= scheme.len() && text[..scheme.len()].eq_ignore_ascii_case(scheme))
        .then(|| &text[scheme.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(host: &str, port: u16, via: TurnVia) -> TurnUri {
        TurnUri {
            host: host.into(),
            port,
            via,
        }
    }

    #[test]
    fn rfc_7065_forms_and_bare_names() {
        for (text, want) in [
            (
                "turn.example.com",
                uri("turn.example.com", 3478, TurnVia::Udp),
            ),
            ("10.0.0.1:3479", uri("10.0.0.1", 3479, TurnVia::Udp)),
            (
                "turn:turn.example.com",
                uri("turn.example.com", 3478, TurnVia::Udp),
            ),
            (
                "turn:turn.example.com?transport=udp",
                uri("turn.example.com", 3478, TurnVia::Udp),
            ),
            (
                "turn:turn.example.com:443?transport=tcp",
                uri("turn.example.com", 443, TurnVia::Tcp),
            ),
            (
                "turns:turn.example.com",
                uri("turn.example.com", 5349, TurnVia::Tls),
            ),
            (
                "TURNS:turn.example.com:443?transport=tcp",
                uri("turn.example.com", 443, TurnVia::Tls),
            ),
            (
                "turns:[2001:db8::1]",
                uri("2001:db8::1", 5349, TurnVia::Tls),
            ),
            (
                " turn:[2001:db8::1]:3478 ",
                uri("2001:db8::1", 3478, TurnVia::Udp),
            ),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
        assert_eq!(
            parse("turns:[2001:db8::1]").unwrap().authority(),
            "[2001:db8::1]:5349"
        );
    }

    #[test]
    fn what_is_wrong_is_said() {
        for (text, says) in [
            (
                "turns:turn.example.com?transport=udp",
                "turns: runs over TCP (TLS), not UDP",
            ),
            (
                "turn:turn.example.com?transport=sctp",
                "unknown transport \"sctp\"",
            ),
            ("turn:turn.example.com?ttl=4", "unknown parameter \"ttl=4\""),
            ("turn:turn.example.com:0", "\"0\" is not a port"),
            ("turn:turn.example.com:http", "\"http\" is not a port"),
            ("turn:2001:db8::1", "an IPv6 address goes in brackets"),
            ("turns:", "no host name"),
            ("turn:[2001:db8::1", "closing ]"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(
                e.starts_with(&format!("TURN server \"{}\": ", text.trim())) && e.contains(says),
                "{text}: {e}"
            );
        }
    }
}
