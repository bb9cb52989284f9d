//! Where the app's settings come from: the profile TOML file, the password source and the
//! per-call audio endpoints. Plain functions over explicit inputs (paths, env values), so the
//! rules are unit-tested without touching the real environment.

use hookflash_phone::{
    AccountConfig, AudioEndpoint, CallOptions, PasswordSource, PhoneConfig, Profile, Transport,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

/// Reads a profile. `Ok(None)` when the file does not exist yet (first start: show the settings form).
pub fn load_profile(path: &Path) -> Result<Option<Profile>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(format!(
                "cannot read the profile {}: {error}",
                path.display()
            ))
        }
    };
    parse_profile(&text)
        .map(Some)
        .map_err(|error| format!("the profile {} is not valid: {error}", path.display()))
}

/// Parses profile TOML text (the format documented on [`Profile`]).
pub fn parse_profile(text: &str) -> Result<Profile, String> {
    let profile: Profile = toml::from_str(text).map_err(|error| error.to_string().trim().to_string())?;
    profile.routing.validate().map_err(|error| error.to_string())?;
    profile
        .dialling
        .validate()
        .map_err(|problems| format!("dialling: {}", problems.join("; ")))?;
    if let Some(park) = &profile.account.shared_park {
        park.validate()
            .map_err(|problems| format!("account.shared_park: {}", problems.join("; ")))?;
    }
    Ok(profile)
}

/// Writes a profile, creating its folder.
pub fn save_profile(path: &Path, profile: &Profile) -> Result<(), String> {
    let text = toml::to_string_pretty(profile)
        .map_err(|error| format!("cannot write the profile: {error}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|error| format!("cannot create the folder {}: {error}", dir.display()))?;
    }
    std::fs::write(path, text)
        .map_err(|error| format!("cannot save the profile {}: {error}", path.display()))
}

/// The engine configuration for a profile; `default_history` is used when it names no history file.
pub fn phone_config(profile: &Profile, default_history: PathBuf) -> PhoneConfig {
    PhoneConfig {
        account: profile.account.clone(),
        history_db: profile.history_db.clone().unwrap_or(default_history),
        user_agent: Some(format!("Hookflash/{}", env!("CARGO_PKG_VERSION"))),
    }
}

/// Password from `$HOOKFLASH_PASSWORD` when set (empty: none), else the OS keyring.
pub fn password_source(env_password: Option<String>) -> PasswordSource {
    match env_password {
        Some(password) if password.is_empty() => PasswordSource::None,
        Some(password) => PasswordSource::Plain(password),
        None => PasswordSource::Keyring,
    }
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
        audio_in: if env_in.is_some() { audio_endpoint(env_in) } else { devices.microphone_endpoint() },
        audio_out: if env_out.is_some() { audio_endpoint(env_out) } else { devices.speaker_endpoint() },
        codecs: profile.map(|p| p.codecs.clone()).unwrap_or_default(),
        caller_id: None,
    }
}

/// The account fields the settings form edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    fn parses_the_documented_profile() {
        let profile = parse_profile(SAMPLE).unwrap();
        assert_eq!(profile.account.aor, "sip:alice@example.com");
        assert!(!profile.account.register);
        assert_eq!(profile.account.expires, 600);
        assert_eq!(profile.codecs.len(), 1);
        let config = phone_config(&profile, "/default.sqlite3".into());
        assert_eq!(config.history_db, PathBuf::from("/tmp/h.sqlite3"));
    }

    #[test]
    fn bad_profile_names_the_problem() {
        let error = parse_profile("[account]\nregister = true\n").unwrap_err();
        assert!(error.contains("aor"), "{error}");
    }

    #[test]
    fn shared_park_orbits_are_validated() {
        let head = "[account]\naor = \"sip:alice@example.com\"\n[account.shared_park]\n";
        let p = parse_profile(&format!("{head}orbits = [\"701-702\"]\n")).unwrap();
        assert_eq!(p.account.shared_park.unwrap().slots().unwrap(), vec!["701", "702"]);
        let e = parse_profile(&format!("{head}orbits = [\"702-701\"]\n")).unwrap_err();
        assert!(e.contains("account.shared_park") && e.contains("702-701"), "{e}");
    }

    #[test]
        fn missing_profile_is_not_an_error() {
        let dir = std::env::temp_dir().join(format!("hookflash-app-test-{}", std::process::id()));
        assert_eq!(load_profile(&dir.join("none.toml")).unwrap(), None);
    }

    #[test]
    fn saved_profile_reads_back() {
        let dir = std::env::temp_dir().join(format!("hookflash-app-save-{}", std::process::id()));
        let path = dir.join("sub").join("profile.toml");
        let profile = parse_profile(SAMPLE).unwrap();
        save_profile(&path, &profile).unwrap();
        assert_eq!(load_profile(&path).unwrap(), Some(profile));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn password_and_audio_overrides() {
        assert!(matches!(password_source(None), PasswordSource::Keyring));
        assert!(matches!(
            password_source(Some(String::new())),
            PasswordSource::None
        ));
        assert!(
            matches!(password_source(Some("pw".into())), PasswordSource::Plain(p) if p == "pw")
        );
        assert_eq!(audio_endpoint(None), AudioEndpoint::Default);
        assert_eq!(audio_endpoint(Some("NULL".into())), AudioEndpoint::Null);
        assert_eq!(
            audio_endpoint(Some("/a.wav".into())),
            AudioEndpoint::Wav("/a.wav".into())
        );
    }

    #[test]
    fn form_keeps_hidden_fields_and_blanks_mean_unset() {
        let existing = parse_profile(SAMPLE).unwrap();
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
        };
        let profile = apply_form(Some(&existing), &form).unwrap();
        assert_eq!(profile.voicemail.as_deref(), Some("sip:vm@example.org"));
        assert_eq!(profile.account.aor, "sip:bob@example.org");
        assert_eq!(profile.account.auth_user, None);
        assert_eq!(profile.account.registrar, None);
        assert_eq!(profile.account.listen, existing.account.listen);
        assert_eq!(profile.history_db, existing.history_db);
        assert!(profile.account.register);
        let empty = AccountForm {
            aor: " ".into(),
            ..form
        };
        assert!(apply_form(None, &empty).is_err());
    }
}
