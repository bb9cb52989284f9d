//! SDES: SRTP keys carried in the SDP (RFC 4568 `a=crypto`), and the phone's rules for when a
//! call is encrypted. Pure: lines in, keys and decisions out; the encryption itself happens in
//! the media crate's transport (`crates/media/src/stream/srtp.rs`, webrtc-rs's `rtc-srtp`).
//!
//! What we do: the suites `AES_CM_128_HMAC_SHA1_80` and `AES_CM_128_HMAC_SHA1_32` with one
//! inline key each (no MKI, no key lifetime other than the default, no session parameters); a
//! line we cannot use is skipped, not an error, as RFC 4568 6.1 asks. We offer one line
//! (`_80`, tag 1); we answer the first offered line we can use with its tag and suite and our own
//! key.
//!
//! When a call is encrypted ([`Policy`]): `Off` offers clear RTP; `Optional` offers `RTP/AVP` with
//! a key and encrypts when the answer carries one (what baresip calls `srtp`); `Mandatory` offers
//! `RTP/SAVP` only and refuses clear media. An offer of `RTP/SAVP` is answered encrypted whatever
//! the policy (the far end insists, and we can); a clear offer is refused by `Mandatory`.

use base64::Engine;
use std::fmt;

/// The SRTP master key and salt of one direction: 16 + 14 bytes for the AES-128 suites.
pub const KEY_LEN: usize = 30;

/// An SRTP crypto suite we can use (RFC 4568 6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl Suite {
    pub fn name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    pub fn from_name(s: &str) -> Option<Suite> {
        [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32]
            .into_iter()
            .find(|x| x.name().eq_ignore_ascii_case(s))
    }
}

/// A master key and salt. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(pub [u8; KEY_LEN]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(***)")
    }
}

/// One `a=crypto` line we can use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crypto {
    pub tag: u32,
    pub suite: Suite,
    pub key: Key,
}

impl Crypto {
    /// The attribute value (after `a=crypto:`).
    pub fn to_attribute(&self) -> String {
        let inline = base64::engine::general_purpose::STANDARD.encode(self.key.0);
        format!("{} {} inline:{inline}", self.tag, self.suite.name())
    }

    /// Reads an attribute value; `None` for a line we cannot use (unknown suite, MKI, a key
    /// lifetime other than the default 2^31 or 2^48, several keys, session parameters, a key of
    /// the wrong length, not inline).
    pub fn parse(value: &str) -> Option<Crypto> {
        let mut it = value.split_whitespace();
        let tag: u32 = it.next()?.parse().ok().filter(|t| *t < 1_000_000_000)?;
        let suite = Suite::from_name(it.next()?)?;
        let params = it.next()?;
        if it.next().is_some() {
            // Session parameters (KDR, UNENCRYPTED_SRTP, ...): none of them is ours to honour.
            return None;
        }
        if params.contains(';') {
            return None; // several keys
        }
        let inline = params.strip_prefix("inline:")?;
        let mut parts = inline.split('|');
        let key = parts.next()?;
        for extra in parts {
            if extra.contains(':') {
                return None; // MKI
            }
            let lifetime_ok = matches!(extra, "2^31" | "2^48")
                || extra.parse::<u64>().is_ok_and(|n| n >= 1 << 31);
            if !lifetime_ok {
                return None;
            }
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(key).ok()?;
        let key: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(Crypto {
            tag,
            suite,
            key: Key(key),
        })
    }
}

/// When this side encrypts its calls' media.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Policy {
    /// Clear RTP offered; encrypted only when the far end insists (`RTP/SAVP`).
    #[default]
    Off,
    /// A key offered on `RTP/AVP`; encrypted when the answer carries one.
    Optional,
    /// `RTP/SAVP` only; clear media refused.
    Mandatory,
}

/// What an offer of ours carries: whether the `m=` line says `RTP/SAVP`, and our crypto lines.
pub fn offer(policy: Policy, ours: &Key) -> (bool, Vec<Crypto>) {
    match policy {
        Policy::Off => (false, Vec::new()),
        Policy::Optional | Policy::Mandatory => (
            policy == Policy::Mandatory,
            vec![Crypto {
                tag: 1,
                suite: Suite::AesCm128HmacSha1_80,
                key: ours.clone(),
            }],
        ),
    }
}

/// The keys of an encrypted call: the suite, ours (what we send with) and theirs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    pub suite: Suite,
    pub local: Key,
    pub remote: Key,
}

/// Why the media cannot be agreed on as far as encryption goes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionError {
    #[error("the other side offers only encrypted media (RTP/SAVP) with no key this phone can use (it does AES_CM_128_HMAC_SHA1_80 and _32 with SDES)")]
    NoUsableKey,
    #[error("the other side offers unencrypted media, and this account requires encryption")]
    ClearOffered,
    #[error(
        "the other side answered with unencrypted media, and this account requires encryption"
    )]
    ClearAnswered,
}

/// The answer to an offer (`secure`: its `m=` says `RTP/SAVP`; `theirs`: its usable crypto
/// lines): our `m=` protocol, our crypto line, and the call's keys (`None`: clear media).
pub fn answer(
    policy: Policy,
    secure: bool,
    theirs: &[Crypto],
    ours: &Key,
) -> Result<(bool, Vec<Crypto>, Option<Keys>), EncryptionError> {
    let wanted = secure || policy != Policy::Off;
    match theirs.first().filter(|_| wanted) {
        Some(t) => {
            let line = Crypto {
                tag: t.tag,
                suite: t.suite,
                key: ours.clone(),
            };
            let keys = Keys {
                suite: t.suite,
                local: ours.clone(),
                remote: t.key.clone(),
            };
            Ok((secure, vec![line], Some(keys)))
        }
        None if secure => Err(EncryptionError::NoUsableKey),
        None if policy == Policy::Mandatory => Err(EncryptionError::ClearOffered),
        None => Ok((false, Vec::new(), None)),
    }
}

/// What the answer to our offer (`offered`: our crypto lines) gives: the call's keys, or clear
/// media. The answer's line must name one of our tags with its suite.
pub fn accept(
    policy: Policy,
    offered: &[Crypto],
    answered: &[Crypto],
) -> Result<Option<Keys>, EncryptionError> {
    let chosen = answered.iter().find_map(|a| {
        offered
            .iter()
            .find(|o| o.tag == a.tag && o.suite == a.suite)
            .map(|o| (o, a))
    });
    match chosen {
        Some((o, a)) => Ok(Some(Keys {
            suite: o.suite,
            local: o.key.clone(),
            remote: a.key.clone(),
        })),
        None if policy == Policy::Mandatory => Err(EncryptionError::ClearAnswered),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: &str = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";

    fn key(b: u8) -> Key {
        Key([b; KEY_LEN])
    }

    #[test]
    fn reads_the_rfc_4568_example_and_writes_it_back() {
        let c = Crypto::parse(&format!(
            "1 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY}|2^20|1:4"
        ))
        .map(|c| c.tag);
        assert_eq!(c, None, "an MKI cannot be used");
        let c = Crypto::parse(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY}")).unwrap();
        assert_eq!((c.tag, c.suite), (1, Suite::AesCm128HmacSha1_80));
        assert_eq!(
            c.to_attribute(),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY}")
        );
        let c = Crypto::parse(&format!("2 aes_cm_128_hmac_sha1_32 inline:{RFC_KEY}|2^31")).unwrap();
        assert_eq!((c.tag, c.suite), (2, Suite::AesCm128HmacSha1_32));
    }

    #[test]
    fn lines_we_cannot_use_are_skipped() {
        for bad in [
            format!("1 AES_256_CM_HMAC_SHA1_80 inline:{RFC_KEY}"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY} UNENCRYPTED_SRTP"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY};inline:{RFC_KEY}"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY}|2^10"),
            "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=".to_string(),
            "1 AES_CM_128_HMAC_SHA1_80 inline:!!notbase64!!".to_string(),
            format!("x AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY}"),
            format!("1 AES_CM_128_HMAC_SHA1_80 uri:{RFC_KEY}"),
            "1 AES_CM_128_HMAC_SHA1_80".to_string(),
        ] {
            assert_eq!(Crypto::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn the_key_never_shows_in_debug() {
        let c = Crypto {
            tag: 1,
            suite: Suite::AesCm128HmacSha1_80,
            key: key(7),
        };
        let keys = Keys {
            suite: c.suite,
            local: key(7),
            remote: key(9),
        };
        for text in [format!("{c:?}"), format!("{keys:?}")] {
            assert!(!text.contains("7, 7") && !text.contains("BwcH"), "{text}");
            assert!(text.contains("***"), "{text}");
        }
    }

    #[test]
    fn what_we_offer_per_policy() {
        assert_eq!(offer(Policy::Off, &key(1)), (false, vec![]));
        let (secure, lines) = offer(Policy::Optional, &key(1));
        assert!(!secure);
        assert_eq!(
            lines,
            vec![Crypto {
                tag: 1,
                suite: Suite::AesCm128HmacSha1_80,
                key: key(1)
            }]
        );
        assert!(offer(Policy::Mandatory, &key(1)).0);
    }

    #[test]
    fn answers_take_the_first_usable_line_with_its_tag_and_our_key() {
        let theirs = vec![
            Crypto {
                tag: 3,
                suite: Suite::AesCm128HmacSha1_32,
                key: key(9),
            },
            Crypto {
                tag: 4,
                suite: Suite::AesCm128HmacSha1_80,
                key: key(8),
            },
        ];
        for policy in [Policy::Off, Policy::Optional, Policy::Mandatory] {
            let (secure, lines, keys) = answer(policy, true, &theirs, &key(1)).unwrap();
            assert!(secure, "an RTP/SAVP offer is answered RTP/SAVP");
            assert_eq!(
                lines,
                vec![Crypto {
                    tag: 3,
                    suite: Suite::AesCm128HmacSha1_32,
                    key: key(1)
                }]
            );
            assert_eq!(
                keys,
                Some(Keys {
                    suite: Suite::AesCm128HmacSha1_32,
                    local: key(1),
                    remote: key(9)
                })
            );
        }
        // A key on RTP/AVP: used unless encryption is off.
        assert_eq!(
            answer(Policy::Off, false, &theirs, &key(1)).unwrap(),
            (false, vec![], None)
        );
        let (secure, _, keys) = answer(Policy::Optional, false, &theirs, &key(1)).unwrap();
        assert!(!secure && keys.is_some());
    }

    #[test]
    fn clear_or_unusable_offers_are_refused_where_the_policy_says() {
        assert_eq!(
            answer(Policy::Off, true, &[], &key(1)),
            Err(EncryptionError::NoUsableKey)
        );
        assert_eq!(
            answer(Policy::Mandatory, false, &[], &key(1)),
            Err(EncryptionError::ClearOffered)
        );
        assert_eq!(
            answer(Policy::Optional, false, &[], &key(1)).unwrap(),
            (false, vec![], None)
        );
        assert!(EncryptionError::ClearOffered
            .to_string()
            .contains("requires encryption"));
    }

    #[test]
    fn an_answer_must_name_one_of_our_lines() {
        let ours = offer(Policy::Optional, &key(1)).1;
        let good = vec![Crypto {
            tag: 1,
            suite: Suite::AesCm128HmacSha1_80,
            key: key(5),
        }];
        assert_eq!(
            accept(Policy::Optional, &ours, &good).unwrap(),
            Some(Keys {
                suite: Suite::AesCm128HmacSha1_80,
                local: key(1),
                remote: key(5)
            })
        );
        let wrong_suite = vec![Crypto {
            tag: 1,
            suite: Suite::AesCm128HmacSha1_32,
            key: key(5),
        }];
        assert_eq!(accept(Policy::Optional, &ours, &wrong_suite).unwrap(), None);
        assert_eq!(
            accept(Policy::Mandatory, &ours, &wrong_suite),
            Err(EncryptionError::ClearAnswered)
        );
        assert_eq!(
            accept(Policy::Mandatory, &ours, &[]),
            Err(EncryptionError::ClearAnswered)
        );
    }
}
