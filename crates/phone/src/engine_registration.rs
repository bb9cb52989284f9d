//! The engine side of registration: one task per account performs the REGISTER exchanges the
//! registration core (`core/registration.rs`) asks for, one at a time, sleeps until the core's
//! next wake-up, and passes the front ends' register / un-register requests in. Every REGISTER of
//! the account goes out here; what to send and when is decided by the core alone.

use super::{now_ms, sip_err, Engine};
use crate::api::PhoneError;
use crate::core::registration::{Failure, Input, Output, RegistrationCore};
use hookflash_sip::registration::Registration;
use hookflash_sip::SipError;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// A front end's request to the registration task.
pub(crate) enum Request {
    Register(oneshot::Sender<Result<u32, PhoneError>>),
    Unregister(oneshot::Sender<Result<(), PhoneError>>),
}

/// The longest the task sleeps before it looks at the clock again. The core's wake-ups are
/// wall-clock times; a monotonic sleep does not advance while the computer is suspended, so a
/// refresh due during a suspension happens at most this long after resuming, not a sleep later.
const LOOK_AGAIN: Duration = Duration::from_secs(15);

fn failure(e: SipError) -> Failure {
    let status = match &e {
        SipError::Refused { status, .. } => Some(*status),
        _ => None,
    };
    Failure { status, message: e.to_string(), error: sip_err(e) }
}

/// Starts the account's registration task; it ends when `requests`' sender is dropped.
pub(crate) fn spawn(
    engine: Weak<Engine>,
    account: usize,
    registration: Registration,
    expires: u32,
    requests: mpsc::UnboundedReceiver<Request>,
) {
    tokio::spawn(run(engine, account, registration, RegistrationCore::new(expires), requests));
}

async fn run(
    engine: Weak<Engine>,
    account: usize,
    mut registration: Registration,
    mut core: RegistrationCore,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let mut register_waiting: Vec<oneshot::Sender<Result<u32, PhoneError>>> = Vec::new();
    let mut unregister_waiting: Vec<oneshot::Sender<Result<(), PhoneError>>> = Vec::new();
    loop {
        while let Some(output) = core.poll_output() {
            match output {
                Output::Send { expires } => {
                    let Some(e) = engine.upgrade() else { return };
                    let result = registration.register(&e.accounts[account].stack, expires).await;
                    drop(e);
                    core.handle(Input::Done(result.map(|r| r.expires).map_err(failure)), now_ms());
                }
                Output::State(state) => {
                    let Some(e) = engine.upgrade() else { return };
                    e.set_registration(account, state);
                }
                Output::Registered(result) => {
                    for waiting in register_waiting.drain(..) {
                        let _ = waiting.send(result.clone().map_err(|f| f.error));
                    }
                }
                Output::Unregistered(result) => {
                    for waiting in unregister_waiting.drain(..) {
                        let _ = waiting.send(result.clone().map_err(|f| f.error));
                    }
                }
            }
        }
        let sleep = match core.next_timeout() {
            Some(at) => Duration::from_millis((at - now_ms()).max(0) as u64).min(LOOK_AGAIN),
            None => LOOK_AGAIN,
        };
        tokio::select! {
            request = requests.recv() => match request {
                None => return,
                Some(Request::Register(waiting)) => {
                    register_waiting.push(waiting);
                    core.handle(Input::Register, now_ms());
                }
                Some(Request::Unregister(waiting)) => {
                    unregister_waiting.push(waiting);
                    core.handle(Input::Unregister, now_ms());
                }
            },
            _ = tokio::time::sleep(sleep) => core.handle(Input::Timeout, now_ms()),
        }
    }
}

impl Engine {
    /// Registers every account that registers (or refreshes at once), all at the same time, and
    /// waits for the outcomes; their tasks keep refreshing, and retry with back-off after
    /// failures worth retrying. Returns the first registering account's granted expiry, or the
    /// first failure.
    pub(crate) async fn register(self: &Arc<Self>) -> Result<u32, PhoneError> {
        let mut waiting = Vec::new();
        for a in self.accounts.iter().filter(|a| a.register_enabled) {
            if a.registrar.is_none() {
                return Err(PhoneError::InvalidInput { what: "account".into(), detail: format!("{}: no registrar configured", a.aor_text) });
            }
            let (tx, rx) = oneshot::channel();
            a.registration.send(Request::Register(tx)).map_err(|_| stopped())?;
            waiting.push(rx);
        }
        if waiting.is_empty() {
            return Err(PhoneError::InvalidInput { what: "account".into(), detail: "no account registers".into() });
        }
        let mut first = None;
        for rx in waiting {
            let granted = rx.await.map_err(|_| stopped())??;
            first.get_or_insert(granted);
        }
        Ok(first.unwrap_or(0))
    }

    /// Removes every account's binding (where there is a live one), stops refreshing, and waits
    /// for the answers; the first failure is returned after all have answered.
    pub(crate) async fn unregister(&self) -> Result<(), PhoneError> {
        let mut waiting = Vec::new();
        for a in self.accounts.iter().filter(|a| a.register_enabled) {
            let (tx, rx) = oneshot::channel();
            a.registration.send(Request::Unregister(tx)).map_err(|_| stopped())?;
            waiting.push(rx);
        }
        let mut result = Ok(());
        for rx in waiting {
            let r = rx.await.map_err(|_| stopped()).and_then(|r| r);
            if result.is_ok() {
                result = r;
            }
        }
        result
    }
}

fn stopped() -> PhoneError {
    PhoneError::Other("the phone has stopped".into())
}
