//! What the CLI prints: one JSON object per line with `--json`, short human lines without.

use hookflash_phone::{
    CallId, CallInfo, CallState, Direction, EndReason, PhoneEvent, RegistrationState,
    TransferProgress,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

/// The lines a `CallUpdated` produces, given what was last seen of the call: its state
/// change (calling, ringing, answered) and changes on the switchboard (active, parked,
/// resumed, held_by_remote, remote_resumed). Nothing when nothing we report changed.
pub fn call_update_json(before: Option<&CallInfo>, call: &CallInfo) -> Vec<Value> {
    let mut out = Vec::new();
    if before.map(|b| b.state) != Some(call.state) {
        match (call.direction, call.state) {
            (Direction::Outgoing, CallState::Calling) => {
                out.push(json!({"event": "calling", "call_id": call.id, "to": call.remote_uri, "account": call.account}))
            }
            (Direction::Outgoing, CallState::Ringing) => out.push(json!({"event": "ringing", "call_id": call.id})),
            (_, CallState::Answered) => out.push(json!({
                "event": "answered", "call_id": call.id,
                "codec": call.codec.map(|c| format!("{c:?}").to_lowercase()), "muted": call.muted,
                "encrypted": call.encrypted
            })),
            _ => {}
        }
    }
    let was_active = before.is_some_and(|b| b.active);
    let was_parked = before.and_then(|b| b.parked_since_ms).is_some();
    let was_held = before.is_some_and(|b| b.held_by_remote);
    if call.parked_since_ms.is_some() && !was_parked {
        out.push(json!({"event": "parked", "call_id": call.id, "since_ms": call.parked_since_ms}));
    }
    if call.parked_since_ms.is_none() && was_parked {
        out.push(json!({"event": "resumed", "call_id": call.id}));
    }
    // A ringing call can already hold the speaker (ours, dialled): report it once connected.
    let connected = call.state == CallState::Answered;
    let was_reported_active = was_active && before.is_some_and(|b| b.state == CallState::Answered);
    if call.active && connected && !was_reported_active {
        out.push(json!({"event": "active", "call_id": call.id}));
    }
    if call.held_by_remote && !was_held {
        out.push(json!({"event": "held_by_remote", "call_id": call.id}));
    }
    if !call.held_by_remote && was_held {
        out.push(json!({"event": "remote_resumed", "call_id": call.id}));
    }
    out
}

/// One call in a `calls` listing.
pub fn call_json(c: &CallInfo) -> Value {
    json!({
        "call_id": c.id,
        "direction": c.direction,
        "state": c.state,
        "remote_uri": c.remote_uri,
        "display_name": c.remote_display_name,
        "codec": c.codec.map(|k| format!("{k:?}").to_lowercase()),
        "active": c.active,
        "parked_since_ms": c.parked_since_ms,
        "held_by_remote": c.held_by_remote,
        "account": c.account,
        "encrypted": c.encrypted,
        "media_path": c.media_path,
        "conference": c.conference,
        "conference_muted": c.conference_muted,
    })
}

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
            "display_name": call.remote_display_name, "routing": call.routing, "account": call.account
        }),
        // Without history: the line for the call's state. `Printer` reports changes instead.
        PhoneEvent::CallUpdated { call } => return call_update_json(None, call).into_iter().next(),
        PhoneEvent::Dtmf { call_id, digit } => {
            json!({"event": "dtmf", "call_id": call_id, "digit": digit.to_string()})
        }
        PhoneEvent::AudioInputEnded { call_id } => {
            json!({"event": "audio_in_ended", "call_id": call_id})
        }
        PhoneEvent::CallEnded {
            call,
            reason,
            message,
        } => {
            let (kind, status) = match reason {
                EndReason::LocalHangup => ("local_hangup", None),
                EndReason::RemoteHangup => ("remote_hangup", None),
                EndReason::Cancelled => ("cancelled", None),
                EndReason::Rejected { status } => ("rejected", Some(*status)),
                // The callee declined (busy, decline): "rejected"; anything else: "failed".
                EndReason::Failed { status, .. } if matches!(status, 486 | 600 | 603) => {
                    ("rejected", Some(*status))
                }
                EndReason::Failed { status, .. } => ("failed", Some(*status)),
                EndReason::Error { .. } => ("error", None),
                EndReason::ParkedOnOrbit { .. } => ("parked_on_orbit", None),
                EndReason::Transferred { .. } => ("transferred", None),
                EndReason::Replaced { .. } => ("replaced", None),
            };
            let mut line = json!({"event": "ended", "call_id": call.id, "reason": kind, "status": status, "message": message});
            if let Some(routing) = &call.routing {
                line["routing"] = json!(routing);
            }
            line
        }
        PhoneEvent::Warning { message } => json!({"event": "warning", "message": message}),
        PhoneEvent::CallQuality {
            call_id,
            quality: q,
        } => json!({
            "event": "quality", "call_id": call_id, "mos": q.mos, "packets_received": q.packets_received,
            "packets_lost": q.packets_lost, "late_packets": q.late_packets,
            "concealed_frames": q.concealed_frames, "jitter_ms": q.jitter_ms, "rtt_ms": q.rtt_ms,
            "jitter_buffer_ms": q.jitter_buffer_ms
        }),
        PhoneEvent::ParkSlots { slots } => json!({"event": "slots", "slots": slot_json(slots)}),
        PhoneEvent::ParkRecall {
            call_id,
            who,
            parked_mins,
            message,
        } => json!({
            "event": "park_recall", "call_id": call_id, "who": who, "parked_mins": parked_mins, "message": message
        }),
        PhoneEvent::Transfer {
            call_id,
            target,
            progress,
            message,
        } => {
            let mut line = json!({"event": "transfer", "call_id": call_id, "target": target, "message": message});
            match progress {
                TransferProgress::Trying => line["progress"] = json!("trying"),
                TransferProgress::Ringing => line["progress"] = json!("ringing"),
                TransferProgress::Connected => line["progress"] = json!("connected"),
                TransferProgress::Failed { status, reason } => {
                    line["progress"] = json!("failed");
                    line["status"] = json!(status);
                    line["reason"] = json!(reason);
                }
            }
            line
        }
        // Four times a second for level meters: not a line for scripts.
        PhoneEvent::ConferenceLevels { .. } => return None,
        PhoneEvent::TransferRequest {
            call_id,
            target,
            who,
            expires_in_secs,
            message,
        } => json!({
            "event": "transfer_request", "call_id": call_id, "target": target, "who": who,
            "expires_in_secs": expires_in_secs, "message": message
        }),
        PhoneEvent::Conference {
            parties,
            joined,
            muted,
            message,
        } => json!({
            "event": "conference", "parties": parties, "joined": joined, "muted": muted, "message": message
        }),
        PhoneEvent::Availability { availability: a } => {
            json!({"event": "availability", "presence": a.presence.as_str(), "dnd": a.dnd})
        }
    })
}

/// The orbit slots as JSON (the `slots` line, also printed by the session's `slots` command).
pub fn slot_json(slots: &[hookflash_phone::ParkSlot]) -> Value {
    Value::Array(
        slots
            .iter()
            .map(|s| {
                json!({"slot": s.slot, "uri": s.uri, "occupied": s.occupied, "parked_uri": s.parked_uri,
                       "parked_display": s.parked_display, "state": s.state})
            })
            .collect(),
    )
}

/// The human form of a JSON line.
pub fn event_text_of(v: &Value) -> Option<String> {
    let v = v.clone();
    let e = v["event"].as_str().unwrap_or_default();
    Some(match e {
        "registering" => format!("registering {}", v["aor"].as_str().unwrap_or_default()),
        "registered" => format!(
            "registered {} for {} s",
            v["aor"].as_str().unwrap_or_default(),
            v["expires"]
        ),
        "registration_failed"
        | "registration_retrying"
        | "warning"
        | "park_recall"
        | "transfer_request"
        | "conference" => v["message"].as_str().unwrap_or_default().to_string(),
        "unregistered" => "unregistered".into(),
        "incoming" => format!(
            "incoming call {} from {}",
            v["call_id"],
            v["from"].as_str().unwrap_or_default()
        ),
        "calling" => format!("calling {}", v["to"].as_str().unwrap_or_default()),
        "ringing" => "ringing".into(),
        "answered" => format!(
            "answered ({}, {})",
            v["codec"].as_str().unwrap_or("?"),
            if v["encrypted"].as_bool() == Some(true) {
                "encrypted"
            } else {
                "not encrypted"
            }
        ),
        "dtmf" => format!("DTMF {}", v["digit"].as_str().unwrap_or_default()),
        "ended" => v["message"].as_str().unwrap_or_default().to_string(),
        "availability" => format!(
            "presence {}, do not disturb {}",
            v["presence"].as_str().unwrap_or_default(),
            if v["dnd"].as_bool() == Some(true) {
                "on"
            } else {
                "off"
            }
        ),
        _ => return line_text(&v),
    })
}

/// A human line for the multi-call lines (parked, active, calls, error...).
pub fn line_text(v: &Value) -> Option<String> {
    let id = &v["call_id"];
    Some(match v["event"].as_str().unwrap_or_default() {
        "parked" => format!("call {id} parked"),
        "resumed" => format!("call {id} no longer parked"),
        "active" => format!("call {id} is active"),
        "held_by_remote" => format!("call {id} held by the other side"),
        "remote_resumed" => format!("call {id} resumed by the other side"),
        "slots" => {
            let slots = v["slots"].as_array().cloned().unwrap_or_default();
            slots
                .iter()
                .map(|s| {
                    let who = s["parked_display"]
                        .as_str()
                        .or(s["parked_uri"].as_str())
                        .unwrap_or("");
                    match s["occupied"].as_bool() {
                        Some(true) => format!(
                            "orbit {}: occupied {who}",
                            s["slot"].as_str().unwrap_or_default()
                        )
                        .trim_end()
                        .to_string(),
                        _ => format!("orbit {}: free", s["slot"].as_str().unwrap_or_default()),
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        "device" => format!(
            "{} {}: {}{}",
            if v["direction"] == "input" {
                "microphone"
            } else {
                "speaker"
            },
            v["id"].as_str().unwrap_or_default(),
            v["name"].as_str().unwrap_or_default(),
            if v["default"] == true {
                " (default)"
            } else {
                ""
            }
        ),
        "audio_in_ended" | "quality" => return None,
        "error" => format!(
            "error: {}: {}",
            v["command"].as_str().unwrap_or_default(),
            v["message"].as_str().unwrap_or_default()
        ),
        "calls" => {
            let calls = v["calls"].as_array().cloned().unwrap_or_default();
            if calls.is_empty() {
                return Some("no calls".into());
            }
            calls
                .iter()
                .map(|c| {
                    let mut flags = Vec::new();
                    if c["active"].as_bool() == Some(true) {
                        flags.push("active".to_string());
                    }
                    if c["parked_since_ms"].is_i64() {
                        flags.push("parked".into());
                    }
                    if c["held_by_remote"].as_bool() == Some(true) {
                        flags.push("held by remote".into());
                    }
                    if c["encrypted"].as_bool() == Some(true) {
                        flags.push("encrypted".into());
                    }
                    format!(
                        "{} {} {} {}",
                        c["call_id"],
                        c["state"].as_str().unwrap_or_default(),
                        c["remote_uri"].as_str().unwrap_or_default(),
                        flags.join(", ")
                    )
                    .trim_end()
                    .to_string()
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        _ => return None,
    })
}

/// Prints events; remembers each call's last state so a `CallUpdated` prints only what changed.
pub struct Printer {
    pub json: bool,
    seen: Mutex<HashMap<CallId, CallInfo>>,
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Printer {
            json,
            seen: Mutex::new(HashMap::new()),
        }
    }

    pub fn event(&self, ev: &PhoneEvent) {
        let lines = match ev {
            PhoneEvent::CallUpdated { call } => {
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                let lines = call_update_json(seen.get(&call.id), call);
                seen.insert(call.id, call.clone());
                lines
            }
            PhoneEvent::IncomingCall { call } => {
                self.seen
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(call.id, call.clone());
                event_json(ev).into_iter().collect()
            }
            PhoneEvent::CallEnded { call, .. } => {
                self.seen
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&call.id);
                event_json(ev).into_iter().collect()
            }
            _ => event_json(ev).into_iter().collect(),
        };
        for v in lines {
            self.line(&v);
        }
    }

    /// Prints one line (JSON, or its human form).
    pub fn line(&self, v: &Value) {
        if self.json {
            println!("{v}");
        } else if let Some(t) = event_text_of(v) {
            println!("{t}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lines_read_as_microphone_or_speaker_with_the_default_marked() {
        let mic = serde_json::json!({"event": "device", "direction": "input", "id": "usb.monitor", "name": "Monitor of USB Headset", "default": false});
        assert_eq!(
            event_text_of(&mic).unwrap(),
            "microphone usb.monitor: Monitor of USB Headset"
        );
        let spk = serde_json::json!({"event": "device", "direction": "output", "id": "spk", "name": "Null Output", "default": true});
        assert_eq!(
            event_text_of(&spk).unwrap(),
            "speaker spk: Null Output (default)"
        );
    }
    use hookflash_phone::CallInfo;

    #[test]
    fn ended_line_carries_reason_and_status() {
        let call = CallInfo::new(3, Direction::Outgoing, CallState::Ended, "sip:bob@h", "", 0);
        let ev = PhoneEvent::CallEnded {
            call,
            reason: EndReason::Failed {
                status: 486,
                reason: "Busy Here".into(),
            },
            message: "call rejected (486 Busy Here) by sip:bob@h".into(),
        };
        let v = event_json(&ev).unwrap();
        assert_eq!(v["event"], "ended");
        assert_eq!(v["reason"], "rejected");
        assert_eq!(v["status"], 486);
        assert_eq!(v["call_id"], 3);
    }

    #[test]
    fn call_updates_print_only_what_changed() {
        let mut c = CallInfo {
            answered_at_ms: Some(1),
            active: true,
            ..CallInfo::new(
                2,
                Direction::Incoming,
                CallState::Answered,
                "sip:bob@h",
                "sip:me@h",
                0,
            )
        };
        let ringing = CallInfo {
            state: CallState::Ringing,
            active: false,
            ..c.clone()
        };
        let events = |b: Option<&CallInfo>, c: &CallInfo| -> Vec<String> {
            call_update_json(b, c)
                .iter()
                .map(|v| v["event"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(events(Some(&ringing), &c), ["answered", "active"]);
        assert!(events(Some(&c), &c).is_empty());
        let parked = CallInfo {
            active: false,
            parked_since_ms: Some(5),
            ..c.clone()
        };
        assert_eq!(events(Some(&c), &parked), ["parked"]);
        assert_eq!(events(Some(&parked), &c), ["resumed", "active"]);
        c.held_by_remote = true;
        assert_eq!(
            events(Some(&parked), &c),
            ["resumed", "active", "held_by_remote"]
        );
        assert_eq!(call_json(&c)["parked_since_ms"], Value::Null);
        assert_eq!(call_json(&parked)["parked_since_ms"], 5);
    }

    #[test]
    fn registration_failure_line() {
        let ev = PhoneEvent::Registration {
            aor: "sip:a@h".into(),
            state: RegistrationState::Failed {
                message: "registration refused (403) by h: Forbidden".into(),
                status: Some(403),
            },
        };
        let v = event_json(&ev).unwrap();
        assert_eq!(v["event"], "registration_failed");
        assert_eq!(v["status"], 403);
    }
}
