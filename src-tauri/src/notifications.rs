//! Desktop notifications: a parked call's recall ("Bob has been parked for 2 min") and, while
//! the window is not focused, an incoming call and a transfer request (the far end asks to
//! transfer us; it is declined if nobody answers in time). Which events notify, and with what text, is
//! the plain [`Notifier`] (unit-tested); showing one is `notify-rust` over D-Bus on Linux (the
//! OS notification centre on macOS and Windows), off the event loop. No notification daemon
//! (a bare X session, CI) only logs: the app carries on.
//!
//! An incoming call's notification has Answer and Decline buttons where the daemon shows actions
//! (Freedesktop `actions` capability; macOS and Windows show the labels): Answer answers it as
//! the window would and brings the window up, Decline refuses it (603). It is withdrawn
//! (`CloseNotification`) as soon as the call stops ringing — answered elsewhere, declined, or
//! given up by the caller — so no button acts on a call that is gone.

use hookflash_phone::{CallId, CallInfo, CallState, PhoneEvent};
use std::collections::HashMap;

/// The application name notifications carry.
const APP_NAME: &str = "Hookflash";

/// One notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub summary: String,
    pub body: String,
    /// A ringing call's notice: Answer and Decline act on this call.
    pub answer: Option<CallId>,
}

/// Decides which engine events become notifications. Remembers the calls it has seen so a
/// recall names the person, not just the call id.
#[derive(Debug, Default)]
pub struct Notifier {
    calls: HashMap<CallId, CallInfo>,
    /// Ringing calls whose notification is up.
    ringing: std::collections::HashSet<CallId>,
    /// The language the notifications are written in (the window's).
    pub lang: crate::desktop_words::Lang,
}

/// How a call's peer is named: display name, else the user part of the URI, else the URI.
fn name_of(call: &CallInfo) -> String {
    if let Some(name) = call
        .remote_display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        return name.to_string();
    }
    let uri = call
        .remote_uri
        .trim_start_matches('<')
        .trim_end_matches('>');
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
                let notify = !window_focused && call.state == CallState::Ringing;
                if notify {
                    self.ringing.insert(call.id);
                }
                notify.then(|| Notice {
                    summary: words.incoming_call_from(&name_of(call)),
                    body: call.remote_uri.clone(),
                    answer: Some(call.id),
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
            PhoneEvent::ParkRecall {
                call_id,
                who,
                parked_mins,
                ..
            } => {
                let who = self
                    .calls
                    .get(call_id)
                    .map(name_of)
                    .unwrap_or_else(|| who.clone());
                Some(Notice {
                    summary: words.parked_for(&who, *parked_mins),
                    body: words.parked_what_now(),
                    answer: None,
                })
            }
            PhoneEvent::TransferRequest {
                call_id,
                target,
                who,
                expires_in_secs,
                ..
            } => {
                let who = self
                    .calls
                    .get(call_id)
                    .map(name_of)
                    .unwrap_or_else(|| who.clone());
                (!window_focused).then(|| Notice {
                    summary: words.wants_to_transfer_you(&who, target),
                    body: words.answer_transfer_within(*expires_in_secs),
                    answer: None,
                })
            }
            _ => None,
        }
    }
}

impl Notifier {
    /// The call whose ringing notification must go because of `event` (it no longer rings).
    pub fn stopped_ringing(&mut self, event: &PhoneEvent) -> Option<CallId> {
        let id = match event {
            PhoneEvent::CallUpdated { call } | PhoneEvent::IncomingCall { call }
                if call.state != CallState::Ringing =>
            {
                call.id
            }
            PhoneEvent::CallEnded { call, .. } => call.id,
            _ => return None,
        };
        self.ringing.remove(&id).then_some(id)
    }
}

/// What a ringing call's notification button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallAction {
    Answer(CallId),
    Decline(CallId),
}

/// The button `action` (notify-rust's name for it) of call `id`'s notification.
pub fn call_action(id: CallId, action: &str) -> Option<CallAction> {
    match action {
        "answer" => Some(CallAction::Answer(id)),
        "decline" => Some(CallAction::Decline(id)),
        _ => None,
    }
}

/// Shows `notice` on the desktop without blocking the caller; a failure (no notification
/// daemon, no D-Bus session) is logged and otherwise ignored. A ringing call's buttons call
/// `on_action` (from a thread of their own, once).
pub fn show(notice: Notice, on_action: impl FnOnce(CallAction) + Send + 'static) {
    tauri::async_runtime::spawn_blocking(move || {
        let words = crate::desktop_words::Words(crate::desktop_words::current());
        let mut n = notify_rust::Notification::new();
        n.appname(APP_NAME)
            .summary(&notice.summary)
            .body(&notice.body);
        if notice.answer.is_some() {
            n.action("answer", &words.answer())
                .action("decline", &words.decline());
            #[cfg(target_os = "linux")]
            n.hint(notify_rust::Hint::Category("call.incoming".into()));
        }
        let handle = match n.show() {
            Ok(handle) => handle,
            Err(error) => {
                return tracing::warn!("cannot show the notification {:?}: {error}", notice.summary)
            }
        };
        tracing::debug!("notification shown: {}", notice.summary);
        let Some(call) = notice.answer else { return };
        #[cfg(target_os = "linux")]
        shown_for_call()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(call, handle.id());
        // Blocks this thread until a button is pressed or the notification is closed.
        handle.wait_for_action(|action| {
            if let Some(a) = call_action(call, action) {
                on_action(a);
            }
        });
        #[cfg(target_os = "linux")]
        shown_for_call()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&call);
    });
}

/// The notification ids of ringing calls (Linux: to withdraw them by id).
#[cfg(target_os = "linux")]
fn shown_for_call() -> &'static std::sync::Mutex<HashMap<CallId, u32>> {
    static SHOWN: std::sync::OnceLock<std::sync::Mutex<HashMap<CallId, u32>>> =
        std::sync::OnceLock::new();
    SHOWN.get_or_init(Default::default)
}

/// Withdraws call `id`'s ringing notification (it stopped ringing); its buttons' thread ends.
pub fn withdraw(id: CallId) {
    #[cfg(target_os = "linux")]
    tauri::async_runtime::spawn_blocking(move || {
        let Some(notification) = shown_for_call()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
        else {
            return;
        };
        let closed = dbus::blocking::Connection::new_session().and_then(|bus| {
            let proxy = bus.with_proxy(
                "org.freedesktop.Notifications",
                "/org/freedesktop/Notifications",
                std::time::Duration::from_secs(2),
            );
            proxy.method_call::<(), _, _, _>(
                "org.freedesktop.Notifications",
                "CloseNotification",
                (notification,),
            )
        });
        if let Err(error) = closed {
            tracing::debug!("cannot withdraw the notification of call {id}: {error}");
        }
    });
    #[cfg(not(target_os = "linux"))]
    let _ = id;
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookflash_phone::{park_recall_message, Direction, EndReason};

    /// The engine's recall event for call `id` with `who` (display name or URI).
    fn recall_event(id: CallId, who: &str, mins: i64) -> PhoneEvent {
        PhoneEvent::ParkRecall {
            call_id: id,
            who: who.into(),
            parked_mins: mins,
            message: park_recall_message(id, who, mins),
        }
    }

    fn call(id: CallId, name: Option<&str>, uri: &str, state: CallState) -> CallInfo {
        CallInfo {
            remote_display_name: name.map(Into::into),
            parked_since_ms: Some(1_000),
            ..CallInfo::new(
                id,
                Direction::Incoming,
                state,
                uri,
                "sip:alice@example.com",
                0,
            )
        }
    }

    #[test]
    fn a_park_recall_names_the_person() {
        let mut n = Notifier::default();
        let bob = call(4, Some("Bob"), "sip:bob@example.com", CallState::Answered);
        assert_eq!(
            n.on_event(&PhoneEvent::CallUpdated { call: bob }, true),
            None
        );
        // The engine's recall event (it names the URI when it has no display name).
        let recall = recall_event(4, "sip:bob@example.com", 2);
        assert_eq!(
            n.on_event(&recall, true),
            Some(Notice {
                summary: "Bob has been parked for 2 min".into(),
                body: "Switch to the call or hang up.".into(),
                answer: None
            })
        );
        // A call never seen: the name in the sentence, then its user part.
        let unknown = recall_event(9, "Carol", 5);
        assert_eq!(
            n.on_event(&unknown, false).unwrap().summary,
            "Carol has been parked for 5 min"
        );
        let no_name = call(5, None, "sip:2001@pbx.example.com", CallState::Answered);
        n.on_event(&PhoneEvent::CallUpdated { call: no_name }, true);
        let recall = recall_event(5, "sip:2001@pbx.example.com", 3);
        assert_eq!(
            n.on_event(&recall, true).unwrap().summary,
            "2001 has been parked for 3 min"
        );
    }

    #[test]
    fn other_warnings_and_events_do_not_notify() {
        let mut n = Notifier::default();
        let w = PhoneEvent::Warning {
            message: "hold refused (488) by sip:bob@example.com".into(),
        };
        assert_eq!(n.on_event(&w, false), None);
        let ended = PhoneEvent::CallEnded {
            call: call(1, Some("Bob"), "sip:bob@h", CallState::Ended),
            reason: EndReason::RemoteHangup,
            message: "call ended".into(),
        };
        assert_eq!(n.on_event(&ended, false), None);
        assert_eq!(
            n.on_event(
                &PhoneEvent::Dtmf {
                    call_id: 1,
                    digit: '5'
                },
                false
            ),
            None
        );
    }

    #[test]
    fn a_transfer_request_notifies_only_when_the_window_is_not_focused() {
        let mut n = Notifier::default();
        let bob = call(6, Some("Bob"), "sip:bob@example.com", CallState::Answered);
        n.on_event(&PhoneEvent::CallUpdated { call: bob }, true);
        let request = |id: CallId, who: &str| {
            PhoneEvent::TransferRequest {
            call_id: id,
            target: "sip:carol@example.com".into(),
            who: who.into(),
            expires_in_secs: 30,
            message: format!("{who} asks to transfer call {id} to sip:carol@example.com: accept or decline within 30 s"),
        }
        };
        // The window shows its own prompt when the user is looking at it.
        assert_eq!(n.on_event(&request(6, "sip:bob@example.com"), true), None);
        assert_eq!(
            n.on_event(&request(6, "sip:bob@example.com"), false),
            Some(Notice {
                summary: "Bob wants to transfer you to sip:carol@example.com".into(),
                body: "Accept or decline in Hookflash within 30 s.".into(),
                answer: None,
            })
        );
        // A call never seen: the event's own name.
        assert_eq!(
            n.on_event(&request(8, "Dana"), false).unwrap().summary,
            "Dana wants to transfer you to sip:carol@example.com"
        );
    }

    #[test]
    fn an_incoming_call_notifies_only_when_the_window_is_not_focused() {
        let mut n = Notifier::default();
        let ringing = PhoneEvent::IncomingCall {
            call: call(2, Some("Dana"), "sip:dana@example.com", CallState::Ringing),
        };
        assert_eq!(n.on_event(&ringing, true), None);
        assert_eq!(
            n.on_event(&ringing, false),
            Some(Notice {
                summary: "Incoming call from Dana".into(),
                body: "sip:dana@example.com".into(),
                answer: Some(2)
            })
        );
        // Auto-answered by a rule: already connected, nothing to pick up.
        let answered = PhoneEvent::IncomingCall {
            call: call(3, None, "sip:erin@example.com", CallState::Answered),
        };
        assert_eq!(n.on_event(&answered, false), None);
        // After the call ended its name is forgotten; a stale recall uses the sentence's name.
        let ended = PhoneEvent::CallEnded {
            call: call(2, Some("Dana"), "sip:dana@example.com", CallState::Ended),
            reason: EndReason::RemoteHangup,
            message: String::new(),
        };
        n.on_event(&ended, false);
        let recall = recall_event(2, "sip:dana@example.com", 2);
        assert_eq!(
            n.on_event(&recall, false).unwrap().summary,
            "sip:dana@example.com has been parked for 2 min"
        );
    }

    #[test]
    fn a_ringing_call_s_notification_answers_or_declines_it_and_goes_when_it_stops_ringing() {
        let mut n = Notifier::default();
        let ringing = |id| PhoneEvent::IncomingCall {
            call: call(id, Some("Dana"), "sip:dana@example.com", CallState::Ringing),
        };
        assert_eq!(
            n.on_event(&ringing(2), false)
                .and_then(|notice| notice.answer),
            Some(2)
        );
        assert_eq!(call_action(2, "answer"), Some(CallAction::Answer(2)));
        assert_eq!(call_action(2, "decline"), Some(CallAction::Decline(2)));
        assert_eq!(
            call_action(2, "default"),
            None,
            "clicking the notice itself answers nothing"
        );
        assert_eq!(call_action(2, "__closed"), None);
        // Still ringing: it stays; answered (here or elsewhere): it goes, once.
        assert_eq!(
            n.stopped_ringing(&PhoneEvent::CallUpdated {
                call: call(2, Some("Dana"), "sip:dana@example.com", CallState::Ringing)
            }),
            None
        );
        let answered = PhoneEvent::CallUpdated {
            call: call(2, Some("Dana"), "sip:dana@example.com", CallState::Answered),
        };
        assert_eq!(n.stopped_ringing(&answered), Some(2));
        assert_eq!(n.stopped_ringing(&answered), None);
        // The caller gave up: it goes too. A call that never notified (window focused): nothing.
        n.on_event(&ringing(3), false);
        let gone = PhoneEvent::CallEnded {
            call: call(3, None, "sip:erin@example.com", CallState::Ended),
            reason: EndReason::Cancelled,
            message: String::new(),
        };
        assert_eq!(n.stopped_ringing(&gone), Some(3));
        n.on_event(&ringing(4), true);
        let ended = PhoneEvent::CallEnded {
            call: call(4, None, "sip:erin@example.com", CallState::Ended),
            reason: EndReason::Cancelled,
            message: String::new(),
        };
        assert_eq!(n.stopped_ringing(&ended), None);
    }
}
