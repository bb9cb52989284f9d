//! Several `PhoneCore`s joined by an in-memory wire, under virtual time: what one core sends
//! (an INVITE, a 200 OK, a re-INVITE, a BYE) arrives at the other as the SIP input its driver
//! would feed, `LATENCY_MS` later; media and history requests are answered at once. No sockets,
//! no threads, no sleeps: a test reads like a call flow and runs in milliseconds.
//!
//! The wire speaks at the level of dialogs, not SIP messages: the SIP stack is tested against
//! real peers elsewhere (`tests/interop`); what is tested here is what the phones decide.

use crate::api::*;
use crate::core::account::{Account, AccountSetup};
use crate::core::io::*;
use crate::core::PhoneCore;
use hookflash_sip::dialog_events::Ended;
use hookflash_sip::dtls_srtp::Fingerprint;
use hookflash_sip::invite::{Answer, InviteOutcome};
use hookflash_sip::replaces::Replaces;
use hookflash_sip::sdes::{Key as SrtpKey, KEY_LEN};
use hookflash_sip::sdp::LocalKeys;
use hookflash_sip::{Method, NameAddr, Request, SipUri};
use std::collections::{BTreeMap, HashMap};

/// One way across the wire.
pub const LATENCY_MS: i64 = 10;

/// One phone on the wire, and what came out of it.
pub struct Phone {
    pub name: String,
    /// Its accounts' users, in order.
    users: Vec<String>,
    /// Every INVITE it sent.
    pub invites: Vec<hookflash_sip::invite::OutgoingInvite>,
    pub core: PhoneCore,
    pub events: Vec<PhoneEvent>,
    replies: HashMap<Ticket, Result<Done, PhoneError>>,
    /// History rows as written: the ids of calls begun and finished.
    pub begun: Vec<CallId>,
    pub finished: Vec<(CallId, hookflash_store::NewCallRecord)>,
    /// Calls whose media runs.
    pub media: BTreeMap<CallId, bool>,
    /// The call that has the microphone and speaker, as last routed.
    pub routed: Option<CallId>,
    /// The calls mixed with the user in a conference, as last ordered.
    pub mixed: Vec<CallId>,
    /// Conference parties (None: the user) kept out of the mix, as last ordered.
    pub mix_muted: std::collections::BTreeSet<Option<CallId>>,
    /// What it sent and was answered, in order: "reinvite", "reinvite_done", "refer".
    pub sip_log: Vec<&'static str>,
    /// Transfer progress it reported to a phone that referred it: (status, last).
    pub notified: Vec<(u16, bool)>,
    /// How its REFERs sent with `Wire::refer` were answered.
    pub refer_answers: Vec<u16>,
}

struct Dialog {
    sip_call_id: String,
    caller: (usize, CallId),
    callee: Option<(usize, CallId)>,
    invite_key: (usize, SipKey),
}

enum Key {
    Invite(usize),
    /// A re-INVITE from this phone's call.
    Reinvite(usize, CallId),
    /// A REFER from this phone.
    Refer(usize),
    /// A REFER from this phone's call (`refer_to_peer`).
    ReferFrom(usize, CallId),
}

pub struct Wire {
    pub now: i64,
    pub phones: Vec<Phone>,
    /// (deliver at, sequence) → (to phone, input)
    queue: BTreeMap<(i64, u64), (usize, Input)>,
    seq: u64,
    dialogs: Vec<Dialog>,
    keys: HashMap<(usize, SipKey), Key>,
    next_key: SipKey,
    next_port: u16,
    next_ticket: Ticket,
    /// How a transferee answers a REFER: the REFER's status, then the sipfrag statuses of its
    /// NOTIFYs (None: the REFER cannot be sent, the dialog is not confirmed).
    pub transferee: Option<(u16, Vec<u16>)>,
    /// REFERs go to the far end's core instead (it is transferred for real), and its NOTIFYs
    /// come back as the referrer's `SipInput::Notify`.
    pub refer_to_peer: bool,
    /// What a callee's 2xx says its phone can do (`Allow`, `Supported`).
    pub answer_capabilities: hookflash_sip::capabilities::Capabilities,
}

pub fn opts() -> CallOptions {
    CallOptions {
        audio_in: AudioEndpoint::Null,
        audio_out: AudioEndpoint::Null,
        codecs: vec![CodecName::Pcmu],
        caller_id: None,
        from: None,
    }
}

/// `sip:<user>@<user>.test`, not registering.
pub fn account_config(user: &str) -> AccountConfig {
    AccountConfig {
        aor: format!("sip:{user}@{user}.test"),
        display_name: None,
        auth_user: None,
        registrar: None,
        outbound_proxy: None,
        transport: None,
        ws_path: None,
        expires: 300,
        listen: None,
        tls_ca_file: None,
        register: false,
        realm: None,
        shared_park: None,
        routing: None,
        caller_ids: None,
        media_encryption: Default::default(),
        require_encryption: false,
        ice: false,
        stun_server: None,
        turn: None,
        keep_alive_secs: None,
        transfer_requests: Default::default(),
    }
}

fn account(config: &AccountConfig, n: usize) -> Account {
    let uri = SipUri::parse("aor", &config.aor).unwrap();
    let (user, host) = (uri.user().unwrap(), uri.host());
    let setup = AccountSetup {
        aor: uri.clone(),
        domain: host,
        outbound: None,
        local_ip: std::net::IpAddr::from([10, 0, 0, n as u8]),
        contact: SipUri::parse("contact", &format!("sip:{user}@10.0.0.{n}:5060")).unwrap(),
        registrar_on_stream: false,
    };
    Account::new(config, setup).unwrap()
}

impl Wire {
    /// Phones named so, each with one account (`sip:<name>@<name>.test`), at virtual time
    /// 1 000 000 ms.
    pub fn new(names: &[&str]) -> Wire {
        Wire::with_accounts(
            names
                .iter()
                .map(|n| (*n, vec![account_config(n)]))
                .collect(),
        )
    }

    /// Phones with these accounts; an INVITE reaches the account whose user it names.
    pub fn with_accounts(phones: Vec<(&str, Vec<AccountConfig>)>) -> Wire {
        let now = 1_000_000;
        let phones = phones
            .into_iter()
            .enumerate()
            .map(|(i, (name, configs))| Phone {
                name: name.to_string(),
                users: configs
                    .iter()
                    .map(|c| SipUri::parse("aor", &c.aor).unwrap().user().unwrap())
                    .collect(),
                invites: Vec::new(),
                core: PhoneCore::new(
                    configs.iter().map(|c| account(c, i + 1)).collect(),
                    now,
                    7 + i as u64,
                ),
                events: Vec::new(),
                replies: HashMap::new(),
                begun: Vec::new(),
                finished: Vec::new(),
                media: BTreeMap::new(),
                routed: None,
                mixed: Vec::new(),
                mix_muted: Default::default(),
                sip_log: Vec::new(),
                notified: Vec::new(),
                refer_answers: Vec::new(),
            })
            .collect();
        Wire {
            now,
            phones,
            queue: BTreeMap::new(),
            seq: 0,
            dialogs: Vec::new(),
            keys: HashMap::new(),
            next_key: 0,
            next_port: 20_000,
            next_ticket: 0,
            transferee: None,
            refer_to_peer: false,
            answer_capabilities: hookflash_sip::capabilities::Capabilities {
                refer: Some(true),
                replaces: Some(true),
            },
        }
    }

    pub fn index(&self, name: &str) -> usize {
        self.phones
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| panic!("no phone {name}"))
    }

    pub fn phone(&self, name: &str) -> &Phone {
        &self.phones[self.index(name)]
    }

    pub fn calls(&self, name: &str) -> Vec<CallInfo> {
        self.phone(name).core.snapshot().calls
    }

    pub fn call(&self, name: &str, id: CallId) -> CallInfo {
        let calls = self.calls(name);
        calls
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .unwrap_or_else(|| panic!("{name} has no call {id}: {calls:#?}"))
    }

    /// Gives `name` a command; returns its ticket (see `reply`).
    pub fn command(&mut self, name: &str, command: Command) -> Ticket {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        let p = self.index(name);
        self.deliver(p, Input::Command { ticket, command });
        ticket
    }

    /// The reply to a command, once it came (run the wire first).
    pub fn reply(&mut self, name: &str, ticket: Ticket) -> Result<Done, PhoneError> {
        let p = self.index(name);
        self.phones[p]
            .replies
            .remove(&ticket)
            .unwrap_or_else(|| panic!("{name} has not replied to command {ticket} yet"))
    }

    /// Gives a command, lets the wire run `ms`, and returns the reply.
    pub fn ask(&mut self, name: &str, command: Command, ms: i64) -> Result<Done, PhoneError> {
        let t = self.command(name, command);
        self.run_for(ms);
        self.reply(name, t)
    }

    /// The events of `name` since the last call, taken.
    pub fn take_events(&mut self, name: &str) -> Vec<PhoneEvent> {
        let p = self.index(name);
        std::mem::take(&mut self.phones[p].events)
    }

    /// Runs everything due within the next `ms` (messages and the cores' time-outs), in time
    /// order; the clock ends `ms` later.
    pub fn run_for(&mut self, ms: i64) {
        let until = self.now + ms;
        loop {
            let next_msg = self.queue.keys().next().map(|(at, _)| *at);
            let next_timer = self
                .phones
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.core.next_timeout().map(|t| (t, i)))
                .min();
            let msg_first = match (next_msg, next_timer) {
                (Some(m), Some((t, _))) => m <= t,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if msg_first {
                let (at, _) = *self.queue.keys().next().unwrap();
                if at > until {
                    break;
                }
                let ((at, _), (to, input)) = self.queue.pop_first().unwrap();
                self.now = self.now.max(at);
                self.deliver(to, input);
            } else {
                let (at, p) = next_timer.unwrap();
                if at > until {
                    break;
                }
                self.now = self.now.max(at);
                self.deliver(p, Input::Timeout);
            }
        }
        self.now = until;
    }

    /// `from`'s call `id` sends its far end a REFER with this `Refer-To` value (the far end is
    /// being transferred); its answer lands in `refer_answers`.
    pub fn refer(&mut self, from: &str, id: CallId, refer_to: Option<&str>) {
        let p = self.index(from);
        let (q, sip_call_id) = {
            let (_, d, (q, _)) = self
                .peer_of(p, id)
                .unwrap_or_else(|| panic!("{from} has no call {id} with a peer"));
            (q, d.sip_call_id.clone())
        };
        let key = self.key(q, Key::Refer(p));
        let request = Request {
            method: Method::Refer,
            uri: String::new(),
            call_id: sip_call_id.clone(),
            from: None,
            to: None,
            contact: None,
            headers: refer_to
                .map(|t| ("Refer-To".to_string(), t.to_string()))
                .into_iter()
                .collect(),
            body: Vec::new(),
        };
        self.send(
            q,
            Input::Sip(SipInput::Refer {
                sip_call_id,
                request,
                key,
            }),
            LATENCY_MS,
        );
    }

    /// The SIP Call-ID of `name`'s call `id`.
    pub fn sip_call_id(&self, name: &str, id: CallId) -> String {
        let p = self.index(name);
        self.dialogs
            .iter()
            .find(|d| d.caller == (p, id) || d.callee == Some((p, id)))
            .map(|d| d.sip_call_id.clone())
            .unwrap_or_else(|| panic!("{name} has no call {id}"))
    }

    fn send(&mut self, to: usize, input: Input, delay: i64) {
        self.seq += 1;
        self.queue.insert((self.now + delay, self.seq), (to, input));
    }

    fn key(&mut self, at: usize, what: Key) -> SipKey {
        self.next_key += 1;
        self.keys.insert((at, self.next_key), what);
        self.next_key
    }

    fn peer_of(&self, p: usize, id: CallId) -> Option<(usize, &Dialog, (usize, CallId))> {
        self.dialogs.iter().enumerate().find_map(|(i, d)| {
            if d.caller == (p, id) {
                d.callee.map(|c| (i, d, c))
            } else if d.callee == Some((p, id)) {
                Some((i, d, d.caller))
            } else {
                None
            }
        })
    }

    /// Feeds one input to phone `p` and carries out what comes out.
    fn deliver(&mut self, p: usize, input: Input) {
        let now = self.now;
        if matches!(input, Input::Sip(SipInput::ReinviteDone { .. })) {
            self.phones[p].sip_log.push("reinvite_done");
        }
        self.phones[p].core.handle(input, now);
        while let Some(output) = self.phones[p].core.poll() {
            self.output(p, output);
        }
    }

    fn output(&mut self, p: usize, output: Output) {
        let phone = &mut self.phones[p];
        match output {
            Output::Event(e) => phone.events.push(e),
            Output::Reply { ticket, result } => {
                phone.replies.insert(ticket, result);
            }
            Output::History(HistoryOp::Begin { id, .. }) => phone.begun.push(id),
            Output::History(HistoryOp::Finish { id, record }) => phone.finished.push((id, record)),
            Output::History(HistoryOp::Progress { .. }) => {}
            Output::Media(m) => self.media(p, m),
            Output::Sip(s) => self.sip(p, s),
        }
    }

    fn media(&mut self, p: usize, m: MediaOutput) {
        match m {
            MediaOutput::Bind { id, .. } => {
                self.next_port += 2;
                let port = self.next_port;
                // A key as distinct as the port (no cryptography happens on the wire here).
                let keys = LocalKeys {
                    sdes: SrtpKey([port as u8; KEY_LEN]),
                    fingerprint: Some(Fingerprint {
                        hash: "sha-256".into(),
                        value: vec![p as u8; 32],
                    }),
                    ice: None,
                };
                self.send(
                    p,
                    Input::Media(MediaInput::Bound {
                        id,
                        result: Ok(RtpSocket { port, keys }),
                    }),
                    0,
                );
            }
            MediaOutput::Start { id, .. } => {
                self.phones[p].media.insert(id, true);
                self.send(
                    p,
                    Input::Media(MediaInput::Started { id, result: Ok(()) }),
                    0,
                );
            }
            MediaOutput::Route { active } => self.phones[p].routed = active,
            MediaOutput::Conference { members } => self.phones[p].mixed = members,
            MediaOutput::MeasureConference => {
                // A meter that says -20 dBFS for each party mixed (and a stray call it must drop).
                let mut levels: Vec<PartyLevel> = self.phones[p]
                    .mixed
                    .iter()
                    .map(|id| PartyLevel {
                        call_id: Some(*id),
                        dbfs: -20.0,
                    })
                    .collect();
                levels.push(PartyLevel {
                    call_id: None,
                    dbfs: -30.0,
                });
                levels.push(PartyLevel {
                    call_id: Some(999),
                    dbfs: -10.0,
                });
                self.send(p, Input::Media(MediaInput::ConferenceLevels { levels }), 0);
            }
            MediaOutput::ConferenceMute { id, muted } => {
                if muted {
                    self.phones[p].mix_muted.insert(id);
                } else {
                    self.phones[p].mix_muted.remove(&id);
                }
            }
            MediaOutput::Close { id } => {
                self.phones[p].media.remove(&id);
                self.send(p, Input::Media(MediaInput::Closed { id, stats: None }), 0);
            }
            _ => {}
        }
    }

    fn sip(&mut self, p: usize, s: SipOutput) {
        if matches!(s, SipOutput::Reinvite { .. }) {
            self.phones[p].sip_log.push("reinvite");
        }
        match s {
            SipOutput::Invite { id, invite, .. } => {
                self.send(
                    p,
                    Input::Sip(SipInput::InviteSent { id, result: Ok(()) }),
                    0,
                );
                self.phones[p].invites.push((*invite).clone());
                let user = invite.callee.user().unwrap_or_default();
                let found = self
                    .phones
                    .iter()
                    .enumerate()
                    .find_map(|(q, x)| x.users.iter().position(|u| *u == user).map(|a| (q, a)));
                let Some((q, account)) = found else {
                    let outcome = InviteOutcome::Refused {
                        status: 404,
                        reason: "Not Found".into(),
                    };
                    return self.send(
                        p,
                        Input::Sip(SipInput::InviteOutcome { id, outcome }),
                        2 * LATENCY_MS,
                    );
                };
                // An INVITE with Replaces: the SIP layer answers 481 itself when it names no
                // dialog of the callee's.
                let replaces = invite
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("replaces"))
                    .map(|(_, v)| Replaces::parse(v).unwrap());
                if let Some(r) = &replaces {
                    if !self.dialogs.iter().any(|d| {
                        d.sip_call_id == r.call_id
                            && (d.caller.0 == q || d.callee.is_some_and(|c| c.0 == q))
                    }) {
                        let outcome = InviteOutcome::Refused {
                            status: 481,
                            reason: "Call/Transaction Does Not Exist".into(),
                        };
                        return self.send(
                            p,
                            Input::Sip(SipInput::InviteOutcome { id, outcome }),
                            2 * LATENCY_MS,
                        );
                    }
                }
                let key = self.key(q, Key::Invite(self.dialogs.len()));
                self.dialogs.push(Dialog {
                    sip_call_id: invite.call_id.clone(),
                    caller: (p, id),
                    callee: None,
                    invite_key: (q, key),
                });
                let request = Request {
                    method: Method::Invite,
                    uri: invite.callee.to_string(),
                    call_id: invite.call_id,
                    from: Some(NameAddr {
                        display_name: None,
                        uri: invite.caller.to_string(),
                        tag: Some("a".into()),
                    }),
                    to: Some(NameAddr {
                        display_name: None,
                        uri: invite.callee.to_string(),
                        tag: None,
                    }),
                    contact: Some(invite.contact),
                    headers: invite.headers,
                    body: invite.sdp,
                };
                self.send(
                    q,
                    Input::Sip(SipInput::NewInvite {
                        account,
                        key,
                        request,
                        utc_offset_secs: 0,
                        replaces,
                    }),
                    LATENCY_MS,
                );
            }
            SipOutput::RefuseInvite { key, status, .. } => {
                if let Some(Key::Invite(d)) = self.keys.remove(&(p, key)) {
                    let (cp, cid) = self.dialogs[d].caller;
                    let outcome = InviteOutcome::Refused {
                        status,
                        reason: "Refused".into(),
                    };
                    self.send(
                        cp,
                        Input::Sip(SipInput::InviteOutcome { id: cid, outcome }),
                        LATENCY_MS,
                    );
                }
            }
            SipOutput::Take { key, id, .. } => {
                let Some(d) = self.dialogs.iter().position(|d| d.invite_key == (p, key)) else {
                    return;
                };
                self.dialogs[d].callee = Some((p, id));
                self.send(p, Input::Sip(SipInput::Taken { id, result: Ok(()) }), 0);
                let (cp, sip_call_id) = (
                    self.dialogs[d].caller.0,
                    self.dialogs[d].sip_call_id.clone(),
                );
                self.send(
                    cp,
                    Input::Sip(SipInput::Early {
                        sip_call_id,
                        sdp: None,
                    }),
                    LATENCY_MS,
                );
            }
            SipOutput::Accept { id, sdp } => {
                if let Some((_, _, (cp, cid))) = self.peer_of(p, id) {
                    let capabilities = self.answer_capabilities;
                    let outcome = InviteOutcome::Answered {
                        sdp: String::from_utf8(sdp).unwrap(),
                        capabilities,
                    };
                    self.send(
                        cp,
                        Input::Sip(SipInput::InviteOutcome { id: cid, outcome }),
                        LATENCY_MS,
                    );
                }
            }
            SipOutput::Reject { id, status } => {
                if let Some((_, _, (cp, cid))) = self.peer_of(p, id) {
                    let outcome = InviteOutcome::Refused {
                        status,
                        reason: "Rejected".into(),
                    };
                    self.send(
                        cp,
                        Input::Sip(SipInput::InviteOutcome { id: cid, outcome }),
                        LATENCY_MS,
                    );
                }
            }
            SipOutput::Cancel { id } => {
                if let Some((_, d, (q, _))) = self.peer_of(p, id) {
                    let sip_call_id = d.sip_call_id.clone();
                    self.send(
                        q,
                        Input::Sip(SipInput::DialogEnded {
                            sip_call_id,
                            why: Ended::Cancelled,
                        }),
                        LATENCY_MS,
                    );
                }
                let outcome = InviteOutcome::Refused {
                    status: 487,
                    reason: "Request Terminated".into(),
                };
                self.send(
                    p,
                    Input::Sip(SipInput::InviteOutcome { id, outcome }),
                    2 * LATENCY_MS,
                );
            }
            SipOutput::Bye { id } => {
                if let Some((_, d, (q, _))) = self.peer_of(p, id) {
                    let sip_call_id = d.sip_call_id.clone();
                    self.send(
                        q,
                        Input::Sip(SipInput::DialogEnded {
                            sip_call_id,
                            why: Ended::Bye,
                        }),
                        LATENCY_MS,
                    );
                }
            }
            SipOutput::Reinvite { id, sdp } => match self.peer_of(p, id) {
                Some((_, d, (q, _))) => {
                    let sip_call_id = d.sip_call_id.clone();
                    let key = self.key(q, Key::Reinvite(p, id));
                    let sdp = String::from_utf8(sdp).unwrap();
                    self.send(
                        q,
                        Input::Sip(SipInput::Reinvite {
                            sip_call_id,
                            sdp,
                            key,
                        }),
                        LATENCY_MS,
                    );
                }
                None => self.send(
                    p,
                    Input::Sip(SipInput::ReinviteDone {
                        id,
                        result: Ok(None),
                    }),
                    0,
                ),
            },
            SipOutput::Respond { key, status, sdp } => {
                if let Some(Key::ReferFrom(from, id)) = self.keys.get(&(p, key)) {
                    use crate::core::transfer::ReferAnswer;
                    let (from, id) = (*from, *id);
                    self.keys.remove(&(p, key));
                    let answer = if (200..300).contains(&status) {
                        ReferAnswer::Accepted
                    } else {
                        ReferAnswer::Refused {
                            status,
                            reason: "Refused".into(),
                        }
                    };
                    return self.send(
                        from,
                        Input::Sip(SipInput::ReferAnswered { id, answer }),
                        LATENCY_MS,
                    );
                }
                if let Some(Key::Refer(from)) = self.keys.get(&(p, key)) {
                    let from = *from;
                    self.keys.remove(&(p, key));
                    return self.phones[from].refer_answers.push(status);
                }
                if let Some(Key::Reinvite(from, id)) = self.keys.remove(&(p, key)) {
                    let body = sdp
                        .map(|b| String::from_utf8(b).unwrap())
                        .unwrap_or_default();
                    let answer = Answer {
                        status,
                        reason: String::new(),
                        body,
                    };
                    self.send(
                        from,
                        Input::Sip(SipInput::ReinviteDone {
                            id,
                            result: Ok(Some(answer)),
                        }),
                        LATENCY_MS,
                    );
                }
            }
            SipOutput::Redirect { id, .. } => {
                self.send(p, Input::Sip(SipInput::Redirected { id, sent: true }), 0);
                if let Some((_, _, (cp, cid))) = self.peer_of(p, id) {
                    let outcome = InviteOutcome::Refused {
                        status: 302,
                        reason: "Moved Temporarily".into(),
                    };
                    self.send(
                        cp,
                        Input::Sip(SipInput::InviteOutcome { id: cid, outcome }),
                        LATENCY_MS,
                    );
                }
            }
            SipOutput::Refer {
                id,
                target,
                replaces,
                ..
            } if self.refer_to_peer => {
                use crate::core::transfer::ReferAnswer;
                self.phones[p].sip_log.push("refer");
                let Some((_, d, (q, _))) = self.peer_of(p, id) else {
                    return self.send(
                        p,
                        Input::Sip(SipInput::ReferAnswered {
                            id,
                            answer: ReferAnswer::NotConfirmed,
                        }),
                        0,
                    );
                };
                let sip_call_id = d.sip_call_id.clone();
                let refer_to = match replaces {
                    Some(other) => {
                        let call_id = self.sip_call_id(&self.phones[p].name.clone(), other);
                        let r = Replaces {
                            call_id,
                            to_tag: "t".into(),
                            from_tag: "f".into(),
                            early_only: false,
                        };
                        format!("<{target}?Replaces={}>", r.uri_escaped())
                    }
                    None => format!("<{target}>"),
                };
                let key = self.key(q, Key::ReferFrom(p, id));
                let request = Request {
                    method: Method::Refer,
                    uri: String::new(),
                    call_id: sip_call_id.clone(),
                    from: None,
                    to: None,
                    contact: None,
                    headers: vec![("Refer-To".to_string(), refer_to)],
                    body: Vec::new(),
                };
                self.send(
                    q,
                    Input::Sip(SipInput::Refer {
                        sip_call_id,
                        request,
                        key,
                    }),
                    LATENCY_MS,
                );
            }
            SipOutput::Refer { id, .. } => {
                use crate::core::transfer::ReferAnswer;
                self.phones[p].sip_log.push("refer");
                let Some((status, notifies)) = self.transferee.clone() else {
                    return self.send(
                        p,
                        Input::Sip(SipInput::ReferAnswered {
                            id,
                            answer: ReferAnswer::NotConfirmed,
                        }),
                        0,
                    );
                };
                if !(200..300).contains(&status) {
                    let answer = ReferAnswer::Refused {
                        status,
                        reason: "Forbidden".into(),
                    };
                    return self.send(
                        p,
                        Input::Sip(SipInput::ReferAnswered { id, answer }),
                        2 * LATENCY_MS,
                    );
                }
                self.send(
                    p,
                    Input::Sip(SipInput::ReferAnswered {
                        id,
                        answer: ReferAnswer::Accepted,
                    }),
                    2 * LATENCY_MS,
                );
                let Some((_, d, _)) = self.peer_of(p, id) else {
                    return;
                };
                let sip_call_id = d.sip_call_id.clone();
                for (i, code) in notifies.into_iter().enumerate() {
                    let request = refer_notify(&sip_call_id, code);
                    self.next_key += 1;
                    let key = self.next_key;
                    let input = SipInput::Notify {
                        sip_call_id: sip_call_id.clone(),
                        request,
                        key,
                    };
                    self.send(p, Input::Sip(input), (3 + i as i64) * LATENCY_MS);
                }
            }
            SipOutput::Register { account, expires } => self.send(
                p,
                Input::Sip(SipInput::Registered {
                    account,
                    result: Ok(expires),
                    public: None,
                    outbound: None,
                }),
                2 * LATENCY_MS,
            ),
            SipOutput::KeepAlive { account, .. } => self.send(
                p,
                Input::Sip(SipInput::KeptAlive {
                    account,
                    result: Ok(()),
                }),
                LATENCY_MS,
            ),
            SipOutput::NotifyRefer {
                id, status, last, ..
            } => {
                self.phones[p].notified.push((status, last));
                if !self.refer_to_peer {
                    return;
                }
                let Some((_, d, (q, _))) = self.peer_of(p, id) else {
                    return;
                };
                let sip_call_id = d.sip_call_id.clone();
                let request = refer_notify(&sip_call_id, status);
                self.next_key += 1;
                let key = self.next_key;
                self.send(
                    q,
                    Input::Sip(SipInput::Notify {
                        sip_call_id,
                        request,
                        key,
                    }),
                    LATENCY_MS,
                );
            }
            SipOutput::Release { .. }
            | SipOutput::Subscribe { .. }
            | SipOutput::Probe { .. }
            | SipOutput::Close => {}
        }
    }
}

/// A transferee's NOTIFY in call `sip_call_id` reporting `status` of its call to the target.
fn refer_notify(sip_call_id: &str, status: u16) -> Request {
    Request {
        method: Method::Notify,
        uri: String::new(),
        call_id: sip_call_id.to_string(),
        from: None,
        to: None,
        contact: None,
        headers: vec![
            ("Event".into(), "refer".into()),
            ("Content-Type".into(), "message/sipfrag".into()),
        ],
        body: format!("SIP/2.0 {status} Whatever\r\n").into_bytes(),
    }
}
