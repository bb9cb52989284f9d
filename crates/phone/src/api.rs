//! The contract between the engine and its front ends (CLI, desktop shell).
//! Everything here is plain data, serialisable to JSON for the UI and `--json` output.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// SIP transport of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, Default)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    Tls,
    /// SIP over WebSocket (RFC 7118), for WebRTC-style gateways; port 80 unless given.
    Ws,
    /// SIP over secure WebSocket (TLS, the certificate checked as for `tls`); port 443 unless given.
    Wss,
}

/// One SIP account. The password is never part of this: it comes from a [`PasswordSource`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct AccountConfig {
    /// Address of record, e.g. `sip:alice@example.com`.
    pub aor: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Digest user name; defaults to the AOR's user part.
    #[serde(default)]
    pub auth_user: Option<String>,
    /// Registrar URI; defaults to the AOR's host. `;transport=tcp|tls|ws|wss` selects the transport.
    #[serde(default)]
    pub registrar: Option<String>,
    /// Outbound proxy URI every request is sent through, if any.
    #[serde(default)]
    pub outbound_proxy: Option<String>,
    #[serde(default)]
    pub transport: Option<Transport>,
    /// The HTTP path of the WebSocket upgrade for `ws`/`wss` (e.g. `/ws`, as the gateway's
    /// address `wss://host/ws` says); default `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ws_path: Option<String>,
    /// Requested registration lifetime in seconds.
    #[serde(default = "default_expires")]
    pub expires: u32,
    /// Local SIP address to bind (default: an ephemeral port on the address that reaches the registrar).
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// Extra CA certificate (PEM) trusted for TLS, besides the system roots. Verification stays on.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// Whether to REGISTER at all (false: calls only, e.g. peer-to-peer).
    #[serde(default = "default_true")]
    pub register: bool,
    /// The digest realm the password is given to. Default: the account's domain, registrar and
    /// outbound proxy hosts, and the realm its registrar challenges with; a challenge for any
    /// other realm on a call's path is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// Park orbits on the server this account can park calls on and watch (`[account.shared_park]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_park: Option<SharedParkConfig>,
    /// Routing rules for this account's incoming calls (`[account.routing]`, same format as
    /// `[routing]`); none: the profile's `[routing]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<crate::routing::RoutingSettings>,
    /// Caller IDs calls from this account may present (`[[account.caller_ids]]`, like
    /// `dialling.caller_ids`); none: the profile's `dialling.caller_ids`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_ids: Option<Vec<crate::dialling::CallerId>>,
    /// How calls' media is encrypted: `none` (clear RTP offered; an encrypted offer is still
    /// answered encrypted), `sdes` (SRTP keyed in the SDP, RFC 4568) or `dtls` (DTLS-SRTP, RFC
    /// 5763: `UDP/TLS/RTP/SAVP` offered, keys from a DTLS handshake checked against the SDP's
    /// certificate fingerprint). Whatever is chosen, an offer of either kind is answered in kind.
    #[serde(default)]
    pub media_encryption: MediaEncryption,
    /// Refuse calls whose media would not be encrypted (needs `media_encryption = "sdes"` or
    /// `"dtls"`): we offer encrypted media only and refuse clear offers and answers.
    #[serde(default)]
    pub require_encryption: bool,
    /// Offer ICE (RFC 8445) in our calls: credentials and candidates in the SDP, connectivity
    /// checks before media, media over the pair that answered (RTP and RTCP each checked, or
    /// RTCP on the RTP pair when `rtcp-mux` is agreed). A far end that
    /// offers ICE is answered with ICE whatever this says.
    #[serde(default)]
    pub ice: bool,
    /// STUN server (`host` or `host:port`, port 3478) that tells each call's sockets the address
    /// a NAT gives them: offered as a server-reflexive ICE candidate. Without one, the TURN
    /// server is asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stun_server: Option<String>,
    /// TURN server (`[account.turn]`) that relays a call's media when no direct path works
    /// (RFC 8656): each ICE call gets a relayed candidate on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<TurnConfig>,
    /// Seconds between the keep-alives that hold the registration's path open through NAT
    /// routers and firewalls (a CRLF; RFC 5626 3.5.1). Default: 25 over UDP (most routers forget
    /// a UDP mapping after 30 s or more), 30 over TCP/TLS. Lower it for a router that forgets
    /// sooner; 1 to 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive_secs: Option<u32>,
    /// What a REFER from the far end of a connected call (it transfers us) does: `accept`
    /// (call the target at once), `refuse` (603) or `ask` (the user accepts or declines within
    /// 30 s; `PhoneEvent::TransferRequest`, `Phone::answer_transfer_request`).
    #[serde(default)]
    pub transfer_requests: TransferRequests,
}

/// A TURN server and its long-term credential (`[account.turn]`: `server = "turn.example.com"`,
/// `"host:port"` (3478) or an RFC 7065 URI: `"turn:host?transport=tcp"` over TCP, `"turns:host"`
/// over TLS (5349, the certificate checked like the registrar's); `username`, `password`).
#[derive(Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct TurnConfig {
    pub server: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnConfig")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// One conference party's level (`PhoneEvent::ConferenceLevels`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct PartyLevel {
    /// The party's call (None: the user's microphone).
    pub call_id: Option<CallId>,
    /// RMS over the last quarter of a second or so, dBFS (-96 for silence).
    pub dbfs: f32,
}

/// What a transfer request (the far end's REFER) does; see `AccountConfig::transfer_requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, Default)]
#[serde(rename_all = "lowercase")]
pub enum TransferRequests {
    #[default]
    Accept,
    Refuse,
    Ask,
}

impl std::str::FromStr for TransferRequests {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "accept" => Ok(TransferRequests::Accept),
            "refuse" => Ok(TransferRequests::Refuse),
            "ask" => Ok(TransferRequests::Ask),
            other => Err(format!(
                "'{other}' is not a transfer request policy (accept, refuse or ask)"
            )),
        }
    }
}

/// How an account encrypts its calls' media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, Default)]
#[serde(rename_all = "lowercase")]
pub enum MediaEncryption {
    #[default]
    None,
    /// SRTP (`AES_CM_128_HMAC_SHA1_80` / `_32`) with keys exchanged in the SDP (RFC 4568).
    Sdes,
    /// SRTP with keys from a DTLS handshake on the media path (RFC 5763/5764).
    Dtls,
}

/// Shared park on the server (`[account.shared_park]`): the orbit slots, e.g.
/// `orbits = ["701-703"]` or `["701", "702"]`, dialled as `sip:<slot>@<domain>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct SharedParkConfig {
    pub orbits: Vec<String>,
    /// Domain of the slot URIs; default: the account's domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// One park orbit slot as the server's dialog-event NOTIFYs describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ParkSlot {
    /// The slot, e.g. "701".
    pub slot: String,
    /// Its URI, e.g. `sip:701@pbx.example.com` (dial it to retrieve the call).
    #[serde(default)]
    pub uri: String,
    /// A call is parked there (or being parked: ringing).
    #[serde(default)]
    pub occupied: bool,
    /// Who is parked there, when the server says.
    #[serde(default)]
    pub parked_uri: Option<String>,
    #[serde(default)]
    pub parked_display: Option<String>,
    /// The orbit dialog's state: "trying", "proceeding", "early", "confirmed" (None when free).
    #[serde(default)]
    pub state: Option<String>,
}

impl AccountConfig {
    /// An account with this AOR and every other field at its default: registers to the AOR's
    /// host over UDP for 600 s, binds an ephemeral port.
    pub fn new(aor: impl Into<String>) -> Self {
        AccountConfig {
            aor: aor.into(),
            display_name: None,
            auth_user: None,
            registrar: None,
            outbound_proxy: None,
            transport: None,
            ws_path: None,
            expires: default_expires(),
            listen: None,
            tls_ca_file: None,
            register: true,
            realm: None,
            shared_park: None,
            routing: None,
            caller_ids: None,
            media_encryption: MediaEncryption::None,
            require_encryption: false,
            ice: false,
            stun_server: None,
            turn: None,
            keep_alive_secs: None,
            transfer_requests: TransferRequests::Accept,
        }
    }
}

fn default_expires() -> u32 {
    600
}
fn default_true() -> bool {
    true
}

/// Audio codecs the engine can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum CodecName {
    Pcmu,
    Pcma,
    Opus,
    /// G.722 wideband (16 kHz audio, payload type 9).
    G722,
}

/// Where a call's audio comes from / goes to. Chosen per call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum AudioEndpoint {
    /// Silence in, discard out.
    Null,
    /// A WAV file: read (any rate, mono or stereo) as the source, or written as the sink.
    Wav(PathBuf),
    /// A sound device by name; `None` means the OS default device.
    Device(Option<String>),
    /// The OS default device.
    #[default]
    Default,
}

/// Per-call media choices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CallOptions {
    pub audio_in: AudioEndpoint,
    pub audio_out: AudioEndpoint,
    /// Codecs to offer/accept, in preference order. Empty: the engine's default (Opus, PCMU, PCMA).
    #[serde(default)]
    pub codecs: Vec<CodecName>,
    /// Outbound caller ID for this call, from the account's allowed list (`dialling.caller_ids`);
    /// sent as P-Preferred-Identity and/or the configured header. None: the account's own identity.
    #[serde(default)]
    pub caller_id: Option<String>,
    /// The account to call from (its AOR, as configured); None: the first account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// Which voice-processing parts run on a sound-card microphone (WAV files and silence pass
/// untouched); profile `[voice_processing]`, e.g. `echo_cancellation = false`. Every part is on
/// unless switched off; [`Phone::set_voice_processing`](crate::Phone::set_voice_processing)
/// changes it for every call at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct VoiceProcessing {
    /// Remove the far end's voice that the microphone picks up from the speaker.
    pub echo_cancellation: bool,
    /// Lower steady background noise.
    pub noise_suppression: bool,
    /// Keep the talker at a steady level.
    pub gain_control: bool,
}

/// What the user has said about being reachable: the presence they chose and the do-not-disturb
/// switch. Routing rules read both (`presence`, `dnd`; DND on rejects every call with the
/// do-not-disturb preset's answer). Changed with [`Phone::set_availability`](crate::Phone::set_availability);
/// every change comes back as `PhoneEvent::Availability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
pub struct Availability {
    pub presence: Presence,
    pub dnd: bool,
}

/// The presence a user picks (routing rules see it as the `presence` string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    #[default]
    Available,
    Away,
    Busy,
}

impl Presence {
    pub const ALL: [Presence; 3] = [Presence::Available, Presence::Away, Presence::Busy];

    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Away => "away",
            Presence::Busy => "busy",
        }
    }
}

impl std::str::FromStr for Presence {
    type Err = PhoneError;

    /// `available`, `away` or `busy` (any case); anything else is refused with the choices.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Presence::ALL
            .into_iter()
            .find(|p| p.as_str() == wanted)
            .ok_or_else(|| PhoneError::InvalidInput {
                what: "presence".into(),
                detail: format!("'{}' (use available, away or busy)", s.trim()),
            })
    }
}

impl Default for VoiceProcessing {
    fn default() -> Self {
        VoiceProcessing::all(true)
    }
}

impl VoiceProcessing {
    /// Every part on, or every part off.
    pub fn all(on: bool) -> Self {
        VoiceProcessing {
            echo_cancellation: on,
            noise_suppression: on,
            gain_control: on,
        }
    }

    /// Whether any part is on.
    pub fn any(&self) -> bool {
        self.echo_cancellation || self.noise_suppression || self.gain_control
    }
}

/// Engine-wide configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneConfig {
    /// The first account: calls go out from it unless a call names another.
    pub account: AccountConfig,
    /// Further accounts, each registered and taking calls at the same time (profile: several
    /// `[[account]]` entries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_accounts: Vec<AccountConfig>,
    /// SQLite history database file.
    pub history_db: PathBuf,
    /// User-Agent header value.
    #[serde(default)]
    pub user_agent: Option<String>,
}

impl PhoneConfig {
    /// Every account, the first first.
    pub fn accounts(&self) -> Vec<&AccountConfig> {
        std::iter::once(&self.account)
            .chain(self.more_accounts.iter())
            .collect()
    }

    /// Checks what the accounts have to agree on: each AOR once.
    pub fn validate(&self) -> Result<(), PhoneError> {
        let accounts = self.accounts();
        for (i, a) in accounts.iter().enumerate() {
            if accounts[..i].iter().any(|b| b.aor.trim() == a.aor.trim()) {
                return Err(PhoneError::InvalidInput {
                    what: "accounts".into(),
                    detail: format!(
                        "{} is configured twice (each [[account]] needs its own aor)",
                        a.aor.trim()
                    ),
                });
            }
            let invalid = |detail: String| PhoneError::InvalidInput {
                what: "account".into(),
                detail: format!("{}: {detail}", a.aor.trim()),
            };
            if let Some(routing) = &a.routing {
                routing
                    .validate()
                    .map_err(|e| invalid(format!("routing: {e}")))?;
            }
            if let Some(ids) = &a.caller_ids {
                let plan = crate::dialling::DiallingSettings {
                    caller_ids: ids.clone(),
                    ..Default::default()
                };
                plan.validate().map_err(|problems| {
                    invalid(
                        problems
                            .join("; ")
                            .replace("dialling.caller_ids", "caller_ids"),
                    )
                })?;
            }
            if let Some(secs) = a.keep_alive_secs {
                if !(1..=3600).contains(&secs) {
                    return Err(invalid(format!(
                        "keep_alive_secs = {secs} is out of range (1 to 3600 seconds)"
                    )));
                }
            }
            if let Some(t) = &a.turn {
                crate::turn_uri::parse(&t.server).map_err(invalid)?;
            }
            if a.require_encryption && a.media_encryption == MediaEncryption::None {
                return Err(invalid(
                    "require_encryption = true needs media_encryption = \"sdes\" or \"dtls\" (there is no key to encrypt with)".into(),
                ));
            }
        }
        Ok(())
    }
}

/// An account as front ends list it (`Phone::accounts`): the "from" choices of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct AccountStatus {
    pub aor: String,
    pub display_name: Option<String>,
    /// Whether it registers (false: calls only).
    pub registers: bool,
    pub registration: RegistrationState,
    /// The address the registrar sees us at when it is not our own (behind NAT; `ip:port`).
    pub public_address: Option<String>,
    /// The registrar uses SIP outbound (RFC 5626) for the live binding.
    pub outbound: bool,
    /// Seconds between keep-alive pings while registered (the registrar's flow timer may
    /// shorten the configured interval).
    pub keep_alive_secs: Option<u32>,
}

/// What probing the registrar with OPTIONS found (`Phone::probe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    /// The server probed (the registrar URI).
    pub target: String,
    /// Its answer: 200, or e.g. 401/405 (it is there, just not open to OPTIONS).
    pub status: u16,
    pub reason: String,
    pub round_trip_ms: u64,
    /// Where it saw the probe come from (`ip:port`), if it said.
    pub seen_as: Option<String>,
}

/// What an account's STUN/TURN servers said of a media socket (`Phone::probe_media_servers`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaServersProbe {
    /// The socket's address as the STUN server saw it.
    pub public: Option<String>,
    /// Its relayed address on the TURN server.
    pub relayed: Option<String>,
    /// What failed, as sentences.
    pub problems: Vec<String>,
}

/// Where the account password comes from.
#[derive(Clone)]
pub enum PasswordSource {
    /// Given directly (from `HOOKFLASH_PASSWORD`, or typed into the app and then stored in the keyring).
    Plain(String),
    /// Read from the OS keyring under service "hookflash", user = the account AOR. A keyring that
    /// cannot be reached leaves the account without a password and says so
    /// (`Phone::start_warnings`): the phone still starts.
    Keyring,
    /// No password (open registrar / peer-to-peer).
    None,
}

impl PasswordSource {
    /// The one meaning of `HOOKFLASH_PASSWORD` for every front end: set and non-empty, that
    /// password; set but empty, no password; unset, the OS keyring.
    pub fn from_env_value(value: Option<String>) -> PasswordSource {
        match value {
            Some(p) if p.is_empty() => PasswordSource::None,
            Some(p) => PasswordSource::Plain(p),
            None => PasswordSource::Keyring,
        }
    }
}

/// Never prints the password itself.
impl std::fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::Plain(_) => f.write_str("Plain(\"***\")"),
            PasswordSource::Keyring => f.write_str("Keyring"),
            PasswordSource::None => f.write_str("None"),
        }
    }
}

pub type CallId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RegistrationState {
    Unregistered,
    Registering,
    Registered {
        expires_in: u32,
    },
    /// e.g. status 403, reason "Forbidden", server "sip.example.com".
    Failed {
        message: String,
        status: Option<u16>,
    },
    Retrying {
        message: String,
        in_secs: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Outgoing: INVITE sent, no provisional yet.
    Calling,
    /// Outgoing: 180/183 received (ringback playing). Incoming: ringing here.
    Ringing,
    Answered,
    Ended,
}

/// Snapshot of one call, as front ends show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct CallInfo {
    pub id: CallId,
    pub direction: Direction,
    pub state: CallState,
    pub remote_uri: String,
    pub remote_display_name: Option<String>,
    pub codec: Option<CodecName>,
    pub muted: bool,
    /// Unix milliseconds.
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    /// This call has the microphone and speaker (at most one call at a time).
    #[serde(default)]
    pub active: bool,
    /// Unix ms when we parked it (held with music on hold); None when not parked.
    #[serde(default)]
    pub parked_since_ms: Option<i64>,
    /// The peer put us on hold (its SDP said sendonly or inactive).
    #[serde(default)]
    pub held_by_remote: bool,
    /// The AOR of the account the call belongs to.
    #[serde(default)]
    pub account: String,
    /// Incoming calls: how the routing rules decided this call, and which rule matched.
    #[serde(default)]
    pub routing: Option<String>,
    /// The call's media is SRTP-encrypted (false: clear RTP, or no media yet).
    #[serde(default)]
    pub encrypted: bool,
    /// With ICE, the candidate pair carrying the media, ours → theirs (`host`, `srflx`, `prflx`,
    /// `relay`; e.g. "relay → host": through our TURN server). None without ICE or before the
    /// checks picked a pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub media_path: Option<String>,
    /// The call is a party of the local conference (mixed with the others while the user is in
    /// it; parked with them otherwise).
    #[serde(default)]
    pub conference: bool,
    /// The party's voice is kept out of the conference (it still hears everyone).
    #[serde(default)]
    pub conference_muted: bool,
    /// The far end asks to transfer this call and waits for the user's answer
    /// (`PhoneEvent::TransferRequest`, here too so a window opened or reloaded meanwhile shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub transfer_request: Option<WaitingTransferRequest>,
}

impl CallInfo {
    /// A call as it starts: on account `account`, nothing negotiated, answered, parked, muted or
    /// merged yet; callers set what differs (`CallInfo { active: true, ..CallInfo::new(...) }`).
    pub fn new(
        id: CallId,
        direction: Direction,
        state: CallState,
        remote_uri: impl Into<String>,
        account: impl Into<String>,
        started_at_ms: i64,
    ) -> CallInfo {
        CallInfo {
            id,
            direction,
            state,
            remote_uri: remote_uri.into(),
            remote_display_name: None,
            codec: None,
            muted: false,
            started_at_ms,
            answered_at_ms: None,
            active: false,
            parked_since_ms: None,
            held_by_remote: false,
            account: account.into(),
            routing: None,
            encrypted: false,
            media_path: None,
            conference: false,
            conference_muted: false,
            transfer_request: None,
        }
    }
}

/// A transfer request waiting for the user (`CallInfo::transfer_request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct WaitingTransferRequest {
    /// Where the call would be transferred.
    pub target: String,
    /// Who asks: the far end's display name or URI.
    pub who: String,
    /// When it is declined by itself (unix ms).
    pub expires_at_ms: i64,
    /// How long the user was given in all (s).
    pub expires_in_secs: u32,
}

/// Why a call ended, with a sentence a user can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EndReason {
    /// We hung up.
    LocalHangup,
    /// The remote party sent BYE.
    RemoteHangup,
    /// The caller gave up (CANCEL) before we answered.
    Cancelled,
    /// We rejected an incoming call with this status.
    Rejected { status: u16 },
    /// The callee rejected our call, or the call failed, with this SIP status.
    Failed { status: u16, reason: String },
    /// Transport or media error.
    Error { message: String },
    /// We parked the call on a server park orbit (blind transfer accepted by the far end).
    ParkedOnOrbit { slot: String },
    /// We transferred the call (blind): the far end reached the target.
    Transferred { target: String },
    /// Another call took its place (an INVITE with `Replaces`, RFC 3891: the far end of an
    /// attended transfer, or a pick-up): `by` is that call's caller.
    Replaced { by: String },
}

/// How a blind transfer goes (`PhoneEvent::Transfer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TransferProgress {
    /// The far end took the REFER and is calling the target.
    Trying,
    /// The target rings.
    Ringing,
    /// The far end is connected to the target; our leg ends.
    Connected,
    /// It did not happen (the SIP status if there was one); the call is back with the user.
    Failed { status: Option<u16>, reason: String },
}

/// Everything the engine tells front ends; one stream, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PhoneEvent {
    Registration {
        aor: String,
        state: RegistrationState,
    },
    IncomingCall {
        call: CallInfo,
    },
    CallUpdated {
        call: CallInfo,
    },
    /// A DTMF digit received from the remote party.
    Dtmf {
        call_id: CallId,
        digit: char,
    },
    /// The call's audio source (a WAV file) has played to its end.
    AudioInputEnded {
        call_id: CallId,
    },
    CallEnded {
        call: CallInfo,
        reason: EndReason,
        message: String,
    },
    /// A problem that did not stop the engine (garbage on the SIP port, an unplayable file...).
    Warning {
        message: String,
    },
    /// Live media quality of a connected call (every few seconds while audio flows).
    CallQuality {
        call_id: CallId,
        quality: CallQuality,
    },
    /// The server's park orbit slots of the account changed (all slots, in configured order).
    ParkSlots {
        slots: Vec<ParkSlot>,
    },
    /// The user's presence or do-not-disturb switch changed.
    Availability {
        availability: Availability,
    },
    /// A call has been parked longer than the recall time (`Phone::set_park_recall`): remind the
    /// user (the call's `CallUpdated` follows). `who`: display name or URI; `message`: the sentence.
    ParkRecall {
        call_id: CallId,
        who: String,
        parked_mins: i64,
        message: String,
    },
    /// A transfer of the call progressed: ours (`Phone::transfer`), or one the far end asked of
    /// us with REFER (we call the target; the call ends when that one connects). `message`: the
    /// sentence.
    Transfer {
        call_id: CallId,
        target: String,
        progress: TransferProgress,
        message: String,
    },
    /// The local conference changed: its parties (empty: it is over), whether the user is in it
    /// (else it is parked), whether the user's microphone is kept out of it; `message`: the
    /// sentence.
    Conference {
        parties: Vec<CallId>,
        joined: bool,
        muted: bool,
        message: String,
    },
    /// How loud each party of the conference the user is in has been lately (four times a
    /// second while in it; for level meters). `call_id` None is the user's microphone.
    ConferenceLevels {
        levels: Vec<PartyLevel>,
    },
    /// The far end of call `call_id` asks to transfer us to `target` and the account asks the
    /// user (`transfer_requests = "ask"`): accept or decline with `Phone::answer_transfer_request`
    /// within `expires_in_secs`, else it is declined. `who`: display name or URI.
    TransferRequest {
        call_id: CallId,
        target: String,
        who: String,
        expires_in_secs: u32,
        message: String,
    },
}

/// The sentence of a park recall (`PhoneEvent::ParkRecall::message`): the call has been parked
/// longer than the recall time.
pub fn park_recall_message(id: CallId, who: &str, mins: i64) -> String {
    format!("call {id} with {who} has been parked for {mins} min")
}

/// One history row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct HistoryEntry {
    pub id: i64,
    pub direction: Direction,
    pub account: String,
    pub remote_uri: String,
    pub remote_display_name: Option<String>,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: i64,
    /// "answered", "missed", "rejected", "cancelled", "failed".
    pub outcome: String,
    pub sip_status: Option<u16>,
    pub codec: Option<String>,
    /// Incoming calls: the routing decision and the rule that made it.
    #[serde(default)]
    pub routing: Option<String>,
    /// Media quality over the call (absent when no audio flowed).
    #[serde(default)]
    pub quality: Option<CallQuality>,
    /// How the call ended, in words ("bob hung up", "sip:bob@pbx parked on 701").
    #[serde(default)]
    pub end_message: Option<String>,
}

/// Media quality figures of a call (live, and stored with the history row).
pub use hookflash_store::CallQuality;

/// Errors with the sentence a user reads in them.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PhoneError {
    #[error("registration refused ({status}) by {server}: {reason}")]
    RegistrationRefused {
        status: u16,
        reason: String,
        server: String,
    },
    #[error("registrar {server} unreachable: {detail}")]
    Unreachable { server: String, detail: String },
    /// TLS could not be set up; `detail` names the certificate problem (`hookflash_sip::trust`).
    #[error("secure connection to {server} refused: {detail}")]
    Tls { server: String, detail: String },
    #[error("call rejected ({status} {reason}) by {remote}")]
    CallRejected {
        status: u16,
        reason: String,
        remote: String,
    },
    #[error("invalid {what}: {detail}")]
    InvalidInput { what: String, detail: String },
    #[error("no call with id {0}")]
    NoSuchCall(CallId),
    #[error("{0}")]
    Other(String),
}

/// A profile file (TOML), shared by the CLI (`--profile`) and the app:
///
/// ```toml
/// history_db = "/home/me/.local/share/hookflash/history.sqlite3"   # optional
/// codecs = ["opus", "pcmu", "pcma"]                                  # optional
/// [account]
/// aor = "sip:alice@example.com"
/// auth_user = "alice"                                  # optional
/// registrar = "sip:example.com;transport=tls"          # optional
/// expires = 600                                        # optional
/// listen = "0.0.0.0:0"                                 # optional
/// [voice_processing]                                   # optional, every part on by default
/// echo_cancellation = true
/// [routing]                                            # optional, see docs/routing.md
/// rules = ["when is_queue && hour >= 17 then reject_busy"]
/// [routing.presets.do_not_disturb]
/// enabled = false
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The first account (`[account]`, or the first of several `[[account]]` entries).
    pub account: AccountConfig,
    /// The other `[[account]]` entries (profile files write them all as `[[account]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_accounts: Vec<AccountConfig>,
    #[serde(default)]
    pub history_db: Option<PathBuf>,
    #[serde(default)]
    pub codecs: Vec<CodecName>,
    /// How incoming calls are routed (presets and rules); validated when loaded and saved.
    #[serde(default)]
    pub routing: crate::routing::RoutingSettings,
    /// Where "send to voicemail" forwards a ringing call (number, extension or SIP URI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voicemail: Option<String>,
    /// How typed numbers become request URIs (default country, outside-line prefix, extensions).
    #[serde(default)]
    pub dialling: crate::dialling::DiallingSettings,
    /// Echo cancellation, noise suppression, gain control (all on unless switched off).
    #[serde(default, skip_serializing_if = "is_default_processing")]
    pub voice_processing: VoiceProcessing,
    /// Microphone, speaker and ringer chosen in settings (`[audio]`); unset ones follow the
    /// system default.
    #[serde(default, skip_serializing_if = "AudioDevices::is_default")]
    pub audio: AudioDevices,
    /// What the desktop app does with `tel:`/`sip:` links (`[links]`).
    #[serde(default, skip_serializing_if = "LinkSettings::is_default")]
    pub links: LinkSettings,
}

/// What the desktop app does with the `tel:`, `sip:`, `sips:` and `callto:` links it is opened
/// with (profile `[links]`, e.g. `ask_before_calling = false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct LinkSettings {
    /// Show "Call …?" with Call and Cancel before a link is dialled (on unless switched off).
    pub ask_before_calling: bool,
}

impl Default for LinkSettings {
    fn default() -> Self {
        LinkSettings {
            ask_before_calling: true,
        }
    }
}

impl LinkSettings {
    pub fn is_default(&self) -> bool {
        *self == LinkSettings::default()
    }
}

/// Sound devices chosen by the user: device ids as `hookflash_media::list_devices` gives them.
/// `None` follows the system default (and keeps following it when the default changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, Default)]
pub struct AudioDevices {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microphone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    /// Where incoming calls ring (e.g. the loudspeaker while calls use a headset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ringer: Option<String>,
}

impl AudioDevices {
    pub fn is_default(&self) -> bool {
        *self == AudioDevices::default()
    }

    fn endpoint(id: &Option<String>) -> AudioEndpoint {
        match id {
            Some(id) => AudioEndpoint::Device(Some(id.clone())),
            None => AudioEndpoint::Default,
        }
    }

    /// The call's microphone.
    pub fn microphone_endpoint(&self) -> AudioEndpoint {
        Self::endpoint(&self.microphone)
    }

    /// The call's speaker.
    pub fn speaker_endpoint(&self) -> AudioEndpoint {
        Self::endpoint(&self.speaker)
    }

    /// Where the ringtone plays.
    pub fn ringer_endpoint(&self) -> AudioEndpoint {
        Self::endpoint(&self.ringer)
    }
}

fn is_default_processing(v: &VoiceProcessing) -> bool {
    *v == VoiceProcessing::default()
}

impl Profile {
    pub fn new(account: AccountConfig) -> Self {
        Profile {
            account,
            more_accounts: Vec::new(),
            history_db: None,
            codecs: Vec::new(),
            routing: Default::default(),
            voicemail: None,
            dialling: Default::default(),
            voice_processing: Default::default(),
            audio: Default::default(),
            links: Default::default(),
        }
    }

    /// What `Phone::start` needs for this profile: its account, and its history file or the
    /// default one for this computer.
    pub fn phone_config(&self) -> PhoneConfig {
        PhoneConfig {
            account: self.account.clone(),
            more_accounts: self.more_accounts.clone(),
            history_db: self
                .history_db
                .clone()
                .unwrap_or_else(hookflash_store::default_history_path),
            user_agent: None,
        }
    }
}
