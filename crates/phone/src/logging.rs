//! What the front ends log: the user's `HOOKFLASH_LOG` / `RUST_LOG` directives (or a default),
//! with the SIP stack held to warnings. rsipstack logs every SIP message whole at INFO —
//! Authorization headers, SDP, phone numbers — so it only does when a directive names it
//! (`HOOKFLASH_LOG=info,rsipstack=info` for a SIP trace). The DTLS library (`rtc_dtls`) warns of
//! every TLS extension a peer offers that it does not know — several lines per call with an
//! OpenSSL peer, nothing the user can act on — so it is held to errors unless named.

/// Libraries held to a level unless a directive names them.
const HELD: [(&str, &str); 2] = [("rsipstack", "warn"), ("rtc_dtls", "error")];

/// The filter directives for `user`'s setting (None: `default`), rsipstack at `warn` and
/// rtc_dtls at `error` unless named.
pub fn log_directives(user: Option<&str>, default: &str) -> String {
    let base = user
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(default);
    let mut out = base.to_string();
    for (target, level) in HELD {
        if !base.split(',').any(|d| d.trim().starts_with(target)) {
            out.push_str(&format!(",{target}={level}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::log_directives;

    #[test]
    fn whole_sip_messages_stay_out_of_the_log_unless_asked_for() {
        assert_eq!(
            log_directives(None, "info"),
            "info,rsipstack=warn,rtc_dtls=error"
        );
        assert_eq!(
            log_directives(Some("debug"), "info"),
            "debug,rsipstack=warn,rtc_dtls=error"
        );
        assert_eq!(
            log_directives(Some(" "), "info"),
            "info,rsipstack=warn,rtc_dtls=error"
        );
        assert_eq!(
            log_directives(Some("info,rsipstack=info"), "info"),
            "info,rsipstack=info,rtc_dtls=error"
        );
        assert_eq!(
            log_directives(Some("info,rtc_dtls=debug"), "info"),
            "info,rtc_dtls=debug,rsipstack=warn"
        );
        assert_eq!(
            log_directives(Some("hookflash_phone=debug"), "info"),
            "hookflash_phone=debug,rsipstack=warn,rtc_dtls=error"
        );
    }
}
