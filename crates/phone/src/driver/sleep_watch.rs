//! Noticing that the computer slept: the wall clock moves on during a suspension, the monotonic
//! clock the driver sleeps on does not. When the first ran ahead of the second by more than
//! `SLEPT_AFTER_MS` between two looks, the computer was suspended (or its clock was set forward):
//! registrations may have expired meanwhile and NAT bindings are surely gone, so the driver tells
//! the core (`Input::NetworkChanged`) and every account registers again at once.

use std::time::Instant;

/// A gap between the clocks longer than this is a suspension (the driver looks at least every
/// 15 s, and a busy computer does not stall its monotonic clock).
pub(super) const SLEPT_AFTER_MS: i64 = 10_000;

pub(super) struct SleepWatch {
    mono: Instant,
    wall_ms: i64,
}

impl SleepWatch {
    pub(super) fn new(mono: Instant, wall_ms: i64) -> SleepWatch {
        SleepWatch { mono, wall_ms }
    }

    /// Takes a look at both clocks; Some(how long the computer slept, ms) after a suspension.
    pub(super) fn look(&mut self, mono: Instant, wall_ms: i64) -> Option<i64> {
        let mono_ms = mono.saturating_duration_since(self.mono).as_millis() as i64;
        let wall = wall_ms - self.wall_ms;
        self.mono = mono;
        self.wall_ms = wall_ms;
        slept(wall, mono_ms)
    }
}

/// How long the computer slept, given how far each clock moved.
fn slept(wall_ms: i64, mono_ms: i64) -> Option<i64> {
    let gap = wall_ms - mono_ms;
    (gap > SLEPT_AFTER_MS).then_some(gap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_suspension_shows_as_the_wall_clock_running_ahead() {
        let t0 = Instant::now();
        let mut watch = SleepWatch::new(t0, 1_000_000);
        // Awake: both clocks move together (a little drift is not sleep).
        assert_eq!(watch.look(t0 + Duration::from_secs(15), 1_015_050), None);
        // Suspended for an hour between two looks 15 s apart on the monotonic clock.
        assert_eq!(
            watch.look(t0 + Duration::from_secs(30), 1_030_050 + 3_600_000),
            Some(3_600_000)
        );
        // Then awake again.
        assert_eq!(
            watch.look(t0 + Duration::from_secs(45), 1_045_050 + 3_600_000),
            None
        );
        // The clock set back (NTP, the user): not a suspension.
        assert_eq!(watch.look(t0 + Duration::from_secs(60), 1_000_000), None);
        // A short stall below the threshold is not either.
        assert_eq!(slept(25_000, 15_000), None);
        assert_eq!(
            slept(25_001 + SLEPT_AFTER_MS, 15_000),
            Some(10_001 + SLEPT_AFTER_MS)
        );
    }
}
