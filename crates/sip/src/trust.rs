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

/// How many system roots were found usable (for the log and tests).
pub fn system_root_count() -> usize {
    String::from_utf8_lossy(system_roots_pem()).matches("-----BEGIN CERTIFICATE-----").count()
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
        assert!(text.ends_with("-----END CERTIFICATE-----\n"), "the account's CA comes last, whole");
        assert_eq!(text.matches("BEGIN CERTIFICATE").count(), system_root_count() + 1);
        // Every system root written reads back as the same certificate.
        let found = rustls_native_certs::load_native_certs().certs;
        let back: Vec<CertificateDer> = CertificateDer::pem_slice_iter(system_roots_pem()).collect::<Result<_, _>>().unwrap();
        assert_eq!(back.len(), system_root_count());
        assert!(back.iter().all(|c| found.contains(c)));
    }
}
