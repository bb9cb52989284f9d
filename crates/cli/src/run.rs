//! The CLI's behaviour: build the account from the profile and flags, start the phone, and
//! drive it for `register`, `call` or `listen`, reacting to its events.

use crate::args::{AccountArgs, Cli, Command, MediaArgs, SrtpArg, TransportArg};
use crate::output::Printer;
use crate::session::{run_session, ScriptSource};
use hookflash_phone::{
    load_profile, AccountConfig, AudioEndpoint, CallId, CallOptions, CallState, CodecName,
    EndReason, MediaEncryption, PasswordSource, Phone, PhoneEvent, Profile, Transport,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

fn account_from(args: &AccountArgs) -> Result<Profile, String> {
    let mut profile = match &args.profile {
        Some(p) => load_profile(p).map_err(|e| e.to_string())?,
        None => {
            let aor = args
                .aor
                .clone()
                .ok_or("no account: give --aor sip:user@host or --profile file.toml")?;
            Profile::new(AccountConfig::new(aor))
        }
    };
    let a = &mut profile.account;
    if let Some(v) = &args.aor {
        a.aor = v.clone();
    }
    if let Some(v) = &args.registrar {
        a.registrar = Some(v.clone());
    }
    if let Some(t) = args.transport {
        a.transport = Some(match t {
            TransportArg::Udp => Transport::Udp,
            TransportArg::Tcp => Transport::Tcp,
            TransportArg::Tls => Transport::Tls,
            TransportArg::Ws => Transport::Ws,
            TransportArg::Wss => Transport::Wss,
        });
    }
    if let Some(v) = &args.outbound_proxy {
        a.outbound_proxy = Some(v.clone());
    }
    if let Some(v) = &args.auth_user {
        a.auth_user = Some(v.clone());
    }
    if let Some(v) = &args.display_name {
        a.display_name = Some(v.clone());
    }
    if let Some(v) = args.listen {
        a.listen = Some(v);
    }
    if let Some(v) = args.expires {
        a.expires = v;
    }
    if let Some(v) = &args.tls_ca {
        a.tls_ca_file = Some(v.clone());
    }
    if let Some(p) = &args.ws_path {
        a.ws_path = Some(p.clone());
    }
    if let Some(v) = args.keep_alive {
        a.keep_alive_secs = Some(v);
    }
    if let Some(v) = args.transfer_requests {
        a.transfer_requests = v;
    }
    if args.no_register {
        a.register = false;
    }
    if let Some(srtp) = args.srtp {
        (a.media_encryption, a.require_encryption) = match srtp {
            SrtpArg::Off => (MediaEncryption::None, false),
            SrtpArg::Optional => (MediaEncryption::Sdes, false),
            SrtpArg::Mandatory => (MediaEncryption::Sdes, true),
            SrtpArg::Dtls => (MediaEncryption::Dtls, true),
        };
    }
    if let Some(v) = &args.history_db {
        profile.history_db = Some(v.clone());
    }
    Ok(profile)
}

fn endpoint(value: &str) -> AudioEndpoint {
    match value {
        "null" | "none" => AudioEndpoint::Null,
        "default" => AudioEndpoint::Default,
        v if v.to_ascii_lowercase().ends_with(".wav") => AudioEndpoint::Wav(PathBuf::from(v)),
        v => AudioEndpoint::Device(Some(v.to_string())),
    }
}

/// `out.wav` for the first call, `out-2.wav`, `out-3.wav`... for the next ones.
fn numbered(path: &Path, n: u32) -> PathBuf {
    if n <= 1 {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|s| format!(".{}", s.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}-{n}{ext}"))
}

fn call_options(
    m: &MediaArgs,
    profile_codecs: &[CodecName],
    n: u32,
) -> Result<CallOptions, String> {
    let mut codecs = Vec::new();
    for c in &m.codec {
        codecs.push(match c.to_ascii_lowercase().as_str() {
            "pcmu" | "g711u" => CodecName::Pcmu,
            "pcma" | "g711a" => CodecName::Pcma,
            "opus" => CodecName::Opus,
            "g722" => CodecName::G722,
            other => {
                return Err(format!(
                    "unknown codec '{other}' (use opus, g722, pcmu or pcma)"
                ))
            }
        });
    }
    if codecs.is_empty() {
        codecs = profile_codecs.to_vec();
    }
    let audio_out = match endpoint(&m.audio_out) {
        AudioEndpoint::Wav(p) => AudioEndpoint::Wav(numbered(&p, n)),
        other => other,
    };
    if let AudioEndpoint::Wav(p) = endpoint(&m.audio_in) {
        if !p.exists() {
            return Err(format!("audio input {} does not exist", p.display()));
        }
    }
    if let Some(d) = &m.dtmf {
        if let Some(bad) = d
            .chars()
            .find(|c| !matches!(c, '0'..='9' | '*' | '#' | 'A'..='D' | 'a'..='d'))
        {
            return Err(format!("invalid DTMF digit '{bad}' (use 0-9, *, #, A-D)"));
        }
    }
    Ok(CallOptions {
        audio_in: endpoint(&m.audio_in),
        audio_out,
        codecs,
        caller_id: None,
        from: None,
    })
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

pub async fn run(cli: Cli) -> Result<(), String> {
    let printer = Printer::new(cli.json);
    if let Command::Devices = cli.command {
        return print_devices(&printer).await;
    }
    let profile = account_from(&cli.account)?;
    // Check media options before touching the network.
    match &cli.command {
        Command::Call { media, .. }
        | Command::Listen { media, .. }
        | Command::Session { media, .. } => {
            call_options(media, &profile.codecs, 1)?;
        }
        Command::Register { .. } | Command::Check | Command::Devices => {}
    }
    // The same meaning of HOOKFLASH_PASSWORD, the same start and the same profile settings as
    // the app: set and empty is no password, unset is the keyring.
    let password = PasswordSource::from_env_value(std::env::var("HOOKFLASH_PASSWORD").ok());
    let phone = Phone::start(profile.phone_config(), password)
        .await
        .map_err(|e| e.to_string())?;
    phone.apply_profile(&profile).map_err(|e| e.to_string())?;
    // Auto-answered calls use the command's audio options.
    if let Command::Call { media, .. }
    | Command::Listen { media, .. }
    | Command::Session { media, .. } = &cli.command
    {
        phone.set_call_defaults(call_options(media, &profile.codecs, 1)?);
    }
    let mut events = phone.subscribe();
    for message in phone.start_warnings() {
        printer.event(&PhoneEvent::Warning { message });
    }
    let result = drive(&phone, &cli.command, &profile, &printer, &mut events).await;
    phone.shutdown().await;
    // Print what the shutdown produced (un-REGISTER, hang-ups).
    while let Ok(ev) = events.try_recv() {
        printer.event(&ev);
    }
    result
}

/// `devices`: one line per microphone and speaker.
async fn print_devices(printer: &Printer) -> Result<(), String> {
    let list = tokio::task::spawn_blocking(hookflash_phone::list_devices)
        .await
        .map_err(|e| format!("cannot list audio devices: {e}"))?
        .map_err(|e| format!("cannot list audio devices: {e}"))?;
    for (direction, devices) in [("input", &list.inputs), ("output", &list.outputs)] {
        for d in devices {
            printer.line(&serde_json::json!({
                "event": "device",
                "direction": direction,
                "id": d.id,
                "name": d.name,
                "default": d.is_default,
            }));
        }
    }
    Ok(())
}

async fn register_if_needed(
    phone: &Phone,
    printer: &Printer,
    events: &mut tokio::sync::broadcast::Receiver<PhoneEvent>,
) -> Result<(), String> {
    if !phone.registers() {
        return Ok(());
    }
    let r = phone.register().await;
    while let Ok(ev) = events.try_recv() {
        printer.event(&ev);
    }
    r.map(|_| ()).map_err(|e| e.to_string())
}

async fn drive(
    phone: &Phone,
    command: &Command,
    profile: &Profile,
    printer: &Printer,
    events: &mut tokio::sync::broadcast::Receiver<PhoneEvent>,
) -> Result<(), String> {
    match command {
        // Handled in `run` before any account is needed.
        Command::Devices => Ok(()),
        Command::Register { duration } => {
            if !phone.registers() {
                return Err("--no-register and `register` contradict each other".into());
            }
            register_if_needed(phone, printer, events).await?;
            let until = Instant::now() + secs(*duration);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => break,
                    ev = events.recv() => match ev {
                        Ok(ev) => printer.event(&ev),
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => break,
                    },
                    _ = tokio::signal::ctrl_c() => break,
                }
            }
            let r = phone.unregister().await;
            while let Ok(ev) = events.try_recv() {
                printer.event(&ev);
            }
            r.map_err(|e| e.to_string())
        }
        Command::Check => {
            if !phone.registers() {
                return Err(
                    "--no-register and `check` contradict each other: check registers".into(),
                );
            }
            let registered = phone.register().await.map_err(|e| e.to_string());
            while let Ok(ev) = events.try_recv() {
                if printer.json {
                    printer.event(&ev);
                }
            }
            let probe = match &registered {
                Ok(_) => Some(phone.probe().await.map_err(|e| e.to_string())),
                Err(_) => None,
            };
            let media_servers = phone.probe_media_servers(&profile.account).await;
            let accounts = phone.accounts();
            let findings = crate::check::Findings {
                account: &profile.account,
                status: accounts.first(),
                registered,
                probe,
                local: phone.local_sip_addr(),
                codecs: profile
                    .codecs
                    .iter()
                    .map(|c| {
                        serde_json::to_value(c)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default()
                    })
                    .collect(),
                media_servers,
            };
            let report = crate::check::report(&findings);
            if printer.json {
                println!("{report}");
            } else {
                println!("{}", crate::check::text(&report));
            }
            if findings.registered.is_ok() {
                let _ = phone.unregister().await;
            }
            match report["problem"].as_str() {
                Some(problem) => Err(format!("check failed: {problem}")),
                None => Ok(()),
            }
        }
        Command::Call {
            target,
            caller_id,
            from,
            media,
        } => {
            register_if_needed(phone, printer, events).await?;
            let opts = CallOptions {
                caller_id: caller_id.clone(),
                from: from.clone(),
                ..call_options(media, &profile.codecs, 1)?
            };
            let id = phone.dial(target, opts).await.map_err(|e| e.to_string())?;
            let mut session = Session::new(phone, printer, media.clone(), None, None);
            session.outgoing = Some(id);
            session.run(events, profile).await
        }
        Command::Session {
            script,
            hold_music,
            media,
        } => {
            let source = match script {
                Some(p) => ScriptSource::File(p.clone()),
                None => ScriptSource::Stdin,
            };
            if hold_music.is_some() {
                phone
                    .set_hold_music(hold_music.clone())
                    .map_err(|e| e.to_string())?;
            }
            register_if_needed(phone, printer, events).await?;
            // Every call uses the same microphone and speaker (no numbered output files).
            let opts = call_options(media, &profile.codecs, 1)?;
            run_session(phone, printer, opts, source, events).await
        }
        Command::Listen {
            answer_after,
            max_calls,
            reject,
            media,
        } => {
            if let Some(code) = reject {
                if !matches!(code, 486 | 603 | 480) {
                    return Err(format!(
                        "--reject {code}: use 486 (busy), 603 (decline) or 480"
                    ));
                }
            }
            register_if_needed(phone, printer, events).await?;
            let mut session = Session::new(phone, printer, media.clone(), *max_calls, *reject);
            session.answer_after = secs(*answer_after);
            session.run(events, profile).await
        }
    }
}

/// The timed reactions of `call` and `listen`: answer after N s, send DTMF once answered,
/// hang up after --duration or when the WAV source ends, stop after --max-calls.
struct Session<'a> {
    phone: &'a Phone,
    printer: &'a Printer,
    media: MediaArgs,
    max_calls: Option<u32>,
    reject: Option<u16>,
    answer_after: Duration,
    outgoing: Option<CallId>,
    answer_at: HashMap<CallId, Instant>,
    hangup_at: HashMap<CallId, Instant>,
    dtmf_at: HashMap<CallId, Instant>,
    answered: HashMap<CallId, bool>,
    incoming_seen: u32,
    ended: u32,
}

impl<'a> Session<'a> {
    fn new(
        phone: &'a Phone,
        printer: &'a Printer,
        media: MediaArgs,
        max_calls: Option<u32>,
        reject: Option<u16>,
    ) -> Self {
        Session {
            phone,
            printer,
            media,
            max_calls,
            reject,
            answer_after: Duration::ZERO,
            outgoing: None,
            answer_at: HashMap::new(),
            hangup_at: HashMap::new(),
            dtmf_at: HashMap::new(),
            answered: HashMap::new(),
            incoming_seen: 0,
            ended: 0,
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.answer_at
            .values()
            .chain(self.hangup_at.values())
            .chain(self.dtmf_at.values())
            .min()
            .copied()
    }

    async fn run(
        &mut self,
        events: &mut tokio::sync::broadcast::Receiver<PhoneEvent>,
        profile: &Profile,
    ) -> Result<(), String> {
        loop {
            let deadline = self
                .next_deadline()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => self.fire(profile).await,
                _ = tokio::signal::ctrl_c() => return Err("interrupted".into()),
                ev = events.recv() => {
                    let ev = match ev {
                        Ok(ev) => ev,
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return Err("engine stopped".into()),
                    };
                    self.printer.event(&ev);
                    if let Some(done) = self.on_event(ev).await {
                        return done;
                    }
                }
            }
        }
    }

    async fn fire(&mut self, profile: &Profile) {
        let now = Instant::now();
        let due: Vec<CallId> = self
            .answer_at
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.answer_at.remove(&id);
            match call_options(&self.media, &profile.codecs, self.incoming_seen.max(1)) {
                Ok(opts) => {
                    if let Err(e) = self.phone.answer(id, opts).await {
                        self.printer.event(&PhoneEvent::Warning {
                            message: format!("could not answer call {id}: {e}"),
                        });
                    }
                }
                Err(e) => self.printer.event(&PhoneEvent::Warning { message: e }),
            }
        }
        let due: Vec<CallId> = self
            .dtmf_at
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.dtmf_at.remove(&id);
            if let Some(d) = &self.media.dtmf {
                if let Err(e) = self.phone.send_dtmf(id, d).await {
                    self.printer.event(&PhoneEvent::Warning {
                        message: format!("could not send DTMF: {e}"),
                    });
                }
            }
        }
        let due: Vec<CallId> = self
            .hangup_at
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.hangup_at.remove(&id);
            let _ = self.phone.hangup(id).await;
        }
    }

    /// Reacts to one event; Some(result) ends the session.
    async fn on_event(&mut self, ev: PhoneEvent) -> Option<Result<(), String>> {
        match ev {
            PhoneEvent::IncomingCall { call } => {
                if self.outgoing.is_some() {
                    let _ = self.phone.reject(call.id, 486).await;
                    return None;
                }
                self.incoming_seen += 1;
                if let Some(code) = self.reject {
                    if let Err(e) = self.phone.reject(call.id, code).await {
                        self.printer.event(&PhoneEvent::Warning {
                            message: e.to_string(),
                        });
                    }
                } else {
                    self.answer_at
                        .insert(call.id, Instant::now() + self.answer_after);
                }
            }
            PhoneEvent::CallUpdated { call } if call.state == CallState::Answered => {
                if self.answered.insert(call.id, true).is_none() {
                    if self.media.dtmf.is_some() {
                        // Give the far end's media a moment to start before the first digit.
                        self.dtmf_at
                            .insert(call.id, Instant::now() + Duration::from_millis(500));
                    }
                    if let Some(d) = self.media.duration {
                        self.hangup_at.insert(call.id, Instant::now() + secs(d));
                    }
                }
            }
            PhoneEvent::AudioInputEnded { call_id } => {
                // `call` ends when its WAV source has played (unless --duration says otherwise);
                // `listen` leaves ending to the caller or --duration.
                if self.outgoing == Some(call_id)
                    && self.media.duration.is_none()
                    && !self.hangup_at.contains_key(&call_id)
                {
                    self.hangup_at
                        .insert(call_id, Instant::now() + Duration::from_millis(500));
                }
            }
            PhoneEvent::CallEnded {
                call,
                reason,
                message,
            } => {
                self.answer_at.remove(&call.id);
                self.hangup_at.remove(&call.id);
                self.dtmf_at.remove(&call.id);
                self.ended += 1;
                if self.outgoing == Some(call.id) {
                    let ok = call.answered_at_ms.is_some()
                        && matches!(reason, EndReason::LocalHangup | EndReason::RemoteHangup);
                    return Some(if ok { Ok(()) } else { Err(message) });
                }
                if let Some(max) = self.max_calls {
                    if self.ended >= max {
                        return Some(Ok(()));
                    }
                }
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_output_files_per_call() {
        assert_eq!(
            numbered(Path::new("/t/rx.wav"), 1),
            PathBuf::from("/t/rx.wav")
        );
        assert_eq!(
            numbered(Path::new("/t/rx.wav"), 3),
            PathBuf::from("/t/rx-3.wav")
        );
    }

    #[test]
    fn reads_audio_endpoints() {
        assert_eq!(endpoint("null"), AudioEndpoint::Null);
        assert_eq!(endpoint("default"), AudioEndpoint::Default);
        assert_eq!(
            endpoint("/x/a.WAV"),
            AudioEndpoint::Wav(PathBuf::from("/x/a.WAV"))
        );
        assert_eq!(
            endpoint("USB Headset"),
            AudioEndpoint::Device(Some("USB Headset".into()))
        );
    }

    #[test]
    fn rejects_bad_codec_and_dtmf_before_dialling() {
        let m = MediaArgs {
            codec: vec!["g729".into()],
            ..Default::default()
        };
        assert!(call_options(&m, &[], 1)
            .unwrap_err()
            .contains("unknown codec 'g729'"));
        let m = MediaArgs {
            audio_in: "null".into(),
            audio_out: "null".into(),
            dtmf: Some("12x".into()),
            ..Default::default()
        };
        assert!(call_options(&m, &[], 1)
            .unwrap_err()
            .contains("invalid DTMF digit 'x'"));
    }
}
