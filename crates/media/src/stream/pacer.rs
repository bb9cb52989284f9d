//! When the send side's next frame is due: an absolute schedule, `origin + n × ptime`, so the
//! timer's lateness never accumulates into drift. After a stall of more than half a second
//! (suspended laptop, overloaded machine) the schedule restarts from now instead of bursting
//! the backlog; a new packet time continues from the last frame sent.
//!
//! Plain value: the time is passed in; the send task sleeps until [`Pacer::next_due`].

use super::media_clock::MediaClock;
use std::time::{Duration, Instant};

/// A stall longer than this restarts the schedule.
pub const MAX_STALL: Duration = Duration::from_millis(500);

#[derive(Clone, Debug)]
pub struct Pacer {
    origin: Instant,
    /// Frames due so far (the next is due at `origin + n × period`).
    n: u32,
    period: Duration,
    /// The grid a restarted schedule goes back onto.
    clock: Option<MediaClock>,
}

impl Pacer {
    /// The first frame is due at `start`, then one every `period`.
    pub fn new(start: Instant, period: Duration) -> Pacer {
        Pacer {
            origin: start,
            n: 0,
            period,
            clock: None,
        }
    }

    /// Frames on `clock`'s grid: the first at its first tick from `now`; a restarted schedule
    /// stays on the grid.
    pub fn on_clock(clock: MediaClock, now: Instant, period: Duration) -> Pacer {
        Pacer {
            origin: clock.align(now),
            n: 0,
            period,
            clock: Some(clock),
        }
    }

    /// When the next frame is due.
    pub fn next_due(&self) -> Instant {
        self.origin + self.period * self.n
    }

    /// The due frame is being sent at `now` (woken at or after [`next_due`](Self::next_due)).
    pub fn tick(&mut self, now: Instant) {
        self.n += 1;
        if now.saturating_duration_since(self.next_due()) > MAX_STALL {
            self.origin = self.clock.map(|c| c.align(now)).unwrap_or(now);
            self.n = 1;
        }
    }

    /// The packet time changed: the schedule continues from the last frame sent.
    pub fn set_period(&mut self, period: Duration) {
        if period != self.period {
            self.origin += self.period * self.n.saturating_sub(1);
            self.n = 1;
            self.period = period;
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
    fn frames_follow_an_absolute_schedule_whatever_the_timer_lateness() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0, ms(20));
        assert_eq!(p.next_due(), t0, "the first frame goes at once");
        for i in 0..50u64 {
            // Woken 7 ms late every time: the schedule does not drift.
            p.tick(p.next_due() + ms(7));
            assert_eq!(p.next_due(), t0 + ms(20 * (i + 1)));
        }
    }

    #[test]
    fn a_stall_restarts_the_schedule_instead_of_bursting_a_backlog() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0, ms(20));
        p.tick(t0);
        // Woken 2 s late (a suspended laptop): the next frame is one period from now.
        let late = t0 + ms(2000);
        p.tick(late);
        assert_eq!(p.next_due(), late + ms(20));
        // Within half a second of lateness the backlog is caught up instead.
        let mut q = Pacer::new(t0, ms(20));
        q.tick(t0);
        q.tick(t0 + ms(400));
        assert_eq!(q.next_due(), t0 + ms(40));
    }

    #[test]
    fn streams_on_one_clock_send_on_its_grid_even_after_a_stall_or_a_new_packet_time() {
        let t0 = Instant::now();
        let clock = MediaClock::new(t0);
        // Two calls' streams started 3 ms and 27 ms after the switch was made.
        let mut a = Pacer::on_clock(clock, t0 + ms(3), ms(20));
        let mut b = Pacer::on_clock(clock, t0 + ms(27), ms(30));
        assert_eq!((a.next_due(), b.next_due()), (t0 + ms(10), t0 + ms(30)));
        let on_grid = |t: Instant| (t - t0).as_millis() % 10 == 0;
        for _ in 0..20 {
            a.tick(a.next_due() + ms(4));
            b.tick(b.next_due() + ms(9));
            assert!(on_grid(a.next_due()) && on_grid(b.next_due()));
        }
        // A stall restarts the schedule on the grid, not at the odd moment it woke.
        let late = a.next_due() + ms(1234);
        a.tick(late);
        assert!(
            on_grid(a.next_due()) && a.next_due() > late,
            "{:?}",
            a.next_due() - t0
        );
        b.set_period(ms(20));
        assert!(on_grid(b.next_due()));
    }

    #[test]
    fn a_new_packet_time_continues_from_the_last_frame_sent() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0, ms(20));
        for _ in 0..3 {
            p.tick(p.next_due()); // frames at 0, 20, 40
        }
        p.set_period(ms(40));
        assert_eq!(
            p.next_due(),
            t0 + ms(80),
            "40 ms after the frame sent at 40 ms"
        );
        p.set_period(ms(40));
        assert_eq!(
            p.next_due(),
            t0 + ms(80),
            "the same packet time changes nothing"
        );
    }
}
