//! One SIP endpoint (rsipstack transport + transaction + dialog layers) bound to a local
//! address, with TLS trust configured. The phone owns one per account.

use crate::dialog_events::{self, DialogEvent};
use crate::incoming::{self, Incoming};
use crate::types::{SipUri, Transport};
use crate::SipError;
use rsipstack::dialog::dialog::DialogStateSender;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transport::tls::TlsConfig;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::TransportLayer;
use rsipstack::EndpointBuilder;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub struct StackConfig {
    /// Concrete local address (not 0.0.0.0: it is advertised in Via/Contact). Port 0 = any.
    pub listen: SocketAddr,
    /// Extra trusted CA certificates (PEM) for TLS. Verification is always on.
    pub tls_ca_pem: Option<Vec<u8>>,
    pub user_agent: String,
    /// The HTTP path of the WebSocket upgrade (SIP over WS/WSS), e.g. `/ws`; None: `/`.
    pub ws_path: Option<String>,
}

/// Why a request got no final response.
#[derive(Debug)]
pub(crate) enum Exchange {
    /// It could not be sent (the detail says why).
    NotSent(String),
    /// No final response before the transaction timed out.
    NoAnswer,
}

pub struct SipStack {
    pub(crate) endpoint: EndpointInnerRef,
    pub(crate) dialogs: Arc<DialogLayer>,
    /// Where every dialog reports its states (turned into `DialogEvent`s).
    pub(crate) dialog_tx: DialogStateSender,
    /// The bound UDP address (also the host:port advertised for TCP/TLS, which use
    /// outbound connections).
    pub local_addr: SocketAddr,
    /// Our addresses as a registrar saw them (behind NAT).
    public: PublicAddresses,
    cancel: CancellationToken,
}

impl SipStack {
    /// Binds UDP on `listen`, starts the endpoint task, and returns the requests the phone
    /// decides about and the events of its calls' dialogs.
    pub async fn start(
        cfg: StackConfig,
    ) -> Result<
        (
            SipStack,
            mpsc::UnboundedReceiver<Incoming>,
            mpsc::UnboundedReceiver<DialogEvent>,
        ),
        SipError,
    > {
        let cancel = CancellationToken::new();
        let transport = TransportLayer::new(cancel.clone());
        let udp = UdpConnection::create_connection(cfg.listen, None, Some(cancel.child_token()))
            .await
            .map_err(|e| SipError::Bind {
                addr: cfg.listen.to_string(),
                detail: e.to_string(),
            })?;
        let local_addr: SocketAddr =
            udp.get_addr()
                .get_socketaddr()
                .map_err(|e| SipError::Bind {
                    addr: cfg.listen.to_string(),
                    detail: e.to_string(),
                })?;
        transport.add_transport(udp.into());
        // The system's roots and the account's own CA (`trust.rs`).
        let ca_certs = crate::trust::trusted_pem(cfg.tls_ca_pem.as_deref());
        transport.set_tls_config(TlsConfig {
            ca_certs: Some(ca_certs),
            ..Default::default()
        });
        if let Some(path) = &cfg.ws_path {
            transport.set_ws_path(path.clone());
        }
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport)
            .with_user_agent(&cfg.user_agent)
            .build();
        let incoming = endpoint.incoming_transactions()?;
        let inner = endpoint.inner.clone();
        let serve = inner.clone();
        tokio::spawn(async move {
            if let Err(e) = serve.serve().await {
                tracing::warn!("SIP endpoint stopped: {e}");
            }
        });
        let dialogs = Arc::new(DialogLayer::new(inner.clone()));
        let (dialog_tx, dialog_rx) = dialogs.new_dialog_state_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        dialog_events::forward(dialogs.clone(), dialog_rx, events_tx);
        let (requests_tx, requests_rx) = mpsc::unbounded_channel();
        let public = PublicAddresses::default();
        incoming::dispatch(
            incoming,
            dialogs.clone(),
            dialog_tx.clone(),
            local_addr,
            public.clone(),
            requests_tx,
        );
        Ok((
            SipStack {
                endpoint: inner,
                dialogs,
                dialog_tx,
                local_addr,
                public,
                cancel,
            },
            requests_rx,
            events_rx,
        ))
    }

    /// Sends an out-of-dialog request on `conn` to `destination` as a client transaction and
    /// waits for its final response (provisional ones are skipped).
    pub(crate) async fn exchange(
        &self,
        request: rsipstack::sip::Request,
        conn: &rsipstack::transport::SipConnection,
        destination: &rsipstack::transport::SipAddr,
    ) -> Result<rsipstack::sip::Response, Exchange> {
        use rsipstack::sip::SipMessage;
        use rsipstack::transaction::key::{TransactionKey, TransactionRole};
        use rsipstack::transaction::transaction::Transaction;
        let key = TransactionKey::from_request(&request, TransactionRole::Client)
            .map_err(|e| Exchange::NotSent(e.to_string()))?;
        let mut tx =
            Transaction::new_client(key, request, self.endpoint.clone(), Some(conn.clone()));
        tx.destination = Some(destination.clone());
        tx.send()
            .await
            .map_err(|e| Exchange::NotSent(e.to_string()))?;
        loop {
            match tx.receive().await {
                Some(SipMessage::Response(r))
                    if r.status_code.kind() == rsipstack::sip::StatusCodeKind::Provisional =>
                {
                    continue
                }
                Some(SipMessage::Response(r)) => return Ok(r),
                Some(_) => continue,
                None => return Err(Exchange::NoAnswer),
            }
        }
    }

    /// Our Contact on the UDP socket (`sip:<user>@<addr>`).
    pub fn contact(&self, user: Option<&str>) -> SipUri {
        SipUri::contact(user, self.local_addr, Transport::Udp)
    }

    /// Remembers that a registrar saw our socket `local` as `public` (NAT).
    pub(crate) fn learn_public(&self, local: SocketAddr, public: SocketAddr) {
        self.public
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(local, public);
    }

    /// The address to advertise for our socket `local`: the one a registrar saw, else itself.
    pub fn public_of(&self, local: SocketAddr) -> SocketAddr {
        public_of(&self.public, local)
    }

    /// A Contact of ours with the address a registrar saw for it, when one was learned.
    pub fn advertised(&self, contact: &SipUri) -> SipUri {
        advertised(&self.public, contact)
    }

    pub fn shutdown(&self) {
        self.cancel.cancel();
    }
}

/// The error for a connection to `target` (`server` as the user named it) that could not be
/// opened with `detail`: a refused WebSocket upgrade with its status; a TLS or WSS certificate
/// problem named (`trust.rs`) — any failure of a TLS/WSS connection with `secure_is_tls`, else
/// only one that speaks of TLS or a certificate —; else the server unreachable.
pub(crate) async fn connect_error(
    target: &rsipstack::transport::SipAddr,
    server: &str,
    detail: &str,
    secure_is_tls: bool,
) -> SipError {
    if let Some((status, reason)) = upgrade_refusal(detail) {
        return SipError::WebSocketRefused {
            status,
            reason,
            server: server.to_string(),
        };
    }
    let secure = matches!(
        target.r#type,
        Some(rsipstack::sip::Transport::Tls | rsipstack::sip::Transport::Wss)
    );
    let tls_words = detail.to_ascii_lowercase().contains("certificate")
        || detail.contains("TLS")
        || detail.contains("tls");
    if (secure && secure_is_tls) || tls_words {
        crate::trust::tls_error(target, server, detail).await
    } else {
        SipError::Unreachable {
            server: server.to_string(),
            detail: detail.to_string(),
        }
    }
}

/// The status and reason of a refused WebSocket upgrade, from rsipstack's error
/// (`... the WebSocket upgrade was refused (404 Not Found) by host`).
fn upgrade_refusal(detail: &str) -> Option<(u16, String)> {
    let rest = &detail[detail.find(rsipstack::transport::websocket::WS_UPGRADE_REFUSED)?..];
    let inside = rest.split_once('(')?.1.split_once(')')?.0;
    let (code, reason) = inside.split_once(' ').unwrap_or((inside, ""));
    Some((code.parse().ok()?, reason.trim().to_string()))
}

/// Our socket addresses as a registrar saw them (behind NAT): local -> public.
pub(crate) type PublicAddresses =
    Arc<std::sync::Mutex<std::collections::HashMap<SocketAddr, SocketAddr>>>;

fn public_of(public: &PublicAddresses, local: SocketAddr) -> SocketAddr {
    public
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&local)
        .copied()
        .unwrap_or(local)
}

/// `contact` with the address a registrar saw for it, when one was learned.
pub(crate) fn advertised(public: &PublicAddresses, contact: &SipUri) -> SipUri {
    match contact.socket_addr() {
        Some(local) if public_of(public, local) != local => {
            let t = contact.transport().unwrap_or(Transport::Udp);
            SipUri::contact(contact.user().as_deref(), public_of(public, local), t)
        }
        _ => contact.clone(),
    }
}

impl Drop for SipStack {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_websocket_upgrade_is_read_with_its_status() {
        let detail = "Error: the WebSocket upgrade was refused (404 Not Found) by sip.example.com";
        assert_eq!(upgrade_refusal(detail), Some((404, "Not Found".into())));
        assert_eq!(
            upgrade_refusal("Error: the WebSocket upgrade was refused (599 ) by x"),
            Some((599, String::new()))
        );
        assert_eq!(
            upgrade_refusal("I/O error: Connection refused (os error 111)"),
            None
        );
        let e = SipError::WebSocketRefused {
            status: 404,
            reason: "Not Found".into(),
            server: "sip.example.com".into(),
        };
        assert_eq!(
            e.to_string(),
            "the WebSocket upgrade was refused (404 Not Found) by sip.example.com"
        );
        let e = SipError::WebSocketRefused {
            status: 599,
            reason: String::new(),
            server: "x".into(),
        };
        assert_eq!(
            e.to_string(),
            "the WebSocket upgrade was refused (599) by x"
        );
    }

    #[test]
    fn contacts_advertise_the_address_the_registrar_saw() {
        let public = PublicAddresses::default();
        let udp = SipUri::contact(
            Some("alice"),
            "10.0.0.5:5060".parse().unwrap(),
            Transport::Udp,
        );
        assert_eq!(
            advertised(&public, &udp),
            udp,
            "nothing learned: our own address"
        );
        public.lock().unwrap().insert(
            "10.0.0.5:5060".parse().unwrap(),
            "203.0.113.9:40000".parse().unwrap(),
        );
        assert_eq!(
            advertised(&public, &udp).to_string(),
            "sip:alice@203.0.113.9:40000"
        );
        let tcp = SipUri::contact(
            Some("alice"),
            "10.0.0.5:41000".parse().unwrap(),
            Transport::Tcp,
        );
        assert_eq!(advertised(&public, &tcp), tcp, "another socket: unchanged");
        public.lock().unwrap().insert(
            "10.0.0.5:41000".parse().unwrap(),
            "203.0.113.9:40001".parse().unwrap(),
        );
        assert_eq!(
            advertised(&public, &tcp).to_string(),
            "sip:alice@203.0.113.9:40001;transport=TCP"
        );
    }
}
