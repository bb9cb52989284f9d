//! Classifying an incoming call: is it a direct call to this user or a call from a queue or
//! hunt group, was it forwarded, and does the caller ask us to answer automatically (intercom)?
//!
//! The input is a plain [`CallFacts`] (header values as strings, copied out of the INVITE by the
//! engine), so every rule here is tested without SIP. What counts as a queue call is configured
//! in [`ClassifyConfig`]: a list of queue/group identities, a header (with an optional value
//! pattern) that marks queue calls, Alert-Info markers, or "To is not my account".

use serde::{Deserialize, Serialize};

/// Everything about an incoming INVITE that routing looks at, as the header values were
/// received. Headers that can repeat (Diversion, History-Info, Alert-Info, Call-Info) hold one
/// entry per header line (comma-separated values within one line are split here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFacts {
    /// The request URI, e.g. `sip:alice@10.0.0.5:5060`.
    pub request_uri: String,
    /// The To header value, e.g. `"Sales" <sip:sales@pbx.example.com>`.
    pub to: String,
    /// The From header value, e.g. `"Bob" <sip:+441632960001@pbx.example.com>;tag=1`.
    pub from: String,
    /// The caller's number if the engine already knows it better than From (e.g. from
    /// P-Asserted-Identity); empty means "take the user part of From".
    pub caller_number: String,
    /// Diversion header values (RFC 5806), oldest first.
    pub diversion: Vec<String>,
    /// History-Info header values (RFC 7044).
    pub history_info: Vec<String>,
    /// Alert-Info header values.
    pub alert_info: Vec<String>,
    /// Call-Info header values.
    pub call_info: Vec<String>,
    /// Any other headers, as (name, value), for the configured queue header.
    pub headers: Vec<(String, String)>,
    /// The AOR of the account the call arrived on, e.g. `sip:alice@example.com`.
    pub account_aor: String,
}

impl CallFacts {
    /// Builds the facts from a request URI, the request's headers as (name, value) pairs in
    /// the order received, and the account's AOR. Compact forms (`t`, `f`) are understood;
    /// P-Asserted-Identity (if present) gives the caller number; every header is also kept in
    /// `headers` for the configured queue header.
    pub fn from_headers(
        request_uri: &str,
        headers: &[(String, String)],
        account_aor: &str,
    ) -> CallFacts {
        let mut facts = CallFacts {
            request_uri: request_uri.trim().to_string(),
            account_aor: account_aor.trim().to_string(),
            ..Default::default()
        };
        for (name, value) in headers {
            let value = value.trim().to_string();
            match name.trim().to_ascii_lowercase().as_str() {
                "to" | "t" => facts.to = value.clone(),
                "from" | "f" => facts.from = value.clone(),
                "p-asserted-identity" if facts.caller_number.is_empty() => {
                    facts.caller_number = split_header_list(&value)
                        .first()
                        .map(|v| user_of(uri_of(v)))
                        .unwrap_or_default();
                }
                "diversion" => facts.diversion.push(value.clone()),
                "history-info" => facts.history_info.push(value.clone()),
                "alert-info" => facts.alert_info.push(value.clone()),
                "call-info" => facts.call_info.push(value.clone()),
                _ => {}
            }
            facts.headers.push((name.trim().to_string(), value));
        }
        facts
    }
}

/// Direct call to this user, or a call offered by a queue / hunt group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Direct,
    Queue,
}

impl CallKind {
    /// The spelling used in rule expressions (`kind == "queue"`) and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Direct => "direct",
            CallKind::Queue => "queue",
        }
    }
}

/// A header whose presence (and optionally value) marks a queue call, e.g. `X-Queue: sales`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatch {
    /// Header name, matched case-insensitively.
    pub name: String,
    /// Value pattern: empty or `*` matches any value; `*` inside is a wildcard
    /// (`sales-*`); matched case-insensitively.
    #[serde(default)]
    pub value: String,
}

/// How to tell queue calls from direct calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifyConfig {
    /// Queue or group identities: a user part (`sales`, `6001`) or a full URI
    /// (`sip:sales@pbx.example.com`). A call whose request URI, To, Diversion or History-Info
    /// names one of them is a queue call.
    pub queues: Vec<String>,
    /// A header that marks queue calls (e.g. `X-Queue`, or `X-Call-Type` = `queue`).
    pub queue_header: Option<HeaderMatch>,
    /// Alert-Info substrings that mark queue calls (e.g. `queue`, `<urn:alert:source:external>`).
    pub queue_alert_info: Vec<String>,
    /// Treat a call whose To user is not this account's user as a group call.
    pub to_other_than_account_is_queue: bool,
}

/// The result of classification: the call's kind and the facts rules can test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub kind: CallKind,
    /// The queue/group that offered the call (matched identity or header value); empty if direct.
    pub queue: String,
    /// Why the call got its kind, for logs ("To names queue `sales`").
    pub reason: String,
    /// Diversion or History-Info shows the call was forwarded to us.
    pub forwarded: bool,
    /// Caller number (or user part) from `caller_number` or From.
    pub caller: String,
    /// Caller display name from From, if any.
    pub caller_name: String,
    /// The number/user the caller dialled (To user part).
    pub called: String,
    /// Alert-Info asks for intercom / auto-answer, or Call-Info carries `answer-after`.
    pub intercom: bool,
    /// Call-Info `answer-after=N` seconds, if present.
    pub answer_after: Option<u32>,
}

/// Decides direct vs queue and extracts the caller and intercom facts.
pub fn classify(facts: &CallFacts, config: &ClassifyConfig) -> Classification {
    let (caller_name, from_user) = name_and_user(&facts.from);
    let caller = if facts.caller_number.trim().is_empty() {
        from_user
    } else {
        facts.caller_number.trim().to_string()
    };
    let called = name_and_user(&facts.to).1;
    let history_entries: usize = facts
        .history_info
        .iter()
        .map(|h| split_header_list(h).len())
        .sum();
    let forwarded = !facts.diversion.is_empty()
        || history_entries > 1
        || facts.history_info.iter().any(|h| {
            let h = h.to_ascii_lowercase();
            h.contains("cause=") || h.contains("cause%3d")
        });
    let answer_after = facts.call_info.iter().find_map(|c| answer_after_of(c));
    let intercom = answer_after.is_some()
        || facts.alert_info.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            ["intercom", "auto-answer", "autoanswer", "ring-answer"]
                .iter()
                .any(|m| a.contains(m))
        });
    let (kind, queue, reason) = queue_match(facts, config)
        .map(|(queue, reason)| (CallKind::Queue, queue, reason))
        .unwrap_or((
            CallKind::Direct,
            String::new(),
            "no queue marker".to_string(),
        ));
    Classification {
        kind,
        queue,
        reason,
        forwarded,
        caller,
        caller_name,
        called,
        intercom,
        answer_after,
    }
}

/// The first queue marker found, as (queue name, reason).
fn queue_match(facts: &CallFacts, config: &ClassifyConfig) -> Option<(String, String)> {
    if let Some(h) = &config.queue_header {
        let name = h.name.trim();
        if let Some((_, value)) = facts.headers.iter().find(|(n, v)| {
            n.trim().eq_ignore_ascii_case(name) && wildcard_match(&h.value, v.trim())
        }) {
            let value = value.trim().to_string();
            let reason = format!("header {name}: {value}");
            return Some((value, reason));
        }
    }
    let places: [(&str, &[String]); 4] = [
        ("request URI", std::slice::from_ref(&facts.request_uri)),
        ("To", std::slice::from_ref(&facts.to)),
        ("Diversion", &facts.diversion),
        ("History-Info", &facts.history_info),
    ];
    for queue in config
        .queues
        .iter()
        .map(|q| q.trim())
        .filter(|q| !q.is_empty())
    {
        for (place, values) in places {
            if values.iter().any(|v| names_identity(v, queue)) {
                return Some((queue.to_string(), format!("{place} names queue `{queue}`")));
            }
        }
    }
    for marker in config
        .queue_alert_info
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
    {
        let m = marker.to_ascii_lowercase();
        if let Some(a) = facts
            .alert_info
            .iter()
            .find(|a| a.to_ascii_lowercase().contains(&m))
        {
            return Some((String::new(), format!("Alert-Info {a}")));
        }
    }
    if config.to_other_than_account_is_queue {
        let to_user = name_and_user(&facts.to).1;
        let own_user = name_and_user(&facts.account_aor).1;
        if !to_user.is_empty() && !own_user.is_empty() && !to_user.eq_ignore_ascii_case(&own_user) {
            return Some((
                to_user.clone(),
                format!("To names `{to_user}`, not this account"),
            ));
        }
    }
    None
}

/// Does a header value (name-addr or URI, possibly several comma-separated) name `identity`
/// (a bare user part or a full URI)?
fn names_identity(header_value: &str, identity: &str) -> bool {
    split_header_list(header_value).into_iter().any(|entry| {
        let uri = uri_of(entry);
        if identity.contains(':') {
            strip_uri_params(uri).eq_ignore_ascii_case(strip_uri_params(identity))
        } else {
            user_of(uri).eq_ignore_ascii_case(identity)
        }
    })
}

/// Splits a header value on commas that are outside `<...>` and quotes.
fn split_header_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth <= 0 => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

/// The URI inside a name-addr (`"Bob" <sip:bob@x>;tag=1` → `sip:bob@x`), or the value itself.
fn uri_of(value: &str) -> &str {
    let v = value.trim();
    match (v.find('<'), v.find('>')) {
        (Some(a), Some(b)) if b > a => &v[a + 1..b],
        _ => v.split(';').next().unwrap_or(v).trim(),
    }
}

/// `sip:user@host;params?headers` → `sip:user@host`.
fn strip_uri_params(uri: &str) -> &str {
    let end = uri.find([';', '?']).unwrap_or(uri.len());
    uri[..end].trim()
}

/// The user part of a URI (`sip:+4420@x` → `+4420`, `tel:+4420;p=1` → `+4420`); a value with no
/// scheme and no `@` is taken as the user itself.
fn user_of(uri: &str) -> String {
    let uri = strip_uri_params(uri);
    let rest = uri
        .split_once(':')
        .filter(|(scheme, _)| {
            ["sip", "sips", "tel"].contains(&scheme.to_ascii_lowercase().as_str())
        })
        .map(|(_, rest)| rest)
        .unwrap_or(uri);
    let user = rest.split('@').next().unwrap_or("");
    if !rest.contains('@') && uri.contains(':') && !uri.to_ascii_lowercase().starts_with("tel:") {
        // `sip:host` has no user part.
        return String::new();
    }
    user.split(';').next().unwrap_or("").to_string()
}

/// Display name and user part of a From/To value.
fn name_and_user(value: &str) -> (String, String) {
    let v = value.trim();
    let name = match v.find('<') {
        Some(i) => v[..i].trim().trim_matches('"').trim().to_string(),
        None => String::new(),
    };
    (name, user_of(uri_of(v)))
}

/// `answer-after=N` from one Call-Info value.
fn answer_after_of(call_info: &str) -> Option<u32> {
    call_info
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("answer-after"))
        .and_then(|(_, v)| v.trim().trim_matches('"').parse().ok())
}

/// Case-insensitive match with `*` wildcards; an empty pattern or `*` matches anything.
pub(crate) fn wildcard_match(pattern: &str, value: &str) -> bool {
    let p = pattern.trim().to_ascii_lowercase();
    let v = value.to_ascii_lowercase();
    if p.is_empty() || p == "*" {
        return true;
    }
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return v == p;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !v.starts_with(first) || v.len() < first.len() + last.len() || !v.ends_with(last) {
        return false;
    }
    let mut rest = &v[first.len()..v.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> CallFacts {
        CallFacts {
            request_uri: "sip:alice@192.0.2.10:5060;transport=udp".into(),
            to: "<sip:alice@example.com>".into(),
            from: "\"Bob Smith\" <sip:+441632960001@example.com>;tag=abc".into(),
            account_aor: "sip:alice@example.com".into(),
            ..Default::default()
        }
    }

    fn queues(q: &[&str]) -> ClassifyConfig {
        ClassifyConfig {
            queues: q.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn plain_call_is_direct_with_caller_from_from() {
        let c = classify(&facts(), &queues(&["sales"]));
        assert_eq!(c.kind, CallKind::Direct);
        assert_eq!(c.caller, "+441632960001");
        assert_eq!(c.caller_name, "Bob Smith");
        assert_eq!(c.called, "alice");
        assert!(!c.forwarded && !c.intercom);
        assert_eq!(c.answer_after, None);
    }

    #[test]
    fn caller_number_overrides_from() {
        let mut f = facts();
        f.caller_number = " +15550001 ".into();
        assert_eq!(classify(&f, &ClassifyConfig::default()).caller, "+15550001");
    }

    #[test]
    fn to_naming_a_queue_user_part_is_queue() {
        let mut f = facts();
        f.to = "\"Sales\" <sip:sales@pbx.example.com>".into();
        let c = classify(&f, &queues(&["support", "sales"]));
        assert_eq!(c.kind, CallKind::Queue);
        assert_eq!(c.queue, "sales");
        assert_eq!(c.reason, "To names queue `sales`");
    }

    #[test]
    fn request_uri_naming_a_full_queue_uri_is_queue() {
        let mut f = facts();
        f.request_uri = "sip:6001@pbx.example.com;user=phone".into();
        let c = classify(&f, &queues(&["sip:6001@pbx.example.com"]));
        assert_eq!(c.kind, CallKind::Queue);
        // A full URI does not match a different host.
        let c = classify(&f, &queues(&["sip:6001@other.example.com"]));
        assert_eq!(c.kind, CallKind::Direct);
    }

    #[test]
    fn diversion_from_a_group_is_queue_and_forwarded() {
        let mut f = facts();
        f.diversion = vec!["<sip:support@pbx.example.com>;reason=unconditional".into()];
        let c = classify(&f, &queues(&["support"]));
        assert_eq!(c.kind, CallKind::Queue);
        assert!(c.forwarded);
        assert_eq!(c.reason, "Diversion names queue `support`");
    }

    #[test]
    fn diversion_from_a_person_is_direct_but_forwarded() {
        let mut f = facts();
        f.diversion = vec!["<sip:carol@example.com>;reason=no-answer".into()];
        let c = classify(&f, &queues(&["support"]));
        assert_eq!(c.kind, CallKind::Direct);
        assert!(c.forwarded);
    }

    #[test]
    fn history_info_list_in_one_header_is_split() {
        let mut f = facts();
        f.history_info = vec![
            "<sip:sales@pbx.example.com>;index=1, <sip:alice@example.com?Reason=SIP%3Bcause%3D302>;index=1.1".into(),
        ];
        let c = classify(&f, &queues(&["sales"]));
        assert_eq!(c.kind, CallKind::Queue);
        assert_eq!(c.reason, "History-Info names queue `sales`");
        // Two entries (and a redirect cause) in one History-Info line count as forwarded.
        assert!(c.forwarded);
        let mut g = facts();
        g.history_info = vec!["<sip:alice@example.com?Reason=SIP%3Bcause%3D480>;index=1".into()];
        assert!(classify(&g, &ClassifyConfig::default()).forwarded);
        // A single History-Info entry without a cause is not forwarding.
        let mut g = facts();
        g.history_info = vec!["<sip:alice@example.com>;index=1".into()];
        assert!(!classify(&g, &ClassifyConfig::default()).forwarded);
    }

    #[test]
    fn configured_header_marks_queue_with_value_pattern() {
        let mut config = ClassifyConfig {
            queue_header: Some(HeaderMatch {
                name: "X-Call-Type".into(),
                value: "queue*".into(),
            }),
            ..Default::default()
        };
        let mut f = facts();
        f.headers = vec![("x-call-type".into(), "Queue-Sales".into())];
        let c = classify(&f, &config);
        assert_eq!(c.kind, CallKind::Queue);
        assert_eq!(c.queue, "Queue-Sales");
        assert_eq!(c.reason, "header X-Call-Type: Queue-Sales");
        f.headers = vec![("X-Call-Type".into(), "direct".into())];
        assert_eq!(classify(&f, &config).kind, CallKind::Direct);
        // An empty pattern means "present with any value".
        config.queue_header.as_mut().unwrap().value = String::new();
        assert_eq!(classify(&f, &config).kind, CallKind::Queue);
    }

    #[test]
    fn alert_info_marker_marks_queue() {
        let config = ClassifyConfig {
            queue_alert_info: vec!["info=queue".into()],
            ..Default::default()
        };
        let mut f = facts();
        f.alert_info = vec!["<http://127.0.0.1/ring.wav>;info=Queue".into()];
        assert_eq!(classify(&f, &config).kind, CallKind::Queue);
    }

    #[test]
    fn to_other_than_account_is_queue_when_enabled() {
        let mut f = facts();
        f.to = "<sip:6000@example.com>".into();
        assert_eq!(
            classify(&f, &ClassifyConfig::default()).kind,
            CallKind::Direct
        );
        let config = ClassifyConfig {
            to_other_than_account_is_queue: true,
            ..Default::default()
        };
        let c = classify(&f, &config);
        assert_eq!(c.kind, CallKind::Queue);
        assert_eq!(c.queue, "6000");
        // To naming the account itself stays direct.
        assert_eq!(classify(&facts(), &config).kind, CallKind::Direct);
    }

    #[test]
    fn intercom_from_alert_info_and_answer_after_from_call_info() {
        let mut f = facts();
        f.alert_info = vec!["<http://www.notused.com>;info=alert-autoanswer".into()];
        let c = classify(&f, &ClassifyConfig::default());
        assert!(c.intercom);
        assert_eq!(c.answer_after, None);

        let mut f = facts();
        f.alert_info = vec!["<urn:alert:service:intercom>".into()];
        assert!(classify(&f, &ClassifyConfig::default()).intercom);

        let mut f = facts();
        f.call_info = vec!["<sip:pbx.example.com>;answer-after=3".into()];
        let c = classify(&f, &ClassifyConfig::default());
        assert!(c.intercom);
        assert_eq!(c.answer_after, Some(3));

        let mut f = facts();
        f.call_info = vec!["<http://example.com/photo.jpg>;purpose=icon".into()];
        assert!(!classify(&f, &ClassifyConfig::default()).intercom);
    }

    #[test]
    fn user_parts_of_various_uris() {
        assert_eq!(user_of("sip:bob@x;transport=tcp"), "bob");
        assert_eq!(
            user_of("tel:+441632960001;phone-context=x"),
            "+441632960001"
        );
        assert_eq!(user_of("sip:pbx.example.com"), "");
        assert_eq!(user_of("6001"), "6001");
        assert_eq!(
            name_and_user("Anonymous <sip:anonymous@anonymous.invalid>").0,
            "Anonymous"
        );
    }

    #[test]
    fn facts_from_a_header_list() {
        let h = |n: &str, v: &str| (n.to_string(), v.to_string());
        let headers = [
            h("Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1"),
            h("f", "\"Bob\" <sip:bob@example.com>;tag=9"),
            h("t", "<sip:sales@example.com>"),
            h(
                "P-Asserted-Identity",
                "<sip:+441632960001@example.com>, <tel:+441632960001>",
            ),
            h("Diversion", "<sip:sales@example.com>;reason=unconditional"),
            h("History-Info", "<sip:sales@example.com>;index=1"),
            h("Alert-Info", "<urn:alert:service:intercom>"),
            h("Call-Info", "<sip:pbx.example.com>;answer-after=1"),
            h("X-Queue", "sales"),
        ];
        let f =
            CallFacts::from_headers(" sip:alice@192.0.2.10 ", &headers, "sip:alice@example.com");
        assert_eq!(f.request_uri, "sip:alice@192.0.2.10");
        assert_eq!(f.from, "\"Bob\" <sip:bob@example.com>;tag=9");
        assert_eq!(f.to, "<sip:sales@example.com>");
        assert_eq!(f.caller_number, "+441632960001");
        assert_eq!(f.diversion.len(), 1);
        assert_eq!(f.history_info.len(), 1);
        assert_eq!(f.alert_info.len(), 1);
        assert_eq!(f.call_info.len(), 1);
        assert_eq!(f.headers.len(), headers.len());
        let c = classify(&f, &queues(&["sales"]));
        assert_eq!(
            (c.kind, c.caller.as_str(), c.answer_after),
            (CallKind::Queue, "+441632960001", Some(1))
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("", "x"));
        assert!(wildcard_match("*", "x"));
        assert!(wildcard_match("sales-*", "SALES-uk"));
        assert!(wildcard_match("*-uk", "sales-uk"));
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b*c", "axxc"));
        assert!(!wildcard_match("ab*ba", "aba"));
        assert!(wildcard_match("queue", "Queue"));
        assert!(!wildcard_match("queue", "queues"));
    }
}
