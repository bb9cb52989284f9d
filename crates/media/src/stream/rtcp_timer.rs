//! When the next RTCP report is due: the first half a second into the stream, then about every
//! second for the first ten seconds (so the far end learns of loss, and turns Opus FEC on,
//! within the first seconds of a call), then about every five seconds. Each interval is
//! randomised to 0.5-1.5 times its length, as RFC 3550 6.3.1 recommends, so two endpoints
//! started together do not report in lockstep.
//!
//! Plain value: the time is passed in, and the randomisation comes from a small generator
//! seeded by the caller (the session seeds it at random; tests pick a seed).

use std::time::{Duration, Instant};

/// The first report goes out this long after the stream starts.
pub const RTCP_FIRST: Duration = Duration::from_millis(500);
/// How often RTCP reports go out ...
pub const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// ... except at the start of a call, about every second ...
pub const RTCP_EARLY_INTERVAL: Duration = Duration::from_secs(1);
/// ... for this long.
pub const RTCP_EARLY_PHASE: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct RtcpTimer {
    start: Instant,
    next: Instant,
    /// SplitMix64 state for the randomisation.
    rng: u64,
}

impl RtcpTimer {
    /// A schedule for a stream that starts at `start`.
    pub fn new(start: Instant, seed: u64) -> RtcpTimer {
        RtcpTimer {
            start,
            next: start + RTCP_FIRST,
            rng: seed,
        }
    }

    /// When the next report is due.
    pub fn next_due(&self) -> Instant {
        self.next
    }

    /// True once the next report is due.
    pub fn is_due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// A report went out (or would have) at `now`: schedules the next one.
    pub fn sent(&mut self, now: Instant) {
        let factor = self.randomisation();
        let interval = if now.saturating_duration_since(self.start) < RTCP_EARLY_PHASE {
            RTCP_EARLY_INTERVAL
        } else {
            RTCP_INTERVAL
        };
        self.next = now + interval.mul_f64(factor);
    }

    /// A uniform factor in [0.5, 1.5).
    fn randomisation(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        0.5 + (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_come_every_second_at_first_then_every_five_randomised() {
        let t0 = Instant::now();
        let mut timer = RtcpTimer::new(t0, 7);
        assert!(!timer.is_due(t0 + Duration::from_millis(499)));
        assert!(timer.is_due(t0 + RTCP_FIRST));
        let mut now = t0 + RTCP_FIRST;
        let mut early = Vec::new();
        while now < t0 + RTCP_EARLY_PHASE {
            timer.sent(now);
            early.push(timer.next_due() - now);
            now = timer.next_due();
        }
        assert!(
            early
                .iter()
                .all(|d| *d >= Duration::from_millis(500) && *d < Duration::from_millis(1500)),
            "{early:?}"
        );
        let mut late = Vec::new();
        for _ in 0..50 {
            timer.sent(now);
            late.push(timer.next_due() - now);
            now = timer.next_due();
        }
        assert!(
            late.iter()
                .all(|d| *d >= Duration::from_millis(2500) && *d < Duration::from_millis(7500)),
            "{late:?}"
        );
        // Randomised: not all the same, and spread over both halves of the range.
        assert!(late.iter().any(|d| *d < RTCP_INTERVAL) && late.iter().any(|d| *d > RTCP_INTERVAL));
    }

    #[test]
    fn two_streams_with_different_seeds_do_not_report_in_lockstep() {
        let t0 = Instant::now();
        let (mut a, mut b) = (RtcpTimer::new(t0, 1), RtcpTimer::new(t0, 2));
        a.sent(t0 + RTCP_FIRST);
        b.sent(t0 + RTCP_FIRST);
        assert_ne!(a.next_due(), b.next_due());
    }
}
