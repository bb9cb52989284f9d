//! The call-history record types: what the engine hands in when a call ends ([`NewCallRecord`]) and
//! what it gets back ([`CallRecord`]), plus the direction and outcome enums with their stored spelling.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which side placed the call. Stored (and serialised) as `"incoming"` / `"outgoing"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    Incoming,
    Outgoing,
}

impl CallDirection {
    /// The text stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CallDirection::Incoming => "incoming",
            CallDirection::Outgoing => "outgoing",
        }
    }
}

impl FromStr for CallDirection {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        match s {
            "incoming" => Ok(CallDirection::Incoming),
            "outgoing" => Ok(CallDirection::Outgoing),
            other => Err(UnknownValue(other.to_string())),
        }
    }
}

impl fmt::Display for CallDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the call ended. Stored (and serialised) as lowercase text: `"answered"`, `"missed"`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Someone picked up (either side).
    Answered,
    /// Incoming call that rang here and was never answered or rejected.
    Missed,
    /// Incoming call we declined (486/603), or outgoing call the callee declined.
    Rejected,
    /// Outgoing call we gave up on before it was answered.
    Cancelled,
    /// Outgoing call that failed (error status, timeout, transport error).
    Failed,
    /// The program stopped (crash, kill, power cut) while the call was going on.
    Interrupted,
}

impl CallOutcome {
    /// Every outcome, in declaration order.
    pub const ALL: [CallOutcome; 6] = [
        CallOutcome::Answered,
        CallOutcome::Missed,
        CallOutcome::Rejected,
        CallOutcome::Cancelled,
        CallOutcome::Failed,
        CallOutcome::Interrupted,
    ];

    /// The text stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Answered => "answered",
            CallOutcome::Missed => "missed",
            CallOutcome::Rejected => "rejected",
            CallOutcome::Cancelled => "cancelled",
            CallOutcome::Failed => "failed",
            CallOutcome::Interrupted => "interrupted",
        }
    }
}

impl FromStr for CallOutcome {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        CallOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_string()))
    }
}

impl fmt::Display for CallOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored text that names no known direction or outcome.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownValue(pub String);

/// One finished call, as the engine records it. Times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewCallRecord {
    pub direction: CallDirection,
    /// The local account's AOR, e.g. `sip:alice@example.com`.
    pub account: String,
    pub remote_uri: String,
    pub remote_display_name: Option<String>,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: i64,
    pub outcome: CallOutcome,
    /// Final SIP status, when one was sent or received (e.g. 486).
    pub sip_status: Option<u16>,
    /// Negotiated codec, e.g. `"opus"`.
    pub codec: Option<String>,
    /// Free-text reason the call ended, as shown to the user.
    pub end_reason: Option<String>,
    /// How the phone routed an incoming call: the decision and the rule that made it.
    #[serde(default)]
    pub routing: Option<String>,
    /// Media quality over the whole call (absent when no audio flowed).
    #[serde(default)]
    pub quality: Option<CallQuality>,
}

/// Media quality of a finished call, as measured by the media session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct CallQuality {
    /// Estimated MOS (ITU-T G.107 E-model), 1.0-4.5.
    pub mos: Option<f64>,
    pub packets_received: i64,
    /// Packets that never arrived (RFC 3550 cumulative loss).
    pub packets_lost: i64,
    /// Packets that arrived after their playout time.
    pub late_packets: i64,
    /// 20 ms frames filled in by loss concealment.
    pub concealed_frames: i64,
    /// Interarrival jitter (RFC 3550), milliseconds.
    pub jitter_ms: Option<f64>,
    /// Round-trip time from RTCP, milliseconds.
    pub rtt_ms: Option<f64>,
    /// Mean jitter-buffer delay, milliseconds.
    pub jitter_buffer_ms: Option<f64>,
}

/// A stored call: the recorded fields plus the row id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub id: i64,
    pub direction: CallDirection,
    pub account: String,
    pub remote_uri: String,
    pub remote_display_name: Option<String>,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: i64,
    pub outcome: CallOutcome,
    pub sip_status: Option<u16>,
    pub codec: Option<String>,
    pub end_reason: Option<String>,
    pub routing: Option<String>,
    pub quality: Option<CallQuality>,
}

impl CallRecord {
    /// Pairs a recorded call with the id the database gave it.
    pub fn from_new(id: i64, call: NewCallRecord) -> CallRecord {
        let NewCallRecord {
            direction,
            account,
            remote_uri,
            remote_display_name,
            started_at_ms,
            answered_at_ms,
            ended_at_ms,
            outcome,
            sip_status,
            codec,
            end_reason,
            routing,
            quality,
        } = call;
        CallRecord {
            id,
            direction,
            account,
            remote_uri,
            remote_display_name,
            started_at_ms,
            answered_at_ms,
            ended_at_ms,
            outcome,
            sip_status,
            codec,
            end_reason,
            routing,
            quality,
        }
    }

    /// How long the call was connected, in milliseconds (0 if never answered).
    pub fn talk_time_ms(&self) -> i64 {
        match self.answered_at_ms {
            Some(answered) => (self.ended_at_ms - answered).max(0),
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_spellings_round_trip() {
        for d in [CallDirection::Incoming, CallDirection::Outgoing] {
            assert_eq!(d.as_str().parse::<CallDirection>(), Ok(d));
        }
        for o in CallOutcome::ALL {
            assert_eq!(o.as_str().parse::<CallOutcome>(), Ok(o));
            assert_eq!(o.as_str(), o.as_str().to_lowercase());
        }
        assert_eq!(CallOutcome::Cancelled.as_str(), "cancelled");
        assert_eq!(
            "Missed".parse::<CallOutcome>(),
            Err(UnknownValue("Missed".into()))
        );
        assert!("".parse::<CallDirection>().is_err());
    }

    #[test]
    fn serde_uses_the_stored_spelling() {
        assert_eq!(
            serde_json::to_string(&CallDirection::Incoming).unwrap(),
            "\"incoming\""
        );
        for o in CallOutcome::ALL {
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                format!("\"{}\"", o.as_str())
            );
        }
    }

    #[test]
    fn talk_time() {
        let mut r = CallRecord {
            id: 1,
            direction: CallDirection::Outgoing,
            account: "sip:a@b".into(),
            remote_uri: "sip:c@d".into(),
            remote_display_name: None,
            started_at_ms: 1_000,
            answered_at_ms: Some(3_000),
            ended_at_ms: 10_500,
            outcome: CallOutcome::Answered,
            sip_status: Some(200),
            codec: Some("opus".into()),
            end_reason: None,
            routing: None,
            quality: None,
        };
        assert_eq!(r.talk_time_ms(), 7_500);
        r.answered_at_ms = None;
        assert_eq!(r.talk_time_ms(), 0);
        r.answered_at_ms = Some(20_000); // clock went backwards: never negative
        assert_eq!(r.talk_time_ms(), 0);
    }
}
