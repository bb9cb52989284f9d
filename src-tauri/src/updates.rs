//! Updates: whether and when Hookflash asks its update server for a newer release, and what the
//! settings view shows of it. Off by default (`check_for_updates` in `window.toml`): a phone
//! that talks to nobody but its SIP provider unless told to. When on, the first check comes a
//! few seconds after start (not in the way of start-up), then once a day; a failed one is tried
//! again in an hour. "Check now" asks at once, on or off (the user asked). An update is only
//! downloaded and installed when the user presses Install.
//!
//! The update server serves a manifest (`latest.json`: version, notes, and per platform the
//! package's URL and its minisign signature, `cargo xtask update-manifest` writes it). The
//! signature is checked against the public key in `tauri.conf.json` (`plugins.updater.pubkey`)
//! before anything is installed, and must name the version the manifest announced
//! (`requireSignedVersion`): a manifest tampered to pair a new number with an old package is
//! refused. Download, verification and the installation itself are tauri-plugin-updater's; a
//! copy that was not installed from a package (.deb, .rpm, .msi, .app) is not replaced.
//!
//! `Updates` below decides (inputs and the time in, outputs out, tested in virtual time);
//! `adapter` performs the checks and downloads with the plugin and tells the window (the
//! "update" channel; `update_status`, `check_for_updates`, `install_update`).

use serde::Serialize;
use std::collections::VecDeque;

/// After start, before the first check (ms): start-up first.
pub const FIRST_CHECK_MS: i64 = 5_000;
/// Between checks (ms).
pub const EVERY_MS: i64 = 24 * 60 * 60 * 1000;
/// After a failed check, before the next (ms).
pub const RETRY_MS: i64 = 60 * 60 * 1000;

/// What the settings view shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UpdateStatus {
    /// No checks unless asked (the setting is off).
    Off,
    /// Checks are on; the first is still to come.
    Waiting,
    Checking,
    /// The server has nothing newer than the running version.
    UpToDate {
        version: String,
    },
    /// A newer release: Install downloads it.
    Available {
        version: String,
        notes: Option<String>,
    },
    /// Downloading (percent when the server said how big it is), then checking its signature
    /// and installing.
    Installing {
        version: String,
        percent: Option<u8>,
    },
    /// Installed: the new version runs after a restart.
    Installed {
        version: String,
    },
    /// The last check or installation failed, and why.
    Failed {
        message: String,
    },
}

/// A release the server offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The setting changed.
    Enabled(bool),
    /// "Check now".
    CheckNow,
    /// The answer to `Output::Check`: a newer release, none, or the sentence of a failure.
    Checked(Result<Option<Release>, String>),
    /// "Install": download, verify and install the release available.
    Install,
    /// How much of the download has come.
    Progress(Option<u8>),
    /// The answer to `Output::Install`.
    Installed(Result<(), String>),
    Timeout,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Ask the server; then feed `Input::Checked`.
    Check,
    /// Download, verify and install this version; then feed `Input::Installed`.
    Install { version: String },
    /// The status changed.
    Status(UpdateStatus),
}

/// The decisions: when to check, what to show, when installing is allowed.
#[derive(Debug)]
pub struct Updates {
    /// The running version.
    current: String,
    enabled: bool,
    status: UpdateStatus,
    /// The next automatic check (ms), while enabled.
    check_at: Option<i64>,
    /// A check or an installation is in flight.
    busy: bool,
    out: VecDeque<Output>,
}

impl Updates {
    pub fn new(current: &str, enabled: bool, now: i64) -> Updates {
        Updates {
            current: current.to_string(),
            enabled,
            status: if enabled {
                UpdateStatus::Waiting
            } else {
                UpdateStatus::Off
            },
            check_at: enabled.then_some(now + FIRST_CHECK_MS),
            busy: false,
            out: VecDeque::new(),
        }
    }

    pub fn status(&self) -> &UpdateStatus {
        &self.status
    }

    /// When to feed `Input::Timeout` (ms).
    pub fn next_timeout(&self) -> Option<i64> {
        self.check_at
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn handle(&mut self, input: Input, now: i64) {
        match input {
            Input::Enabled(on) if on == self.enabled => {}
            Input::Enabled(true) => {
                self.enabled = true;
                // Switched on: the user wants to know now, not tomorrow.
                self.check_at = Some(now);
                if !self.busy && matches!(self.status, UpdateStatus::Off) {
                    self.set(UpdateStatus::Waiting);
                }
                self.run_due(now);
            }
            Input::Enabled(false) => {
                self.enabled = false;
                self.check_at = None;
                // What is known stays on screen; only a plain "checks on" turns back to off.
                if matches!(self.status, UpdateStatus::Waiting) {
                    self.set(UpdateStatus::Off);
                }
            }
            Input::CheckNow => {
                if !self.busy {
                    self.check();
                }
            }
            Input::Checked(result) => {
                if !matches!(self.status, UpdateStatus::Checking) {
                    return;
                }
                self.busy = false;
                let (status, again) = match result {
                    Ok(Some(release)) => (
                        UpdateStatus::Available {
                            version: release.version,
                            notes: release.notes.filter(|n| !n.trim().is_empty()),
                        },
                        EVERY_MS,
                    ),
                    Ok(None) => (
                        UpdateStatus::UpToDate {
                            version: self.current.clone(),
                        },
                        EVERY_MS,
                    ),
                    Err(message) => (UpdateStatus::Failed { message }, RETRY_MS),
                };
                self.check_at = self.enabled.then_some(now + again);
                self.set(status);
            }
            Input::Install => {
                if let UpdateStatus::Available { version, .. } = &self.status {
                    if !self.busy {
                        let version = version.clone();
                        self.busy = true;
                        self.out.push_back(Output::Install {
                            version: version.clone(),
                        });
                        self.set(UpdateStatus::Installing {
                            version,
                            percent: None,
                        });
                    }
                }
            }
            Input::Progress(percent) => {
                if let UpdateStatus::Installing { version, .. } = &self.status {
                    let status = UpdateStatus::Installing {
                        version: version.clone(),
                        percent: percent.map(|p| p.min(100)),
                    };
                    if status != self.status {
                        self.set(status);
                    }
                }
            }
            Input::Installed(result) => {
                let UpdateStatus::Installing { version, .. } = &self.status else {
                    return;
                };
                let version = version.clone();
                self.busy = false;
                match result {
                    // Nothing more to check for until the restart.
                    Ok(()) => {
                        self.check_at = None;
                        self.set(UpdateStatus::Installed { version });
                    }
                    Err(message) => self.set(UpdateStatus::Failed { message }),
                }
            }
            Input::Timeout => self.run_due(now),
        }
    }

    fn run_due(&mut self, now: i64) {
        if self.enabled && !self.busy && self.check_at.is_some_and(|at| at <= now) {
            self.check();
        }
    }

    fn check(&mut self) {
        self.busy = true;
        self.check_at = None;
        self.out.push_back(Output::Check);
        self.set(UpdateStatus::Checking);
    }

    fn set(&mut self, status: UpdateStatus) {
        self.status = status.clone();
        self.out.push_back(Output::Status(status));
    }
}

/// The sentence for a check that failed: `server` is the update server's host.
pub fn check_failed(server: &str, detail: &str) -> String {
    format!("cannot check for updates at {server}: {detail}")
}

/// Where a copy of the app came from decides whether the updater may replace it: a package
/// manager's or an installer's copy, yes; a copy built or unpacked by hand, no (the updater would
/// overwrite a file it does not own). Returns the sentence that says so, or None.
pub fn not_installable(bundle: Option<&str>) -> Option<String> {
    match bundle {
        Some(_) => None,
        None => Some(
            "this copy of Hookflash was not installed from a package (.deb, .rpm, .msi, .app), so \
             it is not replaced: get the new version the way you got this one"
                .to_string(),
        ),
    }
}

pub mod adapter {
    //! The plugin's side: checks, downloads and installs, the status sent to the window.

    use super::{Input, Output, Release, UpdateStatus, Updates};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    use tauri::{AppHandle, Emitter, Manager};
    use tauri_plugin_updater::UpdaterExt;

    /// The window's channel for `UpdateStatus`.
    pub const CHANNEL: &str = "update";
    /// How long a check or a download may go without an answer.
    const PATIENCE: Duration = Duration::from_secs(60);

    /// Tauri-managed: the decisions, the release to install, the loop's wake-up.
    pub struct UpdateState {
        updates: Mutex<Updates>,
        found: Mutex<Option<tauri_plugin_updater::Update>>,
        wake: tokio::sync::Notify,
        started: Instant,
    }

    impl UpdateState {
        pub fn new(enabled: bool) -> UpdateState {
            UpdateState {
                updates: Mutex::new(Updates::new(env!("CARGO_PKG_VERSION"), enabled, 0)),
                found: Mutex::new(None),
                wake: tokio::sync::Notify::new(),
                started: Instant::now(),
            }
        }

        fn now(&self) -> i64 {
            self.started.elapsed().as_millis() as i64
        }

        pub fn status(&self) -> UpdateStatus {
            self.updates
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .status()
                .clone()
        }
    }

    /// Feeds `input` and performs what follows.
    pub fn handle(app: &AppHandle, input: Input) {
        let state = app.state::<UpdateState>();
        let outputs: Vec<Output> = {
            let mut updates = state.updates.lock().unwrap_or_else(|e| e.into_inner());
            updates.handle(input, state.now());
            std::iter::from_fn(|| updates.poll_output()).collect()
        };
        state.wake.notify_one();
        for output in outputs {
            match output {
                Output::Status(status) => {
                    if let Err(error) = app.emit(CHANNEL, &status) {
                        tracing::warn!("cannot tell the window about updates: {error}");
                    }
                }
                Output::Check => {
                    let app = app.clone();
                    tauri::async_runtime::spawn(async move {
                        let result = check(&app).await;
                        handle(&app, Input::Checked(result));
                    });
                }
                Output::Install { version } => {
                    let app = app.clone();
                    tauri::async_runtime::spawn(async move {
                        let result = install(&app, &version).await;
                        handle(&app, Input::Installed(result));
                    });
                }
            }
        }
    }

    /// Starts the timer that runs the automatic checks.
    pub fn install_timer(app: &AppHandle) {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                let state = app.state::<UpdateState>();
                let next = state
                    .updates
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .next_timeout();
                let wait = next.map(|at| Duration::from_millis((at - state.now()).max(0) as u64));
                match wait {
                    Some(wait) => {
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => handle(&app, Input::Timeout),
                            _ = state.wake.notified() => {}
                        }
                    }
                    None => state.wake.notified().await,
                }
            }
        });
    }

    /// The update server's host, for sentences.
    fn server(app: &AppHandle) -> String {
        endpoints(app)
            .first()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "the update server".into())
    }

    /// The configured endpoints; a debug build takes `HOOKFLASH_UPDATE_ENDPOINT` instead (the
    /// e2e tests serve their own manifest; an installed build never reads it).
    fn endpoints(app: &AppHandle) -> Vec<tauri::Url> {
        if cfg!(debug_assertions) {
            if let Some(url) = std::env::var("HOOKFLASH_UPDATE_ENDPOINT")
                .ok()
                .and_then(|u| u.parse().ok())
            {
                return vec![url];
            }
        }
        app.config()
            .plugins
            .0
            .get("updater")
            .and_then(|u| u.get("endpoints"))
            .and_then(|e| e.as_array())
            .map(|urls| {
                urls.iter()
                    .filter_map(|u| u.as_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn updater(app: &AppHandle) -> Result<tauri_plugin_updater::Updater, String> {
        let mut builder = app.updater_builder().timeout(PATIENCE);
        if cfg!(debug_assertions) {
            // The e2e tests sign with a key of their own; an installed build only trusts the
            // key it was built with.
            if let Ok(key) = std::env::var("HOOKFLASH_UPDATE_PUBKEY") {
                builder = builder.pubkey(key);
            }
            builder = builder
                .endpoints(endpoints(app))
                .map_err(|e| e.to_string())?;
        }
        builder.build().map_err(|e| e.to_string())
    }

    async fn check(app: &AppHandle) -> Result<Option<Release>, String> {
        let server = server(app);
        let failed = |detail: String| super::check_failed(&server, &detail);
        let update = updater(app)
            .map_err(failed)?
            .check()
            .await
            .map_err(|e| failed(describe(&e)))?;
        let release = update.as_ref().map(|u| Release {
            version: u.version.clone(),
            notes: u.body.clone(),
        });
        if let Some(release) = &release {
            tracing::info!("update available: Hookflash {}", release.version);
        }
        *app.state::<UpdateState>()
            .found
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = update;
        Ok(release)
    }

    async fn install(app: &AppHandle, version: &str) -> Result<(), String> {
        let update = app
            .state::<UpdateState>()
            .found
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .filter(|u| u.version == version)
            .ok_or_else(|| format!("Hookflash {version} is no longer offered: check again"))?;
        let (mut received, mut shown) = (0usize, None);
        let progress = app.clone();
        let bytes = update
            .download(
                move |chunk, total| {
                    received += chunk;
                    let percent = total
                        .filter(|t| *t > 0)
                        .map(|t| (received as u64 * 100 / t).min(100) as u8);
                    if percent != shown {
                        shown = percent;
                        handle(&progress, Input::Progress(percent));
                    }
                },
                || {},
            )
            .await
            .map_err(|e| match e {
                tauri_plugin_updater::Error::Minisign(_)
                | tauri_plugin_updater::Error::Base64(_)
                | tauri_plugin_updater::Error::SignatureUtf8(_) => format!(
                    "the download of Hookflash {version} does not carry Hookflash's signature: nothing was installed"
                ),
                tauri_plugin_updater::Error::SignedVersionMismatch { signed, .. } => format!(
                    "the download offered as Hookflash {version} is signed as {signed}: nothing was installed"
                ),
                other => format!(
                    "cannot download Hookflash {version}: {}",
                    describe(&other)
                ),
            })?;
        tracing::info!("Hookflash {version} downloaded; its signature checks out");
        let bundle = tauri::utils::platform::bundle_type().map(|b| format!("{b:?}"));
        if let Some(why) = super::not_installable(bundle.as_deref()) {
            return Err(format!(
                "Hookflash {version} was downloaded and its signature checks out, but {why}"
            ));
        }
        update.install(bytes).map_err(|e| {
            let why = match &e {
                // pkexec, zenity/kdialog and sudo all missing: nothing to ask for the password with.
                tauri_plugin_updater::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::NotFound =>
                {
                    "this system has no way to ask for the administrator password (pkexec or sudo)"
                        .to_string()
                }
                other => describe(other),
            };
            format!("cannot install Hookflash {version}: {why}")
        })
    }

    /// The plugin's error as a sentence a user can act on.
    fn describe(error: &tauri_plugin_updater::Error) -> String {
        use tauri_plugin_updater::Error as E;
        match error {
            E::Reqwest(e) if e.is_timeout() => "it did not answer (timed out)".into(),
            E::Reqwest(e) if e.is_connect() => {
                format!("cannot connect ({})", innermost(e))
            }
            E::Reqwest(e) if e.is_decode() => "its answer is not an update manifest".into(),
            E::Reqwest(e) => innermost(e),
            E::Serialization(e) => format!("its answer is not an update manifest ({e})"),
            E::ReleaseNotFound => "it has no release manifest".into(),
            E::TargetNotFound(t) => format!("it has no package for this system ({t})"),
            E::TargetsNotFound(t) => {
                format!("it has no package for this system ({})", t.join(", "))
            }
            E::Network(detail) => detail.trim_matches('`').to_string(),
            E::AuthenticationFailed => "the administrator password was not given".into(),
            E::DebInstallFailed | E::PackageInstallFailed => {
                "the package manager refused the package".into()
            }
            E::InvalidUpdaterFormat => "the download is not a package for this system".into(),
            other => other.to_string(),
        }
    }

    /// The root cause of a request error (reqwest's own text is "error sending request for url").
    fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
        let mut cause = error;
        while let Some(next) = cause.source() {
            cause = next;
        }
        cause.to_string()
    }

    /// Whether automatic checks are on, from the settings (`save_window_settings`).
    pub fn set_enabled(app: &AppHandle, on: bool) {
        handle(app, Input::Enabled(on));
    }

    /// What the settings view shows now.
    #[tauri::command]
    pub async fn update_status(app: AppHandle) -> Result<UpdateStatus, String> {
        Ok(app.state::<UpdateState>().status())
    }

    /// "Check now".
    #[tauri::command]
    pub async fn check_for_updates(app: AppHandle) -> Result<UpdateStatus, String> {
        handle(&app, Input::CheckNow);
        Ok(app.state::<UpdateState>().status())
    }

    /// "Install": download, check the signature, install; the window follows on the channel.
    #[tauri::command]
    pub async fn install_update(app: AppHandle) -> Result<UpdateStatus, String> {
        handle(&app, Input::Install);
        Ok(app.state::<UpdateState>().status())
    }

    /// "Restart now" after an installation.
    #[tauri::command]
    pub async fn restart_after_update(app: AppHandle) -> Result<(), String> {
        app.state::<crate::session::Session>().stop().await;
        app.restart()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(u: &mut Updates) -> Vec<Output> {
        std::iter::from_fn(|| u.poll_output()).collect()
    }

    fn release(v: &str) -> Release {
        Release {
            version: v.into(),
            notes: Some("Transfers remember the last target.".into()),
        }
    }

    #[test]
    fn off_by_default_nothing_is_asked_until_the_user_asks() {
        let mut u = Updates::new("0.1.0", false, 0);
        assert_eq!(u.status(), &UpdateStatus::Off);
        assert_eq!(u.next_timeout(), None);
        u.handle(Input::Timeout, 10 * EVERY_MS);
        assert_eq!(drain(&mut u), vec![]);
        // "Check now" is asking.
        u.handle(Input::CheckNow, 10 * EVERY_MS);
        assert_eq!(
            drain(&mut u),
            vec![Output::Check, Output::Status(UpdateStatus::Checking)]
        );
        u.handle(Input::Checked(Ok(None)), 10 * EVERY_MS + 300);
        assert_eq!(
            u.status(),
            &UpdateStatus::UpToDate {
                version: "0.1.0".into()
            }
        );
        // Still off: no check follows by itself.
        assert_eq!(u.next_timeout(), None);
    }

    #[test]
    fn on_a_check_comes_after_start_up_then_daily_and_an_hour_after_a_failure() {
        let mut u = Updates::new("0.1.0", true, 1_000);
        assert_eq!(u.status(), &UpdateStatus::Waiting);
        assert_eq!(u.next_timeout(), Some(1_000 + FIRST_CHECK_MS));
        u.handle(Input::Timeout, 1_000 + FIRST_CHECK_MS - 1);
        assert_eq!(drain(&mut u), vec![]);
        let t = 1_000 + FIRST_CHECK_MS;
        u.handle(Input::Timeout, t);
        assert_eq!(
            drain(&mut u),
            vec![Output::Check, Output::Status(UpdateStatus::Checking)]
        );
        // One check at a time: neither the timer nor "Check now" asks twice.
        u.handle(Input::CheckNow, t + 10);
        u.handle(Input::Timeout, t + 20);
        assert_eq!(drain(&mut u), vec![]);
        u.handle(
            Input::Checked(Err(
                "cannot check for updates at u.example: cannot connect".into()
            )),
            t + 2_000,
        );
        assert_eq!(u.next_timeout(), Some(t + 2_000 + RETRY_MS));
        u.handle(Input::Timeout, t + 2_000 + RETRY_MS);
        u.handle(Input::Checked(Ok(None)), t + 2_500 + RETRY_MS);
        assert_eq!(u.next_timeout(), Some(t + 2_500 + RETRY_MS + EVERY_MS));
    }

    #[test]
    fn switched_on_it_checks_at_once_and_switched_off_it_stops() {
        let mut u = Updates::new("0.1.0", false, 0);
        u.handle(Input::Enabled(true), 50_000);
        assert_eq!(
            drain(&mut u),
            vec![
                Output::Status(UpdateStatus::Waiting),
                Output::Check,
                Output::Status(UpdateStatus::Checking)
            ]
        );
        u.handle(Input::Enabled(false), 50_100);
        // The answer in flight is still shown; no next check.
        u.handle(Input::Checked(Ok(Some(release("0.2.0")))), 50_200);
        assert_eq!(
            u.status(),
            &UpdateStatus::Available {
                version: "0.2.0".into(),
                notes: Some("Transfers remember the last target.".into())
            }
        );
        assert_eq!(u.next_timeout(), None);
    }

    #[test]
    fn install_only_what_is_offered_once_with_progress_and_a_failure_named() {
        let mut u = Updates::new("0.1.0", true, 0);
        // Nothing offered: Install does nothing.
        u.handle(Input::Install, 0);
        assert_eq!(drain(&mut u), vec![]);
        u.handle(Input::Timeout, FIRST_CHECK_MS);
        u.handle(Input::Checked(Ok(Some(release("0.2.0")))), FIRST_CHECK_MS);
        drain(&mut u);
        u.handle(Input::Install, FIRST_CHECK_MS + 1);
        u.handle(Input::Install, FIRST_CHECK_MS + 2);
        assert_eq!(
            drain(&mut u),
            vec![
                Output::Install {
                    version: "0.2.0".into()
                },
                Output::Status(UpdateStatus::Installing {
                    version: "0.2.0".into(),
                    percent: None
                })
            ]
        );
        // A check due meanwhile waits for the installation.
        u.handle(Input::Timeout, FIRST_CHECK_MS + EVERY_MS);
        u.handle(Input::Progress(Some(40)), FIRST_CHECK_MS + EVERY_MS);
        u.handle(Input::Progress(Some(40)), FIRST_CHECK_MS + EVERY_MS);
        assert_eq!(
            drain(&mut u),
            vec![Output::Status(UpdateStatus::Installing {
                version: "0.2.0".into(),
                percent: Some(40)
            })]
        );
        let refused = "the download of Hookflash 0.2.0 does not carry Hookflash's signature: nothing was installed";
        u.handle(
            Input::Installed(Err(refused.into())),
            FIRST_CHECK_MS + EVERY_MS + 5,
        );
        assert_eq!(
            u.status(),
            &UpdateStatus::Failed {
                message: refused.into()
            }
        );
        // The next check runs, offers it again; installed this time, and checks stop.
        u.handle(Input::Timeout, FIRST_CHECK_MS + EVERY_MS + 6);
        u.handle(
            Input::Checked(Ok(Some(release("0.2.0")))),
            FIRST_CHECK_MS + EVERY_MS + 7,
        );
        u.handle(Input::Install, FIRST_CHECK_MS + EVERY_MS + 8);
        u.handle(Input::Installed(Ok(())), FIRST_CHECK_MS + EVERY_MS + 9);
        assert_eq!(
            u.status(),
            &UpdateStatus::Installed {
                version: "0.2.0".into()
            }
        );
        assert_eq!(u.next_timeout(), None);
    }

    #[test]
    fn empty_notes_are_none_and_a_hand_built_copy_is_not_replaced() {
        let mut u = Updates::new("0.1.0", false, 0);
        u.handle(Input::CheckNow, 0);
        u.handle(
            Input::Checked(Ok(Some(Release {
                version: "0.2.0".into(),
                notes: Some("  ".into()),
            }))),
            1,
        );
        assert_eq!(
            u.status(),
            &UpdateStatus::Available {
                version: "0.2.0".into(),
                notes: None
            }
        );
        assert!(not_installable(None)
            .unwrap()
            .contains("not installed from a package"));
        assert_eq!(not_installable(Some("Deb")), None);
    }
}
