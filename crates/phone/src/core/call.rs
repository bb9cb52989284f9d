//! One call's bookkeeping as plain data: its state transitions and how it ends up in the
//! history (outcome). `PhoneCore` applies SIP and media events to it; everything here
//! is deterministic and tested without sockets.

use crate::api::{CallId, CallInfo, CallOptions, CallState, Direction, EndReason};
use crate::core::io::Ticket;
use hookflash_sip::sdp::LocalKeys;
use hookflash_sip::sdp::{AudioDescription, Direction as SdpDirection, Negotiated};
use hookflash_sip::SipUri;

/// A call as the core keeps it: what front ends see (`info`) and what its SIP and media are
/// at. The live objects (dialog, socket, media session) are the driver's, named by `info.id`.
#[derive(Debug)]
pub struct Call {
    pub info: CallInfo,
    /// The account the call belongs to (index into the core's accounts).
    pub account: usize,
    pub sip_call_id: String,
    /// Incoming: the caller's offer. Outgoing: our offer.
    pub offer: Option<AudioDescription>,
    pub opts: CallOptions,
    /// Set when we started the hang-up, so the dialog's termination reads as ours.
    pub local_end: bool,
    pub sdp_version: u64,
    /// Our last SDP (offer or answer).
    pub local_sdp: Option<AudioDescription>,
    pub negotiated: Option<Negotiated>,
    /// Where a forward-on-no-answer rule sends this call when its timer fires.
    pub forward_to: Option<SipUri>,
    pub media: MediaState,
    /// What to do once the media runs (see `AfterStart`).
    pub after_start: AfterStart,
    /// A command waiting for this call's next step.
    pub waiting: Option<Waiting>,
    /// Our re-INVITE in flight: the direction offered, the offer, our SDP before it.
    pub reinvite: Option<(SdpDirection, AudioDescription, AudioDescription)>,
    /// The SRTP key our media is sent with (SDES) and our DTLS fingerprint, once its socket is
    /// bound (the same for the whole call: re-offers keep them).
    pub keys: Option<LocalKeys>,
    /// The call this one takes the place of (an INVITE with `Replaces`): hung up when this one
    /// is answered.
    pub replaces: Option<CallId>,
    /// What the far end's phone says it can do (REFER, Replaces), from its INVITE or its 2xx.
    pub peer: hookflash_sip::capabilities::Capabilities,
}

/// Whether the call's media runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaState {
    Off,
    Starting,
    Running,
}

/// What the start of a call's media completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterStart {
    Nothing,
    /// Our INVITE was answered: the call is connected once audio runs.
    Connected,
    /// We answered: connected once audio runs.
    Answered,
}

/// Who waits for a call's next step, and for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// `dial`: replied with the call id once the INVITE is out.
    Dial(Ticket),
    /// `answer` (None: an auto-answer rule).
    Answer(Option<Ticket>),
    /// `park_on_orbit`: replied once the REFER is answered.
    Refer(Ticket),
    /// `forward` (None: forward on no answer): replied once the 302 is sent or not.
    Forward(Option<Ticket>),
}

impl Call {
    pub fn new(info: CallInfo, account: usize, sip_call_id: String) -> Call {
        Call {
            info,
            account,
            sip_call_id,
            offer: None,
            opts: CallOptions::default(),
            local_end: false,
            sdp_version: 0,
            local_sdp: None,
            negotiated: None,
            forward_to: None,
            media: MediaState::Off,
            after_start: AfterStart::Nothing,
            waiting: None,
            reinvite: None,
            keys: None,
            replaces: None,
            peer: Default::default(),
        }
    }

    /// Incoming and still ringing here.
    pub fn rings_here(&self) -> bool {
        self.info.direction == Direction::Incoming && self.info.state == CallState::Ringing
    }

    /// The id front ends know it by.
    pub fn id(&self) -> CallId {
        self.info.id
    }
}

/// How a call ends up in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Answered,
    Missed,
    Rejected,
    Cancelled,
    Failed,
}

/// The outcome of a call from its direction, whether it was answered, and why it ended.
pub fn outcome(direction: Direction, answered: bool, reason: &EndReason) -> Outcome {
    if answered {
        return Outcome::Answered;
    }
    match (direction, reason) {
        (Direction::Incoming, EndReason::Rejected { .. }) => Outcome::Rejected,
        (Direction::Incoming, EndReason::Cancelled) => Outcome::Missed,
        (Direction::Incoming, EndReason::RemoteHangup) => Outcome::Missed,
        (Direction::Incoming, EndReason::LocalHangup) => Outcome::Rejected,
        (Direction::Incoming, _) => Outcome::Failed,
        (Direction::Outgoing, EndReason::LocalHangup)
        | (Direction::Outgoing, EndReason::Cancelled) => Outcome::Cancelled,
        (Direction::Outgoing, _) => Outcome::Failed,
    }
}

/// SIP status to keep in the history row, if the end reason has one.
pub fn sip_status(reason: &EndReason) -> Option<u16> {
    match reason {
        EndReason::Rejected { status } | EndReason::Failed { status, .. } => Some(*status),
        _ => None,
    }
}

/// The sentence a user reads about how a call ended.
pub fn end_message(info: &CallInfo, reason: &EndReason) -> String {
    let who = info
        .remote_display_name
        .clone()
        .unwrap_or_else(|| info.remote_uri.clone());
    match reason {
        EndReason::LocalHangup => format!("call with {who} ended"),
        EndReason::RemoteHangup => format!("{who} hung up"),
        EndReason::Cancelled => format!("missed call from {who}"),
        EndReason::Rejected { status } => format!("call from {who} rejected ({status})"),
        EndReason::Failed { status, reason } => {
            format!("call rejected ({status} {reason}) by {}", info.remote_uri)
        }
        EndReason::Error { message } => format!("call with {who} failed: {message}"),
        EndReason::ParkedOnOrbit { slot } => format!("{who} parked on {slot}"),
        EndReason::Transferred { target } => format!("{who} transferred to {target}"),
        EndReason::Replaced { by } => format!("call with {who} replaced by a call from {by}"),
    }
}

/// Applies a state change; returns false when the change is not allowed (a late
/// provisional after answer, anything after the end), so callers can ignore stale events.
pub fn advance(info: &mut CallInfo, to: CallState, now_ms: i64) -> bool {
    use CallState::*;
    let ok = matches!(
        (info.state, to),
        (Calling, Ringing)
            | (Calling, Answered)
            | (Ringing, Answered)
            | (Calling, Ended)
            | (Ringing, Ended)
            | (Answered, Ended)
    );
    if ok {
        info.state = to;
        if to == Answered {
            info.answered_at_ms = Some(now_ms);
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(direction: Direction) -> CallInfo {
        CallInfo {
            remote_display_name: Some("Bob".into()),
            ..CallInfo::new(
                1,
                direction,
                CallState::Calling,
                "sip:bob@example.com",
                "",
                0,
            )
        }
    }

    #[test]
    fn outgoing_call_flow() {
        let mut c = info(Direction::Outgoing);
        assert!(advance(&mut c, CallState::Ringing, 10));
        assert!(advance(&mut c, CallState::Answered, 20));
        assert_eq!(c.answered_at_ms, Some(20));
        assert!(
            !advance(&mut c, CallState::Ringing, 30),
            "a late 180 after 200 is ignored"
        );
        assert!(advance(&mut c, CallState::Ended, 40));
        assert!(!advance(&mut c, CallState::Ended, 50), "ends once");
    }

    #[test]
    fn outcomes() {
        use Direction::*;
        assert_eq!(
            outcome(Incoming, false, &EndReason::Cancelled),
            Outcome::Missed
        );
        assert_eq!(
            outcome(Incoming, false, &EndReason::Rejected { status: 486 }),
            Outcome::Rejected
        );
        assert_eq!(
            outcome(Incoming, true, &EndReason::RemoteHangup),
            Outcome::Answered
        );
        assert_eq!(
            outcome(Outgoing, false, &EndReason::LocalHangup),
            Outcome::Cancelled
        );
        let busy = EndReason::Failed {
            status: 486,
            reason: "Busy Here".into(),
        };
        assert_eq!(outcome(Outgoing, false, &busy), Outcome::Failed);
        assert_eq!(sip_status(&busy), Some(486));
        assert_eq!(
            end_message(&info(Outgoing), &busy),
            "call rejected (486 Busy Here) by sip:bob@example.com"
        );
    }
}
