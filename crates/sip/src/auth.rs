//! The one answer to `401 Unauthorized` / `407 Proxy Authentication Required`, for every request
//! an account sends (REGISTER, INVITE, SUBSCRIBE, REFER...). `digest.rs` does the maths; this
//! file decides whether and how to answer: which challenge (the strongest algorithm), whether
//! its realm belongs to the account, and when to stop (wrong password, endless challenges).
//! No I/O: the request paths hand it the challenges and add the header it returns.
//!
//! Whose realm is it? A digest answer proves the password to whoever asked, and lets them try
//! passwords offline, so the phone answers only realms of its own account: the realm set in the
//! account (`realm = "..."`), else the account's domain, its registrar's and outbound proxy's
//! hosts, and every realm its own registrar challenged a REGISTER with (learned then). A proxy on
//! a call's path asking for another realm is refused with a sentence that names both.

use crate::digest::{self, Challenge, DigestError, DigestResponse};
use std::sync::{Arc, Mutex};

/// An account's password and the realms it may be given to. Cheap to clone; clones share what
/// the registrar taught (the realms it challenged with).
#[derive(Clone)]
pub struct Credentials {
    auth_user: String,
    password: Option<String>,
    /// Set in the account: the only realm answered, even to the registrar.
    configured_realm: Option<String>,
    /// The account's domain, registrar host, outbound proxy host.
    home: Vec<String>,
    learned: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("auth_user", &self.auth_user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("configured_realm", &self.configured_realm)
            .field("home", &self.home)
            .finish()
    }
}

/// Who challenged the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    /// The account's own registrar, answering a REGISTER: its realm is the account's (and is
    /// learned) unless the account names another.
    Registrar,
    /// Anything on the path of any other request: only the account's realms are answered.
    Path,
}

/// Why a challenge was not answered; each reads as the end of a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthRefused {
    #[error("the server asks for a password and none is set")]
    NoPassword,
    #[error("no digest challenge this phone can answer{0}")]
    NoUsableChallenge(String),
    #[error(
        "the server asked for the password of realm \"{realm}\", which is not this account's ({ours}); \
         not answered (set the account's realm to \"{realm}\" if that server is yours)"
    )]
    ForeignRealm { realm: String, ours: String },
    #[error("wrong user name or password")]
    WrongCredentials,
    #[error("too many authentication challenges")]
    TooMany,
}

impl Credentials {
    /// `home`: the hosts of the account (domain, registrar, outbound proxy); empty entries are
    /// ignored.
    pub fn new(
        auth_user: &str,
        password: Option<String>,
        configured_realm: Option<String>,
        home: &[String],
    ) -> Credentials {
        Credentials {
            auth_user: auth_user.to_string(),
            password,
            configured_realm: configured_realm
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty()),
            home: home
                .iter()
                .map(|h| host_only(h))
                .filter(|h| !h.is_empty())
                .fold(Vec::new(), |mut all, h| {
                    if !all.contains(&h) {
                        all.push(h);
                    }
                    all
                }),
            learned: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn auth_user(&self) -> &str {
        &self.auth_user
    }

    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The realms answered for `asker` (for messages and tests).
    pub fn realms(&self) -> Vec<String> {
        if let Some(r) = &self.configured_realm {
            return vec![r.clone()];
        }
        let mut all = self.home.clone();
        for r in self.learned.lock().unwrap().iter() {
            if !all.iter().any(|a| a.eq_ignore_ascii_case(r)) {
                all.push(r.clone());
            }
        }
        all
    }

    fn accepts(&self, realm: &str, asker: Asker) -> bool {
        match (&self.configured_realm, asker) {
            (Some(ours), _) => ours.eq_ignore_ascii_case(realm),
            (None, Asker::Registrar) => true,
            (None, Asker::Path) => self.realms().iter().any(|r| r.eq_ignore_ascii_case(realm)),
        }
    }

    fn learn(&self, realm: &str) {
        let mut learned = self.learned.lock().unwrap();
        if !learned.iter().any(|r| r.eq_ignore_ascii_case(realm)) {
            learned.push(realm.to_string());
        }
    }
}

/// Every challenge of a 401/407 (each header may carry several), parsed or not.
pub fn challenges_of(resp: &rsipstack::sip::Response) -> Vec<Result<Challenge, DigestError>> {
    resp.headers
        .iter()
        .flat_map(|h| match h {
            rsipstack::sip::Header::WwwAuthenticate(v) => {
                digest::parse_challenges(v.value(), false)
            }
            rsipstack::sip::Header::ProxyAuthenticate(v) => {
                digest::parse_challenges(v.value(), true)
            }
            _ => Vec::new(),
        })
        .collect()
}

/// `host[:port]` or a URI → the host, lower-cased.
fn host_only(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("sips:")
        .or_else(|| s.strip_prefix("sip:"))
        .unwrap_or(s);
    let s = s.rsplit('@').next().unwrap_or(s);
    let s = s.split([';', '?', '>']).next().unwrap_or(s);
    let host = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        s.split(':').next().unwrap_or(s)
    };
    host.to_ascii_lowercase()
}

/// One request's authentication: the challenges answered so far. A new `Attempt` for every new
/// request (not for its authenticated retries).
#[derive(Debug, Default)]
pub struct Attempt {
    /// Realms answered in this attempt.
    answered: Vec<String>,
    rounds: u32,
}

/// How many challenged rounds one request may go through (a stale nonce needs a second).
const MAX_ROUNDS: u32 = 3;

impl Attempt {
    pub fn new() -> Attempt {
        Attempt::default()
    }

    /// The headers answering a 401/407 whose challenge headers parsed to `challenges`: one per
    /// realm of ours (the strongest challenge of each), or why none is sent. `digest_uri` is the
    /// Request-URI of the retried request, `body` its body, `cnonce` a fresh client nonce.
    #[allow(clippy::too_many_arguments)]
    pub fn answer(
        &mut self,
        creds: &Credentials,
        asker: Asker,
        challenges: &[Result<Challenge, DigestError>],
        method: &str,
        digest_uri: &str,
        body: &[u8],
        cnonce: &str,
    ) -> Result<Vec<DigestResponse>, AuthRefused> {
        let usable: Vec<&Challenge> = challenges.iter().filter_map(|c| c.as_ref().ok()).collect();
        if usable.is_empty() {
            let why = challenges
                .iter()
                .find_map(|c| c.as_ref().err())
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            return Err(AuthRefused::NoUsableChallenge(why));
        }
        let ours: Vec<&Challenge> = usable
            .iter()
            .copied()
            .filter(|c| creds.accepts(&c.realm, asker))
            .collect();
        if ours.is_empty() {
            return Err(AuthRefused::ForeignRealm {
                realm: usable[0].realm.clone(),
                ours: creds.realms().join(", "),
            });
        }
        let Some(password) = creds.password.as_deref() else {
            return Err(AuthRefused::NoPassword);
        };
        self.rounds += 1;
        if self.rounds > MAX_ROUNDS {
            return Err(AuthRefused::TooMany);
        }
        // The realms challenged, each answered with its strongest challenge.
        let mut realms: Vec<&str> = Vec::new();
        for c in &ours {
            if !realms.iter().any(|r| r.eq_ignore_ascii_case(&c.realm)) {
                realms.push(&c.realm);
            }
        }
        let mut headers = Vec::new();
        for realm in realms {
            let of_realm: Vec<Challenge> = ours
                .iter()
                .filter(|c| c.realm.eq_ignore_ascii_case(realm))
                .map(|c| (*c).clone())
                .collect();
            let ch = digest::choose(&of_realm).expect("at least one challenge per realm");
            let again = self.answered.iter().any(|r| r.eq_ignore_ascii_case(realm));
            if again && !ch.stale {
                // Answered once already and challenged again with a fresh nonce: the server
                // did not take the password.
                return Err(AuthRefused::WrongCredentials);
            }
            if !again {
                self.answered.push(realm.to_string());
            }
            if asker == Asker::Registrar {
                creds.learn(realm);
            }
            headers.push(digest::respond(
                ch,
                &creds.auth_user,
                password,
                method,
                digest_uri,
                body,
                1,
                cnonce,
            ));
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(header: &str, proxy: bool) -> Vec<Result<Challenge, DigestError>> {
        digest::parse_challenges(header, proxy)
    }

    fn creds(realm: Option<&str>) -> Credentials {
        Credentials::new(
            "alice",
            Some("secret".into()),
            realm.map(String::from),
            &[
                "sip.example.com".into(),
                "sip:proxy.example.com:5061;transport=tls".into(),
                "SIP.example.com".into(),
            ],
        )
    }

    #[test]
    fn the_strongest_challenge_of_the_accounts_realm_is_answered() {
        let c = creds(None);
        let mut a = Attempt::new();
        let chs = challenge(
            r#"Digest realm="sip.example.com", nonce="n1", qop="auth", algorithm=MD5, Digest realm="sip.example.com", nonce="n2", qop="auth", algorithm=SHA-256"#,
            true,
        );
        let h = a
            .answer(
                &c,
                Asker::Path,
                &chs,
                "INVITE",
                "sip:bob@sip.example.com",
                b"",
                "cn",
            )
            .unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].header_name, "Proxy-Authorization");
        assert!(h[0].value.contains("algorithm=SHA-256"), "{}", h[0].value);
        assert!(h[0].value.contains("nonce=\"n2\""));
        assert!(h[0].value.contains("qop=auth"));
    }

    #[test]
    fn a_proxy_of_another_realm_is_refused_with_both_realms_named() {
        let c = creds(None);
        let mut a = Attempt::new();
        let chs = challenge(r#"Digest realm="evil.example", nonce="x""#, true);
        let e = a
            .answer(
                &c,
                Asker::Path,
                &chs,
                "INVITE",
                "sip:bob@sip.example.com",
                b"",
                "cn",
            )
            .unwrap_err();
        assert_eq!(
            e,
            AuthRefused::ForeignRealm {
                realm: "evil.example".into(),
                ours: "sip.example.com, proxy.example.com".into()
            }
        );
        assert!(
            e.to_string()
                .contains("\"evil.example\", which is not this account's"),
            "{e}"
        );
    }

    #[test]
    fn the_registrars_realm_is_learned_and_then_answered_on_calls() {
        let c = creds(None);
        let chs = challenge(r#"Digest realm="asterisk", nonce="r1""#, false);
        let mut invite = Attempt::new();
        assert!(matches!(
            invite.answer(&c, Asker::Path, &chs, "INVITE", "sip:bob@x", b"", "cn"),
            Err(AuthRefused::ForeignRealm { .. })
        ));
        let mut register = Attempt::new();
        let h = register
            .answer(
                &c,
                Asker::Registrar,
                &chs,
                "REGISTER",
                "sip:sip.example.com",
                b"",
                "cn",
            )
            .unwrap();
        assert_eq!(h[0].header_name, "Authorization");
        let mut invite = Attempt::new();
        let clone = c.clone();
        assert!(invite
            .answer(&clone, Asker::Path, &chs, "INVITE", "sip:bob@x", b"", "cn")
            .is_ok());
    }

    #[test]
    fn a_configured_realm_is_the_only_one_answered_even_to_the_registrar() {
        let c = creds(Some("pbx"));
        let mut a = Attempt::new();
        let chs = challenge(r#"Digest realm="sip.example.com", nonce="r1""#, false);
        assert!(matches!(
            a.answer(
                &c,
                Asker::Registrar,
                &chs,
                "REGISTER",
                "sip:sip.example.com",
                b"",
                "cn"
            ),
            Err(AuthRefused::ForeignRealm { .. })
        ));
        let chs = challenge(r#"Digest realm="PBX", nonce="r1""#, false);
        assert!(a
            .answer(
                &c,
                Asker::Registrar,
                &chs,
                "REGISTER",
                "sip:sip.example.com",
                b"",
                "cn"
            )
            .is_ok());
    }

    #[test]
    fn a_second_challenge_with_a_fresh_nonce_means_the_password_is_wrong_but_stale_is_retried() {
        let c = creds(None);
        let mut a = Attempt::new();
        let first = challenge(r#"Digest realm="sip.example.com", nonce="n1""#, false);
        a.answer(
            &c,
            Asker::Registrar,
            &first,
            "REGISTER",
            "sip:sip.example.com",
            b"",
            "cn",
        )
        .unwrap();
        let stale = challenge(
            r#"Digest realm="sip.example.com", nonce="n2", stale=true"#,
            false,
        );
        a.answer(
            &c,
            Asker::Registrar,
            &stale,
            "REGISTER",
            "sip:sip.example.com",
            b"",
            "cn",
        )
        .unwrap();
        let fresh = challenge(r#"Digest realm="sip.example.com", nonce="n3""#, false);
        assert_eq!(
            a.answer(
                &c,
                Asker::Registrar,
                &fresh,
                "REGISTER",
                "sip:sip.example.com",
                b"",
                "cn"
            ),
            Err(AuthRefused::WrongCredentials)
        );
    }

    #[test]
    fn endless_stale_challenges_stop() {
        let c = creds(None);
        let mut a = Attempt::new();
        let stale = challenge(
            r#"Digest realm="sip.example.com", nonce="n", stale=true"#,
            false,
        );
        for _ in 0..MAX_ROUNDS {
            a.answer(&c, Asker::Path, &stale, "INVITE", "sip:b@x", b"", "cn")
                .unwrap();
        }
        assert_eq!(
            a.answer(&c, Asker::Path, &stale, "INVITE", "sip:b@x", b"", "cn"),
            Err(AuthRefused::TooMany)
        );
    }

    #[test]
    fn no_password_and_unknown_schemes_are_named() {
        let c = Credentials::new("alice", None, None, &["sip.example.com".into()]);
        let mut a = Attempt::new();
        let chs = challenge(r#"Digest realm="sip.example.com", nonce="n""#, false);
        assert_eq!(
            a.answer(&c, Asker::Path, &chs, "INVITE", "sip:b@x", b"", "cn"),
            Err(AuthRefused::NoPassword)
        );
        let basic = challenge(r#"Basic realm="sip.example.com""#, false);
        let e = a
            .answer(&c, Asker::Path, &basic, "INVITE", "sip:b@x", b"", "cn")
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("no digest challenge this phone can answer: "),
            "{e}"
        );
        assert!(e.to_string().contains("Basic"), "{e}");
    }

    #[test]
    fn two_realms_of_ours_are_both_answered() {
        let c = creds(None);
        let mut a = Attempt::new();
        let mut chs = challenge(r#"Digest realm="sip.example.com", nonce="a""#, true);
        chs.extend(challenge(
            r#"Digest realm="proxy.example.com", nonce="b", algorithm=SHA-256"#,
            true,
        ));
        let h = a
            .answer(&c, Asker::Path, &chs, "INVITE", "sip:b@x", b"", "cn")
            .unwrap();
        assert_eq!(h.len(), 2);
        assert!(h[1].value.contains("realm=\"proxy.example.com\""));
    }

    #[test]
    fn hosts_are_read_from_uris_and_host_ports() {
        assert_eq!(
            host_only("sip:Proxy.Example.com:5061;transport=tls"),
            "proxy.example.com"
        );
        assert_eq!(host_only("sip:alice@sip.example.com"), "sip.example.com");
        assert_eq!(host_only("[::1]:5060"), "::1");
        assert_eq!(host_only("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        assert!(!format!("{:?}", creds(None)).contains("secret"));
    }
}
