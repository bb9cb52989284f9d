//! SDP for one audio stream: writing offers/answers, reading the other side's,
//! and the offer/answer rules that pick the codec (RFC 4566, RFC 3264,
//! RFC 3551 static payload types, RFC 4733 telephone-event, RFC 3605 a=rtcp), with SDES keys
//! (RFC 4568 `a=crypto`, `RTP/SAVP`) read and written through `sdes.rs`, which also decides
//! whether the call is encrypted.
//!
//! The phone only ever negotiates a single audio stream, so [`parse`] reads the
//! session-level `c=` and direction, the first `m=audio` section and the
//! attributes we act on (`rtpmap`, `fmtp`, `ptime`, `rtcp`, direction, ICE through `ice.rs`);
//! all other lines (video sections, rtcp-fb, ...) are skipped. Codec identity
//! is plain data ([`RtpFormat`]) so this module does not depend on the media
//! crate.
//!
//! Hand-written rather than built on the `sdp` (webrtc-rs) or `webrtc-sdp`
//! (Mozilla) crates: `webrtc-sdp` rejects a whole description over one bad
//! line in a video section (RFC 4475's sdp01 test), and `sdp` rejects
//! descriptions without `s=`/`t=` and gives terse errors, while we only need
//! a handful of lines and user-readable error sentences.
//!
//! Everything here is pure: no sockets, no clocks.

use crate::dtls_srtp::{self, DtlsDescription, DtlsError, Fingerprint, Setup};
use crate::ice::{self, IceDescription};
use crate::sdes::{self, Crypto, EncryptionError, Key, Keys, Policy};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// One RTP payload format (a line of `m=` plus its `a=rtpmap`/`a=fmtp`).
#[derive(Clone, Debug, PartialEq)]
pub struct RtpFormat {
    pub payload_type: u8,
    /// Encoding name as written, e.g. `PCMU`, `opus`, `telephone-event`.
    pub name: String,
    pub clock_rate: u32,
    /// Audio channels (1 unless the rtpmap says otherwise; opus says 2).
    pub channels: u8,
    /// The `a=fmtp` parameters, without the payload type.
    pub fmtp: Option<String>,
}

impl RtpFormat {
    /// Convenience constructor without fmtp.
    pub fn new(payload_type: u8, name: &str, clock_rate: u32, channels: u8) -> RtpFormat {
        RtpFormat {
            payload_type,
            name: name.to_string(),
            clock_rate,
            channels,
            fmtp: None,
        }
    }

    /// Same codec: name (ignoring case) and clock rate.
    pub fn same_codec(&self, other: &RtpFormat) -> bool {
        self.name.eq_ignore_ascii_case(&other.name) && self.clock_rate == other.clock_rate
    }

    /// RFC 4733 named telephone events (DTMF).
    pub fn is_telephone_event(&self) -> bool {
        self.name.eq_ignore_ascii_case("telephone-event")
    }

    /// Comfort noise (RFC 3389); never chosen as the audio codec.
    fn is_comfort_noise(&self) -> bool {
        self.name.eq_ignore_ascii_case("CN")
    }

    fn is_audio_codec(&self) -> bool {
        !self.is_telephone_event() && !self.is_comfort_noise()
    }

    fn label(&self) -> String {
        format!("{}/{}", self.name, self.clock_rate)
    }
}

/// Media direction attribute (RFC 3264 section 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The attribute name, e.g. `sendrecv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The same stream seen from the other end (sendonly <-> recvonly).
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// Whether the side holding this direction sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the side holding this direction receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    fn from_attribute(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// Drops the receiving half: used when the peer's address is 0.0.0.0
    /// (RFC 2543-style hold), meaning "do not send to me".
    fn without_receive(self) -> Direction {
        match self {
            Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
            Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
        }
    }
}

/// One audio stream as described by an SDP body.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioDescription {
    /// Where this side receives RTP (`c=`, media level over session level).
    pub address: IpAddr,
    /// RTP port; 0 means the stream is rejected/disabled.
    pub port: u16,
    /// Explicit RTCP port from `a=rtcp` (RFC 3605); `None` means RTP port + 1.
    pub rtcp_port: Option<u16>,
    /// Payload formats in `m=` order. Static types without `a=rtpmap` get their
    /// RFC 3551 names; dynamic types without one are left out.
    pub formats: Vec<RtpFormat>,
    pub direction: Direction,
    /// `a=ptime` in milliseconds.
    pub ptime: Option<u32>,
    /// The `m=` line says `RTP/SAVP` (or `RTP/SAVPF`): encrypted media only.
    pub secure: bool,
    /// The `a=crypto` lines we can use (RFC 4568), in order.
    pub crypto: Vec<Crypto>,
    /// DTLS-SRTP (the `m=` line says `UDP/TLS/RTP/SAVP`): the fingerprints and `a=setup`,
    /// media level over session level.
    pub dtls: Option<DtlsDescription>,
    /// `a=rtcp-mux` (RFC 5761): RTCP on the RTP port.
    pub rtcp_mux: bool,
    /// ICE (RFC 8839): credentials and candidates, media level over session level.
    pub ice: Option<IceDescription>,
}

/// What this side brings to a call's media: its SDES master key (for a call), its DTLS
/// certificate's fingerprint (for the phone), and its ICE credentials and candidates (for the
/// call's socket; `None`: no ICE).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalKeys {
    pub sdes: Key,
    pub fingerprint: Option<Fingerprint>,
    pub ice: Option<IceDescription>,
}

/// The `o=` line's session id and version (RFC 4566 5.2). Bump `version`
/// each time a changed description is sent in the same dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionVersion {
    pub id: u64,
    pub version: u64,
}

/// The outcome of offer/answer: what to send where.
#[derive(Clone, Debug, PartialEq)]
pub struct Negotiated {
    /// Where to send RTP.
    pub remote: SocketAddr,
    /// Where to send RTCP: the peer's `a=rtcp`, else RTP port + 1 (RFC 3605).
    /// `None` only when the RTP port is 65535.
    pub remote_rtcp: Option<SocketAddr>,
    /// The codec, with the payload type to use on the wire.
    pub codec: RtpFormat,
    /// RFC 4733 DTMF events, when both sides do them.
    pub telephone_event: Option<RtpFormat>,
    /// Our direction: whether we send and/or receive.
    pub direction: Direction,
    /// Packetization to send with, in ms (the peer's `a=ptime`, else 20).
    pub ptime: u32,
    /// SRTP keys (SDES) when the media is encrypted.
    pub srtp: Option<Keys>,
    /// DTLS-SRTP: our role and the far end's fingerprints (the keys come from the handshake).
    pub dtls: Option<dtls_srtp::Agreed>,
    /// ICE: both sides' credentials, the far end's candidates, who nominates.
    pub ice: Option<ice::Agreed>,
}

/// Why a session description could not be read or negotiated.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SdpError {
    #[error("the session description is empty")]
    Empty,
    #[error("the body is not an SDP session description (it does not start with \"v=0\")")]
    NotSdp,
    #[error("SDP line {line} is malformed: \"{text}\"")]
    BadLine { line: usize, text: String },
    #[error("the session description has no audio stream (no m=audio line)")]
    NoAudio,
    #[error("the m=audio line is malformed: \"{0}\"")]
    BadMedia(String),
    #[error("the audio stream uses the transport \"{0}\", but only RTP/AVP, RTP/SAVP (SRTP keyed by SDES) and UDP/TLS/RTP/SAVP (DTLS-SRTP) are supported")]
    UnsupportedTransport(String),
    #[error("{0}")]
    Encryption(#[from] EncryptionError),
    #[error("{0}")]
    Dtls(#[from] DtlsError),
    #[error("the audio stream has no connection address (no c= line)")]
    MissingConnection,
    #[error("the connection line \"c={0}\" does not hold an IPv4 or IPv6 address")]
    BadConnection(String),
    #[error("the audio stream was declined or disabled (port 0)")]
    StreamRejected,
    #[error("no common audio codec: the other side offered {offered}; we support {supported}")]
    NoCommonCodec { offered: String, supported: String },
}

impl SdpError {
    /// The SIP status to answer an offer that failed with this error:
    /// 488 Not Acceptable Here when the SDP is understood but unacceptable,
    /// 400 Bad Request when it cannot be read.
    pub fn sip_status(&self) -> u16 {
        match self {
            SdpError::NoAudio
            | SdpError::UnsupportedTransport(_)
            | SdpError::Encryption(_)
            | SdpError::Dtls(_)
            | SdpError::StreamRejected
            | SdpError::NoCommonCodec { .. } => 488,
            _ => 400,
        }
    }
}

/// Default packetization when the peer names none (RFC 3551 section 4.5).
pub const DEFAULT_PTIME_MS: u32 = 20;

/// Writes a complete SDP body (CRLF line ends) describing `desc`.
///
/// `origin_user` goes into `o=` (spaces replaced by `-`, `-` when empty).
/// With no formats (only sensible for a declined stream, port 0) the `m=`
/// line lists payload type 0, as SDP requires at least one.
pub fn build(desc: &AudioDescription, origin_user: &str, session: &SessionVersion) -> String {
    let (net, addr) = match desc.address {
        IpAddr::V4(a) => ("IP4", a.to_string()),
        IpAddr::V6(a) => ("IP6", a.to_string()),
    };
    let user: String = origin_user
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .collect();
    let user = if user.is_empty() {
        "-".to_string()
    } else {
        user
    };

    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write!(s, "v=0\r\n");
    let _ = write!(
        s,
        "o={user} {} {} IN {net} {addr}\r\n",
        session.id, session.version
    );
    let _ = write!(s, "s=Hookflash\r\n");
    let _ = write!(s, "c=IN {net} {addr}\r\n");
    let _ = write!(s, "t=0 0\r\n");
    let mut pts: Vec<String> = desc
        .formats
        .iter()
        .map(|f| f.payload_type.to_string())
        .collect();
    if pts.is_empty() {
        // m= needs at least one format even for a declined stream (RFC 3264 6).
        pts.push("0".to_string());
    }
    let proto = if desc.dtls.is_some() {
        "UDP/TLS/RTP/SAVP"
    } else if desc.secure {
        "RTP/SAVP"
    } else {
        "RTP/AVP"
    };
    let _ = write!(s, "m=audio {} {proto} {}\r\n", desc.port, pts.join(" "));
    for f in &desc.formats {
        if f.channels > 1 {
            let _ = write!(
                s,
                "a=rtpmap:{} {}/{}/{}\r\n",
                f.payload_type, f.name, f.clock_rate, f.channels
            );
        } else {
            let _ = write!(
                s,
                "a=rtpmap:{} {}/{}\r\n",
                f.payload_type, f.name, f.clock_rate
            );
        }
        if let Some(fmtp) = &f.fmtp {
            let _ = write!(s, "a=fmtp:{} {}\r\n", f.payload_type, fmtp);
        }
    }
    if let Some(rtcp) = desc.rtcp_port {
        let _ = write!(s, "a=rtcp:{rtcp}\r\n");
    }
    if let Some(ptime) = desc.ptime {
        let _ = write!(s, "a=ptime:{ptime}\r\n");
    }
    for c in &desc.crypto {
        let _ = write!(s, "a=crypto:{}\r\n", c.to_attribute());
    }
    if let Some(d) = &desc.dtls {
        for f in &d.fingerprints {
            let _ = write!(s, "a=fingerprint:{}\r\n", f.to_attribute());
        }
        if let Some(setup) = d.setup {
            let _ = write!(s, "a=setup:{}\r\n", setup.as_str());
        }
    }
    if desc.rtcp_mux {
        let _ = write!(s, "a=rtcp-mux\r\n");
    }
    if let Some(ice) = &desc.ice {
        for line in ice.attributes() {
            let _ = write!(s, "a={line}\r\n");
        }
    }
    let _ = write!(s, "a={}\r\n", desc.direction.as_str());
    s
}

/// Reads the first audio stream of an SDP body.
///
/// Accepts CRLF or bare LF line ends and ignores lines and attributes it does
/// not use. A stream with port 0 is returned as is (port 0), so the caller
/// can tell "declined" from "malformed".
pub fn parse(sdp: &str) -> Result<AudioDescription, SdpError> {
    let mut lines = sdp
        .split('\n')
        .map(|l| l.trim_end_matches(['\r', ' ', '\t']))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.is_empty())
        .peekable();

    match lines.peek() {
        None => return Err(SdpError::Empty),
        Some((_, l)) if l.trim_start().starts_with("v=") => {}
        Some(_) => return Err(SdpError::NotSdp),
    }

    let mut session_conn: Option<IpAddr> = None;
    let mut session_dir: Option<Direction> = None;
    let mut session_ptime: Option<u32> = None;
    let mut session_fingerprints: Vec<Fingerprint> = Vec::new();
    let mut session_setup: Option<Setup> = None;
    let mut session_ice = IceLines::default();

    // State of the first m=audio section, once found.
    let mut audio: Option<SectionState> = None;
    // Which section the current line belongs to.
    #[derive(PartialEq)]
    enum Where {
        Session,
        Audio,
        Other,
    }
    let mut at = Where::Session;

    for (n, raw) in lines {
        let line = raw.trim_start();
        let Some((key, value)) = line.split_once('=') else {
            return Err(bad_line(n, raw));
        };
        if key.len() != 1 || !key.as_bytes()[0].is_ascii_alphabetic() {
            return Err(bad_line(n, raw));
        }
        match key {
            "m" => {
                if audio.is_none() && value.split_whitespace().next() == Some("audio") {
                    audio = Some(parse_media_line(value)?);
                    at = Where::Audio;
                } else {
                    at = Where::Other;
                }
            }
            "c" => {
                let addr = parse_connection(value)?;
                match at {
                    Where::Session => session_conn = Some(addr),
                    Where::Audio => {
                        if let Some(a) = audio.as_mut() {
                            a.conn = Some(addr)
                        }
                    }
                    Where::Other => {}
                }
            }
            "a" => {
                let (name, arg) = match value.split_once(':') {
                    Some((n, a)) => (n, Some(a.trim())),
                    None => (value, None),
                };
                match at {
                    Where::Session => {
                        if let Some(d) = Direction::from_attribute(name) {
                            session_dir = Some(d);
                        } else if name == "ptime" {
                            session_ptime = arg.and_then(parse_ptime);
                        } else if name == "fingerprint" {
                            session_fingerprints.extend(arg.and_then(Fingerprint::parse));
                        } else if name == "setup" {
                            session_setup = arg.and_then(Setup::parse);
                        } else {
                            session_ice.read(name, arg);
                        }
                    }
                    Where::Audio => {
                        let Some(a) = audio.as_mut() else { continue };
                        if let Some(d) = Direction::from_attribute(name) {
                            a.dir = Some(d);
                            continue;
                        }
                        let arg = arg.unwrap_or("");
                        match name {
                            "rtpmap" | "fmtp" => {
                                // "<pt> <rest>"; lines for unknown or bad PTs are ignored.
                                let (pt, rest) = arg.split_once([' ', '\t']).unwrap_or((arg, ""));
                                if let Ok(pt) = pt.parse::<u8>() {
                                    let list = if name == "rtpmap" {
                                        &mut a.rtpmaps
                                    } else {
                                        &mut a.fmtps
                                    };
                                    list.push((pt, rest.trim()));
                                }
                            }
                            "ptime" => a.ptime = parse_ptime(arg),
                            "crypto" => a.crypto.extend(Crypto::parse(arg)),
                            "fingerprint" => a.fingerprints.extend(Fingerprint::parse(arg)),
                            "setup" => a.setup = Setup::parse(arg),
                            "rtcp-mux" => a.rtcp_mux = true,
                            "rtcp" => {
                                a.rtcp = arg.split_whitespace().next().and_then(|p| p.parse().ok());
                            }
                            _ => a.ice.read(name, Some(arg)),
                        }
                    }
                    Where::Other => {}
                }
            }
            _ => {}
        }
    }

    let a = audio.ok_or(SdpError::NoAudio)?;
    let address = a.conn.or(session_conn).ok_or(SdpError::MissingConnection)?;
    let mut formats = Vec::with_capacity(a.pts.len());
    for pt in &a.pts {
        let mapped = a
            .rtpmaps
            .iter()
            .find(|(p, _)| p == pt)
            .and_then(|(_, m)| parse_rtpmap(*pt, m));
        let Some(mut f) = mapped.or_else(|| static_format(*pt)) else {
            continue;
        };
        f.fmtp = a
            .fmtps
            .iter()
            .find(|(p, _)| p == pt)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty());
        if !formats
            .iter()
            .any(|g: &RtpFormat| g.payload_type == f.payload_type)
        {
            formats.push(f);
        }
    }
    Ok(AudioDescription {
        address,
        port: a.port,
        rtcp_port: a.rtcp,
        formats,
        direction: a.dir.or(session_dir).unwrap_or(Direction::SendRecv),
        ptime: a.ptime.or(session_ptime),
        secure: a.secure,
        crypto: a.crypto,
        dtls: a.tls.then(|| DtlsDescription {
            fingerprints: if a.fingerprints.is_empty() {
                session_fingerprints
            } else {
                a.fingerprints
            },
            setup: a.setup.or(session_setup),
        }),
        rtcp_mux: a.rtcp_mux,
        ice: a.ice.finish(session_ice),
    })
}

/// Answers an offer (RFC 3264 section 6).
///
/// The codec is the first of the offer's formats, in the offer's order, that
/// is in `supported` (same name ignoring case, same clock rate); the answer
/// uses the offer's payload type number and `supported`'s fmtp when it has
/// one. telephone-event is kept when offered, at the codec's clock rate if
/// offered so (48000 with opus), else at 8000. The answer's direction mirrors
/// the offer's (offer sendonly -> answer recvonly, ...); an offer with
/// address 0.0.0.0 (old-style hold) is treated as not wanting media.
///
/// Encryption: an offer of `UDP/TLS/RTP/SAVP` is answered with DTLS-SRTP ([`dtls_srtp::answer`],
/// our certificate's fingerprint from `keys`); otherwise it follows [`sdes::answer`] (`policy`
/// is ours, `keys.sdes` what we would send with). `a=rtcp-mux` offered is accepted.
///
/// `Err(SdpError::NoCommonCodec)` maps to `488 Not Acceptable Here`, as do
/// `StreamRejected` (the offer disabled audio) and `Encryption`.
pub fn answer(
    offer: &AudioDescription,
    supported: &[RtpFormat],
    local_addr: IpAddr,
    local_port: u16,
    policy: Policy,
    keys: &LocalKeys,
) -> Result<(AudioDescription, Negotiated), SdpError> {
    if offer.port == 0 {
        return Err(SdpError::StreamRejected);
    }
    let (secure, crypto, srtp, dtls, agreed) = match &offer.dtls {
        Some(theirs) => {
            let (ours, agreed) = dtls_srtp::answer(theirs, keys.fingerprint.as_ref())?;
            (true, Vec::new(), None, Some(ours), Some(agreed))
        }
        None => {
            let (secure, crypto, srtp) =
                sdes::answer(policy, offer.secure, &offer.crypto, &keys.sdes)?;
            (secure, crypto, srtp, None, None)
        }
    };
    let chosen = offer
        .formats
        .iter()
        .filter(|f| f.is_audio_codec())
        .find_map(|f| supported.iter().find(|s| s.same_codec(f)).map(|s| (f, s)));
    let Some((offered, ours)) = chosen else {
        return Err(no_common_codec(&offer.formats, supported));
    };
    let codec = RtpFormat {
        fmtp: ours.fmtp.clone().or_else(|| offered.fmtp.clone()),
        ..offered.clone()
    };

    let telephone_event = pick_telephone_event(&offer.formats, codec.clock_rate).map(|te| {
        let our_fmtp = supported
            .iter()
            .find(|s| s.is_telephone_event() && s.fmtp.is_some())
            .and_then(|s| s.fmtp.clone());
        RtpFormat {
            fmtp: our_fmtp.or_else(|| te.fmtp.clone()),
            ..te.clone()
        }
    });

    let their_direction = effective_direction(offer);
    let ours_dir = their_direction.reversed();
    let ptime = offer.ptime.unwrap_or(DEFAULT_PTIME_MS);

    let mut formats = vec![codec.clone()];
    formats.extend(telephone_event.clone());
    let (ice_desc, ice_agreed) =
        ice::answer(offer.ice.as_ref(), keys.ice.as_ref(), offer.rtcp_mux).unzip();
    let desc = AudioDescription {
        address: local_addr,
        port: local_port,
        rtcp_port: None,
        formats,
        direction: ours_dir,
        ptime: Some(ptime),
        secure,
        crypto,
        dtls,
        rtcp_mux: offer.rtcp_mux,
        ice: ice_desc,
    };
    let remote = SocketAddr::new(offer.address, offer.port);
    let negotiated = Negotiated {
        remote,
        remote_rtcp: if offer.rtcp_mux {
            Some(remote)
        } else {
            rtcp_addr(offer)
        },
        codec,
        telephone_event,
        direction: ours_dir,
        ptime,
        srtp,
        dtls: agreed,
        ice: ice_agreed,
    };
    Ok((desc, negotiated))
}

/// Reads the answer to our offer: the codec is the answer's first format
/// that we offered (same name and clock rate), sent with the answer's
/// payload type number; our direction mirrors the answer's. Encryption follows
/// [`sdes::accept`] (an offer of `RTP/SAVP` requires it), or [`dtls_srtp::accept`] when we
/// offered DTLS-SRTP. RTCP is muxed when both said `a=rtcp-mux`.
pub fn accept_answer(
    offer: &AudioDescription,
    answer: &AudioDescription,
    policy: Policy,
) -> Result<Negotiated, SdpError> {
    if answer.port == 0 {
        return Err(SdpError::StreamRejected);
    }
    let (srtp, dtls) = if offer.dtls.is_some() {
        (None, Some(dtls_srtp::accept(answer.dtls.as_ref())?))
    } else {
        let policy = if offer.secure {
            Policy::Mandatory
        } else {
            policy
        };
        (sdes::accept(policy, &offer.crypto, &answer.crypto)?, None)
    };
    let codec = answer
        .formats
        .iter()
        .filter(|f| f.is_audio_codec())
        .find(|f| offer.formats.iter().any(|o| o.same_codec(f)))
        .cloned()
        .ok_or_else(|| no_common_codec(&answer.formats, &offer.formats))?;
    let telephone_event = if offer.formats.iter().any(RtpFormat::is_telephone_event) {
        pick_telephone_event(&answer.formats, codec.clock_rate).cloned()
    } else {
        None
    };
    let direction = effective_direction(answer).reversed();
    let remote = SocketAddr::new(answer.address, answer.port);
    Ok(Negotiated {
        remote,
        remote_rtcp: if offer.rtcp_mux && answer.rtcp_mux {
            Some(remote)
        } else {
            rtcp_addr(answer)
        },
        codec,
        telephone_event,
        direction,
        ptime: answer.ptime.unwrap_or(DEFAULT_PTIME_MS),
        srtp,
        dtls,
        ice: ice::accept(offer.ice.as_ref(), answer.ice.as_ref()),
    })
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn bad_line(line: usize, text: &str) -> SdpError {
    let text: String = text.chars().take(80).collect();
    SdpError::BadLine { line, text }
}

/// Direction as the peer means it, with 0.0.0.0 meaning "do not send to me".
fn effective_direction(desc: &AudioDescription) -> Direction {
    if desc.address.is_unspecified() {
        desc.direction.without_receive()
    } else {
        desc.direction
    }
}

fn rtcp_addr(desc: &AudioDescription) -> Option<SocketAddr> {
    let port = desc.rtcp_port.or_else(|| desc.port.checked_add(1))?;
    Some(SocketAddr::new(desc.address, port))
}

fn pick_telephone_event(formats: &[RtpFormat], codec_rate: u32) -> Option<&RtpFormat> {
    let tes = || formats.iter().filter(|f| f.is_telephone_event());
    tes()
        .find(|f| f.clock_rate == codec_rate)
        .or_else(|| tes().find(|f| f.clock_rate == 8000))
}

fn no_common_codec(offered: &[RtpFormat], supported: &[RtpFormat]) -> SdpError {
    let list = |fs: &[RtpFormat]| {
        let names: Vec<String> = fs
            .iter()
            .filter(|f| f.is_audio_codec())
            .map(RtpFormat::label)
            .collect();
        if names.is_empty() {
            "no audio codec".to_string()
        } else {
            names.join(", ")
        }
    };
    SdpError::NoCommonCodec {
        offered: list(offered),
        supported: list(supported),
    }
}

fn parse_ptime(s: &str) -> Option<u32> {
    // Some devices write fractional ptimes ("20.0"); keep the whole part.
    let whole = s.trim().split('.').next()?;
    whole.parse().ok().filter(|&p| p > 0 && p <= 1000)
}

/// `m=audio <port>[/<count>] <proto> <fmt> ...`
fn parse_media_line<'a>(value: &str) -> Result<SectionState<'a>, SdpError> {
    let bad = || SdpError::BadMedia(value.chars().take(80).collect());
    let mut it = value.split_whitespace();
    let _media = it.next();
    let port_text = it.next().ok_or_else(bad)?;
    let port: u16 = port_text
        .split('/')
        .next()
        .unwrap_or("")
        .parse()
        .map_err(|_| bad())?;
    let proto = it.next().ok_or_else(bad)?;
    let (secure, tls) = match proto.to_ascii_uppercase().as_str() {
        "RTP/AVP" | "RTP/AVPF" => (false, false),
        "RTP/SAVP" | "RTP/SAVPF" => (true, false),
        "UDP/TLS/RTP/SAVP" | "UDP/TLS/RTP/SAVPF" => (true, true),
        _ => return Err(SdpError::UnsupportedTransport(proto.to_string())),
    };
    let mut pts = Vec::new();
    for fmt in it {
        let pt: u8 = fmt.parse().map_err(|_| bad())?;
        if pt > 127 {
            return Err(bad());
        }
        pts.push(pt);
    }
    if pts.is_empty() {
        return Err(bad());
    }
    Ok(SectionState {
        port,
        pts,
        secure,
        tls,
        ..Default::default()
    })
}

/// What `parse` collects from the first m=audio section.
#[derive(Default)]
struct SectionState<'a> {
    port: u16,
    pts: Vec<u8>,
    conn: Option<IpAddr>,
    dir: Option<Direction>,
    ptime: Option<u32>,
    rtcp: Option<u16>,
    rtpmaps: Vec<(u8, &'a str)>,
    fmtps: Vec<(u8, &'a str)>,
    secure: bool,
    crypto: Vec<Crypto>,
    tls: bool,
    fingerprints: Vec<Fingerprint>,
    setup: Option<Setup>,
    rtcp_mux: bool,
    ice: IceLines,
}

/// The ICE attributes of one level (session or media) as they are read.
#[derive(Default)]
struct IceLines {
    ufrag: Option<String>,
    pwd: Option<String>,
    lite: bool,
    candidates: Vec<ice::Candidate>,
}

impl IceLines {
    /// Takes `a=<name>[:<arg>]` if it is an ICE attribute. A candidate that cannot be read is
    /// left out, as RFC 8839 5.1 asks (the others, and the `c=` address, still serve the call).
    fn read(&mut self, name: &str, arg: Option<&str>) {
        match name {
            "ice-ufrag" => self.ufrag = arg.map(str::to_string),
            "ice-pwd" => self.pwd = arg.map(str::to_string),
            "ice-lite" => self.lite = true,
            "candidate" => {
                if let Ok(Some(c)) = ice::Candidate::parse(arg.unwrap_or("")) {
                    if self.candidates.len() < MAX_CANDIDATES {
                        self.candidates.push(c);
                    }
                }
            }
            _ => {}
        }
    }

    /// The media level's ICE, with what it leaves out taken from the session level.
    fn finish(self, session: IceLines) -> Option<IceDescription> {
        let ufrag = self.ufrag.or(session.ufrag)?;
        let pwd = self.pwd.or(session.pwd)?;
        Some(IceDescription {
            credentials: ice::Credentials { ufrag, pwd },
            candidates: self.candidates,
            lite: self.lite || session.lite,
        })
    }
}

/// More candidates than any real agent offers are not checked (each costs checks every 20 ms).
const MAX_CANDIDATES: usize = 32;

/// `c=IN IP4 192.0.2.1[/ttl[/count]]`
fn parse_connection(value: &str) -> Result<IpAddr, SdpError> {
    let bad = || SdpError::BadConnection(value.chars().take(80).collect());
    let mut it = value.split_whitespace();
    if it.next() != Some("IN") {
        return Err(bad());
    }
    let _addrtype = it.next().ok_or_else(bad)?;
    let addr = it.next().ok_or_else(bad)?;
    let addr = addr.split('/').next().unwrap_or(addr);
    addr.parse().map_err(|_| bad())
}

/// `<name>/<rate>[/<channels>]`
fn parse_rtpmap(pt: u8, spec: &str) -> Option<RtpFormat> {
    let mut parts = spec.split('/');
    let name = parts.next()?.trim();
    if name.is_empty() {
        return None;
    }
    let clock_rate: u32 = parts.next()?.trim().parse().ok().filter(|&r| r > 0)?;
    let channels: u8 = match parts.next() {
        Some(c) => c.trim().parse().ok().filter(|&c| c > 0)?,
        None => 1,
    };
    Some(RtpFormat::new(pt, name, clock_rate, channels))
}

/// RFC 3551 table 4: static audio payload types.
fn static_format(pt: u8) -> Option<RtpFormat> {
    let (name, rate, ch) = match pt {
        0 => ("PCMU", 8000, 1),
        3 => ("GSM", 8000, 1),
        4 => ("G723", 8000, 1),
        5 => ("DVI4", 8000, 1),
        6 => ("DVI4", 16000, 1),
        7 => ("LPC", 8000, 1),
        8 => ("PCMA", 8000, 1),
        9 => ("G722", 8000, 1),
        10 => ("L16", 44100, 2),
        11 => ("L16", 44100, 1),
        12 => ("QCELP", 8000, 1),
        13 => ("CN", 8000, 1),
        14 => ("MPA", 90000, 1),
        15 => ("G728", 8000, 1),
        16 => ("DVI4", 11025, 1),
        17 => ("DVI4", 22050, 1),
        18 => ("G729", 8000, 1),
        _ => return None,
    };
    Some(RtpFormat::new(pt, name, rate, ch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdes::Suite;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const KEY: Key = Key([7; sdes::KEY_LEN]);

    fn keys() -> LocalKeys {
        LocalKeys {
            sdes: KEY,
            fingerprint: Some(Fingerprint {
                hash: "sha-256".into(),
                value: vec![0xAB; 32],
            }),
            ice: None,
        }
    }

    /// A baresip 1.x offer (opus, G.711, DTMF at 8000, session-level c=).
    const BARESIP_OFFER: &str = "v=0\r\n\
        o=- 1470313380 3041386512 IN IP4 192.168.1.5\r\n\
        s=-\r\n\
        c=IN IP4 192.168.1.5\r\n\
        t=0 0\r\n\
        m=audio 10000 RTP/AVP 96 0 8 101\r\n\
        b=AS:96\r\n\
        a=rtpmap:96 opus/48000/2\r\n\
        a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-15\r\n\
        a=sendrecv\r\n\
        a=label:1\r\n\
        a=ssrc:1848399034 cname:ad5f1c03-8d4e-4e3b-a0e3-0e4f4e4b7a11\r\n\
        a=rtcp-rsize\r\n\
        a=ptime:20\r\n";

    /// A linphone 5.x offer: session-level attributes, fmtp for a static PT
    /// without rtpmap, telephone-event at three rates, a=rtcp, rtcp-fb.
    const LINPHONE_OFFER: &str = "v=0\r\n\
        o=bob 2345 1234 IN IP4 192.168.1.20\r\n\
        s=Talk\r\n\
        c=IN IP4 192.168.1.20\r\n\
        t=0 0\r\n\
        a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n\
        a=record:off\r\n\
        m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100\r\n\
        a=rtpmap:96 opus/48000/2\r\n\
        a=fmtp:96 useinbandfec=1\r\n\
        a=rtpmap:97 speex/16000\r\n\
        a=fmtp:97 vbr=on\r\n\
        a=rtpmap:98 speex/8000\r\n\
        a=fmtp:98 vbr=on\r\n\
        a=fmtp:18 annexb=yes\r\n\
        a=rtpmap:101 telephone-event/48000\r\n\
        a=rtpmap:99 telephone-event/16000\r\n\
        a=rtpmap:100 telephone-event/8000\r\n\
        a=rtcp:7079\r\n\
        a=rtcp-fb:* trr-int 1000\r\n\
        a=rtcp-fb:* ccm tmmbr\r\n";

    /// The body of RFC 4475's sdp01 torture test: an unusual but valid SDP
    /// whose *video* section carries a malformed rtpmap ("LPC" without rate).
    const RFC4475_SDP01: &str = "v=0\r\n\
        o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n\
        s=-\r\n\
        c=IN IP4 192.0.2.5\r\n\
        t=0 0\r\n\
        m=audio 49217 RTP/AVP 0 12\r\n\
        m=video 3227 RTP/AVP 31\r\n\
        a=rtpmap:31 LPC\r\n";

    fn fmt(pt: u8, name: &str, rate: u32, ch: u8, fmtp: Option<&str>) -> RtpFormat {
        RtpFormat {
            payload_type: pt,
            name: name.into(),
            clock_rate: rate,
            channels: ch,
            fmtp: fmtp.map(String::from),
        }
    }

    /// What the phone supports, in its own preference order and numbering.
    fn ours() -> Vec<RtpFormat> {
        vec![
            fmt(111, "opus", 48000, 2, Some("useinbandfec=1")),
            fmt(0, "PCMU", 8000, 1, None),
            fmt(8, "PCMA", 8000, 1, None),
            fmt(101, "telephone-event", 8000, 1, Some("0-16")),
        ]
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn parses_baresip_offer() {
        let d = parse(BARESIP_OFFER).unwrap();
        assert_eq!(d.address, v4(192, 168, 1, 5));
        assert_eq!(d.port, 10000);
        assert_eq!(d.rtcp_port, None);
        assert_eq!(d.direction, Direction::SendRecv);
        assert_eq!(d.ptime, Some(20));
        assert_eq!(
            d.formats,
            vec![
                fmt(96, "opus", 48000, 2, Some("stereo=1;sprop-stereo=1")),
                fmt(0, "PCMU", 8000, 1, None),
                fmt(8, "PCMA", 8000, 1, None),
                fmt(101, "telephone-event", 8000, 1, Some("0-15")),
            ]
        );
    }

    #[test]
    fn parses_linphone_offer() {
        let d = parse(LINPHONE_OFFER).unwrap();
        assert_eq!(d.address, v4(192, 168, 1, 20));
        assert_eq!(d.port, 7078);
        assert_eq!(d.rtcp_port, Some(7079));
        assert_eq!(d.ptime, None);
        let names: Vec<String> = d
            .formats
            .iter()
            .map(|f| format!("{}:{}", f.payload_type, f.label()))
            .collect();
        assert_eq!(
            names,
            [
                "96:opus/48000",
                "97:speex/16000",
                "98:speex/8000",
                "0:PCMU/8000",
                "8:PCMA/8000",
                "18:G729/8000",
                "101:telephone-event/48000",
                "99:telephone-event/16000",
                "100:telephone-event/8000"
            ]
        );
        // fmtp on a static type that has no rtpmap.
        assert_eq!(d.formats[5].fmtp.as_deref(), Some("annexb=yes"));
    }

    #[test]
    fn parses_rfc4475_sdp01_body() {
        // Also check the fixture file itself when the shared fixtures exist.
        let from_file = std::fs::read_to_string("/work/shared/fixtures/rfc4475/sdp01.dat")
            .ok()
            .and_then(|m| {
                m.split_once("\r\n\r\n")
                    .or_else(|| m.split_once("\n\n"))
                    .map(|(_, b)| b.to_string())
            });
        for body in [Some(RFC4475_SDP01.to_string()), from_file]
            .into_iter()
            .flatten()
        {
            let d = parse(&body).unwrap();
            assert_eq!(d.address, v4(192, 0, 2, 5));
            assert_eq!(d.port, 49217);
            assert_eq!(
                d.formats,
                vec![
                    fmt(0, "PCMU", 8000, 1, None),
                    fmt(12, "QCELP", 8000, 1, None)
                ]
            );
            let (ans, neg) =
                answer(&d, &ours(), v4(127, 0, 0, 1), 4000, Policy::Off, &keys()).unwrap();
            assert_eq!(neg.codec.name, "PCMU");
            assert_eq!(ans.formats.len(), 1, "no telephone-event was offered");
        }
    }

    #[test]
    fn static_payload_types_and_unmapped_dynamic() {
        let d = parse("v=0\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 8 0 96 9\n").unwrap();
        assert_eq!(
            d.formats,
            vec![
                fmt(8, "PCMA", 8000, 1, None),
                fmt(0, "PCMU", 8000, 1, None),
                fmt(9, "G722", 8000, 1, None)
            ]
        );
        // Missing o=/s=/t= is tolerated; a malformed rtpmap for a static PT
        // falls back to the RFC 3551 name.
        let d = parse("v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n")
            .unwrap();
        assert_eq!(d.formats, vec![fmt(0, "PCMU", 8000, 1, None)]);
    }

    #[test]
    fn media_level_overrides_session_level() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendonly\r\na=ptime:30\r\n\
                   m=video 5000 RTP/AVP 96\r\nc=IN IP4 10.9.9.9\r\na=inactive\r\n\
                   m=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2/127\r\na=recvonly\r\n\
                   m=audio 6000 RTP/AVP 8\r\nc=IN IP4 10.0.0.3\r\n";
        let d = parse(sdp).unwrap();
        assert_eq!(d.address, v4(10, 0, 0, 2));
        assert_eq!(d.port, 4000);
        assert_eq!(d.direction, Direction::RecvOnly);
        assert_eq!(d.ptime, Some(30));
        // Session-level values apply when the media section has none.
        let d =
            parse("v=0\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n")
                .unwrap();
        assert_eq!(d.address, v4(10, 0, 0, 1));
        assert_eq!(d.direction, Direction::SendOnly);
    }

    #[test]
    fn ipv6() {
        let d = parse("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 2001:db8::17\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n").unwrap();
        let addr = IpAddr::V6("2001:db8::17".parse::<Ipv6Addr>().unwrap());
        assert_eq!(d.address, addr);
        let (ans, neg) = answer(
            &d,
            &ours(),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            40000,
            Policy::Off,
            &keys(),
        )
        .unwrap();
        assert_eq!(neg.remote, SocketAddr::new(addr, 30000));
        assert_eq!(neg.remote_rtcp, Some(SocketAddr::new(addr, 30001)));
        let text = build(&ans, "hookflash", &SessionVersion { id: 7, version: 8 });
        assert!(text.contains("o=hookflash 7 8 IN IP6 ::1\r\n"), "{text}");
        assert!(text.contains("c=IN IP6 ::1\r\n"), "{text}");
        assert_eq!(parse(&text).unwrap(), ans);
    }

    #[test]
    fn build_writes_expected_lines() {
        let desc = AudioDescription {
            address: v4(192, 0, 2, 10),
            port: 16384,
            rtcp_port: Some(16391),
            formats: vec![
                fmt(111, "opus", 48000, 2, Some("useinbandfec=1")),
                fmt(0, "PCMU", 8000, 1, None),
                fmt(101, "telephone-event", 8000, 1, Some("0-16")),
            ],
            direction: Direction::SendOnly,
            ptime: Some(20),
            secure: false,
            crypto: vec![],
            dtls: None,
            rtcp_mux: false,
            ice: None,
        };
        let text = build(&desc, "alice smith", &SessionVersion { id: 42, version: 2 });
        assert_eq!(
            text,
            "v=0\r\n\
             o=alice-smith 42 2 IN IP4 192.0.2.10\r\n\
             s=Hookflash\r\n\
             c=IN IP4 192.0.2.10\r\n\
             t=0 0\r\n\
             m=audio 16384 RTP/AVP 111 0 101\r\n\
             a=rtpmap:111 opus/48000/2\r\n\
             a=fmtp:111 useinbandfec=1\r\n\
             a=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\n\
             a=fmtp:101 0-16\r\n\
             a=rtcp:16391\r\n\
             a=ptime:20\r\n\
             a=sendonly\r\n"
        );
        assert_eq!(parse(&text).unwrap(), desc);
        assert!(build(&desc, "", &SessionVersion { id: 1, version: 1 }).contains("o=- 1 1 IN IP4"));
    }

    #[test]
    fn answer_follows_offer_order_and_keeps_dtmf() {
        // baresip offers opus first: opus wins although we list it... first too;
        // put PCMU first in ours to prove the offer's order decides.
        let mut supported = ours();
        supported.rotate_left(1); // PCMU, PCMA, te, opus
        let offer = parse(BARESIP_OFFER).unwrap();
        let (ans, neg) = answer(
            &offer,
            &supported,
            v4(192, 168, 1, 9),
            20000,
            Policy::Off,
            &keys(),
        )
        .unwrap();
        // Offer's PT number (96), our fmtp.
        assert_eq!(neg.codec, fmt(96, "opus", 48000, 2, Some("useinbandfec=1")));
        // Only te/8000 was offered; kept even with opus.
        assert_eq!(
            neg.telephone_event,
            Some(fmt(101, "telephone-event", 8000, 1, Some("0-16")))
        );
        assert_eq!(neg.remote, "192.168.1.5:10000".parse().unwrap());
        assert_eq!(neg.remote_rtcp, Some("192.168.1.5:10001".parse().unwrap()));
        assert_eq!(neg.direction, Direction::SendRecv);
        assert_eq!(neg.ptime, 20);
        assert_eq!(
            ans.formats,
            vec![neg.codec.clone(), neg.telephone_event.clone().unwrap()]
        );
        assert_eq!((ans.address, ans.port), (v4(192, 168, 1, 9), 20000));

        // linphone: opus + te/48000 chosen over te/16000 and te/8000; a=rtcp honoured.
        let offer = parse(LINPHONE_OFFER).unwrap();
        let (_, neg) = answer(
            &offer,
            &ours(),
            v4(127, 0, 0, 1),
            20000,
            Policy::Off,
            &keys(),
        )
        .unwrap();
        assert_eq!(neg.codec.payload_type, 96);
        assert_eq!(
            neg.telephone_event
                .as_ref()
                .map(|t| (t.payload_type, t.clock_rate)),
            Some((101, 48000))
        );
        assert_eq!(neg.remote_rtcp, Some("192.168.1.20:7079".parse().unwrap()));

        // Without opus on our side: PCMU (offer order: 0 before 8), te at 8000.
        let g711 = &ours()[1..];
        let (_, neg) = answer(&offer, g711, v4(127, 0, 0, 1), 20000, Policy::Off, &keys()).unwrap();
        assert_eq!(neg.codec, fmt(0, "PCMU", 8000, 1, None));
        assert_eq!(
            neg.telephone_event
                .as_ref()
                .map(|t| (t.payload_type, t.clock_rate)),
            Some((100, 8000))
        );

        // Case-insensitive names; clock rate must match (speex/16000 != speex/8000).
        let speex = [fmt(120, "SPEEX", 8000, 1, None)];
        let (_, neg) = answer(
            &offer,
            &speex,
            v4(127, 0, 0, 1),
            20000,
            Policy::Off,
            &keys(),
        )
        .unwrap();
        assert_eq!(
            (neg.codec.payload_type, neg.codec.name.as_str()),
            (98, "speex")
        );
        assert_eq!(neg.telephone_event.map(|t| t.clock_rate), Some(8000));
    }

    #[test]
    fn no_common_codec_is_an_error_with_a_readable_message() {
        let offer = parse("v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 18 3 101\r\na=rtpmap:101 telephone-event/8000\r\n").unwrap();
        let err = answer(
            &offer,
            &ours(),
            v4(127, 0, 0, 1),
            4000,
            Policy::Off,
            &keys(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            SdpError::NoCommonCodec {
                offered: "G729/8000, GSM/8000".into(),
                supported: "opus/48000, PCMU/8000, PCMA/8000".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "no common audio codec: the other side offered G729/8000, GSM/8000; we support opus/48000, PCMU/8000, PCMA/8000"
        );
        // telephone-event alone is not a codec.
        let offer = parse("v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n").unwrap();
        assert!(matches!(
            answer(
                &offer,
                &ours(),
                v4(127, 0, 0, 1),
                4000,
                Policy::Off,
                &keys()
            ),
            Err(SdpError::NoCommonCodec { .. })
        ));
    }

    #[test]
    fn hold_directions() {
        let base = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n";
        for (attr, want) in [
            ("a=sendrecv", Direction::SendRecv),
            ("a=sendonly", Direction::RecvOnly),
            ("a=recvonly", Direction::SendOnly),
            ("a=inactive", Direction::Inactive),
        ] {
            let offer = parse(&format!("{base}{attr}\r\n")).unwrap();
            let (ans, neg) = answer(
                &offer,
                &ours(),
                v4(127, 0, 0, 1),
                5000,
                Policy::Off,
                &keys(),
            )
            .unwrap();
            assert_eq!(ans.direction, want, "{attr}");
            assert_eq!(neg.direction, want, "{attr}");
            assert!(build(&ans, "u", &SessionVersion { id: 1, version: 1 })
                .contains(&format!("a={}\r\n", want.as_str())));
        }
        // RFC 2543 hold: c=0.0.0.0 means "don't send to me".
        let offer = parse("v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n").unwrap();
        let (_, neg) = answer(
            &offer,
            &ours(),
            v4(127, 0, 0, 1),
            5000,
            Policy::Off,
            &keys(),
        )
        .unwrap();
        assert_eq!(neg.direction, Direction::RecvOnly);
        assert!(!neg.direction.sends());
    }

    #[test]
    fn accept_answer_reads_the_peer() {
        let offer = AudioDescription {
            address: v4(10, 0, 0, 1),
            port: 4000,
            rtcp_port: None,
            formats: ours(),
            direction: Direction::SendRecv,
            ptime: Some(20),
            secure: false,
            crypto: vec![],
            dtls: None,
            rtcp_mux: false,
            ice: None,
        };
        // The peer renumbers opus to 96 and answers recvonly (it put us on hold
        // the other way round), with ptime 40 and a=rtcp.
        let ans = parse(
            "v=0\r\no=- 5 5 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
             m=audio 6000 RTP/AVP 96 100\r\na=rtpmap:96 OPUS/48000/2\r\na=rtpmap:100 telephone-event/48000\r\n\
             a=rtcp:6009\r\na=ptime:40\r\na=recvonly\r\n",
        )
        .unwrap();
        let neg = accept_answer(&offer, &ans, Policy::Off).unwrap();
        assert_eq!(neg.codec, fmt(96, "OPUS", 48000, 2, None));
        assert_eq!(
            neg.telephone_event,
            Some(fmt(100, "telephone-event", 48000, 1, None))
        );
        assert_eq!(neg.remote, "10.0.0.2:6000".parse().unwrap());
        assert_eq!(neg.remote_rtcp, Some("10.0.0.2:6009".parse().unwrap()));
        assert_eq!(neg.direction, Direction::SendOnly);
        assert_eq!(neg.ptime, 40);

        // Answer with a codec we did not offer only.
        let bad = parse("v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 6000 RTP/AVP 18\r\n").unwrap();
        assert!(matches!(
            accept_answer(&offer, &bad, Policy::Off),
            Err(SdpError::NoCommonCodec { .. })
        ));
        // Declined stream.
        let declined = parse("v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 0 RTP/AVP 0\r\n").unwrap();
        assert_eq!(declined.port, 0);
        assert_eq!(
            accept_answer(&offer, &declined, Policy::Off),
            Err(SdpError::StreamRejected)
        );
        assert_eq!(
            answer(
                &declined,
                &ours(),
                v4(127, 0, 0, 1),
                1,
                Policy::Off,
                &keys()
            )
            .unwrap_err(),
            SdpError::StreamRejected
        );
    }

    #[test]
    fn answer_then_accept_round_trip() {
        // Our answer, read back by the offerer, gives the mirror image.
        let offer = parse(BARESIP_OFFER).unwrap();
        let (ans, neg_answerer) =
            answer(&offer, &ours(), v4(10, 1, 1, 1), 7000, Policy::Off, &keys()).unwrap();
        let reparsed = parse(&build(
            &ans,
            "hookflash",
            &SessionVersion { id: 1, version: 1 },
        ))
        .unwrap();
        let neg_offerer = accept_answer(&offer, &reparsed, Policy::Off).unwrap();
        assert_eq!(neg_offerer.remote, "10.1.1.1:7000".parse().unwrap());
        assert_eq!(
            neg_offerer.codec.payload_type,
            neg_answerer.codec.payload_type
        );
        assert_eq!(neg_offerer.direction, neg_answerer.direction.reversed());
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(parse(""), Err(SdpError::Empty));
        assert_eq!(parse("\r\n \r\n"), Err(SdpError::Empty));
        assert_eq!(parse("<html>hello</html>"), Err(SdpError::NotSdp));
        assert_eq!(
            parse("v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 4000 RTP/AVP 31\r\n"),
            Err(SdpError::NoAudio)
        );
        assert_eq!(
            parse("v=0\r\nm=audio 4000 RTP/AVP 0\r\n"),
            Err(SdpError::MissingConnection)
        );
        assert_eq!(
            parse("v=0\r\nc=IN IP4 pbx.example.com\r\nm=audio 4000 RTP/AVP 0\r\n"),
            Err(SdpError::BadConnection("IN IP4 pbx.example.com".into()))
        );
        assert_eq!(
            parse("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 TCP/TLS/RTP/SAVPF 0\r\n"),
            Err(SdpError::UnsupportedTransport("TCP/TLS/RTP/SAVPF".into()))
        );
        assert_eq!(
            parse("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0\r\n"),
            Err(SdpError::BadMedia("audio 99999 RTP/AVP 0".into()))
        );
        assert!(matches!(
            parse("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP\r\n"),
            Err(SdpError::BadMedia(_))
        ));
        assert!(matches!(
            parse("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0 200\r\n"),
            Err(SdpError::BadMedia(_))
        ));
        assert_eq!(
            parse("v=0\r\nthis is not sdp\r\n"),
            Err(SdpError::BadLine {
                line: 2,
                text: "this is not sdp".into()
            })
        );
        assert_eq!(
            SdpError::BadLine {
                line: 2,
                text: "x".into()
            }
            .to_string(),
            "SDP line 2 is malformed: \"x\""
        );
        assert_eq!(parse("v=0\r\nx\r\n").unwrap_err().sip_status(), 400);
        assert_eq!(SdpError::StreamRejected.sip_status(), 488);
        let none = SdpError::NoCommonCodec {
            offered: String::new(),
            supported: String::new(),
        };
        assert_eq!(none.sip_status(), 488);
    }

    #[test]
    fn mutated_input_never_panics() {
        let seeds = [
            BARESIP_OFFER,
            LINPHONE_OFFER,
            RFC4475_SDP01,
            "v=0\r\nc=IN IP6 ::1\r\nm=audio 1 RTP/AVP 0\r\na=rtcp:2 IN IP6 ::1\r\n",
        ];
        let alphabet = [
            '=',
            ' ',
            ':',
            '/',
            '\r',
            '\n',
            '0',
            '9',
            'a',
            'm',
            '\u{e9}',
            '\u{1F600}',
            '-',
            '.',
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut parsed_ok = 0;
        for seed in seeds {
            for _ in 0..2500 {
                let mut chars: Vec<char> = seed.chars().collect();
                for _ in 0..(next() % 6 + 1) {
                    if chars.is_empty() {
                        break;
                    }
                    let i = (next() as usize) % chars.len();
                    match next() % 4 {
                        0 => {
                            chars.remove(i);
                        }
                        1 => chars.insert(i, alphabet[(next() as usize) % alphabet.len()]),
                        2 => chars[i] = alphabet[(next() as usize) % alphabet.len()],
                        _ => chars.truncate(i),
                    }
                }
                let text: String = chars.into_iter().collect();
                if let Ok(d) = parse(&text) {
                    parsed_ok += 1;
                    let built = build(&d, "u", &SessionVersion { id: 1, version: 1 });
                    // Whatever we parsed, we can write and read back identically
                    // (an empty format list is written as "0", see `build`).
                    let back =
                        parse(&built).unwrap_or_else(|e| panic!("{e}: round trip of {text:?}"));
                    if d.formats.is_empty() {
                        assert_eq!(back.formats, vec![fmt(0, "PCMU", 8000, 1, None)]);
                        assert_eq!(
                            AudioDescription {
                                formats: vec![],
                                ..back
                            },
                            d
                        );
                    } else {
                        assert_eq!(back, d, "round trip of {text:?}");
                    }
                    let _ = answer(&d, &ours(), v4(127, 0, 0, 1), 4000, Policy::Off, &keys());
                    let _ = accept_answer(&d, &d, Policy::Off);
                }
            }
        }
        // The mutations must leave enough valid inputs to exercise the rest.
        assert!(parsed_ok > 1000, "only {parsed_ok} mutated inputs parsed");
    }

    /// A baresip 1.0 offer with `mediaenc=srtp-mand`: RTP/SAVP with two keys.
    const SRTP_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
        m=audio 10000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
        a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n\
        a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^31\r\n\
        a=crypto:3 AES_256_CM_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRPS1uQCVeeCFCanVmcjkpPywj\r\n\
        a=sendrecv\r\n";

    #[test]
    fn an_srtp_offer_is_read_and_answered_encrypted_with_our_key() {
        let offer = parse(SRTP_OFFER).unwrap();
        assert!(offer.secure);
        assert_eq!(
            offer
                .crypto
                .iter()
                .map(|c| (c.tag, c.suite))
                .collect::<Vec<_>>(),
            vec![
                (1, Suite::AesCm128HmacSha1_32),
                (2, Suite::AesCm128HmacSha1_80)
            ]
        );
        let (ans, neg) = answer(
            &offer,
            &ours(),
            v4(127, 0, 0, 1),
            4000,
            Policy::Off,
            &keys(),
        )
        .unwrap();
        let keys = neg.srtp.expect("encrypted");
        assert_eq!(
            (keys.suite, &keys.local, &keys.remote),
            (Suite::AesCm128HmacSha1_32, &KEY, &offer.crypto[0].key)
        );
        let text = build(&ans, "me", &SessionVersion { id: 1, version: 1 });
        assert!(text.contains("m=audio 4000 RTP/SAVP 0 101\r\n"), "{text}");
        assert!(text.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH\r\n"), "{text}");
        // Read back by the offerer: the same keys, seen from the other side.
        let back = accept_answer(&offer, &parse(&text).unwrap(), Policy::Off).unwrap();
        let theirs = back.srtp.expect("encrypted");
        assert_eq!(
            (theirs.local, theirs.remote),
            (offer.crypto[0].key.clone(), KEY)
        );
    }

    #[test]
    fn encryption_refusals_are_488_with_a_sentence() {
        let no_usable = SRTP_OFFER
            .replace("a=crypto:1", "a=x:1")
            .replace("a=crypto:2", "a=x:2");
        let err = answer(
            &parse(&no_usable).unwrap(),
            &ours(),
            v4(127, 0, 0, 1),
            4000,
            Policy::Optional,
            &keys(),
        )
        .unwrap_err();
        assert_eq!(err.sip_status(), 488);
        assert!(
            err.to_string().contains("no key this phone can use"),
            "{err}"
        );
        let clear = parse(BARESIP_OFFER).unwrap();
        let err = answer(
            &clear,
            &ours(),
            v4(127, 0, 0, 1),
            4000,
            Policy::Mandatory,
            &keys(),
        )
        .unwrap_err();
        assert_eq!(
            (
                err.sip_status(),
                err.to_string().contains("requires encryption")
            ),
            (488, true)
        );
        // DTLS-SRTP offered with SDES keys but no fingerprint: the keys do not count.
        let dtls = parse(&SRTP_OFFER.replace("RTP/SAVP", "UDP/TLS/RTP/SAVP")).unwrap();
        let err = answer(&dtls, &ours(), v4(127, 0, 0, 1), 4000, Policy::Off, &keys()).unwrap_err();
        assert_eq!(
            (err.sip_status(), err.to_string().contains("fingerprint")),
            (488, true),
            "{err}"
        );
    }

    #[test]
    fn an_offer_of_ours_with_a_key_on_rtp_avp_is_encrypted_only_if_the_answer_keys_it() {
        let (secure, crypto) = sdes::offer(Policy::Optional, &KEY);
        let offer = AudioDescription {
            address: v4(10, 0, 0, 1),
            port: 4000,
            rtcp_port: None,
            formats: ours(),
            direction: Direction::SendRecv,
            ptime: Some(20),
            secure,
            crypto,
            dtls: None,
            rtcp_mux: false,
            ice: None,
        };
        let text = build(&offer, "me", &SessionVersion { id: 1, version: 1 });
        assert!(
            text.contains("RTP/AVP") && text.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"),
            "{text}"
        );
        let clear = parse(BARESIP_OFFER).unwrap();
        assert_eq!(
            accept_answer(&offer, &clear, Policy::Optional)
                .unwrap()
                .srtp,
            None
        );
        let secure_offer = AudioDescription {
            secure: true,
            ..offer
        };
        let err = accept_answer(&secure_offer, &clear, Policy::Off).unwrap_err();
        assert!(
            err.to_string().contains("answered with unencrypted media"),
            "{err}"
        );
    }

    /// A DTLS-SRTP offer as baresip 1.0 writes one (`mediaenc=dtls_srtp`): the fingerprint at
    /// session level, `actpass`, RTCP on its own port.
    const DTLS_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
        a=fingerprint:sha-256 2E:29:0C:1B:CD:55:43:1E:9A:A2:7C:7B:AE:8B:DB:33:3D:20:E9:A2:1C:F0:6A:90:42:A5:0E:66:7F:77:E5:3D\r\n\
        m=audio 10000 UDP/TLS/RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=setup:actpass\r\na=sendrecv\r\n";

    #[test]
    fn a_dtls_srtp_offer_is_answered_active_with_our_fingerprint() {
        let offer = parse(DTLS_OFFER).unwrap();
        let theirs = offer.dtls.clone().expect("a DTLS offer");
        assert_eq!(
            (theirs.fingerprints.len(), theirs.setup),
            (1, Some(Setup::ActPass)),
            "session-level fingerprint applies"
        );
        assert!(offer.secure && !offer.rtcp_mux);
        let (ans, neg) = answer(
            &offer,
            &ours(),
            v4(127, 0, 0, 1),
            4000,
            Policy::Off,
            &keys(),
        )
        .unwrap();
        let agreed = neg.dtls.clone().unwrap();
        assert_eq!(
            (agreed.role, agreed.remote_fingerprints),
            (dtls_srtp::Role::Client, theirs.fingerprints)
        );
        assert_eq!(neg.srtp, None, "keys come from the handshake, not the SDP");
        assert_eq!(neg.remote_rtcp, Some("10.0.0.9:10001".parse().unwrap()));
        let text = build(&ans, "me", &SessionVersion { id: 1, version: 1 });
        assert!(
            text.contains("m=audio 4000 UDP/TLS/RTP/SAVP 0 101\r\n"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "a=fingerprint:sha-256 {}\r\n",
                vec!["AB"; 32].join(":")
            )),
            "{text}"
        );
        assert!(
            text.contains("a=setup:active\r\n")
                && !text.contains("a=crypto")
                && !text.contains("rtcp-mux"),
            "{text}"
        );
        // What we wrote reads back the same.
        assert_eq!(parse(&text).unwrap().dtls, ans.dtls);
        // Offered without a fingerprint, or with no certificate of ours: refused (488) with the reason.
        let bare = parse(&DTLS_OFFER.replace("a=fingerprint", "a=x")).unwrap();
        let e = answer(&bare, &ours(), v4(127, 0, 0, 1), 4000, Policy::Off, &keys()).unwrap_err();
        assert_eq!(
            (e.sip_status(), e.to_string().contains("fingerprint")),
            (488, true),
            "{e}"
        );
        let none = LocalKeys {
            fingerprint: None,
            ..keys()
        };
        assert_eq!(
            answer(&offer, &ours(), v4(127, 0, 0, 1), 4000, Policy::Off, &none)
                .unwrap_err()
                .sip_status(),
            488
        );
    }

    #[test]
    fn rtcp_mux_offered_is_accepted_and_points_rtcp_at_the_rtp_port() {
        let offer =
            parse(&DTLS_OFFER.replace("a=setup:actpass", "a=setup:actpass\r\na=rtcp-mux")).unwrap();
        let (ans, neg) = answer(
            &offer,
            &ours(),
            v4(127, 0, 0, 1),
            4000,
            Policy::Off,
            &keys(),
        )
        .unwrap();
        assert!(ans.rtcp_mux);
        assert_eq!(neg.remote_rtcp, Some(neg.remote));
    }

    #[test]
    fn our_dtls_offer_needs_a_dtls_answer() {
        let offer = AudioDescription {
            address: v4(10, 0, 0, 1),
            port: 4000,
            rtcp_port: None,
            formats: ours(),
            direction: Direction::SendRecv,
            ptime: Some(20),
            secure: true,
            crypto: vec![],
            dtls: Some(dtls_srtp::offer(keys().fingerprint.as_ref().unwrap())),
            rtcp_mux: true,
            ice: None,
        };
        let text = build(&offer, "me", &SessionVersion { id: 1, version: 1 });
        assert!(
            text.contains("UDP/TLS/RTP/SAVP")
                && text.contains("a=setup:actpass")
                && text.contains("a=rtcp-mux"),
            "{text}"
        );
        let their_answer = DTLS_OFFER
            .replace("actpass", "passive")
            .replace("a=sendrecv", "a=sendrecv\r\na=rtcp-mux");
        let neg = accept_answer(&offer, &parse(&their_answer).unwrap(), Policy::Off).unwrap();
        assert_eq!(neg.dtls.unwrap().role, dtls_srtp::Role::Client);
        assert_eq!(neg.remote_rtcp, Some(neg.remote), "both said rtcp-mux");
        let clear = parse(BARESIP_OFFER).unwrap();
        let e = accept_answer(&offer, &clear, Policy::Off).unwrap_err();
        assert!(e.to_string().contains("DTLS-SRTP was offered"), "{e}");
    }

    #[test]
    fn an_ice_offer_is_answered_with_our_ice_and_its_candidates_kept() {
        // Session-level credentials (as Chrome and libre write them), media-level candidates,
        // one TCP and one mDNS candidate that are no use to us, one broken line.
        let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
            a=ice-ufrag:Fx3q\r\na=ice-pwd:4bcd8f0e1a2b3c4d5e6f7a8b\r\n\
            m=audio 40000 RTP/AVP 0\r\na=rtcp-mux\r\n\
            a=candidate:1 1 UDP 2130706431 192.0.2.10 40000 typ host\r\n\
            a=candidate:2 1 UDP 1694498815 203.0.113.9 50000 typ srflx raddr 192.0.2.10 rport 40000\r\n\
            a=candidate:3 1 TCP 1518280447 192.0.2.10 9 typ host tcptype active\r\n\
            a=candidate:4 1 UDP 2122260223 abc.local 40000 typ host\r\n\
            a=candidate:broken\r\n";
        let parsed = parse(offer).unwrap();
        let theirs = parsed.ice.clone().unwrap();
        assert_eq!(theirs.credentials.ufrag, "Fx3q");
        assert_eq!(theirs.candidates.len(), 2);
        let ours = ice::IceDescription {
            credentials: ice::Credentials {
                ufrag: "Ours".into(),
                pwd: "0123456789abcdefghijklmn".into(),
            },
            candidates: vec![ice::Candidate::ours(
                ice::CandidateKind::Host,
                "192.0.2.20:30000".parse().unwrap(),
                None,
            )],
            lite: false,
        };
        let with_ice = LocalKeys {
            ice: Some(ours.clone()),
            ..keys()
        };
        let (desc, negotiated) = answer(
            &parsed,
            &[RtpFormat::new(0, "PCMU", 8000, 1)],
            "192.0.2.20".parse().unwrap(),
            30000,
            Policy::Off,
            &with_ice,
        )
        .unwrap();
        let agreed = negotiated.ice.unwrap();
        assert!(!agreed.controlling);
        assert_eq!(agreed.remote_candidates.len(), 2);
        let written = build(&desc, "hf", &SessionVersion { id: 1, version: 1 });
        assert!(
            written.contains("a=ice-ufrag:Ours\r\n")
                && written.contains("a=candidate:")
                && written.contains("a=rtcp-mux\r\n"),
            "{written}"
        );
        // Our answer read back by the offerer gives it the controlling role.
        let back = parse(&written).unwrap();
        assert_eq!(back.ice.as_ref(), Some(&ours));
        let offered = AudioDescription {
            ice: Some(theirs),
            ..parsed
        };
        assert!(
            accept_answer(&offered, &back, Policy::Off)
                .unwrap()
                .ice
                .unwrap()
                .controlling
        );
        // Without ICE of ours the same offer is answered the classic way.
        let (desc, negotiated) = answer(
            &offered,
            &[RtpFormat::new(0, "PCMU", 8000, 1)],
            "192.0.2.20".parse().unwrap(),
            30000,
            Policy::Off,
            &keys(),
        )
        .unwrap();
        assert!(desc.ice.is_none() && negotiated.ice.is_none());
    }
}
