//! When to refresh a registration and how long to wait after a failure. Pure functions of
//! the granted expiry and the failure count, so they are tested without a clock.

use std::time::Duration;

/// Refresh well before expiry: at 80 % of short lifetimes, and at least 30 s (but no more
/// than half the lifetime) before the end of long ones.
pub fn refresh_after(granted_expires: u32) -> Duration {
    let e = granted_expires.max(1) as u64;
    let margin = (e / 5).max(30.min(e / 2));
    Duration::from_secs((e - margin).max(1))
}

/// Back-off after consecutive failures: 5, 10, 20, 40, 80, 160, then 300 s.
pub fn retry_after(failures: u32) -> Duration {
    let secs = 5u64.saturating_mul(1 << failures.saturating_sub(1).min(6));
    Duration::from_secs(secs.min(300))
}

/// Whether a failure is worth retrying automatically. Wrong credentials or a forbidden
/// account are not: retrying would only lock the account.
pub fn retryable(status: Option<u16>) -> bool {
    match status {
        None => true, // transport trouble, time-out
        Some(401) | Some(403) | Some(404) | Some(407) => false,
        Some(s) => s == 408 || s == 480 || s == 503 || s >= 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_before_expiry() {
        assert_eq!(refresh_after(600), Duration::from_secs(480));
        assert_eq!(refresh_after(3600), Duration::from_secs(2880));
        assert_eq!(refresh_after(60), Duration::from_secs(30));
        assert_eq!(refresh_after(10), Duration::from_secs(5));
        assert_eq!(refresh_after(1), Duration::from_secs(1));
        for e in 1..5000 {
            assert!(refresh_after(e) < Duration::from_secs(e as u64) || e == 1);
        }
    }

    #[test]
    fn backs_off_exponentially_to_five_minutes() {
        let s: Vec<u64> = (1..=9).map(|f| retry_after(f).as_secs()).collect();
        assert_eq!(s, vec![5, 10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn does_not_retry_wrong_credentials() {
        assert!(!retryable(Some(403)));
        assert!(!retryable(Some(401)));
        assert!(retryable(Some(503)));
        assert!(retryable(None));
    }
}
