//! DTLS-SRTP (RFC 5763, RFC 5764) for one component of a stream (the RTP socket, or the RTCP
//! socket when RTCP is not muxed): the DTLS 1.2 handshake that authenticates the far end by the
//! certificate fingerprint its SDP named and exports the SRTP keys. webrtc-rs's sans-I/O
//! `rtc-dtls` runs the handshake (no cryptography of our own); this file feeds it datagrams and
//! the time, hands back what to send, checks the fingerprint and cuts the exported keying
//! material into our [`SrtpKeys`].
//!
//! The phone has one certificate (a self-signed ECDSA P-256 one made at first use, [`identity`]);
//! its SHA-256 fingerprint goes into every SDP that offers or answers DTLS-SRTP. A peer is
//! trusted when the certificate it presents hashes to a fingerprint from its SDP: a third party
//! on the path cannot complete the handshake, so it can neither read nor inject media.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::BytesMut;
use rtc_dtls::config::{ClientAuthType, ConfigBuilder, ExtendedMasterSecretType, HandshakeConfig};
use rtc_dtls::crypto::Certificate;
use rtc_dtls::endpoint::{Endpoint, EndpointEvent};
use rtc_dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use rtc_shared::TransportProtocol;
use sha2::Digest;

use crate::stream::srtp::{SrtpKeys, SrtpSuite, KEY_LEN};

/// Who starts the handshake (RFC 5763 5: `a=setup:active` is the DTLS client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtlsRole {
    Client,
    Server,
}

/// A certificate fingerprint from the far end's SDP (`a=fingerprint`, RFC 8122).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// The hash function's name as the SDP writes it, lower case: `sha-256`, `sha-384`, `sha-512`, `sha-1`.
    pub hash: String,
    pub value: Vec<u8>,
}

impl Fingerprint {
    /// The fingerprint of a DER certificate with `hash`; `None` for a hash we do not compute.
    pub fn of(hash: &str, der: &[u8]) -> Option<Fingerprint> {
        let value = match hash {
            "sha-256" => sha2::Sha256::digest(der).to_vec(),
            "sha-384" => sha2::Sha384::digest(der).to_vec(),
            "sha-512" => sha2::Sha512::digest(der).to_vec(),
            _ => return None,
        };
        Some(Fingerprint {
            hash: hash.to_string(),
            value,
        })
    }
}

/// What the stream needs to run DTLS-SRTP: our role and the fingerprints the far end's SDP gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DtlsParams {
    pub role: DtlsRole,
    pub remote_fingerprints: Vec<Fingerprint>,
}

/// The phone's DTLS certificate and its fingerprint.
pub struct DtlsIdentity {
    certificate: Certificate,
    fingerprint: Fingerprint,
}

impl fmt::Debug for DtlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsIdentity")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl DtlsIdentity {
    /// The SHA-256 fingerprint the SDP advertises.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }
}

fn provider() -> Result<Arc<dyn rtc_dtls::crypto_provider::RTCCryptoProvider>, String> {
    rtc_dtls::crypto_provider::default_provider()
        .map_err(|e| format!("DTLS: no crypto provider: {e}"))
}

/// The phone's certificate, made at first use and kept for the life of the process.
pub fn identity() -> Result<&'static DtlsIdentity, String> {
    static IDENTITY: OnceLock<Result<DtlsIdentity, String>> = OnceLock::new();
    IDENTITY
        .get_or_init(|| {
            let provider = provider()?;
            let certificate =
                Certificate::generate_self_signed(vec!["hookflash".to_string()], provider.crypto())
                    .map_err(|e| format!("DTLS: cannot make a certificate: {e}"))?;
            let der = certificate
                .certificate
                .first()
                .ok_or("DTLS: the certificate is empty")?;
            let fingerprint = Fingerprint::of("sha-256", der.as_ref()).ok_or("DTLS: no SHA-256")?;
            Ok(DtlsIdentity {
                certificate,
                fingerprint,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// How the handshake of one component stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DtlsState {
    Handshaking,
    /// Keys exported: media flows encrypted.
    Connected,
    /// The handshake failed (wrong fingerprint, no common profile, timed out): nothing is sent
    /// or received on this component.
    Failed(String),
}

/// One component's DTLS association, without I/O: fed datagrams and the time.
pub struct DtlsHandshake {
    endpoint: Endpoint,
    role: DtlsRole,
    /// The client's server; for a server, the address whose handshake completed.
    peer: Option<SocketAddr>,
    client_config: Option<Arc<HandshakeConfig>>,
    keys: Option<SrtpKeys>,
    state: DtlsState,
}

impl fmt::Debug for DtlsHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsHandshake")
            .field("role", &self.role)
            .field("peer", &self.peer)
            .field("state", &self.state)
            .finish()
    }
}

/// A DTLS record (RFC 7983 demultiplexing: first byte 20..=63), not RTP, RTCP or STUN.
pub fn is_dtls(packet: &[u8]) -> bool {
    packet.first().is_some_and(|b| (20..=63).contains(b))
}

fn config(params: &DtlsParams, is_client: bool) -> Result<HandshakeConfig, String> {
    let me = identity()?;
    let wanted = params.remote_fingerprints.clone();
    if !wanted
        .iter()
        .any(|f| Fingerprint::of(&f.hash, b"").is_some())
    {
        let hashes: Vec<&str> = wanted.iter().map(|f| f.hash.as_str()).collect();
        return Err(format!(
            "the far end's certificate fingerprint uses {} (we check sha-256, sha-384 and sha-512)",
            if hashes.is_empty() {
                "nothing".to_string()
            } else {
                hashes.join(", ")
            }
        ));
    }
    let verify: rtc_dtls::config::VerifyPeerCertificateFn =
        Arc::new(move |certs: &[Vec<u8>], _| {
            let Some(leaf) = certs.first() else {
                return Err(rtc_shared::error::Error::Other(
                    "the far end sent no certificate".into(),
                ));
            };
            if wanted
                .iter()
                .any(|f| Fingerprint::of(&f.hash, leaf).is_some_and(|ours| ours.value == f.value))
            {
                Ok(())
            } else {
                Err(rtc_shared::error::Error::Other(
                    "the far end's certificate does not match the fingerprint in its SDP".into(),
                ))
            }
        });
    ConfigBuilder::default()
        .with_crypto_provider(provider()?)
        .with_certificates(vec![me.certificate.clone()])
        .with_srtp_protection_profiles(vec![
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_32,
        ])
        .with_extended_master_secret(ExtendedMasterSecretType::Request)
        // Self-signed certificates: trusted by fingerprint, not by a CA chain.
        .with_insecure_skip_verify(true)
        .with_client_auth(ClientAuthType::RequireAnyClientCert)
        .with_verify_peer_certificate(Some(verify))
        .build(is_client, None)
        .map_err(|e| format!("DTLS: {e}"))
}

/// RFC 5764 4.2: the exported material is client key | server key | client salt | server salt.
fn cut_keys(material: &[u8], suite: SrtpSuite, is_client: bool) -> Option<SrtpKeys> {
    const KEY: usize = 16;
    const SALT: usize = KEY_LEN - KEY;
    if material.len() < 2 * KEY_LEN {
        return None;
    }
    let (client_key, rest) = material.split_at(KEY);
    let (server_key, rest) = rest.split_at(KEY);
    let (client_salt, rest) = rest.split_at(SALT);
    let server_salt = &rest[..SALT];
    let join = |k: &[u8], s: &[u8]| {
        let mut out = [0u8; KEY_LEN];
        out[..KEY].copy_from_slice(k);
        out[KEY..].copy_from_slice(s);
        out
    };
    let (client, server) = (join(client_key, client_salt), join(server_key, server_salt));
    Some(if is_client {
        SrtpKeys {
            suite,
            local: client,
            remote: server,
        }
    } else {
        SrtpKeys {
            suite,
            local: server,
            remote: client,
        }
    })
}

impl DtlsHandshake {
    /// A handshake in `role` on a socket bound to `local`; a client starts with [`Self::start`].
    pub fn new(params: &DtlsParams, local: SocketAddr) -> Result<DtlsHandshake, String> {
        let is_client = params.role == DtlsRole::Client;
        let cfg = Arc::new(config(params, is_client)?);
        let (server_config, client_config) = if is_client {
            (None, Some(cfg))
        } else {
            (Some(cfg), None)
        };
        Ok(DtlsHandshake {
            endpoint: Endpoint::new(local, TransportProtocol::UDP, server_config),
            role: params.role,
            peer: None,
            client_config,
            keys: None,
            state: DtlsState::Handshaking,
        })
    }

    pub fn role(&self) -> DtlsRole {
        self.role
    }

    pub fn state(&self) -> &DtlsState {
        &self.state
    }

    /// The SRTP keys, once the handshake is done.
    pub fn keys(&self) -> Option<&SrtpKeys> {
        self.keys.as_ref()
    }

    /// As the client: sends the ClientHello to `to` (the address the far end's SDP named).
    pub fn start(&mut self, now: Instant, to: SocketAddr) {
        let Some(cfg) = self.client_config.clone() else {
            return;
        };
        if self.peer.is_some() {
            return;
        }
        self.peer = Some(to);
        if let Err(e) = self.endpoint.connect(now, to, cfg, None) {
            self.state = DtlsState::Failed(format!("DTLS: cannot start the handshake: {e}"));
        }
    }

    /// A DTLS datagram from `from`. Returns true when this datagram completed the handshake.
    pub fn handle(&mut self, now: Instant, from: SocketAddr, data: &[u8]) -> bool {
        if matches!(self.state, DtlsState::Failed(_)) {
            return false;
        }
        // A client has one association, with the address the SDP named; the server's flights
        // may come from another of its addresses (a host that advertises its LAN address
        // answers from loopback): they go to that association all the same. Who may complete
        // it is decided by the certificate, not by the address.
        let from = match (self.role, self.peer) {
            (DtlsRole::Client, Some(peer)) => peer,
            (DtlsRole::Client, None) => return false,
            (DtlsRole::Server, _) => from,
        };
        match self.endpoint.read(now, from, None, BytesMut::from(data)) {
            Ok(events) => {
                if self.keys.is_none()
                    && events
                        .iter()
                        .any(|e| matches!(e, EndpointEvent::HandshakeComplete))
                {
                    return self.complete(from);
                }
                false
            }
            Err(e) => {
                // A server may see junk from strangers: only its peer's failure counts.
                if self.role == DtlsRole::Client
                    || self.keys.is_none() && self.endpoint.get_connection_state(from).is_some()
                {
                    let text = e.to_string();
                    if self.role == DtlsRole::Client
                        || text.contains("fingerprint")
                        || text.contains("certificate")
                    {
                        self.state = DtlsState::Failed(format!("DTLS handshake failed: {text}"));
                    }
                }
                false
            }
        }
    }

    fn complete(&mut self, from: SocketAddr) -> bool {
        let Some(state) = self.endpoint.get_connection_state(from) else {
            return false;
        };
        let suite = match state.srtp_protection_profile() {
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80 => SrtpSuite::AesCm128HmacSha1_80,
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_32 => SrtpSuite::AesCm128HmacSha1_32,
            other => {
                self.state = DtlsState::Failed(format!(
                    "DTLS: the far end chose an SRTP profile we do not run ({other:?})"
                ));
                return false;
            }
        };
        let material = match state.export_keying_material("EXTRACTOR-dtls_srtp", &[], 2 * KEY_LEN) {
            Ok(m) => m,
            Err(e) => {
                self.state = DtlsState::Failed(format!("DTLS: no keys from the handshake: {e}"));
                return false;
            }
        };
        match cut_keys(material.as_ref(), suite, self.role == DtlsRole::Client) {
            Some(keys) => {
                self.keys = Some(keys);
                self.peer = Some(from);
                self.state = DtlsState::Connected;
                true
            }
            None => false,
        }
    }

    /// The next datagram to send: where, and what.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.endpoint
            .poll_transmit()
            .map(|t| (t.transport.peer_addr, t.message.to_vec()))
    }

    /// When [`Self::handle_timeout`] is next due (handshake retransmission).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.keys.is_some() || matches!(self.state, DtlsState::Failed(_)) {
            return None;
        }
        let peers: Vec<SocketAddr> = self.endpoint.get_connections_keys().copied().collect();
        peers
            .iter()
            .filter_map(|p| self.endpoint.poll_timeout(p))
            .min()
    }

    /// Retransmits what is due at `now`; a handshake out of retransmissions fails.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.keys.is_some() {
            return;
        }
        let peers: Vec<SocketAddr> = self.endpoint.get_connections_keys().copied().collect();
        for p in peers {
            if let Err(e) = self.endpoint.handle_timeout(p, now) {
                if self.role == DtlsRole::Client {
                    self.state =
                        DtlsState::Failed(format!("DTLS handshake with {p} timed out: {e}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn ours() -> Vec<Fingerprint> {
        vec![identity().unwrap().fingerprint().clone()]
    }

    /// Moves datagrams both ways until neither has anything to send; returns what arrived on each side.
    fn exchange(client: &mut DtlsHandshake, server: &mut DtlsHandshake, now: Instant) {
        for _ in 0..20 {
            let mut moved = false;
            while let Some((to, data)) = client.poll_transmit() {
                assert_eq!(to, addr(4000));
                server.handle(now, addr(5000), &data);
                moved = true;
            }
            while let Some((to, data)) = server.poll_transmit() {
                assert_eq!(to, addr(5000));
                client.handle(now, addr(4000), &data);
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }

    #[test]
    fn a_handshake_gives_both_sides_the_same_keys_crosswise() {
        let now = Instant::now();
        let mut client = DtlsHandshake::new(
            &DtlsParams {
                role: DtlsRole::Client,
                remote_fingerprints: ours(),
            },
            addr(5000),
        )
        .unwrap();
        let mut server = DtlsHandshake::new(
            &DtlsParams {
                role: DtlsRole::Server,
                remote_fingerprints: ours(),
            },
            addr(4000),
        )
        .unwrap();
        client.start(now, addr(4000));
        exchange(&mut client, &mut server, now);
        assert_eq!(
            (client.state(), server.state()),
            (&DtlsState::Connected, &DtlsState::Connected)
        );
        let (c, s) = (client.keys().unwrap(), server.keys().unwrap());
        assert_eq!((c.local, c.remote), (s.remote, s.local));
        assert_ne!(c.local, c.remote);
        assert_eq!(c.suite, SrtpSuite::AesCm128HmacSha1_80);
    }

    #[test]
    fn a_certificate_that_is_not_the_one_in_the_sdp_fails_the_handshake() {
        let now = Instant::now();
        let wrong = vec![Fingerprint {
            hash: "sha-256".into(),
            value: vec![7; 32],
        }];
        let mut client = DtlsHandshake::new(
            &DtlsParams {
                role: DtlsRole::Client,
                remote_fingerprints: wrong,
            },
            addr(5000),
        )
        .unwrap();
        let mut server = DtlsHandshake::new(
            &DtlsParams {
                role: DtlsRole::Server,
                remote_fingerprints: ours(),
            },
            addr(4000),
        )
        .unwrap();
        client.start(now, addr(4000));
        exchange(&mut client, &mut server, now);
        assert!(client.keys().is_none() && server.keys().is_none());
        assert!(
            matches!(client.state(), DtlsState::Failed(_)),
            "{:?}",
            client.state()
        );
    }

    #[test]
    fn a_fingerprint_hash_we_cannot_check_is_refused_up_front() {
        let md5 = vec![Fingerprint {
            hash: "md5".into(),
            value: vec![1; 16],
        }];
        let e = DtlsHandshake::new(
            &DtlsParams {
                role: DtlsRole::Client,
                remote_fingerprints: md5,
            },
            addr(5000),
        )
        .unwrap_err();
        assert!(e.contains("md5"), "{e}");
    }

    #[test]
    fn the_client_retransmits_until_the_server_answers() {
        let now = Instant::now();
        let mut client = DtlsHandshake::new(
            &DtlsParams {
                role: DtlsRole::Client,
                remote_fingerprints: ours(),
            },
            addr(5000),
        )
        .unwrap();
        client.start(now, addr(4000));
        let first = client.poll_transmit().expect("a ClientHello");
        assert!(is_dtls(&first.1));
        while client.poll_transmit().is_some() {}
        let due = client.poll_timeout().expect("a retransmission timer");
        client.handle_timeout(due + Duration::from_millis(1));
        let again = client.poll_transmit().expect("the ClientHello again");
        assert_eq!(again.0, addr(4000));
    }

    #[test]
    fn the_servers_flights_count_from_another_of_its_addresses() {
        let now = Instant::now();
        let mut client = DtlsHandshake::new(
            &DtlsParams {
                role: DtlsRole::Client,
                remote_fingerprints: ours(),
            },
            addr(5000),
        )
        .unwrap();
        let mut server = DtlsHandshake::new(
            &DtlsParams {
                role: DtlsRole::Server,
                remote_fingerprints: ours(),
            },
            addr(4000),
        )
        .unwrap();
        // The SDP named 192.0.2.2:4000; the server answers from 127.0.0.1:4000.
        let named = SocketAddr::from(([192, 0, 2, 2], 4000));
        client.start(now, named);
        for _ in 0..20 {
            while let Some((to, data)) = client.poll_transmit() {
                assert_eq!(to, named);
                server.handle(now, addr(5000), &data);
            }
            while let Some((_, data)) = server.poll_transmit() {
                client.handle(now, addr(4000), &data);
            }
        }
        assert_eq!(
            (client.state(), server.state()),
            (&DtlsState::Connected, &DtlsState::Connected)
        );
    }

    #[test]
    fn keys_are_cut_as_rfc_5764_lays_them_out() {
        let material: Vec<u8> = (0..60).collect();
        let c = cut_keys(&material, SrtpSuite::AesCm128HmacSha1_80, true).unwrap();
        // client key 0..16, server key 16..32, client salt 32..46, server salt 46..60
        assert_eq!(&c.local[..16], &material[0..16]);
        assert_eq!(&c.local[16..], &material[32..46]);
        assert_eq!(&c.remote[..16], &material[16..32]);
        assert_eq!(&c.remote[16..], &material[46..60]);
        let s = cut_keys(&material, SrtpSuite::AesCm128HmacSha1_80, false).unwrap();
        assert_eq!((s.local, s.remote), (c.remote, c.local));
    }
}
