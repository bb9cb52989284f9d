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
//!
//! Recovery: a registrar that does not answer or cannot be reached is tried again every
//! `RECONNECT_SECS` for as long as it is away (on UDP each try retransmits for 32 s by itself;
//! on TCP/TLS a try is one refused connection), so the phone is registered again within seconds
//! of the registrar coming back. A refusal of credentials that had been accepted (401/403/404/
//! 407 on a refresh) is taken for a passing fault of the provider and retried with back-off
//! `AUTH_RETRIES` times before the account is shown as failed. `Input::Refresh` (the computer
//! resumed from sleep, the network changed) registers again at once.
//!
//! Keep-alive: while registered, `Output::KeepAlive` comes every `keepalive.check_ms` (a check
//! that the connection the binding lives on is still up: free, no traffic) with `ping` set
//! every `keepalive.ping_ms` (a CRLF on TCP/TLS, RFC 5626 4.4.1, or an OPTIONS on UDP: both hold
//! NAT bindings open, and the registrar's answer to the OPTIONS shows a changed NAT mapping).
//! A lost connection, a silent registrar or a changed mapping (`Input::KeptAlive(Err)`)
//! registers again at once.

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
    /// Trying again cannot help (the registrar's certificate is refused): shown as failed.
    pub lasting: bool,
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
    /// The keep-alive asked for with `Output::KeepAlive` is over: Err when the connection the
    /// binding lives on is gone (closed, or replaced by a new one).
    KeptAlive(Result<(), Failure>),
    /// Register again now if registered or retrying: the computer resumed from sleep or the
    /// network changed, so the binding may be gone or point at a stale address.
    Refresh,
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
    /// Check the binding's connection (and keep it alive when `ping`: a CRLF on TCP/TLS, an
    /// OPTIONS on UDP that also notices a changed NAT mapping); then feed `Input::KeptAlive`.
    KeepAlive { ping: bool },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Exchange {
    Register,
    Remove,
    KeepAlive,
}

/// How often a live binding is checked and pinged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeepAlive {
    /// Between checks of the connection (ms).
    pub check_ms: i64,
    /// Between CRLF pings (ms); a multiple of `check_ms` in practice.
    pub ping_ms: i64,
}

impl KeepAlive {
    /// TCP/TLS: the connection is checked every 2 s (a closed one is noticed at once, without
    /// traffic) and pinged every 30 s, well inside the 300 s after which an idle stream is
    /// closed and the shortest NAT TCP timeouts.
    pub const STREAM: KeepAlive = KeepAlive {
        check_ms: 2_000,
        ping_ms: 30_000,
    };
    /// UDP: a ping every 25 s keeps NAT bindings open (many routers drop UDP mappings after 30 s).
    pub const DATAGRAM: KeepAlive = KeepAlive {
        check_ms: 25_000,
        ping_ms: 25_000,
    };

    /// The keep-alive of a binding over a stream (TCP/TLS) or UDP, pinged every `ping_secs`
    /// when the account sets it. A stream is still checked every 2 s (or at each ping, if more
    /// often).
    pub fn every(on_stream: bool, ping_secs: Option<u32>) -> KeepAlive {
        let base = if on_stream {
            KeepAlive::STREAM
        } else {
            KeepAlive::DATAGRAM
        };
        match ping_secs {
            None => base,
            Some(secs) => {
                let ping_ms = i64::from(secs.max(1)) * 1000;
                KeepAlive {
                    check_ms: base.check_ms.min(ping_ms),
                    ping_ms,
                }
            }
        }
    }
}

/// Seconds between tries while the registrar cannot be reached or does not answer.
pub const RECONNECT_SECS: u64 = 3;
/// How many times a refresh refused for its credentials is tried again before giving up.
pub const AUTH_RETRIES: u32 = 3;

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
    /// The registrar accepted this account since the user last asked to register: a refusal
    /// of its credentials now is more likely a passing fault than a wrong password.
    accepted_before: bool,
    /// Refusals of credentials retried since the last success.
    auth_retries: u32,
    keepalive: Option<KeepAlive>,
    /// The registrar uses SIP outbound (RFC 5626) and asked for keep-alives within this many
    /// ms (`Flow-Timer`): pings come at 90 % of it when that is sooner than ours.
    flow_timer_ms: Option<i64>,
    /// The registrar uses SIP outbound for the live binding.
    outbound: bool,
    /// The next keep-alive check, while registered.
    check_at: Option<i64>,
    /// When the next check should also ping.
    ping_at: i64,
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
            accepted_before: false,
            auth_retries: 0,
            keepalive: None,
            flow_timer_ms: None,
            outbound: false,
            check_at: None,
            ping_at: 0,
            register_waiting: false,
            unregister_waiting: false,
            out: VecDeque::new(),
        }
    }

    /// Checks and pings a live binding (see `KeepAlive`); without this, none are sent.
    pub fn with_keepalive(mut self, keepalive: KeepAlive) -> Self {
        self.keepalive = Some(keepalive);
        self
    }

    /// What the registrar said of SIP outbound in its last acceptance: in use or not, and the
    /// `Flow-Timer` it asked for (seconds). Given before that acceptance's `Input::Done`.
    pub fn outbound(&mut self, in_use: bool, flow_timer_secs: Option<u32>) {
        self.outbound = in_use;
        self.flow_timer_ms = flow_timer_secs
            .filter(|_| in_use)
            .map(|s| i64::from(s) * 1000);
    }

    /// Whether the live binding uses SIP outbound.
    pub fn uses_outbound(&self) -> bool {
        self.outbound && matches!(self.state, RegistrationState::Registered { .. })
    }

    /// How the live binding is kept alive: checks and pings as configured, pings brought
    /// within the registrar's flow timer.
    pub fn keepalive(&self) -> Option<KeepAlive> {
        let ka = self.keepalive?;
        Some(match self.flow_timer_ms {
            Some(flow) => {
                let ping_ms = ka.ping_ms.min((flow * 9 / 10).max(1000));
                KeepAlive {
                    check_ms: ka.check_ms.min(ping_ms),
                    ping_ms,
                }
            }
            None => ka,
        })
    }

    /// When the driver must feed `Input::Timeout` (ms, the clock of `handle`'s `now`).
    pub fn next_timeout(&self) -> Option<i64> {
        match (self.wake_at, self.check_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next thing to do, in order; `None` when there is nothing left.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn handle(&mut self, input: Input, now: i64) {
        match input {
            Input::Register => {
                self.register_waiting = true;
                self.accepted_before = false;
                self.auth_retries = 0;
                self.register_now(now, true);
            }
            Input::Refresh => {
                if matches!(
                    self.state,
                    RegistrationState::Registered { .. } | RegistrationState::Retrying { .. }
                ) {
                    self.register_now(now, false);
                }
            }
            Input::Unregister => {
                self.unregister_waiting = true;
                self.wake_at = None;
                self.check_at = None;
                if self.in_flight.is_some() {
                    self.queued = Some(Exchange::Remove);
                } else {
                    self.start(Exchange::Remove, now);
                }
            }
            Input::Timeout => self.run_due(now),
            Input::KeptAlive(result) => {
                if self.in_flight != Some(Exchange::KeepAlive) {
                    return;
                }
                self.in_flight = None;
                match result {
                    Ok(()) => {
                        if let Some(next) = self.queued.take() {
                            self.start(next, now);
                        }
                    }
                    // The binding's connection is gone: register again on a new one, unless
                    // the user's own request is waiting (it does just that, or removes it).
                    Err(_) => {
                        let next = self.queued.take().unwrap_or(Exchange::Register);
                        self.start(next, now);
                    }
                }
                self.run_due(now);
            }
            Input::Done(result) => {
                let Some(exchange) = self.in_flight.take() else {
                    return;
                };
                match exchange {
                    Exchange::Register => self.registered(result, now),
                    Exchange::Remove => {
                        self.failures = 0;
                        self.set_state(RegistrationState::Unregistered);
                        if std::mem::take(&mut self.unregister_waiting) {
                            self.out.push_back(Output::Unregistered(result.map(|_| ())));
                        }
                    }
                    Exchange::KeepAlive => {} // not an answer to this input
                }
                if let Some(next) = self.queued.take() {
                    self.start(next, now);
                }
                self.run_due(now);
            }
        }
    }

    /// A REGISTER now, or as soon as the exchange in flight is over. Only the user's own
    /// request (`by_user`) replaces a removal they asked for.
    fn register_now(&mut self, now: i64, by_user: bool) {
        match self.in_flight {
            Some(Exchange::Register) => {} // its outcome answers this one too
            Some(_) if !by_user && self.queued == Some(Exchange::Remove) => {}
            Some(_) => self.queued = Some(Exchange::Register),
            None => self.start(Exchange::Register, now),
        }
    }

    /// Starts whatever timer has come, if nothing is in flight.
    fn run_due(&mut self, now: i64) {
        if self.in_flight.is_some() {
            return;
        }
        if self.wake_at.is_some_and(|at| at <= now) {
            self.start(Exchange::Register, now);
        } else if self.check_at.is_some_and(|at| at <= now) {
            self.start(Exchange::KeepAlive, now);
        }
    }

    fn start(&mut self, exchange: Exchange, now: i64) {
        if exchange != Exchange::KeepAlive {
            self.wake_at = None;
            self.check_at = None;
        }
        match exchange {
            Exchange::KeepAlive => {
                let ka = self.keepalive().unwrap_or(KeepAlive::DATAGRAM);
                let ping = now >= self.ping_at;
                if ping {
                    self.ping_at = now + ka.ping_ms;
                }
                self.check_at = Some(now + ka.check_ms);
                self.in_flight = Some(Exchange::KeepAlive);
                self.out.push_back(Output::KeepAlive { ping });
            }
            Exchange::Register => {
                if matches!(
                    self.state,
                    RegistrationState::Unregistered | RegistrationState::Failed { .. }
                ) {
                    self.set_state(RegistrationState::Registering);
                }
                self.in_flight = Some(Exchange::Register);
                self.out.push_back(Output::Send {
                    expires: self.expires,
                });
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
                self.auth_retries = 0;
                self.accepted_before = true;
                self.set_state(RegistrationState::Registered {
                    expires_in: *granted,
                });
                self.wake_at = Some(now + ms(refresh_after(*granted)));
                if let Some(ka) = self.keepalive() {
                    self.check_at = Some(now + ka.check_ms);
                    self.ping_at = now + ka.ping_ms;
                }
            }
            Err(f) if f.lasting => {
                // Trying again cannot help (a refused certificate): show why, and stop.
                self.failures = 0;
                self.set_state(RegistrationState::Failed {
                    message: f.message.clone(),
                    status: f.status,
                });
                self.wake_at = None;
            }
            Err(f) if f.status.is_none() => {
                // Away or silent: try again soon, for as long as it takes.
                self.failures += 1;
                let wait = Duration::from_secs(RECONNECT_SECS);
                self.set_state(RegistrationState::Retrying {
                    message: f.message.clone(),
                    in_secs: wait.as_secs() as u32,
                });
                self.wake_at = Some(now + ms(wait));
            }
            Err(f)
                if retryable(f.status)
                    || (self.accepted_before && self.auth_retries < AUTH_RETRIES) =>
            {
                if !retryable(f.status) {
                    self.auth_retries += 1;
                }
                self.failures += 1;
                let wait = retry_after(self.failures);
                self.set_state(RegistrationState::Retrying {
                    message: f.message.clone(),
                    in_secs: wait.as_secs() as u32,
                });
                self.wake_at = Some(now + ms(wait));
            }
            Err(f) => {
                self.failures = 0;
                self.set_state(RegistrationState::Failed {
                    message: f.message.clone(),
                    status: f.status,
                });
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

    #[test]
    fn an_account_can_ping_more_often_than_the_defaults() {
        assert_eq!(KeepAlive::every(false, None), KeepAlive::DATAGRAM);
        assert_eq!(KeepAlive::every(true, None), KeepAlive::STREAM);
        assert_eq!(
            KeepAlive::every(false, Some(4)),
            KeepAlive {
                check_ms: 4_000,
                ping_ms: 4_000
            }
        );
        assert_eq!(
            KeepAlive::every(true, Some(60)),
            KeepAlive {
                check_ms: 2_000,
                ping_ms: 60_000
            }
        );
        assert_eq!(
            KeepAlive::every(true, Some(1)),
            KeepAlive {
                check_ms: 1_000,
                ping_ms: 1_000
            }
        );
    }

    const SEC: i64 = 1000;

    fn failure(status: Option<u16>) -> Failure {
        let message = match status {
            Some(s) => format!("registration refused ({s}) by pbx.example.com: Nope"),
            None => "registrar pbx.example.com unreachable: timed out".to_string(),
        };
        Failure {
            status,
            message: message.clone(),
            error: PhoneError::Other(message),
            lasting: false,
        }
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
        RegistrationState::Retrying {
            message: failure(status).message,
            in_secs,
        }
    }

    #[test]
    fn registers_then_refreshes_before_expiry_without_flicker() {
        let mut core = RegistrationCore::new(600);
        core.handle(Input::Register, 0);
        assert_eq!(
            drain(&mut core),
            vec![
                Output::State(RegistrationState::Registering),
                Output::Send { expires: 600 }
            ]
        );
        core.handle(Input::Done(Ok(600)), 100);
        assert_eq!(
            drain(&mut core),
            vec![
                Output::State(RegistrationState::Registered { expires_in: 600 }),
                Output::Registered(Ok(600))
            ]
        );
        assert_eq!(core.next_timeout(), Some(100 + 480 * SEC));
        // Too early: nothing.
        core.handle(Input::Timeout, 479 * SEC);
        assert_eq!(drain(&mut core), vec![]);
        core.handle(Input::Timeout, 100 + 480 * SEC);
        // A refresh of a live binding does not show "Registering".
        assert_eq!(drain(&mut core), vec![Output::Send { expires: 600 }]);
        assert_eq!(
            core.next_timeout(),
            None,
            "no timer while the exchange runs"
        );
        // The registrar grants less this time: the next refresh follows the new figure, and
        // nobody asked, so nobody is answered.
        core.handle(Input::Done(Ok(60)), 481 * SEC);
        assert_eq!(
            drain(&mut core),
            vec![Output::State(RegistrationState::Registered {
                expires_in: 60
            })]
        );
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

        // A refusal of credentials on the first registration reads "Failed", with no timer left.
        let mut first = RegistrationCore::new(600);
        first.handle(Input::Register, 0);
        first.handle(Input::Done(Err(failure(Some(403)))), 10);
        let failed = RegistrationState::Failed {
            message: failure(Some(403)).message,
            status: Some(403),
        };
        assert_eq!(states(&drain(&mut first)).last(), Some(&failed));
        assert_eq!(first.next_timeout(), None);
    }

    /// Credentials the registrar accepted and then refuses on a refresh: a provider's passing
    /// fault far more often than a changed password. Retried with back-off a few times, then
    /// shown as failed — never hammered, never given up on the first refusal.
    #[test]
    fn credentials_refused_on_a_refresh_are_retried_before_the_account_fails() {
        let mut core = RegistrationCore::new(600);
        core.handle(Input::Register, 0);
        core.handle(Input::Done(Ok(600)), 10);
        drain(&mut core);
        let mut now = core.next_timeout().unwrap();
        for expected in [5, 10, 20] {
            core.handle(Input::Timeout, now);
            assert_eq!(drain(&mut core), vec![Output::Send { expires: 600 }]);
            core.handle(Input::Done(Err(failure(Some(403)))), now + 10);
            assert_eq!(
                states(&drain(&mut core)),
                vec![retrying(Some(403), expected)]
            );
            now = core.next_timeout().unwrap();
        }
        core.handle(Input::Timeout, now);
        drain(&mut core);
        core.handle(Input::Done(Err(failure(Some(403)))), now + 10);
        let failed = RegistrationState::Failed {
            message: failure(Some(403)).message,
            status: Some(403),
        };
        assert_eq!(states(&drain(&mut core)), vec![failed]);
        assert_eq!(core.next_timeout(), None);
        // Asked again by the user, a refusal fails at once (the password may really be wrong).
        core.handle(Input::Register, now + 20);
        drain(&mut core);
        core.handle(Input::Done(Err(failure(Some(401)))), now + 30);
        assert!(matches!(
            states(&drain(&mut core)).last(),
            Some(RegistrationState::Failed {
                status: Some(401),
                ..
            })
        ));
        // A success in between starts the count again.
        let mut core = RegistrationCore::new(600);
        core.handle(Input::Register, 0);
        core.handle(Input::Done(Ok(600)), 0);
        for _ in 0..10 {
            let now = core.next_timeout().unwrap();
            core.handle(Input::Timeout, now);
            core.handle(Input::Done(Err(failure(Some(403)))), now);
            let now = core.next_timeout().unwrap();
            core.handle(Input::Timeout, now);
            core.handle(Input::Done(Ok(600)), now);
        }
        assert!(matches!(
            states(&drain(&mut core)).last(),
            Some(RegistrationState::Registered { .. })
        ));
    }

    /// The registrar goes away (restart, outage) and comes back: the phone keeps trying every
    /// few seconds however long it takes, so it is registered again within seconds of the return.
    #[test]
    fn an_absent_registrar_is_tried_every_few_seconds_until_it_answers() {
        let mut core = RegistrationCore::new(600);
        core.handle(Input::Register, 0);
        core.handle(Input::Done(Ok(600)), 0);
        drain(&mut core);
        let mut now = core.next_timeout().unwrap();
        core.handle(Input::Timeout, now);
        drain(&mut core);
        // An hour of silence: each try (32 s of UDP retransmissions) is followed by another 3 s later.
        for i in 0..100 {
            now += 32 * SEC;
            core.handle(Input::Done(Err(failure(None))), now);
            // "Retrying" once; the same reason after that changes nothing on screen.
            let expected = if i == 0 {
                vec![retrying(None, RECONNECT_SECS as u32)]
            } else {
                vec![]
            };
            assert_eq!(states(&drain(&mut core)), expected);
            assert_eq!(core.next_timeout(), Some(now + RECONNECT_SECS as i64 * SEC));
            now += RECONNECT_SECS as i64 * SEC;
            core.handle(Input::Timeout, now);
            assert_eq!(drain(&mut core), vec![Output::Send { expires: 600 }]);
        }
        core.handle(Input::Done(Ok(600)), now + 100);
        assert_eq!(
            states(&drain(&mut core)),
            vec![RegistrationState::Registered { expires_in: 600 }]
        );
    }

    #[test]
    fn a_live_binding_is_checked_often_and_pinged_now_and_then() {
        let ka = KeepAlive {
            check_ms: 2 * SEC,
            ping_ms: 30 * SEC,
        };
        let mut core = RegistrationCore::new(600).with_keepalive(ka);
        core.handle(Input::Register, 0);
        core.handle(Input::Done(Ok(600)), 0);
        drain(&mut core);
        let mut pings = vec![];
        let mut now = 0;
        while now < 480 * SEC {
            now = core.next_timeout().unwrap();
            core.handle(Input::Timeout, now);
            match drain(&mut core).as_slice() {
                [Output::KeepAlive { ping }] => {
                    if *ping {
                        pings.push(now / SEC);
                    }
                    core.handle(Input::KeptAlive(Ok(())), now + 1);
                }
                [Output::Send { expires: 600 }] => break,
                other => panic!("at {now}: {other:?}"),
            }
        }
        assert_eq!(now, 480 * SEC, "the refresh still comes on time");
        assert_eq!(
            pings,
            (1..=15).map(|i| i * 30).collect::<Vec<_>>(),
            "a ping every 30 s"
        );
        core.handle(Input::Done(Ok(600)), now);
        drain(&mut core);
        // The connection is gone (the registrar restarted): register again at once, still
        // showing "Registered" while it runs.
        let at = core.next_timeout().unwrap();
        core.handle(Input::Timeout, at);
        assert_eq!(drain(&mut core), vec![Output::KeepAlive { ping: false }]);
        core.handle(Input::KeptAlive(Err(failure(None))), at + 5);
        assert_eq!(drain(&mut core), vec![Output::Send { expires: 600 }]);
        core.handle(Input::Done(Ok(600)), at + 50);
        assert_eq!(
            drain(&mut core),
            vec![],
            "no state change: it was registered all along"
        );
    }

    /// A registrar using SIP outbound with `Flow-Timer: 10` gets a ping every 9 s over UDP
    /// (our 25 s would let its flow expire); one with a longer timer leaves ours alone, and
    /// a registrar that stops using outbound gets the configured interval back.
    #[test]
    fn the_registrars_flow_timer_brings_pings_within_it() {
        let pings_in_first_minute = |core: &mut RegistrationCore| {
            let mut pings = vec![];
            let mut now = 0;
            while now < 60 * SEC {
                now = core.next_timeout().unwrap();
                core.handle(Input::Timeout, now);
                match drain(core).as_slice() {
                    [Output::KeepAlive { ping }] => {
                        if *ping {
                            pings.push(now / SEC);
                        }
                        core.handle(Input::KeptAlive(Ok(())), now);
                    }
                    other => panic!("at {now}: {other:?}"),
                }
            }
            pings
        };
        let registered = |outbound: Option<Option<u32>>| {
            let mut core = RegistrationCore::new(600).with_keepalive(KeepAlive::DATAGRAM);
            core.handle(Input::Register, 0);
            drain(&mut core);
            core.outbound(outbound.is_some(), outbound.flatten());
            core.handle(Input::Done(Ok(600)), 0);
            drain(&mut core);
            core
        };
        let mut core = registered(Some(Some(10)));
        assert!(core.uses_outbound());
        assert_eq!(core.keepalive().unwrap().ping_ms, 9 * SEC);
        assert_eq!(
            pings_in_first_minute(&mut core),
            vec![9, 18, 27, 36, 45, 54, 63]
        );
        let mut core = registered(Some(Some(120)));
        assert_eq!(pings_in_first_minute(&mut core), vec![25, 50, 75]);
        let mut core = registered(Some(None));
        assert!(core.uses_outbound());
        assert_eq!(core.keepalive(), Some(KeepAlive::DATAGRAM));
        core.outbound(false, Some(10));
        assert!(!core.uses_outbound());
        assert_eq!(
            core.keepalive(),
            Some(KeepAlive::DATAGRAM),
            "no flow timer without outbound"
        );
        assert!(!registered(None).uses_outbound());
    }

    #[test]
    fn a_refused_certificate_is_not_tried_again() {
        let mut core = RegistrationCore::new(600);
        core.handle(Input::Register, 0);
        drain(&mut core);
        let bad = Failure {
            lasting: true,
            ..failure(None)
        };
        core.handle(Input::Done(Err(bad.clone())), 10);
        assert_eq!(
            states(&drain(&mut core)),
            vec![RegistrationState::Failed {
                message: bad.message,
                status: None
            }]
        );
        assert_eq!(core.next_timeout(), None);
    }

    #[test]
    fn refresh_registers_again_at_once_when_there_is_a_binding_to_keep() {
        let mut core = RegistrationCore::new(600).with_keepalive(KeepAlive::STREAM);
        // Nothing to refresh before the first registration.
        core.handle(Input::Refresh, 0);
        assert_eq!(drain(&mut core), vec![]);
        core.handle(Input::Register, 0);
        core.handle(Input::Done(Ok(600)), 0);
        drain(&mut core);
        core.handle(Input::Refresh, 60 * SEC);
        assert_eq!(drain(&mut core), vec![Output::Send { expires: 600 }]);
        core.handle(Input::Done(Ok(600)), 60 * SEC);
        drain(&mut core);
        // During a keep-alive check: right after it.
        let at = core.next_timeout().unwrap();
        core.handle(Input::Timeout, at);
        drain(&mut core);
        core.handle(Input::Refresh, at);
        assert_eq!(drain(&mut core), vec![]);
        core.handle(Input::KeptAlive(Ok(())), at + 1);
        assert_eq!(drain(&mut core), vec![Output::Send { expires: 600 }]);
        // A removal the user asked for is not undone by a refresh.
        core.handle(Input::Done(Ok(600)), at + 2);
        let at = core.next_timeout().unwrap();
        core.handle(Input::Timeout, at);
        drain(&mut core);
        core.handle(Input::Unregister, at);
        core.handle(Input::Refresh, at);
        core.handle(Input::KeptAlive(Ok(())), at + 1);
        assert_eq!(drain(&mut core), vec![Output::Send { expires: 0 }]);
        // A failed account stays failed until the user acts.
        let mut failed = RegistrationCore::new(600);
        failed.handle(Input::Register, 0);
        failed.handle(Input::Done(Err(failure(Some(403)))), 0);
        drain(&mut failed);
        failed.handle(Input::Refresh, SEC);
        assert_eq!(drain(&mut failed), vec![]);
    }

    #[test]
    fn retries_back_off_and_recover() {
        let mut core = RegistrationCore::new(300);
        core.handle(Input::Register, 0);
        drain(&mut core);
        core.handle(Input::Done(Err(failure(None))), 0);
        let out = drain(&mut core);
        assert_eq!(out[0], Output::State(retrying(None, 3)));
        assert!(
            matches!(&out[1], Output::Registered(Err(f)) if f.status.is_none()),
            "{out:?}"
        );
        for expected in [10, 20, 40] {
            let now = core.next_timeout().unwrap();
            core.handle(Input::Timeout, now);
            // The retry runs under "Retrying": the reason stays on screen until the outcome.
            assert_eq!(drain(&mut core), vec![Output::Send { expires: 300 }]);
            core.handle(Input::Done(Err(failure(Some(503)))), now + 50);
            assert_eq!(
                states(&drain(&mut core)),
                vec![retrying(Some(503), expected)]
            );
            assert_eq!(
                core.next_timeout(),
                Some(now + 50 + i64::from(expected) * SEC)
            );
        }
        let now = core.next_timeout().unwrap();
        core.handle(Input::Timeout, now);
        drain(&mut core);
        core.handle(Input::Done(Ok(300)), now + 10);
        assert_eq!(
            states(&drain(&mut core)),
            vec![RegistrationState::Registered { expires_in: 300 }]
        );
        // The back-off starts again from 5 s after a success.
        let refresh_at = core.next_timeout().unwrap();
        core.handle(Input::Timeout, refresh_at);
        drain(&mut core);
        core.handle(Input::Done(Err(failure(Some(500)))), refresh_at);
        assert_eq!(states(&drain(&mut core)), vec![retrying(Some(500), 5)]);
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
            vec![
                Output::State(RegistrationState::Unregistered),
                Output::Unregistered(Ok(()))
            ]
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
            vec![
                Output::State(RegistrationState::Unregistered),
                Output::Unregistered(Ok(()))
            ]
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
        assert_eq!(
            core.next_timeout(),
            None,
            "no refresh for a binding being removed"
        );
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
        assert!(
            matches!(&out[1], Output::Unregistered(Err(f)) if f.status.is_none()),
            "{out:?}"
        );
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
