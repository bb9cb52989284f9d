//! Where the app's settings come from: which profile file, the account form, and the per-call
//! audio endpoints. Reading, validating and writing the profile and the meaning of
//! `HOOKFLASH_PASSWORD` are the phone crate's (`hookflash_phone::{load_profile_if_exists,
//! save_profile}`, `PasswordSource::from_env_value`), the same as for the CLI. Plain functions over
//! explicit inputs (paths, env values), so the rules are unit-tested without the real environment.

use hookflash_phone::{
    AccountConfig, AudioEndpoint, CallOptions, Profile, TransferRequests, Transport,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Env var naming the profile file (overrides the default location).
pub const ENV_PROFILE: &str = "HOOKFLASH_PROFILE";
/// Env var carrying the account password (overrides the keyring; empty means "no password").
pub const ENV_PASSWORD: &str = "HOOKFLASH_PASSWORD";
/// Env vars overriding the call audio: `null`, or a WAV file path.
pub const ENV_AUDIO_IN: &str = "HOOKFLASH_AUDIO_IN";
pub const ENV_AUDIO_OUT: &str = "HOOKFLASH_AUDIO_OUT";

/// The profile file to use: `$HOOKFLASH_PROFILE`, else `<config dir>/hookflash/profile.toml`.
pub fn profile_path(
    env_profile: Option<String>,
    config_dir: Option<PathBuf>,
) -> Result<PathBuf, String> {
    if let Some(path) = env_profile.filter(|p| !p.trim().is_empty()) {
        return Ok(PathBuf::from(path));
    }
    config_dir
        .map(|dir| dir.join("hookflash").join("profile.toml"))
        .ok_or_else(|| {
            format!("cannot find your configuration folder; set {ENV_PROFILE} to a profile file")
        })
}

/// The OS configuration folder (`~/.config` on Linux).
pub fn os_config_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.config_dir().to_path_buf())
}

/// One audio endpoint from its env override: unset means the OS default device.
pub fn audio_endpoint(env_value: Option<String>) -> AudioEndpoint {
    match env_value.as_deref().map(str::trim) {
        None | Some("") => AudioEndpoint::Default,
        Some(value) if value.eq_ignore_ascii_case("null") => AudioEndpoint::Null,
        Some(path) => AudioEndpoint::Wav(PathBuf::from(path)),
    }
}

/// Media options for every call: audio from the env overrides, codecs from the profile.
pub fn call_options(
    profile: Option<&Profile>,
    env_in: Option<String>,
    env_out: Option<String>,
) -> CallOptions {
    // The env overrides (tests, headless runs); otherwise the devices chosen in settings.
    let devices = profile.map(|p| p.audio.clone()).unwrap_or_default();
    CallOptions {
        audio_in: if env_in.is_some() {
            audio_endpoint(env_in)
        } else {
            devices.microphone_endpoint()
        },
        audio_out: if env_out.is_some() {
            audio_endpoint(env_out)
        } else {
            devices.speaker_endpoint()
        },
        codecs: profile.map(|p| p.codecs.clone()).unwrap_or_default(),
        caller_id: None,
        from: None,
    }
}

/// The account fields the settings form edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct AccountForm {
    pub aor: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub auth_user: Option<String>,
    #[serde(default)]
    pub registrar: Option<String>,
    #[serde(default)]
    pub outbound_proxy: Option<String>,
    #[serde(default)]
    pub transport: Option<Transport>,
    #[serde(default)]
    pub expires: Option<u32>,
    pub register: bool,
    /// Where "Voicemail" on the incoming card sends a call; blank: no such button.
    #[serde(default)]
    pub voicemail: Option<String>,
    /// What the far end's request to transfer a call does: accept, refuse or ask the user.
    /// Absent: unchanged.
    #[serde(default)]
    pub transfer_requests: Option<TransferRequests>,
}

/// Applies the form to the existing profile (or a new one), keeping the fields the form does not show
/// (listen address, CA file, history file, codecs). Empty text fields mean "not set".
pub fn apply_form(existing: Option<&Profile>, form: &AccountForm) -> Result<Profile, String> {
    let aor = form.aor.trim();
    if aor.is_empty() {
        return Err("enter the account address, e.g. sip:alice@example.com".into());
    }
    let blank_to_none = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let mut profile = existing
        .cloned()
        .unwrap_or_else(|| Profile::new(AccountConfig::new(String::new())));
    let account = &mut profile.account;
    account.aor = aor.to_string();
    account.display_name = blank_to_none(&form.display_name);
    account.auth_user = blank_to_none(&form.auth_user);
    account.registrar = blank_to_none(&form.registrar);
    account.outbound_proxy = blank_to_none(&form.outbound_proxy);
    account.transport = form.transport;
    if let Some(expires) = form.expires {
        account.expires = expires;
    }
    account.register = form.register;
    if let Some(policy) = form.transfer_requests {
        account.transfer_requests = policy;
    }
    profile.voicemail = blank_to_none(&form.voicemail);
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
history_db = "/tmp/h.sqlite3"
codecs = ["pcmu"]
[account]
aor = "sip:alice@example.com"
registrar = "sip:example.com;transport=tls"
listen = "127.0.0.1:5099"
register = false
"#;

    #[test]
    fn env_profile_wins_over_config_dir() {
        let p = profile_path(Some("/x/p.toml".into()), Some("/home/me/.config".into())).unwrap();
        assert_eq!(p, PathBuf::from("/x/p.toml"));
        let p = profile_path(None, Some("/home/me/.config".into())).unwrap();
        assert_eq!(p, PathBuf::from("/home/me/.config/hookflash/profile.toml"));
        assert!(profile_path(None, None).unwrap_err().contains(ENV_PROFILE));
    }

    #[test]
    fn audio_overrides() {
        assert_eq!(audio_endpoint(None), AudioEndpoint::Default);
        assert_eq!(audio_endpoint(Some("NULL".into())), AudioEndpoint::Null);
        assert_eq!(
            audio_endpoint(Some("/a.wav".into())),
            AudioEndpoint::Wav("/a.wav".into())
        );
    }

    #[test]
    fn form_keeps_hidden_fields_and_blanks_mean_unset() {
        let existing = hookflash_phone::parse_profile(SAMPLE).unwrap();
        let form = AccountForm {
            aor: " sip:bob@example.org ".into(),
            display_name: Some("Bob".into()),
            auth_user: Some("  ".into()),
            registrar: None,
            outbound_proxy: None,
            transport: Some(Transport::Tcp),
            expires: None,
            register: true,
            voicemail: Some(" sip:vm@example.org ".into()),
            transfer_requests: None,
        };
        let profile = apply_form(Some(&existing), &form).unwrap();
        assert_eq!(profile.voicemail.as_deref(), Some("sip:vm@example.org"));
        assert_eq!(profile.account.aor, "sip:bob@example.org");
        assert_eq!(profile.account.auth_user, None);
        assert_eq!(profile.account.registrar, None);
        assert_eq!(profile.account.listen, existing.account.listen);
        assert_eq!(profile.history_db, existing.history_db);
        assert!(profile.account.register);
        // Not given: the profile's policy stays; given: it is the account's.
        assert_eq!(profile.account.transfer_requests, TransferRequests::Accept);
        let asking = AccountForm {
            transfer_requests: Some(TransferRequests::Ask),
            ..form.clone()
        };
        let profile = apply_form(Some(&profile), &asking).unwrap();
        assert_eq!(profile.account.transfer_requests, TransferRequests::Ask);
        assert_eq!(
            apply_form(Some(&profile), &form)
                .unwrap()
                .account
                .transfer_requests,
            TransferRequests::Ask
        );
        let written = toml::to_string(&apply_form(Some(&profile), &asking).unwrap()).unwrap();
        assert!(written.contains("transfer_requests = \"ask\""), "{written}");
        let empty = AccountForm {
            aor: " ".into(),
            ..form
        };
        assert!(apply_form(None, &empty).is_err());
    }
}
