//! Reading a profile file (TOML) with errors that name the file and the problem.

use crate::api::{PhoneError, Profile};
use std::path::Path;

pub fn load_profile(path: &Path) -> Result<Profile, PhoneError> {
    let text = std::fs::read_to_string(path).map_err(|e| PhoneError::InvalidInput {
        what: "profile".into(),
        detail: format!("cannot read {}: {e}", path.display()),
    })?;
    let profile: Profile = toml::from_str(&text).map_err(|e| PhoneError::InvalidInput {
        what: "profile".into(),
        detail: format!("{}: {}", path.display(), e.message()),
    })?;
    profile.routing.validate().map_err(|e| PhoneError::InvalidInput {
        what: "profile".into(),
        detail: format!("{}: {e}", path.display()),
    })?;
    profile.dialling.validate().map_err(|problems| PhoneError::InvalidInput {
        what: "profile".into(),
        detail: format!("{}: dialling: {}", path.display(), problems.join("; ")),
    })?;
    if let Some(park) = &profile.account.shared_park {
        park.validate().map_err(|problems| PhoneError::InvalidInput {
            what: "profile".into(),
            detail: format!("{}: account.shared_park: {}", path.display(), problems.join("; ")),
        })?;
    }
    Ok(profile)
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

    #[test]
    fn routing_rules_are_read_and_a_malformed_one_is_refused_by_number() {
        let dir = std::env::temp_dir().join(format!("hf-profile-routing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("p.toml");
        let head = "[account]\naor = \"sip:alice@example.com\"\n[routing]\n";
        std::fs::write(&p, format!("{head}rules = [\"when is_queue then reject_busy\"]\n")).unwrap();
        assert_eq!(load_profile(&p).unwrap().routing.rules, vec!["when is_queue then reject_busy".to_string()]);
        std::fs::write(&p, format!("{head}rules = [\"when true then ring\", \"when parkd_count > 0 then ring\"]\n")).unwrap();
        let e = load_profile(&p).unwrap_err().to_string();
        assert!(e.contains("p.toml") && e.contains("rule 2") && e.contains("parkd_count"), "{e}");
    }

    #[test]
    fn shared_park_orbits_are_read_and_bad_ones_refused() {
        let dir = std::env::temp_dir().join(format!("hf-profile-park-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("p.toml");
        let head = "[account]\naor = \"sip:alice@example.com\"\n[account.shared_park]\n";
        std::fs::write(&p, format!("{head}orbits = [\"701-703\"]\ndomain = \"pbx.example.com\"\n")).unwrap();
        let park = load_profile(&p).unwrap().account.shared_park.unwrap();
        assert_eq!(park.slots().unwrap(), vec!["701", "702", "703"]);
        assert_eq!(park.domain.as_deref(), Some("pbx.example.com"));
        std::fs::write(&p, format!("{head}orbits = [\"703-701\"]\n")).unwrap();
        let e = load_profile(&p).unwrap_err().to_string();
        assert!(e.contains("p.toml") && e.contains("shared_park") && e.contains("703-701"), "{e}");
    }
}
