//! The SIP vocabulary the phone speaks: URIs, transports, methods, name-addrs and the requests it
//! receives, as our own types. rsipstack's types stay inside this crate (they change between its
//! releases, and the phone should not care which stack moves the bytes).

use crate::SipError;
use rsipstack::sip::prelude::*;
use rsipstack::sip::Uri;

/// A `sip:` or `sips:` URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri(pub(crate) Uri);

/// The transport a URI or account uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    /// SIP over WebSocket (RFC 7118), `;transport=ws`.
    Ws,
    /// SIP over secure WebSocket (WebSocket over TLS), `;transport=wss`.
    Wss,
}

impl Transport {
    /// TCP, TLS, WS and WSS: the far end reaches us back on the connection we open.
    pub fn is_stream(self) -> bool {
        self != Transport::Udp
    }

    /// TLS and WSS: the server's certificate is checked.
    pub fn is_secure(self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }
}

impl SipUri {
    /// Parses a SIP/SIPS URI; `what` names it in the error ("registrar", "address of record").
    pub fn parse(what: &str, value: &str) -> Result<SipUri, SipError> {
        let v = value.trim();
        let invalid = |detail: &str| SipError::Invalid {
            what: what.to_string(),
            value: value.to_string(),
            detail: detail.to_string(),
        };
        if v.is_empty() {
            return Err(invalid("it is empty"));
        }
        if !(v.starts_with("sip:") || v.starts_with("sips:")) {
            return Err(invalid("it must start with sip: or sips:"));
        }
        let uri = Uri::try_from(v).map_err(|e| invalid(&e.to_string()))?;
        if uri.host_with_port.to_string().is_empty() {
            return Err(invalid("it has no host"));
        }
        Ok(SipUri(uri))
    }

    /// The host, without port.
    pub fn host(&self) -> String {
        self.0.host_with_port.host.to_string()
    }

    /// The host with its port, if any (`example.com:5070`).
    pub fn host_port(&self) -> String {
        self.0.host_with_port.to_string()
    }

    /// The host and port as a socket address, when the host is an IP address (port 5060 if none).
    pub fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        let ip: std::net::IpAddr = self.host().trim_matches(['[', ']']).parse().ok()?;
        Some(std::net::SocketAddr::new(
            ip,
            self.0
                .host_with_port
                .port
                .as_ref()
                .map(|p| p.value())
                .unwrap_or(5060),
        ))
    }

    /// The user part, if any.
    pub fn user(&self) -> Option<String> {
        self.0
            .auth
            .as_ref()
            .map(|a| a.user.clone())
            .filter(|u| !u.is_empty())
    }

    /// The same URI without parameters or headers (`sip:alice@example.com`).
    pub fn bare(&self) -> SipUri {
        let mut u = self.0.clone();
        u.params.clear();
        u.headers.clear();
        SipUri(u)
    }

    /// The server part only: no user, no parameters (the default registrar of an AOR).
    pub fn server(&self) -> SipUri {
        let mut u = self.bare().0;
        u.auth = None;
        SipUri(u)
    }

    /// The transport the URI asks for: its `;transport=` parameter, else TLS for a `sips:` URI
    /// (RFC 3261 19.1.2), else none named.
    pub fn transport(&self) -> Option<Transport> {
        let named = self.0.params.iter().find_map(|p| match p {
            rsipstack::sip::Param::Transport(t) => Some(transport_of(t)),
            _ => None,
        });
        named.or_else(|| {
            (self.0.scheme == Some(rsipstack::sip::Scheme::Sips)).then_some(Transport::Tls)
        })
    }

    /// Adds `;transport=` for TCP/TLS/WS/WSS unless the URI already names one.
    pub fn with_transport(mut self, t: Transport) -> SipUri {
        if t != Transport::Udp && self.transport().is_none() {
            self.0
                .params
                .push(rsipstack::sip::Param::Transport(to_rsip_transport(t)));
        }
        self
    }

    /// This URI as a place to send requests to (an outbound proxy): checks it names one.
    pub fn check_destination(&self, what: &str) -> Result<(), SipError> {
        rsipstack::transport::SipAddr::try_from(&self.0)
            .map(|_| ())
            .map_err(|e| SipError::Invalid {
                what: what.into(),
                value: self.to_string(),
                detail: e.to_string(),
            })
    }

    /// `sip:<user>@<addr>` with `;transport=` for TCP/TLS/WS/WSS: a Contact. Over WSS the
    /// parameter is `ws`: RFC 7118 5.2 defines `ws` as the URI transport of WebSocket, secure or
    /// not (`WSS` is a Via transport only; Kamailio reads `transport=wss` as UDP).
    pub fn contact(user: Option<&str>, addr: std::net::SocketAddr, transport: Transport) -> SipUri {
        let transport = if transport == Transport::Wss {
            Transport::Ws
        } else {
            transport
        };
        let text = match user {
            Some(u) => format!("sip:{u}@{addr}"),
            None => format!("sip:{addr}"),
        };
        let uri = Uri::try_from(text.as_str()).unwrap_or_else(|_| Uri {
            scheme: Some(rsipstack::sip::Scheme::Sip),
            auth: None,
            host_with_port: addr.into(),
            params: vec![],
            headers: vec![],
        });
        SipUri(uri).with_transport(transport)
    }
}

impl std::fmt::Display for SipUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

pub(crate) fn transport_of(t: &rsipstack::sip::Transport) -> Transport {
    match t {
        rsipstack::sip::Transport::Tcp => Transport::Tcp,
        rsipstack::sip::Transport::Tls | rsipstack::sip::Transport::TlsSctp => Transport::Tls,
        rsipstack::sip::Transport::Ws => Transport::Ws,
        rsipstack::sip::Transport::Wss => Transport::Wss,
        _ => Transport::Udp,
    }
}

pub(crate) fn to_rsip_transport(t: Transport) -> rsipstack::sip::Transport {
    match t {
        Transport::Udp => rsipstack::sip::Transport::Udp,
        Transport::Tcp => rsipstack::sip::Transport::Tcp,
        Transport::Tls => rsipstack::sip::Transport::Tls,
        Transport::Ws => rsipstack::sip::Transport::Ws,
        Transport::Wss => rsipstack::sip::Transport::Wss,
    }
}

/// A request method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Options,
    Info,
    Update,
    Notify,
    Subscribe,
    Refer,
    Message,
    Publish,
    Register,
    Prack,
}

impl Method {
    pub(crate) fn of(m: &rsipstack::sip::Method) -> Method {
        use rsipstack::sip::Method as M;
        match m {
            M::Invite => Method::Invite,
            M::Ack => Method::Ack,
            M::Bye => Method::Bye,
            M::Cancel => Method::Cancel,
            M::Options => Method::Options,
            M::Info => Method::Info,
            M::Update => Method::Update,
            M::Notify => Method::Notify,
            M::Subscribe => Method::Subscribe,
            M::Refer => Method::Refer,
            M::Message => Method::Message,
            M::Publish => Method::Publish,
            M::Register => Method::Register,
            M::PRack => Method::Prack,
        }
    }
}

/// A From/To/Contact value: display name, the URI without parameters, and the tag.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NameAddr {
    pub display_name: Option<String>,
    /// The URI without its parameters (`sip:100@pbx.example.com`).
    pub uri: String,
    pub tag: Option<String>,
}

/// A request as received, read once: what the phone looks at (routing facts, NOTIFY bodies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The Request-URI as received.
    pub uri: String,
    pub call_id: String,
    pub from: Option<NameAddr>,
    pub to: Option<NameAddr>,
    /// The first Contact URI.
    pub contact: Option<SipUri>,
    /// Every header as received, `(name, value)`, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub(crate) fn of(req: &rsipstack::sip::Request) -> Request {
        let headers: Vec<(String, String)> = req
            .headers
            .iter()
            .filter_map(|h| {
                let line = h.to_string();
                let (name, value) = line.split_once(':')?;
                Some((name.trim().to_string(), value.trim().to_string()))
            })
            .collect();
        let from = req
            .from_header()
            .ok()
            .and_then(|f| f.typed().ok())
            .map(|f| NameAddr {
                display_name: clean_display(f.display_name.clone()),
                uri: bare_text(&f.uri),
                tag: f.tag().map(|t| t.to_string()),
            });
        let to = req
            .to_header()
            .ok()
            .and_then(|t| t.typed().ok())
            .map(|t| NameAddr {
                display_name: clean_display(t.display_name.clone()),
                uri: bare_text(&t.uri),
                tag: t.tag().map(|t| t.to_string()),
            });
        let contact = req
            .typed_contact_headers()
            .ok()
            .and_then(|c| c.first().map(|c| SipUri(c.uri.clone())));
        Request {
            method: Method::of(&req.method),
            uri: req.uri.to_string(),
            call_id: req
                .call_id_header()
                .map(|c| c.value().to_string())
                .unwrap_or_default(),
            from,
            to,
            contact,
            headers,
            body: req.body.clone(),
        }
    }

    /// Parses a request from its wire form (tests, fixtures).
    pub fn parse(text: &str) -> Result<Request, SipError> {
        match rsipstack::sip::SipMessage::try_from(text) {
            Ok(rsipstack::sip::SipMessage::Request(r)) => Ok(Request::of(&r)),
            Ok(_) => Err(SipError::Other("a response, not a request".into())),
            Err(e) => Err(SipError::Other(format!("unreadable SIP message: {e}"))),
        }
    }

    /// The first header of this name (case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
}

fn clean_display(d: Option<String>) -> Option<String> {
    d.map(|d| d.trim().trim_matches('"').to_string())
        .filter(|d| !d.is_empty())
}

fn bare_text(u: &Uri) -> String {
    let mut u = u.clone();
    u.params.clear();
    u.headers.clear();
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:alice@10.0.0.5:5060 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1\r\n\
        From: \"Queue 1\" <sip:100@pbx.example.com;user=phone>;tag=f1\r\n\
        To: <sip:sales@pbx.example.com>\r\n\
        Call-ID: abc@x\r\n\
        CSeq: 1 INVITE\r\n\
        Contact: <sip:100@10.0.0.9:5060;transport=tcp>\r\n\
        Diversion: <sip:sales@pbx.example.com>;reason=unconditional\r\n\
        Content-Length: 0\r\n\r\n";

    #[test]
    fn a_request_is_read_into_our_types() {
        let r = Request::parse(INVITE).unwrap();
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.uri, "sip:alice@10.0.0.5:5060");
        assert_eq!(r.call_id, "abc@x");
        let from = r.from.clone().unwrap();
        assert_eq!(from.display_name.as_deref(), Some("Queue 1"));
        assert_eq!(from.uri, "sip:100@pbx.example.com");
        assert_eq!(from.tag.as_deref(), Some("f1"));
        assert_eq!(r.to.clone().unwrap().tag, None);
        assert_eq!(
            r.contact.as_ref().unwrap().transport(),
            Some(Transport::Tcp)
        );
        assert_eq!(
            r.header("diversion"),
            Some("<sip:sales@pbx.example.com>;reason=unconditional")
        );
    }

    #[test]
    fn uris_are_parsed_with_a_named_error_and_taken_apart() {
        let u = SipUri::parse("registrar", "sip:alice@Example.com:5070;transport=tls").unwrap();
        assert_eq!(u.user().as_deref(), Some("alice"));
        assert_eq!(u.host(), "Example.com");
        assert_eq!(u.host_port(), "Example.com:5070");
        assert_eq!(u.transport(), Some(Transport::Tls));
        assert_eq!(u.bare().to_string(), "sip:alice@Example.com:5070");
        assert_eq!(u.server().to_string(), "sip:Example.com:5070");
        let e = SipUri::parse("registrar", "alice@example.com").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid registrar 'alice@example.com': it must start with sip: or sips:"
        );
    }

    #[test]
    fn transport_is_added_once_and_never_for_udp() {
        let u = SipUri::parse("x", "sip:example.com").unwrap();
        assert_eq!(
            u.clone().with_transport(Transport::Udp).to_string(),
            "sip:example.com"
        );
        let t = u.with_transport(Transport::Tcp);
        assert_eq!(t.transport(), Some(Transport::Tcp));
        assert_eq!(
            t.clone().with_transport(Transport::Tls).transport(),
            Some(Transport::Tcp)
        );
        let sips = SipUri::parse("registrar", "sips:pbx.example.com").unwrap();
        assert_eq!(
            sips.transport(),
            Some(Transport::Tls),
            "sips: means TLS without a parameter"
        );
        assert_eq!(
            sips.clone().with_transport(Transport::Tls).to_string(),
            "sips:pbx.example.com"
        );
        let ws = SipUri::contact(
            Some("alice"),
            "10.0.0.1:40000".parse().unwrap(),
            Transport::Wss,
        );
        assert_eq!(
            ws.to_string().to_ascii_lowercase(),
            "sip:alice@10.0.0.1:40000;transport=ws",
            "RFC 7118: ws for WSS too"
        );
        let c = SipUri::contact(
            Some("alice"),
            "10.0.0.1:5062".parse().unwrap(),
            Transport::Tls,
        );
        assert_eq!(c.user().as_deref(), Some("alice"));
        assert_eq!(c.transport(), Some(Transport::Tls));
        assert!(c.to_string().starts_with("sip:alice@10.0.0.1:5062"), "{c}");
    }
}
