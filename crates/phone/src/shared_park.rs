//! Shared park on the server (Asterisk/FreeSWITCH-style park orbits), the pure part:
//! which orbit slots an account has (`[account.shared_park]`, validated), what each slot holds
//! according to the RFC 4235 dialog-info NOTIFYs of its `dialog` subscription (full/partial
//! documents, version ordering), and when each subscription is refreshed (clock passed in).
//! The core side (SUBSCRIBE/NOTIFY, REFER) is `core/orbits.rs`.

use crate::api::{ParkSlot, SharedParkConfig};
use hookflash_sip::dialog_info::{DialogEntry, DialogInfo, DialogState, DocState};
use std::collections::BTreeMap;
use std::time::Duration;

/// At most this many slots per account (each one is a subscription).
pub const MAX_SLOTS: usize = 50;

impl SharedParkConfig {
    /// The slot names in order, with ranges like `"701-705"` expanded; or every problem found.
    pub fn slots(&self) -> Result<Vec<String>, Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let mut problems = Vec::new();
        for (i, entry) in self.orbits.iter().enumerate() {
            let e = entry.trim();
            let n = i + 1;
            if e.is_empty() {
                problems.push(format!("orbit {n} is empty"));
                continue;
            }
            if let Some((a, b)) = e.split_once('-') {
                let (a, b) = (a.trim(), b.trim());
                match (a.parse::<u64>(), b.parse::<u64>()) {
                    (Ok(x), Ok(y)) if x <= y && a.len() == b.len() && y - x < MAX_SLOTS as u64 => {
                        for v in x..=y {
                            out.push(format!("{v:0width$}", width = a.len()));
                        }
                    }
                    (Ok(x), Ok(y)) if x > y => {
                        problems.push(format!("orbit range '{e}' runs backwards"))
                    }
                    (Ok(_), Ok(_)) if a.len() != b.len() => {
                        problems.push(format!("orbit range '{e}' has ends of different lengths"))
                    }
                    (Ok(_), Ok(_)) => {
                        problems.push(format!("orbit range '{e}' has more than {MAX_SLOTS} slots"))
                    }
                    _ => {
                        problems.push(format!("orbit range '{e}' is not two numbers like 701-705"))
                    }
                }
                continue;
            }
            if !e
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "*#._+".contains(c))
            {
                problems.push(format!(
                    "orbit '{e}' may only hold letters, digits and * # . _ +"
                ));
                continue;
            }
            out.push(e.to_string());
        }
        let mut seen = std::collections::HashSet::new();
        for s in &out {
            if !seen.insert(s.clone()) {
                problems.push(format!("orbit {s} is listed twice"));
            }
        }
        if out.len() > MAX_SLOTS {
            problems.push(format!(
                "{} orbits: at most {MAX_SLOTS} are watched",
                out.len()
            ));
        }
        if let Some(d) = &self.domain {
            let d = d.trim();
            if d.is_empty() || d.contains(['@', ' ', '<', '>', ';', '/']) || d.starts_with("sip:") {
                problems.push(format!(
                    "domain '{d}' should be a host name like pbx.example.com (no sip:, no user)"
                ));
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// Checks the section; the error names each problem.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        self.slots().map(|_| ())
    }
}

/// The URI of a slot: `sip:<slot>@<domain>`.
pub fn slot_uri(slot: &str, domain: &str) -> String {
    format!("sip:{slot}@{domain}")
}

/// What applying a NOTIFY did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The slot's state changed (tell the front ends).
    Changed,
    /// Nothing new (same state, or a stale/duplicate version that was ignored).
    Unchanged,
    /// A partial document skipped versions: the state may be wrong until a full one comes;
    /// the engine re-subscribes to get it.
    NeedsFullState,
    /// The document is about another entity or slot we do not watch.
    Unknown,
}

#[derive(Debug, Clone)]
struct SlotState {
    slot: String,
    uri: String,
    /// Last accepted version in the current subscription (None: nothing yet).
    version: Option<u64>,
    /// Live dialogs by id.
    dialogs: BTreeMap<String, DialogEntry>,
}

/// The orbit slots of one account and what is parked in each.
#[derive(Debug, Clone)]
pub struct OrbitSlots {
    slots: Vec<SlotState>,
}

impl OrbitSlots {
    pub fn new(slots: &[String], domain: &str) -> OrbitSlots {
        OrbitSlots {
            slots: slots
                .iter()
                .map(|s| SlotState {
                    slot: s.clone(),
                    uri: slot_uri(s, domain),
                    version: None,
                    dialogs: BTreeMap::new(),
                })
                .collect(),
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.slot.clone()).collect()
    }

    pub fn contains(&self, slot: &str) -> bool {
        self.slots.iter().any(|s| s.slot == slot)
    }

    /// A new subscription for `slot` starts its own version count (RFC 4235 §4.1).
    pub fn new_subscription(&mut self, slot: &str) {
        if let Some(s) = self.slots.iter_mut().find(|s| s.slot == slot) {
            s.version = None;
        }
    }

    /// The subscription ended for good: what it showed is no longer known, so the slot reads free.
    pub fn forget(&mut self, slot: &str) -> bool {
        match self.slots.iter_mut().find(|s| s.slot == slot) {
            Some(s) => {
                s.version = None;
                let had = !s.dialogs.is_empty();
                s.dialogs.clear();
                had
            }
            None => false,
        }
    }

    /// Applies one NOTIFY's document to the slot of the subscription it came on.
    pub fn apply(&mut self, slot: &str, info: &DialogInfo) -> Applied {
        let Some(s) = self.slots.iter_mut().find(|s| s.slot == slot) else {
            return Applied::Unknown;
        };
        let before = view(s);
        if let Some(last) = s.version {
            if info.version <= last {
                return Applied::Unchanged; // stale or repeated (RFC 4235 §4.1: discard)
            }
            if info.state == DocState::Partial && info.version > last + 1 {
                s.version = Some(info.version);
                return Applied::NeedsFullState;
            }
        } else if info.state == DocState::Partial {
            // A partial document with nothing to apply it to: take what it says, ask for full.
            s.version = Some(info.version);
            merge(s, &info.dialogs);
            return if view(s) != before {
                Applied::Changed
            } else {
                Applied::NeedsFullState
            };
        }
        s.version = Some(info.version);
        if info.state == DocState::Full {
            s.dialogs.clear();
        }
        merge(s, &info.dialogs);
        if view(s) != before {
            Applied::Changed
        } else {
            Applied::Unchanged
        }
    }

    /// What front ends show, in configured order.
    pub fn view(&self) -> Vec<ParkSlot> {
        self.slots.iter().map(view).collect()
    }

    /// The slot whose URI is `uri` (user and host compared; parameters ignored).
    pub fn slot_of_uri(&self, uri: &str) -> Option<String> {
        let key = uri_key(uri);
        self.slots
            .iter()
            .find(|s| uri_key(&s.uri) == key)
            .map(|s| s.slot.clone())
    }

    pub fn uri_of(&self, slot: &str) -> Option<String> {
        self.slots
            .iter()
            .find(|s| s.slot == slot)
            .map(|s| s.uri.clone())
    }
}

fn merge(s: &mut SlotState, dialogs: &[DialogEntry]) {
    for d in dialogs {
        if d.state == DialogState::Terminated {
            s.dialogs.remove(&d.id);
        } else {
            s.dialogs.insert(d.id.clone(), d.clone());
        }
    }
}

fn view(s: &SlotState) -> ParkSlot {
    // Prefer a confirmed dialog's party (the parked call) over one still ringing.
    let who = s
        .dialogs
        .values()
        .find(|d| d.state == DialogState::Confirmed)
        .or_else(|| s.dialogs.values().next());
    ParkSlot {
        slot: s.slot.clone(),
        uri: s.uri.clone(),
        occupied: !s.dialogs.is_empty(),
        parked_uri: who.and_then(|d| d.remote.identity.clone()),
        parked_display: who.and_then(|d| d.remote.display.clone()),
        state: who.map(|d| d.state.as_str().to_string()),
    }
}

/// `user@host` of a SIP URI, lower-cased host; for matching a document's entity to a slot.
pub fn uri_key(uri: &str) -> String {
    let u = uri.trim().trim_start_matches('<').trim_end_matches('>');
    let u = u
        .strip_prefix("sips:")
        .or_else(|| u.strip_prefix("sip:"))
        .unwrap_or(u);
    let u = u.split([';', '?', '>']).next().unwrap_or(u);
    match u.split_once('@') {
        Some((user, host)) => {
            let host = host.split(':').next().unwrap_or(host);
            format!("{user}@{}", host.to_ascii_lowercase())
        }
        None => u.to_ascii_lowercase(),
    }
}

/// When to refresh a subscription of `granted` seconds: at 80 % of short lifetimes, at least
/// 15 s (but no more than half the lifetime) before the end of long ones.
pub fn refresh_after(granted: u32) -> Duration {
    let e = granted.max(1) as u64;
    let margin = (e / 5).max(15.min(e / 2));
    Duration::from_secs((e - margin).max(1))
}

/// Back-off after consecutive failed SUBSCRIBEs: 5, 10, 20, 40 … capped at 300 s.
pub fn retry_after(failures: u32) -> Duration {
    Duration::from_secs(
        5u64.saturating_mul(1 << failures.saturating_sub(1).min(6))
            .min(300),
    )
}

/// One slot's subscription timer: when the next SUBSCRIBE (refresh or retry) is due, in ms (the
/// clock of the `now` passed in).
#[derive(Debug, Clone, Default)]
pub struct RefreshTimer {
    due: Option<i64>,
    failures: u32,
}

impl RefreshTimer {
    /// The server granted `expires` seconds at `now`.
    pub fn granted(&mut self, expires: u32, now: i64) {
        self.failures = 0;
        self.due = Some(now + refresh_after(expires).as_millis() as i64);
    }
    /// The SUBSCRIBE failed (or the server terminated the subscription) at `now`; returns the wait.
    pub fn failed(&mut self, now: i64) -> Duration {
        self.failures += 1;
        let wait = retry_after(self.failures);
        self.due = Some(now + wait.as_millis() as i64);
        wait
    }
    /// Resubscribe at once (e.g. a version gap: a new subscription brings full state).
    pub fn now(&mut self, now: i64) {
        self.due = Some(now);
    }
    pub fn is_due(&self, now: i64) -> bool {
        self.due.is_some_and(|d| d <= now)
    }
    /// When it is due.
    pub fn due(&self) -> Option<i64> {
        self.due
    }
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// A REFER progress NOTIFY body (`message/sipfrag`): the status line's code and phrase.
pub fn sipfrag_status(body: &str) -> Option<(u16, String)> {
    let line = body.lines().find(|l| !l.trim().is_empty())?.trim();
    let rest = line.strip_prefix("SIP/2.0")?.trim_start();
    let (code, phrase) = rest.split_once(' ').unwrap_or((rest, ""));
    let code: u16 = code
        .trim()
        .parse()
        .ok()
        .filter(|c| (100..700).contains(c))?;
    Some((code, phrase.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookflash_sip::dialog_info::{DialogEntry, Participant};

    fn cfg(orbits: &[&str], domain: Option<&str>) -> SharedParkConfig {
        SharedParkConfig {
            orbits: orbits.iter().map(|s| s.to_string()).collect(),
            domain: domain.map(str::to_string),
        }
    }

    fn dialog(id: &str, state: DialogState, who: Option<(&str, &str)>) -> DialogEntry {
        DialogEntry {
            id: id.into(),
            call_id: Some(format!("{id}-cid")),
            local_tag: None,
            remote_tag: None,
            direction: Some("recipient".into()),
            state,
            local: Participant::default(),
            remote: Participant {
                identity: who.map(|w| w.0.to_string()),
                display: who.map(|w| w.1.to_string()),
                target: None,
            },
        }
    }

    fn doc(version: u64, state: DocState, dialogs: Vec<DialogEntry>) -> DialogInfo {
        DialogInfo {
            version,
            state,
            entity: "sip:701@pbx".into(),
            dialogs,
        }
    }

    #[test]
    fn orbits_expand_ranges_and_problems_are_named() {
        assert_eq!(
            cfg(&["701-703", "750"], None).slots().unwrap(),
            vec!["701", "702", "703", "750"]
        );
        assert_eq!(
            cfg(&["08-10"], None).slots().unwrap(),
            vec!["08", "09", "10"]
        );
        let e = cfg(
            &["703-701", "", "7 1", "701", "100-999", "1-99", "a-b"],
            Some("sip:pbx"),
        )
        .slots()
        .unwrap_err();
        let all = e.join("; ");
        for needle in [
            "'703-701' runs backwards",
            "orbit 2 is empty",
            "'7 1' may only",
            "more than 50",
            "different lengths",
            "'a-b' is not two numbers",
            "domain 'sip:pbx'",
        ] {
            assert!(all.contains(needle), "{needle} in {all}");
        }
        assert!(cfg(&["701", "701"], None).slots().unwrap_err()[0].contains("701 is listed twice"));
    }

    #[test]
    fn call_parked_then_picked_up_full_and_partial() {
        let mut o = OrbitSlots::new(&["701".into(), "702".into()], "pbx");
        assert!(o.view().iter().all(|s| !s.occupied));
        // Subscription starts: empty full state.
        assert_eq!(
            o.apply("701", &doc(0, DocState::Full, vec![])),
            Applied::Unchanged
        );
        // Bob is transferred to the orbit: early, then confirmed.
        assert_eq!(
            o.apply(
                "701",
                &doc(
                    1,
                    DocState::Partial,
                    vec![dialog("d1", DialogState::Early, Some(("sip:bob@x", "Bob")))]
                )
            ),
            Applied::Changed
        );
        assert_eq!(o.view()[0].state.as_deref(), Some("early"));
        assert_eq!(
            o.apply(
                "701",
                &doc(
                    2,
                    DocState::Partial,
                    vec![dialog(
                        "d1",
                        DialogState::Confirmed,
                        Some(("sip:bob@x", "Bob"))
                    )]
                )
            ),
            Applied::Changed
        );
        let v = o.view();
        assert!(v[0].occupied && !v[1].occupied);
        assert_eq!(
            (v[0].parked_uri.as_deref(), v[0].parked_display.as_deref()),
            (Some("sip:bob@x"), Some("Bob"))
        );
        // A repeated or older version is ignored.
        assert_eq!(
            o.apply("701", &doc(2, DocState::Full, vec![])),
            Applied::Unchanged
        );
        assert!(o.view()[0].occupied);
        // Someone retrieves the call: the orbit's dialog ends.
        assert_eq!(
            o.apply(
                "701",
                &doc(
                    3,
                    DocState::Partial,
                    vec![dialog("d1", DialogState::Terminated, None)]
                )
            ),
            Applied::Changed
        );
        assert!(!o.view()[0].occupied && o.view()[0].parked_uri.is_none());
    }

    #[test]
    fn full_state_replaces_everything_and_a_version_gap_asks_for_full_state() {
        let mut o = OrbitSlots::new(&["701".into()], "pbx");
        o.apply(
            "701",
            &doc(
                5,
                DocState::Full,
                vec![dialog("a", DialogState::Confirmed, Some(("sip:a@x", "A")))],
            ),
        );
        assert_eq!(
            o.apply(
                "701",
                &doc(
                    6,
                    DocState::Full,
                    vec![dialog("b", DialogState::Confirmed, Some(("sip:b@x", "B")))]
                )
            ),
            Applied::Changed
        );
        assert_eq!(o.view()[0].parked_uri.as_deref(), Some("sip:b@x"));
        assert_eq!(
            o.apply("701", &doc(9, DocState::Partial, vec![])),
            Applied::NeedsFullState
        );
        // The new subscription restarts the version count at 0.
        o.new_subscription("701");
        assert_eq!(
            o.apply("701", &doc(0, DocState::Full, vec![])),
            Applied::Changed
        );
        assert!(!o.view()[0].occupied);
        assert_eq!(
            o.apply("799", &doc(1, DocState::Full, vec![])),
            Applied::Unknown
        );
    }

    #[test]
    fn a_confirmed_party_is_shown_before_a_ringing_one() {
        let mut o = OrbitSlots::new(&["701".into()], "pbx");
        o.apply(
            "701",
            &doc(
                1,
                DocState::Full,
                vec![
                    dialog("a", DialogState::Early, Some(("sip:ring@x", "R"))),
                    dialog("b", DialogState::Confirmed, Some(("sip:held@x", "H"))),
                ],
            ),
        );
        assert_eq!(o.view()[0].parked_uri.as_deref(), Some("sip:held@x"));
        assert!(o.forget("701"));
        assert!(!o.view()[0].occupied);
    }

    #[test]
    fn slots_are_found_by_uri() {
        let o = OrbitSlots::new(&["701".into()], "PBX.example.com");
        assert_eq!(o.uri_of("701").as_deref(), Some("sip:701@PBX.example.com"));
        assert_eq!(
            o.slot_of_uri("<sip:701@pbx.example.com:5060;transport=udp>")
                .as_deref(),
            Some("701")
        );
        assert_eq!(o.slot_of_uri("sip:702@pbx.example.com"), None);
    }

    #[test]
    fn subscriptions_refresh_before_expiry_and_back_off_after_failures() {
        assert_eq!(refresh_after(3600), Duration::from_secs(2880));
        assert_eq!(refresh_after(60), Duration::from_secs(45));
        assert_eq!(refresh_after(10), Duration::from_secs(5));
        let t0: i64 = 1_000_000;
        let mut t = RefreshTimer::default();
        assert!(!t.is_due(t0));
        t.granted(60, t0);
        assert!(!t.is_due(t0 + 44_000));
        assert!(t.is_due(t0 + 45_000));
        assert_eq!(t.failed(t0), Duration::from_secs(5));
        assert_eq!(t.failed(t0), Duration::from_secs(10));
        assert_eq!(t.failures(), 2);
        for _ in 0..10 {
            t.failed(t0);
        }
        assert!(t.is_due(t0 + 300_000) && !t.is_due(t0 + 299_000));
        t.now(t0);
        assert!(t.is_due(t0));
    }

    #[test]
    fn sipfrag_status_lines() {
        assert_eq!(
            sipfrag_status("SIP/2.0 200 OK\r\n"),
            Some((200, "OK".into()))
        );
        assert_eq!(
            sipfrag_status("SIP/2.0 100 Trying"),
            Some((100, "Trying".into()))
        );
        assert_eq!(
            sipfrag_status("\r\nSIP/2.0 403 Forbidden\r\nContent-Length: 0\r\n"),
            Some((403, "Forbidden".into()))
        );
        assert_eq!(sipfrag_status("SIP/2.0 abc"), None);
        assert_eq!(sipfrag_status("hello"), None);
        assert_eq!(sipfrag_status(""), None);
    }
}
