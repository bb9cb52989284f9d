//! The phone's deadlines in one place, so the driver can sleep until the earliest instead of a
//! sleeping task per deadline: the switchboard's wake-ups (glare retries, park recall) and the
//! timers of a ringing call that routing rules set (auto-answer, forward on no answer). Pure:
//! `PhoneCore::next_timeout` asks for `next()` and takes what is `due(now)`.

use crate::api::CallId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Call `Switchboard::tick`.
    Switchboard,
    /// Answer this call if it still rings (an auto-answer rule).
    AutoAnswer(CallId),
    /// Send this call to the forwarding target if it still rings (forward on no answer).
    ForwardNoAnswer(CallId),
    /// Call `Transfers::tick` (a transfer waits for its outcome).
    Transfers,
    /// The user has not answered this call's transfer request: decline it.
    TransferRequest(CallId),
    /// This call's transfer went through and the transferor has not ended it: end it.
    TransferredAway(CallId),
    /// Time to read the conference's levels again.
    ConferenceLevels,
}

impl Timer {
    fn call(&self) -> Option<CallId> {
        match self {
            Timer::Switchboard | Timer::Transfers | Timer::ConferenceLevels => None,
            Timer::AutoAnswer(id)
            | Timer::ForwardNoAnswer(id)
            | Timer::TransferRequest(id)
            | Timer::TransferredAway(id) => Some(*id),
        }
    }
}

/// Deadlines in ms (the clock of the `now` passed in).
#[derive(Debug, Default)]
pub struct Timers {
    entries: Vec<(i64, Timer)>,
}

impl Timers {
    /// A switchboard wake-up is kept beside the others (each one is a tick the switchboard asked
    /// for); a call's timer replaces the same kind of timer of that call.
    pub fn set(&mut self, at: i64, timer: Timer) {
        match timer {
            Timer::Switchboard | Timer::Transfers => {
                if self.entries.contains(&(at, timer)) {
                    return;
                }
            }
            _ => self.entries.retain(|(_, t)| *t != timer),
        }
        self.entries.push((at, timer));
    }

    /// Drops this timer (all its deadlines).
    pub fn cancel(&mut self, timer: Timer) {
        self.entries.retain(|(_, t)| *t != timer);
    }

    /// A call that ended or stopped ringing needs none of its timers.
    pub fn cancel_call(&mut self, id: CallId) {
        self.entries.retain(|(_, t)| t.call() != Some(id));
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<i64> {
        self.entries.iter().map(|(at, _)| *at).min()
    }

    /// Removes and returns the timers whose time has come, earliest first.
    pub fn due(&mut self, now: i64) -> Vec<Timer> {
        let mut due: Vec<(i64, Timer)> = self
            .entries
            .iter()
            .copied()
            .filter(|(at, _)| *at <= now)
            .collect();
        self.entries.retain(|(at, _)| *at > now);
        due.sort_by_key(|(at, _)| *at);
        due.into_iter().map(|(_, t)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ringing_call_is_answered_by_the_rule_unless_it_ends_first() {
        let mut timers = Timers::default();
        // Call 1 rings with auto-answer after 2 s, call 2 with forward on no answer after 20 s.
        timers.set(2_000, Timer::AutoAnswer(1));
        timers.set(20_500, Timer::ForwardNoAnswer(2));
        assert_eq!(timers.next(), Some(2_000));
        assert_eq!(timers.due(1_999), vec![]);
        assert_eq!(timers.due(2_000), vec![Timer::AutoAnswer(1)]);
        assert_eq!(timers.next(), Some(20_500));
        // Call 2 is answered by hand: its forward is cancelled, nothing is left.
        timers.cancel_call(2);
        assert_eq!(timers.next(), None);
        assert_eq!(timers.due(60_000), vec![]);
    }

    #[test]
    fn switchboard_wake_ups_are_all_kept_and_come_out_in_order() {
        let mut timers = Timers::default();
        // A park recall in 120 s, then a glare retry in 2 s: both are needed.
        timers.set(120_000, Timer::Switchboard);
        timers.set(2_000, Timer::Switchboard);
        timers.set(2_000, Timer::Switchboard); // asked twice: one tick
        timers.set(1_000, Timer::AutoAnswer(7));
        assert_eq!(timers.next(), Some(1_000));
        assert_eq!(
            timers.due(5_000),
            vec![Timer::AutoAnswer(7), Timer::Switchboard]
        );
        assert_eq!(timers.next(), Some(120_000));
        // Cancelling a call leaves the switchboard's wake-ups alone.
        timers.cancel_call(7);
        assert_eq!(timers.due(120_000), vec![Timer::Switchboard]);
    }

    #[test]
    fn a_calls_timer_of_one_kind_is_replaced_not_doubled() {
        let mut timers = Timers::default();
        timers.set(5_000, Timer::ForwardNoAnswer(3));
        timers.set(9_000, Timer::ForwardNoAnswer(3));
        timers.set(6_000, Timer::AutoAnswer(3));
        assert_eq!(
            timers.due(10_000),
            vec![Timer::AutoAnswer(3), Timer::ForwardNoAnswer(3)]
        );
    }
}
