//! The `Replaces` header (RFC 3891): which dialog a new INVITE takes the place of, named by its
//! Call-ID and tags. An attended transfer's REFER carries one inside its `Refer-To` URI
//! (`<sip:bob@pbx?Replaces=call%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>`); the transferee copies it
//! into the INVITE to the target, whose phone then swaps that INVITE for the call it names.
//!
//! Tags are from the point of view of the phone receiving the INVITE: `to-tag` is its own tag
//! in the dialog, `from-tag` the far end's.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    pub call_id: String,
    /// The receiving phone's own tag in the dialog.
    pub to_tag: String,
    /// The far end's tag in the dialog.
    pub from_tag: String,
    /// Replace only a call that has not been answered yet (else 486).
    pub early_only: bool,
}

impl Replaces {
    /// Parses a header value: `call-id;to-tag=..;from-tag=..[;early-only]` (parameters in any
    /// order, names in any case, unknown ones ignored). The error says what is wrong.
    pub fn parse(value: &str) -> Result<Replaces, String> {
        let mut parts = value.split(';');
        let call_id = parts.next().unwrap_or_default().trim();
        if call_id.is_empty() || call_id.contains(char::is_whitespace) {
            return Err(format!(
                "Replaces header without a usable Call-ID: '{value}'"
            ));
        }
        let (mut to_tag, mut from_tag, mut early_only) = (None, None, false);
        for p in parts {
            let (name, v) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (p.trim(), None),
            };
            match (name.to_ascii_lowercase().as_str(), v) {
                ("to-tag", Some(v)) if !v.is_empty() => to_tag = Some(v.to_string()),
                ("from-tag", Some(v)) if !v.is_empty() => from_tag = Some(v.to_string()),
                ("early-only", None) => early_only = true,
                ("to-tag" | "from-tag", _) => {
                    return Err(format!("Replaces header with an empty {name}: '{value}'"))
                }
                _ => {}
            }
        }
        match (to_tag, from_tag) {
            (Some(to_tag), Some(from_tag)) => Ok(Replaces {
                call_id: call_id.to_string(),
                to_tag,
                from_tag,
                early_only,
            }),
            (None, _) => Err(format!("Replaces header without a to-tag: '{value}'")),
            (_, None) => Err(format!("Replaces header without a from-tag: '{value}'")),
        }
    }

    /// The value escaped for a URI header (`?Replaces=<this>` in a Refer-To, RFC 3261 19.1.1):
    /// everything but unreserved characters is percent-encoded.
    pub fn uri_escaped(&self) -> String {
        let mut out = String::new();
        for b in self.to_string().bytes() {
            if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    /// Undoes the escaping of a URI header value (`%40` → `@`); None when it is not valid
    /// percent-encoded UTF-8.
    pub fn unescape(value: &str) -> Option<String> {
        let bytes = value.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = value.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    }
}

impl fmt::Display for Replaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};to-tag={};from-tag={}",
            self.call_id, self.to_tag, self.from_tag
        )?;
        if self.early_only {
            f.write_str(";early-only")?;
        }
        Ok(())
    }
}

/// Splits a `Refer-To` URI into the URI to call and the `Replaces` it carries, if any
/// (`sip:bob@h?Replaces=...` → `sip:bob@h`, Some). Other URI headers are dropped. Err when the
/// Replaces in it cannot be read.
pub fn split_refer_to(uri: &str) -> Result<(String, Option<Replaces>), String> {
    let Some((base, query)) = uri.split_once('?') else {
        return Ok((uri.to_string(), None));
    };
    let mut replaces = None;
    for header in query.split('&') {
        let Some((name, value)) = header.split_once('=') else {
            continue;
        };
        if name.eq_ignore_ascii_case("replaces") {
            let text = Replaces::unescape(value)
                .ok_or_else(|| format!("unreadable Replaces in the transfer target: '{value}'"))?;
            replaces = Some(Replaces::parse(&text)?);
        }
    }
    Ok((base.to_string(), replaces))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_3891_example_reads_and_writes_back() {
        let r = Replaces::parse("425928@bobster.example.org;to-tag=7743;from-tag=6472").unwrap();
        assert_eq!(
            r,
            Replaces {
                call_id: "425928@bobster.example.org".into(),
                to_tag: "7743".into(),
                from_tag: "6472".into(),
                early_only: false
            }
        );
        assert_eq!(
            r.to_string(),
            "425928@bobster.example.org;to-tag=7743;from-tag=6472"
        );
        let r = Replaces::parse(
            " 98732@sip.example.com ; FROM-TAG=r33th4x0r ;early-only; To-Tag=ff87ff ;x=y",
        )
        .unwrap();
        assert_eq!(
            (r.to_tag.as_str(), r.from_tag.as_str(), r.early_only),
            ("ff87ff", "r33th4x0r", true)
        );
    }

    #[test]
    fn a_replaces_without_its_parts_says_which_is_missing() {
        assert!(Replaces::parse("abc@h;from-tag=1")
            .unwrap_err()
            .contains("without a to-tag"));
        assert!(Replaces::parse("abc@h;to-tag=1")
            .unwrap_err()
            .contains("without a from-tag"));
        assert!(Replaces::parse(";to-tag=1;from-tag=2")
            .unwrap_err()
            .contains("Call-ID"));
        assert!(Replaces::parse("abc@h;to-tag=;from-tag=2")
            .unwrap_err()
            .contains("empty to-tag"));
    }

    #[test]
    fn inside_a_refer_to_it_is_escaped_and_comes_back_unchanged() {
        let r = Replaces {
            call_id: "12345@192.168.118.3".into(),
            to_tag: "12345".into(),
            from_tag: "5FFE-3994".into(),
            early_only: false,
        };
        assert_eq!(
            r.uri_escaped(),
            "12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994"
        );
        let uri = format!("sips:bob@example.com?Replaces={}", r.uri_escaped());
        assert_eq!(
            split_refer_to(&uri).unwrap(),
            ("sips:bob@example.com".to_string(), Some(r))
        );
        assert_eq!(
            split_refer_to("sip:carol@h;transport=tcp").unwrap(),
            ("sip:carol@h;transport=tcp".to_string(), None)
        );
        assert!(split_refer_to("sip:carol@h?Replaces=abc%4").is_err());
        assert!(split_refer_to("sip:carol@h?Replaces=abc%40h")
            .unwrap_err()
            .contains("to-tag"));
    }
}
