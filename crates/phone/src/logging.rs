//! What the front ends log: the user's `HOOKFLASH_LOG` / `RUST_LOG` directives (or a default),
//! with the SIP stack held to warnings. rsipstack logs every SIP message whole at INFO —
//! Authorization headers, SDP, phone numbers — so it only does when a directive names it
//! (`HOOKFLASH_LOG=info,rsipstack=info` for a SIP trace).

/// The filter directives for `user`'s setting (None: `default`), rsipstack at `warn` unless named.
pub fn log_directives(user: Option<&str>, default: &str) -> String {
    let base = user.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(default);
    if base.split(',').any(|d| d.trim().starts_with("rsipstack")) {
        base.to_string()
    } else {
        format!("{base},rsipstack=warn")
    }
}

#[cfg(test)]
mod tests {
    use super::log_directives;

    #[test]
    fn whole_sip_messages_stay_out_of_the_log_unless_asked_for() {
        assert_eq!(log_directives(None, "info"), "info,rsipstack=warn");
        assert_eq!(log_directives(Some("debug"), "info"), "debug,rsipstack=warn");
        assert_eq!(log_directives(Some(" "), "info"), "info,rsipstack=warn");
        assert_eq!(log_directives(Some("info,rsipstack=info"), "info"), "info,rsipstack=info");
        assert_eq!(log_directives(Some("hookflash_phone=debug"), "info"), "hookflash_phone=debug,rsipstack=warn");
    }
}
