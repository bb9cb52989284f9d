//! Registration of one account as a state machine without I/O: inputs (the user's register /
//! un-register, the outcome of a REGISTER exchange, a time-out) with the time passed in, outputs
//! (send a REGISTER, a new state for the front ends, the answer to whoever asked) and the next
//! wake-up. The driver (`crate::registration_driver`) performs the exchanges; this file decides
//! when to refresh, when to retry and what the front ends see, the same way for the first
//! registration, a refresh and a retry.
//!
//! What the front ends see: `Registering` while the first exchange runs (from no registration, or
//! after a failure not retried), then `Registered`, `Retrying` (a failure worth retrying:
//! transport trouble, time-out, 408/480/5xx) or `Failed` (wrong credentials or a forbidden
//! account: retrying would only lock it), and `Unregistered` when the binding is removed. A
//! refresh stays `Registered` and a retry stays `Retrying` while it runs, so the reason of the
//! last failure stays on screen until the outcome is known.

use crate::api::{PhoneError, RegistrationState};
use std::collections::VecDeque;
use std::time::Duration;

/// A REGISTER exchange that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The registrar's final status, `None` for transport trouble or a time-out.
    pub status: Option<u16>,
    /// The sentence a user reads ("registration refused (403) by pbx.example.com: Forbidden").
    pub message: String,
    /// The same failure as the error a `register()`/`unregister()` caller gets.
    pub error: PhoneError,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Register now (the user, or start-up). Answered with `Output::Registered`.
    Register,
    /// Remove the binding (Expires: 0) and stop refreshing. Answered with `Output::Unregistered`.
    Unregister,
    /// The exchange asked for with `Output::Send` is over: the granted expiry, or why not.
    Done(Result<u32, Failure>),
    /// The time from `next_timeout` has come.
    Timeout,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send one REGISTER with this Expires (0 removes the binding); then feed `Input::Done`.
    Send { expires: u32 },
    /// The state front ends show has changed.
    State(RegistrationState),
    /// The answer for everyone waiting on `Input::Register`: the first exchange's outcome.
    Registered(Result<u32, Failure>),
    /// The answer for everyone waiting on `Input::Unregister`.
    Unregistered(Result<(), Failure>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Exchange {
    Register,
    Remove,
}

/// One account's registration.
#[derive(Debug)]
pub struct RegistrationCore {
    /// The Expires we ask for.
    expires: u32,
    state: RegistrationState,
    /// The exchange the driver is performing, if any (one at a time: RFC 3261 10.2).
    in_flight: Option<Exchange>,
    /// Asked for while an exchange was in flight: runs when it is over.
    queued: Option<Exchange>,
    /// When to refresh (registered) or retry (after a retryable failure), in ms.
    wake_at: Option<i64>,
    /// Consecutive retryable failures (the back-off step).
    failures: u32,
    register_waiting: bool,
    unregister_waiting: bool,
    out: VecDeque<Output>,
}

impl RegistrationCore {
    /// `expires`: the registration lifetime to ask for, in seconds.
    pub fn new(expires: u32) -> Self {
        RegistrationCore {
            expires: expires.max(1),
            state: RegistrationState::Unregistered,
            in_flight: None,
            queued: None,
            wake_at: None,
            failures: 0,
            register_waiting: false,
            unregister_waiting: false,
            out: VecDeque::new(),
        }
    }

    /// When the driver must feed `Input::Timeout` (ms, the clock of `handle`'s `now`).
    pub fn next_timeout(&self) -> Option<i64> {
        self.wake_at
    }

    /// The next thing to do, in order; `None` when there is nothing left.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn handle(&mut self, input: Input, now: i64) {
        match input {
            Input::Register => {
                self.register_waiting = true;
                match self.in_flight {
                    Some(Exchange::Register) => {} // its outcome answers this one too
                    Some(Exchange::Remove) => self.queued = Some(Exchange::Register),
                    None => self.start(Exchange::Register),
                }
            }
            Input::Unregister => {
                self.unregister_waiting = true;
                self.wake_at = None;
                if self.in_flight.is_some() {
                    self.queued = Some(Exchange::Remove);
                } else {
                    self.start(Exchange::Remove);
                }
            }
            Input::Timeout => {
                if self.wake_at.is_some_and(|at| at <= now) && self.in_flight.is_none() {
                    self.wake_at = None;
                    self.start(Exchange::Register);
                }
            }
            Input::Done(result) => {
                let Some(exchange) = self.in_flight.take() else { return };
                match exchange {
                    Exchange::Register => self.registered(result, now),
                    Exchange::Remove => {
                        self.failures = 0;
                        self.set_state(RegistrationState::Unregistered);
                        if std::mem::take(&mut self.unregister_waiting) {
                            self.out.push_back(Output::Unregistered(result.map(|_| ())));
                        }
                    }
                }
                if let Some(next) = self.queued.take() {
                    self.start(next);
                }
            }
        }
    }

    fn start(&mut self, exchange: Exchange) {
        self.wake_at = None;
        match exchange {
            Exchange::Register => {
                if matches!(self.state, RegistrationState::Unregistered | RegistrationState::Failed { .. }) {
                    self.set_state(RegistrationState::Registering);
                }
                self.in_flight = Some(Exchange::Register);
                self.out.push_back(Output::Send { expires: self.expires });
            }
            // Only a live binding needs removing: after a failure there is nothing to undo, and
            // an unreachable registrar would only make shutdown wait for another time-out.
            Exchange::Remove if matches!(self.state, RegistrationState::Registered { .. }) => {
                self.in_flight = Some(Exchange::Remove);
                self.out.push_back(Output::Send { expires: 0 });
            }
            Exchange::Remove => {
                self.failures = 0;
                self.set_state(RegistrationState::Unregistered);
                if std::mem::take(&mut self.unregister_waiting) {
                    self.out.push_back(Output::Unregistered(Ok(())));
                }
            }
        }
    }

    fn registered(&mut self, result: Result<u32, Failure>, now: i64) {
        match &result {
            Ok(granted) => {
                self.failures = 0;
                self.set_state(RegistrationState::Registered { expires_in: *granted });
                self.wake_at = Some(now + ms(refresh_after(*granted)));
            }
            Err(f) if retryable(f.status) => {
                self.failures += 1;
                let wait = retry_after(self.failures);
                self.set_state(RegistrationState::Retrying { message: f.message.clone(), in_secs: wait.as_secs() as u32 });
                self.wake_at = Some(now + ms(wait));
            }
            Err(f) => {
                self.failures = 0;
                self.set_state(RegistrationState::Failed { message: f.message.clone(), status: f.status });
                self.wake_at = None;
            }
        }
        if std::mem::take(&mut self.register_waiting) {
            self.out.push_back(Output::Registered(result));
        }
    }

    fn set_state(&mut self, state: RegistrationState) {
        if self.state != state {
            self.state = state.clone();
            self.out.push_back(Output::State(state));
        }
    }
}

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

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

    const SEC: i64 = 1000;

    fn failure(status: Option<u16>) -> Failure {
        let message = match status {
            Some(s) => format!("registration refused ({s}) by pbx.example.com: Nope"),
            None => "registrar pbx.example.com unreachable: timed out".to_string(),
        };
        Failure { status, message: message.clone(), error: PhoneError::Other(message) }
    }

    fn drain(core: &mut RegistrationCore) -> Vec<Output> {
        std::iter::from_fn(|| core.poll_output()).collect()
    }

    fn states(outputs: &[Output]) -> Vec<RegistrationState> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::State(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    fn retrying(status: Option<u16>, in_secs: u32) -> RegistrationState {
        RegistrationState::Retrying { message: failure(status).message, in_secs }
    }

    #[test]
    fn registers_then_refreshes_before_expiry_without_flicker() {
        let mut core = RegistrationCore::new(600);
        core.handle(Input::Register, 0);
        assert_eq!(drain(&mut core), vec![Output::State(RegistrationState::Registering), Output::Send { expires: 600 }]);
        core.handle(Input::Done(Ok(600)), 100);
        assert_eq!(
            drain(&mut core),
            vec![Output::State(RegistrationState::Registered { expires_in: 600 }), Output::Registered(Ok(600))]
        );
        assert_eq!(core.next_timeout(), Some(100 + 480 * SEC));
        // Too early: nothing.
        core.handle(Input::Timeout, 479 * SEC);
        assert_eq!(drain(&mut core), vec![]);
        core.handle(Input::Timeout, 100 + 480 * SEC);
        // A refresh of a live binding does not show "Registering".
        assert_eq!(drain(&mut core), vec![Output::Send { expires: 600 }]);
        assert_eq!(core.next_timeout(), None, "no timer while the exchange runs");
        // The registrar grants less this time: the next refresh follows the new figure, and
        // nobody asked, so nobody is answered.
        core.handle(Input::Done(Ok(60)), 481 * SEC);
        assert_eq!(drain(&mut core), vec![Output::State(RegistrationState::Registered { expires_in: 60 })]);
        assert_eq!(core.next_timeout(), Some(481 * SEC + 30 * SEC));
    }

    /// The bug this core replaced: the first registration and a refresh went through two copies
    /// of the state machine that told the front ends different stories about the same failure.
    #[test]
    fn a_failure_reads_the_same_on_the_first_registration_and_on_a_refresh() {
        let mut first = RegistrationCore::new(600);
        first.handle(Input::Register, 0);
        drain(&mut first);
        first.handle(Input::Done(Err(failure(Some(503)))), 10);
        let first_states = states(&drain(&mut first));

        let mut refresh = RegistrationCore::new(600);
        refresh.handle(Input::Register, 0);
        refresh.handle(Input::Done(Ok(600)), 10);
        drain(&mut refresh);
        refresh.handle(Input::Timeout, 10 + 480 * SEC);
        drain(&mut refresh);
        refresh.handle(Input::Done(Err(failure(Some(503)))), 20 + 480 * SEC);
        let refresh_states = states(&drain(&mut refresh));

        assert_eq!(first_states, vec![retrying(Some(503), 5)]);
        assert_eq!(refresh_states, first_states);

        // And a failure not worth retrying reads "Failed" both ways, with no timer left.
        let mut first = RegistrationCore::new(600);
        first.handle(Input::Register, 0);
        first.handle(Input::Done(Err(failure(Some(403)))), 10);
        let mut refresh = RegistrationCore::new(600);
        refresh.handle(Input::Register, 0);
        refresh.handle(Input::Done(Ok(600)), 10);
        drain(&mut refresh);
        refresh.handle(Input::Timeout, 10 + 480 * SEC);
        refresh.handle(Input::Done(Err(failure(Some(403)))), 20 + 480 * SEC);
        let failed = RegistrationState::Failed { message: failure(Some(403)).message, status: Some(403) };
        assert_eq!(states(&drain(&mut first)).last(), Some(&failed));
        assert_eq!(states(&drain(&mut refresh)), vec![failed]);
        assert_eq!((first.next_timeout(), refresh.next_timeout()), (None, None));
    }

    #[test]
    fn retries_back_off_and_recover() {
        let mut core = RegistrationCore::new(300);
        core.handle(Input::Register, 0);
        drain(&mut core);
        core.handle(Input::Done(Err(failure(None))), 0);
        let out = drain(&mut core);
        assert_eq!(out[0], Output::State(retrying(None, 5)));
        assert!(matches!(&out[1], Output::Registered(Err(f)) if f.status.is_none()), "{out:?}");
        for expected in [10, 20, 40] {
            let now = core.next_timeout().unwrap();
            core.handle(Input::Timeout, now);
            // The retry runs under "Retrying": the reason stays on screen until the outcome.
            assert_eq!(drain(&mut core), vec![Output::Send { expires: 300 }]);
            core.handle(Input::Done(Err(failure(Some(503)))), now + 50);
            assert_eq!(states(&drain(&mut core)), vec![retrying(Some(503), expected)]);
            assert_eq!(core.next_timeout(), Some(now + 50 + i64::from(expected) * SEC));
        }
        let now = core.next_timeout().unwrap();
        core.handle(Input::Timeout, now);
        drain(&mut core);
        core.handle(Input::Done(Ok(300)), now + 10);
        assert_eq!(states(&drain(&mut core)), vec![RegistrationState::Registered { expires_in: 300 }]);
        // The back-off starts again from 5 s after a success.
        let refresh_at = core.next_timeout().unwrap();
        core.handle(Input::Timeout, refresh_at);
        drain(&mut core);
        core.handle(Input::Done(Err(failure(None))), refresh_at);
        assert_eq!(states(&drain(&mut core)), vec![retrying(None, 5)]);
    }

    #[test]
    fn unregister_removes_a_live_binding_and_stops_refreshing() {
        let mut core = RegistrationCore::new(600);
        core.handle(Input::Register, 0);
        core.handle(Input::Done(Ok(600)), 0);
        drain(&mut core);
        core.handle(Input::Unregister, 5 * SEC);
        assert_eq!(drain(&mut core), vec![Output::Send { expires: 0 }]);
        assert_eq!(core.next_timeout(), None);
        core.handle(Input::Done(Ok(0)), 6 * SEC);
        assert_eq!(
            drain(&mut core),
            vec![Output::State(RegistrationState::Unregistered), Output::Unregistered(Ok(()))]
        );
        core.handle(Input::Timeout, 1000 * SEC);
        assert_eq!(drain(&mut core), vec![]);
    }

    #[test]
    fn unregister_without_a_binding_sends_nothing() {
        // After a failure with a retry pending: the retry is cancelled, no REGISTER goes out.
        let mut core = RegistrationCore::new(600);
        core.handle(Input::Register, 0);
        core.handle(Input::Done(Err(failure(None))), 0);
        drain(&mut core);
        core.handle(Input::Unregister, SEC);
        assert_eq!(
            drain(&mut core),
            vec![Output::State(RegistrationState::Unregistered), Output::Unregistered(Ok(()))]
        );
        assert_eq!(core.next_timeout(), None);
        // Never registered at all: answered at once, no state change to report.
        let mut idle = RegistrationCore::new(600);
        idle.handle(Input::Unregister, 0);
        assert_eq!(drain(&mut idle), vec![Output::Unregistered(Ok(()))]);
    }

    #[test]
    fn requests_during_an_exchange_wait_for_it() {
        let mut core = RegistrationCore::new(600);
        core.handle(Input::Register, 0);
        drain(&mut core);
        // A second register joins the first; an unregister runs after it.
        core.handle(Input::Register, 1);
        core.handle(Input::Unregister, 2);
        assert_eq!(drain(&mut core), vec![]);
        core.handle(Input::Done(Ok(600)), 3);
        assert_eq!(
            drain(&mut core),
            vec![
                Output::State(RegistrationState::Registered { expires_in: 600 }),
                Output::Registered(Ok(600)),
                Output::Send { expires: 0 },
            ]
        );
        assert_eq!(core.next_timeout(), None, "no refresh for a binding being removed");
        // A register while removing runs after the removal.
        core.handle(Input::Register, 4);
        core.handle(Input::Done(Ok(0)), 5);
        assert_eq!(
            drain(&mut core),
            vec![
                Output::State(RegistrationState::Unregistered),
                Output::Unregistered(Ok(())),
                Output::State(RegistrationState::Registering),
                Output::Send { expires: 600 },
            ]
        );
    }

    #[test]
    fn a_failed_removal_still_ends_the_registration_and_reports_why() {
        let mut core = RegistrationCore::new(600);
        core.handle(Input::Register, 0);
        core.handle(Input::Done(Ok(600)), 0);
        drain(&mut core);
        core.handle(Input::Unregister, 0);
        drain(&mut core);
        core.handle(Input::Done(Err(failure(None))), 1);
        let out = drain(&mut core);
        assert_eq!(out[0], Output::State(RegistrationState::Unregistered));
        assert!(matches!(&out[1], Output::Unregistered(Err(f)) if f.status.is_none()), "{out:?}");
    }

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
