//! HTTP Digest authentication as SIP uses it (RFC 2617, RFC 7616, RFC 8760).
//!
//! A registrar or proxy answers a request with `401 Unauthorized` (header
//! `WWW-Authenticate`) or `407 Proxy Authentication Required` (header
//! `Proxy-Authenticate`). Each header carries a *challenge*:
//!
//! ```text
//! Digest realm="example.org", nonce="abc", qop="auth,auth-int", algorithm=SHA-256
//! ```
//!
//! [`parse_challenge`] turns one header value into a [`Challenge`], [`choose`]
//! picks the strongest one we support when the server offers several, and
//! [`respond`] computes the `Authorization` / `Proxy-Authorization` header to
//! send with the retried request.
//!
//! We carry our own implementation because rsipstack's header parser rejects
//! `algorithm=SHA-256` and quoted qop lists. Everything here is pure: no I/O,
//! no clocks; the caller supplies the client nonce (see [`new_cnonce`]).

use md5::Md5;
use sha2::{Digest, Sha256};

/// Hash algorithm named by a challenge's `algorithm` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// `MD5` (the default when a challenge names none).
    Md5,
    /// `MD5-sess`: H(A1) also covers the server and client nonces.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// The spelling used on the wire (`MD5`, `MD5-sess`, `SHA-256`, `SHA-256-sess`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Parses an `algorithm` value, ignoring case.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name.to_ascii_lowercase().as_str() {
            "md5" => Some(Algorithm::Md5),
            "md5-sess" => Some(Algorithm::Md5Sess),
            "sha-256" => Some(Algorithm::Sha256),
            "sha-256-sess" => Some(Algorithm::Sha256Sess),
            _ => None,
        }
    }

    fn is_session(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Relative strength used by [`choose`]: SHA-256 beats MD5.
    fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
        }
    }

    /// Lower-case hex of the hash of `data`.
    fn hash(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex::encode(Md5::digest(data)),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex::encode(Sha256::digest(data)),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parsed `WWW-Authenticate` / `Proxy-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// The offered qop values, lower-cased (`auth`, `auth-int`); empty when the
    /// challenge has no `qop` parameter (RFC 2069 compatibility).
    pub qop: Vec<String>,
    /// `stale=true`: the nonce expired, the credentials were fine; retry
    /// without asking the user again.
    pub stale: bool,
    /// True when the challenge came from `Proxy-Authenticate` (a 407).
    pub proxy: bool,
}

/// Why a challenge header could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("the server's authentication challenge is empty")]
    Empty,
    #[error("the server asks for \"{scheme}\" authentication; only Digest is supported")]
    NotDigest { scheme: String },
    #[error("the server's Digest challenge has no {0} parameter")]
    MissingParameter(&'static str),
    #[error("the server asks for the digest algorithm \"{0}\", which is not supported (supported: MD5, MD5-sess, SHA-256, SHA-256-sess)")]
    UnsupportedAlgorithm(String),
    #[error("the server's Digest challenge is malformed: {0}")]
    Malformed(String),
}

/// The header to add to the retried request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestResponse {
    /// `"Authorization"` for a 401, `"Proxy-Authorization"` for a 407.
    pub header_name: &'static str,
    /// The header value, starting with `Digest `.
    pub value: String,
}

/// Parses a single challenge, e.g. the value of one `WWW-Authenticate` header.
///
/// `proxy` records whether it came from `Proxy-Authenticate`. Parameter names
/// and the scheme are matched without regard to case, values may be quoted or
/// bare tokens, and unknown parameters are ignored. When the header value holds
/// several comma-joined challenges, only the first is returned; use
/// [`parse_challenges`] to get them all.
pub fn parse_challenge(header_value: &str, proxy: bool) -> Result<Challenge, DigestError> {
    let mut all = split_challenges(header_value)?;
    let (scheme, params) = all.remove(0);
    build_challenge(&scheme, params, proxy)
}

/// Parses every challenge in a header value that may join several with commas
/// (`Digest realm="a", nonce="1", Digest realm="a", nonce="2", algorithm=SHA-256`).
///
/// Each challenge is parsed on its own, so one the phone cannot use (another
/// scheme, an unknown algorithm) does not hide the others.
pub fn parse_challenges(header_value: &str, proxy: bool) -> Vec<Result<Challenge, DigestError>> {
    match split_challenges(header_value) {
        Ok(all) => all
            .into_iter()
            .map(|(scheme, params)| build_challenge(&scheme, params, proxy))
            .collect(),
        Err(e) => vec![Err(e)],
    }
}

/// Picks the challenge to answer: the strongest algorithm first (SHA-256 over
/// MD5), then one offering `qop=auth` over `auth-int`-only over none. Among
/// equals the first one wins. `None` only when the list is empty.
pub fn choose(challenges: &[Challenge]) -> Option<&Challenge> {
    let mut best: Option<(&Challenge, (u8, u8))> = None;
    for ch in challenges {
        let score = (ch.algorithm.strength(), qop_rank(&ch.qop));
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((ch, score));
        }
    }
    best.map(|(ch, _)| ch)
}

fn qop_rank(qop: &[String]) -> u8 {
    if qop.iter().any(|q| q == "auth") {
        2
    } else if qop.iter().any(|q| q == "auth-int") {
        1
    } else {
        0
    }
}

/// The quality of protection we use for a challenge: `auth` when offered,
/// `auth-int` when only that is offered, none when the challenge has no
/// (known) qop.
pub fn chosen_qop(ch: &Challenge) -> Option<&'static str> {
    match qop_rank(&ch.qop) {
        2 => Some("auth"),
        1 => Some("auth-int"),
        _ => None,
    }
}

/// Computes the `Authorization` (or `Proxy-Authorization`) header answering `ch`.
///
/// `digest_uri` is the Request-URI of the retried request (e.g.
/// `sip:example.org`), `body` its message body (used only by `auth-int`),
/// `nc` the nonce count (1 for the first use of this nonce), `cnonce` a fresh
/// client nonce (see [`new_cnonce`]). With no qop offered the response is the
/// RFC 2069 form without `cnonce`/`nc` (except for `-sess` algorithms, which
/// need the cnonce).
#[allow(clippy::too_many_arguments)]
pub fn respond(
    ch: &Challenge,
    username: &str,
    password: &str,
    method: &str,
    digest_uri: &str,
    body: &[u8],
    nc: u32,
    cnonce: &str,
) -> DigestResponse {
    let alg = ch.algorithm;
    let qop = chosen_qop(ch);
    let nc_text = format!("{nc:08x}");

    let mut ha1 = alg.hash(format!("{username}:{}:{password}", ch.realm).as_bytes());
    if alg.is_session() {
        ha1 = alg.hash(format!("{ha1}:{}:{cnonce}", ch.nonce).as_bytes());
    }
    let a2 = match qop {
        Some("auth-int") => format!("{method}:{digest_uri}:{}", alg.hash(body)),
        _ => format!("{method}:{digest_uri}"),
    };
    let ha2 = alg.hash(a2.as_bytes());
    let response = match qop {
        Some(q) => alg.hash(format!("{ha1}:{}:{nc_text}:{cnonce}:{q}:{ha2}", ch.nonce).as_bytes()),
        None => alg.hash(format!("{ha1}:{}:{ha2}", ch.nonce).as_bytes()),
    };

    let mut value = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
        quote(username),
        quote(&ch.realm),
        quote(&ch.nonce),
        quote(digest_uri),
        quote(&response),
        alg.as_str()
    );
    if qop.is_some() || alg.is_session() {
        value.push_str(&format!(", cnonce={}", quote(cnonce)));
    }
    if let Some(opaque) = &ch.opaque {
        value.push_str(&format!(", opaque={}", quote(opaque)));
    }
    if let Some(q) = qop {
        value.push_str(&format!(", qop={q}, nc={nc_text}"));
    }
    DigestResponse {
        header_name: if ch.proxy {
            "Proxy-Authorization"
        } else {
            "Authorization"
        },
        value,
    }
}

/// A fresh random client nonce: 32 lower-case hex digits (128 bits).
pub fn new_cnonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Quotes a value as an RFC 7230 quoted-string (escaping `"` and `\`).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

type Params = Vec<(String, String)>;

fn build_challenge(scheme: &str, params: Params, proxy: bool) -> Result<Challenge, DigestError> {
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(DigestError::NotDigest {
            scheme: scheme.to_string(),
        });
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let realm = get("realm").ok_or(DigestError::MissingParameter("realm"))?;
    let nonce = get("nonce").ok_or(DigestError::MissingParameter("nonce"))?;
    let algorithm = match get("algorithm") {
        None => Algorithm::Md5,
        Some(name) => Algorithm::from_name(name.trim())
            .ok_or_else(|| DigestError::UnsupportedAlgorithm(name.trim().to_string()))?,
    };
    let qop = get("qop")
        .map(|q| {
            q.split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let stale = get("stale").is_some_and(|s| s.trim().eq_ignore_ascii_case("true"));
    Ok(Challenge {
        realm,
        nonce,
        opaque: get("opaque"),
        algorithm,
        qop,
        stale,
        proxy,
    })
}

/// Splits a header value into (scheme, params) groups. A token followed by
/// whitespace and another token (rather than `=`) starts a new challenge.
fn split_challenges(input: &str) -> Result<Vec<(String, Params)>, DigestError> {
    let mut lx = Lexer {
        s: input.as_bytes(),
        i: 0,
        src: input,
    };
    let mut out: Vec<(String, Params)> = Vec::new();
    lx.skip_ws_commas();
    if lx.at_end() {
        return Err(DigestError::Empty);
    }
    loop {
        lx.skip_ws_commas();
        if lx.at_end() {
            break;
        }
        let name = lx.token();
        if name.is_empty() {
            return Err(DigestError::Malformed(format!(
                "unexpected character '{}' at position {}",
                lx.src[lx.i..].chars().next().unwrap_or(' '),
                lx.i + 1
            )));
        }
        lx.skip_ws();
        if lx.peek() == Some(b'=') {
            // An auth-param of the current challenge.
            lx.i += 1;
            lx.skip_ws();
            let value = if lx.peek() == Some(b'"') {
                lx.quoted()?
            } else {
                lx.token_or_token68()
            };
            match out.last_mut() {
                Some((_, params)) => params.push((name.to_ascii_lowercase(), value)),
                None => {
                    return Err(DigestError::Malformed(format!(
                        "parameter \"{name}\" appears before the scheme name"
                    )))
                }
            }
            lx.skip_ws();
            match lx.peek() {
                None | Some(b',') => {}
                Some(c) => {
                    return Err(DigestError::Malformed(format!(
                        "expected ',' after parameter \"{name}\", found '{}'",
                        c as char
                    )))
                }
            }
        } else {
            // A scheme name: a new challenge begins.
            out.push((name.to_string(), Vec::new()));
        }
    }
    if out.is_empty() {
        return Err(DigestError::Empty);
    }
    Ok(out)
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
    src: &'a str,
}

impl<'a> Lexer<'a> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }
    fn skip_ws_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n' | b',')) {
            self.i += 1;
        }
    }
    fn is_tchar(c: u8) -> bool {
        c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
    }
    fn token(&mut self) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(Self::is_tchar) {
            self.i += 1;
        }
        &self.src[start..self.i]
    }
    /// An unquoted value: a token, tolerating `/`, `:`, `=`, `@` and other
    /// printable characters some servers leave unquoted, up to a comma or space.
    fn token_or_token68(&mut self) -> String {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c != b',' && c != b'"' && c > b' ' && c != 0x7f)
        {
            self.i += 1;
        }
        // Non-ASCII bytes are > b' ', so the slice ends on a char boundary
        // only when we stop at an ASCII byte or the end; both are boundaries.
        self.src[start..self.i].to_string()
    }
    fn quoted(&mut self) -> Result<String, DigestError> {
        let open = self.i;
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(DigestError::Malformed(format!(
                        "the quoted value starting at position {} is not closed",
                        open + 1
                    )))
                }
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    if let Some(c) = self.peek() {
                        out.push(c);
                        self.i += 1;
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        // Only ASCII quote/backslash bytes were dropped, so this stays valid
        // UTF-8; the lossy conversion is a belt-and-braces fallback.
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc7616_challenge(algorithm: Algorithm) -> Challenge {
        Challenge {
            realm: "http-auth@example.org".into(),
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v".into(),
            opaque: Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS".into()),
            algorithm,
            qop: vec!["auth".into(), "auth-int".into()],
            stale: false,
            proxy: false,
        }
    }

    /// Pulls `name=value` (quoted or bare) out of a header we produced.
    fn param(value: &str, name: &str) -> Option<String> {
        let rest = value.strip_prefix("Digest ")?;
        let (_, params) = split_challenges(&format!("X {rest}")).ok()?.remove(0);
        params.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    #[test]
    fn rfc7616_md5_vector() {
        let ch = rfc7616_challenge(Algorithm::Md5);
        let r = respond(
            &ch,
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            b"",
            1,
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        );
        assert_eq!(r.header_name, "Authorization");
        assert_eq!(
            param(&r.value, "response").unwrap(),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
        assert_eq!(param(&r.value, "qop").unwrap(), "auth");
        assert_eq!(param(&r.value, "nc").unwrap(), "00000001");
        assert_eq!(
            param(&r.value, "opaque").unwrap(),
            "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
        );
    }

    #[test]
    fn rfc7616_sha256_vector() {
        let ch = rfc7616_challenge(Algorithm::Sha256);
        let r = respond(
            &ch,
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            b"",
            1,
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        );
        assert_eq!(
            param(&r.value, "response").unwrap(),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        assert_eq!(param(&r.value, "algorithm").unwrap(), "SHA-256");
    }

    #[test]
    fn rfc7616_challenge_header_parses() {
        // The two challenges of RFC 7616 section 3.9.1, as one comma-joined value.
        let hv = "Digest\r\n realm=\"http-auth@example.org\",\r\n qop=\"auth, auth-int\",\r\n \
                  algorithm=SHA-256,\r\n nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n \
                  opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\", \
                  Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, \
                  nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
                  opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
        let all: Vec<Challenge> = parse_challenges(hv, false)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], rfc7616_challenge(Algorithm::Sha256));
        assert_eq!(all[1], rfc7616_challenge(Algorithm::Md5));
        assert_eq!(choose(&all).unwrap().algorithm, Algorithm::Sha256);
        // parse_challenge returns the first one.
        assert_eq!(parse_challenge(hv, false).unwrap(), all[0]);
    }

    #[test]
    fn rfc2617_example() {
        let hv = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let ch = parse_challenge(hv, false).unwrap();
        assert_eq!(ch.algorithm, Algorithm::Md5);
        assert_eq!(ch.qop, vec!["auth", "auth-int"]);
        let r = respond(
            &ch,
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            b"",
            1,
            "0a4f113b",
        );
        assert_eq!(
            param(&r.value, "response").unwrap(),
            "6629fae49393a05397450978507c4ef1"
        );
        assert_eq!(param(&r.value, "cnonce").unwrap(), "0a4f113b");
        assert_eq!(param(&r.value, "uri").unwrap(), "/dir/index.html");
        assert_eq!(param(&r.value, "username").unwrap(), "Mufasa");
    }

    #[test]
    fn rfc2069_style_without_qop() {
        // No qop: response = H(HA1:nonce:HA2), and no cnonce/nc/qop in the header.
        let ch = parse_challenge(
            r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
            false,
        )
        .unwrap();
        let r = respond(
            &ch,
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            b"",
            1,
            "0a4f113b",
        );
        let ha1 = hex::encode(Md5::digest(b"Mufasa:testrealm@host.com:Circle Of Life"));
        let ha2 = hex::encode(Md5::digest(b"GET:/dir/index.html"));
        let want = hex::encode(Md5::digest(format!(
            "{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:{ha2}"
        )));
        assert_eq!(param(&r.value, "response").unwrap(), want);
        assert_eq!(param(&r.value, "qop"), None);
        assert_eq!(param(&r.value, "nc"), None);
        assert_eq!(param(&r.value, "cnonce"), None);
        assert_eq!(param(&r.value, "opaque"), None);
    }

    #[test]
    fn auth_int_used_when_only_offered_and_hashes_body() {
        let ch = parse_challenge(r#"Digest realm="r", nonce="n", qop="auth-int""#, true).unwrap();
        let r1 = respond(&ch, "u", "p", "INVITE", "sip:b@r", b"v=0\r\n", 1, "c");
        let r2 = respond(&ch, "u", "p", "INVITE", "sip:b@r", b"v=1\r\n", 1, "c");
        assert_eq!(r1.header_name, "Proxy-Authorization");
        assert_eq!(param(&r1.value, "qop").unwrap(), "auth-int");
        assert_ne!(param(&r1.value, "response"), param(&r2.value, "response"));
        let ha1 = hex::encode(Md5::digest(b"u:r:p"));
        let ha2 = hex::encode(Md5::digest(format!(
            "INVITE:sip:b@r:{}",
            hex::encode(Md5::digest(b"v=0\r\n"))
        )));
        let want = hex::encode(Md5::digest(format!("{ha1}:n:00000001:c:auth-int:{ha2}")));
        assert_eq!(param(&r1.value, "response").unwrap(), want);
    }

    #[test]
    fn sess_algorithm_and_nonce_count() {
        let ch = parse_challenge(
            r#"Digest realm="r", nonce="n", qop=auth, algorithm=SHA-256-sess"#,
            false,
        )
        .unwrap();
        assert_eq!(ch.algorithm, Algorithm::Sha256Sess);
        let r = respond(&ch, "u", "p", "REGISTER", "sip:r", b"", 0x1a, "cn");
        let h = |s: String| hex::encode(Sha256::digest(s));
        let ha1 = h(format!("{}:n:cn", h("u:r:p".into())));
        let ha2 = h("REGISTER:sip:r".into());
        let want = h(format!("{ha1}:n:0000001a:cn:auth:{ha2}"));
        assert_eq!(param(&r.value, "response").unwrap(), want);
        assert_eq!(param(&r.value, "nc").unwrap(), "0000001a");
        assert_eq!(param(&r.value, "algorithm").unwrap(), "SHA-256-sess");
    }

    #[test]
    fn tolerant_parsing() {
        // Odd case, spacing, bare tokens, stale, unknown params, empty list items.
        let ch = parse_challenge(
            "  dIgEsT   REALM = example.org ,, Nonce=abc/def=, QOP=AUTH, stale=TRUE, Algorithm=sha-256, charset=UTF-8, userhash=false ,",
            true,
        )
        .unwrap();
        assert_eq!(ch.realm, "example.org");
        assert_eq!(ch.nonce, "abc/def=");
        assert_eq!(ch.qop, vec!["auth"]);
        assert!(ch.stale);
        assert!(ch.proxy);
        assert_eq!(ch.algorithm, Algorithm::Sha256);
        assert_eq!(ch.opaque, None);

        // Escaped quotes and commas inside quoted values.
        let ch =
            parse_challenge(r#"Digest realm="a \"quoted\", realm", nonce="x,y""#, false).unwrap();
        assert_eq!(ch.realm, r#"a "quoted", realm"#);
        assert_eq!(ch.nonce, "x,y");
        // ... and they are quoted again on the way out.
        let r = respond(&ch, "u", "p", "REGISTER", "sip:a", b"", 1, "c");
        assert!(
            r.value.contains(r#"realm="a \"quoted\", realm""#),
            "{}",
            r.value
        );
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(parse_challenge("", false), Err(DigestError::Empty));
        assert_eq!(parse_challenge("  , ", false), Err(DigestError::Empty));
        assert_eq!(
            parse_challenge(r#"Basic realm="x""#, false),
            Err(DigestError::NotDigest {
                scheme: "Basic".into()
            })
        );
        assert_eq!(
            parse_challenge(r#"Digest nonce="n""#, false),
            Err(DigestError::MissingParameter("realm"))
        );
        assert_eq!(
            parse_challenge(r#"Digest realm="r""#, false),
            Err(DigestError::MissingParameter("nonce"))
        );
        let e = parse_challenge(
            r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#,
            false,
        )
        .unwrap_err();
        assert_eq!(e, DigestError::UnsupportedAlgorithm("SHA-512-256".into()));
        assert!(e.to_string().contains("SHA-512-256"), "{e}");
        assert!(matches!(
            parse_challenge(r#"Digest realm="r, nonce=n"#, false),
            Err(DigestError::Malformed(_))
        ));
        assert!(matches!(
            parse_challenge(r#"realm="r", nonce="n""#, false),
            Err(DigestError::Malformed(_))
        ));
    }

    #[test]
    fn mixed_list_keeps_usable_challenges() {
        let r = parse_challenges(
            r#"Digest realm="r", nonce="1", algorithm=SHA-512-256, Digest realm="r", nonce="2", algorithm=MD5"#,
            false,
        );
        assert_eq!(r.len(), 2);
        assert!(matches!(r[0], Err(DigestError::UnsupportedAlgorithm(_))));
        assert_eq!(r[1].as_ref().unwrap().nonce, "2");
    }

    #[test]
    fn choose_prefers_sha256_then_qop_auth() {
        let mk = |alg, qop: &[&str], nonce: &str| Challenge {
            realm: "r".into(),
            nonce: nonce.into(),
            opaque: None,
            algorithm: alg,
            qop: qop.iter().map(|s| s.to_string()).collect(),
            stale: false,
            proxy: false,
        };
        assert_eq!(choose(&[]), None);
        let list = [
            mk(Algorithm::Md5, &["auth"], "a"),
            mk(Algorithm::Sha256, &[], "b"),
            mk(Algorithm::Sha256, &["auth-int"], "c"),
            mk(Algorithm::Sha256, &["auth"], "d"),
            mk(Algorithm::Sha256, &["auth"], "e"),
        ];
        assert_eq!(choose(&list).unwrap().nonce, "d");
        assert_eq!(choose(&list[..3]).unwrap().nonce, "c");
        assert_eq!(choose(&list[..2]).unwrap().nonce, "b");
        assert_eq!(choose(&list[..1]).unwrap().nonce, "a");
    }

    #[test]
    fn cnonce_is_fresh_hex() {
        let a = new_cnonce();
        let b = new_cnonce();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn garbage_never_panics() {
        let seeds = [
            r#"Digest realm="r", nonce="n", qop="auth,auth-int", algorithm=SHA-256, opaque="o""#,
            "Digest realm=\"\u{e9}t\u{e9}\\\u{e9}\", nonce=\u{1F600}",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for seed in seeds {
            for _ in 0..3000 {
                let mut chars: Vec<char> = seed.chars().collect();
                for _ in 0..(next() % 5 + 1) {
                    if chars.is_empty() {
                        break;
                    }
                    let i = (next() as usize) % chars.len();
                    let alphabet = ['"', '\\', ',', '=', ' ', 'a', '\u{e9}', '\0'];
                    match next() % 3 {
                        0 => {
                            chars.remove(i);
                        }
                        1 => chars.insert(i, alphabet[(next() % alphabet.len() as u64) as usize]),
                        _ => chars.truncate(i),
                    }
                }
                let s: String = chars.into_iter().collect();
                for ch in parse_challenges(&s, false).into_iter().flatten() {
                    let _ = respond(&ch, "u", "p", "REGISTER", "sip:x", b"", 1, "c");
                }
            }
        }
    }
}
