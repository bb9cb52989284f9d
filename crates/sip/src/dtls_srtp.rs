//! DTLS-SRTP as the SDP carries it (RFC 5763, RFC 8122, RFC 4145): the `UDP/TLS/RTP/SAVP` stream,
//! the certificate fingerprint (`a=fingerprint`) and who opens the DTLS connection
//! (`a=setup`). Pure: attributes in, roles and decisions out; the handshake itself runs in the
//! media crate's transport (`crates/media/src/stream/dtls.rs`, webrtc-rs's `rtc-dtls`).
//!
//! Roles: an offer says `actpass` (either); the answer picks `active` (it opens the connection:
//! the DTLS client) — as RFC 5763 5 asks of an answerer — or `passive`. An answer without
//! `a=setup` means `active` (RFC 4145 4).

use std::fmt;

/// A certificate fingerprint (`a=fingerprint:<hash> <hex:hex:...>`).
#[derive(Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The hash function, lower case: `sha-256`, `sha-1`, ...
    pub hash: String,
    pub value: Vec<u8>,
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_attribute())
    }
}

impl Fingerprint {
    /// The attribute value (after `a=fingerprint:`), upper-case hex pairs as RFC 8122 writes them.
    pub fn to_attribute(&self) -> String {
        let hex: Vec<String> = self.value.iter().map(|b| format!("{b:02X}")).collect();
        format!("{} {}", self.hash, hex.join(":"))
    }

    /// Reads an attribute value; `None` when it is not `<hash> <hex pairs separated by colons>`.
    pub fn parse(value: &str) -> Option<Fingerprint> {
        let mut it = value.split_whitespace();
        let hash = it.next()?.to_ascii_lowercase();
        let hex = it.next()?;
        if it.next().is_some() || hash.is_empty() || hex.len() > 3 * 64 {
            return None;
        }
        let value = hex
            .split(':')
            .map(|pair| {
                if pair.len() == 2 {
                    u8::from_str_radix(pair, 16).ok()
                } else {
                    None
                }
            })
            .collect::<Option<Vec<u8>>>()?;
        (value.len() >= 16).then_some(Fingerprint { hash, value })
    }
}

/// `a=setup` (RFC 4145 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    ActPass,
    Active,
    Passive,
    HoldConn,
}

impl Setup {
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::ActPass => "actpass",
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::HoldConn => "holdconn",
        }
    }

    pub fn parse(value: &str) -> Option<Setup> {
        [
            Setup::ActPass,
            Setup::Active,
            Setup::Passive,
            Setup::HoldConn,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(value.trim()))
    }
}

/// Our part in the DTLS handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// We open the connection (`active`).
    Client,
    /// We wait for the far end's (`passive`).
    Server,
}

/// What one side's SDP says about DTLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DtlsDescription {
    pub fingerprints: Vec<Fingerprint>,
    /// `None`: no `a=setup` line.
    pub setup: Option<Setup>,
}

/// What offer/answer agreed: our role and the fingerprints the far end's certificate must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreed {
    pub role: Role,
    pub remote_fingerprints: Vec<Fingerprint>,
}

/// Why DTLS-SRTP cannot be agreed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtlsError {
    #[error(
        "the other side asks for DTLS-SRTP but names no certificate fingerprint (a=fingerprint)"
    )]
    NoFingerprint,
    #[error("the other side asks for DTLS-SRTP with a=setup:holdconn (no connection)")]
    HoldConn,
    #[error("the other side answered with unencrypted media, but DTLS-SRTP was offered")]
    ClearAnswered,
    #[error("this phone has no DTLS certificate to answer a DTLS-SRTP offer with")]
    NoCertificate,
}

/// Our offer's DTLS attributes: our fingerprint, `actpass`.
pub fn offer(ours: &Fingerprint) -> DtlsDescription {
    DtlsDescription {
        fingerprints: vec![ours.clone()],
        setup: Some(Setup::ActPass),
    }
}

/// Our answer to a DTLS-SRTP offer (`theirs`): our attributes and what was agreed. We take the
/// client role unless the offerer insists on it (`active`).
pub fn answer(
    theirs: &DtlsDescription,
    ours: Option<&Fingerprint>,
) -> Result<(DtlsDescription, Agreed), DtlsError> {
    let ours = ours.ok_or(DtlsError::NoCertificate)?;
    if theirs.fingerprints.is_empty() {
        return Err(DtlsError::NoFingerprint);
    }
    let (setup, role) = match theirs.setup.unwrap_or(Setup::ActPass) {
        Setup::ActPass | Setup::Passive => (Setup::Active, Role::Client),
        Setup::Active => (Setup::Passive, Role::Server),
        Setup::HoldConn => return Err(DtlsError::HoldConn),
    };
    Ok((
        DtlsDescription {
            fingerprints: vec![ours.clone()],
            setup: Some(setup),
        },
        Agreed {
            role,
            remote_fingerprints: theirs.fingerprints.clone(),
        },
    ))
}

/// What the answer (`theirs`: its DTLS attributes, `None` when it answered without DTLS) to
/// our DTLS-SRTP offer agreed.
pub fn accept(theirs: Option<&DtlsDescription>) -> Result<Agreed, DtlsError> {
    let theirs = theirs.ok_or(DtlsError::ClearAnswered)?;
    if theirs.fingerprints.is_empty() {
        return Err(DtlsError::NoFingerprint);
    }
    let role = match theirs.setup.unwrap_or(Setup::Active) {
        Setup::Active => Role::Server,
        // `actpass` is not an answer (RFC 4145 4); read leniently as "you open it".
        Setup::Passive | Setup::ActPass => Role::Client,
        Setup::HoldConn => return Err(DtlsError::HoldConn),
    };
    Ok(Agreed {
        role,
        remote_fingerprints: theirs.fingerprints.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARESIP: &str = "sha-256 2E:29:0C:1B:CD:55:43:1E:9A:A2:7C:7B:AE:8B:DB:33:3D:20:E9:A2:1C:F0:6A:90:42:A5:0E:66:7F:77:E5:3D";

    fn fp(b: u8) -> Fingerprint {
        Fingerprint {
            hash: "sha-256".into(),
            value: vec![b; 32],
        }
    }

    #[test]
    fn fingerprints_are_read_and_written_as_rfc_8122_has_them() {
        let f = Fingerprint::parse(BARESIP).unwrap();
        assert_eq!(
            (f.hash.as_str(), f.value.len(), f.value[0], f.value[31]),
            ("sha-256", 32, 0x2E, 0x3D)
        );
        assert_eq!(f.to_attribute(), BARESIP);
        assert_eq!(
            Fingerprint::parse("SHA-1 aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd")
                .unwrap()
                .hash,
            "sha-1"
        );
        for bad in [
            "",
            "sha-256",
            "sha-256 2E:29:ZZ",
            "sha-256 2E29",
            "sha-256 2E:29 extra",
            "sha-256 2E:29:0C",
        ] {
            assert_eq!(Fingerprint::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Fingerprint::parse(&format!("sha-256 {}", vec!["AB"; 100].join(":"))),
            None,
            "too long"
        );
    }

    #[test]
    fn the_answerer_opens_the_connection_unless_the_offer_does() {
        let theirs = |setup| DtlsDescription {
            fingerprints: vec![fp(1)],
            setup,
        };
        let ours = fp(2);
        let (desc, agreed) = answer(&theirs(Some(Setup::ActPass)), Some(&ours)).unwrap();
        assert_eq!(
            (desc.setup, agreed.role),
            (Some(Setup::Active), Role::Client)
        );
        assert_eq!(
            (desc.fingerprints, agreed.remote_fingerprints),
            (vec![fp(2)], vec![fp(1)])
        );
        assert_eq!(
            answer(&theirs(None), Some(&ours)).unwrap().1.role,
            Role::Client
        );
        assert_eq!(
            answer(&theirs(Some(Setup::Passive)), Some(&ours))
                .unwrap()
                .1
                .role,
            Role::Client
        );
        let (desc, agreed) = answer(&theirs(Some(Setup::Active)), Some(&ours)).unwrap();
        assert_eq!(
            (desc.setup, agreed.role),
            (Some(Setup::Passive), Role::Server)
        );
        assert_eq!(
            answer(&theirs(Some(Setup::HoldConn)), Some(&ours)).unwrap_err(),
            DtlsError::HoldConn
        );
        assert_eq!(
            answer(
                &DtlsDescription {
                    fingerprints: vec![],
                    setup: None
                },
                Some(&ours)
            )
            .unwrap_err(),
            DtlsError::NoFingerprint
        );
        assert_eq!(
            answer(&theirs(None), None).unwrap_err(),
            DtlsError::NoCertificate
        );
    }

    #[test]
    fn an_answer_says_who_opens_the_connection() {
        let theirs = |setup| DtlsDescription {
            fingerprints: vec![fp(1)],
            setup,
        };
        assert_eq!(
            accept(Some(&theirs(Some(Setup::Active)))).unwrap().role,
            Role::Server
        );
        assert_eq!(
            accept(Some(&theirs(None))).unwrap().role,
            Role::Server,
            "no a=setup in an answer means active"
        );
        assert_eq!(
            accept(Some(&theirs(Some(Setup::Passive)))).unwrap().role,
            Role::Client
        );
        assert_eq!(accept(None).unwrap_err(), DtlsError::ClearAnswered);
        assert_eq!(offer(&fp(3)).setup, Some(Setup::ActPass));
    }
}
