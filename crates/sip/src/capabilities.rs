//! What a peer says it can do (RFC 3261 `Allow`, `Supported`): whether it takes REFER (it can be
//! transferred) and `Replaces` (RFC 3891: it can swap a call for another one without ringing).
//! Read from the far end's INVITE or its 2xx to ours; `None` when it did not say (the header is
//! missing), which is not the same as saying no.

/// A peer's stated abilities; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// `Allow` lists REFER (None: no `Allow` header).
    pub refer: Option<bool>,
    /// `Supported` lists `replaces` (None: no `Supported` header).
    pub replaces: Option<bool>,
}

impl Capabilities {
    /// From a message's headers as (name, value) pairs, in any case, compact `k` for Supported.
    pub fn of<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Capabilities {
        let mut caps = Capabilities::default();
        let has = |value: &str, token: &str| {
            value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        for (name, value) in headers {
            let name = name.trim();
            if name.eq_ignore_ascii_case("allow") {
                caps.refer = Some(caps.refer.unwrap_or(false) || has(value, "REFER"));
            } else if name.eq_ignore_ascii_case("supported") || name.eq_ignore_ascii_case("k") {
                caps.replaces = Some(caps.replaces.unwrap_or(false) || has(value, "replaces"));
            }
        }
        caps
    }

    /// From an rsip message's headers (each printed as `Name: value`).
    pub(crate) fn of_rsip(headers: &rsipstack::sip::Headers) -> Capabilities {
        let lines: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        Capabilities::of(lines.iter().filter_map(|l| l.split_once(':')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_and_supported_say_refer_and_replaces_and_silence_is_not_no() {
        let c = Capabilities::of([
            ("Allow", "INVITE, ACK, BYE, refer, NOTIFY"),
            ("k", "timer, replaces"),
        ]);
        assert_eq!(
            c,
            Capabilities {
                refer: Some(true),
                replaces: Some(true)
            }
        );
        let c = Capabilities::of([("allow", "INVITE, ACK, BYE"), ("Supported", "timer")]);
        assert_eq!(
            c,
            Capabilities {
                refer: Some(false),
                replaces: Some(false)
            }
        );
        assert_eq!(
            Capabilities::of([("Contact", "<sip:a@h>")]),
            Capabilities::default()
        );
        // Split over two header lines.
        let c = Capabilities::of([("Allow", "INVITE"), ("Allow", "REFER")]);
        assert_eq!(c.refer, Some(true));
    }
}
