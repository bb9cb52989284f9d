//! The driver's SIP side: performs the core's `SipOutput`s with `hookflash-sip` (the only place
//! the phone touches SIP objects), keeps the live ones (call legs, server transactions, reply
//! handles, registrations) by the names the core uses, and turns what arrives into inputs.

use super::{now_ms, Completion as DriverCompletion, Pending};
use crate::api::*;
use crate::core::io::{Input, SipInput, SipKey, SipOutput};
use crate::core::phone::sip_err;
use crate::core::registration::Failure;
use crate::core::transfer::ReferAnswer;
use crate::core::PhoneCore;
use hookflash_sip::auth::Credentials;
use hookflash_sip::dialog_events::{DialogEvent, Reply};
use hookflash_sip::incoming::{Incoming, Redirect, ServerInvite, ServerRequest};
use hookflash_sip::invite::{self as sip_invite, CallLeg, InviteOutcome};
use hookflash_sip::registration::Registration;
use hookflash_sip::stack::SipStack;
use hookflash_sip::subscription;
use hookflash_sip::{SipError, SipUri};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// One account's SIP side: its stack, identity, password and registration exchange.
pub(crate) struct AccountIo {
    pub stack: Arc<SipStack>,
    pub aor: SipUri,
    pub display_name: Option<String>,
    pub outbound: Option<SipUri>,
    pub credentials: Credentials,
    /// Where it registers (or would): what `check` probes.
    pub registrar: SipUri,
    /// None while its exchange is in flight.
    pub registration: Option<Registration>,
}

/// Something that answers a request: an in-dialog transaction or an out-of-dialog one.
enum Responder {
    Dialog(Reply),
    Request(Box<ServerRequest>),
}

/// SIP work that ends in more than an input.
pub(super) enum Completion {
    InviteSent {
        id: CallId,
        result: Box<Result<(CallLeg, tokio::task::JoinHandle<InviteOutcome>), SipError>>,
    },
    Registered {
        account: usize,
        registration: Box<Registration>,
        result: Result<hookflash_sip::registration::Registered, Failure>,
    },
    KeptAlive {
        account: usize,
        registration: Box<Registration>,
        result: Result<(), Failure>,
    },
}

pub(super) struct SipIo {
    accounts: Vec<AccountIo>,
    legs: HashMap<CallId, CallLeg>,
    redirects: HashMap<CallId, Redirect>,
    invites: HashMap<SipKey, ServerInvite>,
    responders: HashMap<SipKey, Responder>,
    next_key: SipKey,
    /// Outgoing calls whose INVITE is going out (no leg yet).
    inviting: HashSet<CallId>,
    /// Of those, the ones ended meanwhile: cancelled as soon as the INVITE is out.
    cancel_on_arrival: HashSet<CallId>,
}

fn failure(e: SipError) -> Failure {
    let status = match &e {
        // A refused WebSocket upgrade is a refusal too: 403/404 (wrong port or path) fail a
        // first registration, a 5xx is retried with back-off.
        SipError::Refused { status, .. } | SipError::WebSocketRefused { status, .. } => {
            Some(*status)
        }
        _ => None,
    };
    let lasting = matches!(e, SipError::Certificate { .. });
    Failure {
        status,
        message: e.to_string(),
        error: sip_err(e),
        lasting,
    }
}

impl SipIo {
    pub(super) fn new(accounts: Vec<AccountIo>) -> SipIo {
        SipIo {
            accounts,
            legs: HashMap::new(),
            redirects: HashMap::new(),
            invites: HashMap::new(),
            responders: HashMap::new(),
            next_key: 1,
            inviting: HashSet::new(),
            cancel_on_arrival: HashSet::new(),
        }
    }

    fn key(&mut self) -> SipKey {
        self.next_key += 1;
        self.next_key
    }

    /// A new request to `account` (not in one of our dialogs).
    pub(super) fn incoming(&mut self, core: &mut PhoneCore, account: usize, request: Incoming) {
        let key = self.key();
        let input = match request {
            Incoming::Invite(invite) => {
                let request = invite.request().clone();
                let replaces = invite.replaces().cloned();
                self.invites.insert(key, invite);
                // The offset now, so business-hours rules follow daylight saving time.
                let utc_offset_secs = chrono::Local::now().offset().local_minus_utc();
                SipInput::NewInvite {
                    account,
                    key,
                    request,
                    utc_offset_secs,
                    replaces,
                }
            }
            Incoming::Request(r) => {
                let request = r.request().clone();
                self.responders.insert(key, Responder::Request(Box::new(r)));
                SipInput::Request {
                    account,
                    key,
                    request,
                }
            }
        };
        core.handle(Input::Sip(input), now_ms());
    }

    /// Something in one of our dialogs.
    pub(super) fn dialog_event(&mut self, core: &mut PhoneCore, event: DialogEvent) {
        let input = match event {
            DialogEvent::Early { call_id, sdp } => SipInput::Early {
                sip_call_id: call_id,
                sdp,
            },
            DialogEvent::Reinvite {
                call_id,
                sdp,
                reply,
            } => {
                let key = self.key();
                self.responders.insert(key, Responder::Dialog(reply));
                SipInput::Reinvite {
                    sip_call_id: call_id,
                    sdp,
                    key,
                }
            }
            DialogEvent::Info {
                call_id,
                request,
                reply,
            } => {
                let key = self.key();
                self.responders.insert(key, Responder::Dialog(reply));
                SipInput::Info {
                    sip_call_id: call_id,
                    request,
                    key,
                }
            }
            DialogEvent::Notify {
                call_id,
                request,
                reply,
            } => {
                let key = self.key();
                self.responders.insert(key, Responder::Dialog(reply));
                SipInput::Notify {
                    sip_call_id: call_id,
                    request,
                    key,
                }
            }
            DialogEvent::Refer {
                call_id,
                request,
                reply,
            } => {
                let key = self.key();
                self.responders.insert(key, Responder::Dialog(reply));
                SipInput::Refer {
                    sip_call_id: call_id,
                    request,
                    key,
                }
            }
            DialogEvent::Ended { call_id, why } => SipInput::DialogEnded {
                sip_call_id: call_id,
                why,
            },
        };
        core.handle(Input::Sip(input), now_ms());
    }

    /// Performs one output; true when it closed the transports (the driver then stops).
    pub(super) fn perform(
        &mut self,
        core: &mut PhoneCore,
        pending: &mut Pending,
        output: SipOutput,
        events: &mut Vec<PhoneEvent>,
    ) -> bool {
        let feed = |core: &mut PhoneCore, input: SipInput| core.handle(Input::Sip(input), now_ms());
        match output {
            SipOutput::Invite {
                id,
                account,
                invite,
            } => {
                let a = &self.accounts[account];
                let (stack, credentials) = (a.stack.clone(), a.credentials.clone());
                self.inviting.insert(id);
                pending.push(Box::pin(async move {
                    let result = sip_invite::invite(&stack, *invite, credentials).await;
                    DriverCompletion::Sip(Completion::InviteSent {
                        id,
                        result: Box::new(result),
                    })
                }));
            }
            SipOutput::RefuseInvite {
                key,
                status,
                headers,
            } => {
                if let Some(invite) = self.invites.remove(&key) {
                    pending.push(Box::pin(async move {
                        invite.reply(status, headers).await;
                        DriverCompletion::Nothing
                    }));
                }
            }
            SipOutput::Take { key, id, account } => {
                let Some(invite) = self.invites.remove(&key) else {
                    return {
                        feed(
                            core,
                            SipInput::Taken {
                                id,
                                result: Err("the INVITE is gone".into()),
                            },
                        );
                        false
                    };
                };
                let user = self.accounts[account].aor.user();
                let result = match invite.into_call(user.as_deref()) {
                    Ok((leg, redirect)) => {
                        let _ = leg.ringing();
                        let leg = leg.with_credentials(self.accounts[account].credentials.clone());
                        self.legs.insert(id, leg);
                        self.redirects.insert(id, redirect);
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                };
                feed(core, SipInput::Taken { id, result });
            }
            SipOutput::Respond { key, status, sdp } => match self.responders.remove(&key) {
                Some(Responder::Dialog(reply)) => pending.push(Box::pin(async move {
                    match sdp {
                        Some(sdp) => reply.sdp(status, sdp).await,
                        None => reply.status(status).await,
                    }
                    DriverCompletion::Nothing
                })),
                Some(Responder::Request(request)) => pending.push(Box::pin(async move {
                    request.reply(status).await;
                    DriverCompletion::Nothing
                })),
                None => {}
            },
            SipOutput::Accept { id, sdp } => {
                if let Some(Err(e)) = self.legs.get(&id).map(|leg| leg.accept(sdp)) {
                    events.push(PhoneEvent::Warning {
                        message: format!("cannot answer call {id}: {e}"),
                    });
                }
            }
            SipOutput::Reject { id, status } => {
                if let Some(leg) = self.legs.get(&id) {
                    let _ = leg.reject(status);
                }
            }
            SipOutput::Cancel { id } => match self.legs.get(&id).cloned() {
                Some(leg) => pending.push(Box::pin(async move {
                    // The INVITE then ends with 487.
                    leg.cancel().await;
                    DriverCompletion::Nothing
                })),
                None => {
                    if self.inviting.contains(&id) {
                        self.cancel_on_arrival.insert(id);
                    }
                }
            },
            SipOutput::Bye { id } => {
                if let Some(leg) = self.legs.get(&id).cloned() {
                    pending.push(Box::pin(async move {
                        let _ = leg.bye().await;
                        DriverCompletion::Nothing
                    }));
                }
            }
            SipOutput::Reinvite { id, sdp } => match self.legs.get(&id).cloned() {
                Some(leg) => pending.push(Box::pin(async move {
                    // A call answered a moment ago may still wait for the caller's ACK: the
                    // dialog takes no re-INVITE until then (a few ms normally; give up after the
                    // ACK time-out).
                    let deadline = tokio::time::Instant::now() + Duration::from_secs(32);
                    while leg.settling() && tokio::time::Instant::now() < deadline {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let result = leg.reinvite(sdp).await.map_err(|e| e.to_string());
                    DriverCompletion::Input(Box::new(Input::Sip(SipInput::ReinviteDone {
                        id,
                        result,
                    })))
                })),
                None => feed(
                    core,
                    SipInput::ReinviteDone {
                        id,
                        result: Err("the call has no dialog".into()),
                    },
                ),
            },
            SipOutput::Refer {
                id,
                target,
                referred_by,
                replaces,
            } => match self.legs.get(&id).cloned() {
                Some(leg) => {
                    // The dialog an attended transfer replaces, as the target names it.
                    let replaces =
                        match replaces.map(|other| self.legs.get(&other).map(|l| l.replaces())) {
                            Some(None) => {
                                let answer =
                                    ReferAnswer::Error("the call to connect to has ended".into());
                                feed(core, SipInput::ReferAnswered { id, answer });
                                return false;
                            }
                            Some(Some(r)) => Some(r),
                            None => None,
                        };
                    pending.push(Box::pin(async move {
                        let answer = match leg.refer(&target, &referred_by, replaces.as_ref()).await
                        {
                            Ok(Some(resp)) if (200..300).contains(&resp.status) => {
                                ReferAnswer::Accepted
                            }
                            Ok(Some(resp)) => ReferAnswer::Refused {
                                status: resp.status,
                                reason: resp.reason,
                            },
                            Ok(None) => ReferAnswer::NotConfirmed,
                            Err(e) => ReferAnswer::Error(e.to_string()),
                        };
                        DriverCompletion::Input(Box::new(Input::Sip(SipInput::ReferAnswered {
                            id,
                            answer,
                        })))
                    }))
                }
                None => feed(
                    core,
                    SipInput::ReferAnswered {
                        id,
                        answer: ReferAnswer::NotConfirmed,
                    },
                ),
            },
            SipOutput::NotifyRefer {
                id,
                status,
                reason,
                last,
            } => {
                if let Some(leg) = self.legs.get(&id).cloned() {
                    pending.push(Box::pin(async move {
                        if let Err(e) = leg.notify_refer(status, &reason, last).await {
                            tracing::debug!("NOTIFY of transfer progress on call {id}: {e}");
                        }
                        DriverCompletion::Nothing
                    }));
                }
            }
            SipOutput::Redirect { id, target } => {
                let sent = self.redirects.remove(&id).is_some_and(|r| r.send(target));
                if sent {
                    // The INVITE transaction answers 302 and drops the dialog.
                    self.legs.remove(&id);
                }
                feed(core, SipInput::Redirected { id, sent });
            }
            SipOutput::Release { id } => {
                if self.legs.remove(&id).is_none() && self.inviting.contains(&id) {
                    self.cancel_on_arrival.insert(id);
                }
                self.redirects.remove(&id);
            }
            SipOutput::Register { account, expires } => {
                let a = &mut self.accounts[account];
                match a.registration.take() {
                    Some(mut registration) => {
                        let stack = a.stack.clone();
                        pending.push(Box::pin(async move {
                            let result = registration
                                .register(&stack, expires)
                                .await
                                .map_err(failure);
                            DriverCompletion::Sip(Completion::Registered {
                                account,
                                registration: Box::new(registration),
                                result,
                            })
                        }));
                    }
                    None => tracing::warn!("account {account}: a REGISTER is already in flight"),
                }
            }
            SipOutput::Probe { ticket, account } => {
                let a = &self.accounts[account];
                let (stack, target, me) = (a.stack.clone(), a.registrar.clone(), a.aor.clone());
                pending.push(Box::pin(async move {
                    let result = hookflash_sip::probe::options(&stack, &target, &me)
                        .await
                        .map(|p| crate::api::ProbeResult {
                            target: target.to_string(),
                            status: p.status,
                            reason: p.reason,
                            round_trip_ms: p.round_trip.as_millis() as u64,
                            seen_as: p.seen_as.map(|s| s.to_string()),
                        })
                        .map_err(sip_err);
                    DriverCompletion::Input(Box::new(Input::Sip(SipInput::Probed {
                        ticket,
                        result,
                    })))
                }));
            }
            SipOutput::KeepAlive { account, ping } => {
                let a = &mut self.accounts[account];
                match a.registration.take() {
                    Some(registration) => {
                        let stack = a.stack.clone();
                        pending.push(Box::pin(async move {
                            let result =
                                registration.keep_alive(&stack, ping).await.map_err(failure);
                            DriverCompletion::Sip(Completion::KeptAlive {
                                account,
                                registration: Box::new(registration),
                                result,
                            })
                        }));
                    }
                    None => tracing::warn!(
                        "account {account}: a registration exchange is already in flight"
                    ),
                }
            }
            SipOutput::Subscribe {
                account,
                slot,
                mut dialog,
                expires,
            } => {
                let a = &self.accounts[account];
                let (stack, aor, display, outbound, creds) = (
                    a.stack.clone(),
                    a.aor.clone(),
                    a.display_name.clone(),
                    a.outbound.clone(),
                    a.credentials.clone(),
                );
                pending.push(Box::pin(async move {
                    let result = subscription::subscribe(
                        &stack,
                        &mut dialog,
                        &aor,
                        display.as_deref(),
                        outbound.as_ref(),
                        &creds,
                        expires,
                    )
                    .await;
                    let result = match result {
                        Ok(granted) => Ok(granted.expires),
                        Err(e @ subscription::SubscribeError::Refused { .. }) => {
                            Err((e.status(), format!("watching orbit {slot} {e}")))
                        }
                        Err(e) => Err((None, format!("watching orbit {slot}: {e}"))),
                    };
                    DriverCompletion::Input(Box::new(Input::Sip(SipInput::Subscribed {
                        account,
                        slot,
                        dialog,
                        result,
                    })))
                }));
            }
            SipOutput::Close => return true,
        }
        false
    }

    pub(super) fn complete(
        &mut self,
        core: &mut PhoneCore,
        pending: &mut Pending,
        done: Completion,
    ) {
        match done {
            Completion::InviteSent { id, result } => {
                self.inviting.remove(&id);
                let result = match *result {
                    Ok((leg, outcome)) => {
                        if self.cancel_on_arrival.remove(&id) {
                            // Hung up while the INVITE was going out.
                            pending.push(Box::pin(async move {
                                leg.cancel().await;
                                DriverCompletion::Nothing
                            }));
                            return;
                        }
                        self.legs.insert(id, leg);
                        pending.push(Box::pin(async move {
                            let outcome = outcome
                                .await
                                .unwrap_or_else(|e| InviteOutcome::Failed(e.to_string()));
                            DriverCompletion::Input(Box::new(Input::Sip(SipInput::InviteOutcome {
                                id,
                                outcome,
                            })))
                        }));
                        Ok(())
                    }
                    Err(e) => {
                        self.cancel_on_arrival.remove(&id);
                        Err(e.to_string())
                    }
                };
                core.handle(Input::Sip(SipInput::InviteSent { id, result }), now_ms());
            }
            Completion::Registered {
                account,
                registration,
                result,
            } => {
                self.accounts[account].registration = Some(*registration);
                let public = result.as_ref().ok().and_then(|r| r.public);
                let outbound = result
                    .as_ref()
                    .ok()
                    .and_then(|r| r.outbound)
                    .map(|o| o.flow_timer);
                let result = result.map(|r| r.expires);
                core.handle(
                    Input::Sip(SipInput::Registered {
                        account,
                        result,
                        public,
                        outbound,
                    }),
                    now_ms(),
                );
            }
            Completion::KeptAlive {
                account,
                registration,
                result,
            } => {
                if let Err(f) = &result {
                    tracing::info!("account {account}: {}; registering again", f.message);
                }
                self.accounts[account].registration = Some(*registration);
                core.handle(
                    Input::Sip(SipInput::KeptAlive { account, result }),
                    now_ms(),
                );
            }
        }
    }

    /// The account's user part (for its Contact).
    pub(super) fn aor_user(&self, account: usize) -> Option<String> {
        self.accounts[account].aor.user()
    }

    /// The account's SIP goes through `stack` from now on; what is in flight on the old one
    /// (a call's dialog) keeps it until done.
    pub(super) fn replace_stack(&mut self, account: usize, stack: SipStack) {
        self.accounts[account].stack = Arc::new(stack);
    }

    /// Closes every account's transports.
    pub(super) fn close(&mut self) {
        for a in &self.accounts {
            a.stack.shutdown();
        }
    }
}
