//! Turning what a user types (a SIP URI, `user@host`, an extension or a phone number) into a
//! SIP URI, and reading the parts of an AOR.

use crate::types::SipUri;
use crate::SipError;

/// Parses a SIP/SIPS URI, with a user-readable error.
pub fn parse_uri(what: &str, value: &str) -> Result<SipUri, SipError> {
    SipUri::parse(what, value)
}

/// Completes a dial string: full URIs are kept, `user@host` gets `sip:`, and a bare
/// number or extension gets the account's domain. Visual separators in numbers
/// (spaces, dashes, dots, parentheses) are removed.
pub fn dial_target(input: &str, account_domain: &str) -> Result<SipUri, SipError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(SipError::Invalid {
            what: "number".into(),
            value: input.into(),
            detail: "nothing to dial".into(),
        });
    }
    if s.starts_with("sip:") || s.starts_with("sips:") {
        return parse_uri("address", s);
    }
    if s.contains('@') {
        return parse_uri("address", &format!("sip:{s}"));
    }
    let number: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
        .collect();
    let ok = !number.is_empty()
        && number.chars().enumerate().all(|(i, c)| {
            c.is_ascii_alphanumeric() || c == '*' || c == '#' || (c == '+' && i == 0) || c == '_'
        });
    if !ok {
        return Err(SipError::Invalid {
            what: "number".into(),
            value: input.into(),
            detail: "use digits, * and #, a leading +, or a user@host address".into(),
        });
    }
    let user = number.replace('#', "%23");
    parse_uri("address", &format!("sip:{user}@{account_domain}"))
}

/// The user part of a URI, if any.
pub fn user_of(uri: &SipUri) -> Option<String> {
    uri.user()
}

/// `host[:port]` of a URI.
pub fn host_of(uri: &SipUri) -> String {
    uri.host_port()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_numbers_with_the_account_domain() {
        let u = dial_target(" (555) 123-4567 ", "example.com").unwrap();
        assert_eq!(u.to_string(), "sip:5551234567@example.com");
        let u = dial_target("+44 20 7946 0000", "example.com").unwrap();
        assert_eq!(u.to_string(), "sip:+442079460000@example.com");
    }

    #[test]
    fn keeps_uris_and_adds_scheme_to_user_at_host() {
        assert_eq!(
            dial_target("sip:bob@127.0.0.1:5070", "x")
                .unwrap()
                .to_string(),
            "sip:bob@127.0.0.1:5070"
        );
        assert_eq!(
            dial_target("bob@host", "x").unwrap().to_string(),
            "sip:bob@host"
        );
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        let e = dial_target("12<script>", "x").unwrap_err().to_string();
        assert!(e.contains("use digits"), "{e}");
        assert!(dial_target("   ", "x")
            .unwrap_err()
            .to_string()
            .contains("nothing to dial"));
        assert!(parse_uri("registrar", "http://x")
            .unwrap_err()
            .to_string()
            .contains("sip:"));
    }
}
