//! REGISTER for one account: builds the request, answers digest challenges through `auth.rs`
//! (MD5 and SHA-256, qop=auth, several challenges at once; the realm learned), and reads the
//! granted expiry. Refresh timing and back-off are decided by the phone; this module does
//! one registration exchange per call.

use crate::auth::{challenges_of, Asker, Attempt, Credentials};
use crate::digest;
use crate::stack::{Exchange, SipStack};
use crate::target::host_of;
use crate::types::SipUri;
use crate::SipError;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Method, Response, Uri};
use rsipstack::transaction::make_tag;
use rsipstack::transport::SipAddr;

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
}

/// Result of a successful exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    /// Seconds the registrar granted (0 after an un-REGISTER).
    pub expires: u32,
}

/// One account's registration dialog-let: same Call-ID and From tag across refreshes,
/// increasing CSeq (RFC 3261 §10.2).
pub struct Registration {
    params: RegisterParams,
    call_id: String,
    from_tag: String,
    cseq: u32,
    /// Contact we advertise (learned rport/received is applied after the first answer).
    contact: Option<Uri>,
}

impl Registration {
    pub fn new(params: RegisterParams) -> Self {
        Registration {
            params,
            call_id: format!("{}@hookflash", random_token(20)),
            from_tag: make_tag().to_string(),
            cseq: 0,
            contact: None,
        }
    }

    pub fn params(&self) -> &RegisterParams {
        &self.params
    }

    /// The Contact URI used in the last REGISTER.
    pub fn contact(&self) -> Option<SipUri> {
        self.contact.clone().map(SipUri)
    }

    /// Sends REGISTER with `expires` (0 = un-register) and follows digest challenges.
    pub async fn register(&mut self, stack: &SipStack, expires: u32) -> Result<Registered, SipError> {
        let server = host_of(&self.params.registrar);
        let target = SipAddr::try_from(&self.params.registrar.0).map_err(|e| SipError::Invalid {
            what: "registrar".into(),
            value: self.params.registrar.to_string(),
            detail: e.to_string(),
        })?;
        // The connection this goes out on decides the Via (TCP/TLS connect happens here).
        let (conn, _) = stack.endpoint.transport_layer.lookup(&target, None).await.map_err(|e| {
            let detail = e.to_string();
            if detail.to_ascii_lowercase().contains("certificate") || detail.contains("tls") || detail.contains("TLS") {
                SipError::Tls { server: server.clone(), detail }
            } else {
                SipError::Unreachable { server: server.clone(), detail }
            }
        })?;
        let local = conn.get_addr().clone();
        let contact = self.contact.clone().unwrap_or_else(|| {
            let mut params = vec![];
            if let Some(t) = local.r#type {
                if t != rsipstack::sip::Transport::Udp {
                    params.push(rsipstack::sip::Param::Transport(t));
                }
            }
            Uri {
                scheme: Some(rsipstack::sip::Scheme::Sip),
                auth: self.params.aor.0.auth.clone(),
                host_with_port: local.addr.clone(),
                params,
                headers: vec![],
            }
        });
        self.contact = Some(contact.clone());

        let mut attempt = Attempt::new();
        let mut auth_headers: Vec<(String, String)> = Vec::new();
        loop {
            self.cseq += 1;
            let request = self.build(stack, &local, &contact, expires, &auth_headers)?;
            let resp = stack.exchange(request, &conn, &target).await.map_err(|e| SipError::Unreachable {
                server: server.clone(),
                detail: match e {
                    Exchange::NotSent(detail) => detail,
                    Exchange::NoAnswer => "request timed out".into(),
                },
            })?;
            let code = u16::from(resp.status_code.clone());
            match code {
                200..=299 => {
                    let granted = if expires == 0 { 0 } else { granted_expires(&resp, &contact, expires) };
                    return Ok(Registered { expires: granted });
                }
                401 | 407 => {
                    let uri = self.params.registrar.to_string();
                    let cnonce = digest::new_cnonce();
                    let answers = attempt
                        .answer(&self.params.credentials, Asker::Registrar, &challenges_of(&resp), "REGISTER", &uri, b"", &cnonce)
                        .map_err(|why| refused(&resp, &server, &why.to_string()))?;
                    auth_headers = answers.into_iter().map(|r| (r.header_name.to_string(), r.value)).collect();
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

    fn build(
        &self,
        stack: &SipStack,
        local: &SipAddr,
        contact: &Uri,
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
        let to = rsipstack::sip::typed::To { display_name: None, uri: aor, params: vec![] };
        let mut req = stack.endpoint.make_request(
            Method::Register,
            self.params.registrar.0.clone(),
            via,
            from,
            to,
            self.cseq,
            Some(self.call_id.clone().into()),
        );
        let c = rsipstack::sip::typed::Contact { display_name: None, uri: contact.clone(), params: vec![] };
        req.headers.push(c.into());
        req.headers.push(Header::Expires(expires.into()));
        req.headers.push(Header::Other("Allow".into(), "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY".into()));
        for (name, value) in auth {
            req.headers.push(Header::Other(name.clone(), value.clone()));
        }
        Ok(req)
    }
}

fn refused(resp: &Response, server: &str, why: &str) -> SipError {
    let status = u16::from(resp.status_code.clone());
    let phrase = resp.status_code.to_string();
    let phrase = phrase.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ').to_string();
    let reason = match (phrase.is_empty(), why.is_empty()) {
        (false, false) => format!("{phrase} — {why}"),
        (false, true) => phrase,
        (true, false) => why.to_string(),
        (true, true) => "refused".to_string(),
    };
    SipError::Refused { status, reason, server: server.to_string() }
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
        .or_else(|| resp.expires_header().and_then(|h| h.value().trim().parse().ok()))
        .unwrap_or(requested)
}

fn random_token(n: usize) -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}
