//! Command-line options of `hookflash-cli`.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "hookflash-cli",
    version,
    about = "Hookflash softphone engine, headless"
)]
pub struct Cli {
    #[command(flatten)]
    pub account: AccountArgs,
    /// Print one JSON event per line on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct AccountArgs {
    /// Profile file (TOML) with the account; flags below override it.
    #[arg(long, global = true)]
    pub profile: Option<PathBuf>,
    /// Address of record, e.g. sip:alice@example.com.
    #[arg(long, global = true)]
    pub aor: Option<String>,
    /// Registrar URI (default: the AOR's host); `;transport=tcp|tls|ws|wss` selects the transport.
    #[arg(long, global = true)]
    pub registrar: Option<String>,
    /// Transport to the registrar: udp, tcp, tls, ws or wss (SIP over WebSocket, RFC 7118; port
    /// 80 and 443 unless the registrar names one); overrides the profile's transport.
    #[arg(long, global = true, value_enum)]
    pub transport: Option<TransportArg>,
    /// Outbound proxy URI.
    #[arg(long, global = true)]
    pub outbound_proxy: Option<String>,
    /// Digest user name (default: the AOR's user).
    #[arg(long, global = true)]
    pub auth_user: Option<String>,
    /// Display name sent in From.
    #[arg(long, global = true)]
    pub display_name: Option<String>,
    /// Local SIP address to bind, ip:port.
    #[arg(long, global = true)]
    pub listen: Option<SocketAddr>,
    /// Requested registration lifetime, seconds.
    #[arg(long, global = true)]
    pub expires: Option<u32>,
    /// Extra CA certificate (PEM) to trust for TLS; verification stays on.
    #[arg(long, global = true)]
    pub tls_ca: Option<PathBuf>,
    /// The HTTP path of the WebSocket upgrade for `--transport ws|wss` (e.g. /ws); overrides the
    /// profile's ws_path (default /).
    #[arg(long, global = true, value_name = "PATH")]
    pub ws_path: Option<String>,
    /// Seconds between keep-alives of the registration (NAT bindings); overrides the profile's
    /// keep_alive_secs (default 25 over UDP, 30 over TCP/TLS).
    #[arg(long, global = true, value_name = "SECS")]
    pub keep_alive: Option<u32>,
    /// What the far end's REFER (transferring us) does: accept (default), refuse (603), or ask
    /// (a `transfer_request` event; answer with the session's `transfer-request <id>
    /// accept|decline` within 30 s); overrides the profile's transfer_requests.
    #[arg(long, global = true, value_name = "POLICY")]
    pub transfer_requests: Option<hookflash_phone::TransferRequests>,
    /// Do not REGISTER; calls go straight to their target.
    #[arg(long, global = true)]
    pub no_register: bool,
    /// Media encryption: `off` offers clear RTP (SDES keys for the rest but dtls), `optional` offers a key
    /// on RTP/AVP and encrypts when the far end takes it, `mandatory` offers RTP/SAVP only and
    /// refuses clear media, `dtls` offers DTLS-SRTP (UDP/TLS/RTP/SAVP, keys from a DTLS handshake
    /// checked against the SDP's certificate fingerprint) and refuses clear media. Overrides the
    /// profile's media_encryption / require_encryption.
    #[arg(long, global = true, value_enum)]
    pub srtp: Option<SrtpArg>,
    /// Call history database (default: ~/.local/share/hookflash/history.sqlite3).
    #[arg(long, global = true)]
    pub history_db: Option<PathBuf>,
}

/// `--transport`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportArg {
    Udp,
    Tcp,
    Tls,
    Ws,
    Wss,
}

/// `--srtp`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpArg {
    Off,
    Optional,
    Mandatory,
    Dtls,
}

#[derive(Args, Debug, Clone, Default)]
pub struct MediaArgs {
    /// Audio source: a .wav file, `null`, or a device name (`default` = OS default).
    #[arg(long, default_value = "null")]
    pub audio_in: String,
    /// Audio sink: a .wav file, `null`, or a device name (`default` = OS default).
    #[arg(long, default_value = "null")]
    pub audio_out: String,
    /// Only this codec: opus, g722, pcmu or pcma (may be repeated).
    #[arg(long)]
    pub codec: Vec<String>,
    /// DTMF digits to send once the call is answered.
    #[arg(long)]
    pub dtmf: Option<String>,
    /// Hang up this many seconds after answer.
    #[arg(long)]
    pub duration: Option<f64>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Register, stay registered (refreshing) for --duration seconds, then un-register.
    Register {
        #[arg(long, default_value_t = 0.0)]
        duration: f64,
    },
    /// Check the account's setup and print one report: the registrar reached (TLS verified),
    /// registered, NAT, an OPTIONS probe of the registrar, media encryption; exits 0 only when
    /// calls can reach this phone. Un-registers at the end.
    Check,
    /// Call a SIP URI, user@host or number.
    Call {
        target: String,
        /// Present this caller ID (one of the profile's `dialling.caller_ids`), sent as
        /// P-Preferred-Identity and/or the profile's caller-ID header.
        #[arg(long)]
        caller_id: Option<String>,
        /// Call from this account (its AOR, one of the profile's [[account]] entries); default:
        /// the first.
        #[arg(long)]
        from: Option<String>,
        #[command(flatten)]
        media: MediaArgs,
    },
    /// A scripted multi-call session: one command per line from stdin (or --script) —
    /// dial <uri> [--caller-id X] [--from AOR], answer [<id>], reject <id> [486|603|480], park <id>, switch <id> (resume),
    /// hangup <id>|all, dtmf <id> <digits>, list, wait <s>, wait-calls <n> [<s>], wait-ringing <n> [<s>], quit;
    /// shared park: park-orbit <id> <slot>, slots, retrieve <slot>, wait-slot <slot> occupied|free [<s>];
    /// blind transfer: transfer <id> <target> [resume].
    /// All calls share --audio-in/--audio-out: only the active call uses them, parked calls
    /// hear music on hold. Ends (hanging up every call) at `quit` or the end of the input.
    Session {
        /// Read commands from this file instead of stdin.
        #[arg(long)]
        script: Option<PathBuf>,
        /// Music on hold: a WAV file (looped); default: the generated loop.
        #[arg(long)]
        hold_music: Option<PathBuf>,
        #[command(flatten)]
        media: MediaArgs,
    },
    /// List the microphones and speakers (ids for --audio-in/--audio-out and the profile's
    /// [audio]), the system defaults marked; needs no account.
    Devices,
    /// Wait for calls and answer (or reject) them.
    Listen {
        /// Answer after this many seconds of ringing.
        #[arg(long, default_value_t = 0.0)]
        answer_after: f64,
        /// Exit once this many calls have ended.
        #[arg(long)]
        max_calls: Option<u32>,
        /// Reject instead of answering: 486 (busy) or 603 (decline).
        #[arg(long)]
        reject: Option<u16>,
        #[command(flatten)]
        media: MediaArgs,
    },
}
