//! The `Phone` handle: commands in, `PhoneEvent`s out. Cheap to clone; every clone drives
//! the same phone: commands go to the driver task (`driver/`), which runs them through the
//! core and replies; what can be read at any moment comes from the snapshot it publishes.

use crate::api::*;
use crate::core::io::{Command, Done};
use crate::driver::Handle;
use std::sync::Arc;
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct Phone {
    driver: Arc<Handle>,
    events: broadcast::Sender<PhoneEvent>,
}

fn call_id(done: Done) -> Result<CallId, PhoneError> {
    match done {
        Done::Call(id) => Ok(id),
        other => Err(PhoneError::Other(format!("unexpected reply {other:?}"))),
    }
}

impl Phone {
    /// Binds the SIP transport and starts the driver. Does not register yet.
    /// A typed or environment password (`Plain`) is every account's; the keyring holds one per
    /// account AOR.
    pub async fn start(config: PhoneConfig, password: PasswordSource) -> Result<Phone, PhoneError> {
        config.validate()?;
        let mut warnings = Vec::new();
        let mut passwords = Vec::new();
        for account in config.accounts() {
            passwords.push(match &password {
                PasswordSource::Plain(p) => Some(p.clone()),
                PasswordSource::None => None,
                PasswordSource::Keyring => {
                    // The keyring may block (D-Bus, an unlock prompt): keep it off the async threads.
                    let aor = account.aor.clone();
                    let found =
                        tokio::task::spawn_blocking(move || hookflash_store::get_password(&aor))
                            .await
                            .map_err(|e| PhoneError::Other(e.to_string()))?;
                    match found {
                        Ok(password) => password,
                        // Calls that need no password still work; a registering account is told
                        // why its registrar will refuse it.
                        Err(e) => {
                            if account.register {
                                warnings.push(format!("no password for {}: {e}", account.aor));
                            }
                            None
                        }
                    }
                }
            });
        }
        let (events, _) = broadcast::channel(4096);
        let driver = crate::driver::start(config, passwords, warnings, events.clone()).await?;
        Ok(Phone {
            driver: Arc::new(driver),
            events,
        })
    }

    /// Every event from now on, in order.
    pub fn subscribe(&self) -> broadcast::Receiver<PhoneEvent> {
        self.events.subscribe()
    }
    /// Registers and waits for the first outcome; keeps refreshing in the background
    /// (and retries with back-off after failures that are worth retrying).
    /// Returns the granted expiry in seconds.
    pub async fn register(&self) -> Result<u32, PhoneError> {
        match self.driver.ask(Command::Register).await? {
            Done::Expires(e) => Ok(e),
            _ => Ok(0),
        }
    }
    /// Sends OPTIONS to the (first registering) account's registrar and waits for its answer:
    /// whether it is there, how far away, where it sees us (`hookflash-cli check`).
    pub async fn probe(&self) -> Result<crate::api::ProbeResult, PhoneError> {
        match self.driver.ask(Command::Probe).await? {
            Done::Probed(p) => Ok(p),
            other => Err(PhoneError::Other(format!(
                "unexpected answer to a probe: {other:?}"
            ))),
        }
    }
    /// Asks the (first) account's STUN and TURN servers for a media socket's public and relayed
    /// addresses, as a call would, and gives the allocation back (`hookflash-cli check`). None
    /// when the account names neither.
    pub async fn probe_media_servers(&self, account: &AccountConfig) -> Option<MediaServersProbe> {
        let names = crate::core::io::IceServerNames {
            stun: account.stun_server.clone(),
            turn: account.turn.clone(),
            tls_ca_file: account.tls_ca_file.clone(),
        };
        if names.stun.is_none() && names.turn.is_none() {
            return None;
        }
        Some(
            match crate::driver::probe_servers(&names, self.local_sip_addr().ip()).await {
                Ok(g) => MediaServersProbe {
                    public: g.rtp.reflexive.map(|a| a.to_string()),
                    relayed: g.rtp.relayed.map(|a| a.to_string()),
                    problems: g.problems,
                },
                Err(e) => MediaServersProbe {
                    problems: vec![format!("no media socket: {e}")],
                    ..Default::default()
                },
            },
        )
    }
    /// Un-registers (expires=0) and waits for the answer.
    pub async fn unregister(&self) -> Result<(), PhoneError> {
        self.driver.ask(Command::Unregister).await.map(|_| ())
    }
    /// Whether the account is configured to register.
    pub fn registers(&self) -> bool {
        self.driver.snapshot().accounts.iter().any(|a| a.registers)
    }
    /// Where sound cards opened for this phone report going away or coming back (as warnings
    /// on this phone's events): give it to what opens devices for it (the ringer).
    pub fn device_notices(&self) -> hookflash_media::DeviceNotices {
        self.driver.device_notices.clone()
    }

    /// Every account with its registration; the first is where calls go out from by default.
    pub fn accounts(&self) -> Vec<AccountStatus> {
        self.driver.snapshot().accounts
    }

    pub fn registration(&self) -> RegistrationState {
        self.driver
            .snapshot()
            .accounts
            .first()
            .map(|a| a.registration.clone())
            .unwrap_or(RegistrationState::Unregistered)
    }
    /// Problems met while starting that did not stop the phone (e.g. an unreadable history
    /// file, kept aside while a new one started), as sentences for the user. Front ends show
    /// them once: they happened before anyone could `subscribe`.
    pub fn start_warnings(&self) -> Vec<String> {
        self.driver.start_warnings.clone()
    }
    /// The local SIP address (UDP) this phone listens on.
    pub fn local_sip_addr(&self) -> std::net::SocketAddr {
        self.driver.local_sip_addr
    }
    /// Starts an outgoing call to a SIP URI, `user@host`, or a bare number/extension
    /// (completed with the account's domain). Returns once the INVITE is sent.
    pub async fn dial(&self, target: &str, opts: CallOptions) -> Result<CallId, PhoneError> {
        call_id(
            self.driver
                .ask(Command::Dial {
                    target: target.to_string(),
                    opts,
                })
                .await?,
        )
    }
    pub async fn answer(&self, id: CallId, opts: CallOptions) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::Answer { id, opts })
            .await
            .map(|_| ())
    }
    /// Rejects a ringing incoming call: 486 (busy), 603 (decline) or 480 (unavailable).
    pub async fn reject(&self, id: CallId, status: u16) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::Reject { id, status })
            .await
            .map(|_| ())
    }
    /// CANCEL before answer, BYE after; declines (603) a call still ringing here.
    pub async fn hangup(&self, id: CallId) -> Result<(), PhoneError> {
        self.driver.ask(Command::Hangup { id }).await.map(|_| ())
    }
    /// RFC 4733 telephone-events, one per digit (0-9 * # A-D).
    pub async fn send_dtmf(&self, id: CallId, digits: &str) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::SendDtmf {
                id,
                digits: digits.to_string(),
            })
            .await
            .map(|_| ())
    }
    pub async fn set_mute(&self, id: CallId, muted: bool) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::SetMute { id, muted })
            .await
            .map(|_| ())
    }
    /// Parks a connected call: holds it (re-INVITE a=sendonly, or a=inactive if the peer holds
    /// us) and streams music on hold to it. If it was the active call, none is active after.
    pub async fn park(&self, id: CallId) -> Result<(), PhoneError> {
        self.driver.ask(Command::Park { id }).await.map(|_| ())
    }
    /// Makes this connected (parked or held) call the active one, parking the active call
    /// first, in one step: the microphone never reaches two calls. Resuming = switch_to.
    pub async fn switch_to(&self, id: CallId) -> Result<(), PhoneError> {
        self.driver.ask(Command::SwitchTo { id }).await.map(|_| ())
    }
    /// Music on hold for calls parked from now on: `None` = the generated loop, or a WAV file
    /// (any rate, mono or stereo; looped). An unreadable file is refused with the reason.
    pub fn set_hold_music(&self, wav: Option<std::path::PathBuf>) -> Result<(), PhoneError> {
        let music = match wav {
            None => hookflash_media::HoldMusic::Generated,
            Some(p) => {
                let m = hookflash_media::HoldMusic::Wav(p);
                hookflash_media::hold_music::HoldMusicSource::open(&m, 8000).map_err(|e| {
                    PhoneError::InvalidInput {
                        what: "hold music".into(),
                        detail: e.to_string(),
                    }
                })?;
                m
            }
        };
        self.driver.tell(Command::SetHoldMusic(music));
        Ok(())
    }
    /// After a call has been parked this long, remind the user once (a `Warning` and a
    /// `CallUpdated`). `None` (the default) = never.
    pub fn set_park_recall(&self, after: Option<std::time::Duration>) {
        self.driver.tell(Command::SetParkRecallMs(
            after.map(|d| d.as_millis() as i64),
        ))
    }
    /// Echo cancellation, noise suppression and gain control on the microphone, for every call
    /// (ongoing ones from the next 10 ms). All on by default.
    pub fn set_voice_processing(&self, v: VoiceProcessing) {
        self.driver.tell(Command::SetVoiceProcessing(v))
    }
    /// Applies what a profile says about the running phone — routing rules, dialling plan, voice
    /// processing — the same way for every front end (the account itself is `Phone::start`'s).
    /// Validated first: nothing changes if any part is wrong.
    pub fn apply_profile(&self, profile: &Profile) -> Result<(), PhoneError> {
        let invalid = |detail: String| PhoneError::InvalidInput {
            what: "profile".into(),
            detail,
        };
        profile
            .routing
            .validate()
            .map_err(|e| invalid(e.to_string()))?;
        profile
            .dialling
            .validate()
            .map_err(|problems| invalid(format!("dialling: {}", problems.join("; "))))?;
        self.set_routing(profile.routing.clone())
            .map_err(|e| invalid(e.to_string()))?;
        self.set_dialling(profile.dialling.clone())?;
        self.set_voice_processing(profile.voice_processing);
        Ok(())
    }
    /// The presence and do-not-disturb switch that routing rules see from now on (the next
    /// incoming call); announced as `PhoneEvent::Availability`.
    pub fn set_availability(&self, availability: Availability) {
        self.driver.set_availability(availability)
    }
    pub fn availability(&self) -> Availability {
        self.driver.snapshot().availability
    }
    /// Replaces the routing rules for incoming calls. Validated first: if any rule or preset
    /// is wrong nothing changes and the error names each problem (by rule number).
    pub fn set_routing(
        &self,
        settings: crate::routing::RoutingSettings,
    ) -> Result<(), crate::routing::InvalidRouting> {
        settings.compile()?;
        self.driver.tell(Command::SetRouting(Box::new(settings)));
        Ok(())
    }
    /// Sends a ringing incoming call to `target` (voicemail, a colleague: number, extension or
    /// SIP URI) with 302 Moved Temporarily; the history row says so.
    pub async fn forward(&self, id: CallId, target: &str) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::Forward {
                id,
                target: target.to_string(),
            })
            .await
            .map(|_| ())
    }
    /// The dialling plan for `dial` (default country, outside-line prefix, extensions).
    pub fn set_dialling(
        &self,
        settings: crate::dialling::DiallingSettings,
    ) -> Result<(), PhoneError> {
        settings
            .validate()
            .map_err(|problems| PhoneError::InvalidInput {
                what: "dialling settings".into(),
                detail: problems.join("; "),
            })?;
        self.driver.tell(Command::SetDialling(settings));
        Ok(())
    }
    /// Audio (and codecs) for calls the phone answers by itself (auto-answer rules).
    pub fn set_call_defaults(&self, opts: CallOptions) {
        self.driver.tell(Command::SetCallDefaults(opts))
    }
    /// Parks a connected call on a server park orbit slot (`[account.shared_park]`): blind
    /// transfer (REFER) of the remote party to the slot. Returns when the REFER is answered;
    /// the call then ends "parked on <slot>", or, if the transfer fails, stays here parked
    /// locally and a `Warning` says why.
    pub async fn park_on_orbit(&self, id: CallId, slot: &str) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::ParkOnOrbit {
                id,
                slot: slot.to_string(),
            })
            .await
            .map(|_| ())
    }
    /// Blind transfer of a connected call to `target` (number, extension or SIP URI): the call
    /// is held, then its far end is asked (REFER) to call the target. Returns when the REFER is
    /// answered; progress comes as `PhoneEvent::Transfer`, and the call ends "transferred to
    /// <target>" once the far end reaches it. If it fails the call stays here, parked — or
    /// resumed with `resume_on_failure` — and the reason is given.
    pub async fn transfer(
        &self,
        id: CallId,
        target: &str,
        resume_on_failure: bool,
    ) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::Transfer {
                id,
                target: target.to_string(),
                resume_on_failure,
            })
            .await
            .map(|_| ())
    }
    /// Consults before transferring: parks call `id` (if it is the active one) and calls
    /// `target` from its account. Returns the new call's id; `complete_transfer(id, new)` then
    /// connects the two.
    pub async fn consult(
        &self,
        id: CallId,
        target: &str,
        opts: CallOptions,
    ) -> Result<CallId, PhoneError> {
        call_id(
            self.driver
                .ask(Command::Consult {
                    id,
                    target: target.to_string(),
                    opts,
                })
                .await?,
        )
    }
    /// Attended transfer: connects the far ends of connected calls `id` and `other` (the one
    /// consulted, or any other call) and leaves both. `id` is held, then its far end is asked
    /// (REFER with `Replaces`) to call `other`'s far end in the place of our call with it: no
    /// second ringing. Returns when the REFER is answered; progress comes as
    /// `PhoneEvent::Transfer`. If it fails both calls stay, `id` parked (or resumed with
    /// `resume_on_failure`).
    pub async fn complete_transfer(
        &self,
        id: CallId,
        other: CallId,
        resume_on_failure: bool,
    ) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::CompleteTransfer {
                id,
                other,
                resume_on_failure,
            })
            .await
            .map(|_| ())
    }
    /// Accepts (we call the target; the call ends "transferred" once that call connects) or
    /// declines (the far end hears 603) the far end's request to transfer call `id`, announced
    /// by `PhoneEvent::TransferRequest` on accounts with `transfer_requests = "ask"`.
    pub async fn answer_transfer_request(
        &self,
        id: CallId,
        accept: bool,
    ) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::AnswerTransferRequest { id, accept })
            .await
            .map(|_| ())
    }
    /// Merges the active call, the conference (if there is one) and calls `ids` into one local
    /// conference the user is in (at most 8 other parties, every one connected): each is
    /// resumed and hears all the others and the user. Changes come as `PhoneEvent::Conference`.
    /// Parking a party takes it aside; switching to another call parks the whole conference, and
    /// `switch_to` any of its calls (or `conference(&[])`) brings it back.
    pub async fn conference(&self, ids: &[CallId]) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::Conference { ids: ids.to_vec() })
            .await
            .map(|_| ())
    }
    /// Keeps conference party `id` (None: the user's microphone) out of the mix — nobody hears
    /// it, it still hears everyone — or lets it back in.
    pub async fn conference_mute(&self, id: Option<CallId>, muted: bool) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::ConferenceMute { id, muted })
            .await
            .map(|_| ())
    }
    /// Leaves the conference. With two other parties they are connected to each other (an
    /// attended transfer; progress as `PhoneEvent::Transfer`) and our calls end. With more the
    /// conference is mixed here, so leaving would end it: refused with that explanation, unless
    /// `end`, which hangs up every party.
    pub async fn leave_conference(&self, end: bool) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::LeaveConference { end })
            .await
            .map(|_| ())
    }
    /// Leaves the conference by handing it to party `to`: its phone is referred to each other
    /// party in turn (an attended transfer with `Replaces`, so nobody rings), then our call with
    /// it ends. Replied once its phone answered the first REFER; a party it cannot take stays in
    /// the conference here, with the reason as `PhoneEvent::Warning`.
    pub async fn hand_conference(&self, to: CallId) -> Result<(), PhoneError> {
        self.driver
            .ask(Command::HandConference { to })
            .await
            .map(|_| ())
    }
    /// Retrieves the call parked on an orbit slot: a normal call to the slot's URI.
    pub async fn retrieve(&self, slot: &str, opts: CallOptions) -> Result<CallId, PhoneError> {
        call_id(
            self.driver
                .ask(Command::Retrieve {
                    slot: slot.to_string(),
                    opts,
                })
                .await?,
        )
    }
    /// The account's orbit slots as the server last described them (empty without orbits);
    /// changes come as `PhoneEvent::ParkSlots`.
    pub fn park_slots(&self) -> Vec<ParkSlot> {
        self.driver.snapshot().park_slots
    }
    pub fn calls(&self) -> Vec<CallInfo> {
        self.driver.snapshot().calls
    }
    pub fn history(&self, limit: usize) -> Result<Vec<HistoryEntry>, PhoneError> {
        let rows = self
            .driver
            .history
            .recent(limit)
            .map_err(|e| PhoneError::Other(e.to_string()))?;
        Ok(rows
            .into_iter()
            .map(|r| HistoryEntry {
                id: r.id,
                direction: match r.direction {
                    hookflash_store::CallDirection::Incoming => Direction::Incoming,
                    hookflash_store::CallDirection::Outgoing => Direction::Outgoing,
                },
                account: r.account,
                remote_uri: r.remote_uri,
                remote_display_name: r.remote_display_name,
                started_at_ms: r.started_at_ms,
                answered_at_ms: r.answered_at_ms,
                ended_at_ms: r.ended_at_ms,
                outcome: r.outcome.as_str().to_string(),
                sip_status: r.sip_status,
                codec: r.codec,
                routing: r.routing,
                quality: r.quality,
                end_message: r.end_reason,
            })
            .collect())
    }
    /// Hangs up every call and un-registers.
    pub async fn shutdown(&self) {
        let _ = self.driver.ask(Command::Shutdown).await;
    }
}
