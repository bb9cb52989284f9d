//! Where Hookflash keeps its files by default, per the platform's conventions
//! (XDG on Linux, Known Folders on Windows, Standard Directories on macOS).

use std::path::PathBuf;

/// File name of the history database inside the data folder.
pub const HISTORY_FILE_NAME: &str = "history.sqlite3";

/// The default history database:
/// - Linux: `$XDG_DATA_HOME/hookflash/history.sqlite3`, i.e. `~/.local/share/hookflash/history.sqlite3`
/// - macOS: `~/Library/Application Support/hookflash/history.sqlite3`
/// - Windows: `%APPDATA%\hookflash\data\history.sqlite3`
///
/// If no home folder can be found at all (a bare container), falls back to `./hookflash/...`
/// so the caller still gets a usable path rather than an error at startup.
pub fn default_history_path() -> PathBuf {
    match directories::ProjectDirs::from("", "", "hookflash") {
        Some(dirs) => dirs.data_dir().join(HISTORY_FILE_NAME),
        None => PathBuf::from("hookflash").join(HISTORY_FILE_NAME),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn linux_path_is_under_the_xdg_data_dir() {
        let path = default_history_path();
        let expected_base = match std::env::var_os("XDG_DATA_HOME").filter(|v| {
            // The XDG spec ignores relative values.
            std::path::Path::new(v).is_absolute()
        }) {
            Some(xdg) => PathBuf::from(xdg),
            None => {
                PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".local/share")
            }
        };
        assert_eq!(
            path,
            expected_base.join("hookflash").join("history.sqlite3")
        );
    }

    #[test]
    fn ends_with_the_file_name() {
        let path = default_history_path();
        assert_eq!(path.file_name().unwrap(), HISTORY_FILE_NAME);
        assert_eq!(path.parent().unwrap().file_name().unwrap(), "hookflash");
    }
}
