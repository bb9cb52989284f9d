//! One SIP identity of the phone as the core sees it: its addresses, its registration state
//! machine, its park orbits. The password and the SIP stack stay with the driver.

use crate::api::RegistrationState;
use crate::api::{AccountConfig, MediaEncryption, PhoneError, TransferRequests};
use crate::core::io::IceServerNames;
use crate::core::orbits::Orbits;
use crate::core::registration::{KeepAlive, RegistrationCore};
use crate::dialling::CallerId;
use crate::routing::Router;
use hookflash_sip::sdes::Policy;
use hookflash_sip::SipUri;
use std::net::IpAddr;

#[derive(Debug)]
pub struct Account {
    pub aor: SipUri,
    /// As configured (events and history name the account so).
    pub aor_text: String,
    pub domain: String,
    pub display_name: Option<String>,
    /// Where out-of-dialog requests go when not straight to the target.
    pub outbound: Option<SipUri>,
    pub register_enabled: bool,
    /// The address calls' media is offered on.
    pub local_ip: IpAddr,
    /// Our Contact on UDP (over TCP/TLS the connection's own address is used instead).
    pub contact: SipUri,
    pub registration: RegistrationCore,
    pub registration_state: RegistrationState,
    /// The address registered when it is not our own (the registrar saw us behind NAT).
    pub public_address: Option<std::net::SocketAddr>,
    /// Server park orbit slots and their subscriptions (None without `[account.shared_park]`).
    pub orbits: Option<Orbits>,
    /// The account's own routing rules (None: the phone's).
    pub router: Option<Router>,
    /// The caller IDs its calls may present (None: the dialling plan's).
    pub caller_ids: Option<Vec<CallerId>>,
    /// When its calls' media is encrypted (`sdes.rs`).
    pub srtp: Policy,
    /// Its offers ask for DTLS-SRTP (`dtls_srtp.rs`) rather than SDES keys.
    pub dtls: bool,
    /// Its offers carry ICE (`crates/sip/src/ice.rs`).
    pub ice: bool,
    /// The STUN/TURN servers its ICE calls gather candidates from (None: host candidates only).
    pub ice_servers: Option<IceServerNames>,
    /// What the far end's REFER does (`being_transferred.rs`).
    pub transfer_requests: TransferRequests,
}

/// What the driver learned opening an account (parsed addresses, the local address).
#[derive(Debug, Clone)]
pub struct AccountSetup {
    pub aor: SipUri,
    pub domain: String,
    pub outbound: Option<SipUri>,
    pub local_ip: IpAddr,
    pub contact: SipUri,
    /// The registrar is reached over TCP/TLS (a connection to watch) rather than UDP.
    pub registrar_on_stream: bool,
}

impl Account {
    pub fn new(config: &AccountConfig, setup: AccountSetup) -> Result<Account, PhoneError> {
        let orbits = Orbits::new(config, &setup.domain)?;
        let router = match &config.routing {
            Some(r) => Some(r.compile().map_err(|e| PhoneError::InvalidInput {
                what: "account".into(),
                detail: format!("{}: routing: {e}", config.aor.trim()),
            })?),
            None => None,
        };
        Ok(Account {
            aor: setup.aor,
            aor_text: config.aor.clone(),
            domain: setup.domain,
            display_name: config.display_name.clone(),
            outbound: setup.outbound,
            register_enabled: config.register,
            local_ip: setup.local_ip,
            contact: setup.contact,
            registration: RegistrationCore::new(config.expires.max(1)).with_keepalive(
                KeepAlive::every(setup.registrar_on_stream, config.keep_alive_secs),
            ),
            registration_state: RegistrationState::Unregistered,
            public_address: None,
            orbits,
            router,
            caller_ids: config.caller_ids.clone(),
            srtp: match (config.media_encryption, config.require_encryption) {
                (MediaEncryption::None, _) => Policy::Off,
                (MediaEncryption::Sdes | MediaEncryption::Dtls, false) => Policy::Optional,
                (MediaEncryption::Sdes | MediaEncryption::Dtls, true) => Policy::Mandatory,
            },
            dtls: config.media_encryption == MediaEncryption::Dtls,
            ice: config.ice,
            ice_servers: (config.stun_server.is_some() || config.turn.is_some()).then(|| {
                IceServerNames {
                    stun: config.stun_server.clone(),
                    turn: config.turn.clone(),
                    tls_ca_file: config.tls_ca_file.clone(),
                }
            }),
            transfer_requests: config.transfer_requests,
        })
    }

    /// Whether `aor` names this account (as configured, or its `sip:user@host` form).
    pub fn is_named(&self, aor: &str) -> bool {
        let wanted = aor.trim();
        self.aor_text == wanted || self.aor.bare().to_string() == wanted
    }
}
