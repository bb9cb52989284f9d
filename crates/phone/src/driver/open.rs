//! Opening the accounts: their addresses parsed, the local address that routes to the
//! registrar found, one SIP stack bound each, their credentials and registration exchanges.

use super::address_watch::{route_towards, Watched};
use super::sip::AccountIo;
use crate::api::*;
use crate::core::account::{Account, AccountSetup};
use crate::core::phone::sip_err;
use hookflash_sip::auth::Credentials;
use hookflash_sip::dialog_events::DialogEvent;
use hookflash_sip::incoming::Incoming;
use hookflash_sip::registration::{RegisterParams, Registration};
use hookflash_sip::stack::{SipStack, StackConfig};
use hookflash_sip::target;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::sync::mpsc;

pub(super) struct Opened {
    pub accounts: Vec<Account>,
    pub io: Vec<AccountIo>,
    pub incoming: Vec<mpsc::UnboundedReceiver<Incoming>>,
    pub dialog_events: Vec<mpsc::UnboundedReceiver<DialogEvent>>,
    /// Per account: where its registrar is and the address bound, when that address was chosen
    /// automatically (`address_watch.rs` follows it).
    pub watched: Vec<Option<Watched>>,
    /// Per account: how its SIP stack is bound again on another address.
    pub rebind: Vec<Rebind>,
}

/// How an account's SIP stack was started, to start it again on a new address.
pub(super) struct Rebind {
    port: u16,
    ws_path: Option<String>,
    tls_ca_pem: Option<Vec<u8>>,
    user_agent: String,
}

/// A fresh SIP stack for an account on `ip` (same port choice, trust and user agent).
pub(super) async fn rebind(
    how: &Rebind,
    ip: IpAddr,
) -> Result<
    (
        SipStack,
        mpsc::UnboundedReceiver<Incoming>,
        mpsc::UnboundedReceiver<DialogEvent>,
    ),
    PhoneError,
> {
    SipStack::start(StackConfig {
        listen: SocketAddr::new(ip, how.port),
        tls_ca_pem: how.tls_ca_pem.clone(),
        user_agent: how.user_agent.clone(),
        ws_path: how.ws_path.clone(),
    })
    .await
    .map_err(sip_err)
}

/// `passwords`: one per account of `config.accounts()`, in order.
pub(super) async fn accounts(
    config: &PhoneConfig,
    passwords: Vec<Option<String>>,
) -> Result<Opened, PhoneError> {
    let user_agent = config
        .user_agent
        .clone()
        .unwrap_or_else(|| format!("Hookflash/{}", env!("CARGO_PKG_VERSION")));
    let mut opened = Opened {
        accounts: Vec::new(),
        io: Vec::new(),
        incoming: Vec::new(),
        dialog_events: Vec::new(),
        watched: Vec::new(),
        rebind: Vec::new(),
    };
    // One device, one instance id for all its accounts (RFC 5626 4.1).
    let instance = crate::instance_id::load_or_create(
        config
            .history_db
            .parent()
            .unwrap_or_else(|| std::path::Path::new(".")),
    );
    for (acc, password) in config
        .accounts()
        .into_iter()
        .zip(passwords.into_iter().chain(std::iter::repeat(None)))
    {
        let o = open_account(acc, password, &user_agent, &instance).await?;
        opened.accounts.push(o.account);
        opened.io.push(o.io);
        opened.incoming.push(o.incoming);
        opened.dialog_events.push(o.dialog_events);
        opened.watched.push(o.watched);
        opened.rebind.push(o.rebind);
    }
    Ok(opened)
}

/// `host` (a name or address, with or without a port; 5060 by default) resolved.
fn resolve_route_host(host: &str) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs;
    let target = if host.parse::<SocketAddr>().is_ok() {
        host.to_string()
    } else if let Ok(ip) = host
        .trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
    {
        SocketAddr::new(ip, 5060).to_string()
    } else if host.contains(':') {
        host.to_string() // name:port
    } else {
        format!("{host}:5060")
    };
    target.to_socket_addrs().ok()?.next()
}

/// One opened account and what the driver keeps of its opening.
struct OpenAccount {
    account: Account,
    io: AccountIo,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    dialog_events: mpsc::UnboundedReceiver<DialogEvent>,
    watched: Option<Watched>,
    rebind: Rebind,
}

/// Opens one account: parses its addresses, binds its SIP stack, prepares its registration.
async fn open_account(
    acc: &AccountConfig,
    password: Option<String>,
    user_agent: &str,
    instance: &str,
) -> Result<OpenAccount, PhoneError> {
    let aor = target::parse_uri("address of record", &acc.aor).map_err(sip_err)?;
    let aor_user = target::user_of(&aor).ok_or_else(|| PhoneError::InvalidInput {
        what: "address of record".into(),
        detail: format!("'{}' has no user part (expected sip:user@host)", acc.aor),
    })?;
    let domain = target::host_of(&aor);
    let registrar = match &acc.registrar {
        Some(r) => {
            let r = if r.starts_with("sip:") || r.starts_with("sips:") {
                r.clone()
            } else {
                format!("sip:{r}")
            };
            target::parse_uri("registrar", &r).map_err(sip_err)?
        }
        None => aor.server(),
    };
    let registrar = match acc.transport {
        Some(Transport::Tcp) => registrar.with_transport(hookflash_sip::Transport::Tcp),
        Some(Transport::Tls) => registrar.with_transport(hookflash_sip::Transport::Tls),
        Some(Transport::Ws) => registrar.with_transport(hookflash_sip::Transport::Ws),
        Some(Transport::Wss) => registrar.with_transport(hookflash_sip::Transport::Wss),
        _ => registrar,
    };
    let outbound = match &acc.outbound_proxy {
        Some(p) => {
            let p = if p.starts_with("sip:") {
                p.clone()
            } else {
                format!("sip:{p}")
            };
            let u = target::parse_uri("outbound proxy", &p).map_err(sip_err)?;
            u.check_destination("outbound proxy").map_err(sip_err)?;
            Some(u)
        }
        None if acc.register => {
            Some(registrar.clone()).filter(|r| r.check_destination("registrar").is_ok())
        }
        None => None,
    };
    let route_host = target::host_of(&registrar);
    let mut watched = None;
    let listen = match acc.listen {
        Some(l) if !l.ip().is_unspecified() => l,
        other => {
            let port = other.map(|l| l.port()).unwrap_or(0);
            let towards = resolve_route_host(&route_host);
            let ip = towards
                .and_then(route_towards)
                .unwrap_or(IpAddr::from([127, 0, 0, 1]));
            // Followed when it changes, for accounts that register (calls-only accounts have
            // no registrar to route toward).
            watched = towards
                .filter(|_| acc.register)
                .map(|towards| Watched { towards, bound: ip });
            SocketAddr::new(ip, port)
        }
    };
    let tls_ca_pem = match &acc.tls_ca_file {
        Some(p) => Some(std::fs::read(p).map_err(|e| PhoneError::InvalidInput {
            what: "TLS CA file".into(),
            detail: format!("cannot read {}: {e}", p.display()),
        })?),
        None => None,
    };
    let ws_path = match acc.ws_path.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p)
            if p.starts_with('/') && !p.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Some(p.to_string())
        }
        Some(p) => {
            return Err(PhoneError::InvalidInput {
                what: "WebSocket path".into(),
                detail: format!("'{p}' is not a path (it starts with '/', e.g. /ws)"),
            })
        }
    };
    let rebind = Rebind {
        port: listen.port(),
        ws_path: ws_path.clone(),
        tls_ca_pem: tls_ca_pem.clone(),
        user_agent: user_agent.to_string(),
    };
    let (stack, incoming, dialog_events) = SipStack::start(StackConfig {
        listen,
        tls_ca_pem,
        user_agent: user_agent.to_string(),
        ws_path,
    })
    .await
    .map_err(sip_err)?;
    let auth_user = acc.auth_user.clone().unwrap_or(aor_user);
    // The realms the password is given to: the account's own hosts (and, learned at
    // registration, its registrar's realm), or only the one the account names.
    let mut home = vec![domain.clone(), target::host_of(&registrar)];
    home.extend(acc.outbound_proxy.clone());
    let credentials = Credentials::new(&auth_user, password, acc.realm.clone(), &home);
    let registration = Registration::new(RegisterParams {
        aor: aor.clone(),
        registrar: registrar.clone(),
        credentials: credentials.clone(),
        display_name: acc.display_name.clone(),
        instance: Some(instance.to_string()),
    });
    let contact = stack.contact(aor.user().as_deref());
    let registrar_on_stream = registrar.transport().is_some_and(|t| t.is_stream());
    let setup = AccountSetup {
        aor: aor.clone(),
        domain,
        outbound: outbound.clone(),
        local_ip: listen.ip(),
        contact,
        registrar_on_stream,
    };
    let account = Account::new(acc, setup)?;
    let io = AccountIo {
        stack: Arc::new(stack),
        aor,
        display_name: acc.display_name.clone(),
        outbound,
        credentials,
        registrar: registrar.clone(),
        registration: Some(registration),
    };
    Ok(OpenAccount {
        account,
        io,
        incoming,
        dialog_events,
        watched,
        rebind,
    })
}
