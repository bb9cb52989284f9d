//! The profile file (TOML, the format documented on [`Profile`]): read, validated and written the
//! same way for every front end (the CLI's `--profile`, the app's settings), with errors that name
//! the file and the problem. Applying one to a running phone is `Phone::apply_profile`.

use crate::api::{PhoneError, Profile};
use std::path::Path;

fn invalid(detail: String) -> PhoneError {
    PhoneError::InvalidInput {
        what: "profile".into(),
        detail,
    }
}

/// Reads and validates a profile that must exist.
pub fn load_profile(path: &Path) -> Result<Profile, PhoneError> {
    load_profile_if_exists(path)?
        .ok_or_else(|| invalid(format!("cannot read {}: no such file", path.display())))
}

/// Reads and validates a profile; `Ok(None)` when there is no file yet (the app's first start).
pub fn load_profile_if_exists(path: &Path) -> Result<Option<Profile>, PhoneError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(invalid(format!("cannot read {}: {e}", path.display()))),
    };
    parse_profile(&text)
        .map(Some)
        .map_err(|detail| invalid(format!("{}: {detail}", path.display())))
}

/// Parses and validates profile text; the error is the problem without the file name. One
/// account is `[account]`; several are `[[account]]` entries, the first being where calls go out
/// from by default.
pub fn parse_profile(text: &str) -> Result<Profile, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().trim().to_string())?;
    let profile: Profile = match table.get("account") {
        Some(toml::Value::Array(_)) => {
            let mut table = table;
            if table.contains_key("more_accounts") {
                return Err("use several [[account]] entries, not more_accounts".into());
            }
            let Some(toml::Value::Array(mut all)) = table.remove("account") else {
                unreachable!()
            };
            if all.is_empty() {
                return Err("missing field `account`".into());
            }
            let first = all.remove(0);
            table.insert("account".into(), first);
            table.insert("more_accounts".into(), toml::Value::Array(all));
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| e.message().trim().to_string())?
        }
        _ => toml::from_str(text).map_err(|e| e.message().trim().to_string())?,
    };
    profile.routing.validate().map_err(|e| e.to_string())?;
    profile
        .dialling
        .validate()
        .map_err(|problems| format!("dialling: {}", problems.join("; ")))?;
    for account in std::iter::once(&profile.account).chain(profile.more_accounts.iter()) {
        if let Some(park) = &account.shared_park {
            park.validate()
                .map_err(|problems| format!("account.shared_park: {}", problems.join("; ")))?;
        }
    }
    profile.phone_config().validate().map_err(|e| match e {
        PhoneError::InvalidInput { detail, .. } => detail,
        other => other.to_string(),
    })?;
    Ok(profile)
}

/// Writes a profile, creating its folder. Several accounts are written as `[[account]]` entries.
pub fn save_profile(path: &Path, profile: &Profile) -> Result<(), PhoneError> {
    let text = profile_text(profile).map_err(|e| invalid(format!("cannot write it: {e}")))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| invalid(format!("cannot create the folder {}: {e}", dir.display())))?;
    }
    std::fs::write(path, text).map_err(|e| invalid(format!("cannot save {}: {e}", path.display())))
}

fn profile_text(profile: &Profile) -> Result<String, toml::ser::Error> {
    if profile.more_accounts.is_empty() {
        return toml::to_string_pretty(profile);
    }
    let mut table = toml::Table::try_from(profile)?;
    let first = table.remove("account");
    let Some(toml::Value::Array(more)) = table.remove("more_accounts") else {
        return toml::to_string_pretty(profile);
    };
    table.insert(
        "account".into(),
        toml::Value::Array(first.into_iter().chain(more).collect()),
    );
    toml::to_string_pretty(&table)
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
        let e = load_profile(&dir.join("missing.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cannot read") && e.contains("missing.toml"),
            "{e}"
        );
        // The app's first start: no file is no error.
        assert_eq!(
            load_profile_if_exists(&dir.join("missing.toml")).unwrap(),
            None
        );
    }

    #[test]
    fn several_accounts_are_account_entries_and_read_back_the_same() {
        let text = "[[account]]\naor = \"sip:alice@a.example\"\n\n[[account]]\naor = \"sip:carol@b.example\"\nregistrar = \"sip:b.example;transport=tcp\"\n";
        let profile = parse_profile(text).unwrap();
        assert_eq!(profile.account.aor, "sip:alice@a.example");
        assert_eq!(profile.more_accounts.len(), 1);
        assert_eq!(
            profile.more_accounts[0].registrar.as_deref(),
            Some("sip:b.example;transport=tcp")
        );
        assert_eq!(profile.phone_config().accounts().len(), 2);
        let written = profile_text(&profile).unwrap();
        assert_eq!(written.matches("[[account]]").count(), 2, "{written}");
        assert!(!written.contains("more_accounts"), "{written}");
        assert_eq!(parse_profile(&written).unwrap(), profile);
        let single = parse_profile("[account]\naor = \"sip:alice@a.example\"\n").unwrap();
        assert!(single.more_accounts.is_empty());
        assert!(profile_text(&single).unwrap().contains("[account]"));
    }

    #[test]
    fn an_account_has_its_own_routing_and_caller_ids_and_a_bad_one_is_named() {
        let text = "[[account]]\naor = \"sip:alice@a.example\"\n\n\
            [[account]]\naor = \"sip:sales@b.example\"\n\
            [account.routing]\nrules = [\"when true then reject_busy\"]\n\
            [[account.caller_ids]]\nnumber = \"+442079460000\"\nname = \"Sales\"\n";
        let profile = parse_profile(text).unwrap();
        assert!(profile.account.routing.is_none() && profile.account.caller_ids.is_none());
        let sales = &profile.more_accounts[0];
        assert_eq!(
            sales.routing.as_ref().unwrap().rules,
            vec!["when true then reject_busy".to_string()]
        );
        assert_eq!(
            sales.caller_ids.as_ref().unwrap()[0].number,
            "+442079460000"
        );
        assert_eq!(
            parse_profile(&profile_text(&profile).unwrap()).unwrap(),
            profile,
            "written back the same"
        );
        let bad = text.replace("when true then reject_busy", "when true then explode");
        let e = parse_profile(&bad).unwrap_err();
        assert!(e.starts_with("sip:sales@b.example: routing: "), "{e}");
        let bad = text.replace("+442079460000", "+44 not a number");
        let e = parse_profile(&bad).unwrap_err();
        assert!(e.starts_with("sip:sales@b.example: caller_ids[1]: "), "{e}");
    }

    #[test]
    fn the_readme_several_accounts_example_reads() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\n[[account]]")
            .expect("the README shows several accounts");
        let block = &readme[start + 8..];
        let block = &block[..block.find("```").unwrap()];
        let profile = parse_profile(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        assert!(
            profile.more_accounts[0].routing.is_some()
                && profile.more_accounts[0].caller_ids.is_some()
        );
    }

    #[test]
    fn the_readme_twilio_continuity_profile_reads() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\n# twilio-continuity.toml")
            .expect("the README shows the continuity profile");
        let block = &readme[start + 8..];
        let block = &block[..block.find("```").unwrap()];
        let profile = parse_profile(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        let a = &profile.account;
        assert!(
            a.registrar
                .as_deref()
                .is_some_and(|r| r.contains(":5061;transport=tls")),
            "{a:?}"
        );
        assert_eq!(
            (a.media_encryption, a.require_encryption),
            (crate::api::MediaEncryption::Sdes, true)
        );
        // Encryption required without a way to encrypt is refused, by name.
        let e = parse_profile(
            &block.replace("media_encryption = \"sdes\"", "media_encryption = \"none\""),
        )
        .unwrap_err();
        assert!(
            e.contains("require_encryption = true needs media_encryption = \"sdes\""),
            "{e}"
        );
    }

    #[test]
    fn a_keep_alive_interval_is_read_and_an_absurd_one_refused_by_account() {
        let profile =
            parse_profile("[account]\naor = \"sip:alice@a.example\"\nkeep_alive_secs = 10\n")
                .unwrap();
        assert_eq!(profile.account.keep_alive_secs, Some(10));
        let e = parse_profile("[account]\naor = \"sip:alice@a.example\"\nkeep_alive_secs = 0\n")
            .unwrap_err();
        assert!(
            e.contains(
                "sip:alice@a.example: keep_alive_secs = 0 is out of range (1 to 3600 seconds)"
            ),
            "{e}"
        );
    }

    #[test]
    fn an_account_configured_twice_is_refused_by_name() {
        let text = "[[account]]\naor = \"sip:alice@a.example\"\n[[account]]\naor = \"sip:alice@a.example\"\n";
        let e = parse_profile(text).unwrap_err();
        assert!(e.contains("sip:alice@a.example is configured twice"), "{e}");
        assert!(parse_profile("account = []\n").is_err());
    }

    #[test]
    fn a_saved_profile_reads_back_the_same() {
        let dir = std::env::temp_dir().join(format!("hf-profile-save-{}", std::process::id()));
        let p = dir.join("sub").join("p.toml");
        let profile = parse_profile(
            "codecs = [\"opus\"]\n[account]\naor = \"sip:alice@example.com\"\nexpires = 120\n",
        )
        .unwrap();
        save_profile(&p, &profile).unwrap();
        assert_eq!(load_profile_if_exists(&p).unwrap(), Some(profile.clone()));
        assert_eq!(profile.phone_config().account.expires, 120);
    }

    #[test]
    fn an_empty_password_means_none_for_every_front_end() {
        use crate::api::PasswordSource;
        assert!(matches!(
            PasswordSource::from_env_value(None),
            PasswordSource::Keyring
        ));
        assert!(matches!(
            PasswordSource::from_env_value(Some(String::new())),
            PasswordSource::None
        ));
        assert!(
            matches!(PasswordSource::from_env_value(Some("pw".into())), PasswordSource::Plain(p) if p == "pw")
        );
        // And it never shows in logs.
        assert_eq!(
            format!("{:?}", PasswordSource::Plain("hunter2".into())),
            "Plain(\"***\")"
        );
    }

    #[test]
    fn routing_rules_are_read_and_a_malformed_one_is_refused_by_number() {
        let dir = std::env::temp_dir().join(format!("hf-profile-routing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("p.toml");
        let head = "[account]\naor = \"sip:alice@example.com\"\n[routing]\n";
        std::fs::write(
            &p,
            format!("{head}rules = [\"when is_queue then reject_busy\"]\n"),
        )
        .unwrap();
        assert_eq!(
            load_profile(&p).unwrap().routing.rules,
            vec!["when is_queue then reject_busy".to_string()]
        );
        std::fs::write(
            &p,
            format!(
                "{head}rules = [\"when true then ring\", \"when parkd_count > 0 then ring\"]\n"
            ),
        )
        .unwrap();
        let e = load_profile(&p).unwrap_err().to_string();
        assert!(
            e.contains("p.toml") && e.contains("rule 2") && e.contains("parkd_count"),
            "{e}"
        );
    }

    #[test]
    fn shared_park_orbits_are_read_and_bad_ones_refused() {
        let dir = std::env::temp_dir().join(format!("hf-profile-park-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("p.toml");
        let head = "[account]\naor = \"sip:alice@example.com\"\n[account.shared_park]\n";
        std::fs::write(
            &p,
            format!("{head}orbits = [\"701-703\"]\ndomain = \"pbx.example.com\"\n"),
        )
        .unwrap();
        let park = load_profile(&p).unwrap().account.shared_park.unwrap();
        assert_eq!(park.slots().unwrap(), vec!["701", "702", "703"]);
        assert_eq!(park.domain.as_deref(), Some("pbx.example.com"));
        std::fs::write(&p, format!("{head}orbits = [\"703-701\"]\n")).unwrap();
        let e = load_profile(&p).unwrap_err().to_string();
        assert!(
            e.contains("p.toml") && e.contains("shared_park") && e.contains("703-701"),
            "{e}"
        );
    }
}
