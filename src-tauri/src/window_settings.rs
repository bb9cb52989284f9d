//! The window's own settings: whether closing it keeps the phone running in the tray (on by
//! default). Kept in `window.toml` beside the profile (the desktop shell's, not the engine's:
//! the CLI has no window), read at start, written by the settings view; app commands
//! `window_settings`, `save_window_settings`.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tauri::State;

/// The file name, in the profile's folder.
const FILE: &str = "window.toml";

/// What the window does when it is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct WindowSettings {
    /// Closing the window hides it in the tray and the phone keeps taking calls (only where a
    /// tray shows the icon; without one closing quits).
    #[serde(default = "yes")]
    pub close_to_tray: bool,
}

fn yes() -> bool {
    true
}

impl Default for WindowSettings {
    fn default() -> Self {
        WindowSettings {
            close_to_tray: true,
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
        }
    }

    pub fn get(&self) -> WindowSettings {
        *self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, settings: WindowSettings) -> Result<WindowSettings, String> {
        let path = self
            .path
            .as_ref()
            .ok_or("cannot find your configuration folder to keep this setting in")?;
        save(path, &settings)?;
        *self.settings.lock().unwrap_or_else(|e| e.into_inner()) = settings;
        Ok(settings)
    }
}

/// Whether closing the window keeps the phone in the tray.
#[tauri::command]
pub async fn window_settings(
    state: State<'_, WindowSettingsState>,
) -> Result<WindowSettings, String> {
    Ok(state.get())
}

/// Saves them beside the profile; in effect at once.
#[tauri::command]
pub async fn save_window_settings(
    state: State<'_, WindowSettingsState>,
    settings: WindowSettings,
) -> Result<WindowSettings, String> {
    state.set(settings)
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
        assert_eq!(
            load(&path),
            (
                WindowSettings {
                    close_to_tray: true
                },
                None
            )
        );

        save(
            &path,
            &WindowSettings {
                close_to_tray: false,
            },
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            "close_to_tray = false"
        );
        assert_eq!(
            load(&path).0,
            WindowSettings {
                close_to_tray: false
            }
        );

        // An empty file is the defaults; a broken one too, with a sentence naming it.
        std::fs::write(&path, "").unwrap();
        assert_eq!(load(&path), (WindowSettings::default(), None));
        std::fs::write(&path, "close_to_tray = maybe").unwrap();
        let (settings, problem) = load(&path);
        assert_eq!(settings, WindowSettings::default());
        assert!(problem.unwrap().contains("window.toml is not valid"));

        let state = WindowSettingsState::from_disk(Ok(dir.join("profile.toml")));
        assert!(state.get().close_to_tray);
        assert_eq!(
            state.set(WindowSettings {
                close_to_tray: false
            }),
            Ok(WindowSettings {
                close_to_tray: false
            })
        );
        assert!(!state.get().close_to_tray);
        let nowhere = WindowSettingsState::from_disk(Err("no config dir".into()));
        assert!(nowhere
            .set(WindowSettings {
                close_to_tray: false
            })
            .unwrap_err()
            .contains("configuration folder"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
