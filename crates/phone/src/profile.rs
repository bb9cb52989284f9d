//! Reading a profile file (TOML) with errors that name the file and the problem.

use crate::api::{PhoneError, Profile};
use std::path::Path;

pub fn load_profile(path: &Path) -> Result<Profile, PhoneError> {
    let text = std::fs::read_to_string(path).map_err(|e| PhoneError::InvalidInput {
        what: "profile".into(),
        detail: format!("cannot read {}: {e}", path.display()),
    })?;
    toml::from_str(&text).map_err(|e| PhoneError::InvalidInput {
        what: "profile".into(),
        detail: format!("{}: {}", path.display(), e.message()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_minimal_profile_and_names_bad_fields() {
        let dir = std::env::temp_dir().join(format!("hf-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("p.toml");
        std::fs::write(&p, "[account]\naor = \"sip:alice@example.com\"\n").unwrap();
        let prof = load_profile(&p).unwrap();
        assert_eq!(prof.account.aor, "sip:alice@example.com");
        assert_eq!(prof.account.expires, 600);
        assert!(prof.account.register);
        std::fs::write(&p, "[account]\naor = \"sip:a@b\"\nexpires = \"soon\"\n").unwrap();
        let e = load_profile(&p).unwrap_err().to_string();
        assert!(e.contains("p.toml") && e.contains("invalid"), "{e}");
        let e = load_profile(&dir.join("missing.toml")).unwrap_err().to_string();
        assert!(e.contains("cannot read"), "{e}");
    }
}
