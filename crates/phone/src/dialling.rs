//! Dialling plan: what the user typed becomes what we call. Phone numbers are normalised to
//! E.164 with a default country (the `phonenumber` crate, Google's libphonenumber metadata);
//! short numbers and feature codes stay extensions; a habitual outside-line prefix (`9,`) is
//! understood; SIP addresses pass untouched. Also the per-call choice of outbound caller ID
//! from an allowed list, turned into P-Preferred-Identity and/or a configured header.
//!
//! The result's [`Dialled::dial_string`] is what the engine hands to
//! `hookflash_sip::target::dial_target` to build the request URI.

use phonenumber::{country, Mode, PhoneNumber};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// A dialling or caller-ID problem, as the sentence the user reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DialError(pub String);

/// A header that carries the chosen caller ID, e.g. `X-Outbound-CLI: {number}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerIdHeader {
    pub name: String,
    /// Value template: `{number}` (E.164 or as configured), `{name}` (display name),
    /// `{domain}` (the account's domain). Default `{number}`.
    #[serde(default = "default_header_value")]
    pub value: String,
}

fn default_header_value() -> String {
    "{number}".into()
}

/// One caller ID the user may present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct CallerId {
    /// A phone number (normalised like a dialled number) or a SIP user.
    pub number: String,
    /// Display name sent with it (optional).
    #[serde(default)]
    pub name: String,
}

/// Dialling settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiallingSettings {
    /// ISO country code for numbers typed without `+` (`GB`, `US`); empty means numbers must
    /// start with `+` or an international prefix.
    pub default_country: String,
    /// What users type to get an outside line on a desk phone (`9`); it is understood and
    /// removed (`9,020 7946 0958` dials +442079460958). Empty: none.
    pub outside_line_prefix: String,
    /// Put the outside-line prefix back in front of the E.164 number we send (for PBXs that
    /// need it): `9+442079460958`.
    pub send_outside_line_prefix: bool,
    /// Digit strings up to this long are extensions and are dialled as typed.
    pub max_extension_digits: usize,
    /// Caller IDs the user may choose per call; empty means the account's own identity only.
    pub caller_ids: Vec<CallerId>,
    /// Send the chosen caller ID as P-Preferred-Identity (RFC 3325).
    pub p_preferred_identity: bool,
    /// Also (or instead) send it in this header.
    pub caller_id_header: Option<CallerIdHeader>,
}

impl Default for DiallingSettings {
    fn default() -> Self {
        DiallingSettings {
            default_country: String::new(),
            outside_line_prefix: String::new(),
            send_outside_line_prefix: false,
            max_extension_digits: 5,
            caller_ids: Vec::new(),
            p_preferred_identity: true,
            caller_id_header: None,
        }
    }
}

/// What a dial string turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialled {
    /// A SIP/SIPS/tel URI or `user@host`, exactly as typed (trimmed).
    Uri(String),
    /// An extension, feature code (`*72`), short/emergency number or user name, without
    /// visual separators.
    Extension(String),
    /// A phone number: `e164` is `+442079460958`; `dial` is what goes in the request URI
    /// (the E.164 number, or the outside-line prefix followed by it).
    Number { e164: String, dial: String },
}

impl Dialled {
    /// The string to build the request URI from (`hookflash_sip::target::dial_target`).
    pub fn dial_string(&self) -> &str {
        match self {
            Dialled::Uri(s) | Dialled::Extension(s) => s,
            Dialled::Number { dial, .. } => dial,
        }
    }
}

/// Characters people put in numbers for readability.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}')
}

impl DiallingSettings {
    /// Checks the settings; every problem as a sentence naming the field.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if let Err(e) = self.country() {
            problems.push(format!("dialling.default_country: {e}"));
        }
        let p = self.outside_line_prefix.trim();
        if !p
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
        {
            problems.push(format!(
                "dialling.outside_line_prefix: `{p}` must be digits (like 9 or 0)"
            ));
        }
        if self.max_extension_digits > 8 {
            problems.push(format!(
                "dialling.max_extension_digits: {} is too long for extensions (at most 8)",
                self.max_extension_digits
            ));
        }
        for (i, id) in self.caller_ids.iter().enumerate() {
            if let Err(e) = self.caller_id_key(&id.number) {
                problems.push(format!("dialling.caller_ids[{}]: {e}", i + 1));
            }
        }
        if let Some(h) = &self.caller_id_header {
            let n = h.name.trim();
            if n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                problems.push(format!(
                    "dialling.caller_id_header.name: `{}` is not a header name",
                    h.name
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn country(&self) -> Result<Option<country::Id>, DialError> {
        let c = self.default_country.trim().to_ascii_uppercase();
        if c.is_empty() {
            return Ok(None);
        }
        country::Id::from_str(&c).map(Some).map_err(|_| {
            DialError(format!(
                "`{}` is not a country code; use a two-letter code like GB or US",
                self.default_country.trim()
            ))
        })
    }

    /// Normalises what the user typed.
    pub fn normalise(&self, input: &str) -> Result<Dialled, DialError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DialError("nothing to dial".into()));
        }
        let lower = s.to_ascii_lowercase();
        if ["sip:", "sips:", "tel:"]
            .iter()
            .any(|p| lower.starts_with(p))
            || s.contains('@')
        {
            return Ok(Dialled::Uri(s.to_string()));
        }
        let compact: String = s.chars().filter(|c| !is_separator(*c)).collect();
        if compact.chars().any(|c| c.is_alphabetic())
            && !compact.chars().any(|c| c.is_ascii_digit())
        {
            // A user name such as `alice`: the account's domain is added later.
            return Ok(Dialled::Extension(compact));
        }
        if compact.contains(['*', '#']) {
            return Ok(Dialled::Extension(compact));
        }
        let digits_only = compact.chars().all(|c| c.is_ascii_digit());
        if digits_only && compact.len() <= self.max_extension_digits {
            return Ok(Dialled::Extension(compact));
        }

        let number_text = self.without_outside_line_prefix(s)?;
        let number = self.parse_number(number_text, input)?;
        let e164 = number.format().mode(Mode::E164).to_string();
        let dial = if self.send_outside_line_prefix && !self.outside_line_prefix.trim().is_empty() {
            format!("{}{e164}", self.outside_line_prefix.trim())
        } else {
            e164.clone()
        };
        Ok(Dialled::Number { e164, dial })
    }

    /// Removes a leading outside-line prefix: always when a pause/separator follows it
    /// (`9,0207…`, `9 0207…`), and when glued on (`90207…`) only if the rest is a valid number
    /// and the whole is not.
    fn without_outside_line_prefix<'a>(&self, s: &'a str) -> Result<&'a str, DialError> {
        let prefix = self.outside_line_prefix.trim();
        if prefix.is_empty() || !s.starts_with(prefix) {
            return Ok(s);
        }
        let rest = &s[prefix.len()..];
        if let Some(after) = rest.strip_prefix([',', ';', 'p', 'P', 'w', 'W', ' ', '-']) {
            return Ok(after.trim_start_matches([',', ' ']).trim());
        }
        let valid = |t: &str| {
            self.country()
                .ok()
                .and_then(|c| phonenumber::parse(c, t).ok())
                .is_some_and(|n| n.is_valid())
        };
        if !valid(s) && valid(rest) {
            return Ok(rest);
        }
        Ok(s)
    }

    fn parse_number(&self, text: &str, input: &str) -> Result<PhoneNumber, DialError> {
        let country = self.country()?;
        let t = text.trim();
        let international = t.starts_with('+') || t.starts_with("00") || t.starts_with("011");
        if country.is_none() && !t.starts_with('+') {
            return Err(DialError(format!(
                "`{input}` has no country code; start it with + and the country code, or set a default country in settings"
            )));
        }
        if t.chars().any(|c| c.is_alphabetic()) {
            return Err(DialError(format!(
                "`{input}` mixes letters and digits; type a number, an extension or a SIP address"
            )));
        }
        let number = phonenumber::parse(country, t)
            .map_err(|e| DialError(format!("`{input}` is not a phone number ({e})")))?;
        if !number.is_valid() {
            let place = match (international, country) {
                (false, Some(c)) => format!(" in {}", c.as_ref()),
                _ => String::new(),
            };
            return Err(DialError(format!(
                "`{input}` is not a valid phone number{place}; check the digits"
            )));
        }
        Ok(number)
    }

    /// The comparable form of a caller ID: E.164 for numbers, else the trimmed text.
    fn caller_id_key(&self, text: &str) -> Result<String, DialError> {
        match self.normalise(text)? {
            Dialled::Number { e164, .. } => Ok(e164),
            Dialled::Extension(e) => Ok(e),
            Dialled::Uri(u) => Ok(u),
        }
    }

    /// The headers for a call's optional caller-ID choice: none when nothing (or only blanks)
    /// was chosen, so the account's own identity goes out; else [`Self::caller_id_headers`].
    pub fn headers_for_call(
        &self,
        chosen: Option<&str>,
        account_domain: &str,
    ) -> Result<Vec<(String, String)>, DialError> {
        match chosen.map(str::trim) {
            None | Some("") => Ok(Vec::new()),
            Some(c) => self.caller_id_headers(c, account_domain),
        }
    }

    /// The headers that present `chosen` as this call's caller ID: P-Preferred-Identity (if
    /// enabled) and the configured header. `chosen` may be written any way that normalises to
    /// an allowed entry (`020 7946 0958` matches `+442079460958`). Refuses an ID not in the list.
    pub fn caller_id_headers(
        &self,
        chosen: &str,
        account_domain: &str,
    ) -> Result<Vec<(String, String)>, DialError> {
        let key = self
            .caller_id_key(chosen)
            .map_err(|e| DialError(format!("caller ID: {e}")))?;
        let allowed = self
            .caller_ids
            .iter()
            .find(|id| self.caller_id_key(&id.number).is_ok_and(|k| k == key))
            .ok_or_else(|| {
                let list: Vec<&str> = self
                    .caller_ids
                    .iter()
                    .map(|id| id.number.as_str())
                    .collect();
                let list = if list.is_empty() {
                    "none is set up".to_string()
                } else {
                    list.join(", ")
                };
                DialError(format!(
                    "caller ID {} is not in this account's allowed list ({list})",
                    chosen.trim()
                ))
            })?;
        let mut headers = Vec::new();
        let name = allowed.name.trim();
        if self.p_preferred_identity {
            let uri =
                if key.starts_with("sip:") || key.starts_with("sips:") || key.starts_with("tel:") {
                    key.clone()
                } else if key.contains('@') {
                    format!("sip:{key}")
                } else if key.starts_with('+') {
                    format!("sip:{key}@{account_domain};user=phone")
                } else {
                    format!("sip:{key}@{account_domain}")
                };
            let value = if name.is_empty() {
                format!("<{uri}>")
            } else {
                format!("\"{}\" <{uri}>", name.replace(['"', '\\'], ""))
            };
            headers.push(("P-Preferred-Identity".to_string(), value));
        }
        if let Some(h) = &self.caller_id_header {
            let value = h
                .value
                .replace("{number}", &key)
                .replace("{name}", name)
                .replace("{domain}", account_domain);
            headers.push((h.name.trim().to_string(), value));
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(country: &str) -> DiallingSettings {
        DiallingSettings {
            default_country: country.into(),
            ..Default::default()
        }
    }

    fn number(s: &DiallingSettings, input: &str) -> String {
        match s.normalise(input) {
            Ok(Dialled::Number { e164, .. }) => e164,
            other => panic!("{input}: {other:?}"),
        }
    }

    #[test]
    fn international_and_national_numbers_become_e164() {
        let gb = settings("GB");
        assert_eq!(number(&gb, "+44 20 7946 0958"), "+442079460958");
        assert_eq!(number(&gb, "020 7946 0958"), "+442079460958");
        assert_eq!(number(&gb, "00 1 415 555 2671"), "+14155552671");
        let us = settings("us");
        assert_eq!(number(&us, "(415) 555-2671"), "+14155552671");
        assert_eq!(number(&us, "011 44 20 7946 0958"), "+442079460958");
        // Without a default country, + numbers still work.
        assert_eq!(number(&settings(""), "+1 (415) 555-2671"), "+14155552671");
        assert_eq!(
            gb.normalise("020 7946 0958").unwrap().dial_string(),
            "+442079460958"
        );
    }

    #[test]
    fn outside_line_prefix_is_understood() {
        let mut s = settings("GB");
        s.outside_line_prefix = "9".into();
        assert_eq!(number(&s, "9,020 7946 0958"), "+442079460958");
        assert_eq!(number(&s, "9,02079460958"), "+442079460958");
        assert_eq!(number(&s, "9 020 7946 0958"), "+442079460958");
        assert_eq!(number(&s, "902079460958"), "+442079460958");
        assert_eq!(number(&s, "9,+1 415 555 2671"), "+14155552671");
        // Without the prefix it still works.
        assert_eq!(number(&s, "020 7946 0958"), "+442079460958");
        // A PBX that wants the prefix gets it in front of the E.164 number.
        s.send_outside_line_prefix = true;
        assert_eq!(
            s.normalise("9,020 7946 0958").unwrap(),
            Dialled::Number {
                e164: "+442079460958".into(),
                dial: "9+442079460958".into()
            }
        );
    }

    #[test]
    fn short_numbers_feature_codes_and_names_stay_as_typed() {
        let s = settings("GB");
        assert_eq!(
            s.normalise("1234").unwrap(),
            Dialled::Extension("1234".into())
        );
        assert_eq!(
            s.normalise(" 12-34 ").unwrap(),
            Dialled::Extension("1234".into())
        );
        assert_eq!(
            s.normalise("999").unwrap(),
            Dialled::Extension("999".into())
        );
        assert_eq!(
            s.normalise("*72 2001").unwrap(),
            Dialled::Extension("*722001".into())
        );
        assert_eq!(
            s.normalise("#31#").unwrap(),
            Dialled::Extension("#31#".into())
        );
        assert_eq!(
            s.normalise("alice").unwrap(),
            Dialled::Extension("alice".into())
        );
        assert_eq!(s.normalise("1234").unwrap().dial_string(), "1234");
        let long_ext = DiallingSettings {
            max_extension_digits: 6,
            ..settings("GB")
        };
        assert_eq!(
            long_ext.normalise("200123").unwrap(),
            Dialled::Extension("200123".into())
        );
    }

    #[test]
    fn sip_addresses_are_untouched() {
        let s = settings("GB");
        for uri in [
            "sip:+442079460958@pbx.example.com;user=phone",
            "sips:bob@example.com",
            "tel:+442079460958",
            "bob@example.com",
            "SIP:Bob@Example.com",
        ] {
            assert_eq!(
                s.normalise(&format!("  {uri} ")).unwrap(),
                Dialled::Uri(uri.into())
            );
        }
    }

    #[test]
    fn bad_numbers_say_why() {
        let gb = settings("GB");
        assert_eq!(gb.normalise("  ").unwrap_err().0, "nothing to dial");
        assert_eq!(
            gb.normalise("0207 946 095").unwrap_err().0,
            "`0207 946 095` is not a valid phone number in GB; check the digits"
        );
        assert_eq!(
            gb.normalise("+99 123 456").unwrap_err().0,
            "`+99 123 456` is not a phone number (invalid country code)"
        );
        assert_eq!(
            settings("").normalise("020 7946 0958").unwrap_err().0,
            "`020 7946 0958` has no country code; start it with + and the country code, or set a default country in settings"
        );
        assert!(gb
            .normalise("0800 FLOWERS")
            .unwrap_err()
            .0
            .contains("mixes letters and digits"));
        assert_eq!(
            settings("XX").normalise("020 7946 0958").unwrap_err().0,
            "`XX` is not a country code; use a two-letter code like GB or US"
        );
    }

    fn with_caller_ids() -> DiallingSettings {
        DiallingSettings {
            caller_ids: vec![
                CallerId {
                    number: "+442079460958".into(),
                    name: "Acme Sales".into(),
                },
                CallerId {
                    number: "020 7946 0000".into(),
                    name: String::new(),
                },
                CallerId {
                    number: "2001".into(),
                    name: String::new(),
                },
            ],
            ..settings("GB")
        }
    }

    #[test]
    fn caller_id_from_the_allowed_list() {
        let s = with_caller_ids();
        s.validate().unwrap();
        assert_eq!(
            s.caller_id_headers("020 7946 0958", "example.com").unwrap(),
            [(
                "P-Preferred-Identity".to_string(),
                "\"Acme Sales\" <sip:+442079460958@example.com;user=phone>".to_string()
            )]
        );
        assert_eq!(
            s.caller_id_headers("+44 20 7946 0000", "example.com")
                .unwrap(),
            [(
                "P-Preferred-Identity".to_string(),
                "<sip:+442079460000@example.com;user=phone>".to_string()
            )]
        );
        assert_eq!(
            s.caller_id_headers("2001", "example.com").unwrap(),
            [(
                "P-Preferred-Identity".to_string(),
                "<sip:2001@example.com>".to_string()
            )]
        );
    }

    #[test]
    fn caller_id_in_a_configured_header_instead_of_ppi() {
        let s = DiallingSettings {
            p_preferred_identity: false,
            caller_id_header: Some(CallerIdHeader {
                name: "X-Outbound-CLI".into(),
                value: "{number};name={name}".into(),
            }),
            ..with_caller_ids()
        };
        assert_eq!(
            s.caller_id_headers("+442079460958", "example.com").unwrap(),
            [(
                "X-Outbound-CLI".to_string(),
                "+442079460958;name=Acme Sales".to_string()
            )]
        );
    }

    #[test]
    fn caller_id_not_in_the_list_is_refused() {
        let s = with_caller_ids();
        assert_eq!(
            s.caller_id_headers("+1 415 555 2671", "example.com").unwrap_err().0,
            "caller ID +1 415 555 2671 is not in this account's allowed list (+442079460958, 020 7946 0000, 2001)"
        );
        assert_eq!(
            settings("GB")
                .caller_id_headers("2001", "example.com")
                .unwrap_err()
                .0,
            "caller ID 2001 is not in this account's allowed list (none is set up)"
        );
        assert_eq!(
            s.caller_id_headers("12345678901234567890", "example.com")
                .unwrap_err()
                .0,
            "caller ID: `12345678901234567890` is not a phone number (the number is too long)"
        );
    }

    #[test]
    fn no_caller_id_chosen_sends_no_header_and_a_chosen_one_is_checked() {
        let s = with_caller_ids();
        assert!(s.headers_for_call(None, "example.com").unwrap().is_empty());
        assert!(s
            .headers_for_call(Some("  "), "example.com")
            .unwrap()
            .is_empty());
        assert!(settings("GB")
            .headers_for_call(None, "example.com")
            .unwrap()
            .is_empty());
        assert_eq!(
            s.headers_for_call(Some(" 2001 "), "pbx.example.com")
                .unwrap(),
            [(
                "P-Preferred-Identity".to_string(),
                "<sip:2001@pbx.example.com>".to_string()
            )]
        );
        assert_eq!(
            s.headers_for_call(Some("+441234567890"), "example.com").unwrap_err().0,
            "caller ID +441234567890 is not in this account's allowed list (+442079460958, 020 7946 0000, 2001)"
        );
        // Both headers when both are configured, P-Preferred-Identity first.
        let both = DiallingSettings {
            caller_id_header: Some(CallerIdHeader {
                name: "X-CLI".into(),
                value: "{number}@{domain}".into(),
            }),
            ..with_caller_ids()
        };
        let h = both
            .headers_for_call(Some("020 7946 0000"), "example.com")
            .unwrap();
        assert_eq!(
            h,
            [
                (
                    "P-Preferred-Identity".to_string(),
                    "<sip:+442079460000@example.com;user=phone>".to_string()
                ),
                ("X-CLI".to_string(), "+442079460000@example.com".to_string())
            ]
        );
    }

    #[test]
    fn settings_validation_names_each_field() {
        let s = DiallingSettings {
            default_country: "UK".into(),
            outside_line_prefix: "nine".into(),
            max_extension_digits: 12,
            caller_ids: vec![CallerId {
                number: "+99 1".into(),
                name: String::new(),
            }],
            caller_id_header: Some(CallerIdHeader {
                name: "X Bad".into(),
                value: "{number}".into(),
            }),
            ..Default::default()
        };
        let problems = s.validate().unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert_eq!(problems[0], "dialling.default_country: `UK` is not a country code; use a two-letter code like GB or US");
        assert!(problems[1].starts_with("dialling.outside_line_prefix:"));
        assert!(problems[2].starts_with("dialling.max_extension_digits:"));
        assert!(problems[3].starts_with("dialling.caller_ids[1]:"));
        assert!(problems[4].starts_with("dialling.caller_id_header.name:"));
        assert!(DiallingSettings::default().validate().is_ok());
        let parsed: DiallingSettings = toml::from_str(
            "default_country = \"GB\"\noutside_line_prefix = \"9\"\ncaller_ids = [{ number = \"+442079460958\", name = \"Sales\" }]\ncaller_id_header = { name = \"X-CLI\" }",
        )
        .unwrap();
        assert_eq!(parsed.caller_id_header.as_ref().unwrap().value, "{number}");
        parsed.validate().unwrap();
    }
}
