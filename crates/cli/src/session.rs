//! `hookflash-cli session`: a scripted multi-call session. One command per line from stdin
//! (or `--script FILE`) drives the phone — answer, park, switch, dial, hang up, list — while
//! every event is printed as it happens. All calls share one microphone (`--audio-in`) and
//! one speaker (`--audio-out`): only the active call uses them, parked calls hear music.
//!
//! Commands (blank lines and `# comments` are ignored):
//!
//! ```text
//! dial <uri> [--caller-id X] [--from AOR]  call out (the active call is parked first), presenting
//!                         caller ID X, from the account AOR (default: the profile's first)
//! answer [<id>]           answer a ringing call (default: the oldest ringing); parks the active one
//! reject <id> [486|603|480]
//! park <id>               hold with music on hold
//! switch <id>             make it active, parking the active call (also: resume <id>)
//! hangup <id>|all
//! dtmf <id> <digits>
//! list                    print the calls: {"event":"calls","calls":[...]}
//! wait <seconds>          pause the script (events keep printing)
//! wait-calls <n> [<secs>] pause until n calls are connected (default limit 30 s)
//! wait-ringing <n> [<secs>] pause until n calls ring here
//! park-orbit <id> <slot>  park on the server's orbit slot (REFER; needs [account.shared_park])
//! transfer <id> <target> [resume]  blind transfer (held, then REFER); if it fails the call
//!                         stays parked, or is resumed with `resume`
//! consult <id> <target>   park <id> and call target to consult first; prints
//!                         {"event":"consulting","call_id":<id>,"consult_id":<new>}
//! complete <id> <other> [resume]  attended transfer: connect <id>'s far end with <other>'s
//!                         (REFER with Replaces: no second ringing) and leave both calls
//! transfer-request <id> accept|decline  answer the far end's request to transfer call <id>
//!                         (with --transfer-requests ask; a `transfer_request` event announces it)
//! conference <id> [<id>...]  merge the active call and these (parked) calls into one local
//!                         conference (up to 8 others): everyone hears everyone but themselves;
//!                         `conference` alone brings a parked conference back
//! conference-mute <id>|me on|off  keep a party's voice (or your microphone) out of the mix
//! leave [end]             leave the conference: two parties are connected to each other
//!                         (attended transfer) and our calls end; with more, `leave end` hangs
//!                         up everyone (plain `leave` refuses: the mix is here)
//! leave to <id>           leave the conference by handing it to party <id>: its phone is
//!                         referred to each other party in turn (Replaces: nobody rings)
//! slots                   print the orbit slots: {"event":"slots","slots":[...]}
//! retrieve <slot>         call the orbit slot to take the parked call back
//! wait-slot <slot> occupied|free [<secs>] pause until the server reports that state
//! dnd on|off              do not disturb: routing rejects every call while on
//! presence available|away|busy   the presence routing rules see (`presence`)
//! quit                    hang up everything and exit (also at the end of the input)
//! ```

use crate::output::{call_json, Printer};
use hookflash_phone::{
    Availability, CallId, CallOptions, CallState, Direction, Phone, PhoneEvent, Presence,
};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// One line of a session script.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionCommand {
    /// Target, the caller ID to present (None: the account's own), and the account to call from
    /// (None: the first).
    Dial(String, Option<String>, Option<String>),
    Answer(Option<CallId>),
    Reject(CallId, u16),
    Park(CallId),
    Switch(CallId),
    Hangup(Option<CallId>),
    Dtmf(CallId, String),
    List,
    Wait(Duration),
    WaitCalls(usize, Duration),
    WaitRinging(usize, Duration),
    ParkOrbit(CallId, String),
    /// Blind transfer: call, target, resume the call if it fails (else it stays parked).
    Transfer(CallId, String, bool),
    /// Park the call and dial the target to consult.
    Consult(CallId, String),
    /// Attended transfer: call, the other call, resume the call if it fails.
    Complete(CallId, CallId, bool),
    /// Accept (true) or decline the far end's request to transfer the call.
    TransferRequest(CallId, bool),
    /// Merge these calls (and the active one) into the conference.
    Conference(Vec<CallId>),
    /// A party (None: the user) kept out of the conference's mix, or let back.
    ConferenceMute(Option<CallId>, bool),
    /// Leave the conference; `end`: hang up every party when more than two.
    Leave(bool),
    /// Leave the conference by handing it to this party.
    HandConference(CallId),
    Slots,
    Retrieve(String),
    /// Slot, wanted occupied (true) or free, time limit.
    WaitSlot(String, bool, Duration),
    /// Do not disturb on (true) or off.
    Dnd(bool),
    Presence(Presence),
    Quit,
}

fn id_arg(word: Option<&str>, cmd: &str) -> Result<CallId, String> {
    let w = word.ok_or_else(|| format!("`{cmd}` needs a call id, e.g. `{cmd} 2`"))?;
    w.parse()
        .map_err(|_| format!("'{w}' is not a call id (a number, as in the `incoming` line)"))
}

fn secs_arg(word: Option<&str>, cmd: &str) -> Result<Duration, String> {
    let w = word.ok_or_else(|| format!("`{cmd}` needs a number of seconds"))?;
    match w.parse::<f64>() {
        Ok(s) if (0.0..86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("'{w}' is not a number of seconds")),
    }
}

/// Parses one script line; Ok(None) for blank lines and comments.
pub fn parse_command(line: &str) -> Result<Option<SessionCommand>, String> {
    // A comment starts with '#' at the start of the line or after a space ('#' is a DTMF key).
    let line = line.trim();
    let line = if line.starts_with('#') {
        ""
    } else {
        line.split(" #").next().unwrap_or_default()
    };
    let mut words = line.split_whitespace();
    let Some(cmd) = words.next() else {
        return Ok(None);
    };
    let cmd_lc = cmd.to_ascii_lowercase();
    let arg = words.next();
    let c = match cmd_lc.as_str() {
        "dial" | "call" => {
            let target = arg.ok_or("`dial` needs a target, e.g. `dial sip:bob@example.com`")?.to_string();
            let (mut caller_id, mut from) = (None, None);
            while let Some(option) = words.next() {
                match option {
                    "--caller-id" => {
                        caller_id = Some(
                            words.next().ok_or("`--caller-id` needs a number, e.g. `dial 2001 --caller-id +442079460958`")?.to_string(),
                        )
                    }
                    "--from" => {
                        from = Some(words.next().ok_or("`--from` needs an account, e.g. `dial 2001 --from sip:alice@example.com`")?.to_string())
                    }
                    other => {
                        return Err(format!("unexpected '{other}' after `{cmd} {target}` (only --caller-id X and --from AOR may follow)"))
                    }
                }
            }
            SessionCommand::Dial(target, caller_id, from)
        }
        "answer" => SessionCommand::Answer(arg.map(|_| id_arg(arg, "answer")).transpose()?),
        "reject" => {
            let id = id_arg(arg, "reject")?;
            let status = match words.next() {
                None => 486,
                Some(s) => s.parse().map_err(|_| format!("'{s}' is not a SIP status (use 486, 603 or 480)"))?,
            };
            SessionCommand::Reject(id, status)
        }
        "park" | "hold" => SessionCommand::Park(id_arg(arg, "park")?),
        "switch" | "resume" | "unpark" => SessionCommand::Switch(id_arg(arg, "switch")?),
        "hangup" | "bye" => match arg {
            Some("all") => SessionCommand::Hangup(None),
            _ => SessionCommand::Hangup(Some(id_arg(arg, "hangup")?)),
        },
        "dtmf" => {
            let id = id_arg(arg, "dtmf")?;
            let digits = words.next().ok_or("`dtmf` needs digits, e.g. `dtmf 1 123#`")?;
            SessionCommand::Dtmf(id, digits.to_string())
        }
        "list" | "calls" => SessionCommand::List,
        "wait" | "sleep" => SessionCommand::Wait(secs_arg(arg, "wait")?),
        "wait-calls" | "wait-ringing" => {
            let n = arg.ok_or_else(|| format!("`{cmd_lc}` needs a number of calls"))?;
            let n: usize = n.parse().map_err(|_| format!("'{n}' is not a number of calls"))?;
            let limit = match words.next() {
                Some(w) => secs_arg(Some(w), &cmd_lc)?,
                None => Duration::from_secs(30),
            };
            if cmd_lc == "wait-calls" {
                SessionCommand::WaitCalls(n, limit)
            } else {
                SessionCommand::WaitRinging(n, limit)
            }
        }
        "park-orbit" => {
            let id = id_arg(arg, "park-orbit")?;
            let slot = words.next().ok_or("`park-orbit` needs a call id and a slot, e.g. `park-orbit 1 701`")?;
            SessionCommand::ParkOrbit(id, slot.to_string())
        }
        "transfer" => {
            let id = id_arg(arg, "transfer")?;
            let target = words.next().ok_or("`transfer` needs a call id and a target, e.g. `transfer 1 2001`")?;
            let resume = match words.next() {
                None => false,
                Some("resume") => true,
                Some(w) => return Err(format!("'{w}' after the target: only `resume` may follow (resume the call if the transfer fails)")),
            };
            SessionCommand::Transfer(id, target.to_string(), resume)
        }
        "consult" => {
            let id = id_arg(arg, "consult")?;
            let target = words.next().ok_or("`consult` needs a call id and a target, e.g. `consult 1 2001`")?;
            SessionCommand::Consult(id, target.to_string())
        }
        "complete" => {
            let id = id_arg(arg, "complete")?;
            let other = words.next().ok_or("`complete` needs two call ids, e.g. `complete 1 2` (1's caller is connected to 2's)")?;
            let other = id_arg(Some(other), "complete")?;
            let resume = match words.next() {
                None => false,
                Some("resume") => true,
                Some(w) => return Err(format!("'{w}' after the call ids: only `resume` may follow (resume the call if the transfer fails)")),
            };
            SessionCommand::Complete(id, other, resume)
        }
        "transfer-request" => {
            let id = id_arg(arg, "transfer-request")?;
            let accept = match words.next() {
                Some("accept") => true,
                Some("decline") => false,
                Some(w) => return Err(format!("'{w}' is neither accept nor decline")),
                None => return Err("`transfer-request` needs a call id and accept|decline, e.g. `transfer-request 1 accept`".into()),
            };
            SessionCommand::TransferRequest(id, accept)
        }
        "conference" | "merge" => {
            let mut ids = Vec::new();
            for w in arg.into_iter().chain(words.by_ref()) {
                ids.push(id_arg(Some(w), "conference")?);
            }
            SessionCommand::Conference(ids)
        }
        "conference-mute" => {
            let who = arg.ok_or("`conference-mute` needs a call id (or `me`) and on|off, e.g. `conference-mute 2 on`")?;
            let id = if who == "me" { None } else { Some(id_arg(Some(who), "conference-mute")?) };
            let muted = match words.next() {
                Some("on") => true,
                Some("off") => false,
                Some(w) => return Err(format!("'{w}' is neither on nor off")),
                None => return Err("`conference-mute` needs on or off after the party".into()),
            };
            SessionCommand::ConferenceMute(id, muted)
        }
        "leave" => match arg {
            None => SessionCommand::Leave(false),
            Some("end") => SessionCommand::Leave(true),
            Some("to") => {
                let Some(id) = words.next() else { return Err("`leave to` needs the party that takes the conference over, e.g. `leave to 2`".into()) };
                SessionCommand::HandConference(id_arg(Some(id), "leave to")?)
            }
            Some(w) => return Err(format!("'{w}' after `leave`: only `end` (hang up every party) or `to <id>` (hand the conference to that party) may follow")),
        },
        "slots" => SessionCommand::Slots,
        "retrieve" => SessionCommand::Retrieve(arg.ok_or("`retrieve` needs a slot, e.g. `retrieve 701`")?.to_string()),
        "wait-slot" => {
            let slot = arg.ok_or("`wait-slot` needs a slot and occupied|free, e.g. `wait-slot 701 occupied`")?;
            let occupied = match words.next() {
                Some("occupied") => true,
                Some("free") => false,
                Some(w) => return Err(format!("'{w}' is neither occupied nor free")),
                None => return Err("`wait-slot` needs occupied or free after the slot".into()),
            };
            let limit = match words.next() {
                Some(w) => secs_arg(Some(w), "wait-slot")?,
                None => Duration::from_secs(30),
            };
            SessionCommand::WaitSlot(slot.to_string(), occupied, limit)
        }
        "dnd" => match arg {
            Some("on") => SessionCommand::Dnd(true),
            Some("off") => SessionCommand::Dnd(false),
            Some(w) => return Err(format!("'{w}' is neither on nor off")),
            None => return Err("`dnd` needs on or off".into()),
        },
        "presence" => {
            let p = arg.ok_or("`presence` needs available, away or busy")?;
            SessionCommand::Presence(p.parse().map_err(|e: hookflash_phone::PhoneError| e.to_string())?)
        }
        "quit" | "exit" => SessionCommand::Quit,
        other => {
            return Err(format!(
                "unknown command '{other}' (use dial, answer, reject, park, switch, hangup, dtmf, list, wait, wait-calls, park-orbit, slots, retrieve, wait-slot, dnd, presence, transfer, consult, complete, transfer-request, conference, conference-mute, leave, quit)"
            ))
        }
    };
    if let Some(extra) = words.next() {
        return Err(format!("unexpected '{extra}' after `{cmd}`"));
    }
    Ok(Some(c))
}

/// Where the script comes from.
pub enum ScriptSource {
    Stdin,
    File(std::path::PathBuf),
}

/// Reads lines into a channel (closed at the end of the input).
fn spawn_reader(source: ScriptSource) -> Result<mpsc::UnboundedReceiver<String>, String> {
    let (tx, rx) = mpsc::unbounded_channel();
    match source {
        ScriptSource::Stdin => {
            tokio::spawn(async move {
                let mut lines = BufReader::new(tokio::io::stdin()).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    if tx.send(l).is_err() {
                        break;
                    }
                }
            });
        }
        ScriptSource::File(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read script {}: {e}", path.display()))?;
            // Check every line before the first call is made.
            for (n, l) in text.lines().enumerate() {
                parse_command(l).map_err(|e| format!("{} line {}: {e}", path.display(), n + 1))?;
            }
            for l in text.lines() {
                let _ = tx.send(l.to_string());
            }
        }
    }
    Ok(rx)
}

enum Pause {
    None,
    Until(Instant),
    /// Until n calls are in this state (or the limit passes).
    Calls(usize, CallState, Instant),
    /// Until the orbit slot is occupied (true) or free (or the limit passes).
    Slot(String, bool, Instant),
}

/// Runs the session until `quit` or the end of the input.
pub async fn run_session(
    phone: &Phone,
    printer: &Printer,
    opts: CallOptions,
    source: ScriptSource,
    events: &mut tokio::sync::broadcast::Receiver<PhoneEvent>,
) -> Result<(), String> {
    let mut lines = spawn_reader(source)?;
    let mut pause = Pause::None;
    let mut input_done = false;
    loop {
        let now = Instant::now();
        match pause {
            Pause::Until(t) if now >= t => pause = Pause::None,
            Pause::Calls(n, state, limit) => {
                let count = phone.calls().iter().filter(|c| c.state == state).count();
                if count >= n {
                    pause = Pause::None;
                } else if now >= limit {
                    let (cmd, what) = if state == CallState::Answered {
                        ("wait-calls", "connected")
                    } else {
                        ("wait-ringing", "ringing")
                    };
                    printer.line(&json!({"event": "error", "command": format!("{cmd} {n}"),
                        "message": format!("only {count} of {n} calls {what} in time")}));
                    pause = Pause::None;
                }
            }
            Pause::Slot(ref slot, occupied, limit) => {
                let now_state = phone
                    .park_slots()
                    .iter()
                    .find(|s| &s.slot == slot)
                    .map(|s| s.occupied);
                if now_state == Some(occupied) {
                    pause = Pause::None;
                } else if now >= limit {
                    let want = if occupied { "occupied" } else { "free" };
                    printer.line(
                        &json!({"event": "error", "command": format!("wait-slot {slot} {want}"),
                        "message": format!("orbit {slot} was not reported {want} in time")}),
                    );
                    pause = Pause::None;
                }
            }
            _ => {}
        }
        let paused = !matches!(pause, Pause::None);
        if input_done && !paused {
            return Ok(());
        }
        let sleep_until = match pause {
            Pause::Until(t) => t,
            Pause::Calls(_, _, limit) | Pause::Slot(_, _, limit) => {
                limit.min(now + Duration::from_millis(100))
            }
            Pause::None => now + Duration::from_secs(3600),
        };
        tokio::select! {
            _ = tokio::time::sleep_until(sleep_until), if paused => {}
            line = lines.recv(), if !paused && !input_done => {
                let Some(line) = line else { input_done = true; continue };
                match parse_command(&line) {
                    Ok(None) => {}
                    Ok(Some(SessionCommand::Quit)) => return Ok(()),
                    Ok(Some(SessionCommand::Wait(d))) => pause = Pause::Until(Instant::now() + d),
                    Ok(Some(SessionCommand::WaitCalls(n, limit))) => {
                        pause = Pause::Calls(n, CallState::Answered, Instant::now() + limit)
                    }
                    Ok(Some(SessionCommand::WaitRinging(n, limit))) => {
                        pause = Pause::Calls(n, CallState::Ringing, Instant::now() + limit)
                    }
                    Ok(Some(SessionCommand::WaitSlot(slot, occupied, limit))) => {
                        pause = Pause::Slot(slot, occupied, Instant::now() + limit)
                    }
                    Ok(Some(cmd)) => {
                        if let Err(message) = execute(phone, printer, &opts, cmd).await {
                            printer.line(&json!({"event": "error", "command": line.trim(), "message": message}));
                        }
                    }
                    Err(message) => printer.line(&json!({"event": "error", "command": line.trim(), "message": message})),
                }
            }
            ev = events.recv() => match ev {
                Ok(ev) => printer.event(&ev),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Err("engine stopped".into()),
            },
            _ = tokio::signal::ctrl_c() => return Err("interrupted".into()),
        }
    }
}

async fn execute(
    phone: &Phone,
    printer: &Printer,
    opts: &CallOptions,
    cmd: SessionCommand,
) -> Result<(), String> {
    let e = |e: hookflash_phone::PhoneError| e.to_string();
    match cmd {
        SessionCommand::Dial(target, caller_id, from) => {
            let opts = CallOptions {
                caller_id,
                from,
                ..opts.clone()
            };
            phone.dial(&target, opts).await.map(|_| ()).map_err(e)
        }
        SessionCommand::Answer(id) => {
            let id = match id {
                Some(id) => id,
                None => phone
                    .calls()
                    .iter()
                    .find(|c| c.direction == Direction::Incoming && c.state == CallState::Ringing)
                    .map(|c| c.id)
                    .ok_or("no call is ringing")?,
            };
            phone.answer(id, opts.clone()).await.map_err(e)
        }
        SessionCommand::Reject(id, status) => phone.reject(id, status).await.map_err(e),
        SessionCommand::Park(id) => phone.park(id).await.map_err(e),
        SessionCommand::Switch(id) => phone.switch_to(id).await.map_err(e),
        SessionCommand::Hangup(Some(id)) => phone.hangup(id).await.map_err(e),
        SessionCommand::Hangup(None) => {
            for c in phone.calls() {
                let _ = phone.hangup(c.id).await;
            }
            Ok(())
        }
        SessionCommand::Dtmf(id, digits) => phone.send_dtmf(id, &digits).await.map_err(e),
        SessionCommand::List => {
            let calls: Vec<_> = phone.calls().iter().map(call_json).collect();
            printer.line(&json!({"event": "calls", "calls": calls}));
            Ok(())
        }
        SessionCommand::ParkOrbit(id, slot) => phone.park_on_orbit(id, &slot).await.map_err(e),
        SessionCommand::Transfer(id, target, resume) => {
            phone.transfer(id, &target, resume).await.map_err(e)
        }
        SessionCommand::Consult(id, target) => {
            let new = phone.consult(id, &target, opts.clone()).await.map_err(e)?;
            printer.line(&json!({"event": "consulting", "call_id": id, "consult_id": new}));
            Ok(())
        }
        SessionCommand::Complete(id, other, resume) => {
            phone.complete_transfer(id, other, resume).await.map_err(e)
        }
        SessionCommand::TransferRequest(id, accept) => {
            phone.answer_transfer_request(id, accept).await.map_err(e)
        }
        SessionCommand::Conference(ids) => phone.conference(&ids).await.map_err(e),
        SessionCommand::ConferenceMute(id, muted) => {
            phone.conference_mute(id, muted).await.map_err(e)
        }
        SessionCommand::Leave(end) => phone.leave_conference(end).await.map_err(e),
        SessionCommand::HandConference(id) => phone.hand_conference(id).await.map_err(e),
        SessionCommand::Retrieve(slot) => phone
            .retrieve(&slot, opts.clone())
            .await
            .map(|_| ())
            .map_err(e),
        SessionCommand::Slots => {
            printer.line(
                &json!({"event": "slots", "slots": crate::output::slot_json(&phone.park_slots())}),
            );
            Ok(())
        }
        SessionCommand::Dnd(dnd) => {
            phone.set_availability(Availability {
                dnd,
                ..phone.availability()
            });
            Ok(())
        }
        SessionCommand::Presence(presence) => {
            phone.set_availability(Availability {
                presence,
                ..phone.availability()
            });
            Ok(())
        }
        SessionCommand::Wait(_)
        | SessionCommand::WaitCalls(..)
        | SessionCommand::WaitRinging(..)
        | SessionCommand::WaitSlot(..)
        | SessionCommand::Quit => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_command() {
        use SessionCommand::*;
        let p = |l: &str| parse_command(l).unwrap().unwrap();
        assert_eq!(p("dial sip:bob@h"), Dial("sip:bob@h".into(), None, None));
        assert_eq!(
            p("dial 2001 --caller-id +442079460958"),
            Dial("2001".into(), Some("+442079460958".into()), None)
        );
        assert_eq!(
            p("dial 2001 --from sip:carol@b.example --caller-id 7"),
            Dial(
                "2001".into(),
                Some("7".into()),
                Some("sip:carol@b.example".into())
            )
        );
        assert_eq!(p("answer"), Answer(None));
        assert_eq!(p("  answer 3 "), Answer(Some(3)));
        assert_eq!(p("reject 2"), Reject(2, 486));
        assert_eq!(p("reject 2 603"), Reject(2, 603));
        assert_eq!(p("park 1"), Park(1));
        assert_eq!(p("switch 4"), Switch(4));
        assert_eq!(p("resume 4"), Switch(4));
        assert_eq!(p("hangup all"), Hangup(None));
        assert_eq!(p("hangup 7 # the rude one"), Hangup(Some(7)));
        assert_eq!(p("dtmf 1 12#"), Dtmf(1, "12#".into()));
        assert_eq!(p("list"), List);
        assert_eq!(p("wait 1.5"), Wait(Duration::from_millis(1500)));
        assert_eq!(p("wait-calls 3"), WaitCalls(3, Duration::from_secs(30)));
        assert_eq!(p("wait-calls 3 5"), WaitCalls(3, Duration::from_secs(5)));
        assert_eq!(p("wait-ringing 2"), WaitRinging(2, Duration::from_secs(30)));
        assert_eq!(p("QUIT"), Quit);
        assert_eq!(p("park-orbit 2 701"), ParkOrbit(2, "701".into()));
        assert_eq!(p("transfer 2 2001"), Transfer(2, "2001".into(), false));
        assert_eq!(
            p("transfer 2 sip:carol@pbx.example.com resume"),
            Transfer(2, "sip:carol@pbx.example.com".into(), true)
        );
        assert_eq!(p("consult 1 2001"), Consult(1, "2001".into()));
        assert_eq!(p("conference 2 3"), Conference(vec![2, 3]));
        assert_eq!(p("conference"), Conference(vec![]));
        assert_eq!(p("conference-mute me on"), ConferenceMute(None, true));
        assert_eq!(p("conference-mute 3 off"), ConferenceMute(Some(3), false));
        assert_eq!(p("leave"), Leave(false));
        assert_eq!(p("leave end"), Leave(true));
        assert_eq!(p("leave to 3"), HandConference(3));
        assert_eq!(p("transfer-request 2 decline"), TransferRequest(2, false));
        assert_eq!(p("complete 1 2"), Complete(1, 2, false));
        assert_eq!(p("complete 1 2 resume"), Complete(1, 2, true));
        assert_eq!(p("slots"), Slots);
        assert_eq!(p("retrieve 701"), Retrieve("701".into()));
        assert_eq!(
            p("wait-slot 701 occupied"),
            WaitSlot("701".into(), true, Duration::from_secs(30))
        );
        assert_eq!(
            p("wait-slot 701 free 5"),
            WaitSlot("701".into(), false, Duration::from_secs(5))
        );
        assert_eq!(p("dnd on"), Dnd(true));
        assert_eq!(p("dnd off"), Dnd(false));
        assert_eq!(
            p("presence Away"),
            Presence(hookflash_phone::Presence::Away)
        );
        assert_eq!(parse_command("   # only a comment").unwrap(), None);
        assert_eq!(parse_command("").unwrap(), None);
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let err = |l: &str| parse_command(l).unwrap_err();
        assert!(err("transfer 2").contains("needs a call id and a target"));
        assert!(err("transfer 2 2001 later").contains("only `resume` may follow"));
        assert!(err("consult 1").contains("needs a call id and a target"));
        assert!(err("conference 2 x").contains("'x' is not a call id"));
        assert!(err("leave now").contains("only `end` (hang up every party) or `to <id>`"));
        assert!(err("leave to").contains("`leave to` needs the party"));
        assert!(err("complete 1").contains("needs two call ids"));
        assert!(err("complete 1 x").contains("'x' is not a call id"));
        assert_eq!(err("park"), "`park` needs a call id, e.g. `park 2`");
        assert_eq!(
            err("park two"),
            "'two' is not a call id (a number, as in the `incoming` line)"
        );
        assert!(err("fly 1").starts_with("unknown command 'fly'"));
        assert_eq!(err("wait soon"), "'soon' is not a number of seconds");
        assert_eq!(err("wait -1"), "'-1' is not a number of seconds");
        assert_eq!(err("switch 1 2"), "unexpected '2' after `switch`");
        assert!(err("dial").contains("needs a target"));
        assert!(err("dial 2001 --caller-id").contains("`--caller-id` needs a number"));
        assert_eq!(
            err("dial 2001 +44"),
            "unexpected '+44' after `dial 2001` (only --caller-id X and --from AOR may follow)"
        );
        assert_eq!(
            err("dial 2001 --caller-id 1 2"),
            "unexpected '2' after `dial 2001` (only --caller-id X and --from AOR may follow)"
        );
        assert!(err("park-orbit 1").contains("needs a call id and a slot"));
        assert_eq!(
            err("wait-slot 701 busy"),
            "'busy' is neither occupied nor free"
        );
        assert!(err("retrieve").contains("needs a slot"));
        assert_eq!(err("dnd maybe"), "'maybe' is neither on nor off");
        assert_eq!(
            err("presence gone"),
            "invalid presence: 'gone' (use available, away or busy)"
        );
    }
}
