//! What the CLI prints: one JSON object per line with `--json`, short human lines without.

use hookflash_phone::{CallState, Direction, EndReason, PhoneEvent, RegistrationState};
use serde_json::{json, Value};

/// The JSON line for an engine event, or None for events the CLI does not report.
pub fn event_json(ev: &PhoneEvent) -> Option<Value> {
    Some(match ev {
        PhoneEvent::Registration { aor, state } => match state {
            RegistrationState::Registering => json!({"event": "registering", "aor": aor}),
            RegistrationState::Registered { expires_in } => {
                json!({"event": "registered", "aor": aor, "expires": expires_in})
            }
            RegistrationState::Failed { message, status } => {
                json!({"event": "registration_failed", "status": status, "message": message})
            }
            RegistrationState::Retrying { message, in_secs } => {
                json!({"event": "registration_retrying", "message": message, "in_secs": in_secs})
            }
            RegistrationState::Unregistered => json!({"event": "unregistered", "aor": aor}),
        },
        PhoneEvent::IncomingCall { call } => json!({
            "event": "incoming", "call_id": call.id, "from": call.remote_uri,
            "display_name": call.remote_display_name
        }),
        PhoneEvent::CallUpdated { call } => match (call.direction, call.state) {
            (Direction::Outgoing, CallState::Calling) => {
                json!({"event": "calling", "call_id": call.id, "to": call.remote_uri})
            }
            (Direction::Outgoing, CallState::Ringing) => json!({"event": "ringing", "call_id": call.id}),
            (_, CallState::Answered) => json!({
                "event": "answered", "call_id": call.id,
                "codec": call.codec.map(|c| format!("{c:?}").to_lowercase()), "muted": call.muted
            }),
            _ => return None,
        },
        PhoneEvent::Dtmf { call_id, digit } => json!({"event": "dtmf", "call_id": call_id, "digit": digit.to_string()}),
        PhoneEvent::AudioInputEnded { call_id } => json!({"event": "audio_in_ended", "call_id": call_id}),
        PhoneEvent::CallEnded { call, reason, message } => {
            let (kind, status) = match reason {
                EndReason::LocalHangup => ("local_hangup", None),
                EndReason::RemoteHangup => ("remote_hangup", None),
                EndReason::Cancelled => ("cancelled", None),
                EndReason::Rejected { status } => ("rejected", Some(*status)),
                // The callee declined (busy, decline): "rejected"; anything else: "failed".
                EndReason::Failed { status, .. } if matches!(status, 486 | 600 | 603) => ("rejected", Some(*status)),
                EndReason::Failed { status, .. } => ("failed", Some(*status)),
                EndReason::Error { .. } => ("error", None),
            };
            json!({"event": "ended", "call_id": call.id, "reason": kind, "status": status, "message": message})
        }
        PhoneEvent::Warning { message } => json!({"event": "warning", "message": message}),
    })
}

/// A human line for an event.
pub fn event_text(ev: &PhoneEvent) -> Option<String> {
    let v = event_json(ev)?;
    let e = v["event"].as_str().unwrap_or_default();
    Some(match e {
        "registering" => format!("registering {}", v["aor"].as_str().unwrap_or_default()),
        "registered" => format!("registered {} for {} s", v["aor"].as_str().unwrap_or_default(), v["expires"]),
        "registration_failed" | "registration_retrying" | "warning" => {
            v["message"].as_str().unwrap_or_default().to_string()
        }
        "unregistered" => "unregistered".into(),
        "incoming" => format!("incoming call {} from {}", v["call_id"], v["from"].as_str().unwrap_or_default()),
        "calling" => format!("calling {}", v["to"].as_str().unwrap_or_default()),
        "ringing" => "ringing".into(),
        "answered" => format!("answered ({})", v["codec"].as_str().unwrap_or("?")),
        "dtmf" => format!("DTMF {}", v["digit"].as_str().unwrap_or_default()),
        "ended" => v["message"].as_str().unwrap_or_default().to_string(),
        _ => return None,
    })
}

pub struct Printer {
    pub json: bool,
}

impl Printer {
    pub fn event(&self, ev: &PhoneEvent) {
        if self.json {
            if let Some(v) = event_json(ev) {
                println!("{v}");
            }
        } else if let Some(t) = event_text(ev) {
            println!("{t}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookflash_phone::CallInfo;

    #[test]
    fn ended_line_carries_reason_and_status() {
        let call = CallInfo {
            id: 3,
            direction: Direction::Outgoing,
            state: CallState::Ended,
            remote_uri: "sip:bob@h".into(),
            remote_display_name: None,
            codec: None,
            muted: false,
            started_at_ms: 0,
            answered_at_ms: None,
            active: false,
            parked_since_ms: None,
            held_by_remote: false,
            account: String::new(),
        };
        let ev = PhoneEvent::CallEnded {
            call,
            reason: EndReason::Failed { status: 486, reason: "Busy Here".into() },
            message: "call rejected (486 Busy Here) by sip:bob@h".into(),
        };
        let v = event_json(&ev).unwrap();
        assert_eq!(v["event"], "ended");
        assert_eq!(v["reason"], "rejected");
        assert_eq!(v["status"], 486);
        assert_eq!(v["call_id"], 3);
    }

    #[test]
    fn registration_failure_line() {
        let ev = PhoneEvent::Registration {
            aor: "sip:a@h".into(),
            state: RegistrationState::Failed { message: "registration refused (403) by h: Forbidden".into(), status: Some(403) },
        };
        let v = event_json(&ev).unwrap();
        assert_eq!(v["event"], "registration_failed");
        assert_eq!(v["status"], 403);
    }
}
