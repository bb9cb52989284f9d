//! What TLS trusts: the system's root certificates (the OS store through `rustls-native-certs`;
//! on Linux `/etc/ssl/certs`, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set), plus the CA file an
//! account names (`tls_ca_file`, e.g. a PBX's private CA). So a provider with a public
//! certificate (Twilio, a hosted PBX) is trusted out of the box, and verification is never
//! switched off. The system roots are read once per process; a root that rustls cannot use is
//! left out (with a log line) rather than failing every connection.

use base64::Engine;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;
use std::sync::OnceLock;

static SYSTEM: OnceLock<Vec<u8>> = OnceLock::new();

/// The error for a TLS connection to `target` (`server` as the user named it) that failed with
/// `detail`: the certificate problem named; a certificate refused for its unknown issuer is
/// looked at once more to tell whether it is self-signed.
pub(crate) async fn tls_error(
    target: &rsipstack::transport::SipAddr,
    server: &str,
    detail: &str,
) -> crate::SipError {
    // The name the certificate is checked against: the host, without a port.
    let name = target.addr.host.to_string();
    let self_signed = is_unknown_issuer(detail) && peek::presents_self_signed(target, &name).await;
    let sentence = explain_failure(&name, detail, self_signed);
    if sentence == detail.trim() {
        crate::SipError::Tls {
            server: server.to_string(),
            detail: sentence,
        }
    } else {
        crate::SipError::Certificate {
            server: server.to_string(),
            detail: sentence,
        }
    }
}

fn is_unknown_issuer(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("unknownissuer") || d.contains("unknown issuer")
}

/// What went wrong setting up TLS with `server`, as a user reads it: the certificate problem
/// named (self-signed, unknown issuer, another name, expired, not yet valid, revoked), with what
/// to do; anything else as the TLS layer said it.
pub fn explain_failure(server: &str, detail: &str, self_signed: bool) -> String {
    let d = detail.to_ascii_lowercase();
    let named = if self_signed && is_unknown_issuer(detail) {
        Some(format!(
            "the certificate of {server} is self-signed (no authority vouches for it; \
             to trust it anyway, give it as tls_ca_file / --tls-ca)"
        ))
    } else if is_unknown_issuer(detail) {
        Some(format!(
            "the certificate of {server} is not signed by an authority this computer trusts (unknown issuer; \
             a self-signed or private-CA certificate needs its CA in tls_ca_file / --tls-ca)"
        ))
    } else if d.contains("notvalidforname") || d.contains("not valid for name") {
        Some(format!(
            "the certificate presented is not valid for the name {server} (wrong name)"
        ))
    } else if d.contains("notvalidyet") || d.contains("not valid yet") {
        Some(format!(
            "the certificate of {server} is not valid yet (check this computer's date and time)"
        ))
    } else if d.contains("expired") {
        Some(format!("the certificate of {server} has expired"))
    } else if d.contains("revoked") {
        Some(format!("the certificate of {server} has been revoked"))
    } else if d.contains("badsignature") || d.contains("unsupportedsignaturealgorithm") {
        Some(format!(
            "the certificate of {server} has a signature that cannot be checked"
        ))
    } else {
        None
    };
    match named {
        Some(sentence) => format!("{sentence} [{}]", detail.trim()),
        None => detail.trim().to_string(),
    }
}

/// The certificates to trust, as PEM: the system's roots, then `extra` (an account's CA file).
pub fn trusted_pem(extra: Option<&[u8]>) -> Vec<u8> {
    let mut pem = system_roots_pem().to_vec();
    if let Some(extra) = extra {
        pem.extend_from_slice(extra);
        if !extra.ends_with(b"\n") {
            pem.push(b'\n');
        }
    }
    pem
}

/// A rustls client configuration that trusts the system's roots and `extra` (an account's CA
/// file, PEM), on ring (the process's one crypto provider): for TLS connections other than
/// SIP's, e.g. to a TURN server (`turns:`).
pub fn client_config(extra: Option<&[u8]>) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&trusted_pem(extra)) {
        let cert = cert.map_err(|e| format!("the CA file cannot be read as PEM: {e}"))?;
        // One unusable root must not break every connection (the system's were checked).
        let _ = roots.add(cert);
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS cannot start: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

/// How many system roots were found usable (for the log and tests).
pub fn system_root_count() -> usize {
    String::from_utf8_lossy(system_roots_pem())
        .matches("-----BEGIN CERTIFICATE-----")
        .count()
}

fn system_roots_pem() -> &'static [u8] {
    SYSTEM.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!("system trust roots: {e}");
        }
        let mut pem = Vec::new();
        let mut skipped = 0;
        for cert in found.certs {
            // Only what rustls can take as a trust anchor (one bad root must not break TLS).
            if RootCertStore::empty().add(cert.clone()).is_err() {
                skipped += 1;
                continue;
            }
            pem_of(&cert, &mut pem);
        }
        if pem.is_empty() {
            tracing::warn!("no system trust roots found: TLS servers with public certificates will be refused (name a CA with tls_ca_file)");
        } else if skipped > 0 {
            tracing::info!("{skipped} system root certificate(s) rustls cannot use were left out");
        }
        pem
    })
}

/// Appends `cert` as a PEM block.
fn pem_of(cert: &CertificateDer<'_>, out: &mut Vec<u8>) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END CERTIFICATE-----\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn the_system_roots_and_an_accounts_ca_are_trusted_together() {
        let extra = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
        let pem = trusted_pem(Some(extra));
        let text = String::from_utf8(pem.clone()).unwrap();
        assert!(
            text.ends_with("-----END CERTIFICATE-----\n"),
            "the account's CA comes last, whole"
        );
        assert_eq!(
            text.matches("BEGIN CERTIFICATE").count(),
            system_root_count() + 1
        );
        // Every system root written reads back as the same certificate.
        let found = rustls_native_certs::load_native_certs().certs;
        let back: Vec<CertificateDer> = CertificateDer::pem_slice_iter(system_roots_pem())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back.len(), system_root_count());
        assert!(back.iter().all(|c| found.contains(c)));
    }
}

/// A second look at a certificate verification refused: one more handshake whose verifier keeps
/// the server's certificate and ends it; the certificate is self-signed if it verifies with
/// itself as the only trust anchor. No data is sent on this connection.
mod peek {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::client::WebPkiServerVerifier;
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[derive(Debug)]
    struct Keep {
        seen: Mutex<Option<CertificateDer<'static>>>,
        provider: Arc<CryptoProvider>,
    }

    impl ServerCertVerifier for Keep {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            *self.seen.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(end_entity.clone().into_owned());
            Err(rustls::Error::General("looked at, not trusted".into()))
        }

        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    async fn address(target: &rsipstack::transport::SipAddr) -> Option<SocketAddr> {
        // The transport's default port: 5061 for TLS, 443 for WSS.
        let default = target
            .r#type
            .map(|t| t.default_port().value())
            .unwrap_or(5061);
        let port = target
            .addr
            .port
            .as_ref()
            .map(|p| p.value())
            .unwrap_or(default);
        match &target.addr.host {
            rsipstack::sip::Host::IpAddr(ip) => Some(SocketAddr::new(*ip, port)),
            rsipstack::sip::Host::Domain(d) => tokio::net::lookup_host((d.to_string(), port))
                .await
                .ok()?
                .next(),
        }
    }

    pub(super) async fn presents_self_signed(
        target: &rsipstack::transport::SipAddr,
        server: &str,
    ) -> bool {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let keep = Arc::new(Keep {
            seen: Mutex::new(None),
            provider: provider.clone(),
        });
        let Ok(config) = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
        else {
            return false;
        };
        let config = config
            .dangerous()
            .with_custom_certificate_verifier(keep.clone())
            .with_no_client_auth();
        let Ok(name) = ServerName::try_from(server.to_string()) else {
            return false;
        };
        let Some(addr) = address(target).await else {
            return false;
        };
        let within = Duration::from_secs(3);
        let Ok(Ok(tcp)) = tokio::time::timeout(within, tokio::net::TcpStream::connect(addr)).await
        else {
            return false;
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let _ = tokio::time::timeout(within, connector.connect(name.clone(), tcp)).await;
        let Some(cert) = keep.seen.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return false;
        };
        let mut roots = RootCertStore::empty();
        if roots.add(cert.clone()).is_err() {
            return false;
        }
        let Ok(verifier) =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build()
        else {
            return false;
        };
        match verifier.verify_server_cert(&cert, &[], &name, &[], UnixTime::now()) {
            Ok(_) => true,
            // A path to itself was found; the certificate is faulty in another way as well.
            Err(rustls::Error::InvalidCertificate(e)) => !matches!(
                e,
                CertificateError::UnknownIssuer | CertificateError::BadSignature
            ),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod explain_tests {
    use super::explain_failure;

    #[test]
    fn certificate_failures_are_named() {
        // As rustls words them (through rsipstack's transport error).
        let cases = [
            ("invalid peer certificate: UnknownIssuer", "not signed by an authority this computer trusts"),
            ("invalid peer certificate: NotValidForNameContext { expected: DnsName(\"pbx.example\"), presented: [] }", "not valid for the name"),
            ("invalid peer certificate: ExpiredContext { time: UnixTime(1), not_after: UnixTime(0) }", "has expired"),
            ("invalid peer certificate: NotValidYetContext { time: UnixTime(0), not_before: UnixTime(1) }", "not valid yet"),
            ("invalid peer certificate: Revoked", "revoked"),
        ];
        for (detail, says) in cases {
            let sentence = explain_failure("pbx.example", detail, false);
            assert!(
                sentence.contains(says) && sentence.contains("pbx.example"),
                "{detail} -> {sentence}"
            );
        }
        assert_eq!(
            explain_failure("pbx.example", " connection reset ", false),
            "connection reset"
        );
        let own = explain_failure(
            "pbx.example",
            "invalid peer certificate: UnknownIssuer",
            true,
        );
        assert!(own.contains("is self-signed"), "{own}");
        // Only an unknown issuer can be put down to a self-signed certificate.
        assert!(
            explain_failure("pbx.example", "invalid peer certificate: Expired", true)
                .contains("has expired")
        );
    }
}
