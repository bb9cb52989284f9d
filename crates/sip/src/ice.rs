//! ICE as the SDP carries it (RFC 8839, for ICE itself RFC 8445): the credentials
//! (`a=ice-ufrag`, `a=ice-pwd`), the candidates (`a=candidate`), `a=ice-lite`, and who controls.
//! Pure: attributes in, decisions out. The connectivity checks run in the media crate's
//! transport (`crates/media/src/stream/ice.rs`, webrtc-rs's `rtc-ice`).
//!
//! Roles (RFC 8445 6.1.1): the offerer controls (it nominates the pair media will use) unless it
//! is a lite agent and the answerer a full one. We are always a full agent, so: our offer
//! answered with ICE → we control; an offer with ICE answered by us → we are controlled, unless
//! the offer says `a=ice-lite`.
//!
//! Only UDP candidates of component 1 (RTP) and 2 (RTCP) are kept. We offer both components
//! with `rtcp-mux`; with a peer that does not mux, RTCP runs its own checks on its own socket.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// A candidate's type (RFC 8445 5.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CandidateKind {
    Host,
    ServerReflexive,
    PeerReflexive,
    Relayed,
}

impl CandidateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::ServerReflexive => "srflx",
            CandidateKind::PeerReflexive => "prflx",
            CandidateKind::Relayed => "relay",
        }
    }

    fn parse(s: &str) -> Option<CandidateKind> {
        match s {
            "host" => Some(CandidateKind::Host),
            "srflx" => Some(CandidateKind::ServerReflexive),
            "prflx" => Some(CandidateKind::PeerReflexive),
            "relay" => Some(CandidateKind::Relayed),
            _ => None,
        }
    }

    /// The type preference of RFC 8445 5.1.2.2's recommended values.
    fn type_preference(self) -> u32 {
        match self {
            CandidateKind::Host => 126,
            CandidateKind::PeerReflexive => 110,
            CandidateKind::ServerReflexive => 100,
            CandidateKind::Relayed => 0,
        }
    }
}

/// One `a=candidate` line (UDP only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub foundation: String,
    /// 1: RTP, 2: RTCP.
    pub component: u16,
    pub priority: u32,
    pub address: SocketAddr,
    pub kind: CandidateKind,
    /// `raddr`/`rport`: the base a reflexive or relayed candidate was learnt from.
    pub related: Option<SocketAddr>,
}

impl Candidate {
    /// A candidate of ours for component 1 with RFC 8445 5.1.2's priority (local preference
    /// 65535: one interface) and a foundation per type and base.
    pub fn ours(
        kind: CandidateKind,
        address: SocketAddr,
        related: Option<SocketAddr>,
    ) -> Candidate {
        Candidate::ours_for(1, kind, address, related)
    }

    /// The same for `component` (2: RTCP on its own socket).
    pub fn ours_for(
        component: u16,
        kind: CandidateKind,
        address: SocketAddr,
        related: Option<SocketAddr>,
    ) -> Candidate {
        let priority = (kind.type_preference() << 24) + (65535 << 8) + (256 - component as u32);
        // The foundation only has to be equal for candidates of one type from one base and
        // server, and differ otherwise (RFC 8445 5.1.1.3).
        let base = related.unwrap_or(address);
        let mut h: u32 = 2166136261;
        for b in format!("{}{}", kind.as_str(), base.ip()).bytes() {
            h = (h ^ b as u32).wrapping_mul(16777619);
        }
        Candidate {
            foundation: (h % 100_000_000).to_string(),
            component,
            priority,
            address,
            kind,
            related,
        }
    }

    /// The attribute value (after `a=candidate:`).
    pub fn to_attribute(&self) -> String {
        let mut s = format!(
            "{} {} UDP {} {} {} typ {}",
            self.foundation,
            self.component,
            self.priority,
            self.address.ip(),
            self.address.port(),
            self.kind.as_str()
        );
        if let Some(r) = self.related {
            s.push_str(&format!(" raddr {} rport {}", r.ip(), r.port()));
        }
        s
    }

    /// Reads an attribute value. `Err` names what is wrong; a TCP candidate, an mDNS (`.local`)
    /// address or an unknown type is `Ok(None)`: well-formed, but of no use to us.
    pub fn parse(value: &str) -> Result<Option<Candidate>, String> {
        let f: Vec<&str> = value.split_whitespace().collect();
        if f.len() < 8 || f[6] != "typ" {
            return Err(format!("\"{}\" is not <foundation> <component> <transport> <priority> <address> <port> typ <type>", shorten(value)));
        }
        let foundation = f[0];
        if foundation.is_empty()
            || foundation.len() > 32
            || !foundation
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        {
            return Err(format!(
                "the foundation \"{}\" is not 1-32 characters of letters, digits, + and /",
                shorten(foundation)
            ));
        }
        let component: u16 = f[1]
            .parse()
            .ok()
            .filter(|c| (1..=256).contains(c))
            .ok_or_else(|| format!("the component \"{}\" is not 1-256", shorten(f[1])))?;
        let priority: u32 = f[3]
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("the priority \"{}\" is not 1-4294967295", shorten(f[3])))?;
        let port: u16 = f[5]
            .parse()
            .map_err(|_| format!("the port \"{}\" is not 0-65535", shorten(f[5])))?;
        if !f[2].eq_ignore_ascii_case("udp") {
            return Ok(None);
        }
        let Some(kind) = CandidateKind::parse(f[7]) else {
            return Ok(None);
        };
        let Ok(ip) = f[4].parse::<IpAddr>() else {
            if f[4].ends_with(".local") {
                return Ok(None);
            }
            return Err(format!(
                "the address \"{}\" is not an IP address",
                shorten(f[4])
            ));
        };
        // Extensions come in name/value pairs; only raddr/rport are read.
        let mut raddr = None;
        let mut rport = None;
        let mut rest = f[8..].chunks(2);
        for pair in &mut rest {
            match pair {
                ["raddr", v] => raddr = v.parse::<IpAddr>().ok(),
                ["rport", v] => rport = v.parse::<u16>().ok(),
                _ => {}
            }
        }
        let related = raddr.zip(rport).map(|(ip, port)| SocketAddr::new(ip, port));
        Ok(Some(Candidate {
            foundation: foundation.to_string(),
            component,
            priority,
            address: SocketAddr::new(ip, port),
            kind,
            related,
        }))
    }
}

fn shorten(s: &str) -> String {
    let cut: String = s.chars().take(60).collect();
    if cut.len() < s.len() {
        format!("{cut}...")
    } else {
        cut
    }
}

/// One side's ICE username fragment and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub ufrag: String,
    pub pwd: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password authenticates the connectivity checks: never in a log.
        write!(f, "Credentials {{ ufrag: {:?}, pwd: *** }}", self.ufrag)
    }
}

impl Credentials {
    /// Whether these are credentials RFC 8839 5.4 allows: ufrag 4-256 and pwd 22-256 ice-chars.
    pub fn valid(&self) -> bool {
        let ice_chars = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        };
        (4..=256).contains(&self.ufrag.len())
            && (22..=256).contains(&self.pwd.len())
            && ice_chars(&self.ufrag)
            && ice_chars(&self.pwd)
    }
}

/// The ICE part of a media description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IceDescription {
    pub credentials: Credentials,
    /// Component-1 and -2 UDP candidates, in SDP order.
    pub candidates: Vec<Candidate>,
    /// `a=ice-lite`: the side only answers checks.
    pub lite: bool,
}

impl IceDescription {
    /// The `a=` lines (without `a=` and line ends), as the media section writes them.
    pub fn attributes(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.lite {
            lines.push("ice-lite".to_string());
        }
        lines.push(format!("ice-ufrag:{}", self.credentials.ufrag));
        lines.push(format!("ice-pwd:{}", self.credentials.pwd));
        for c in &self.candidates {
            lines.push(format!("candidate:{}", c.to_attribute()));
        }
        lines
    }
}

/// What both sides agreed for a stream's ICE: run the checks with these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreed {
    pub local: Credentials,
    /// Ours, as our SDP carried them.
    pub local_candidates: Vec<Candidate>,
    pub remote: Credentials,
    /// The far end's candidates (components 1 and 2).
    pub remote_candidates: Vec<Candidate>,
    /// We nominate (RFC 8445 6.1.1).
    pub controlling: bool,
}

/// The ICE of our answer to `offer`: ours when the offer has ICE and we have credentials,
/// else none (a peer without ICE gets media the classic way).
///
/// With `rtcp_mux` accepted, our RTCP (component 2) candidates are left out: RTCP rides on the
/// RTP pair, and a peer shown them would check a component that no longer exists.
pub fn answer(
    offer: Option<&IceDescription>,
    ours: Option<&IceDescription>,
    rtcp_mux: bool,
) -> Option<(IceDescription, Agreed)> {
    let theirs = offer.filter(|t| t.credentials.valid())?;
    let mut ours = ours?.clone();
    if rtcp_mux {
        ours.candidates.retain(|c| c.component == 1);
    }
    let ours = &ours;
    let agreed = Agreed {
        local: ours.credentials.clone(),
        local_candidates: ours.candidates.clone(),
        remote: theirs.credentials.clone(),
        remote_candidates: theirs
            .candidates
            .iter()
            .filter(|c| c.component <= 2)
            .cloned()
            .collect(),
        // A lite offerer leaves control to the full answerer.
        controlling: theirs.lite,
    };
    Some((ours.clone(), agreed))
}

/// The ICE agreed by an answer to our offer (`ours`): checks run when both have ICE.
pub fn accept(ours: Option<&IceDescription>, answer: Option<&IceDescription>) -> Option<Agreed> {
    let ours = ours?;
    let theirs = answer.filter(|t| t.credentials.valid())?;
    Some(Agreed {
        local: ours.credentials.clone(),
        local_candidates: ours.candidates.clone(),
        remote: theirs.credentials.clone(),
        remote_candidates: theirs
            .candidates
            .iter()
            .filter(|c| c.component <= 2)
            .cloned()
            .collect(),
        controlling: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(u: &str) -> Credentials {
        Credentials {
            ufrag: u.into(),
            pwd: "abcdefghijklmnopqrstuvwxyz".into(),
        }
    }

    #[test]
    fn candidates_from_other_stacks_are_read() {
        // baresip/libre style, Chrome style with extensions, a relay with its base.
        let c = Candidate::parse("7f000001 1 UDP 2113932031 127.0.0.1 40000 typ host")
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.component, c.address, c.kind),
            (1, "127.0.0.1:40000".parse().unwrap(), CandidateKind::Host)
        );
        let c = Candidate::parse("842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 10.0.0.2 rport 61665 generation 0 network-cost 999").unwrap().unwrap();
        assert_eq!(
            (c.kind, c.related),
            (
                CandidateKind::ServerReflexive,
                Some("10.0.0.2:61665".parse().unwrap())
            )
        );
        let c = Candidate::parse(
            "3 1 UDP 16777215 198.51.100.1 50000 typ relay raddr 203.0.113.7 rport 61665",
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.kind, CandidateKind::Relayed);
    }

    #[test]
    fn candidates_we_cannot_use_are_skipped_and_broken_ones_named() {
        assert_eq!(
            Candidate::parse("1 1 TCP 1518280447 10.0.0.2 9 typ host tcptype active").unwrap(),
            None
        );
        assert_eq!(
            Candidate::parse("1 1 UDP 2122260223 4a5f0c2e-1c3b.local 54321 typ host").unwrap(),
            None
        );
        assert_eq!(
            Candidate::parse("1 1 UDP 2122260223 10.0.0.2 54321 typ weird").unwrap(),
            None
        );
        let e = Candidate::parse("1 1 UDP 2122260223 10.0.0.2 54321").unwrap_err();
        assert!(e.contains("typ <type>"), "{e}");
        let e = Candidate::parse("1 1 UDP 2122260223 10.0.0.2 99999 typ host").unwrap_err();
        assert!(e.contains("port \"99999\""), "{e}");
        let e = Candidate::parse("1 0 UDP 2122260223 10.0.0.2 9 typ host").unwrap_err();
        assert!(e.contains("component"), "{e}");
        let e =
            Candidate::parse(&format!("1 1 UDP 5 {} 9 typ host", "x".repeat(2000))).unwrap_err();
        assert!(e.len() < 200, "errors stay short: {e}");
    }

    #[test]
    fn our_candidates_round_trip_with_rfc_priorities() {
        let host = Candidate::ours(CandidateKind::Host, "10.0.0.2:4000".parse().unwrap(), None);
        assert_eq!(host.priority, 2130706431);
        let srflx = Candidate::ours(
            CandidateKind::ServerReflexive,
            "203.0.113.7:5000".parse().unwrap(),
            Some("10.0.0.2:4000".parse().unwrap()),
        );
        assert!(srflx.priority < host.priority);
        assert_ne!(srflx.foundation, host.foundation);
        for c in [host, srflx] {
            assert_eq!(Candidate::parse(&c.to_attribute()).unwrap(), Some(c));
        }
    }

    #[test]
    fn the_offerer_controls_unless_it_is_lite() {
        let ours = IceDescription {
            credentials: creds("ours"),
            candidates: vec![],
            lite: false,
        };
        let full = IceDescription {
            credentials: creds("them"),
            candidates: vec![],
            lite: false,
        };
        let lite = IceDescription {
            lite: true,
            ..full.clone()
        };
        assert!(
            !answer(Some(&full), Some(&ours), true)
                .unwrap()
                .1
                .controlling
        );
        assert!(
            answer(Some(&lite), Some(&ours), true)
                .unwrap()
                .1
                .controlling
        );
        assert!(accept(Some(&ours), Some(&full)).unwrap().controlling);
        // No ICE on either side: the classic way.
        assert!(answer(None, Some(&ours), true).is_none());
        assert!(answer(Some(&full), None, true).is_none());
        assert!(accept(Some(&ours), None).is_none());
        // Credentials RFC 8839 does not allow are no ICE.
        let short = IceDescription {
            credentials: Credentials {
                ufrag: "ab".into(),
                pwd: "short".into(),
            },
            ..full
        };
        assert!(accept(Some(&ours), Some(&short)).is_none());
    }

    #[test]
    fn the_password_stays_out_of_debug() {
        let d = format!("{:?}", creds("user"));
        assert!(!d.contains("abcdefghij"), "{d}");
    }
}
