//! What goes into the phone core and what comes out of it: the whole contract between
//! `PhoneCore` and the driver (`driver/`). Inputs are user commands (each with a ticket its
//! reply carries back), what SIP and media report, and time-outs; outputs are SIP to send,
//! media to open/route/close, events for the front ends, history writes and replies. Live
//! objects (sockets, dialogs, transactions, sound cards) never cross: the core names them by
//! call id or by a key the driver chose.

use crate::api::{
    AudioEndpoint, Availability, CallId, CallOptions, PhoneError, PhoneEvent, VoiceProcessing,
};
use crate::core::registration::Failure;
use crate::core::transfer::ReferAnswer;
use crate::dialling::DiallingSettings;
use crate::routing::RoutingSettings;
use hookflash_media::{HoldMusic, MediaEvent, MediaStats, StreamParams};
use hookflash_sip::dialog_events::Ended;
use hookflash_sip::invite::{Answer, InviteOutcome, OutgoingInvite};
use hookflash_sip::replaces::Replaces;
use hookflash_sip::sdp::LocalKeys;
use hookflash_sip::subscription::Subscription;
use hookflash_sip::{Request, SipUri};
use hookflash_store::NewCallRecord;
use std::net::IpAddr;

/// Names a command so its reply finds the one who asked.
pub type Ticket = u64;

/// Names a live SIP object the driver keeps (a new INVITE's server transaction, an in-dialog
/// request's reply) until the core says what to answer.
pub type SipKey = u64;

#[derive(Debug)]
pub enum Input {
    Command {
        ticket: Ticket,
        command: Command,
    },
    Sip(SipInput),
    Media(MediaInput),
    /// The time passed to `handle` has reached `next_timeout()` (or passed it).
    Timeout,
    /// The computer resumed from sleep or its network changed: every registered account
    /// registers again at once (its binding may be gone or point at an old address).
    NetworkChanged,
    /// The address `account`'s registrar is reached from is `local_ip` now and its SIP stack
    /// listens there (`contact`): calls are offered from there, and it registers again.
    AddressChanged {
        account: usize,
        local_ip: IpAddr,
        contact: hookflash_sip::SipUri,
    },
}

/// What a front end asks (`Phone`'s methods).
#[derive(Debug)]
pub enum Command {
    Dial {
        target: String,
        opts: CallOptions,
    },
    /// A call to an orbit slot's URI (retrieve a call parked there).
    Retrieve {
        slot: String,
        opts: CallOptions,
    },
    Answer {
        id: CallId,
        opts: CallOptions,
    },
    Reject {
        id: CallId,
        status: u16,
    },
    Hangup {
        id: CallId,
    },
    Forward {
        id: CallId,
        target: String,
    },
    SendDtmf {
        id: CallId,
        digits: String,
    },
    SetMute {
        id: CallId,
        muted: bool,
    },
    Park {
        id: CallId,
    },
    SwitchTo {
        id: CallId,
    },
    ParkOnOrbit {
        id: CallId,
        slot: String,
    },
    /// Blind transfer to a number, extension or URI; the call is resumed if it fails and
    /// `resume_on_failure`, else left parked.
    Transfer {
        id: CallId,
        target: String,
        resume_on_failure: bool,
    },
    /// Consult before transferring: park call `id` (if active) and dial `target` from its
    /// account; replied with the new call's id.
    Consult {
        id: CallId,
        target: String,
        opts: CallOptions,
    },
    /// Attended transfer: connect the far ends of calls `id` and `other` (REFER to `id`'s far
    /// end with `Replaces` naming `other`) and leave both; `id` is held first. On failure both
    /// calls stay, `id` parked (or resumed if `resume_on_failure`).
    CompleteTransfer {
        id: CallId,
        other: CallId,
        resume_on_failure: bool,
    },
    /// Accept or decline the far end's request (REFER) to transfer call `id` (accounts with
    /// `transfer_requests = "ask"`).
    AnswerTransferRequest {
        id: CallId,
        accept: bool,
    },
    /// Merge the active call, the conference (if any) and these calls into one local
    /// conference the user is in.
    Conference {
        ids: Vec<CallId>,
    },
    /// Keep a party (None: the user's microphone) out of the conference's mix, or let it back.
    ConferenceMute {
        id: Option<CallId>,
        muted: bool,
    },
    /// Leave the conference: two parties are connected to each other; with more it is refused
    /// unless `end` (every party hung up).
    LeaveConference {
        end: bool,
    },
    /// Leave the conference by handing it to party `to`: its phone is referred to each other
    /// party in turn (`Replaces` naming our call with it), then our call with it ends.
    HandConference {
        to: CallId,
    },
    Register,
    Unregister,
    SetRouting(Box<RoutingSettings>),
    SetDialling(DiallingSettings),
    SetAvailability(Availability),
    SetCallDefaults(CallOptions),
    SetParkRecallMs(Option<i64>),
    /// Checked by the driver (the file opens) before it comes here.
    SetHoldMusic(HoldMusic),
    SetVoiceProcessing(VoiceProcessing),
    /// Hang up every call, end the orbit subscriptions, un-register; the reply comes when done.
    /// OPTIONS to the first registering account's registrar (`hookflash-cli check`).
    Probe,
    Shutdown,
}

/// A command's successful result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Ok,
    Call(CallId),
    /// Registration granted this many seconds.
    Expires(u32),
    Probed(crate::api::ProbeResult),
}

#[derive(Debug)]
pub enum SipInput {
    /// The INVITE of `Output::Sip(Invite)` went out (Ok) or could not (Err, why).
    InviteSent {
        id: CallId,
        result: Result<(), String>,
    },
    /// Its final outcome.
    InviteOutcome {
        id: CallId,
        outcome: InviteOutcome,
    },
    /// A new INVITE to `account`; `request` is a copy, the transaction stays with the driver.
    /// `utc_offset_secs`: the computer's offset from UTC now (business hours rules).
    /// `replaces`: the call of ours it asks to take the place of (its `Replaces` header names a
    /// dialog the SIP layer has; one naming none was answered 481 there).
    NewInvite {
        account: usize,
        key: SipKey,
        request: Request,
        utc_offset_secs: i32,
        replaces: Option<Replaces>,
    },
    /// The INVITE of `SipOutput::Take` became a call leg (Ok), or could not (Err).
    Taken {
        id: CallId,
        result: Result<(), String>,
    },
    /// A request outside the calls' dialogs that is not an INVITE (a subscription's NOTIFY).
    Request {
        account: usize,
        key: SipKey,
        request: Request,
    },
    /// 180/183 to our INVITE (with early media SDP).
    Early {
        sip_call_id: String,
        sdp: Option<String>,
    },
    /// The far end's re-INVITE or UPDATE (empty `sdp`: offer-less).
    Reinvite {
        sip_call_id: String,
        sdp: String,
        key: SipKey,
    },
    Info {
        sip_call_id: String,
        request: Request,
        key: SipKey,
    },
    Notify {
        sip_call_id: String,
        request: Request,
        key: SipKey,
    },
    /// The far end's REFER in a call (we are being transferred).
    Refer {
        sip_call_id: String,
        request: Request,
        key: SipKey,
    },
    DialogEnded {
        sip_call_id: String,
        why: Ended,
    },
    /// The answer to our re-INVITE (None: the dialog was not established).
    ReinviteDone {
        id: CallId,
        result: Result<Option<Answer>, String>,
    },
    ReferAnswered {
        id: CallId,
        answer: ReferAnswer,
    },
    /// Whether the 302 of `SipOutput::Redirect` could still be sent.
    Redirected {
        id: CallId,
        sent: bool,
    },
    /// `public`: the address registered when it is not our own (NAT); `outbound`: the
    /// registrar uses SIP outbound, with the `Flow-Timer` it asked for (seconds), if any.
    Registered {
        account: usize,
        result: Result<u32, Failure>,
        public: Option<std::net::SocketAddr>,
        outbound: Option<Option<u32>>,
    },
    /// The OPTIONS of `SipOutput::Probe`: its answer, or why there was none.
    Probed {
        ticket: Ticket,
        result: Result<crate::api::ProbeResult, PhoneError>,
    },
    /// The keep-alive of `SipOutput::KeepAlive` is over: Err when the binding's connection is gone.
    KeptAlive {
        account: usize,
        result: Result<(), Failure>,
    },
    /// A SUBSCRIBE exchange for an orbit slot ended; `dialog` is the subscription as it stands.
    Subscribed {
        account: usize,
        slot: String,
        dialog: Subscription,
        result: Result<u32, (Option<u16>, String)>,
    },
}

/// An RTP socket bound for a call, and the SRTP master key its media would be sent with. The
/// key is drawn by the driver from the operating system's random source: the core's own
/// (seeded, reproducible) randomness is not fit for keys.
#[derive(Debug, Clone)]
pub struct RtpSocket {
    pub port: u16,
    /// The call's SDES key and the phone's DTLS certificate fingerprint.
    pub keys: LocalKeys,
}

#[derive(Debug)]
pub enum MediaInput {
    /// The RTP socket of `MediaOutput::Bind`, or why not.
    Bound {
        id: CallId,
        result: Result<RtpSocket, String>,
    },
    /// The media of `MediaOutput::Start` runs (Ok) or could not start (Err).
    Started {
        id: CallId,
        result: Result<(), String>,
    },
    Event {
        id: CallId,
        event: MediaEvent,
    },
    Measured {
        id: CallId,
        stats: MediaStats,
    },
    /// The call's media is closed (`MediaOutput::Close`), with its last statistics.
    Closed {
        id: CallId,
        stats: Option<MediaStats>,
    },
    /// The conference parties' levels (`MediaOutput::MeasureConference`).
    ConferenceLevels {
        levels: Vec<crate::api::PartyLevel>,
    },
}

#[derive(Debug)]
pub enum Output {
    Sip(SipOutput),
    Media(MediaOutput),
    Event(PhoneEvent),
    History(HistoryOp),
    Reply {
        ticket: Ticket,
        result: Result<Done, PhoneError>,
    },
}

#[derive(Debug)]
pub enum SipOutput {
    /// Send the first INVITE of an outgoing call from `account`; answer with `InviteSent`, then
    /// `InviteOutcome`.
    Invite {
        id: CallId,
        account: usize,
        invite: Box<OutgoingInvite>,
    },
    /// Answer a new INVITE with a final status (no call is made of it).
    RefuseInvite {
        key: SipKey,
        status: u16,
        headers: Vec<(String, String)>,
    },
    /// Make a new INVITE call `id`'s leg (with our Contact for `account`), send 180; answer
    /// with `Taken`.
    Take {
        key: SipKey,
        id: CallId,
        account: usize,
    },
    /// Answer an in-dialog request or an out-of-dialog one (`key`), with SDP or not.
    Respond {
        key: SipKey,
        status: u16,
        sdp: Option<Vec<u8>>,
    },
    /// 200 OK with our SDP answer to the call's INVITE.
    Accept {
        id: CallId,
        sdp: Vec<u8>,
    },
    Reject {
        id: CallId,
        status: u16,
    },
    Cancel {
        id: CallId,
    },
    Bye {
        id: CallId,
    },
    /// A re-INVITE with this offer, once the dialog is confirmed; answer with `ReinviteDone`.
    Reinvite {
        id: CallId,
        sdp: Vec<u8>,
    },
    /// REFER the far end of call `id` to `target`; with `replaces`, the Refer-To carries that
    /// call's dialog (attended transfer: the target's phone swaps it for the transferee's INVITE).
    Refer {
        id: CallId,
        target: SipUri,
        referred_by: SipUri,
        replaces: Option<CallId>,
    },
    /// Tell the far end of call `id`, which referred us, how our call to its target goes
    /// (NOTIFY with a sipfrag; `last` ends the subscription).
    NotifyRefer {
        id: CallId,
        status: u16,
        reason: String,
        last: bool,
    },
    /// 302 to a ringing call's INVITE; answer with `Redirected`.
    Redirect {
        id: CallId,
        target: SipUri,
    },
    /// The call is over: let go of its leg.
    Release {
        id: CallId,
    },
    Register {
        account: usize,
        expires: u32,
    },
    /// OPTIONS to the account's registrar; answer with `SipInput::Probed`.
    Probe {
        ticket: Ticket,
        account: usize,
    },
    /// Check the connection the account's binding lives on; with `ping`, send a CRLF keep-alive
    /// on it. Answer with `SipInput::KeptAlive`.
    KeepAlive {
        account: usize,
        ping: bool,
    },
    Subscribe {
        account: usize,
        slot: String,
        dialog: Subscription,
        expires: u32,
    },
    /// Close every transport (after `Command::Shutdown`).
    Close,
}

/// The STUN and TURN servers a call's sockets ask, as the account names them (resolved by the
/// driver).
#[derive(Debug, Clone, PartialEq)]
pub struct IceServerNames {
    pub stun: Option<String>,
    pub turn: Option<crate::api::TurnConfig>,
    /// The account's extra CA (`tls_ca_file`), also trusted for a TURN server over TLS.
    pub tls_ca_file: Option<std::path::PathBuf>,
}

#[derive(Debug)]
pub enum MediaOutput {
    /// Bind an RTP socket on `ip` for the call and, with `servers`, learn its public and
    /// relayed addresses for ICE; answer with `Bound`.
    Bind {
        id: CallId,
        ip: IpAddr,
        servers: Option<IceServerNames>,
    },
    /// Start the call's media on its socket through the audio switch of these endpoints;
    /// answer with `Started`.
    Start {
        id: CallId,
        params: StreamParams,
        audio_in: AudioEndpoint,
        audio_out: AudioEndpoint,
        muted: bool,
    },
    /// New parameters for running media (re-INVITE, early media becoming final).
    Update {
        id: CallId,
        params: StreamParams,
    },
    Mute {
        id: CallId,
        muted: bool,
    },
    SendDtmf {
        id: CallId,
        digits: String,
    },
    /// Ringback tone while an outgoing call rings (started only if the call has no media by
    /// the time the device opens).
    Ringback {
        id: CallId,
        out: AudioEndpoint,
    },
    /// Stop the call's media (and tones), drop its socket; answer with `Closed`.
    Close {
        id: CallId,
    },
    /// Measure the call's media; answer with `Measured`.
    Measure {
        id: CallId,
    },
    /// Which call has the microphone and speaker (None: none).
    Route {
        active: Option<CallId>,
    },
    /// The calls mixed with each other and the user in a local conference (empty: none).
    Conference {
        members: Vec<CallId>,
    },
    /// Keep a conference party (None: the user's microphone) out of the mix, or let it back.
    ConferenceMute {
        id: Option<CallId>,
        muted: bool,
    },
    /// Read the conference parties' levels; answer with `ConferenceLevels`.
    MeasureConference,
    /// The call-waiting tone over the active call.
    CallWaiting(bool),
    HoldMusic(HoldMusic),
    VoiceProcessing(VoiceProcessing),
}

/// History writes; the driver keeps which row belongs to which call.
#[derive(Debug)]
pub enum HistoryOp {
    /// The call started: write its row now (a crash leaves it, marked interrupted later).
    Begin { id: CallId, record: NewCallRecord },
    /// Still going (and answered / codec as given).
    Progress {
        id: CallId,
        answered_at_ms: Option<i64>,
        codec: Option<String>,
        now_ms: i64,
    },
    /// The call ended: its final row.
    Finish { id: CallId, record: NewCallRecord },
}
