//! The async engine of one account: owns the SIP stack, the registration, the calls and
//! their media, and turns everything that happens into `PhoneEvent`s. The decisions about a
//! call's state and outcome are in `call.rs`, registration in `core/registration.rs` (driven by
//! `engine_registration.rs`); this file is the adapter between those and the sockets.

use crate::api::*;
use crate::core::call::{self, Outcome};
use crate::core::offer_answer::{self, ReinviteAnswer};
use crate::codecs;
use crate::dialling::DiallingSettings;
use crate::incoming_routing;
use crate::routing::{Action as RouteAction, Decision, InvalidRouting, Router, RoutingSettings};
use crate::core::switchboard::{self, Action, ReinviteOutcome, Switchboard};
use crate::core::timers::{Timer, Timers};
use hookflash_media::{
    AudioIn, AudioOut, DeviceNotices, AudioSwitch, HoldMusic, MediaDirection, MediaEvent, MediaSession, Ringback, RtpEndpoint,
    StreamParams, WeakAudioSwitch,
};
use hookflash_sip::auth::Credentials;
use hookflash_sip::dialog_events::{DialogEvent, Ended, Reply};
use hookflash_sip::incoming::{Incoming, Redirect, ServerInvite, ServerRequest};
use hookflash_sip::invite::{self as sip_invite, CallLeg, InviteOutcome, OutgoingInvite};
use hookflash_sip::registration::{RegisterParams, Registration};
use hookflash_sip::sdp::{self, AudioDescription, Direction as SdpDirection, Negotiated, SessionVersion};
use hookflash_sip::stack::{SipStack, StackConfig};
use hookflash_sip::target;
use hookflash_sip::{Request, SipError, SipUri};
use hookflash_store::{CallDirection, CallOutcome, HistoryStore, NewCallRecord};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, mpsc};

/// Park orbits on the server (REFER to a slot, dialog-event subscriptions): its own `impl Engine`.
#[path = "engine_park_orbit.rs"]
mod park_orbit;
/// The registration task: performs what `core/registration.rs` decides.
#[path = "engine_registration.rs"]
mod registration;

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A call plus the live objects behind it.
struct CallRt {
    info: CallInfo,
    /// The account the call belongs to (index into `Engine::accounts`).
    account: usize,
    sip_call_id: String,
    dialog: Option<CallLeg>,
    /// Incoming: the caller's offer. Outgoing: our offer.
    offer: Option<AudioDescription>,
    rtp: Option<RtpEndpoint>,
    media: Option<MediaSession>,
    ringback: Option<Ringback>,
    opts: CallOptions,
    /// Set when we started the hang-up, so the dialog's termination reads as ours.
    local_end: bool,
    sdp_version: u64,
    local_sdp: Option<AudioDescription>,
    negotiated: Option<Negotiated>,
    /// The phone's audio switch this call's media is plugged into (keeps it open).
    switch: Option<AudioSwitch>,
    /// Incoming, ringing with forward-on-no-answer: sends the 302 through the INVITE transaction.
    redirect: Option<Redirect>,
    /// Where a forward-on-no-answer rule sends this call when its timer fires.
    forward_to: Option<SipUri>,
    /// The call's history row, written when the call started (`HistoryStore::begin`).
    history_id: Option<i64>,
}

struct State {
    calls: HashMap<CallId, CallRt>,
    next_id: CallId,
    /// Each account's registration, as last reported.
    registrations: Vec<RegistrationState>,
    /// Which call is active, parked, held by remote; which re-INVITEs are due.
    board: Switchboard,
    /// Open audio switches (one per microphone/speaker pair in use; normally one).
    switches: Vec<WeakAudioSwitch>,
    hold_music: HoldMusic,
    /// Echo cancellation etc. on every switch (`set_voice_processing`).
    voice_processing: crate::api::VoiceProcessing,
    /// Every deadline (switchboard wake-ups, auto-answer, forward on no answer): the
    /// housekeeping task sleeps until the earliest.
    timers: Timers,
    /// The user's presence and do-not-disturb switch, as routing rules see them.
    availability: Availability,
    /// Blind transfers under way (parking on a server orbit).
    transfers: crate::core::transfer::Transfers,
}

/// One SIP identity of the phone: its address, password, servers, SIP stack, registration task
/// and park orbits.
pub(crate) struct Account {
    aor: SipUri,
    aor_text: String,
    domain: String,
    display_name: Option<String>,
    /// The account's password and the realms it is given to (every request's 401/407).
    credentials: Credentials,
    registrar: Option<SipUri>,
    /// Where out-of-dialog requests go when not straight to the target.
    outbound: Option<SipUri>,
    register_enabled: bool,
    local_ip: IpAddr,
    stack: SipStack,
    /// Requests to the account's registration task (`engine_registration.rs`).
    registration: mpsc::UnboundedSender<registration::Request>,
    /// Server park orbit slots and their dialog subscriptions (`engine_park_orbit.rs`).
    park_orbits: park_orbit::ParkOrbits,
}

impl Account {
    fn contact_uri(&self) -> SipUri {
        self.stack.contact(self.aor.user().as_deref())
    }
}

/// An account as opened, with what its tasks need.
struct Opened {
    account: Account,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    dialog_events: mpsc::UnboundedReceiver<DialogEvent>,
    registration: Registration,
    expires: u32,
    registration_rx: mpsc::UnboundedReceiver<registration::Request>,
}

pub(crate) struct Engine {
    /// Every account, each with its own SIP stack and registration; calls go out from the first
    /// unless the call names another (`CallOptions::from`). Calls of all accounts share one
    /// switchboard and one microphone/speaker.
    accounts: Vec<Account>,
    events: broadcast::Sender<PhoneEvent>,
    history: HistoryStore,
    /// What went wrong while starting that did not stop the phone (`Phone::start_warnings`).
    start_warnings: Vec<String>,
    state: Mutex<State>,
    media_tx: mpsc::UnboundedSender<(CallId, MediaEvent)>,
    /// Routing rules for incoming calls (presets, the user's rules, the defaults).
    router: Mutex<Arc<Router>>,
    /// Audio for calls the engine answers by itself (auto-answer rules).
    call_defaults: Mutex<CallOptions>,
    /// How typed numbers become request URIs.
    dialling: Mutex<DiallingSettings>,
    /// Wakes the housekeeping task when a new deadline is set.
    timers_changed: Arc<tokio::sync::Notify>,
    /// Where the sound cards this phone opens report going away or coming back: warnings on
    /// this phone's event stream (not every phone's of the process).
    device_notices: DeviceNotices,
}

/// How often live quality (`PhoneEvent::CallQuality`) is reported for connected calls.
const QUALITY_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// How often calls in progress tell the history they are still going (a row silent for
/// `hookflash_store::STALE_AFTER_MS` counts as interrupted).
const HISTORY_ALIVE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// How often the engine's housekeeping runs (call-waiting tone on/off follows within this).
const TICK: std::time::Duration = std::time::Duration::from_millis(250);

fn processing_settings(v: crate::api::VoiceProcessing) -> hookflash_media::ProcessingSettings {
    hookflash_media::ProcessingSettings {
        echo_cancellation: v.echo_cancellation,
        noise_suppression: v.noise_suppression,
        gain_control: v.gain_control,
    }
}

fn media_endpoint_in(e: &AudioEndpoint) -> AudioIn {
    match e {
        AudioEndpoint::Null => AudioIn::Null,
        AudioEndpoint::Wav(p) => AudioIn::Wav(p.clone()),
        AudioEndpoint::Device(n) => AudioIn::Device(n.clone()),
        AudioEndpoint::Default => AudioIn::Device(None),
    }
}

fn media_endpoint_out(e: &AudioEndpoint) -> AudioOut {
    match e {
        AudioEndpoint::Null => AudioOut::Null,
        AudioEndpoint::Wav(p) => AudioOut::Wav(p.clone()),
        AudioEndpoint::Device(n) => AudioOut::Device(n.clone()),
        AudioEndpoint::Default => AudioOut::Device(None),
    }
}

fn sip_err(e: SipError) -> PhoneError {
    match e {
        SipError::Refused { status, reason, server } => PhoneError::RegistrationRefused { status, reason, server },
        SipError::Unreachable { server, detail } => PhoneError::Unreachable { server, detail },
        SipError::Tls { server, detail } => {
            PhoneError::Unreachable { server, detail: format!("TLS failed: {detail}") }
        }
        SipError::Invalid { what, value, detail } => PhoneError::InvalidInput { what, detail: format!("'{value}': {detail}") },
        other => PhoneError::Other(other.to_string()),
    }
}

/// The local address that routes towards `host` (no packet is sent).
fn local_ip_towards(host: &str) -> Option<IpAddr> {
    use std::net::ToSocketAddrs;
    let target = if host.parse::<SocketAddr>().is_ok() {
        host.to_string()
    } else if let Ok(ip) = host.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>() {
        SocketAddr::new(ip, 5060).to_string()
    } else if host.contains(':') {
        host.to_string() // name:port
    } else {
        format!("{host}:5060")
    };
    let addr = target.to_socket_addrs().ok()?.next()?;
    let bind: SocketAddr = if addr.is_ipv4() { "0.0.0.0:0".parse().ok()? } else { "[::]:0".parse().ok()? };
    let s = std::net::UdpSocket::bind(bind).ok()?;
    s.connect(addr).ok()?;
    Some(s.local_addr().ok()?.ip())
}

impl Engine {
    /// Opens one account: parses its addresses, binds its SIP stack, prepares its registration.
    async fn open_account(acc: &AccountConfig, password: Option<String>, user_agent: &str) -> Result<Opened, PhoneError> {
        let aor = target::parse_uri("address of record", &acc.aor).map_err(sip_err)?;
        let aor_user = target::user_of(&aor).ok_or_else(|| PhoneError::InvalidInput {
            what: "address of record".into(),
            detail: format!("'{}' has no user part (expected sip:user@host)", acc.aor),
        })?;
        let domain = target::host_of(&aor);
        let registrar = match &acc.registrar {
            Some(r) => {
                let r = if r.starts_with("sip:") || r.starts_with("sips:") { r.clone() } else { format!("sip:{r}") };
                target::parse_uri("registrar", &r).map_err(sip_err)?
            }
            None => aor.server(),
        };
        let registrar = Some(match acc.transport {
            Some(Transport::Tcp) => registrar.with_transport(hookflash_sip::Transport::Tcp),
            Some(Transport::Tls) => registrar.with_transport(hookflash_sip::Transport::Tls),
            _ => registrar,
        });
        let outbound = match &acc.outbound_proxy {
            Some(p) => {
                let p = if p.starts_with("sip:") { p.clone() } else { format!("sip:{p}") };
                let u = target::parse_uri("outbound proxy", &p).map_err(sip_err)?;
                u.check_destination("outbound proxy").map_err(sip_err)?;
                Some(u)
            }
            None if acc.register => registrar.clone().filter(|r| r.check_destination("registrar").is_ok()),
            None => None,
        };
        let route_host = registrar.as_ref().map(target::host_of).unwrap_or_else(|| domain.clone());
        let listen = match acc.listen {
            Some(l) if !l.ip().is_unspecified() => l,
            other => {
                let port = other.map(|l| l.port()).unwrap_or(0);
                let ip = local_ip_towards(&route_host).unwrap_or(IpAddr::from([127, 0, 0, 1]));
                SocketAddr::new(ip, port)
            }
        };
        let tls_ca_pem = match &acc.tls_ca_file {
            Some(p) => Some(std::fs::read(p).map_err(|e| PhoneError::InvalidInput {
                what: "TLS CA file".into(),
                detail: format!("cannot read {}: {e}", p.display()),
            })?),
            None => None,
        };
        let (stack, incoming, dialog_events) =
            SipStack::start(StackConfig { listen, tls_ca_pem, user_agent: user_agent.to_string() }).await.map_err(sip_err)?;
        let auth_user = acc.auth_user.clone().unwrap_or(aor_user);
        // The realms the password is given to: the account's own hosts (and, learned at
        // registration, its registrar's realm), or only the one the account names.
        let mut home = vec![domain.clone()];
        home.extend(registrar.as_ref().map(target::host_of));
        home.extend(acc.outbound_proxy.clone());
        let credentials = Credentials::new(&auth_user, password, acc.realm.clone(), &home);
        let reg = Registration::new(RegisterParams {
            aor: aor.clone(),
            registrar: registrar.clone().unwrap_or_else(|| aor.clone()),
            credentials: credentials.clone(),
            display_name: acc.display_name.clone(),
        });
        let park_orbits = park_orbit::ParkOrbits::new(acc, &domain)?;
        let (registration_tx, registration_rx) = mpsc::unbounded_channel();
        Ok(Opened {
            account: Account {
                aor_text: acc.aor.clone(),
                aor,
                domain,
                display_name: acc.display_name.clone(),
                credentials,
                registrar,
                outbound,
                register_enabled: acc.register,
                local_ip: listen.ip(),
                stack,
                registration: registration_tx,
                park_orbits,
            },
            incoming,
            dialog_events,
            registration: reg,
            expires: acc.expires.max(1),
            registration_rx,
        })
    }

    /// `passwords`: one per account of `config.accounts()`, in order.
    pub(crate) async fn start(
        config: PhoneConfig,
        passwords: Vec<Option<String>>,
        mut start_warnings: Vec<String>,
        events: broadcast::Sender<PhoneEvent>,
    ) -> Result<Arc<Engine>, PhoneError> {
        let user_agent = config.user_agent.clone().unwrap_or_else(|| format!("Hookflash/{}", env!("CARGO_PKG_VERSION")));
        let mut opened = Vec::new();
        for (acc, password) in config.accounts().into_iter().zip(passwords.into_iter().chain(std::iter::repeat(None))) {
            opened.push(Self::open_account(acc, password, &user_agent).await?);
        }
        // A bad history file must not stop the phone: warn and carry on (history_file.rs).
        let (history, history_warning) = crate::history_file::open(&config.history_db, now_ms() / 1000);
        if let Some(w) = &history_warning {
            tracing::warn!("{w}");
        }
        let (media_tx, mut media_rx) = mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        let mut accounts = Vec::new();
        for o in opened {
            accounts.push(o.account);
            tasks.push((o.incoming, o.dialog_events, o.registration, o.expires, o.registration_rx));
        }
        let events_for_notices = events.clone();
        let engine = Arc::new(Engine {
            events,
            history,
            start_warnings: {
                start_warnings.extend(history_warning);
                start_warnings
            },
            state: Mutex::new(State {
                calls: HashMap::new(),
                next_id: 1,
                registrations: vec![RegistrationState::Unregistered; accounts.len()],
                board: Switchboard::new(None),
                switches: Vec::new(),
                hold_music: HoldMusic::Generated,
                voice_processing: Default::default(),
                timers: Timers::default(),
                availability: Availability::default(),
                transfers: Default::default(),
            }),
            accounts,
            media_tx,
            router: Mutex::new(Arc::new(
                RoutingSettings::default().compile().map_err(|e| PhoneError::Other(e.to_string()))?,
            )),
            call_defaults: Mutex::new(CallOptions::default()),
            dialling: Mutex::new(DiallingSettings::default()),
            timers_changed: Arc::new(tokio::sync::Notify::new()),
            device_notices: {
                let events = events_for_notices;
                DeviceNotices::to(move |n| {
                    let _ = events.send(PhoneEvent::Warning { message: n.message() });
                })
            },
        });
        tokio::spawn(Self::housekeeping(Arc::downgrade(&engine), engine.timers_changed.clone()));
        for (index, (mut incoming, mut dialog_events, reg, expires, registration_rx)) in tasks.into_iter().enumerate() {
            registration::spawn(Arc::downgrade(&engine), index, reg, expires, registration_rx);
            let weak = Arc::downgrade(&engine);
            tokio::spawn(async move {
                while let Some(request) = incoming.recv().await {
                    let Some(e) = weak.upgrade() else { break };
                    match request {
                        Incoming::Invite(invite) => e.on_invite(index, invite).await,
                        Incoming::Request(request) => e.on_request(index, request).await,
                    }
                }
            });
            let weak = Arc::downgrade(&engine);
            tokio::spawn(async move {
                while let Some(ev) = dialog_events.recv().await {
                    let Some(e) = weak.upgrade() else { break };
                    e.on_dialog_event(ev).await;
                }
            });
        }
        let weak = Arc::downgrade(&engine);
        tokio::spawn(async move {
            while let Some((id, ev)) = media_rx.recv().await {
                let Some(e) = weak.upgrade() else { break };
                match ev {
                    MediaEvent::Dtmf(digit) => e.emit(PhoneEvent::Dtmf { call_id: id, digit }),
                    MediaEvent::InputEnded => e.emit(PhoneEvent::AudioInputEnded { call_id: id }),
                    MediaEvent::Warning(message) => e.emit(PhoneEvent::Warning { message }),
                }
            }
        });
        engine.start_park_orbits();
        Ok(engine)
    }

    /// The account of a call (the first account if the call is gone).
    fn account_of(&self, id: CallId) -> &Account {
        let index = self.update(id, |c| c.account).unwrap_or(0);
        &self.accounts[index]
    }

    /// The account with this AOR (as configured, or its `sip:user@host` form).
    fn account_named(&self, aor: &str) -> Result<usize, PhoneError> {
        let wanted = aor.trim();
        self.accounts
            .iter()
            .position(|a| a.aor_text == wanted || a.aor.bare().to_string() == wanted)
            .ok_or_else(|| PhoneError::InvalidInput {
                what: "account".into(),
                detail: format!(
                    "'{wanted}' is not one of this phone's accounts ({})",
                    self.accounts.iter().map(|a| a.aor_text.as_str()).collect::<Vec<_>>().join(", ")
                ),
            })
    }

    fn emit(&self, ev: PhoneEvent) {
        let _ = self.events.send(ev);
    }

    /// The one task that keeps time: sleeps until the earliest deadline in `State::timers` or
    /// the next housekeeping tick (call-waiting tone, live quality), whichever comes first.
    async fn housekeeping(weak: std::sync::Weak<Engine>, changed: Arc<tokio::sync::Notify>) {
        let quality_ticks = (QUALITY_EVERY.as_millis() / TICK.as_millis()).max(1) as u64;
        let history_ticks = (HISTORY_ALIVE_EVERY.as_millis() / TICK.as_millis()).max(1) as u64;
        let mut ticks = 0u64;
        let mut next_tick = tokio::time::Instant::now() + TICK;
        loop {
            let wait = {
                let Some(e) = weak.upgrade() else { return };
                let next_timer = e.state.lock().unwrap().timers.next();
                let until_tick = next_tick.saturating_duration_since(tokio::time::Instant::now());
                match next_timer {
                    Some(at) => until_tick.min(std::time::Duration::from_millis((at - now_ms()).max(0) as u64)),
                    None => until_tick,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = changed.notified() => {}
            }
            let Some(e) = weak.upgrade() else { return };
            if tokio::time::Instant::now() >= next_tick {
                next_tick = tokio::time::Instant::now() + TICK;
                ticks += 1;
                e.update_call_waiting();
                if ticks % quality_ticks == 0 {
                    e.report_quality();
                }
                if ticks % history_ticks == 0 {
                    let ids: Vec<CallId> = e.state.lock().unwrap().calls.keys().copied().collect();
                    for id in ids {
                        e.history_progress(id);
                    }
                }
            }
            let due = e.state.lock().unwrap().timers.due(now_ms());
            for timer in due {
                e.fire(timer);
            }
        }
    }

    fn set_timer(&self, at: i64, timer: Timer) {
        self.state.lock().unwrap().timers.set(at, timer);
        self.timers_changed.notify_one();
    }

    fn fire(self: &Arc<Self>, timer: Timer) {
        match timer {
            Timer::Switchboard => {
                let actions = self.board(|b| b.tick(now_ms()));
                self.apply(actions);
            }
            Timer::AutoAnswer(id) => {
                let ringing = self.update(id, |c| c.info.state == CallState::Ringing).unwrap_or(false);
                if ringing {
                    let me = self.clone();
                    tokio::spawn(async move {
                        let opts = me.call_defaults.lock().unwrap().clone();
                        if let Err(e) = me.answer(id, opts).await {
                            me.emit(PhoneEvent::Warning { message: format!("auto-answer of call {id} failed: {e}") });
                        }
                    });
                }
            }
            Timer::Transfers => {
                let late = self.state.lock().unwrap().transfers.tick(now_ms());
                for progress in late {
                    self.transfer_progress(progress);
                }
            }
            Timer::ForwardNoAnswer(id) => {
                if let Some(uri) = self.update(id, |c| c.forward_to.take()).flatten() {
                    let me = self.clone();
                    tokio::spawn(async move {
                        me.redirect_ringing(id, uri).await;
                    });
                }
            }
        }
    }

    /// Where sound cards opened for this phone (its ringer too) report changes.
    pub(crate) fn device_notices(&self) -> DeviceNotices {
        self.device_notices.clone()
    }

    pub(crate) fn start_warnings(&self) -> Vec<String> {
        self.start_warnings.clone()
    }

    /// The first account's SIP address.
    pub(crate) fn local_sip_addr(&self) -> SocketAddr {
        self.accounts[0].stack.local_addr
    }

    // ---------------------------------------------------------------- registration

    fn set_registration(&self, account: usize, st: RegistrationState) {
        if let Some(r) = self.state.lock().unwrap().registrations.get_mut(account) {
            *r = st.clone();
        }
        self.emit(PhoneEvent::Registration { aor: self.accounts[account].aor_text.clone(), state: st });
    }

    /// The first account's registration.
    pub(crate) fn registration_state(&self) -> RegistrationState {
        self.state.lock().unwrap().registrations[0].clone()
    }

    /// Whether any account registers.
    pub(crate) fn registers(&self) -> bool {
        self.accounts.iter().any(|a| a.register_enabled)
    }

    /// Every account as front ends list it.
    pub(crate) fn accounts(&self) -> Vec<AccountStatus> {
        let st = self.state.lock().unwrap();
        self.accounts
            .iter()
            .zip(st.registrations.iter())
            .map(|(a, r)| AccountStatus {
                aor: a.aor_text.clone(),
                display_name: a.display_name.clone(),
                registers: a.register_enabled,
                registration: r.clone(),
            })
            .collect()
    }

    // ---------------------------------------------------------------- calls: queries

    pub(crate) fn calls(&self) -> Vec<CallInfo> {
        let st = self.state.lock().unwrap();
        let mut v: Vec<CallInfo> = st.calls.values().map(|c| with_view(&st.board, &c.info)).collect();
        v.sort_by_key(|c| c.id);
        v
    }

    pub(crate) fn history(&self, limit: usize) -> Result<Vec<HistoryEntry>, PhoneError> {
        let rows = self.history.recent(limit).map_err(|e| PhoneError::Other(e.to_string()))?;
        Ok(rows
            .into_iter()
            .map(|r| HistoryEntry {
                id: r.id,
                direction: match r.direction {
                    CallDirection::Incoming => Direction::Incoming,
                    CallDirection::Outgoing => Direction::Outgoing,
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

    fn find_by_sip_call_id(&self, sip_call_id: &str) -> Option<CallId> {
        let st = self.state.lock().unwrap();
        st.calls.iter().find(|(_, c)| c.sip_call_id == sip_call_id).map(|(id, _)| *id)
    }

    /// Registers a new call (Calling if outgoing, Ringing if incoming) and returns its id;
    /// `fill` sets the live parts the caller already has.
    fn add_call(
        &self,
        account: usize,
        direction: Direction,
        remote_uri: String,
        remote_display_name: Option<String>,
        sip_call_id: String,
        fill: impl FnOnce(&mut CallRt),
    ) -> CallId {
        let mut st = self.state.lock().unwrap();
        let id = st.next_id;
        st.next_id += 1;
        let mut call = CallRt {
            info: CallInfo {
                id,
                direction,
                state: if direction == Direction::Outgoing { CallState::Calling } else { CallState::Ringing },
                remote_uri,
                remote_display_name,
                codec: None,
                muted: false,
                started_at_ms: now_ms(),
                answered_at_ms: None,
                active: false,
                parked_since_ms: None,
                held_by_remote: false,
                account: self.accounts[account].aor_text.clone(),
                routing: None,
            },
            account,
            sip_call_id,
            dialog: None,
            offer: None,
            rtp: None,
            media: None,
            ringback: None,
            opts: CallOptions::default(),
            local_end: false,
            sdp_version: 0,
            local_sdp: None,
            negotiated: None,
            switch: None,
            redirect: None,
            forward_to: None,
            history_id: None,
        };
        fill(&mut call);
        if direction == Direction::Incoming {
            st.board.incoming(id, &call.info.remote_uri);
        }
        let row = self.history_record(&call.info, None, call.info.started_at_ms);
        st.calls.insert(id, call);
        drop(st);
        // The row exists from the first moment, so a crash mid-call still leaves it (marked
        // interrupted when the history is next opened).
        match self.history.begin(&row) {
            Ok(history_id) => {
                self.update(id, |c| c.history_id = Some(history_id));
            }
            Err(e) => self.emit(PhoneEvent::Warning { message: format!("could not save the call in history: {e}") }),
        }
        id
    }

    /// The history row of a call as it stands (`outcome` and `ended_at_ms` as given).
    fn history_record(&self, info: &CallInfo, end: Option<(Outcome, &EndReason)>, ended_at_ms: i64) -> NewCallRecord {
        NewCallRecord {
            direction: match info.direction {
                Direction::Incoming => CallDirection::Incoming,
                Direction::Outgoing => CallDirection::Outgoing,
            },
            account: info.account.clone(),
            remote_uri: info.remote_uri.clone(),
            remote_display_name: info.remote_display_name.clone(),
            started_at_ms: info.started_at_ms,
            answered_at_ms: info.answered_at_ms,
            ended_at_ms,
            outcome: match end.map(|(o, _)| o) {
                Some(Outcome::Answered) => CallOutcome::Answered,
                Some(Outcome::Missed) | None => CallOutcome::Missed,
                Some(Outcome::Rejected) => CallOutcome::Rejected,
                Some(Outcome::Cancelled) => CallOutcome::Cancelled,
                Some(Outcome::Failed) => CallOutcome::Failed,
            },
            sip_status: end.and_then(|(_, r)| call::sip_status(r)),
            codec: info.codec.map(|k| format!("{k:?}").to_lowercase()),
            end_reason: end.map(|(_, r)| call::end_message(info, r)),
            routing: info.routing.clone(),
            quality: None,
        }
    }

    /// Tells the history what changed in a call in progress (answered, codec) and that the phone
    /// is still alive; every minute for every call (`housekeeping`).
    fn history_progress(&self, id: CallId) {
        let Some((Some(history_id), info)) = self.update(id, |c| (c.history_id, c.info.clone())) else { return };
        let codec = info.codec.map(|k| format!("{k:?}").to_lowercase());
        if let Err(e) = self.history.progress(history_id, info.answered_at_ms, codec.as_deref(), now_ms()) {
            tracing::warn!("could not update call {id} in history: {e}");
        }
    }

    fn update<R>(&self, id: CallId, f: impl FnOnce(&mut CallRt) -> R) -> Option<R> {
        let mut st = self.state.lock().unwrap();
        st.calls.get_mut(&id).map(f)
    }

    fn publish(&self, id: CallId) {
        if let Some(info) = self.info(id) {
            self.emit(PhoneEvent::CallUpdated { call: info });
        }
    }

    /// The call as front ends see it, with its place on the switchboard.
    fn info(&self, id: CallId) -> Option<CallInfo> {
        let st = self.state.lock().unwrap();
        st.calls.get(&id).map(|c| with_view(&st.board, &c.info))
    }

    /// Runs a switchboard input under the state lock, then carries out its actions.
    fn board<R>(self: &Arc<Self>, f: impl FnOnce(&mut Switchboard) -> R) -> R {
        let mut st = self.state.lock().unwrap();
        f(&mut st.board)
    }

    /// Carries out what the switchboard decided, in order.
    fn apply(self: &Arc<Self>, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Route { active } => {
                    let mut st = self.state.lock().unwrap();
                    st.switches.retain(|w| w.upgrade().is_some());
                    for sw in st.switches.iter().filter_map(|w| w.upgrade()) {
                        sw.set_active(active);
                    }
                }
                Action::Updated(id) => self.publish(id),
                Action::Warning(message) => self.emit(PhoneEvent::Warning { message }),
                Action::Reinvite { id, direction } => {
                    let me = self.clone();
                    tokio::spawn(async move { me.send_reinvite(id, direction).await });
                }
                Action::WakeAt(at) => self.set_timer(at, Timer::Switchboard),
                Action::Recall(id) => {
                    if let Some(info) = self.info(id) {
                        let who = info.remote_display_name.clone().unwrap_or(info.remote_uri.clone());
                        let mins = (now_ms() - info.parked_since_ms.unwrap_or(0)) / 60_000;
                        let message = crate::api::park_recall_message(id, &who, mins);
                        self.emit(PhoneEvent::ParkRecall { call_id: id, who, parked_mins: mins, message });
                        self.emit(PhoneEvent::CallUpdated { call: info });
                    }
                }
            }
        }
    }

    fn next_sdp(&self, id: CallId, desc: &AudioDescription) -> String {
        let version = self
            .update(id, |c| {
                c.sdp_version += 1;
                c.local_sdp = Some(desc.clone());
                c.sdp_version
            })
            .unwrap_or(1);
        sdp::build(desc, "hookflash", &SessionVersion { id: id + 1_000_000, version })
    }

    // ---------------------------------------------------------------- calls: outgoing

    pub(crate) async fn dial(self: &Arc<Self>, input: &str, opts: CallOptions) -> Result<CallId, PhoneError> {
        let index = match &opts.from {
            Some(aor) => self.account_named(aor)?,
            None => 0,
        };
        self.dial_from(index, input, opts).await
    }

    /// Calls out from account `index`.
    pub(crate) async fn dial_from(self: &Arc<Self>, index: usize, input: &str, opts: CallOptions) -> Result<CallId, PhoneError> {
        let account = &self.accounts[index];
        let dial_string = self.dial_string(input)?;
        let callee = target::dial_target(&dial_string, &account.domain).map_err(sip_err)?;
        let caller_id_headers = self.caller_id_headers(&account.domain, opts.caller_id.as_deref())?;
        let rtp = RtpEndpoint::bind(account.local_ip).await.map_err(|e| PhoneError::Other(e.to_string()))?;
        let rtp_addr = rtp.local_addr();
        let offer = AudioDescription {
            address: account.local_ip,
            port: rtp_addr.port(),
            rtcp_port: None,
            formats: codecs::formats(&opts.codecs),
            direction: SdpDirection::SendRecv,
            ptime: Some(20),
        };
        let sip_call_id = format!("{}@hookflash", random_token(24));
        let id = self.add_call(index, Direction::Outgoing, callee.to_string(), None, sip_call_id.clone(), |c| {
            c.offer = Some(offer.clone());
            c.rtp = Some(rtp);
            c.opts = opts.clone();
        });
        let actions = self.board(|b| b.dial(id, &callee.to_string(), now_ms()));
        self.apply(actions);
        let body = self.next_sdp(id, &offer);
        // Out-of-dialog requests go via the outbound proxy, or the registrar of a registering
        // account (as desk phones do); an account that does not register calls targets directly.
        let invite = OutgoingInvite {
            caller: account.aor.bare(),
            caller_display_name: account.display_name.clone(),
            callee: callee.clone(),
            destination: account.outbound.clone(),
            contact: account.contact_uri(),
            sdp: body.into_bytes(),
            call_id: sip_call_id,
            headers: caller_id_headers,
        };
        let (leg, outcome) = match sip_invite::invite(&account.stack, invite, account.credentials.clone()).await {
            Ok(x) => x,
            Err(e) => {
                self.end_call(id, EndReason::Error { message: e.to_string() }).await;
                return Err(PhoneError::Other(format!("cannot call {callee}: {e}")));
            }
        };
        self.update(id, |c| c.dialog = Some(leg));
        self.publish(id);
        let me = self.clone();
        tokio::spawn(async move {
            let outcome = outcome.await.unwrap_or_else(|e| InviteOutcome::Failed(e.to_string()));
            let local = me.update(id, |c| c.local_end).unwrap_or(false);
            let reason = match outcome {
                InviteOutcome::Answered { sdp } => {
                    me.on_outgoing_answered(id, &sdp).await;
                    return;
                }
                InviteOutcome::Refused { status: 487, .. } if local => EndReason::LocalHangup,
                InviteOutcome::Refused { status, reason } => EndReason::Failed { status, reason },
                InviteOutcome::AuthRefused { status, reason, why } => {
                    tracing::warn!("call {id} from {}: challenge not answered: {why}", me.accounts[index].aor_text);
                    EndReason::Failed { status, reason: format!("{reason} — {why}") }
                }
                InviteOutcome::Failed(_) if local => EndReason::LocalHangup,
                InviteOutcome::Failed(message) => EndReason::Error { message },
            };
            me.end_call(id, reason).await;
        });
        Ok(id)
    }

    async fn on_outgoing_answered(self: &Arc<Self>, id: CallId, body: &str) {
        let offer = self.update(id, |c| c.offer.clone()).flatten();
        let Some(offer) = offer else { return };
        match offer_answer::accept_answer(&offer, body) {
            Ok(n) => {
                if let Err(message) = self.start_media(id, n).await {
                    self.hangup_with(id, EndReason::Error { message }).await;
                    return;
                }
                let changed = self.update(id, |c| call::advance(&mut c.info, CallState::Answered, now_ms())).unwrap_or(false);
                if changed {
                    let actions = self.board(|b| b.connected(id, now_ms()));
                    self.publish(id);
                    self.apply(actions);
                    self.history_progress(id);
                }
            }
            Err(e) => {
                self.hangup_with(id, EndReason::Error { message: format!("unusable SDP answer: {e}") }).await;
            }
        }
    }

    async fn start_media(self: &Arc<Self>, id: CallId, n: Negotiated) -> Result<(), String> {
        let Some(codec) = codecs::from_format(&n.codec) else {
            return Err(format!("negotiated codec {} is not supported", n.codec.name));
        };
        let taken = self.update(id, |c| (c.rtp.take(), c.ringback.take(), c.opts.clone(), c.media.is_some()));
        let Some((rtp, ringback, opts, running)) = taken else { return Err("call is gone".into()) };
        if let Some(r) = ringback {
            r.stop();
        }
        let params = StreamParams {
            remote_rtp: n.remote,
            remote_rtcp: n.remote_rtcp,
            codec,
            payload_type: n.codec.payload_type,
            telephone_event_pt: n.telephone_event.as_ref().map(|t| t.payload_type),
            ptime_ms: n.ptime,
            direction: media_direction(n.direction),
        };
        if running {
            self.update(id, |c| {
                if let Some(m) = &c.media {
                    m.update(params);
                }
                c.negotiated = Some(n.clone());
                c.info.codec = Some(codecs::codec_name(codec));
            });
            return Ok(());
        }
        let Some(rtp) = rtp else { return Err("no RTP socket for this call".into()) };
        let switch = self.switch_for(&opts)?;
        let (port_in, port_out) = switch.port(id);
        let (session, mut events) = MediaSession::start(rtp, params, port_in, port_out).map_err(|e| e.to_string())?;
        self.update(id, |c| c.switch = Some(switch));
        let fwd = self.media_tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                if fwd.send((id, ev)).is_err() {
                    break;
                }
            }
        });
        let leftover = self.update(id, |c| {
            c.info.codec = Some(codecs::codec_name(codec));
            c.negotiated = Some(n);
            let muted = c.info.muted;
            session.set_mute(muted);
            // A ringback tone that finished opening its device while media started.
            (c.media.replace(session), c.ringback.take())
        });
        if let Some((old, ringback)) = leftover {
            if let Some(r) = ringback {
                r.stop();
            }
            if let Some(old) = old {
                old.stop().await;
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- calls: incoming

    /// A request outside the calls' dialogs that is not an INVITE: a subscription's NOTIFY, or
    /// one for a subscription we no longer have.
    async fn on_request(self: &Arc<Self>, account: usize, request: ServerRequest) {
        let Some(request) = self.take_orbit_notify(account, request).await else { return };
        request.reply(481).await;
    }

    async fn on_invite(self: &Arc<Self>, index: usize, invite: ServerInvite) {
        let account = &self.accounts[index];
        let req = invite.request().clone();
        let offer = match offer_answer::incoming_offer(&req.body_text(), account.local_ip) {
            Ok(offer) => offer,
            Err(refusal) => {
                invite.reply(refusal.status, refusal.warning.map(|w| ("Warning".to_string(), w)).into_iter().collect()).await;
                self.emit(PhoneEvent::Warning { message: refusal.message });
                return;
            }
        };
        let remote_uri = req.from.as_ref().map(|f| f.uri.clone()).unwrap_or_else(|| "unknown".into());
        let display = req.from.as_ref().and_then(|f| f.display_name.clone());
        let sip_call_id = req.call_id.clone();
        let decision = self.route(index, &req);
        if let Some((status, _)) = decision.sip_response() {
            self.refuse_by_rule(index, invite, remote_uri, display, sip_call_id, offer, decision, status).await;
            return;
        }
        let (leg, redirect) = match invite.into_call(account.aor.user().as_deref()) {
            Ok(x) => x,
            Err(e) => {
                self.emit(PhoneEvent::Warning { message: e.to_string() });
                return;
            }
        };
        let summary = decision.summary();
        let id = self.add_call(index, Direction::Incoming, remote_uri, display, sip_call_id, |c| {
            c.dialog = Some(leg.clone());
            c.offer = Some(offer);
            c.info.routing = Some(summary);
            c.redirect = Some(redirect);
        });
        let _ = leg.ringing();
        if let Some(info) = self.update(id, |c| c.info.clone()) {
            self.emit(PhoneEvent::IncomingCall { call: info });
        }
        self.follow_decision(id, &decision);
    }

    /// Routes an incoming INVITE with the current rules and logs the decision.
    fn route(&self, account: usize, req: &Request) -> Decision {
        let facts = incoming_routing::facts(req, &self.accounts[account].aor_text);
        let router = self.router.lock().unwrap().clone();
        let state = {
            // The calls as the switchboard places them: `CallRt::info` has no parked time of
            // its own (`parked_count` read it and was always 0).
            let st = self.state.lock().unwrap();
            let calls: Vec<CallInfo> = st.calls.values().map(|c| with_view(&st.board, &c.info)).collect();
            let mut state = incoming_routing::phone_state(calls.iter(), now_ms());
            state.presence = st.availability.presence.as_str().to_string();
            state.dnd = st.availability.dnd;
            state
        };
        let decision = router.route(&facts, &state);
        for warning in &decision.warnings {
            tracing::warn!("routing: {warning}");
        }
        tracing::info!("routing: {}", decision.summary());
        decision
    }

    /// A rule rejected or forwarded the call before it rang: answer the INVITE (486/603, or 302
    /// with the target as Contact) and keep one history row with the decision.
    #[allow(clippy::too_many_arguments)]
    async fn refuse_by_rule(
        self: &Arc<Self>,
        account: usize,
        invite: ServerInvite,
        remote_uri: String,
        display: Option<String>,
        sip_call_id: String,
        offer: AudioDescription,
        decision: Decision,
        status: u16,
    ) {
        let summary = decision.summary();
        let headers = match &decision.action {
            RouteAction::Forward { target } => match target::dial_target(target, &self.accounts[account].domain) {
                Ok(uri) => vec![("Contact".to_string(), format!("<{uri}>"))],
                Err(e) => {
                    // Settings validation should have caught this; decline rather than send a
                    // 302 without a usable Contact.
                    self.emit(PhoneEvent::Warning { message: format!("cannot forward to '{target}': {e}") });
                    invite.reply(603, Vec::new()).await;
                    return;
                }
            },
            _ => Vec::new(),
        };
        invite.reply(status, headers).await;
        let id = self.add_call(account, Direction::Incoming, remote_uri, display, sip_call_id, |c| {
            c.offer = Some(offer);
            c.info.routing = Some(summary);
        });
        self.end_call(id, EndReason::Rejected { status }).await;
    }

    /// Auto-answer and forward-on-no-answer timers for a call that rings.
    fn follow_decision(self: &Arc<Self>, id: CallId, decision: &Decision) {
        match &decision.action {
            RouteAction::AutoAnswer { delay_secs } => {
                let at = now_ms() + 1000 * i64::from(delay_secs.unwrap_or(0));
                self.set_timer(at, Timer::AutoAnswer(id));
            }
            RouteAction::ForwardNoAnswer { target, after_secs } => {
                let uri = match target::dial_target(target, &self.account_of(id).domain) {
                    Ok(uri) => uri,
                    Err(e) => {
                        self.emit(PhoneEvent::Warning { message: format!("cannot forward to '{target}': {e}") });
                        return;
                    }
                };
                self.update(id, |c| c.forward_to = Some(uri));
                self.set_timer(now_ms() + 1000 * i64::from(*after_secs), Timer::ForwardNoAnswer(id));
            }
            _ => {}
        }
    }

    /// Sends a ringing incoming call elsewhere with 302 (voicemail, a colleague). Returns false
    /// if it is no longer ringing.
    async fn redirect_ringing(self: &Arc<Self>, id: CallId, uri: SipUri) -> bool {
        let redirect = self.update(id, |c| (c.info.state == CallState::Ringing).then(|| c.redirect.take()).flatten()).flatten();
        let Some(redirect) = redirect else { return false };
        if !redirect.send(uri) {
            return false;
        }
        // The INVITE transaction answers 302 and drops the dialog.
        self.update(id, |c| c.dialog.take());
        self.end_call(id, EndReason::Rejected { status: 302 }).await;
        true
    }

    /// Forwards a ringing incoming call to `target` (number, extension or SIP URI) with 302.
    pub(crate) async fn forward(self: &Arc<Self>, id: CallId, target: &str) -> Result<(), PhoneError> {
        let uri = target::dial_target(target, &self.account_of(id).domain).map_err(sip_err)?;
        let ringing = self.update(id, |c| c.info.direction == Direction::Incoming && c.info.state == CallState::Ringing);
        match ringing {
            None => Err(PhoneError::NoSuchCall(id)),
            Some(false) => Err(PhoneError::Other(format!("call {id} is not ringing here, so it cannot be forwarded"))),
            Some(true) if self.redirect_ringing(id, uri).await => Ok(()),
            Some(true) => Err(PhoneError::Other(format!("call {id} stopped ringing before it could be forwarded"))),
        }
    }

    /// What to put in the request URI for what the user typed: the dialling plan's E.164 number,
    /// extension or URI. Without a default country, numbers the plan cannot place are dialled as
    /// typed (the server's dial plan decides); with one, they are refused with the reason.
    fn dial_string(&self, input: &str) -> Result<String, PhoneError> {
        let plan = self.dialling.lock().unwrap().clone();
        match plan.normalise(input) {
            Ok(d) => Ok(d.dial_string().to_string()),
            Err(_) if plan.default_country.trim().is_empty() => Ok(input.trim().to_string()),
            Err(e) => Err(PhoneError::InvalidInput { what: "number".into(), detail: e.to_string() }),
        }
    }

    /// The headers presenting the call's chosen caller ID (none chosen: none), or the refusal
    /// when it is not in the account's allowed list.
    fn caller_id_headers(&self, domain: &str, chosen: Option<&str>) -> Result<Vec<(String, String)>, PhoneError> {
        let plan = self.dialling.lock().unwrap().clone();
        plan.headers_for_call(chosen, domain).map_err(|e| PhoneError::Other(e.to_string()))
    }

    /// Replaces the dialling plan (validated first).
    pub(crate) fn set_dialling(&self, settings: DiallingSettings) -> Result<(), PhoneError> {
        settings
            .validate()
            .map_err(|problems| PhoneError::InvalidInput { what: "dialling settings".into(), detail: problems.join("; ") })?;
        *self.dialling.lock().unwrap() = settings;
        Ok(())
    }

    /// Replaces the routing rules (validated first: nothing changes if they are wrong).
    pub(crate) fn set_routing(&self, settings: &RoutingSettings) -> Result<(), InvalidRouting> {
        let router = settings.compile()?;
        *self.router.lock().unwrap() = Arc::new(router);
        Ok(())
    }

    pub(crate) fn set_availability(&self, availability: Availability) {
        self.state.lock().unwrap().availability = availability;
        self.emit(PhoneEvent::Availability { availability });
    }

    pub(crate) fn availability(&self) -> Availability {
        self.state.lock().unwrap().availability
    }

    /// Audio for calls the engine answers by itself.
    pub(crate) fn set_call_defaults(&self, opts: CallOptions) {
        *self.call_defaults.lock().unwrap() = opts;
    }

    /// The call-waiting tone plays over the active call while another incoming call rings.
    fn update_call_waiting(&self) {
        let (on, switches) = {
            let st = self.state.lock().unwrap();
            let ringing = st
                .calls
                .values()
                .any(|c| c.info.direction == Direction::Incoming && c.info.state == CallState::Ringing);
            let talking = st.board.active().is_some();
            (ringing && talking, st.switches.iter().filter_map(|w| w.upgrade()).collect::<Vec<_>>())
        };
        for sw in switches {
            sw.set_call_waiting(on);
        }
    }

    /// Emits `CallQuality` for every call with media.
    fn report_quality(&self) {
        let reports: Vec<(CallId, CallQuality)> = {
            let st = self.state.lock().unwrap();
            st.calls
                .iter()
                .filter(|(_, c)| c.info.state == CallState::Answered)
                .filter_map(|(id, c)| c.media.as_ref().and_then(|m| incoming_routing::quality(&m.stats())).map(|q| (*id, q)))
                .collect()
        };
        for (call_id, quality) in reports {
            self.emit(PhoneEvent::CallQuality { call_id, quality });
        }
    }

    pub(crate) async fn answer(self: &Arc<Self>, id: CallId, opts: CallOptions) -> Result<(), PhoneError> {
        let found = self.update(id, |c| (c.info.direction, c.info.state, c.offer.clone(), c.dialog.clone()));
        let Some((direction, state, offer, dialog)) = found else { return Err(PhoneError::NoSuchCall(id)) };
        if direction != Direction::Incoming || state != CallState::Ringing {
            return Err(PhoneError::Other(format!("call {id} is not ringing here")));
        }
        let (Some(offer), Some(dialog)) = (offer, dialog) else { return Err(PhoneError::NoSuchCall(id)) };
        let local_ip = self.account_of(id).local_ip;
        let rtp = RtpEndpoint::bind(local_ip).await.map_err(|e| PhoneError::Other(e.to_string()))?;
        let port = rtp.local_addr().port();
        let (answer, negotiated) = match sdp::answer(&offer, &codecs::formats(&opts.codecs), local_ip, port) {
            Ok(x) => x,
            Err(e) => {
                let _ = dialog.reject(488);
                self.end_call(id, EndReason::Rejected { status: 488 }).await;
                return Err(PhoneError::Other(format!("cannot answer: {e}")));
            }
        };
        // Answering while busy parks the active call first (and takes the audio from it).
        let actions = self.board(|b| b.answer(id, now_ms()))?;
        self.apply(actions);
        if !negotiated.direction.sends() {
            // The caller starts the call on hold.
            if let Ok((_, actions)) = self.board(|b| b.remote_offer(id, negotiated.direction)) {
                self.apply(actions);
            }
        }
        self.update(id, |c| {
            c.rtp = Some(rtp);
            c.opts = opts;
        });
        let body = self.next_sdp(id, &answer);
        dialog.accept(body.into_bytes()).map_err(|e| PhoneError::Other(format!("cannot answer: {e}")))?;
        if let Err(message) = self.start_media(id, negotiated).await {
            self.hangup_with(id, EndReason::Error { message: message.clone() }).await;
            return Err(PhoneError::Other(message));
        }
        if self.update(id, |c| call::advance(&mut c.info, CallState::Answered, now_ms())).unwrap_or(false) {
            self.publish(id);
            self.history_progress(id);
        }
        Ok(())
    }

    pub(crate) async fn reject(self: &Arc<Self>, id: CallId, status: u16) -> Result<(), PhoneError> {
        let found = self.update(id, |c| {
            c.local_end = true;
            (c.info.direction, c.info.state, c.dialog.clone())
        });
        let Some((direction, state, dialog)) = found else { return Err(PhoneError::NoSuchCall(id)) };
        if direction != Direction::Incoming || state != CallState::Ringing {
            return Err(PhoneError::Other(format!("call {id} is not ringing here")));
        }
        match status {
            486 | 603 | 480 => {}
            other => {
                return Err(PhoneError::InvalidInput {
                    what: "reject status".into(),
                    detail: format!("{other} (use 486 busy, 603 decline or 480 unavailable)"),
                })
            }
        }
        if let Some(d) = dialog {
            let _ = d.reject(status);
        }
        self.end_call(id, EndReason::Rejected { status }).await;
        Ok(())
    }

    pub(crate) async fn hangup(self: &Arc<Self>, id: CallId) -> Result<(), PhoneError> {
        let found = self.update(id, |c| (c.info.direction, c.info.state));
        let Some((direction, state)) = found else { return Err(PhoneError::NoSuchCall(id)) };
        if direction == Direction::Incoming && state == CallState::Ringing {
            return self.reject(id, 603).await;
        }
        self.hangup_with(id, EndReason::LocalHangup).await;
        Ok(())
    }

    async fn hangup_with(self: &Arc<Self>, id: CallId, reason: EndReason) {
        let found = self.update(id, |c| {
            c.local_end = true;
            (c.info.state, c.dialog.clone())
        });
        let Some((state, dialog)) = found else { return };
        if let Some(d) = dialog {
            match state {
                CallState::Calling | CallState::Ringing => {
                    // CANCEL; the INVITE then ends with 487 and end_call runs from dial's task.
                    d.cancel().await;
                }
                CallState::Answered => {
                    let _ = d.bye().await;
                }
                CallState::Ended => {}
            }
        }
        self.end_call(id, reason).await;
    }

    pub(crate) async fn send_dtmf(&self, id: CallId, digits: &str) -> Result<(), PhoneError> {
        for d in digits.chars() {
            if !matches!(d, '0'..='9' | '*' | '#' | 'A'..='D' | 'a'..='d') {
                return Err(PhoneError::InvalidInput {
                    what: "DTMF digit".into(),
                    detail: format!("'{d}' (use 0-9, *, #, A-D)"),
                });
            }
        }
        let r = self.update(id, |c| {
            let Some(m) = &c.media else { return Err(PhoneError::Other(format!("call {id} has no audio yet"))) };
            for d in digits.chars() {
                m.send_dtmf(d.to_ascii_uppercase()).map_err(|e| PhoneError::Other(e.to_string()))?;
            }
            Ok(())
        });
        r.unwrap_or(Err(PhoneError::NoSuchCall(id)))
    }

    pub(crate) fn set_mute(&self, id: CallId, muted: bool) -> Result<(), PhoneError> {
        let r = self.update(id, |c| {
            c.info.muted = muted;
            if let Some(m) = &c.media {
                m.set_mute(muted);
            }
        });
        r.ok_or(PhoneError::NoSuchCall(id))?;
        self.publish(id);
        Ok(())
    }

    /// Ends a call once: stops media, writes the history row, emits `CallEnded`.
    async fn end_call(self: &Arc<Self>, id: CallId, reason: EndReason) {
        let removed = {
            let mut st = self.state.lock().unwrap();
            st.calls.remove(&id)
        };
        let Some(mut c) = removed else { return };
        self.state.lock().unwrap().timers.cancel_call(id);
        let reason = self.orbit_end_reason(&c.sip_call_id, reason);
        let actions = self.board(|b| b.ended(id));
        self.apply(actions);
        if let Some(r) = c.ringback.take() {
            r.stop();
        }
        let quality = match c.media.take() {
            Some(m) => incoming_routing::quality(&m.stop().await),
            None => None,
        };
        let answered = c.info.answered_at_ms.is_some();
        call::advance(&mut c.info, CallState::Ended, now_ms());
        let outcome = call::outcome(c.info.direction, answered, &reason);
        let record = NewCallRecord { quality, ..self.history_record(&c.info, Some((outcome, &reason)), now_ms()) };
        let saved = match c.history_id {
            Some(history_id) => self.history.finish(history_id, &record),
            None => self.history.record(&record).map(|_| ()),
        };
        if let Err(e) = saved {
            self.emit(PhoneEvent::Warning { message: format!("could not save the call in history: {e}") });
        }
        let message = call::end_message(&c.info, &reason);
        self.emit(PhoneEvent::CallEnded { call: c.info, reason, message });
    }

    // ---------------------------------------------------------------- dialog events

    async fn on_dialog_event(self: &Arc<Self>, ev: DialogEvent) {
        match ev {
            DialogEvent::Early { call_id, sdp: early_sdp } => {
                let Some(id) = self.find_by_sip_call_id(&call_id) else { return };
                let outgoing = self.update(id, |c| c.info.direction == Direction::Outgoing).unwrap_or(false);
                if !outgoing {
                    return;
                }
                let changed = self.update(id, |c| call::advance(&mut c.info, CallState::Ringing, now_ms())).unwrap_or(false);
                if let Some(body) = early_sdp {
                    // 183 with SDP: early media from the far end replaces our ringback.
                    let offer = self.update(id, |c| c.offer.clone()).flatten();
                    if let Some(Ok(n)) = offer.map(|offer| offer_answer::accept_answer(&offer, &body)) {
                        if let Err(message) = self.start_media(id, n).await {
                            self.emit(PhoneEvent::Warning { message });
                        }
                    }
                } else if changed {
                    let out = self.update(id, |c| c.opts.audio_out.clone());
                    if let Some(out) = out {
                        // Opening a sound card can take a second or two: do it off the event
                        // loop, and keep the tone only if the call is still ringing by then
                        // (the 200 OK may have arrived meanwhile).
                        let me = self.clone();
                        let notices = self.device_notices.clone();
                        tokio::spawn(async move {
                            let started = tokio::task::spawn_blocking(move || Ringback::start(media_endpoint_out(&out), &notices)).await;
                            match started {
                                Ok(Ok(r)) => {
                                    let mut slot = Some(r);
                                    me.update(id, |c| {
                                        if c.info.state == CallState::Ringing && c.media.is_none() {
                                            c.ringback = slot.take();
                                        }
                                    });
                                    if let Some(r) = slot {
                                        r.stop();
                                    }
                                }
                                Ok(Err(e)) => me.emit(PhoneEvent::Warning { message: format!("no ringback tone: {e}") }),
                                Err(_) => {}
                            }
                        });
                    }
                }
                if changed {
                    self.publish(id);
                }
            }
            DialogEvent::Reinvite { call_id, sdp, reply } => {
                let Some(id) = self.find_by_sip_call_id(&call_id) else {
                    reply.status(481).await;
                    return;
                };
                self.on_reinvite(id, sdp, reply).await;
            }
            DialogEvent::Info { call_id, request, reply } => {
                // SIP INFO DTMF (application/dtmf-relay) from older gateways.
                let body = request.body_text();
                let digit = body
                    .lines()
                    .find_map(|l| l.strip_prefix("Signal=").or_else(|| l.strip_prefix("Signal =")))
                    .and_then(|s| s.trim().chars().next());
                reply.status(200).await;
                if let (Some(d), Some(id)) = (digit, self.find_by_sip_call_id(&call_id)) {
                    self.emit(PhoneEvent::Dtmf { call_id: id, digit: d });
                }
            }
            DialogEvent::Notify { call_id, request, reply } if self.is_parking_on_orbit(&call_id) => {
                self.on_orbit_refer_notify(&call_id, request, reply).await;
            }
            DialogEvent::Notify { reply, .. } => reply.status(200).await,
            DialogEvent::Ended { call_id, why } => {
                let Some(id) = self.find_by_sip_call_id(&call_id) else { return };
                let (local, state) = self.update(id, |c| (c.local_end, c.info.state)).unwrap_or((true, CallState::Ended));
                if local {
                    return; // our own hang-up path writes the end
                }
                let end = match why {
                    Ended::Bye => EndReason::RemoteHangup,
                    Ended::Cancelled => EndReason::Cancelled,
                    Ended::TimedOut if state == CallState::Answered => {
                        EndReason::Error { message: "the other side stopped answering".into() }
                    }
                    // An outgoing INVITE's time-out and final failure responses are reported
                    // by dial's task, with their exact status.
                    _ => return,
                };
                self.end_call(id, end).await;
            }
        }
    }

    async fn on_reinvite(self: &Arc<Self>, id: CallId, body: String, reply: Reply) {
        let (opts, local) = self.update(id, |c| (c.opts.clone(), c.local_sdp.clone())).unwrap_or_default();
        let account = self.account_of(id);
        match offer_answer::answer_reinvite(&body, local.as_ref(), &opts.codecs, account.local_ip) {
            ReinviteAnswer::Reoffer(local) => {
                let sdp_body = self.next_sdp(id, &local);
                reply.sdp(200, sdp_body.into_bytes()).await;
            }
            ReinviteAnswer::Empty => reply.status(200).await,
            ReinviteAnswer::Status(status) => reply.status(status).await,
            ReinviteAnswer::Answer { answer, negotiated } => {
                let (hold, actions) = match self.board(|b| b.remote_offer(id, negotiated.direction)) {
                    Ok(x) => x,
                    Err(()) => {
                        tracing::debug!("{} 491 to {id}", account.aor_text);
                        // Our own re-INVITE is in flight: glare (RFC 3261 14.2).
                        reply.status(491).await;
                        return;
                    }
                };
                let ours = switchboard::answer_direction(negotiated.direction, hold);
                let (answer, negotiated) = offer_answer::held(answer, negotiated, ours);
                let sdp_body = self.next_sdp(id, &answer);
                reply.sdp(200, sdp_body.into_bytes()).await;
                if let Err(message) = self.start_media(id, negotiated).await {
                    self.emit(PhoneEvent::Warning { message });
                }
                self.apply(actions);
            }
        }
    }

    // ---------------------------------------------------------------- several calls

    /// Parks a connected call: hold re-INVITE and music on hold.
    pub(crate) fn park(self: &Arc<Self>, id: CallId) -> Result<(), PhoneError> {
        let actions = self.board(|b| b.park(id, now_ms()))?;
        self.apply(actions);
        Ok(())
    }

    /// Makes a connected call the active one, parking the active call first.
    pub(crate) fn switch_to(self: &Arc<Self>, id: CallId) -> Result<(), PhoneError> {
        let actions = self.board(|b| b.switch_to(id, now_ms()))?;
        self.apply(actions);
        Ok(())
    }

    /// Music for calls parked from now on: the generated loop, or a WAV file (checked now).
    pub(crate) fn set_hold_music(&self, file: Option<std::path::PathBuf>) -> Result<(), PhoneError> {
        let music = match file {
            None => HoldMusic::Generated,
            Some(p) => {
                let m = HoldMusic::Wav(p);
                hookflash_media::hold_music::HoldMusicSource::open(&m, 8000)
                    .map_err(|e| PhoneError::InvalidInput { what: "hold music".into(), detail: e.to_string() })?;
                m
            }
        };
        self.state.lock().unwrap().hold_music = music;
        Ok(())
    }

    /// A reminder (`Warning` + `CallUpdated`) once a call has been parked this long.
    pub(crate) fn set_park_recall(&self, after: Option<std::time::Duration>) {
        self.state.lock().unwrap().board.set_recall_after(after.map(|d| d.as_millis() as i64));
    }

    /// Voice processing for every audio switch, open ones at once and future ones.
    pub(crate) fn set_voice_processing(&self, v: crate::api::VoiceProcessing) {
        let mut st = self.state.lock().unwrap();
        st.voice_processing = v;
        for sw in st.switches.iter().filter_map(|w| w.upgrade()) {
            sw.set_processing(processing_settings(v));
        }
    }

    /// The audio switch for this call's microphone/speaker: the open one, or a new one.
    fn switch_for(&self, opts: &CallOptions) -> Result<AudioSwitch, String> {
        let input = media_endpoint_in(&opts.audio_in);
        let output = media_endpoint_out(&opts.audio_out);
        let mut st = self.state.lock().unwrap();
        st.switches.retain(|w| w.upgrade().is_some());
        if let Some(sw) = st.switches.iter().filter_map(|w| w.upgrade()).find(|sw| sw.endpoints() == (input.clone(), output.clone())) {
            return Ok(sw);
        }
        let sw = AudioSwitch::with_notices(input, output, st.hold_music.clone(), self.device_notices.clone()).map_err(|e| e.to_string())?;
        sw.set_processing(processing_settings(st.voice_processing));
        sw.set_active(st.board.active());
        st.switches.push(sw.downgrade());
        Ok(sw)
    }

    /// Sends one hold/resume re-INVITE and feeds its outcome back to the switchboard.
    async fn send_reinvite(self: Arc<Self>, id: CallId, direction: SdpDirection) {
        let found = self.update(id, |c| (c.dialog.clone(), c.negotiated.clone(), c.local_sdp.clone()));
        let Some((Some(dialog), Some(neg), Some(local))) = found else {
            let actions = self.board(|b| {
                b.reinvite_done(id, ReinviteOutcome::Refused { reason: "the call has no audio yet".into() }, now_ms())
            });
            self.apply(actions);
            return;
        };
        // A call answered a moment ago may still wait for the caller's ACK: the dialog takes
        // no re-INVITE until then (a few ms normally; give up after the ACK time-out).
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(32);
        while dialog.settling() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let offer = offer_answer::direction_offer(&neg, &local, direction, self.account_of(id).local_ip);
        let body = self.next_sdp(id, &offer);
        tracing::debug!("{} reinvite {id} {direction:?} sending", self.account_of(id).aor_text);
        let result = dialog.reinvite(body.into_bytes()).await;
        tracing::debug!("reinvite {id} result {:?}", result.as_ref().map(|r| r.as_ref().map(|r| r.status)));
        let outcome = match result {
            Ok(Some(resp)) => {
                let (code, phrase, text) = (resp.status, resp.reason, resp.body);
                if (200..300).contains(&code) {
                    let mut remote_hold = None;
                    match offer_answer::accept_answer(&offer, &text) {
                        Ok(n) => {
                            // Offering to send lets the answer tell whether the peer wants our audio.
                            remote_hold = offer_answer::remote_holds(direction, &n);
                            if let Err(message) = self.start_media(id, n).await {
                                self.emit(PhoneEvent::Warning { message });
                            }
                        }
                        Err(e) => self.emit(PhoneEvent::Warning { message: format!("unusable SDP in the answer to our re-INVITE: {e}") }),
                    }
                    ReinviteOutcome::Accepted { remote_hold }
                } else if code == 491 {
                    use rand::RngExt;
                    ReinviteOutcome::Glare { roll: rand::rng().random_range(0..=1000) }
                } else {
                    // The offer was refused: our description stays the last accepted one.
                    self.update(id, |c| c.local_sdp = Some(local.clone()));
                    if code == 481 || code == 408 {
                        // RFC 3261 12.2.1.2: the dialog is gone.
                        let message = format!("the other side lost the call ({code} {phrase})");
                        self.hangup_with(id, EndReason::Error { message }).await;
                        return;
                    }
                    ReinviteOutcome::Refused { reason: format!("{code}") }
                }
            }
            Ok(None) => {
                self.update(id, |c| c.local_sdp = Some(local.clone()));
                ReinviteOutcome::Refused { reason: "the call is not established".into() }
            }
            Err(e) => ReinviteOutcome::Refused { reason: e.to_string() },
        };
        let actions = self.board(|b| b.reinvite_done(id, outcome, now_ms()));
        self.apply(actions);
    }

    pub(crate) async fn shutdown(self: &Arc<Self>) {
        let ids: Vec<CallId> = self.state.lock().unwrap().calls.keys().copied().collect();
        for id in ids {
            let _ = self.hangup(id).await;
        }
        self.stop_park_orbits().await;
        if self.registers() {
            let _ = self.unregister().await;
        }
        for a in &self.accounts {
            a.stack.shutdown();
        }
    }
}

/// `info` with its current place on the switchboard (active, parked, held by remote).
fn with_view(board: &Switchboard, info: &CallInfo) -> CallInfo {
    let v = board.view(info.id);
    CallInfo { active: v.active, parked_since_ms: v.parked_since_ms, held_by_remote: v.held_by_remote, ..info.clone() }
}

fn media_direction(d: SdpDirection) -> MediaDirection {
    match d {
        SdpDirection::SendRecv => MediaDirection::SendRecv,
        SdpDirection::SendOnly => MediaDirection::SendOnly,
        SdpDirection::RecvOnly => MediaDirection::RecvOnly,
        SdpDirection::Inactive => MediaDirection::Inactive,
    }
}

fn random_token(n: usize) -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}
