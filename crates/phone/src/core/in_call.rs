//! A call in progress: its media starting and changing, re-INVITEs both ways (the far end's
//! answered from our last SDP and the switchboard's hold state; ours for hold/resume with
//! their outcome fed back to the switchboard), DTMF, mute, and the dialog ending.

use super::call::{self, AfterStart, MediaState, Waiting};
use super::io::*;
use super::offer_answer::{self, ReinviteAnswer};
use super::phone::PhoneCore;
use super::switchboard::{self, ReinviteOutcome};
use crate::api::*;
use crate::codecs;
use hookflash_media::stream::{
    DtlsParams, DtlsRole, Fingerprint as MediaFingerprint, IceParams, SrtpKeys, SrtpSuite,
};
use hookflash_media::{MediaDirection, StreamParams};
use hookflash_sip::dialog_events::Ended;
use hookflash_sip::invite::Answer;
use hookflash_sip::sdes::{Keys, Suite};
use hookflash_sip::sdp::{Direction as SdpDirection, Negotiated};
use hookflash_sip::{dtls_srtp, ice};

fn media_direction(d: SdpDirection) -> MediaDirection {
    match d {
        SdpDirection::SendRecv => MediaDirection::SendRecv,
        SdpDirection::SendOnly => MediaDirection::SendOnly,
        SdpDirection::RecvOnly => MediaDirection::RecvOnly,
        SdpDirection::Inactive => MediaDirection::Inactive,
    }
}

impl PhoneCore {
    /// Starts the call's media for what was negotiated, or updates the running media; `then`
    /// is what the running audio completes. Err: the codec cannot be used.
    pub(super) fn start_media(
        &mut self,
        id: CallId,
        n: Negotiated,
        then: AfterStart,
        now: i64,
    ) -> Result<(), String> {
        let Some(codec) = codecs::from_format(&n.codec) else {
            return Err(format!(
                "negotiated codec {} is not supported",
                n.codec.name
            ));
        };
        let Some(c) = self.calls.get_mut(&id) else {
            return Err("call is gone".into());
        };
        let params = StreamParams {
            remote_rtp: n.remote,
            remote_rtcp: n.remote_rtcp,
            codec,
            payload_type: n.codec.payload_type,
            telephone_event_pt: n.telephone_event.as_ref().map(|t| t.payload_type),
            ptime_ms: n.ptime,
            direction: media_direction(n.direction),
            srtp: n.srtp.as_ref().map(media_keys),
            dtls: n.dtls.as_ref().map(media_dtls),
            ice: n.ice.as_ref().map(media_ice),
        };
        c.info.encrypted = n.srtp.is_some() || n.dtls.is_some();
        c.negotiated = Some(n);
        c.info.codec = Some(codecs::codec_name(codec));
        match c.media {
            MediaState::Off => {
                c.media = MediaState::Starting;
                c.after_start = then;
                let (audio_in, audio_out, muted) = (
                    c.opts.audio_in.clone(),
                    c.opts.audio_out.clone(),
                    c.info.muted,
                );
                self.media(MediaOutput::Start {
                    id,
                    params,
                    audio_in,
                    audio_out,
                    muted,
                });
            }
            MediaState::Starting => {
                if then != AfterStart::Nothing {
                    c.after_start = then;
                }
                self.media(MediaOutput::Update { id, params });
            }
            MediaState::Running => {
                self.media(MediaOutput::Update { id, params });
                self.media_running(id, then, now);
            }
        }
        Ok(())
    }

    pub(super) fn on_media_started(&mut self, id: CallId, result: Result<(), String>, now: i64) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        if c.media != MediaState::Starting {
            return;
        }
        let then = std::mem::replace(&mut c.after_start, AfterStart::Nothing);
        match result {
            Ok(()) => {
                c.media = MediaState::Running;
                self.media_running(id, then, now);
            }
            Err(message) => {
                c.media = MediaState::Off;
                match then {
                    AfterStart::Nothing => self.emit(PhoneEvent::Warning { message }),
                    AfterStart::Connected => {
                        self.hangup_with(id, EndReason::Error { message }, now)
                    }
                    AfterStart::Answered => {
                        let waiting = c.waiting.take();
                        self.hangup_with(
                            id,
                            EndReason::Error {
                                message: message.clone(),
                            },
                            now,
                        );
                        match waiting {
                            Some(Waiting::Answer(Some(t))) => {
                                self.reply(t, Err(PhoneError::Other(message)))
                            }
                            _ => self.emit(PhoneEvent::Warning {
                                message: format!("auto-answer of call {id} failed: {message}"),
                            }),
                        }
                    }
                }
            }
        }
    }

    /// Audio runs: an answered call is connected now.
    fn media_running(&mut self, id: CallId, then: AfterStart, now: i64) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        match then {
            AfterStart::Nothing => {}
            AfterStart::Connected => {
                if call::advance(&mut c.info, CallState::Answered, now) {
                    let actions = self.board.connected(id, now);
                    self.publish(id);
                    self.apply(actions, now);
                    self.history_progress(id, now);
                    self.referred_connected(id, now);
                }
            }
            AfterStart::Answered => {
                let ticket = match c.waiting.take() {
                    Some(Waiting::Answer(t)) => t,
                    other => {
                        c.waiting = other;
                        None
                    }
                };
                if call::advance(&mut c.info, CallState::Answered, now) {
                    self.publish(id);
                    self.history_progress(id, now);
                }
                if let Some(t) = ticket {
                    self.reply(t, Ok(Done::Ok));
                }
            }
        }
    }

    /// The far end's re-INVITE.
    pub(super) fn on_reinvite(&mut self, sip_call_id: &str, body: &str, key: SipKey, now: i64) {
        let Some(id) = self.by_sip_call_id(sip_call_id) else {
            return self.sip(SipOutput::Respond {
                key,
                status: 481,
                sdp: None,
            });
        };
        let Some(c) = self.calls.get(&id) else { return };
        let (local_ip, policy) = (
            self.accounts[c.account].local_ip,
            self.accounts[c.account].srtp,
        );
        // A call gets its key with its socket; one without a socket has no media to encrypt yet.
        let keys = c.keys.clone().unwrap_or_else(offer_answer::stand_in_keys);
        match offer_answer::answer_reinvite(
            body,
            c.local_sdp.as_ref(),
            &c.opts.codecs,
            local_ip,
            policy,
            &keys,
        ) {
            ReinviteAnswer::Reoffer(local) => {
                let sdp = self.next_sdp(id, &local);
                self.sip(SipOutput::Respond {
                    key,
                    status: 200,
                    sdp: Some(sdp),
                });
            }
            ReinviteAnswer::Empty => self.sip(SipOutput::Respond {
                key,
                status: 200,
                sdp: None,
            }),
            ReinviteAnswer::Status(status) => self.sip(SipOutput::Respond {
                key,
                status,
                sdp: None,
            }),
            ReinviteAnswer::Answer { answer, negotiated } => {
                let (hold, actions) = match self.board.remote_offer(id, negotiated.direction) {
                    Ok(x) => x,
                    // Our own re-INVITE is in flight: glare (RFC 3261 14.2).
                    Err(()) => {
                        return self.sip(SipOutput::Respond {
                            key,
                            status: 491,
                            sdp: None,
                        })
                    }
                };
                let ours = switchboard::answer_direction(negotiated.direction, hold);
                let (answer, negotiated) = offer_answer::held(answer, negotiated, ours);
                let sdp = self.next_sdp(id, &answer);
                self.sip(SipOutput::Respond {
                    key,
                    status: 200,
                    sdp: Some(sdp),
                });
                if let Err(message) = self.start_media(id, negotiated, AfterStart::Nothing, now) {
                    self.emit(PhoneEvent::Warning { message });
                }
                self.apply(actions, now);
            }
        }
    }

    /// Our hold/resume re-INVITE (a switchboard action).
    pub(super) fn send_reinvite(&mut self, id: CallId, direction: SdpDirection, now: i64) {
        let found = self
            .calls
            .get(&id)
            .and_then(|c| Some((c.negotiated.clone()?, c.local_sdp.clone()?, c.account)));
        let Some((neg, local, account)) = found else {
            let outcome = ReinviteOutcome::Refused {
                reason: "the call has no audio yet".into(),
            };
            let actions = self.board.reinvite_done(id, outcome, now);
            return self.apply(actions, now);
        };
        let offer =
            offer_answer::direction_offer(&neg, &local, direction, self.accounts[account].local_ip);
        let sdp = self.next_sdp(id, &offer);
        if let Some(c) = self.calls.get_mut(&id) {
            c.reinvite = Some((direction, offer, local));
        }
        self.sip(SipOutput::Reinvite { id, sdp });
    }

    /// The answer to our re-INVITE.
    pub(super) fn on_reinvite_done(
        &mut self,
        id: CallId,
        result: Result<Option<Answer>, String>,
        now: i64,
    ) {
        let Some((direction, offer, previous)) =
            self.calls.get_mut(&id).and_then(|c| c.reinvite.take())
        else {
            return;
        };
        let restore = |core: &mut PhoneCore| {
            // The offer was refused: our description stays the last accepted one.
            if let Some(c) = core.calls.get_mut(&id) {
                c.local_sdp = Some(previous.clone());
            }
        };
        let outcome = match result {
            Ok(Some(answer)) if (200..300).contains(&answer.status) => {
                let mut remote_hold = None;
                let policy = self
                    .calls
                    .get(&id)
                    .map(|c| self.accounts[c.account].srtp)
                    .unwrap_or_default();
                match offer_answer::accept_answer(&offer, &answer.body, policy) {
                    Ok(n) => {
                        // Offering to send lets the answer tell whether the peer wants our audio.
                        remote_hold = offer_answer::remote_holds(direction, &n);
                        if let Err(message) = self.start_media(id, n, AfterStart::Nothing, now) {
                            self.emit(PhoneEvent::Warning { message });
                        }
                    }
                    Err(e) => self.emit(PhoneEvent::Warning {
                        message: format!("unusable SDP in the answer to our re-INVITE: {e}"),
                    }),
                }
                ReinviteOutcome::Accepted { remote_hold }
            }
            Ok(Some(answer)) if answer.status == 491 => ReinviteOutcome::Glare {
                roll: (self.random() % 1001) as u16,
            },
            Ok(Some(answer)) => {
                restore(self);
                if answer.status == 481 || answer.status == 408 {
                    // RFC 3261 12.2.1.2: the dialog is gone.
                    let message = format!(
                        "the other side lost the call ({} {})",
                        answer.status, answer.reason
                    );
                    return self.hangup_with(id, EndReason::Error { message }, now);
                }
                ReinviteOutcome::Refused {
                    reason: format!("{}", answer.status),
                }
            }
            Ok(None) => {
                restore(self);
                ReinviteOutcome::Refused {
                    reason: "the call is not established".into(),
                }
            }
            Err(e) => ReinviteOutcome::Refused { reason: e },
        };
        let actions = self.board.reinvite_done(id, outcome, now);
        self.apply(actions, now);
        if self.is_blind_transfer(id) {
            // The hold before a transfer is answered: its REFER may go now.
            self.refer_when_held(id);
        }
    }

    /// The dialog is over (BYE, CANCEL, time-out) and we did not end it.
    pub(super) fn on_dialog_ended(&mut self, sip_call_id: &str, why: Ended, now: i64) {
        let Some(id) = self.by_sip_call_id(sip_call_id) else {
            return;
        };
        let Some(c) = self.calls.get(&id) else { return };
        if c.local_end {
            return; // our own hang-up path wrote the end
        }
        let end = match why {
            Ended::Bye => EndReason::RemoteHangup,
            Ended::Cancelled => EndReason::Cancelled,
            Ended::TimedOut if c.info.state == CallState::Answered => EndReason::Error {
                message: "the other side stopped answering".into(),
            },
            // An outgoing INVITE's time-out and final failure responses come with its outcome,
            // with their exact status.
            _ => return,
        };
        self.end_call(id, end, now);
    }

    pub(super) fn send_dtmf(&mut self, id: CallId, digits: &str) -> Result<(), PhoneError> {
        if let Some(d) = digits
            .chars()
            .find(|d| !matches!(d, '0'..='9' | '*' | '#' | 'A'..='D' | 'a'..='d'))
        {
            return Err(PhoneError::InvalidInput {
                what: "DTMF digit".into(),
                detail: format!("'{d}' (use 0-9, *, #, A-D)"),
            });
        }
        let Some(c) = self.calls.get(&id) else {
            return Err(PhoneError::NoSuchCall(id));
        };
        if c.media == MediaState::Off {
            return Err(PhoneError::Other(format!("call {id} has no audio yet")));
        }
        self.media(MediaOutput::SendDtmf {
            id,
            digits: digits.to_ascii_uppercase(),
        });
        Ok(())
    }

    pub(super) fn set_mute(&mut self, id: CallId, muted: bool) -> Result<(), PhoneError> {
        let Some(c) = self.calls.get_mut(&id) else {
            return Err(PhoneError::NoSuchCall(id));
        };
        c.info.muted = muted;
        self.media(MediaOutput::Mute { id, muted });
        self.publish(id);
        Ok(())
    }
}

/// The SDES keys of a call as the media transport takes them.
fn media_keys(k: &Keys) -> SrtpKeys {
    let suite = match k.suite {
        Suite::AesCm128HmacSha1_80 => SrtpSuite::AesCm128HmacSha1_80,
        Suite::AesCm128HmacSha1_32 => SrtpSuite::AesCm128HmacSha1_32,
    };
    SrtpKeys {
        suite,
        local: k.local.0,
        remote: k.remote.0,
    }
}

/// The media crate's view of what DTLS-SRTP offer/answer agreed.
fn media_dtls(a: &dtls_srtp::Agreed) -> DtlsParams {
    DtlsParams {
        role: match a.role {
            dtls_srtp::Role::Client => DtlsRole::Client,
            dtls_srtp::Role::Server => DtlsRole::Server,
        },
        remote_fingerprints: a
            .remote_fingerprints
            .iter()
            .map(|f| MediaFingerprint {
                hash: f.hash.clone(),
                value: f.value.clone(),
            })
            .collect(),
    }
}

fn media_ice(a: &ice::Agreed) -> IceParams {
    IceParams {
        local_ufrag: a.local.ufrag.clone(),
        local_pwd: a.local.pwd.clone(),
        remote_ufrag: a.remote.ufrag.clone(),
        remote_pwd: a.remote.pwd.clone(),
        local_candidates: a
            .local_candidates
            .iter()
            .map(ice::Candidate::to_attribute)
            .collect(),
        remote_candidates: a
            .remote_candidates
            .iter()
            .map(ice::Candidate::to_attribute)
            .collect(),
        controlling: a.controlling,
    }
}
