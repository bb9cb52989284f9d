//! The `Phone` handle: commands in, `PhoneEvent`s out. Cheap to clone; every clone drives
//! the same engine.

use crate::api::*;
use crate::engine::Engine;
use std::sync::Arc;
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct Phone {
    engine: Arc<Engine>,
    events: broadcast::Sender<PhoneEvent>,
}

impl Phone {
    /// Binds the SIP transport and starts the engine. Does not register yet.
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
                    let found = tokio::task::spawn_blocking(move || hookflash_store::get_password(&aor))
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
        let engine = Engine::start(config, passwords, warnings, events.clone()).await?;
        Ok(Phone { engine, events })
    }

    /// Every event from now on, in order.
    pub fn subscribe(&self) -> broadcast::Receiver<PhoneEvent> {
        self.events.subscribe()
    }
    /// Registers and waits for the first outcome; keeps refreshing in the background
    /// (and retries with back-off after failures that are worth retrying).
    /// Returns the granted expiry in seconds.
    pub async fn register(&self) -> Result<u32, PhoneError> {
        self.engine.register().await
    }
    /// Un-registers (expires=0) and waits for the answer.
    pub async fn unregister(&self) -> Result<(), PhoneError> {
        self.engine.unregister().await
    }
    /// Whether the account is configured to register.
    pub fn registers(&self) -> bool {
        self.engine.registers()
    }
    /// Where sound cards opened for this phone report going away or coming back (as warnings
    /// on this phone's events): give it to what opens devices for it (the ringer).
    pub fn device_notices(&self) -> hookflash_media::DeviceNotices {
        self.engine.device_notices()
    }

    /// Every account with its registration; the first is where calls go out from by default.
    pub fn accounts(&self) -> Vec<AccountStatus> {
        self.engine.accounts()
    }

    pub fn registration(&self) -> RegistrationState {
        self.engine.registration_state()
    }
    /// Problems met while starting that did not stop the phone (e.g. an unreadable history
    /// file, kept aside while a new one started), as sentences for the user. Front ends show
    /// them once: they happened before anyone could `subscribe`.
    pub fn start_warnings(&self) -> Vec<String> {
        self.engine.start_warnings()
    }
    /// The local SIP address (UDP) this phone listens on.
    pub fn local_sip_addr(&self) -> std::net::SocketAddr {
        self.engine.local_sip_addr()
    }
    /// Starts an outgoing call to a SIP URI, `user@host`, or a bare number/extension
    /// (completed with the account's domain). Returns once the INVITE is sent.
    pub async fn dial(&self, target: &str, opts: CallOptions) -> Result<CallId, PhoneError> {
        self.engine.dial(target, opts).await
    }
    pub async fn answer(&self, id: CallId, opts: CallOptions) -> Result<(), PhoneError> {
        self.engine.answer(id, opts).await
    }
    /// Rejects a ringing incoming call: 486 (busy), 603 (decline) or 480 (unavailable).
    pub async fn reject(&self, id: CallId, status: u16) -> Result<(), PhoneError> {
        self.engine.reject(id, status).await
    }
    /// CANCEL before answer, BYE after; declines (603) a call still ringing here.
    pub async fn hangup(&self, id: CallId) -> Result<(), PhoneError> {
        self.engine.hangup(id).await
    }
    /// RFC 4733 telephone-events, one per digit (0-9 * # A-D).
    pub async fn send_dtmf(&self, id: CallId, digits: &str) -> Result<(), PhoneError> {
        self.engine.send_dtmf(id, digits).await
    }
    pub async fn set_mute(&self, id: CallId, muted: bool) -> Result<(), PhoneError> {
        self.engine.set_mute(id, muted)
    }
    /// Parks a connected call: holds it (re-INVITE a=sendonly, or a=inactive if the peer holds
    /// us) and streams music on hold to it. If it was the active call, none is active after.
    pub async fn park(&self, id: CallId) -> Result<(), PhoneError> {
        self.engine.park(id)
    }
    /// Makes this connected (parked or held) call the active one, parking the active call
    /// first, in one step: the microphone never reaches two calls. Resuming = switch_to.
    pub async fn switch_to(&self, id: CallId) -> Result<(), PhoneError> {
        self.engine.switch_to(id)
    }
    /// Music on hold for calls parked from now on: `None` = the generated loop, or a WAV file
    /// (any rate, mono or stereo; looped). An unreadable file is refused with the reason.
    pub fn set_hold_music(&self, wav: Option<std::path::PathBuf>) -> Result<(), PhoneError> {
        self.engine.set_hold_music(wav)
    }
    /// After a call has been parked this long, remind the user once (a `Warning` and a
    /// `CallUpdated`). `None` (the default) = never.
    pub fn set_park_recall(&self, after: Option<std::time::Duration>) {
        self.engine.set_park_recall(after)
    }
    /// Echo cancellation, noise suppression and gain control on the microphone, for every call
    /// (ongoing ones from the next 10 ms). All on by default.
    pub fn set_voice_processing(&self, v: VoiceProcessing) {
        self.engine.set_voice_processing(v)
    }
    /// Applies what a profile says about the running phone — routing rules, dialling plan, voice
    /// processing — the same way for every front end (the account itself is `Phone::start`'s).
    /// Validated first: nothing changes if any part is wrong.
    pub fn apply_profile(&self, profile: &Profile) -> Result<(), PhoneError> {
        let invalid = |detail: String| PhoneError::InvalidInput { what: "profile".into(), detail };
        profile.routing.validate().map_err(|e| invalid(e.to_string()))?;
        profile.dialling.validate().map_err(|problems| invalid(format!("dialling: {}", problems.join("; "))))?;
        self.set_routing(profile.routing.clone()).map_err(|e| invalid(e.to_string()))?;
        self.set_dialling(profile.dialling.clone())?;
        self.set_voice_processing(profile.voice_processing);
        Ok(())
    }
    /// The presence and do-not-disturb switch that routing rules see from now on (the next
    /// incoming call); announced as `PhoneEvent::Availability`.
    pub fn set_availability(&self, availability: Availability) {
        self.engine.set_availability(availability)
    }
    pub fn availability(&self) -> Availability {
        self.engine.availability()
    }
    /// Replaces the routing rules for incoming calls. Validated first: if any rule or preset
    /// is wrong nothing changes and the error names each problem (by rule number).
    pub fn set_routing(&self, settings: crate::routing::RoutingSettings) -> Result<(), crate::routing::InvalidRouting> {
        self.engine.set_routing(&settings)
    }
    /// Sends a ringing incoming call to `target` (voicemail, a colleague: number, extension or
    /// SIP URI) with 302 Moved Temporarily; the history row says so.
    pub async fn forward(&self, id: CallId, target: &str) -> Result<(), PhoneError> {
        self.engine.forward(id, target).await
    }
    /// The dialling plan for `dial` (default country, outside-line prefix, extensions).
    pub fn set_dialling(&self, settings: crate::dialling::DiallingSettings) -> Result<(), PhoneError> {
        self.engine.set_dialling(settings)
    }
    /// Audio (and codecs) for calls the engine answers by itself (auto-answer rules).
    pub fn set_call_defaults(&self, opts: CallOptions) {
        self.engine.set_call_defaults(opts)
    }
    /// Parks a connected call on a server park orbit slot (`[account.shared_park]`): blind
    /// transfer (REFER) of the remote party to the slot. Returns when the REFER is answered;
    /// the call then ends "parked on <slot>", or, if the transfer fails, stays here parked
    /// locally and a `Warning` says why.
    pub async fn park_on_orbit(&self, id: CallId, slot: &str) -> Result<(), PhoneError> {
        self.engine.park_on_orbit(id, slot).await
    }
    /// Retrieves the call parked on an orbit slot: a normal call to the slot's URI.
    pub async fn retrieve(&self, slot: &str, opts: CallOptions) -> Result<CallId, PhoneError> {
        self.engine.retrieve_from_orbit(slot, opts).await
    }
    /// The account's orbit slots as the server last described them (empty without orbits);
    /// changes come as `PhoneEvent::ParkSlots`.
    pub fn park_slots(&self) -> Vec<ParkSlot> {
        self.engine.park_slots()
    }
    pub fn calls(&self) -> Vec<CallInfo> {
        self.engine.calls()
    }
    pub fn history(&self, limit: usize) -> Result<Vec<HistoryEntry>, PhoneError> {
        self.engine.history(limit)
    }
    /// Hangs up every call and un-registers.
    pub async fn shutdown(&self) {
        self.engine.shutdown().await
    }
}
