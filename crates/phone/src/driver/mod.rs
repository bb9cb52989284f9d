//! The phone's one driver: the only async code of this crate. One task, one `select!` over the
//! front ends' commands, every account's SIP (new requests, dialog events), media events, the
//! SIP/media work in flight, and the core's next time-out. Each input goes to
//! `PhoneCore::handle` with the time; each output is performed here (`sip.rs`, `media.rs`, the
//! history below) and what comes of it goes back in as an input. Front ends read a snapshot the
//! driver publishes after every step, and get replies and events in that order.

mod address_watch;
mod media;
pub(crate) use media::probe_servers;
mod open;
mod sip;
mod sleep_watch;

pub(crate) use media::endpoint_out;

use crate::api::*;
use crate::core::io::{Command, Done, HistoryOp, Input, Output, Ticket};
use crate::core::{PhoneCore, Snapshot};
use futures_util::stream::{FuturesUnordered, StreamExt};
use hookflash_media::{DeviceNotices, MediaEvent};
use hookflash_sip::dialog_events::DialogEvent;
use hookflash_sip::incoming::Incoming;
use hookflash_store::HistoryStore;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, mpsc, oneshot};

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The longest the driver sleeps before it looks at the clock again. The core's wake-ups are
/// wall-clock times; a monotonic sleep does not advance while the computer is suspended, so a
/// refresh due during a suspension happens at most this long after resuming, not a sleep later.
const LOOK_AGAIN: Duration = Duration::from_secs(15);
/// How long closing waits for SIP still in flight (BYEs, un-SUBSCRIBEs) before the transports go.
const CLOSE_WITHIN: Duration = Duration::from_secs(1);

type Answer = oneshot::Sender<Result<Done, PhoneError>>;

/// Work in flight; each ends as what the driver does next.
enum Completion {
    Input(Box<Input>),
    Nothing,
    Sip(sip::Completion),
    Media(media::Completion),
}

type Pending = FuturesUnordered<Pin<Box<dyn Future<Output = Completion> + Send>>>;

/// What `Phone` holds: where commands go, what it can read without asking.
pub(crate) struct Handle {
    commands: mpsc::UnboundedSender<(Command, Option<Answer>)>,
    snapshot: Arc<Mutex<Snapshot>>,
    pub(crate) history: Arc<HistoryStore>,
    pub(crate) start_warnings: Vec<String>,
    pub(crate) local_sip_addr: std::net::SocketAddr,
    pub(crate) device_notices: DeviceNotices,
}

impl Handle {
    /// Sends a command and waits for its reply.
    pub(crate) async fn ask(&self, command: Command) -> Result<Done, PhoneError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send((command, Some(tx)))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Sends a command whose reply nobody waits for (settings that cannot fail there).
    pub(crate) fn tell(&self, command: Command) {
        let _ = self.commands.send((command, None));
    }

    /// The availability front ends read at once (a read-modify-write right after must see it);
    /// the core takes it in order with the other commands.
    pub(crate) fn set_availability(&self, availability: Availability) {
        self.snapshot.lock().unwrap().availability = availability;
        self.tell(Command::SetAvailability(availability));
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        self.snapshot.lock().unwrap().clone()
    }
}

fn stopped() -> PhoneError {
    PhoneError::Other("the phone has stopped".into())
}

/// Opens the accounts and the history, and starts the driver task.
pub(crate) async fn start(
    config: PhoneConfig,
    passwords: Vec<Option<String>>,
    mut start_warnings: Vec<String>,
    events: broadcast::Sender<PhoneEvent>,
) -> Result<Handle, PhoneError> {
    let opened = open::accounts(&config, passwords).await?;
    // A bad history file must not stop the phone: warn and carry on (history_file.rs).
    let (history, history_warning) = crate::history_file::open(&config.history_db, now_ms() / 1000);
    if let Some(w) = &history_warning {
        tracing::warn!("{w}");
    }
    start_warnings.extend(history_warning);
    let history = Arc::new(history);
    let notices = {
        let events = events.clone();
        DeviceNotices::to(move |n| {
            let _ = events.send(PhoneEvent::Warning {
                message: n.message(),
            });
        })
    };
    let local_sip_addr = opened.io[0].stack.local_addr;
    // The core's randomness (Call-IDs, glare back-off): from the OS, so two phones started in
    // the same millisecond do not make the same Call-IDs.
    let seed = {
        use rand::RngExt;
        rand::rng().random::<u64>()
    };
    let watch = address_watch::AddressWatch::new(opened.watched, now_ms());
    let rebind = opened.rebind;
    let core = PhoneCore::new(opened.accounts, now_ms(), seed);
    let snapshot = Arc::new(Mutex::new(core.snapshot()));
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let driver = Driver {
        core,
        sip: sip::SipIo::new(opened.io),
        media: media::MediaIo::new(notices.clone()),
        events,
        history: history.clone(),
        rows: HashMap::new(),
        answers: HashMap::new(),
        next_ticket: 1,
        pending: FuturesUnordered::new(),
        snapshot: snapshot.clone(),
        closing: false,
        watch,
        rebind,
    };
    tokio::spawn(driver.run(commands_rx, opened.incoming, opened.dialog_events));
    Ok(Handle {
        commands,
        snapshot,
        history,
        start_warnings,
        local_sip_addr,
        device_notices: notices,
    })
}

struct Driver {
    core: PhoneCore,
    sip: sip::SipIo,
    media: media::MediaIo,
    events: broadcast::Sender<PhoneEvent>,
    history: Arc<HistoryStore>,
    /// Each call's history row.
    rows: HashMap<CallId, i64>,
    answers: HashMap<Ticket, Answer>,
    next_ticket: Ticket,
    pending: Pending,
    snapshot: Arc<Mutex<Snapshot>>,
    /// The core closed the transports: finish what is in flight, then stop.
    closing: bool,
    /// Follows the local address each account's registrar is reached from.
    watch: address_watch::AddressWatch,
    /// How each account's SIP stack is bound again when that address changes.
    rebind: Vec<open::Rebind>,
}

/// The next item of any of `receivers` (None when all are closed).
async fn recv_any<T>(receivers: &mut [mpsc::UnboundedReceiver<T>]) -> Option<(usize, T)> {
    std::future::poll_fn(|cx| {
        let mut open = false;
        for (i, r) in receivers.iter_mut().enumerate() {
            match r.poll_recv(cx) {
                Poll::Ready(Some(v)) => return Poll::Ready(Some((i, v))),
                Poll::Ready(None) => {}
                Poll::Pending => open = true,
            }
        }
        if open {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    })
    .await
}

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<(Command, Option<Answer>)>,
        mut incoming: Vec<mpsc::UnboundedReceiver<Incoming>>,
        mut dialog_events: Vec<mpsc::UnboundedReceiver<DialogEvent>>,
    ) {
        let mut sip_open = true;
        let mut dialogs_open = true;
        let mut sleep_watch = sleep_watch::SleepWatch::new(std::time::Instant::now(), now_ms());
        loop {
            self.step();
            if self.closing {
                break;
            }
            if let Some(slept) = sleep_watch.look(std::time::Instant::now(), now_ms()) {
                tracing::info!("the computer slept {} s: registering again", slept / 1000);
                self.core.handle(Input::NetworkChanged, now_ms());
                self.step();
            }
            for (account, ip) in self.watch.look(now_ms(), address_watch::route_towards) {
                self.rebind(account, ip, &mut incoming, &mut dialog_events)
                    .await;
                self.step();
            }
            let next = [self.core.next_timeout(), self.watch.next_look()]
                .into_iter()
                .flatten()
                .min();
            let sleep = match next {
                Some(at) => Duration::from_millis((at - now_ms()).max(0) as u64).min(LOOK_AGAIN),
                None => LOOK_AGAIN,
            };
            tokio::select! {
                // A front end's command first: one given before a request arrived (availability,
                // routing rules) must be in force when the request is decided.
                biased;
                command = commands.recv() => match command {
                    Some((command, answer)) => {
                        let ticket = self.next_ticket;
                        self.next_ticket += 1;
                        if let Some(a) = answer {
                            self.answers.insert(ticket, a);
                        }
                        self.core.handle(Input::Command { ticket, command }, now_ms());
                    }
                    // Every `Phone` is gone.
                    None => break,
                },
                request = recv_any(&mut incoming), if sip_open => match request {
                    Some((account, request)) => self.sip.incoming(&mut self.core, account, request),
                    None => sip_open = false,
                },
                event = recv_any(&mut dialog_events), if dialogs_open => match event {
                    Some((_, event)) => self.sip.dialog_event(&mut self.core, event),
                    None => dialogs_open = false,
                },
                (id, event) = self.media.next_event() => {
                    self.core.handle(Input::Media(crate::core::io::MediaInput::Event { id, event }), now_ms());
                }
                Some(done) = self.pending.next(), if !self.pending.is_empty() => self.complete(done),
                _ = tokio::time::sleep(sleep) => self.core.handle(Input::Timeout, now_ms()),
            }
        }
        // Let what was sent last (BYEs, un-SUBSCRIBEs) finish, briefly.
        let _ = tokio::time::timeout(CLOSE_WITHIN, async {
            while let Some(done) = self.pending.next().await {
                if let Completion::Media(m) = done {
                    drop(m);
                }
            }
        })
        .await;
        self.sip.close();
    }

    /// The address toward `account`'s registrar is `ip` now: its SIP stack is bound there (the
    /// old one lives on while calls still use it) and the core registers it again.
    async fn rebind(
        &mut self,
        account: usize,
        ip: std::net::IpAddr,
        incoming: &mut [mpsc::UnboundedReceiver<Incoming>],
        dialog_events: &mut [mpsc::UnboundedReceiver<DialogEvent>],
    ) {
        match open::rebind(&self.rebind[account], ip).await {
            Ok((stack, inc, dialogs)) => {
                tracing::info!("account {account}: our address toward the registrar is {ip} now: registering from there");
                let contact = stack.contact(self.sip.aor_user(account).as_deref());
                self.sip.replace_stack(account, stack);
                incoming[account] = inc;
                dialog_events[account] = dialogs;
                self.watch.rebound(account, ip);
                self.core.handle(
                    Input::AddressChanged {
                        account,
                        local_ip: ip,
                        contact,
                    },
                    now_ms(),
                );
            }
            // Tried again at the next look.
            Err(e) => {
                tracing::warn!("account {account}: cannot listen on the new address {ip}: {e}")
            }
        }
    }

    fn complete(&mut self, done: Completion) {
        match done {
            Completion::Input(input) => self.core.handle(*input, now_ms()),
            Completion::Nothing => {}
            Completion::Sip(c) => self.sip.complete(&mut self.core, &mut self.pending, c),
            Completion::Media(c) => self.media.complete(&mut self.core, c),
        }
    }

    /// Performs every output of the core (feeding back what is known at once), then publishes
    /// the snapshot, then the events and replies of the step.
    fn step(&mut self) {
        let mut events = Vec::new();
        let mut replies = Vec::new();
        while let Some(output) = self.core.poll() {
            match output {
                Output::Event(e) => events.push(e),
                Output::Reply { ticket, result } => replies.push((ticket, result)),
                Output::History(op) => {
                    if let Some(warning) = self.history_op(op) {
                        events.push(PhoneEvent::Warning { message: warning });
                    }
                }
                Output::Sip(s) => {
                    if self
                        .sip
                        .perform(&mut self.core, &mut self.pending, s, &mut events)
                    {
                        self.closing = true;
                    }
                }
                Output::Media(m) => {
                    self.media
                        .perform(&mut self.core, &mut self.pending, m, &mut events)
                }
            }
        }
        let mut snapshot = self.core.snapshot();
        {
            let mut shared = self.snapshot.lock().unwrap();
            // Availability changes only by `Handle::set_availability`, which wrote it already
            // (it may be ahead of the core by the command in the channel).
            snapshot.availability = shared.availability;
            *shared = snapshot;
        }
        for e in events {
            let _ = self.events.send(e);
        }
        for (ticket, result) in replies {
            if let Some(a) = self.answers.remove(&ticket) {
                let _ = a.send(result);
            } else if let Err(e) = result {
                tracing::debug!("command {ticket} failed: {e}");
            }
        }
    }

    /// Writes to the history; a failure is a warning for the user.
    fn history_op(&mut self, op: HistoryOp) -> Option<String> {
        match op {
            HistoryOp::Begin { id, record } => match self.history.begin(&record) {
                Ok(row) => {
                    self.rows.insert(id, row);
                    None
                }
                Err(e) => Some(format!("could not save the call in history: {e}")),
            },
            HistoryOp::Progress {
                id,
                answered_at_ms,
                codec,
                now_ms,
            } => {
                let row = *self.rows.get(&id)?;
                if let Err(e) = self
                    .history
                    .progress(row, answered_at_ms, codec.as_deref(), now_ms)
                {
                    tracing::warn!("could not update call {id} in history: {e}");
                }
                None
            }
            HistoryOp::Finish { id, record } => {
                let saved = match self.rows.remove(&id) {
                    Some(row) => self.history.finish(row, &record),
                    None => self.history.record(&record).map(|_| ()),
                };
                saved
                    .err()
                    .map(|e| format!("could not save the call in history: {e}"))
            }
        }
    }
}

/// A media event of a call, for the loop.
pub(crate) type MediaEventOf = (CallId, MediaEvent);
