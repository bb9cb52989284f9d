//! REGISTER for one account: builds the request, answers digest challenges through `auth.rs`
//! (MD5 and SHA-256, qop=auth, several challenges at once; the realm learned), and reads the
//! granted expiry. Refresh timing and back-off are decided by the phone; this module does
//! one registration exchange per call, and one keep-alive check.
//!
//! Behind NAT: the registrar's answer says where our REGISTER came from (the top Via's
//! `received` and `rport`, RFC 3581). When that differs from the Contact we registered, the
//! REGISTER is sent again at once with the address the registrar saw, removing the old binding
//! in the same request, and the stack remembers it so calls advertise it too. Over TCP/TLS the
//! Contact follows the connection: a new connection (the old one closed) gets a new binding.
//! Over UDP the keep-alive is an OPTIONS whose answer shows a mapping the NAT changed since
//! (a rebooted router, a new address from the ISP): the binding is then made again.
//!
//! SIP outbound (RFC 5626): with an instance id the Contact carries `+sip.instance` and
//! `reg-id=1` and the REGISTER says `Supported: outbound`; a registrar that takes it answers
//! `Require: outbound`, perhaps with the `Flow-Timer` it wants keep-alives within, and replaces
//! this device's binding instead of piling up one per address. One that does not ignores them.

use crate::auth::{challenges_of, Asker, Attempt, Credentials};
use crate::digest;
use crate::stack::{Exchange, SipStack};
use crate::target::host_of;
use crate::types::SipUri;
use crate::SipError;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Method, Response, Uri};
use rsipstack::transaction::make_tag;
use rsipstack::transport::stream::StreamConnection;
use rsipstack::transport::{SipAddr, SipConnection};
use std::net::{IpAddr, SocketAddr};

/// How long a UDP keep-alive OPTIONS waits for the registrar (it is sent again at 0.5, 1.5, 3.5
/// and 7.5 s meanwhile, RFC 3261 17.1.2.1): shorter than the transaction's 32 s, so that a
/// registrar that went away is registered with again soon and the user's own request waits
/// little behind the check.
pub const UDP_PING_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Everything needed to register one account.
#[derive(Clone, Debug)]
pub struct RegisterParams {
    /// Address of record, e.g. `sip:alice@example.com`.
    pub aor: SipUri,
    /// Request-URI of the REGISTER (the registrar), carrying `;transport=` if any.
    pub registrar: SipUri,
    /// The account's password and realms (shared with its other requests, which learn the
    /// realm the registrar challenges with).
    pub credentials: Credentials,
    pub display_name: Option<String>,
    /// This device's instance id (a UUID, kept across starts) for SIP outbound (RFC 5626).
    pub instance: Option<String>,
}

/// Result of a successful exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    /// Seconds the registrar granted (0 after an un-REGISTER).
    pub expires: u32,
    /// The address registered when it is not our own (the registrar saw us behind NAT).
    pub public: Option<SocketAddr>,
    /// The registrar uses SIP outbound for this binding (`Require: outbound`).
    pub outbound: Option<Outbound>,
}

/// What a registrar using SIP outbound asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outbound {
    /// Keep-alives within this many seconds (`Flow-Timer`), if it said.
    pub flow_timer: Option<u32>,
}

/// One account's registration dialog-let: same Call-ID and From tag across refreshes,
/// increasing CSeq (RFC 3261 §10.2).
pub struct Registration {
    params: RegisterParams,
    call_id: String,
    from_tag: String,
    cseq: u32,
    /// The Contact of the live binding (the address the registrar saw, once learned).
    contact: Option<Uri>,
    /// Our end of the connection the live binding was made over.
    local: Option<SipAddr>,
}

impl Registration {
    pub fn new(params: RegisterParams) -> Self {
        Registration {
            params,
            call_id: format!("{}@hookflash", random_token(20)),
            from_tag: make_tag().to_string(),
            cseq: 0,
            contact: None,
            local: None,
        }
    }

    pub fn params(&self) -> &RegisterParams {
        &self.params
    }

    /// The Contact URI used in the last REGISTER.
    pub fn contact(&self) -> Option<SipUri> {
        self.contact.clone().map(SipUri)
    }

    /// The registrar URI.
    pub fn registrar(&self) -> &SipUri {
        &self.params.registrar
    }

    /// Sends REGISTER with `expires` (0 = un-register) and follows digest challenges.
    pub async fn register(
        &mut self,
        stack: &SipStack,
        expires: u32,
    ) -> Result<Registered, SipError> {
        let server = host_of(&self.params.registrar);
        let target =
            SipAddr::try_from(&self.params.registrar.0).map_err(|e| SipError::Invalid {
                what: "registrar".into(),
                value: self.params.registrar.to_string(),
                detail: e.to_string(),
            })?;
        // The connection this goes out on decides the Via (TCP/TLS connect happens here).
        let (conn, _) = match stack.endpoint.transport_layer.lookup(&target, None).await {
            Ok(found) => found,
            Err(e) => {
                return Err(
                    crate::stack::connect_error(&target, &server, &e.to_string(), false).await,
                )
            }
        };
        let local = conn.get_addr().clone();
        // Un-REGISTER removes the binding we made; otherwise the Contact is this connection's
        // address, or the address the registrar saw it as.
        let mut contact = match (&self.contact, expires) {
            (Some(c), 0) => c.clone(),
            _ => contact_on(&self.params.aor.0, &local, stack),
        };
        // A binding made on another connection or address is removed in the same request.
        let mut stale = self
            .contact
            .clone()
            .filter(|old| expires > 0 && old.host_with_port != contact.host_with_port);
        let mut learned = false;
        let mut attempt = Attempt::new();
        let mut auth_headers: Vec<(String, String)> = Vec::new();
        loop {
            self.cseq += 1;
            let request = self.build(
                stack,
                &local,
                &contact,
                stale.as_ref(),
                expires,
                &auth_headers,
            )?;
            let resp = stack.exchange(request, &conn, &target).await.map_err(|e| {
                SipError::Unreachable {
                    server: server.clone(),
                    detail: match e {
                        Exchange::NotSent(detail) => detail,
                        Exchange::NoAnswer => "request timed out".into(),
                    },
                }
            })?;
            let code = u16::from(resp.status_code.clone());
            match code {
                200..=299 => {
                    if expires > 0 && !learned {
                        if let Some(seen) =
                            seen_as(&resp).filter(|seen| Some(*seen) != socket_of(&contact))
                        {
                            // Behind NAT: register the address the registrar saw, once.
                            learned = true;
                            if let Ok(ours) = local.get_socketaddr() {
                                stack.learn_public(ours, seen);
                            }
                            tracing::info!(
                                "the registrar sees us at {seen}: registering that address"
                            );
                            stale = Some(contact.clone());
                            contact = contact_on(&self.params.aor.0, &local, stack);
                            // A new request: challenged afresh rather than replaying the last answer.
                            attempt = Attempt::new();
                            auth_headers.clear();
                            continue;
                        }
                    }
                    self.contact = (expires > 0).then(|| contact.clone());
                    self.local = (expires > 0).then(|| local.clone());
                    let granted = if expires == 0 {
                        0
                    } else {
                        granted_expires(&resp, &contact, expires)
                    };
                    let public =
                        socket_of(&contact).filter(|c| local.get_socketaddr().ok() != Some(*c));
                    let outbound = (self.params.instance.is_some() && expires > 0)
                        .then(|| outbound_of(&resp))
                        .flatten();
                    return Ok(Registered {
                        expires: granted,
                        public,
                        outbound,
                    });
                }
                401 | 407 => {
                    let uri = self.params.registrar.to_string();
                    let cnonce = digest::new_cnonce();
                    let answers = attempt
                        .answer(
                            &self.params.credentials,
                            Asker::Registrar,
                            &challenges_of(&resp),
                            "REGISTER",
                            &uri,
                            b"",
                            &cnonce,
                        )
                        .map_err(|why| refused(&resp, &server, &why.to_string()))?;
                    auth_headers = answers
                        .into_iter()
                        .map(|r| (r.header_name.to_string(), r.value))
                        .collect();
                }
                408 => {
                    // rsipstack reports its own transaction time-out (Timer F) as a 408.
                    return Err(SipError::Unreachable {
                        server: server.clone(),
                        detail: "no response to REGISTER (timed out)".into(),
                    });
                }
                423 => {
                    return Err(refused(&resp, &server, "interval too brief"));
                }
                _ => return Err(refused(&resp, &server, "")),
            }
        }
    }

    /// Checks that the connection the binding was made over is still the one the registrar is
    /// reached by, and with `ping` keeps it alive.
    ///
    /// Over TCP/TLS the ping is a CRLF (RFC 5626 4.4.1; registrars ignore it, NAT bindings and
    /// idle-connection timers are refreshed), over WebSocket a Ping frame. Over UDP it is an
    /// OPTIONS to the registrar (RFC 3261 11): it refreshes the NAT's mapping like a CRLF would,
    /// and the answer says where the registrar now sees us (its Via `received`/`rport`). A home
    /// router that rebooted or an ISP that handed out a new address gives us a new mapping, and
    /// the registered Contact is then an address nothing reaches: that, or a registrar silent for
    /// `UDP_PING_PATIENCE`, is an Err, and the binding is made again. Any answer counts, even a
    /// refusal (a proxy that wants OPTIONS authenticated still answered from where it is).
    /// Err when the connection is gone or the mapping changed: the binding must be made again.
    pub async fn keep_alive(&self, stack: &SipStack, ping: bool) -> Result<(), SipError> {
        let server = host_of(&self.params.registrar);
        let lost = |detail: String| SipError::Unreachable {
            server: server.clone(),
            detail,
        };
        let target =
            SipAddr::try_from(&self.params.registrar.0).map_err(|e| lost(e.to_string()))?;
        let (conn, _) = stack
            .endpoint
            .transport_layer
            .lookup(&target, None)
            .await
            .map_err(|e| lost(format!("connection lost: {e}")))?;
        if self.local.as_ref().is_some_and(|l| l != conn.get_addr()) {
            return Err(lost("the connection to the registrar closed".into()));
        }
        if !ping {
            return Ok(());
        }
        const PING: &[u8] = b"\r\n\r\n";
        let sent = match &conn {
            SipConnection::Udp(_) => return self.ping_over_udp(stack).await,
            SipConnection::Tcp(tcp) => tcp.send_raw(PING).await,
            SipConnection::Tls(tls) => tls.send_raw(PING).await,
            // Over WebSocket the keep-alive is a Ping frame (RFC 7118 6, RFC 6455 5.5.2): a CRLF
            // would be a SIP message of its own there.
            SipConnection::WebSocket(ws) => ws.send_ping().await,
            _ => Ok(()),
        };
        // A stream that cannot be written to is gone.
        sent.map_err(|e| lost(format!("keep-alive failed: {e}")))
    }

    /// The UDP keep-alive: one OPTIONS to the registrar, its answer compared with the binding.
    async fn ping_over_udp(&self, stack: &SipStack) -> Result<(), SipError> {
        let server = host_of(&self.params.registrar);
        let asked = crate::probe::options(stack, &self.params.registrar, &self.params.aor);
        let probed = match tokio::time::timeout(UDP_PING_PATIENCE, asked).await {
            Ok(Ok(probed)) => probed,
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(SipError::Unreachable {
                    server,
                    detail: format!(
                        "no answer to the keep-alive OPTIONS in {} s",
                        UDP_PING_PATIENCE.as_secs()
                    ),
                })
            }
        };
        let registered = self.contact.as_ref().and_then(socket_of);
        match (probed.seen_as, registered) {
            (Some(now), Some(was)) if now != was => Err(SipError::Unreachable {
                server,
                detail: format!(
                    "the registrar now sees us at {now}, not at the registered {was} (the NAT's mapping changed)"
                ),
            }),
            _ => Ok(()),
        }
    }

    fn build(
        &self,
        stack: &SipStack,
        local: &SipAddr,
        contact: &Uri,
        stale: Option<&Uri>,
        expires: u32,
        auth: &[(String, String)],
    ) -> Result<rsipstack::sip::Request, SipError> {
        let via = stack.endpoint.get_via(Some(local.clone()), None)?;
        let mut aor = self.params.aor.0.clone();
        aor.params.clear();
        let from = rsipstack::sip::typed::From {
            display_name: self.params.display_name.clone(),
            uri: aor.clone(),
            params: vec![rsipstack::sip::Param::Tag(self.from_tag.clone().into())],
        };
        let to = rsipstack::sip::typed::To {
            display_name: None,
            uri: aor,
            params: vec![],
        };
        let mut req = stack.endpoint.make_request(
            Method::Register,
            self.params.registrar.0.clone(),
            via,
            from,
            to,
            self.cseq,
            Some(self.call_id.clone().into()),
        );
        let outbound = self
            .params
            .instance
            .as_deref()
            .map(|id| format!(";reg-id=1;+sip.instance=\"<urn:uuid:{id}>\""))
            .unwrap_or_default();
        req.headers
            .push(Header::Contact(format!("<{contact}>{outbound}").into()));
        if let Some(old) = stale {
            req.headers
                .push(Header::Contact(format!("<{old}>;expires=0").into()));
        }
        req.headers.push(Header::Expires(expires.into()));
        let mut capabilities = crate::incoming::capabilities();
        if self.params.instance.is_some() {
            for h in capabilities.iter_mut() {
                if let Header::Other(name, value) = h {
                    if name.eq_ignore_ascii_case("supported") {
                        value.push_str(", outbound");
                    }
                }
            }
        }
        req.headers.extend(capabilities);
        for (name, value) in auth {
            req.headers.push(Header::Other(name.clone(), value.clone()));
        }
        Ok(req)
    }
}

fn refused(resp: &Response, server: &str, why: &str) -> SipError {
    let status = u16::from(resp.status_code.clone());
    let phrase = resp.status_code.to_string();
    let phrase = phrase
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ')
        .to_string();
    let reason = match (phrase.is_empty(), why.is_empty()) {
        (false, false) => format!("{phrase} — {why}"),
        (false, true) => phrase,
        (true, false) => why.to_string(),
        (true, true) => "refused".to_string(),
    };
    SipError::Refused {
        status,
        reason,
        server: server.to_string(),
    }
}

/// Whether the answer says the registrar uses SIP outbound (`Require: outbound`), and the
/// `Flow-Timer` it asked for.
fn outbound_of(resp: &Response) -> Option<Outbound> {
    let mut required = false;
    let mut flow_timer = None;
    for h in resp.headers.iter() {
        let text = h.to_string();
        let Some((name, value)) = text.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("require") {
            required |= value
                .split(',')
                .any(|tag| tag.trim().eq_ignore_ascii_case("outbound"));
        } else if name.eq_ignore_ascii_case("flow-timer") {
            flow_timer = value.trim().parse::<u32>().ok().filter(|s| *s > 0);
        }
    }
    required.then_some(Outbound { flow_timer })
}

fn granted_expires(resp: &Response, ours: &Uri, requested: u32) -> u32 {
    let ours_hp = ours.host_with_port.to_string();
    let mut from_contact = None;
    if let Ok(contacts) = resp.typed_contact_headers() {
        for c in contacts {
            if c.uri.host_with_port.to_string() == ours_hp {
                from_contact = c.expires().or(from_contact);
            }
        }
    }
    from_contact
        .or_else(|| {
            resp.expires_header()
                .and_then(|h| h.value().trim().parse().ok())
        })
        .unwrap_or(requested)
}

/// Our Contact on the connection whose local end is `local`: `sip:<aor user>@<address>`, the
/// address being the one the registrar saw us at when that was learned (`SipStack::learn_public`).
fn contact_on(aor: &Uri, local: &SipAddr, stack: &SipStack) -> Uri {
    let mut params = vec![];
    if let Some(t) = local.r#type {
        if t != rsipstack::sip::Transport::Udp {
            // RFC 7118 5.2: `transport=ws` over WSS too (`SipUri::contact`).
            let t = if t == rsipstack::sip::Transport::Wss {
                rsipstack::sip::Transport::Ws
            } else {
                t
            };
            params.push(rsipstack::sip::Param::Transport(t));
        }
    }
    let host_with_port = match local.get_socketaddr() {
        Ok(ours) => stack.public_of(ours).into(),
        Err(_) => local.addr.clone(),
    };
    Uri {
        scheme: Some(rsipstack::sip::Scheme::Sip),
        auth: aor.auth.clone(),
        host_with_port,
        params,
        headers: vec![],
    }
}

fn socket_of(uri: &Uri) -> Option<SocketAddr> {
    SipUri(uri.clone()).socket_addr()
}

/// Where the registrar saw the request come from: the top Via's `received` (else its sent-by
/// host) and `rport` (else its sent-by port). None when the registrar said neither.
pub(crate) fn seen_as(resp: &Response) -> Option<SocketAddr> {
    let via = resp.via_header().ok()?.value().to_string();
    seen_in_via(&via)
}

fn seen_in_via(via: &str) -> Option<SocketAddr> {
    let first = via.split(',').next()?;
    let mut parts = first.split(';');
    let sent_by = parts.next()?.split_whitespace().last()?;
    let (mut received, mut rport) = (None, None);
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "received" => {
                received = v
                    .trim()
                    .trim_matches(['[', ']'])
                    .parse::<IpAddr>()
                    .ok()
                    .or(received)
            }
            "rport" => rport = v.trim().parse::<u16>().ok().or(rport),
            _ => {}
        }
    }
    if received.is_none() && rport.is_none() {
        return None;
    }
    let sent: Option<SocketAddr> = sent_by.parse().ok().or_else(|| {
        sent_by
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 5060))
    });
    let ip = received.or(sent.map(|s| s.ip()))?;
    let port = rport.or(sent.map(|s| s.port()))?;
    Some(SocketAddr::new(ip, port))
}

fn random_token(n: usize) -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::seen_in_via;

    #[test]
    fn the_address_the_registrar_saw_comes_from_received_and_rport() {
        let at = |s: &str| Some(s.parse().unwrap());
        assert_eq!(
            seen_in_via(
                "SIP/2.0/UDP 192.168.1.20:5070;branch=z9hG4bK1;received=203.0.113.9;rport=40123"
            ),
            at("203.0.113.9:40123")
        );
        // rport alone (same IP), received alone (same port), case and spaces.
        assert_eq!(
            seen_in_via("SIP/2.0/UDP 10.0.0.2:5060;rport=6000;branch=z9hG4bKx"),
            at("10.0.0.2:6000")
        );
        assert_eq!(
            seen_in_via("SIP/2.0/TCP 10.0.0.2:5061 ;Received=198.51.100.1;branch=z9hG4bKx"),
            at("198.51.100.1:5061")
        );
        assert_eq!(
            seen_in_via("SIP/2.0/UDP [2001:db8::5]:5060;received=2001:db8::9;rport=7000"),
            at("[2001:db8::9]:7000")
        );
        // Only the top Via counts; a registrar that says nothing tells us nothing.
        assert_eq!(
            seen_in_via(
                "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKx, SIP/2.0/UDP 1.2.3.4;received=5.6.7.8"
            ),
            None
        );
        assert_eq!(
            seen_in_via("SIP/2.0/UDP 10.0.0.2:5060;rport;branch=z9hG4bKx"),
            None
        );
        // Garbage is ignored, not trusted.
        assert_eq!(
            seen_in_via("SIP/2.0/UDP host.example:5060;received=not-an-ip;rport=99999"),
            None
        );
    }

    fn response(headers: &str) -> rsipstack::sip::Response {
        let text = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKx\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:a@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n{headers}Content-Length: 0\r\n\r\n"
        );
        rsipstack::sip::Response::try_from(text.as_str()).unwrap()
    }

    /// A registrar that takes SIP outbound says so with `Require: outbound` (any case, in a
    /// list) and may ask for keep-alives within its `Flow-Timer`; one that says nothing does not.
    #[test]
    fn outbound_is_in_use_only_when_the_registrar_requires_it() {
        use super::{outbound_of, Outbound};
        assert_eq!(
            outbound_of(&response("Require: outbound\r\nFlow-Timer: 25\r\n")),
            Some(Outbound {
                flow_timer: Some(25)
            })
        );
        assert_eq!(
            outbound_of(&response("Require: path, Outbound\r\n")),
            Some(Outbound { flow_timer: None })
        );
        assert_eq!(
            outbound_of(&response("Supported: outbound\r\nFlow-Timer: 25\r\n")),
            None
        );
        assert_eq!(
            outbound_of(&response("Require: outbound\r\nFlow-Timer: soon\r\n")),
            Some(Outbound { flow_timer: None })
        );
    }
}
