//! The running engine and its lifecycle: load the profile, start the `Phone`, register,
//! restart it when the account is saved, shut it down (un-REGISTER) when the window closes.

use crate::config::{self, ENV_AUDIO_IN, ENV_AUDIO_OUT, ENV_PASSWORD, ENV_PROFILE};
use crate::events;
use hookflash_phone::routing::{InvalidRouting, RoutingSettings, SettingsProblem};
use hookflash_phone::{
    AccountConfig, CallOptions, PasswordSource, Phone, Profile, RegistrationState,
};
use hookflash_phone::{Availability, LinkSettings, VoiceProcessing};

/// Writes the profile with the phone crate's writer; the error is the sentence to show.
fn save_profile(path: &std::path::Path, profile: &Profile) -> Result<(), String> {
    hookflash_phone::save_profile(path, profile).map_err(|e| e.to_string())
}
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;
use tauri::AppHandle;
use tokio::sync::Mutex;

/// How long closing the window waits for the un-REGISTER before quitting anyway.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A call parked this long gets a reminder (the window also highlights it: `PARK_RECALL_MS` in
/// ui/src/App.svelte).
const PARK_RECALL: Duration = Duration::from_secs(120);

/// What the window needs to know about the account (`account` command).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AccountView {
    /// Whether a profile exists (false: show the settings form).
    pub configured: bool,
    pub profile_path: Option<String>,
    pub account: Option<AccountConfig>,
    pub registration: RegistrationState,
    /// Why the profile could not be loaded or the engine not started, if so.
    pub error: Option<String>,
    /// What went wrong while the engine started without stopping it (e.g. an unreadable
    /// history file kept aside), for the window to show once it is up.
    pub warning: Option<String>,
    /// Voicemail target for "send to voicemail", if configured.
    pub voicemail: Option<String>,
    /// Outbound caller IDs the dial pad offers (`dialling.caller_ids`).
    pub caller_ids: Vec<hookflash_phone::dialling::CallerId>,
    /// Every account of the profile with its registration (the first is `account`); more than
    /// one: the window lists them and the dial pad offers a "from" choice.
    pub accounts: Vec<hookflash_phone::AccountStatus>,
}

#[derive(Default)]
struct Inner {
    phone: Option<Phone>,
    profile: Option<Profile>,
    error: Option<String>,
    forwarder: Option<tauri::async_runtime::JoinHandle<()>>,
    /// Rings for incoming calls on the ringer device (see `crate::audio_settings`).
    ringer: Option<hookflash_phone::Ringer>,
    /// Presence and do-not-disturb as the user last set them; kept when the engine restarts
    /// (saving the account), not across app restarts.
    availability: Availability,
    /// `Phone::start_warnings` of the running engine, joined.
    start_warning: Option<String>,
}

/// Tauri-managed state: the engine handle, if running, and the loaded profile.
pub struct Session {
    inner: Mutex<Inner>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn profile_path() -> Result<PathBuf, String> {
    config::profile_path(env(ENV_PROFILE), config::os_config_dir())
}

impl Session {
    /// The running engine, or the sentence explaining why there is none.
    pub async fn phone(&self) -> Result<Phone, String> {
        let inner = self.inner.lock().await;
        match &inner.phone {
            Some(phone) => Ok(phone.clone()),
            None => Err(inner.error.clone().unwrap_or_else(|| {
                "no account is set up yet; fill in the account settings first".into()
            })),
        }
    }

    /// Media options for a call (audio env overrides, profile codecs).
    pub async fn call_options(&self) -> CallOptions {
        let inner = self.inner.lock().await;
        config::call_options(
            inner.profile.as_ref(),
            env(ENV_AUDIO_IN),
            env(ENV_AUDIO_OUT),
        )
    }

    pub async fn account_view(&self) -> AccountView {
        let inner = self.inner.lock().await;
        AccountView {
            configured: inner.profile.is_some(),
            profile_path: profile_path().ok().map(|p| p.display().to_string()),
            account: inner.profile.as_ref().map(|p| p.account.clone()),
            registration: inner
                .phone
                .as_ref()
                .map(Phone::registration)
                .unwrap_or(RegistrationState::Unregistered),
            error: inner.error.clone(),
            warning: inner.start_warning.clone(),
            voicemail: inner.profile.as_ref().and_then(|p| p.voicemail.clone()),
            caller_ids: inner
                .profile
                .as_ref()
                .map(|p| p.dialling.caller_ids.clone())
                .unwrap_or_default(),
            accounts: match (&inner.phone, &inner.profile) {
                (Some(phone), _) => phone.accounts(),
                (None, Some(p)) => p
                    .phone_config()
                    .accounts()
                    .into_iter()
                    .map(|a| hookflash_phone::AccountStatus {
                        aor: a.aor.clone(),
                        display_name: a.display_name.clone(),
                        registers: a.register,
                        registration: RegistrationState::Unregistered,
                        public_address: None,
                        outbound: false,
                        keep_alive_secs: None,
                    })
                    .collect(),
                (None, None) => Vec::new(),
            },
        }
    }

    /// Presence and do-not-disturb as in effect.
    pub async fn availability(&self) -> Availability {
        self.inner.lock().await.availability
    }

    /// Sets presence and do-not-disturb for the next incoming call; the engine announces it as an
    /// `availability` event.
    pub async fn set_availability(&self, availability: Availability) -> Availability {
        let mut inner = self.inner.lock().await;
        inner.availability = availability;
        if let Some(phone) = &inner.phone {
            phone.set_availability(availability);
        }
        availability
    }

    /// The configured voicemail target.
    pub async fn voicemail(&self) -> Option<String> {
        self.inner
            .lock()
            .await
            .profile
            .as_ref()
            .and_then(|p| p.voicemail.clone())
    }

    /// Reads the profile (if any) before the window exists, so the window's first `account`
    /// call already knows whether to show the phone or the settings form.
    pub fn from_disk() -> Session {
        let mut inner = Inner::default();
        let loaded = profile_path().and_then(|path| {
            hookflash_phone::load_profile_if_exists(&path).map_err(|e| e.to_string())
        });
        match loaded {
            Ok(Some(profile)) => inner.profile = Some(profile),
            Ok(None) => tracing::info!("no profile yet; the window shows the account settings"),
            Err(error) => {
                tracing::warn!("{error}");
                inner.error = Some(error);
            }
        }
        Session {
            inner: Mutex::new(inner),
        }
    }

    /// App start: starts the engine with the profile read by [`Session::from_disk`], if any.
    pub async fn start_loaded(&self, app: &AppHandle) {
        let profile = self.inner.lock().await.profile.clone();
        if let Some(profile) = profile {
            self.start(
                app,
                profile,
                PasswordSource::from_env_value(env(ENV_PASSWORD)),
            )
            .await;
        }
    }

    /// Saves the account form: writes the profile, keeps the password, restarts the engine.
    pub async fn save_account(
        &self,
        app: &AppHandle,
        form: config::AccountForm,
        password: Option<String>,
    ) -> Result<AccountView, String> {
        let path = profile_path()?;
        let existing = self.inner.lock().await.profile.clone();
        let profile = config::apply_form(existing.as_ref(), &form)?;
        save_profile(&path, &profile)?;
        let password = password.filter(|p| !p.is_empty());
        let source = match (&password, env(ENV_PASSWORD)) {
            (_, Some(from_env)) => PasswordSource::from_env_value(Some(from_env)),
            (Some(typed), None) => {
                if let Err(error) = store_password(&profile.account.aor, typed).await {
                    events::warn(
                        app,
                        format!("the password is used for this session only: {error}"),
                    );
                }
                PasswordSource::Plain(typed.clone())
            }
            (None, None) => PasswordSource::Keyring,
        };
        self.stop().await;
        self.start(app, profile, source).await;
        Ok(self.account_view().await)
    }

    /// The routing settings of the loaded profile (defaults when there is none).
    pub async fn routing(&self) -> RoutingSettings {
        self.inner
            .lock()
            .await
            .profile
            .as_ref()
            .map(|p| p.routing.clone())
            .unwrap_or_default()
    }

    /// Validates routing settings and writes them to the profile; nothing is saved if any rule or
    /// field is wrong (the problems say which). The running engine uses them from the next call.
    pub async fn save_routing(
        &self,
        settings: RoutingSettings,
    ) -> Result<RoutingSettings, InvalidRouting> {
        settings.validate()?;
        let not_saved = |message: String| InvalidRouting {
            problems: vec![SettingsProblem {
                rule: None,
                field: "profile".into(),
                message,
            }],
        };
        let path = profile_path().map_err(not_saved)?;
        let mut inner = self.inner.lock().await;
        let Some(profile) = inner.profile.as_mut() else {
            return Err(not_saved(
                "set up the account first: routing is saved in its profile".into(),
            ));
        };
        let mut updated = profile.clone();
        updated.routing = settings.clone();
        save_profile(&path, &updated).map_err(not_saved)?;
        *profile = updated;
        if let Some(phone) = &inner.phone {
            phone.set_routing(settings.clone())?;
        }
        Ok(settings)
    }

    /// Echo cancellation etc. of the loaded profile (all on when there is none).
    pub async fn voice_processing(&self) -> VoiceProcessing {
        self.inner
            .lock()
            .await
            .profile
            .as_ref()
            .map(|p| p.voice_processing)
            .unwrap_or_default()
    }

    /// Switches voice processing for every call at once and keeps the choice in the profile.
    pub async fn save_voice_processing(
        &self,
        v: VoiceProcessing,
    ) -> Result<VoiceProcessing, String> {
        let path = profile_path()?;
        let mut inner = self.inner.lock().await;
        let Some(profile) = inner.profile.as_mut() else {
            return Err("set up the account first: this setting is saved in its profile".into());
        };
        let mut updated = profile.clone();
        updated.voice_processing = v;
        save_profile(&path, &updated)?;
        *profile = updated;
        if let Some(phone) = &inner.phone {
            phone.set_voice_processing(v);
        }
        Ok(v)
    }

    /// What the app does with links (ask first unless switched off; asks when there is no profile).
    pub async fn link_settings(&self) -> LinkSettings {
        self.inner
            .lock()
            .await
            .profile
            .as_ref()
            .map(|p| p.links)
            .unwrap_or_default()
    }

    /// Keeps the link settings in the profile.
    pub async fn save_link_settings(&self, links: LinkSettings) -> Result<LinkSettings, String> {
        let path = profile_path()?;
        let mut inner = self.inner.lock().await;
        let Some(profile) = inner.profile.as_mut() else {
            return Err("set up the account first: this setting is saved in its profile".into());
        };
        let mut updated = profile.clone();
        updated.links = links;
        save_profile(&path, &updated)?;
        *profile = updated;
        Ok(links)
    }

    /// The sound devices chosen in the profile.
    pub async fn audio_devices(&self) -> hookflash_phone::AudioDevices {
        self.inner
            .lock()
            .await
            .profile
            .as_ref()
            .map(|p| p.audio.clone())
            .unwrap_or_default()
    }

    /// Saves the chosen devices; the next call uses them and the ringer moves at once.
    pub async fn save_audio_devices(
        &self,
        devices: hookflash_phone::AudioDevices,
    ) -> Result<hookflash_phone::AudioDevices, String> {
        let path = profile_path()?;
        let mut inner = self.inner.lock().await;
        let Some(profile) = inner.profile.as_mut() else {
            return Err("set up the account first: this setting is saved in its profile".into());
        };
        let mut updated = profile.clone();
        updated.audio = devices.clone();
        save_profile(&path, &updated)?;
        *profile = updated;
        if let Some(phone) = inner.phone.clone() {
            inner.ringer = None; // stop the old one first
            inner.ringer = Some(crate::audio_settings::start_ringer(&phone, &devices));
        }
        Ok(devices)
    }

    /// Starts the engine for `profile`, forwards its events, and registers if the account says so.
    async fn start(&self, app: &AppHandle, profile: Profile, password: PasswordSource) {
        let phone_config = profile.phone_config();
        let register = profile.account.register;
        let mut inner = self.inner.lock().await;
        inner.profile = Some(profile);
        match Phone::start(phone_config, password).await {
            Ok(phone) => {
                phone.set_park_recall(Some(PARK_RECALL));
                phone.set_availability(inner.availability);
                // The same profile settings, applied the same way, as the CLI (the profile was
                // validated when it was read; this only guards against drift).
                if let Some(profile) = &inner.profile {
                    if let Err(error) = phone.apply_profile(profile) {
                        tracing::warn!("profile settings not applied: {error}");
                    }
                }
                inner.forwarder = Some(events::forward(app.clone(), phone.subscribe()));
                let registers = phone.accounts().iter().any(|a| a.registers);
                crate::tray::adapter::engine_started(app, registers, inner.availability);
                let devices = inner
                    .profile
                    .as_ref()
                    .map(|p| p.audio.clone())
                    .unwrap_or_default();
                inner.ringer = Some(crate::audio_settings::start_ringer(&phone, &devices));
                inner.phone = Some(phone.clone());
                inner.error = None;
                let warnings = phone.start_warnings();
                inner.start_warning = (!warnings.is_empty()).then(|| warnings.join("; "));
                drop(inner);
                for warning in warnings {
                    events::warn(app, warning);
                }
                if register {
                    // In the background: saving the account must not wait for a slow registrar.
                    // Progress and failures reach the window as Registration events; only logged here.
                    tauri::async_runtime::spawn(async move {
                        if let Err(error) = phone.register().await {
                            tracing::warn!("registration: {error}");
                        }
                    });
                }
            }
            Err(error) => {
                let message = format!("the phone could not start: {error}");
                inner.error = Some(message.clone());
                drop(inner);
                crate::tray::adapter::engine_stopped(app);
                events::warn(app, message);
            }
        }
    }

    /// Hangs up, un-registers and stops forwarding events.
    pub async fn stop(&self) {
        let (phone, forwarder) = {
            let mut inner = self.inner.lock().await;
            (inner.phone.take(), inner.forwarder.take())
        };
        if let Some(phone) = phone {
            if tokio::time::timeout(SHUTDOWN_TIMEOUT, phone.shutdown())
                .await
                .is_err()
            {
                tracing::warn!(
                    "the phone did not shut down within {SHUTDOWN_TIMEOUT:?}; quitting anyway"
                );
            }
        }
        if let Some(forwarder) = forwarder {
            forwarder.abort();
        }
    }
}

/// Keeps the typed password in the OS keyring (service "hookflash", user = AOR). Blocking D-Bus
/// round trips, so off the async threads.
async fn store_password(aor: &str, password: &str) -> Result<(), String> {
    let (aor, password) = (aor.to_string(), password.to_string());
    tauri::async_runtime::spawn_blocking(move || hookflash_store::set_password(&aor, &password))
        .await
        .map_err(|error| format!("the keyring task failed: {error}"))?
        .map_err(|error| error.to_string())
}
