//! The media clock: one 10 ms grid that every stream on an audio switch sends and plays on.
//! The switch owns it (`AudioSwitch::clock`); each call's media session starts its send pacer
//! and its playout timer on the grid's next tick, so every port of the switch reads the
//! microphone and writes the speaker at the same instants. Moving the active port from one
//! call to another then neither reads a microphone frame twice nor skips one, and a mixer
//! (the conference bridge) can take every port's frame on the same tick. Every packet time is
//! a multiple of 10 ms, so a stream's 20, 30 or 60 ms frames all fall on the grid. A stream
//! without a switch (a test loopback) keeps its own timing.
//!
//! Plain value: the time is passed in.

use std::time::{Duration, Instant};

/// The grid's step; every packet time and the playout period are multiples of it.
pub const GRID: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaClock {
    origin: Instant,
}

impl MediaClock {
    /// A clock whose grid starts at `origin`.
    pub fn new(origin: Instant) -> MediaClock {
        MediaClock { origin }
    }

    /// The first tick of the grid at or after `t`.
    pub fn align(&self, t: Instant) -> Instant {
        let since = t.saturating_duration_since(self.origin);
        let step = GRID.as_nanos();
        let ticks = since.as_nanos().div_ceil(step);
        self.origin + Duration::from_nanos((ticks * step) as u64)
    }

    /// How many ticks of the grid have come by `t` (the origin's included): the conference
    /// bridge mixes one 10 ms frame per tick.
    pub fn ticks_by(&self, t: Instant) -> u64 {
        match t.checked_duration_since(self.origin) {
            Some(since) => (since.as_nanos() / GRID.as_nanos()) as u64 + 1,
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn streams_started_at_any_moment_tick_on_the_same_grid() {
        let t0 = Instant::now();
        let clock = MediaClock::new(t0);
        assert_eq!(clock.align(t0), t0);
        assert_eq!(clock.align(t0 + ms(1)), t0 + ms(10));
        assert_eq!(clock.align(t0 + ms(10)), t0 + ms(10));
        assert_eq!(
            clock.align(t0 + ms(37) + Duration::from_micros(1)),
            t0 + ms(40)
        );
        // Before the origin (a stream started the instant the switch was made): the origin.
        assert_eq!(clock.align(t0 - ms(3)), t0);
        assert_eq!(clock.ticks_by(t0), 1);
        assert_eq!(clock.ticks_by(t0 + ms(9)), 1);
        assert_eq!(clock.ticks_by(t0 + ms(10)), 2);
        assert_eq!(clock.ticks_by(t0 + ms(35)), 4);
    }
}
