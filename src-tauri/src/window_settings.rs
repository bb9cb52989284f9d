//! The desktop shell's own settings: whether closing the window keeps the phone running in the
//! tray (on by default), whether it checks for updates (`updates.rs`; off by default) and the
//! global hotkeys (`hotkeys.rs`; none by default). Kept in
//! `window.toml` beside the profile (the desktop shell's, not the engine's: the CLI has no
//! window), read at start, written by the settings view. "Start at login" is not kept here but
//! in the desktop's own autostart entry (tauri-plugin-autostart), so the setting shows what the
//! desktop will do even when the user removed the entry elsewhere. App commands
//! `window_settings`, `save_window_settings`, `set_start_at_login`.

use crate::hotkeys::{HotkeyProblem, Hotkeys};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tauri::{AppHandle, Manager, State};

/// The file name, in the profile's folder.
const FILE: &str = "window.toml";

/// What the window does when it is closed, and the hotkeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct WindowSettings {
    /// Closing the window hides it in the tray and the phone keeps taking calls (only where a
    /// tray shows the icon; without one closing quits).
    #[serde(default = "yes")]
    pub close_to_tray: bool,
    /// Ask the update server for a newer release after start and once a day (`updates.rs`).
    /// Off unless switched on.
    #[serde(default)]
    pub check_for_updates: bool,
    /// Global hotkeys; absent: none.
    #[serde(default)]
    pub hotkeys: Hotkeys,
}

/// Why settings were not saved: the sentence, and for a refused hotkey the refusal as data
/// (the window words it in its language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SettingsError {
    pub message: String,
    pub hotkey: Option<crate::hotkeys::HotkeyRefusal>,
}

impl From<String> for SettingsError {
    fn from(message: String) -> Self {
        SettingsError {
            message,
            hotkey: None,
        }
    }
}

impl From<&str> for SettingsError {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

/// The settings as the settings view shows them: the saved ones and what is in effect.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct WindowSettingsView {
    pub settings: WindowSettings,
    /// The desktop starts Hookflash (in the tray) when the user logs in.
    pub start_at_login: bool,
    /// Hotkeys that are set but not in effect, each with why.
    pub hotkey_problems: Vec<HotkeyProblem>,
    /// Why global hotkeys cannot work on this desktop (Wayland); None where they can.
    pub hotkeys_unavailable: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for WindowSettings {
    fn default() -> Self {
        WindowSettings {
            close_to_tray: true,
            check_for_updates: false,
            hotkeys: Hotkeys::default(),
        }
    }
}

/// `window.toml` beside the profile file.
pub fn path_beside(profile: &Path) -> PathBuf {
    profile.parent().unwrap_or(Path::new(".")).join(FILE)
}

/// The settings in `path`: none yet gives the defaults; an unreadable file too, with the
/// sentence saying so.
pub fn load(path: &Path) -> (WindowSettings, Option<String>) {
    match std::fs::read_to_string(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            (WindowSettings::default(), None)
        }
        Err(error) => (
            WindowSettings::default(),
            Some(format!("cannot read {}: {error}", path.display())),
        ),
        Ok(text) => match toml::from_str(&text) {
            Ok(settings) => (settings, None),
            Err(error) => (
                WindowSettings::default(),
                Some(format!(
                    "{} is not valid ({}); using the defaults",
                    path.display(),
                    error.message()
                )),
            ),
        },
    }
}

/// Writes them to `path` (creating its folder); the error is the sentence to show.
pub fn save(path: &Path, settings: &WindowSettings) -> Result<(), String> {
    let text =
        toml::to_string(settings).map_err(|e| format!("cannot write the window settings: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Tauri-managed: the settings in effect and where they are kept (none: no profile location).
pub struct WindowSettingsState {
    settings: Mutex<WindowSettings>,
    path: Option<PathBuf>,
    /// The hotkeys the desktop refused when they were last taken.
    hotkey_problems: Mutex<Vec<HotkeyProblem>>,
}

impl WindowSettingsState {
    /// Reads them from beside the profile `profile` (when there is a profile location).
    pub fn from_disk(profile: Result<PathBuf, String>) -> WindowSettingsState {
        let path = profile.ok().map(|p| path_beside(&p));
        let settings = match &path {
            Some(path) => {
                let (settings, problem) = load(path);
                if let Some(problem) = problem {
                    tracing::warn!("{problem}");
                }
                settings
            }
            None => WindowSettings::default(),
        };
        WindowSettingsState {
            settings: Mutex::new(settings),
            path,
            hotkey_problems: Mutex::new(Vec::new()),
        }
    }

    pub fn get(&self) -> WindowSettings {
        self.settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Saves `settings` (their hotkeys checked and tidied first: a bad one saves nothing).
    fn set(&self, settings: WindowSettings) -> Result<WindowSettings, SettingsError> {
        let settings = WindowSettings {
            hotkeys: crate::hotkeys::check(&settings.hotkeys).map_err(|refusal| SettingsError {
                message: refusal.to_string(),
                hotkey: Some(refusal),
            })?,
            ..settings
        };
        let path = self
            .path
            .as_ref()
            .ok_or("cannot find your configuration folder to keep this setting in")?;
        save(path, &settings)?;
        *self.settings.lock().unwrap_or_else(|e| e.into_inner()) = settings.clone();
        Ok(settings)
    }

    fn set_hotkey_problems(&self, problems: Vec<HotkeyProblem>) {
        *self
            .hotkey_problems
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = problems;
    }
}

/// What is kept of the main window across starts (tauri-plugin-window-state): not whether it is
/// visible, which `--minimized` and the tray decide.
pub const KEPT_STATE: tauri_plugin_window_state::StateFlags =
    tauri_plugin_window_state::StateFlags::SIZE
        .union(tauri_plugin_window_state::StateFlags::POSITION)
        .union(tauri_plugin_window_state::StateFlags::MAXIMIZED);

/// Writes the main window's size and place now (the plugin writes at a clean exit; a phone
/// closed into the tray may be ended with the session instead).
pub fn keep_window_state(app: &AppHandle) {
    use tauri_plugin_window_state::AppHandleExt;
    if let Err(error) = app.save_window_state(KEPT_STATE) {
        tracing::warn!("cannot keep the window's size and place: {error}");
    }
}

/// Takes the saved hotkeys from the desktop (at start). Ones saved by hand that do not check
/// out are left off, with the sentence in the log.
pub fn apply_hotkeys(app: &AppHandle) {
    let state = app.state::<WindowSettingsState>();
    let hotkeys = match crate::hotkeys::check(&state.get().hotkeys) {
        Ok(hotkeys) => hotkeys,
        Err(error) => {
            tracing::warn!("hotkeys left off: {error}");
            Hotkeys::default()
        }
    };
    state.set_hotkey_problems(crate::hotkeys::adapter::apply(app, &hotkeys));
}

fn view(app: &AppHandle) -> WindowSettingsView {
    use tauri_plugin_autostart::ManagerExt;
    let state = app.state::<WindowSettingsState>();
    let start_at_login = app.autolaunch().is_enabled().unwrap_or_else(|error| {
        tracing::warn!("cannot read the desktop's autostart entry: {error}");
        false
    });
    let hotkey_problems = state
        .hotkey_problems
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    WindowSettingsView {
        settings: state.get(),
        start_at_login,
        hotkey_problems,
        hotkeys_unavailable: crate::hotkeys::unavailable_reason(
            std::env::var("WAYLAND_DISPLAY").ok().as_deref(),
            std::env::var("XDG_SESSION_TYPE").ok().as_deref(),
        ),
    }
}

/// The settings and what is in effect.
#[tauri::command]
pub async fn window_settings(app: AppHandle) -> Result<WindowSettingsView, String> {
    Ok(view(&app))
}

/// Saves them beside the profile; in effect at once (the hotkeys taken anew).
#[tauri::command]
pub async fn save_window_settings(
    app: AppHandle,
    state: State<'_, WindowSettingsState>,
    settings: WindowSettings,
) -> Result<WindowSettingsView, SettingsError> {
    let hotkeys_changed = state.get().hotkeys != settings.hotkeys;
    let saved = state.set(settings)?;
    if hotkeys_changed {
        state.set_hotkey_problems(crate::hotkeys::adapter::apply(&app, &saved.hotkeys));
    }
    crate::updates::adapter::set_enabled(&app, saved.check_for_updates);
    Ok(view(&app))
}

/// Adds or removes the desktop's autostart entry (which starts the app in the tray,
/// `--minimized`).
#[tauri::command]
pub async fn set_start_at_login(app: AppHandle, on: bool) -> Result<WindowSettingsView, String> {
    use tauri_plugin_autostart::ManagerExt;
    let autolaunch = app.autolaunch();
    let done = if on {
        autolaunch.enable()
    } else {
        autolaunch.disable()
    };
    done.map_err(|error| {
        let what = if on {
            "add Hookflash to"
        } else {
            "remove Hookflash from"
        };
        format!("cannot {what} the programs started at login: {error}")
    })?;
    Ok(view(&app))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_tray_is_on_until_switched_off_and_kept_beside_the_profile() {
        let dir =
            std::env::temp_dir().join(format!("hookflash-window-settings-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = path_beside(&dir.join("profile.toml"));
        assert_eq!(path, dir.join("window.toml"));
        assert_eq!(load(&path), (WindowSettings::default(), None));

        let off = WindowSettings {
            close_to_tray: false,
            ..WindowSettings::default()
        };
        save(&path, &off).unwrap();
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("close_to_tray = false\n"));
        assert_eq!(load(&path).0, off);
        // Written before hotkeys existed: none.
        std::fs::write(&path, "close_to_tray = false\n").unwrap();
        assert_eq!(load(&path).0, off);

        // An empty file is the defaults; a broken one too, with a sentence naming it.
        std::fs::write(&path, "").unwrap();
        assert_eq!(load(&path), (WindowSettings::default(), None));
        std::fs::write(&path, "close_to_tray = maybe").unwrap();
        let (settings, problem) = load(&path);
        assert_eq!(settings, WindowSettings::default());
        assert!(problem.unwrap().contains("window.toml is not valid"));

        let state = WindowSettingsState::from_disk(Ok(dir.join("profile.toml")));
        assert!(state.get().close_to_tray);
        assert_eq!(state.set(off.clone()), Ok(off.clone()));
        assert!(!state.get().close_to_tray);
        let nowhere = WindowSettingsState::from_disk(Err("no config dir".into()));
        let error = nowhere.set(off.clone()).unwrap_err();
        assert!(error.message.contains("configuration folder") && error.hotkey.is_none());

        // Hotkeys are kept in one spelling; a bad one saves nothing.
        let with_keys = |answer: &str| WindowSettings {
            hotkeys: Hotkeys {
                answer: answer.into(),
                mute: "Ctrl+Alt+M".into(),
                ..Hotkeys::default()
            },
            ..off.clone()
        };
        let saved = state.set(with_keys("ctrl+alt+a")).unwrap();
        assert_eq!(saved.hotkeys.answer, "Ctrl+Alt+KeyA");
        assert_eq!(load(&path).0, saved);
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("[hotkeys]\nanswer = \"Ctrl+Alt+KeyA\""));
        let refused = state.set(with_keys("q")).unwrap_err();
        assert!(
            refused.message.contains("would take that key"),
            "{refused:?}"
        );
        assert_eq!(
            refused.hotkey,
            Some(crate::hotkeys::HotkeyRefusal::EveryProgram {
                hotkey: crate::hotkeys::Hotkey::Answer,
                shortcut: "KeyQ".into()
            })
        );
        assert_eq!(load(&path).0, saved);
        assert_eq!(state.get(), saved);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
