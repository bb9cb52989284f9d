//! `cargo xtask update-manifest`: the update manifest (`latest.json`) the app's updater reads
//! (src-tauri/src/updates.rs), written from signed bundles: for each package (.deb, .rpm, the
//! macOS .app.tar.gz, .msi, the NSIS -setup.exe) and the minisign signature beside it (`.sig`,
//! made by `tauri build` with `createUpdaterArtifacts` and the release key, bound to the version)
//! an entry under its platform key, `<os>-<arch>-<installer>` as the updater looks it up.
//! `.github/workflows/desktop-bundles.yml` writes one per runner and merges them.

use crate::bench::json_string;
use std::path::{Path, PathBuf};

/// Options of `cargo xtask update-manifest`.
#[derive(Debug, Default, PartialEq)]
pub struct ManifestOptions {
    pub version: String,
    /// Where the packages will be downloaded from (the file name is appended).
    pub base_url: String,
    pub notes: Option<String>,
    /// The CPU the packages are for when their name does not say (default: this machine's).
    pub arch: Option<String>,
    pub out: Option<PathBuf>,
    pub packages: Vec<PathBuf>,
}

/// The updater's platform key of a package, from its name: None for a file that is no package.
pub fn platform_key(file_name: &str, arch: &str) -> Option<String> {
    let lower = file_name.to_ascii_lowercase();
    let (os, installer) = if lower.ends_with(".deb") {
        ("linux", "deb")
    } else if lower.ends_with(".rpm") {
        ("linux", "rpm")
    } else if lower.ends_with(".app.tar.gz") {
        ("darwin", "app")
    } else if lower.ends_with(".msi") {
        ("windows", "msi")
    } else if lower.ends_with("-setup.exe") {
        ("windows", "nsis")
    } else {
        return None;
    };
    let named = if lower.contains("amd64") || lower.contains("x86_64") || lower.contains("x64") {
        Some("x86_64")
    } else if lower.contains("aarch64") || lower.contains("arm64") {
        Some("aarch64")
    } else {
        None
    };
    Some(format!("{os}-{}-{installer}", named.unwrap_or(arch)))
}

/// This machine's CPU as the updater names it.
fn this_arch() -> &'static str {
    std::env::consts::ARCH
}

/// One entry: platform key, download URL, signature (the `.sig` file's text).
pub type Entry = (String, String, String);

/// The manifest's text.
pub fn manifest(version: &str, notes: Option<&str>, entries: &[Entry]) -> String {
    let mut out = format!("{{\n  \"version\": {},\n", json_string(version));
    if let Some(notes) = notes {
        out.push_str(&format!("  \"notes\": {},\n", json_string(notes)));
    }
    out.push_str("  \"platforms\": {");
    for (i, (key, url, signature)) in entries.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&format!(
            "    {}: {{ \"url\": {}, \"signature\": {} }}",
            json_string(key),
            json_string(url),
            json_string(signature.trim())
        ));
    }
    out.push_str("\n  }\n}\n");
    out
}

/// Reads the packages and their signatures; every problem named with its file.
pub fn entries(options: &ManifestOptions) -> Result<Vec<Entry>, String> {
    let arch = options.arch.as_deref().unwrap_or(this_arch());
    let base = options.base_url.trim_end_matches('/');
    let mut entries: Vec<Entry> = Vec::new();
    for package in &options.packages {
        let name = package
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{} is not a file name", package.display()))?;
        let key = platform_key(name, arch).ok_or_else(|| {
            format!(
                "{name} is not a package the updater installs (.deb, .rpm, .app.tar.gz, .msi, -setup.exe)"
            )
        })?;
        let sig_path = sig_of(package);
        let signature = std::fs::read_to_string(&sig_path).map_err(|e| {
            format!(
                "{}: {e} (bundle with `createUpdaterArtifacts` and TAURI_SIGNING_PRIVATE_KEY set)",
                sig_path.display()
            )
        })?;
        if signature.trim().is_empty() {
            return Err(format!("{} is empty", sig_path.display()));
        }
        if let Some((other, ..)) = entries.iter().find(|(k, ..)| *k == key) {
            return Err(format!("two packages for {key}: {other} and {name}"));
        }
        entries.push((key, format!("{base}/{name}"), signature));
    }
    if entries.is_empty() {
        return Err("no packages given".into());
    }
    Ok(entries)
}

fn sig_of(package: &Path) -> PathBuf {
    let mut name = package.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

pub fn update_manifest(options: &ManifestOptions) -> Result<i32, String> {
    if options.version.is_empty() || options.base_url.is_empty() {
        return Err("update-manifest needs --version and --base-url".into());
    }
    let text = manifest(
        &options.version,
        options.notes.as_deref(),
        &entries(options)?,
    );
    match &options.out {
        Some(out) => std::fs::write(out, &text)
            .map_err(|e| format!("cannot write {}: {e}", out.display()))?,
        None => print!("{text}"),
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_keys_follow_the_package_and_its_cpu() {
        assert_eq!(
            platform_key("Hookflash_0.2.0_amd64.deb", "aarch64").as_deref(),
            Some("linux-x86_64-deb")
        );
        assert_eq!(
            platform_key("Hookflash-0.2.0-1.x86_64.rpm", "aarch64").as_deref(),
            Some("linux-x86_64-rpm")
        );
        assert_eq!(
            platform_key("Hookflash.app.tar.gz", "aarch64").as_deref(),
            Some("darwin-aarch64-app")
        );
        assert_eq!(
            platform_key("Hookflash_0.2.0_x64_en-US.msi", "x86_64").as_deref(),
            Some("windows-x86_64-msi")
        );
        assert_eq!(
            platform_key("Hookflash_0.2.0_x64-setup.exe", "x86_64").as_deref(),
            Some("windows-x86_64-nsis")
        );
        assert_eq!(platform_key("Hookflash_0.2.0_aarch64.dmg", "aarch64"), None);
    }

    #[test]
    fn the_manifest_is_json_with_the_signatures_as_written() {
        let text = manifest(
            "0.2.0",
            Some("Transfers \"remember\"\nthe target."),
            &[
                (
                    "linux-x86_64-deb".into(),
                    "https://u.example/Hookflash_0.2.0_amd64.deb".into(),
                    "c2lnbmF0dXJl\n".into(),
                ),
                (
                    "windows-x86_64-msi".into(),
                    "https://u.example/H.msi".into(),
                    "b3RoZXI=".into(),
                ),
            ],
        );
        assert_eq!(
            text,
            "{\n  \"version\": \"0.2.0\",\n  \"notes\": \"Transfers \\\"remember\\\"\\nthe target.\",\n  \"platforms\": {\n    \"linux-x86_64-deb\": { \"url\": \"https://u.example/Hookflash_0.2.0_amd64.deb\", \"signature\": \"c2lnbmF0dXJl\" },\n    \"windows-x86_64-msi\": { \"url\": \"https://u.example/H.msi\", \"signature\": \"b3RoZXI=\" }\n  }\n}\n"
        );
    }

    #[test]
    fn packages_without_signatures_or_twice_for_one_platform_are_refused() {
        let dir = std::env::temp_dir().join(format!("xtask-manifest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let deb = dir.join("Hookflash_0.2.0_amd64.deb");
        std::fs::write(&deb, b"!<arch>").unwrap();
        let options = |packages: Vec<PathBuf>| ManifestOptions {
            version: "0.2.0".into(),
            base_url: "https://u.example/v0.2.0/".into(),
            packages,
            ..ManifestOptions::default()
        };
        let unsigned = entries(&options(vec![deb.clone()])).unwrap_err();
        assert!(
            unsigned.contains("Hookflash_0.2.0_amd64.deb.sig"),
            "{unsigned}"
        );
        std::fs::write(dir.join("Hookflash_0.2.0_amd64.deb.sig"), "c2ln\n").unwrap();
        assert_eq!(
            entries(&options(vec![deb.clone()])).unwrap(),
            vec![(
                "linux-x86_64-deb".to_string(),
                "https://u.example/v0.2.0/Hookflash_0.2.0_amd64.deb".to_string(),
                "c2ln\n".to_string()
            )]
        );
        let twice = entries(&options(vec![deb.clone(), deb.clone()])).unwrap_err();
        assert!(
            twice.contains("two packages for linux-x86_64-deb"),
            "{twice}"
        );
        let notes = dir.join("notes.txt");
        std::fs::write(&notes, "x").unwrap();
        assert!(entries(&options(vec![notes]))
            .unwrap_err()
            .contains("not a package"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
