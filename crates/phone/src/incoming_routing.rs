//! The phone's side of call routing: turn an incoming INVITE into [`CallFacts`], the phone's
//! calls into a [`PhoneState`], and a finished call's media counters into the history row's
//! [`CallQuality`]. The decisions themselves are made by [`crate::routing::Router`] (pure).

use crate::api::{CallInfo, CallState, Direction};
use crate::routing::{CallFacts, PhoneState};
use hookflash_media::MediaStats;
use hookflash_store::CallQuality;

/// The facts rules see about an incoming request: request URI and every header as received.
pub(crate) fn facts(req: &hookflash_sip::Request, account_aor: &str) -> CallFacts {
    CallFacts::from_headers(&req.uri, &req.headers, account_aor)
}

/// The phone's state as rules see it, from the calls in progress (the new call not among them).
/// `utc_offset_secs`: the computer's offset from UTC now (routing settings may override it).
pub(crate) fn phone_state<'a>(
    calls: impl Iterator<Item = &'a CallInfo>,
    now_ms: i64,
    utc_offset_secs: i32,
) -> PhoneState {
    let mut state = PhoneState {
        now_unix_secs: now_ms.div_euclid(1000),
        local_utc_offset_secs: utc_offset_secs,
        ..PhoneState::default()
    };
    for call in calls {
        match (call.direction, call.state) {
            (_, CallState::Ended) => {}
            (Direction::Incoming, CallState::Ringing) => state.ringing_calls += 1,
            _ => {
                state.active_calls += 1;
                if call.parked_since_ms.is_some() {
                    state.parked_count += 1;
                }
            }
        }
    }
    state
}

/// The quality summary stored with the history row; `None` when no RTP was received.
pub(crate) fn quality(stats: &MediaStats) -> Option<CallQuality> {
    if stats.packets_received == 0 && stats.packets_lost == 0 {
        return None;
    }
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Some(CallQuality {
        mos: stats.mos,
        packets_received: clamp(stats.packets_received),
        packets_lost: stats.packets_lost.max(0),
        late_packets: clamp(stats.late_packets),
        concealed_frames: clamp(stats.concealed_frames),
        jitter_ms: Some(stats.jitter_ms),
        rtt_ms: stats.rtt_ms,
        jitter_buffer_ms: Some(stats.jitter_buffer_mean_delay_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CallInfo;

    fn call(id: u64, direction: Direction, state: CallState, parked: bool) -> CallInfo {
        CallInfo {
            parked_since_ms: parked.then_some(1),
            ..CallInfo::new(
                id,
                direction,
                state,
                format!("sip:p{id}@example.com"),
                "sip:alice@example.com",
                0,
            )
        }
    }

    #[test]
    fn counts_calls_in_progress_parked_and_ringing() {
        let calls = [
            call(1, Direction::Incoming, CallState::Answered, false),
            call(2, Direction::Outgoing, CallState::Answered, true),
            call(3, Direction::Outgoing, CallState::Calling, false),
            call(4, Direction::Incoming, CallState::Ringing, false),
            call(5, Direction::Incoming, CallState::Ended, false),
        ];
        let s = phone_state(calls.iter(), 1_700_000_000_123, 3600);
        assert_eq!((s.active_calls, s.parked_count, s.ringing_calls), (3, 1, 1));
        assert_eq!(
            (s.now_unix_secs, s.local_utc_offset_secs),
            (1_700_000_000, 3600)
        );
        assert!(!s.dnd);
    }

    #[test]
    fn facts_come_from_the_request_headers() {
        let text = "INVITE sip:alice@10.0.0.5:5060 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1\r\n\
            From: \"Queue\" <sip:100@pbx.example.com>;tag=1\r\n\
            To: <sip:sales@pbx.example.com>\r\n\
            Call-ID: abc\r\n\
            CSeq: 1 INVITE\r\n\
            Diversion: <sip:sales@pbx.example.com>;reason=unconditional\r\n\
            Alert-Info: <http://x/ring>;info=queue\r\n\
            Content-Length: 0\r\n\r\n";
        let req = hookflash_sip::Request::parse(text).unwrap();
        let f = facts(&req, "sip:alice@example.com");
        assert_eq!(f.request_uri, "sip:alice@10.0.0.5:5060");
        assert!(f.to.contains("sip:sales@pbx.example.com"), "{f:?}");
        assert_eq!(f.diversion.len(), 1, "{f:?}");
        assert_eq!(f.alert_info.len(), 1, "{f:?}");
        assert_eq!(f.account_aor, "sip:alice@example.com");
    }

    #[test]
    fn quality_only_when_audio_was_received() {
        assert_eq!(quality(&MediaStats::default()), None);
        let stats = MediaStats {
            packets_received: 100,
            packets_lost: 5,
            mos: Some(4.1),
            ..Default::default()
        };
        let q = quality(&stats).unwrap();
        assert_eq!(
            (q.packets_received, q.packets_lost, q.mos),
            (100, 5, Some(4.1))
        );
    }
}
