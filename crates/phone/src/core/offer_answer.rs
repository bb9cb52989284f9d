//! Offer/answer for a call's one audio stream (RFC 3264), as the phone decides it: whether a new
//! INVITE's offer can be taken (and how to refuse it), what to answer a re-INVITE, what an answer
//! to our offer gives, and what we offer to hold or resume. Pure: the SDP text comes in, decisions
//! go out; `PhoneCore` has the driver send them. The SDP maths (parse, build, codec matching) is `hookflash_sip::sdp`.

use crate::api::CodecName;
use crate::codecs;
use hookflash_sip::dtls_srtp::Fingerprint;
use hookflash_sip::sdes::{Key, Policy, KEY_LEN};
use hookflash_sip::sdp::{self, AudioDescription, Direction, LocalKeys, Negotiated, SdpError};
use std::net::IpAddr;

/// A refusal of an INVITE's offer: the status, an optional `Warning` header value, and the
/// sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub warning: Option<String>,
    pub message: String,
}

/// Whether a new INVITE's body is an offer we can take (ringing comes next), or why not
/// (`policy`: the account's media encryption).
pub fn incoming_offer(
    body: &str,
    local_ip: IpAddr,
    policy: Policy,
) -> Result<AudioDescription, Refusal> {
    if body.trim().is_empty() {
        // Offer-less INVITE (offer in our 200, answer in the ACK) is not supported yet.
        return Err(Refusal {
            status: 488,
            warning: None,
            message: "rejected an INVITE without SDP offer (488)".into(),
        });
    }
    let offer = sdp::parse(body).map_err(|e| Refusal {
        status: 400,
        warning: Some(format!("399 hookflash \"{e}\"")),
        message: format!("rejected an INVITE with unreadable SDP: {e}"),
    })?;
    // The keys are only stand-ins: the answer itself is made once the call is answered.
    match sdp::answer(
        &offer,
        &codecs::formats(&[]),
        local_ip,
        9,
        policy,
        &stand_in_keys(),
    ) {
        Ok(_) => Ok(offer),
        Err(SdpError::Dtls(e)) => Err(Refusal {
            status: 488,
            warning: Some(format!("305 hookflash \"{e}\"")),
            message: format!("rejected a call (488): {e}"),
        }),
        Err(SdpError::Encryption(e)) => Err(Refusal {
            status: 488,
            warning: Some(format!("305 hookflash \"{e}\"")),
            message: format!("rejected a call (488): {e}"),
        }),
        Err(_) => Err(Refusal {
            status: 488,
            warning: Some("305 hookflash \"no common codec\"".into()),
            message: "rejected a call offering no codec we support (488)".into(),
        }),
    }
}

/// Keys to decide an offer with before a call has its own (no media flows with them): an SDES
/// key of zeros and a fingerprint of zeros.
pub fn stand_in_keys() -> LocalKeys {
    LocalKeys {
        sdes: Key([0; KEY_LEN]),
        fingerprint: Some(Fingerprint {
            hash: "sha-256".into(),
            value: vec![0; 32],
        }),
        ice: None,
    }
}

/// What to answer the far end's re-INVITE.
#[derive(Debug, Clone, PartialEq)]
pub enum ReinviteAnswer {
    /// It carried no offer: we offer our current description again (in the 200).
    Reoffer(AudioDescription),
    /// It carried no offer and we have nothing to offer yet: a bare 200.
    Empty,
    /// Refused with this status (400 unreadable, 488 nothing acceptable).
    Status(u16),
    /// Our answer and what it negotiates, before the switchboard says whether we hold (then
    /// [`held`] turns our direction down).
    Answer {
        answer: AudioDescription,
        negotiated: Negotiated,
    },
}

/// Decides the answer to a re-INVITE with `body`, given our last description `local` (its port
/// stays ours), the codecs the call allows, and the account's encryption with the call's key.
pub fn answer_reinvite(
    body: &str,
    local: Option<&AudioDescription>,
    codecs_allowed: &[CodecName],
    local_ip: IpAddr,
    policy: Policy,
    keys: &LocalKeys,
) -> ReinviteAnswer {
    if body.trim().is_empty() {
        return match local {
            Some(l) => ReinviteAnswer::Reoffer(l.clone()),
            None => ReinviteAnswer::Empty,
        };
    }
    let Ok(offer) = sdp::parse(body) else {
        return ReinviteAnswer::Status(400);
    };
    let port = local.map(|l| l.port).unwrap_or(9);
    match sdp::answer(
        &offer,
        &codecs::formats(codecs_allowed),
        local_ip,
        port,
        policy,
        keys,
    ) {
        Ok((answer, negotiated)) => ReinviteAnswer::Answer { answer, negotiated },
        Err(_) => ReinviteAnswer::Status(488),
    }
}

/// Our answer and stream direction when we hold the call ourselves (parked): we never take
/// the far end's audio while parked, whatever it offered.
pub fn held(
    mut answer: AudioDescription,
    mut negotiated: Negotiated,
    direction: Direction,
) -> (AudioDescription, Negotiated) {
    answer.direction = direction;
    negotiated.direction = direction;
    (answer, negotiated)
}

/// What the answer `body` to our `offer` negotiates, or why it cannot be used.
pub fn accept_answer(
    offer: &AudioDescription,
    body: &str,
    policy: Policy,
) -> Result<Negotiated, String> {
    let answer = sdp::parse(body).map_err(|e| e.to_string())?;
    sdp::accept_answer(offer, &answer, policy).map_err(|e| e.to_string())
}

/// Our offer to change the stream's direction (hold, resume): the negotiated codec (and DTMF)
/// only, on our port, from `local_ip`, encrypted as before with the same key.
pub fn direction_offer(
    negotiated: &Negotiated,
    local: &AudioDescription,
    direction: Direction,
    local_ip: IpAddr,
) -> AudioDescription {
    let mut formats = vec![negotiated.codec.clone()];
    formats.extend(negotiated.telephone_event.clone());
    AudioDescription {
        address: local_ip,
        port: local.port,
        rtcp_port: None,
        formats,
        direction,
        ptime: Some(negotiated.ptime),
        secure: local.secure,
        crypto: local.crypto.clone(),
        dtls: local.dtls.clone(),
        rtcp_mux: local.rtcp_mux,
        // The same credentials: no ICE restart, the selected pair stays.
        ice: local.ice.clone(),
    }
}

/// Whether the answer to our direction offer says the far end holds us: only readable when we
/// offered to send (an answer to our recvonly/inactive offer cannot say).
pub fn remote_holds(offered: Direction, negotiated: &Negotiated) -> Option<bool> {
    offered.sends().then(|| !negotiated.direction.sends())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: [u8; 4] = [10, 0, 0, 1];

    fn offer_sdp(direction: &str, formats: &str) -> String {
        let pts: Vec<&str> = formats.split(' ').collect();
        let mut s = format!(
            "v=0\r\no=bob 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 40000 RTP/AVP {formats}\r\n"
        );
        for pt in pts {
            match pt {
                "0" => s.push_str("a=rtpmap:0 PCMU/8000\r\n"),
                "8" => s.push_str("a=rtpmap:8 PCMA/8000\r\n"),
                "18" => s.push_str("a=rtpmap:18 G729/8000\r\n"),
                "101" => s.push_str("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"),
                _ => {}
            }
        }
        s.push_str(&format!("a={direction}\r\n"));
        s
    }

    #[test]
    fn a_new_invite_is_taken_or_refused_with_the_status_and_warning_a_peer_can_read() {
        let ip = IpAddr::from(LOCAL);
        assert!(incoming_offer(&offer_sdp("sendrecv", "0 101"), ip, Policy::Off).is_ok());
        let none = incoming_offer("", ip, Policy::Off).unwrap_err();
        assert_eq!((none.status, none.warning.as_deref()), (488, None));
        let garbage = incoming_offer("v=0\r\nm=audio\r\n", ip, Policy::Off).unwrap_err();
        assert_eq!(garbage.status, 400);
        assert!(
            garbage.warning.unwrap().starts_with("399 hookflash \""),
            "a Warning names the problem"
        );
        let g729 = incoming_offer(&offer_sdp("sendrecv", "18"), ip, Policy::Off).unwrap_err();
        assert_eq!(
            (g729.status, g729.warning.as_deref()),
            (488, Some("305 hookflash \"no common codec\""))
        );
        assert!(
            g729.message.contains("no codec we support"),
            "{}",
            g729.message
        );
    }

    #[test]
    fn a_reinvite_is_answered_on_our_port_or_refused_and_an_empty_one_gets_our_offer_again() {
        let ip = IpAddr::from(LOCAL);
        let ReinviteAnswer::Answer { answer: ours, .. } = answer_reinvite(
            &offer_sdp("sendrecv", "0"),
            None,
            &[],
            ip,
            Policy::Off,
            &stand_in_keys(),
        ) else {
            panic!()
        };
        let local = AudioDescription {
            port: 30000,
            ..ours
        };
        match answer_reinvite(
            &offer_sdp("sendonly", "0 101"),
            Some(&local),
            &[],
            ip,
            Policy::Off,
            &stand_in_keys(),
        ) {
            ReinviteAnswer::Answer { answer, negotiated } => {
                assert_eq!(answer.port, 30000, "the port stays ours");
                assert_eq!(
                    answer.direction,
                    Direction::RecvOnly,
                    "the far end holds: we only receive"
                );
                assert_eq!(negotiated.direction, Direction::RecvOnly);
                assert_eq!(negotiated.remote.port(), 40000);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            answer_reinvite("", Some(&local), &[], ip, Policy::Off, &stand_in_keys()),
            ReinviteAnswer::Reoffer(local.clone())
        );
        assert_eq!(
            answer_reinvite("", None, &[], ip, Policy::Off, &stand_in_keys()),
            ReinviteAnswer::Empty
        );
        assert_eq!(
            answer_reinvite(
                "not sdp",
                Some(&local),
                &[],
                ip,
                Policy::Off,
                &stand_in_keys()
            ),
            ReinviteAnswer::Status(400)
        );
        assert_eq!(
            answer_reinvite(
                &offer_sdp("sendrecv", "8"),
                Some(&local),
                &[CodecName::Pcmu],
                ip,
                Policy::Off,
                &stand_in_keys()
            ),
            ReinviteAnswer::Status(488)
        );
    }

    #[test]
    fn holding_turns_our_direction_down_and_the_answer_to_a_sending_offer_tells_a_remote_hold() {
        let ip = IpAddr::from(LOCAL);
        let ReinviteAnswer::Answer { answer, negotiated } = answer_reinvite(
            &offer_sdp("sendrecv", "0 101"),
            None,
            &[],
            ip,
            Policy::Off,
            &stand_in_keys(),
        ) else {
            panic!()
        };
        let (a, n) = held(answer.clone(), negotiated.clone(), Direction::SendOnly);
        assert_eq!(
            (a.direction, n.direction),
            (Direction::SendOnly, Direction::SendOnly)
        );
        let resume = direction_offer(&negotiated, &answer, Direction::SendRecv, ip);
        assert_eq!(
            resume.formats.len(),
            2,
            "the negotiated codec and DTMF only"
        );
        assert_eq!(resume.port, answer.port);
        let answered =
            accept_answer(&resume, &offer_sdp("recvonly", "0 101"), Policy::Off).unwrap();
        assert_eq!(remote_holds(Direction::SendRecv, &answered), Some(false));
        let answered =
            accept_answer(&resume, &offer_sdp("inactive", "0 101"), Policy::Off).unwrap();
        assert_eq!(remote_holds(Direction::SendRecv, &answered), Some(true));
        assert_eq!(remote_holds(Direction::Inactive, &answered), None);
        assert!(accept_answer(&resume, "garbage", Policy::Off).is_err());
    }
}
