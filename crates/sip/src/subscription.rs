//! RFC 6665 subscriptions, subscriber side: one [`Subscription`] dialog per watched resource
//! (an orbit slot's `dialog` state today; BLF, presence and MWI next), and [`subscribe`], one
//! SUBSCRIBE exchange (initial, refresh, or `Expires: 0` to end it) with digest authentication
//! through `auth.rs`. The NOTIFYs arrive as `incoming::ServerRequest`s; [`Subscription::notified`]
//! learns the notifier's tag and Contact from them. When to refresh is the caller's decision.

use crate::auth::{challenges_of, Asker, Attempt, Credentials};
use crate::digest;
use crate::invite::status_of;
use crate::stack::{Exchange, SipStack};
use crate::types::{Request, SipUri, Transport};
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Method};
use rsipstack::transaction::make_tag;
use rsipstack::transport::SipAddr;

/// One subscription dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// What is watched (`sip:701@pbx.example.com`).
    pub resource: SipUri,
    /// The event package (`dialog`, `presence`, `message-summary`).
    pub event: String,
    /// The body type asked for (`application/dialog-info+xml`).
    pub accept: String,
    call_id: String,
    from_tag: String,
    /// The notifier's tag, from the 2xx or the first NOTIFY.
    to_tag: Option<String>,
    /// Where in-dialog refreshes go (the notifier's Contact).
    remote_target: Option<SipUri>,
    cseq: u32,
}

/// What a successful exchange granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    /// Seconds granted (0 when the subscription was ended).
    pub expires: u32,
}

/// Why an exchange failed, as the end of a sentence ("refused (403) by pbx: Forbidden").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    #[error("refused ({status}) by {server}: {reason}")]
    Refused {
        status: u16,
        server: String,
        reason: String,
    },
    #[error("{server} unreachable: {detail}")]
    Unreachable { server: String, detail: String },
    #[error("no answer from {server}")]
    NoAnswer { server: String },
    #[error("{0}")]
    Other(String),
}

impl SubscribeError {
    /// The SIP status of a refusal (481: the notifier forgot the subscription).
    pub fn status(&self) -> Option<u16> {
        match self {
            SubscribeError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl Subscription {
    pub fn new(resource: SipUri, event: &str, accept: &str) -> Subscription {
        Subscription {
            resource,
            event: event.to_string(),
            accept: accept.to_string(),
            call_id: format!("{}@hookflash", make_tag()),
            from_tag: make_tag().to_string(),
            to_tag: None,
            remote_target: None,
            cseq: 0,
        }
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// No SUBSCRIBE of this dialog has been sent yet.
    pub fn is_new(&self) -> bool {
        self.cseq == 0
    }

    /// The notifier has answered or notified: refreshes go in its dialog.
    pub fn established(&self) -> bool {
        self.to_tag.is_some()
    }

    /// A NOTIFY of this subscription: its tag and Contact establish the dialog (RFC 6665
    /// 4.1.2.4: the first NOTIFY may arrive before the 2xx).
    pub fn notified(&mut self, notify: &Request) {
        if let Some(tag) = notify.from.as_ref().and_then(|f| f.tag.clone()) {
            self.to_tag = Some(tag);
        }
        if let Some(c) = &notify.contact {
            self.remote_target = Some(c.clone());
        }
    }

    /// Takes what a later exchange learned (when it is still the same dialog).
    pub fn update_from(&mut self, other: &Subscription) {
        if other.call_id != self.call_id {
            return;
        }
        self.cseq = self.cseq.max(other.cseq);
        if self.to_tag.is_none() {
            self.to_tag = other.to_tag.clone();
        }
        if other.remote_target.is_some() {
            self.remote_target = other.remote_target.clone();
        }
    }

    fn request_uri(&self) -> SipUri {
        match (&self.to_tag, &self.remote_target) {
            (Some(_), Some(target)) => target.clone(),
            _ => self.resource.clone(),
        }
    }

    fn build(
        &self,
        stack: &SipStack,
        me: &SipUri,
        display_name: Option<&str>,
        local: &SipAddr,
        expires: u32,
        auth: &[(String, String)],
    ) -> Result<rsipstack::sip::Request, SubscribeError> {
        let via = stack
            .endpoint
            .get_via(Some(local.clone()), None)
            .map_err(|e| SubscribeError::Other(e.to_string()))?;
        let from = rsipstack::sip::typed::From {
            display_name: display_name.map(String::from),
            uri: me.bare().0,
            params: vec![rsipstack::sip::Param::Tag(self.from_tag.clone().into())],
        };
        let to = rsipstack::sip::typed::To {
            display_name: None,
            uri: self.resource.0.clone(),
            params: self
                .to_tag
                .iter()
                .map(|t| rsipstack::sip::Param::Tag(t.clone().into()))
                .collect(),
        };
        let mut req = stack.endpoint.make_request(
            Method::Subscribe,
            self.request_uri().0,
            via,
            from,
            to,
            self.cseq,
            Some(self.call_id.clone().into()),
        );
        let transport = local
            .r#type
            .as_ref()
            .map(crate::types::transport_of)
            .unwrap_or(Transport::Udp);
        let contact = match local.get_socketaddr() {
            Ok(addr) => SipUri::contact(me.user().as_deref(), addr, transport),
            Err(_) => stack.contact(me.user().as_deref()),
        };
        req.headers.push(
            rsipstack::sip::typed::Contact {
                display_name: None,
                uri: contact.0,
                params: vec![],
            }
            .into(),
        );
        req.headers.push(Header::Event(self.event.clone().into()));
        req.headers.push(Header::Accept(self.accept.clone().into()));
        req.headers.push(Header::Expires(expires.into()));
        for (name, value) in auth {
            req.headers.push(Header::Other(name.clone(), value.clone()));
        }
        Ok(req)
    }
}

/// One SUBSCRIBE exchange for `sub` as `me`, answering challenges; `expires` 0 ends it. The
/// dialog state learned (tag, Contact, CSeq) is written into `sub`.
pub async fn subscribe(
    stack: &SipStack,
    sub: &mut Subscription,
    me: &SipUri,
    display_name: Option<&str>,
    outbound: Option<&SipUri>,
    creds: &Credentials,
    expires: u32,
) -> Result<Subscribed, SubscribeError> {
    let server = sub.resource.host_port();
    let first_hop = outbound.cloned().unwrap_or_else(|| sub.resource.clone());
    let destination = SipAddr::try_from(&first_hop.0)
        .map_err(|e| SubscribeError::Other(format!("{}: {e}", sub.resource)))?;
    let (conn, _) = stack
        .endpoint
        .transport_layer
        .lookup(&destination, None)
        .await
        .map_err(|e| SubscribeError::Unreachable {
            server: server.clone(),
            detail: e.to_string(),
        })?;
    let local = conn.get_addr().clone();
    let mut attempt = Attempt::new();
    let mut auth: Vec<(String, String)> = Vec::new();
    loop {
        sub.cseq += 1;
        let request = sub.build(stack, me, display_name, &local, expires, &auth)?;
        let resp = match stack.exchange(request, &conn, &destination).await {
            Ok(resp) => resp,
            Err(Exchange::NotSent(detail)) => {
                return Err(SubscribeError::Unreachable { server, detail })
            }
            Err(Exchange::NoAnswer) => return Err(SubscribeError::NoAnswer { server }),
        };
        let (status, reason) = status_of(&resp);
        match status {
            200..=299 => {
                let granted = resp
                    .expires_header()
                    .and_then(|h| h.value().trim().parse::<u32>().ok())
                    .unwrap_or(expires);
                if sub.to_tag.is_none() {
                    sub.to_tag = resp
                        .to_header()
                        .ok()
                        .and_then(|t| t.tag().ok().flatten())
                        .map(|t| t.to_string());
                }
                if let Some(c) = resp
                    .typed_contact_headers()
                    .ok()
                    .and_then(|c| c.first().map(|c| SipUri(c.uri.clone())))
                {
                    sub.remote_target = Some(c);
                }
                return Ok(Subscribed { expires: granted });
            }
            401 | 407 => {
                let uri = sub.request_uri().to_string();
                let answers = attempt
                    .answer(
                        creds,
                        Asker::Path,
                        &challenges_of(&resp),
                        "SUBSCRIBE",
                        &uri,
                        b"",
                        &digest::new_cnonce(),
                    )
                    .map_err(|why| SubscribeError::Refused {
                        status,
                        server: server.clone(),
                        reason: why.to_string(),
                    })?;
                auth = answers
                    .into_iter()
                    .map(|r| (r.header_name.to_string(), r.value))
                    .collect();
            }
            _ => {
                return Err(SubscribeError::Refused {
                    status,
                    server,
                    reason,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notify(tag: &str, contact: &str) -> Request {
        Request::parse(&format!(
            "NOTIFY sip:alice@10.0.0.1:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK2\r\n\
             From: <sip:701@pbx.example.com>;tag={tag}\r\nTo: <sip:alice@pbx.example.com>;tag=ours\r\n\
             Call-ID: c1\r\nCSeq: 1 NOTIFY\r\nContact: <{contact}>\r\nEvent: dialog\r\n\
             Subscription-State: active;expires=600\r\nContent-Length: 0\r\n\r\n"
        ))
        .unwrap()
    }

    #[test]
    fn the_first_notify_establishes_the_dialog_and_refreshes_follow_its_contact() {
        let slot = SipUri::parse("orbit", "sip:701@pbx.example.com").unwrap();
        let mut sub = Subscription::new(slot.clone(), "dialog", "application/dialog-info+xml");
        assert!(!sub.established());
        assert_eq!(sub.request_uri(), slot);
        sub.notified(&notify("n1", "sip:701@10.0.0.9:5060"));
        assert!(sub.established());
        assert_eq!(sub.request_uri().to_string(), "sip:701@10.0.0.9:5060");
    }

    #[test]
    fn what_an_exchange_learned_is_kept_only_for_the_same_dialog() {
        let slot = SipUri::parse("orbit", "sip:701@pbx.example.com").unwrap();
        let mut kept = Subscription::new(slot.clone(), "dialog", "application/dialog-info+xml");
        let mut learned = kept.clone();
        learned.cseq = 3;
        learned.notified(&notify("n1", "sip:701@10.0.0.9:5060"));
        kept.update_from(&learned);
        assert!(kept.established());
        assert_eq!(kept.cseq, 3);
        let mut other = Subscription::new(slot, "dialog", "application/dialog-info+xml");
        other.update_from(&learned);
        assert!(
            !other.established(),
            "a new subscription must not take an old dialog's tag"
        );
    }
}
