//! Desktop notifications: a parked call's recall ("Bob has been parked for 2 min") and, while
//! the window is not focused, an incoming call and a transfer request (the far end asks to
//! transfer us; it is declined if nobody answers in time). Which events notify, and with what text, is
//! the plain [`Notifier`] (unit-tested); showing one is `notify-rust` over D-Bus on Linux (the
//! OS notification centre on macOS and Windows), off the event loop. No notification daemon
//! (a bare X session, CI) only logs: the app carries on.

use hookflash_phone::{CallId, CallInfo, CallState, PhoneEvent};
use std::collections::HashMap;

/// The application name notifications carry.
const APP_NAME: &str = "Hookflash";

/// One notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub summary: String,
    pub body: String,
}

/// Decides which engine events become notifications. Remembers the calls it has seen so a
/// recall names the person, not just the call id.
#[derive(Debug, Default)]
pub struct Notifier {
    calls: HashMap<CallId, CallInfo>,
    /// The language the notifications are written in (the window's).
    pub lang: crate::desktop_words::Lang,
}

/// How a call's peer is named: display name, else the user part of the URI, else the URI.
fn name_of(call: &CallInfo) -> String {
    if let Some(name) = call.remote_display_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        return name.to_string();
    }
    let uri = call.remote_uri.trim_start_matches('<').trim_end_matches('>');
    let without_scheme = uri.split_once(':').map(|(_, rest)| rest).unwrap_or(uri);
    match without_scheme.split_once('@') {
        Some((user, _)) if !user.is_empty() => user.to_string(),
        _ => call.remote_uri.clone(),
    }
}

impl Notifier {
    /// The notification for `event`, if any. `window_focused`: the user is looking at the
    /// window (incoming calls then show only there).
    pub fn on_event(&mut self, event: &PhoneEvent, window_focused: bool) -> Option<Notice> {
        let words = crate::desktop_words::Words(self.lang);
        match event {
            PhoneEvent::IncomingCall { call } => {
                self.calls.insert(call.id, call.clone());
                (!window_focused && call.state == CallState::Ringing).then(|| Notice {
                    summary: words.incoming_call_from(&name_of(call)),
                    body: call.remote_uri.clone(),
                })
            }
            PhoneEvent::CallUpdated { call } => {
                self.calls.insert(call.id, call.clone());
                None
            }
            PhoneEvent::CallEnded { call, .. } => {
                self.calls.remove(&call.id);
                None
            }
            PhoneEvent::ParkRecall { call_id, who, parked_mins, .. } => {
                let who = self.calls.get(call_id).map(name_of).unwrap_or_else(|| who.clone());
                Some(Notice {
                    summary: words.parked_for(&who, *parked_mins),
                    body: words.parked_what_now(),
                })
            }
            PhoneEvent::TransferRequest { call_id, target, who, expires_in_secs, .. } => {
                let who = self.calls.get(call_id).map(name_of).unwrap_or_else(|| who.clone());
                (!window_focused).then(|| Notice {
                    summary: words.wants_to_transfer_you(&who, target),
                    body: words.answer_transfer_within(*expires_in_secs),
                })
            }
            _ => None,
        }
    }
}

/// Shows `notice` on the desktop without blocking the caller; a failure (no notification
/// daemon, no D-Bus session) is logged and otherwise ignored.
pub fn show(notice: Notice) {
    tauri::async_runtime::spawn_blocking(move || {
        let shown = notify_rust::Notification::new()
            .appname(APP_NAME)
            .summary(&notice.summary)
            .body(&notice.body)
            .show();
        match shown {
            Ok(_) => tracing::debug!("notification shown: {}", notice.summary),
            Err(error) => tracing::warn!("cannot show the notification {:?}: {error}", notice.summary),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookflash_phone::{park_recall_message, Direction, EndReason};

    /// The engine's recall event for call `id` with `who` (display name or URI).
    fn recall_event(id: CallId, who: &str, mins: i64) -> PhoneEvent {
        PhoneEvent::ParkRecall { call_id: id, who: who.into(), parked_mins: mins, message: park_recall_message(id, who, mins) }
    }

    fn call(id: CallId, name: Option<&str>, uri: &str, state: CallState) -> CallInfo {
        CallInfo {
            id,
            direction: Direction::Incoming,
            state,
            remote_uri: uri.into(),
            remote_display_name: name.map(Into::into),
            codec: None,
            muted: false,
            started_at_ms: 0,
            answered_at_ms: None,
            active: false,
            parked_since_ms: Some(1_000),
            held_by_remote: false,
            account: "sip:alice@example.com".into(),
            routing: None,
            encrypted: false,
            media_path: None,
            conference: false,
            conference_muted: false,
            transfer_request: None,
        }
    }

    #[test]
    fn a_park_recall_names_the_person() {
        let mut n = Notifier::default();
        let bob = call(4, Some("Bob"), "sip:bob@example.com", CallState::Answered);
        assert_eq!(n.on_event(&PhoneEvent::CallUpdated { call: bob }, true), None);
        // The engine's recall event (it names the URI when it has no display name).
        let recall = recall_event(4, "sip:bob@example.com", 2);
        assert_eq!(
            n.on_event(&recall, true),
            Some(Notice { summary: "Bob has been parked for 2 min".into(), body: "Switch to the call or hang up.".into() })
        );
        // A call never seen: the name in the sentence, then its user part.
        let unknown = recall_event(9, "Carol", 5);
        assert_eq!(n.on_event(&unknown, false).unwrap().summary, "Carol has been parked for 5 min");
        let no_name = call(5, None, "sip:2001@pbx.example.com", CallState::Answered);
        n.on_event(&PhoneEvent::CallUpdated { call: no_name }, true);
        let recall = recall_event(5, "sip:2001@pbx.example.com", 3);
        assert_eq!(n.on_event(&recall, true).unwrap().summary, "2001 has been parked for 3 min");
    }

    #[test]
    fn other_warnings_and_events_do_not_notify() {
        let mut n = Notifier::default();
        let w = PhoneEvent::Warning { message: "hold refused (488) by sip:bob@example.com".into() };
        assert_eq!(n.on_event(&w, false), None);
        let ended = PhoneEvent::CallEnded {
            call: call(1, Some("Bob"), "sip:bob@h", CallState::Ended),
            reason: EndReason::RemoteHangup,
            message: "call ended".into(),
        };
        assert_eq!(n.on_event(&ended, false), None);
        assert_eq!(n.on_event(&PhoneEvent::Dtmf { call_id: 1, digit: '5' }, false), None);
    }

    #[test]
    fn a_transfer_request_notifies_only_when_the_window_is_not_focused() {
        let mut n = Notifier::default();
        let bob = call(6, Some("Bob"), "sip:bob@example.com", CallState::Answered);
        n.on_event(&PhoneEvent::CallUpdated { call: bob }, true);
        let request = |id: CallId, who: &str| PhoneEvent::TransferRequest {
            call_id: id,
            target: "sip:carol@example.com".into(),
            who: who.into(),
            expires_in_secs: 30,
            message: format!("{who} asks to transfer call {id} to sip:carol@example.com: accept or decline within 30 s"),
        };
        // The window shows its own prompt when the user is looking at it.
        assert_eq!(n.on_event(&request(6, "sip:bob@example.com"), true), None);
        assert_eq!(
            n.on_event(&request(6, "sip:bob@example.com"), false),
            Some(Notice {
                summary: "Bob wants to transfer you to sip:carol@example.com".into(),
                body: "Accept or decline in Hookflash within 30 s.".into(),
            })
        );
        // A call never seen: the event's own name.
        assert_eq!(n.on_event(&request(8, "Dana"), false).unwrap().summary, "Dana wants to transfer you to sip:carol@example.com");
    }

    #[test]
    fn an_incoming_call_notifies_only_when_the_window_is_not_focused() {
        let mut n = Notifier::default();
        let ringing = PhoneEvent::IncomingCall { call: call(2, Some("Dana"), "sip:dana@example.com", CallState::Ringing) };
        assert_eq!(n.on_event(&ringing, true), None);
        assert_eq!(
            n.on_event(&ringing, false),
            Some(Notice { summary: "Incoming call from Dana".into(), body: "sip:dana@example.com".into() })
        );
        // Auto-answered by a rule: already connected, nothing to pick up.
        let answered = PhoneEvent::IncomingCall { call: call(3, None, "sip:erin@example.com", CallState::Answered) };
        assert_eq!(n.on_event(&answered, false), None);
        // After the call ended its name is forgotten; a stale recall uses the sentence's name.
        let ended = PhoneEvent::CallEnded {
            call: call(2, Some("Dana"), "sip:dana@example.com", CallState::Ended),
            reason: EndReason::RemoteHangup,
            message: String::new(),
        };
        n.on_event(&ended, false);
        let recall = recall_event(2, "sip:dana@example.com", 2);
        assert_eq!(n.on_event(&recall, false).unwrap().summary, "sip:dana@example.com has been parked for 2 min");
    }
}
