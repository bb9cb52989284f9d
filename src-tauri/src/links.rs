//! Links that dial: `tel:`, `sip:`, `sips:` and `callto:` links (a browser, a mail or chat program,
//! the desktop's "open with") and `hookflash-app dial <number>`. The OS starts
//! `hookflash-app <link>`; a second start hands its command line to the running window
//! (single-instance), so both arrive here as the program's arguments ([`from_args`]).
//!
//! Pure: a link is read and checked here, the window asks the user before dialling
//! (`ui/src/lib/links.ts`), and what is dialled goes through the engine's dialling plan like a
//! typed number. A link that cannot be read is refused with the sentence the window shows.

use serde::Serialize;
use std::sync::Mutex;

/// The window's nudge that links are waiting (`take_links`); no payload, so a nudge sent before
/// the window listens loses nothing.
pub const CHANNEL: &str = "links";

/// Longer than any phone number or SIP address a person would click: refused without reading it.
pub const MAX_LINK_CHARS: usize = 512;

/// The schemes the app opens (also registered for it: `tauri.conf.json`, `plugins.deep-link`).
pub const SCHEMES: [&str; 4] = ["tel", "sip", "sips", "callto"];

/// A link that can be dialled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct LinkCall {
    /// What goes to `dial`: a phone number (`+4930123`, `0301234`, `*97`) or a SIP URI.
    pub target: String,
    /// What the confirm bar names: the number with the link's own spacing (`+49 30 123`), or the
    /// SIP address.
    pub label: String,
}

/// What came of a link: a call to confirm, or why nothing is dialled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinkRequest {
    Call { call: LinkCall },
    Refused { message: String },
}

impl From<Result<LinkCall, String>> for LinkRequest {
    fn from(result: Result<LinkCall, String>) -> Self {
        match result {
            Ok(call) => LinkRequest::Call { call },
            Err(message) => LinkRequest::Refused { message },
        }
    }
}

/// Links that arrived and the window has not taken yet (Tauri-managed state): a link can come
/// before the window listens (the first start's own command line).
#[derive(Default)]
pub struct LinkInbox(Mutex<Vec<LinkRequest>>);

impl LinkInbox {
    pub fn push(&self, request: LinkRequest) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request);
    }

    /// Everything waiting, oldest first; the inbox is then empty.
    pub fn take(&self) -> Vec<LinkRequest> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The link or number named on the command line, if any: `hookflash-app <link>` (how the OS
/// opens a link) or `hookflash-app dial <number or address>`. `args` includes the program name.
/// Options (`-x`, `--automation`, as launchers and test drivers add them) are passed over; other
/// command lines (none, or several words that are not `dial …`) are no link: `None`.
pub fn from_args<I, S>(args: I) -> Option<LinkRequest>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let args: Vec<String> = args
        .into_iter()
        .skip(1)
        .map(|a| a.as_ref().to_string())
        .filter(|a| !a.starts_with('-'))
        .collect();
    match args.as_slice() {
        [] => None,
        [dial, rest @ ..] if dial == "dial" => Some(match rest {
            [] => LinkRequest::Refused {
                message: "“hookflash-app dial” needs a number or SIP address to call.".into(),
            },
            // `hookflash-app dial +49 30 123` (unquoted) reads as one number.
            words => parse_dial(&words.join(" ")).into(),
        }),
        [one] if scheme_of(one).is_some() => Some(parse_link(one).into()),
        _ => None,
    }
}

/// The scheme of something that looks like a link (`word:`), lower-cased; `None` for plain text.
fn scheme_of(text: &str) -> Option<String> {
    let (scheme, _) = text.trim().split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then(|| scheme.to_ascii_lowercase())
}

/// What `hookflash-app dial` was given: a link, a SIP address (`bob@example.com`) or a number.
pub fn parse_dial(text: &str) -> Result<LinkCall, String> {
    let text = text.trim();
    check_size(text)?;
    match scheme_of(text) {
        Some(scheme) if SCHEMES.contains(&scheme.as_str()) => parse_link(text),
        _ if text.contains('@') => sip_address("sip", text),
        _ => tel_number(text, ""),
    }
}

/// Reads a `tel:`, `sip:`, `sips:` or `callto:` link.
pub fn parse_link(link: &str) -> Result<LinkCall, String> {
    let link = link.trim();
    check_size(link)?;
    let Some(scheme) = scheme_of(link) else {
        return Err(format!(
            "“{}” is not a link: a link starts with tel:, sip:, sips: or callto:.",
            shorten(link)
        ));
    };
    let rest = &link[scheme.len() + 1..];
    match scheme.as_str() {
        "tel" => {
            let (number, params) = rest.split_once(';').unwrap_or((rest, ""));
            tel_number(&percent_decode(number)?, &percent_decode(params)?)
        }
        "sip" | "sips" => sip_address(&scheme, rest),
        "callto" => {
            // callto:+4930123, callto://+4930123, callto:bob@example.com; Skype's `?call` dropped.
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let rest = rest
                .split('?')
                .next()
                .unwrap_or_default()
                .trim_end_matches('/');
            let decoded = percent_decode(rest)?;
            if decoded.trim().is_empty() {
                Err("The callto: link is empty: it names no number to call.".into())
            } else if decoded.contains('@') {
                sip_address("sip", &decoded)
            } else if decoded.chars().any(|c| c.is_ascii_alphabetic()) {
                Err(format!(
                    "“{}” names a user of another calling service, not a phone number or SIP address.",
                    shorten(&decoded)
                ))
            } else {
                tel_number(&decoded, "")
            }
        }
        _ => Err(format!(
            "Hookflash opens tel:, sip:, sips: and callto: links, not {}: links.",
            shorten(&scheme)
        )),
    }
}

fn check_size(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("The link is empty: there is no number to call.".into());
    }
    let chars = text.chars().count();
    if chars > MAX_LINK_CHARS {
        return Err(format!(
            "The link is {chars} characters long, too long for a phone number or SIP address (at most {MAX_LINK_CHARS})."
        ));
    }
    Ok(())
}

/// Long or odd text quoted back in a sentence: at most 40 characters, control characters shown as `?`.
fn shorten(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() > 40 {
        format!("{}…", clean.chars().take(40).collect::<String>())
    } else {
        clean
    }
}

/// `%XX` escapes decoded (UTF-8); a bad escape or bytes that are not text are refused.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(byte) => out.push(byte),
                None => {
                    return Err(format!(
                        "The link has a broken %-escape: “{}”.",
                        shorten(text)
                    ))
                }
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out)
        .map_err(|_| format!("The link “{}” is not readable text.", shorten(text)))?;
    if decoded.chars().any(|c| c.is_control()) {
        return Err(format!(
            "The link “{}” has control characters in it.",
            shorten(&decoded)
        ));
    }
    Ok(decoded)
}

/// Spaces, dashes, dots and parentheses people write between digit groups (RFC 3966's
/// visual separators, plus the space browsers turn `%20` into).
fn is_visual_separator(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '-' | '.' | '(' | ')' | '/')
}

/// A phone number from a tel: link (already %-decoded), with its `;parameters` (`params`,
/// without the first `;`): a global number (`+49 30 123`) as it is; a local one (`7042`) with a
/// `phone-context` of digits (`+1-212-555`) put in front, with a domain one (`example.com`) left
/// as the extension it is; a `(0)` after the country code dropped; `ext=` named in the label; other parameters (`isub`, `postd`) ignored.
fn tel_number(number: &str, params: &str) -> Result<LinkCall, String> {
    let shown = number.trim();
    if shown.is_empty() {
        return Err("The link is empty: there is no number to call.".into());
    }
    // "+44 (0)20 7946 0958": the (0) is dialled only from inside the country.
    let international = if shown.starts_with('+') {
        shown.replace("(0)", "")
    } else {
        shown.to_string()
    };
    let mut digits = String::new();
    for (at, c) in international.chars().enumerate() {
        match c {
            '0'..='9' | '*' | '#' => digits.push(c),
            '+' if at == 0 => digits.push(c),
            c if is_visual_separator(c) => {}
            c if c.is_alphabetic() => {
                return Err(format!(
                    "“{}” is not a phone number: it has letters in it. A tel: link carries digits only.",
                    shorten(shown)
                ))
            }
            c => {
                return Err(format!("“{}” is not a phone number: “{c}” has no place in one.", shorten(shown)))
            }
        }
    }
    if !digits
        .chars()
        .any(|c| c.is_ascii_digit() || c == '*' || c == '#')
    {
        return Err(format!("“{}” has no digits to call.", shorten(shown)));
    }
    let mut extension = None;
    let mut target = digits.clone();
    let mut label = collapse_spaces(shown);
    for param in params.split(';').filter(|p| !p.trim().is_empty()) {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "phone-context" if !digits.starts_with('+') => {
                let context = value.trim();
                if context.starts_with('+') {
                    let prefix: String = context
                        .chars()
                        .filter(|c| !is_visual_separator(*c))
                        .collect();
                    if prefix.len() < 2 || !prefix[1..].chars().all(|c| c.is_ascii_digit()) {
                        return Err(format!(
                            "The link's phone-context “{}” is not a number prefix.",
                            shorten(context)
                        ));
                    }
                    target = format!("{prefix}{digits}");
                    label = format!(
                        "{} {label}",
                        collapse_spaces(&context.replace(['-', '.'], " "))
                    );
                }
            }
            "ext" => extension = Some(value.trim().to_string()).filter(|e| !e.is_empty()),
            _ => {}
        }
    }
    if let Some(extension) = extension {
        label = format!("{label} (extension {extension}: dial it once answered)");
    }
    Ok(LinkCall { target, label })
}

fn collapse_spaces(text: &str) -> String {
    text.split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A SIP address (`rest` is what follows `sip:`/`sips:`): %-decoded, headers (`?subject=…`)
/// dropped — a link must not put headers into our INVITE —, URI parameters kept.
fn sip_address(scheme: &str, rest: &str) -> Result<LinkCall, String> {
    let rest = rest.trim().trim_start_matches("//");
    let address = rest.split('?').next().unwrap_or_default();
    let address = percent_decode(address)?;
    if address.trim().is_empty() {
        return Err(format!(
            "The {scheme}: link is empty: it names no one to call."
        ));
    }
    if address.chars().any(char::is_whitespace) {
        return Err(format!(
            "“{}” is not a SIP address: it has spaces in it.",
            shorten(&address)
        ));
    }
    let host_part = address.split(';').next().unwrap_or_default();
    let (user, host) = match host_part.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, host_part),
    };
    if user.is_some_and(str::is_empty) || host.is_empty() {
        return Err(format!(
            "“{}” is not a SIP address: it needs a name and a host, like bob@example.com.",
            shorten(&address)
        ));
    }
    let host_name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    let host_ok = !host_name.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !host_ok {
        return Err(format!(
            "“{}” is not a SIP address: “{host}” is not a host name.",
            shorten(&address)
        ));
    }
    let uri = format!("{scheme}:{address}");
    Ok(LinkCall {
        target: uri.clone(),
        label: uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(target: &str, label: &str) -> LinkCall {
        LinkCall {
            target: target.into(),
            label: label.into(),
        }
    }

    #[test]
    fn tel_links_lose_their_visual_separators_and_keep_them_in_the_label() {
        assert_eq!(parse_link("tel:+4930123"), Ok(call("+4930123", "+4930123")));
        assert_eq!(
            parse_link("tel:+49-30-123"),
            Ok(call("+4930123", "+49-30-123"))
        );
        assert_eq!(
            parse_link("TEL:+49%2030%20123"),
            Ok(call("+4930123", "+49 30 123"))
        );
        assert_eq!(
            parse_link("tel:+1 (212) 555.0100"),
            Ok(call("+12125550100", "+1 (212) 555.0100"))
        );
        assert_eq!(
            parse_link("tel:%2B44%20(0)20%207946%200958"),
            Ok(call("+442079460958", "+44 (0)20 7946 0958"))
        );
        assert_eq!(parse_link("tel:*97"), Ok(call("*97", "*97")));
        assert_eq!(
            parse_link("  tel:0301234  "),
            Ok(call("0301234", "0301234"))
        );
    }

    #[test]
    fn tel_parameters_phone_context_and_extension() {
        assert_eq!(
            parse_link("tel:7042;phone-context=+1-212-555"),
            Ok(call("+12125557042", "+1 212 555 7042"))
        );
        // A domain context: the local number is an extension there, dialled as it is.
        assert_eq!(
            parse_link("tel:7042;phone-context=example.com"),
            Ok(call("7042", "7042"))
        );
        // A global number carries no context of its own.
        assert_eq!(
            parse_link("tel:+4930123;phone-context=+1"),
            Ok(call("+4930123", "+4930123"))
        );
        assert_eq!(
            parse_link("tel:+4930123;ext=45"),
            Ok(call(
                "+4930123",
                "+4930123 (extension 45: dial it once answered)"
            ))
        );
        assert_eq!(
            parse_link("tel:+4930123;isub=12;foo"),
            Ok(call("+4930123", "+4930123"))
        );
        assert!(parse_link("tel:7042;phone-context=+1-abc")
            .unwrap_err()
            .contains("phone-context"));
    }

    #[test]
    fn sip_and_sips_links_keep_their_parameters_and_drop_headers() {
        assert_eq!(
            parse_link("sip:bob@example.com"),
            Ok(call("sip:bob@example.com", "sip:bob@example.com"))
        );
        assert_eq!(
            parse_link("SIPS:bob@example.com"),
            Ok(call("sips:bob@example.com", "sips:bob@example.com"))
        );
        assert_eq!(
            parse_link("sip:bob@127.0.0.1:5062;transport=tcp"),
            Ok(call(
                "sip:bob@127.0.0.1:5062;transport=tcp",
                "sip:bob@127.0.0.1:5062;transport=tcp"
            ))
        );
        assert_eq!(
            parse_link("sip:bob%40example.com"),
            Ok(call("sip:bob@example.com", "sip:bob@example.com"))
        );
        assert_eq!(
            parse_link("sip:bob@example.com?subject=hi&priority=urgent"),
            Ok(call("sip:bob@example.com", "sip:bob@example.com"))
        );
        assert_eq!(
            parse_link("sip:[::1]:5060"),
            Ok(call("sip:[::1]:5060", "sip:[::1]:5060"))
        );
        assert!(parse_link("sip:").unwrap_err().contains("empty"));
        assert!(parse_link("sip:@example.com")
            .unwrap_err()
            .contains("name and a host"));
        assert!(parse_link("sip:bob@")
            .unwrap_err()
            .contains("name and a host"));
        assert!(parse_link("sip:bob%20smith@example.com")
            .unwrap_err()
            .contains("spaces"));
        assert!(parse_link("sip:bob@exa$mple.com")
            .unwrap_err()
            .contains("not a host name"));
    }

    #[test]
    fn callto_forms() {
        assert_eq!(
            parse_link("callto:+4930123"),
            Ok(call("+4930123", "+4930123"))
        );
        assert_eq!(
            parse_link("callto://+49-30-123/"),
            Ok(call("+4930123", "+49-30-123"))
        );
        assert_eq!(
            parse_link("callto:%2B49%2030%20123"),
            Ok(call("+4930123", "+49 30 123"))
        );
        assert_eq!(
            parse_link("callto:bob@example.com"),
            Ok(call("sip:bob@example.com", "sip:bob@example.com"))
        );
        assert_eq!(
            parse_link("callto://+4930123?call"),
            Ok(call("+4930123", "+4930123"))
        );
        assert!(parse_link("callto://echo123")
            .unwrap_err()
            .contains("another calling service"));
        assert!(parse_link("callto:").unwrap_err().contains("empty"));
    }

    #[test]
    fn bad_links_get_a_sentence() {
        let letters = parse_link("tel:+49-30-12ab").unwrap_err();
        assert_eq!(letters, "“+49-30-12ab” is not a phone number: it has letters in it. A tel: link carries digits only.");
        let long = format!("tel:{}", "1".repeat(2048));
        assert!(
            parse_link(&long)
                .unwrap_err()
                .contains("2052 characters long"),
            "{}",
            parse_link(&long).unwrap_err()
        );
        assert_eq!(
            parse_link(""),
            Err("The link is empty: there is no number to call.".into())
        );
        assert_eq!(
            parse_link("tel:"),
            Err("The link is empty: there is no number to call.".into())
        );
        assert_eq!(
            parse_link("tel:%20-"),
            Err("“-” has no digits to call.".into())
        );
        assert_eq!(
            parse_link("mailto:bob@example.com"),
            Err("Hookflash opens tel:, sip:, sips: and callto: links, not mailto: links.".into())
        );
        assert!(parse_link("tel:+49%2")
            .unwrap_err()
            .contains("broken %-escape"));
        assert!(parse_link("tel:+49%0a30")
            .unwrap_err()
            .contains("control characters"));
        assert!(parse_link("tel:+49%FF")
            .unwrap_err()
            .contains("not readable text"));
        assert!(parse_link("tel:+49+30")
            .unwrap_err()
            .contains("“+” has no place"));
        assert!(parse_link("just text").unwrap_err().contains("not a link"));
    }

    #[test]
    fn the_command_line_names_a_link_or_a_number_to_dial() {
        let app = "hookflash-app";
        assert_eq!(from_args([app]), None);
        assert_eq!(from_args([app, "--verbose"]), None);
        assert_eq!(
            from_args([app, "--automation", "tel:+4930123"]),
            from_args([app, "tel:+4930123"])
        );
        assert_eq!(
            from_args([app, "tel:+4930123", "--automation"]),
            from_args([app, "tel:+4930123"])
        );
        assert_eq!(
            from_args([app, "tel:+4930123"]),
            Some(LinkRequest::Call {
                call: call("+4930123", "+4930123")
            })
        );
        assert_eq!(
            from_args([app, "dial", "+49", "30", "123"]),
            Some(LinkRequest::Call {
                call: call("+4930123", "+49 30 123")
            })
        );
        assert_eq!(
            from_args([app, "dial", "bob@example.com"]),
            Some(LinkRequest::Call {
                call: call("sip:bob@example.com", "sip:bob@example.com")
            })
        );
        assert_eq!(
            from_args([app, "dial", "sip:bob@example.com"]),
            Some(LinkRequest::Call {
                call: call("sip:bob@example.com", "sip:bob@example.com")
            })
        );
        assert!(
            matches!(from_args([app, "dial"]), Some(LinkRequest::Refused { message }) if message.contains("needs a number"))
        );
        assert!(
            matches!(from_args([app, "dial", "call", "me"]), Some(LinkRequest::Refused { message }) if message.contains("letters"))
        );
        assert!(
            matches!(from_args([app, "foo:bar"]), Some(LinkRequest::Refused { message }) if message.contains("not foo: links"))
        );
        // Several words that are not `dial …` are not a link (e.g. options of a future version).
        assert_eq!(from_args([app, "tel:1", "tel:2"]), None);
    }

    #[test]
    fn asking_first_is_kept_in_the_profile_and_on_unless_switched_off() {
        let plain =
            hookflash_phone::parse_profile("[account]\naor = \"sip:alice@example.com\"\n").unwrap();
        assert!(plain.links.ask_before_calling);
        let off =
            "[account]\naor = \"sip:alice@example.com\"\n[links]\nask_before_calling = false\n";
        let mut profile = hookflash_phone::parse_profile(off).unwrap();
        assert!(!profile.links.ask_before_calling);
        let written = toml::to_string_pretty(&profile).unwrap();
        assert!(
            written.contains("[links]") && written.contains("ask_before_calling = false"),
            "{written}"
        );
        profile.links.ask_before_calling = true;
        assert!(
            !toml::to_string_pretty(&profile)
                .unwrap()
                .contains("[links]"),
            "the default is not written"
        );
        let typo =
            "[account]\naor = \"sip:alice@example.com\"\n[links]\nask_before_dialling = false\n";
        assert!(hookflash_phone::parse_profile(typo)
            .unwrap_err()
            .contains("ask_before_dialling"));
    }

    #[test]
    fn the_inbox_hands_each_link_over_once_in_order() {
        let inbox = LinkInbox::default();
        inbox.push(parse_link("tel:1").into());
        inbox.push(parse_link("tel:x").into());
        let taken = inbox.take();
        assert_eq!(taken.len(), 2);
        assert!(matches!(&taken[0], LinkRequest::Call { call } if call.target == "1"));
        assert!(matches!(&taken[1], LinkRequest::Refused { .. }));
        assert!(inbox.take().is_empty());
    }

    #[test]
    fn the_refusal_is_what_the_window_receives() {
        let refused: LinkRequest = parse_link("tel:abc").into();
        let json = serde_json::to_value(&refused).unwrap();
        assert_eq!(json["kind"], "refused");
        assert!(json["message"].as_str().unwrap().contains("letters"));
        let call: LinkRequest = parse_link("tel:+4930123").into();
        assert_eq!(
            serde_json::to_value(&call).unwrap()["call"]["target"],
            "+4930123"
        );
    }
}
