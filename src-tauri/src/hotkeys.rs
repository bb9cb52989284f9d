//! Global hotkeys: answer, hang up, mute and show/hide the window from whatever program has the
//! keyboard. The user picks the key combinations in settings (none by default: a phone should
//! not take keys from other programs unasked); they are kept in `window.toml`
//! (`window_settings.rs`). What a pressed hotkey does to the calls is the plain [`intent`]
//! (unit-tested); checking the combinations is [`check`]; [`adapter`] takes the keys from the
//! desktop with tauri-plugin-global-shortcut (X11 key grabs on Linux, RegisterHotKey on Windows,
//! Carbon hot keys on macOS) and carries out what [`intent`] says. A combination another program
//! holds is reported per hotkey and the others still work; on Wayland, where programs cannot
//! take keys from the desktop, settings says so ([`unavailable_reason`]).

use hookflash_phone::{CallId, CallInfo, CallState, Direction};
use serde::{Deserialize, Serialize};

/// The four things a hotkey can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Hotkey {
    /// Answers the call ringing longest.
    Answer,
    /// Ends the call with the microphone (or the one being dialled); with none, declines the
    /// call ringing longest.
    HangUp,
    /// Mutes or unmutes the microphone on the current call (or in the conference).
    Mute,
    /// Brings the window forward, or hides it when it already is in front.
    ShowWindow,
}

impl Hotkey {
    pub const ALL: [Hotkey; 4] = [
        Hotkey::Answer,
        Hotkey::HangUp,
        Hotkey::Mute,
        Hotkey::ShowWindow,
    ];

    /// The English name, for sentences in the log and errors.
    pub fn name(self) -> &'static str {
        match self {
            Hotkey::Answer => "Answer",
            Hotkey::HangUp => "Hang up",
            Hotkey::Mute => "Mute",
            Hotkey::ShowWindow => "Show or hide the window",
        }
    }
}

/// The combinations chosen, as text such as `Ctrl+Alt+KeyA` (modifiers, then one key named as
/// the browser's `KeyboardEvent.code`); empty: that hotkey is off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct Hotkeys {
    pub answer: String,
    pub hang_up: String,
    pub mute: String,
    pub show_window: String,
}

impl Hotkeys {
    pub fn get(&self, which: Hotkey) -> &str {
        match which {
            Hotkey::Answer => &self.answer,
            Hotkey::HangUp => &self.hang_up,
            Hotkey::Mute => &self.mute,
            Hotkey::ShowWindow => &self.show_window,
        }
    }

    fn get_mut(&mut self, which: Hotkey) -> &mut String {
        match which {
            Hotkey::Answer => &mut self.answer,
            Hotkey::HangUp => &mut self.hang_up,
            Hotkey::Mute => &mut self.mute,
            Hotkey::ShowWindow => &mut self.show_window,
        }
    }

    /// The hotkeys that are set, with their combinations.
    pub fn set(&self) -> impl Iterator<Item = (Hotkey, &str)> {
        Hotkey::ALL
            .into_iter()
            .map(|h| (h, self.get(h)))
            .filter(|(_, s)| !s.is_empty())
    }
}

/// Why a combination typed for a hotkey is refused: as data, which the window words in its
/// language, and as the English sentence (`Display`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HotkeyRefusal {
    /// Not modifiers and then one key (`text` as typed; empty when it was far too long).
    NotACombination { hotkey: Hotkey, text: String },
    /// A key with no modifier but Shift: it would take that key from every program.
    EveryProgram { hotkey: Hotkey, shortcut: String },
    /// The same keys for two hotkeys.
    Twice {
        hotkey: Hotkey,
        other: Hotkey,
        shortcut: String,
    },
}

impl std::fmt::Display for HotkeyRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HotkeyRefusal::NotACombination { hotkey, text } if text.is_empty() => {
                write!(
                    f,
                    "the keys for {} are not a key combination",
                    hotkey.name()
                )
            }
            HotkeyRefusal::NotACombination { hotkey, text } => write!(
                f,
                "“{text}” (for {}) is not a key combination: modifiers (Ctrl, Alt, Shift, Super) \
                 and then one key, e.g. Ctrl+Alt+A",
                hotkey.name()
            ),
            HotkeyRefusal::EveryProgram { hotkey, shortcut } => write!(
                f,
                "{} for {} would take that key from every program; add Ctrl, Alt or Super",
                display(shortcut),
                hotkey.name()
            ),
            HotkeyRefusal::Twice {
                hotkey,
                other,
                shortcut,
            } => write!(
                f,
                "{} is set for both {} and {}",
                display(shortcut),
                other.name(),
                hotkey.name()
            ),
        }
    }
}

/// One hotkey that is set but not in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct HotkeyProblem {
    pub hotkey: Hotkey,
    pub shortcut: String,
    /// `taken`: another program holds this combination; `failed`: the desktop refused it for
    /// another reason (`detail` says which).
    pub kind: HotkeyProblemKind,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum HotkeyProblemKind {
    Taken,
    Failed,
}

/// Keys that are no trouble alone: nobody types them into a document.
fn stands_alone(code: &str) -> bool {
    let function_key = code
        .strip_prefix('F')
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (1..=24).contains(&n));
    function_key
        || code.starts_with("Media")
        || code.starts_with("AudioVolume")
        || matches!(code, "Pause" | "ScrollLock" | "PrintScreen")
}

/// Checks and tidies the combinations: each is turned into the one spelling `Ctrl+Alt+KeyA`
/// (`ctrl+alt+a` and `Control+Alt+A` are the same keys). The error names the hotkey and what is
/// wrong: a key we do not know, two main keys, only modifiers, a letter with no modifier (it
/// would take that letter from every program), or the same keys for two hotkeys.
pub fn check(hotkeys: &Hotkeys) -> Result<Hotkeys, HotkeyRefusal> {
    use tauri_plugin_global_shortcut::{Modifiers, Shortcut};
    let mut tidy = Hotkeys::default();
    for which in Hotkey::ALL {
        let text = hotkeys.get(which).trim();
        if text.is_empty() {
            continue;
        }
        if text.len() > 64 {
            return Err(HotkeyRefusal::NotACombination {
                hotkey: which,
                text: String::new(),
            });
        }
        let shortcut: Shortcut = text.parse().map_err(|_| HotkeyRefusal::NotACombination {
            hotkey: which,
            text: text.to_string(),
        })?;
        let code = shortcut.key.to_string();
        let mut spelled = String::new();
        for (modifier, name) in [
            (Modifiers::CONTROL, "Ctrl"),
            (Modifiers::ALT, "Alt"),
            (Modifiers::SHIFT, "Shift"),
            (Modifiers::SUPER, "Super"),
        ] {
            if shortcut.mods.contains(modifier) {
                spelled.push_str(name);
                spelled.push('+');
            }
        }
        let only_shift = shortcut.mods.is_empty() || shortcut.mods == Modifiers::SHIFT;
        if only_shift && !stands_alone(&code) {
            return Err(HotkeyRefusal::EveryProgram {
                hotkey: which,
                shortcut: format!("{spelled}{code}"),
            });
        }
        spelled.push_str(&code);
        if let Some((other, _)) = tidy.set().find(|(_, s)| *s == spelled) {
            return Err(HotkeyRefusal::Twice {
                hotkey: which,
                other,
                shortcut: spelled,
            });
        }
        *tidy.get_mut(which) = spelled;
    }
    Ok(tidy)
}

/// How a combination reads to a person: `Ctrl+Alt+KeyA` → `Ctrl+Alt+A`, `Digit1` → `1`.
pub fn display(shortcut: &str) -> String {
    shortcut
        .split('+')
        .map(|part| {
            part.strip_prefix("Key")
                .or_else(|| part.strip_prefix("Digit"))
                .filter(|rest| rest.len() == 1)
                .unwrap_or(part)
        })
        .collect::<Vec<_>>()
        .join("+")
}

/// Why global hotkeys cannot work on this desktop, from its session variables; None where they
/// can. A Wayland session lets no program take keys from the others (an X11 key grab there
/// reaches only while an X11 program has the keyboard, whichever backend we draw with).
pub fn unavailable_reason(
    wayland_display: Option<&str>,
    session_type: Option<&str>,
) -> Option<String> {
    let wayland = wayland_display.is_some_and(|d| !d.is_empty())
        || session_type.is_some_and(|t| t.eq_ignore_ascii_case("wayland"));
    (wayland && cfg!(target_os = "linux")).then(|| {
        "this desktop (Wayland) does not let programs take keys from other programs, so these \
         hotkeys work only while an X11 program has the keyboard. In the desktop's own keyboard \
         settings, give a key the command `hookflash-app answer`, `hookflash-app hang-up`, \
         `hookflash-app mute` or `hookflash-app show` instead."
            .to_string()
    })
}

/// A hotkey asked for on the command line (`hookflash-app answer`...; a second start hands it to
/// the running app): for desktops whose own keyboard settings run commands, as Wayland's do.
pub fn from_args<I: IntoIterator<Item = S>, S: AsRef<str>>(args: I) -> Option<Hotkey> {
    let args: Vec<String> = args
        .into_iter()
        .skip(1)
        .map(|a| a.as_ref().to_string())
        .collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["answer"] => Some(Hotkey::Answer),
        ["hang-up"] | ["hangup"] => Some(Hotkey::HangUp),
        ["mute"] => Some(Hotkey::Mute),
        ["show"] => Some(Hotkey::ShowWindow),
        _ => None,
    }
}

/// What a pressed hotkey does.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Answer(CallId),
    Hangup(CallId),
    Decline(CallId),
    Mute {
        id: CallId,
        muted: bool,
    },
    /// Mute or unmute the user in the conference.
    ConferenceMute {
        muted: bool,
    },
    ShowWindow,
    HideWindow,
    /// Nothing to do; the sentence says why (logged).
    Nothing(&'static str),
}

/// The incoming call ringing longest.
fn ringing_longest<'a>(calls: &'a [CallInfo]) -> Option<&'a CallInfo> {
    calls
        .iter()
        .filter(|c| c.direction == Direction::Incoming && c.state == CallState::Ringing)
        .min_by_key(|c| (c.started_at_ms, c.id))
}

/// The call the user talks on: the one with the microphone, answered.
fn current(calls: &[CallInfo]) -> Option<&CallInfo> {
    calls
        .iter()
        .find(|c| c.active && c.state == CallState::Answered)
}

/// What hotkey `which` does, given the calls, whether the user is in a conference with their
/// microphone kept out (`conference_muted`), and whether the main window is in front of the
/// user (`window_in_front`: shown, not minimised, focused).
pub fn intent(
    which: Hotkey,
    calls: &[CallInfo],
    conference_muted: bool,
    window_in_front: bool,
) -> Intent {
    match which {
        Hotkey::Answer => match ringing_longest(calls) {
            Some(call) => Intent::Answer(call.id),
            None => Intent::Nothing("no call is ringing"),
        },
        Hotkey::HangUp => {
            if let Some(call) = crate::tray::call_to_hang_up(calls.iter()) {
                Intent::Hangup(call.id)
            } else if let Some(call) = ringing_longest(calls) {
                Intent::Decline(call.id)
            } else {
                Intent::Nothing("no call to hang up")
            }
        }
        Hotkey::Mute => match current(calls) {
            Some(call) if call.conference => Intent::ConferenceMute {
                muted: !conference_muted,
            },
            Some(call) => Intent::Mute {
                id: call.id,
                muted: !call.muted,
            },
            None => Intent::Nothing("no call to mute"),
        },
        Hotkey::ShowWindow if window_in_front => Intent::HideWindow,
        Hotkey::ShowWindow => Intent::ShowWindow,
    }
}

/// Takes the keys from the desktop and carries out what they mean.
pub mod adapter {
    use super::*;
    use crate::session::Session;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    use tauri::{AppHandle, Manager};
    use tauri_plugin_global_shortcut::{GlobalShortcutExt, Shortcut, ShortcutState};

    /// Tauri-managed: which combination is which hotkey, and whether the user is muted in the
    /// conference (from the engine's `Conference` events; the calls do not say it).
    #[derive(Default)]
    pub struct HotkeyState {
        taken: Mutex<Vec<(Shortcut, Hotkey)>>,
        pub(crate) conference_muted: AtomicBool,
        /// When the window key last brought the window forward.
        shown_at: Mutex<Option<std::time::Instant>>,
        /// The plugin is in (added with the first hotkey: its X11 thread wakes 20 times a
        /// second, which a phone with no hotkeys need not pay for while idle).
        plugin_added: AtomicBool,
    }

    /// The desktop tells a window it has the focus a moment after showing it: a second press of
    /// the window key within this long still counts the window as in front (and puts it away).
    const JUST_SHOWN: std::time::Duration = std::time::Duration::from_millis(1500);

    pub fn on_event(app: &AppHandle, event: &hookflash_phone::PhoneEvent) {
        if let hookflash_phone::PhoneEvent::Conference { muted, parties, .. } = event {
            let muted = *muted && !parties.is_empty();
            app.state::<HotkeyState>()
                .conference_muted
                .store(muted, Ordering::Relaxed);
        }
    }

    /// The plugin, calling [`pressed`] for every combination we hold.
    fn plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
        tauri_plugin_global_shortcut::Builder::new()
            .with_handler(|app, shortcut, event| {
                if event.state() == ShortcutState::Pressed {
                    pressed(app, shortcut);
                }
            })
            .build()
    }

    /// Lets go of the combinations held so far and takes `hotkeys` (already [`check`]ed). The
    /// ones the desktop refuses come back, each with why; the others are in effect.
    pub fn apply(app: &AppHandle, hotkeys: &Hotkeys) -> Vec<HotkeyProblem> {
        let state = app.state::<HotkeyState>();
        let mut taken = state.taken.lock().unwrap_or_else(|e| e.into_inner());
        if !state.plugin_added.load(Ordering::SeqCst) {
            if hotkeys.set().next().is_none() {
                return Vec::new();
            }
            if let Err(error) = app.plugin(plugin()) {
                return hotkeys
                    .set()
                    .map(|(which, text)| HotkeyProblem {
                        hotkey: which,
                        shortcut: text.to_string(),
                        kind: HotkeyProblemKind::Failed,
                        detail: format!("global hotkeys are not available here: {error}"),
                    })
                    .collect();
            }
            state.plugin_added.store(true, Ordering::SeqCst);
        }
        let shortcuts = app.global_shortcut();
        for (shortcut, _) in taken.drain(..) {
            if let Err(error) = shortcuts.unregister(shortcut) {
                tracing::warn!("cannot let go of the hotkey {shortcut}: {error}");
            }
        }
        let mut problems = Vec::new();
        for (which, text) in hotkeys.set() {
            let problem = |kind, detail: String| HotkeyProblem {
                hotkey: which,
                shortcut: text.to_string(),
                kind,
                detail,
            };
            let shortcut: Shortcut = match text.parse() {
                Ok(shortcut) => shortcut,
                Err(error) => {
                    problems.push(problem(HotkeyProblemKind::Failed, error.to_string()));
                    continue;
                }
            };
            match shortcuts.register(shortcut) {
                Ok(()) => {
                    tracing::info!("hotkey {} is {text}", which.name());
                    taken.push((shortcut, which));
                }
                Err(error) => {
                    let detail = error.to_string();
                    // global-hotkey's words when the desktop says another program has it
                    // (X11 BadAccess, Windows ERROR_HOTKEY_ALREADY_REGISTERED).
                    let kind = if detail.contains("already registered") {
                        HotkeyProblemKind::Taken
                    } else {
                        HotkeyProblemKind::Failed
                    };
                    tracing::warn!(
                        "cannot take the hotkey {text} for {}: {detail}",
                        which.name()
                    );
                    problems.push(problem(kind, detail));
                }
            }
        }
        problems
    }

    fn window_in_front(app: &AppHandle) -> bool {
        let just_shown = app
            .state::<HotkeyState>()
            .shown_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|at| at.elapsed() < JUST_SHOWN);
        app.get_webview_window("main").is_some_and(|w| {
            w.is_visible().unwrap_or(false)
                && !w.is_minimized().unwrap_or(false)
                && (just_shown || w.is_focused().unwrap_or(false))
        })
    }

    fn pressed(app: &AppHandle, shortcut: &Shortcut) {
        let state = app.state::<HotkeyState>();
        let which = state
            .taken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(s, _)| s == shortcut)
            .map(|(_, which)| *which);
        if let Some(which) = which {
            press(app, which);
        }
    }

    /// Does what hotkey `which` means now (a key, or `hookflash-app answer`...).
    pub fn press(app: &AppHandle, which: Hotkey) {
        let state = app.state::<HotkeyState>();
        let conference_muted = state.conference_muted.load(Ordering::Relaxed);
        let in_front = window_in_front(app);
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let session = app.state::<Session>();
            let phone = session.phone().await;
            let calls = phone.as_ref().map(|p| p.calls()).unwrap_or_default();
            let intent = intent(which, &calls, conference_muted, in_front);
            tracing::info!("hotkey {}: {intent:?}", which.name());
            let done = match (intent, phone) {
                (Intent::ShowWindow, _) => {
                    *app.state::<HotkeyState>()
                        .shown_at
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = Some(std::time::Instant::now());
                    Ok(crate::tray::adapter::show_window(&app))
                }
                (Intent::HideWindow, _) => {
                    *app.state::<HotkeyState>()
                        .shown_at
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = None;
                    Ok(crate::tray::adapter::hide_or_minimize(&app))
                }
                (Intent::Nothing(_), _) => Ok(()),
                (_, Err(error)) => Err(error),
                (Intent::Answer(id), Ok(phone)) => phone
                    .answer(id, session.call_options().await)
                    .await
                    .map_err(|e| format!("cannot answer call {id}: {e}")),
                (Intent::Hangup(id), Ok(phone)) => phone
                    .hangup(id)
                    .await
                    .map_err(|e| format!("cannot hang up call {id}: {e}")),
                (Intent::Decline(id), Ok(phone)) => phone
                    .reject(id, crate::commands::DECLINE_STATUS)
                    .await
                    .map_err(|e| format!("cannot decline call {id}: {e}")),
                (Intent::Mute { id, muted }, Ok(phone)) => phone
                    .set_mute(id, muted)
                    .await
                    .map_err(|e| format!("cannot mute call {id}: {e}")),
                (Intent::ConferenceMute { muted }, Ok(phone)) => phone
                    .conference_mute(None, muted)
                    .await
                    .map_err(|e| format!("cannot mute you in the conference: {e}")),
            };
            if let Err(message) = done {
                crate::events::warn(&app, message);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: CallId, direction: Direction, state: CallState, started_at_ms: i64) -> CallInfo {
        CallInfo::new(
            id,
            direction,
            state,
            format!("sip:{id}@example.com"),
            "sip:alice@example.com",
            started_at_ms,
        )
    }

    fn talking(id: CallId) -> CallInfo {
        CallInfo {
            active: true,
            ..call(id, Direction::Outgoing, CallState::Answered, 0)
        }
    }

    fn keys(answer: &str, hang_up: &str, mute: &str, show_window: &str) -> Hotkeys {
        Hotkeys {
            answer: answer.into(),
            hang_up: hang_up.into(),
            mute: mute.into(),
            show_window: show_window.into(),
        }
    }

    #[test]
    fn answer_takes_the_call_ringing_longest_and_hang_up_ends_the_one_with_the_microphone() {
        let second = call(2, Direction::Incoming, CallState::Ringing, 2_000);
        let first = call(3, Direction::Incoming, CallState::Ringing, 1_000);
        let calls = vec![second.clone(), first.clone()];
        assert_eq!(
            intent(Hotkey::Answer, &calls, false, false),
            Intent::Answer(3)
        );
        // Nobody to talk to yet: hang up declines the caller waiting longest.
        assert_eq!(
            intent(Hotkey::HangUp, &calls, false, false),
            Intent::Decline(3)
        );

        // On a call while two more ring: hang up ends the call, answer still picks up.
        let calls = vec![talking(1), second, first];
        assert_eq!(
            intent(Hotkey::HangUp, &calls, false, false),
            Intent::Hangup(1)
        );
        assert_eq!(
            intent(Hotkey::Answer, &calls, false, false),
            Intent::Answer(3)
        );

        // A call we are dialling is hung up; a parked call is left alone.
        let dialling = call(4, Direction::Outgoing, CallState::Calling, 0);
        let parked = CallInfo {
            parked_since_ms: Some(5),
            ..call(5, Direction::Incoming, CallState::Answered, 0)
        };
        assert_eq!(
            intent(Hotkey::HangUp, &[parked.clone(), dialling], false, false),
            Intent::Hangup(4)
        );
        assert_eq!(
            intent(Hotkey::HangUp, &[parked.clone()], false, false),
            Intent::Nothing("no call to hang up")
        );
        assert_eq!(
            intent(Hotkey::Answer, &[parked], false, false),
            Intent::Nothing("no call is ringing")
        );
        assert_eq!(
            intent(Hotkey::HangUp, &[], false, false),
            Intent::Nothing("no call to hang up")
        );
    }

    #[test]
    fn mute_toggles_the_current_call_or_the_user_in_the_conference() {
        assert_eq!(
            intent(Hotkey::Mute, &[talking(1)], false, false),
            Intent::Mute { id: 1, muted: true }
        );
        let muted = CallInfo {
            muted: true,
            ..talking(1)
        };
        assert_eq!(
            intent(Hotkey::Mute, &[muted], false, false),
            Intent::Mute {
                id: 1,
                muted: false
            }
        );
        let in_conference = CallInfo {
            conference: true,
            ..talking(1)
        };
        assert_eq!(
            intent(Hotkey::Mute, &[in_conference.clone()], false, false),
            Intent::ConferenceMute { muted: true }
        );
        assert_eq!(
            intent(Hotkey::Mute, &[in_conference], true, false),
            Intent::ConferenceMute { muted: false }
        );
        // Ringing or dialling is nothing to mute.
        let ringing = call(2, Direction::Incoming, CallState::Ringing, 0);
        assert_eq!(
            intent(Hotkey::Mute, &[ringing], false, false),
            Intent::Nothing("no call to mute")
        );
    }

    #[test]
    fn show_window_brings_it_forward_or_puts_it_away() {
        assert_eq!(
            intent(Hotkey::ShowWindow, &[], false, false),
            Intent::ShowWindow
        );
        assert_eq!(
            intent(Hotkey::ShowWindow, &[], false, true),
            Intent::HideWindow
        );
    }

    #[test]
    fn combinations_are_checked_and_spelled_one_way() {
        let tidy = check(&keys(
            "ctrl+alt+a",
            "Control+Alt+KeyH",
            "Super+Shift+M",
            "F9",
        ))
        .unwrap();
        assert_eq!(
            tidy,
            keys("Ctrl+Alt+KeyA", "Ctrl+Alt+KeyH", "Shift+Super+KeyM", "F9")
        );
        assert_eq!(display(&tidy.answer), "Ctrl+Alt+A");
        assert_eq!(display("Ctrl+Digit1"), "Ctrl+1");
        assert_eq!(display("Alt+F12"), "Alt+F12");
        assert_eq!(check(&Hotkeys::default()).unwrap(), Hotkeys::default());
        assert_eq!(check(&keys(" ", "", "", "")).unwrap(), Hotkeys::default());
        // Media keys and function keys may stand alone.
        assert!(check(&keys("MediaPlayPause", "", "", "")).is_ok());

        let error = |k: Hotkeys| check(&k).unwrap_err().to_string();
        assert_eq!(
            error(keys("a", "", "", "")),
            "A for Answer would take that key from every program; add Ctrl, Alt or Super"
        );
        assert!(error(keys("", "Shift+H", "", "")).contains("Shift+H for Hang up would take"));
        assert!(error(keys("Ctrl+Alt+", "", "", ""))
            .contains("“Ctrl+Alt+” (for Answer) is not a key combination"));
        assert!(error(keys("", "", "Ctrl+Q+W", "")).contains("(for Mute) is not a key combination"));
        assert!(error(keys("", "", "", "Ctrl+Alt")).contains("is not a key combination"));
        assert!(error(keys("Ctrl+Alt+Smile", "", "", "")).contains("is not a key combination"));
        assert_eq!(
            error(keys("Ctrl+Alt+A", "", "ctrl+alt+a", "")),
            "Ctrl+Alt+A is set for both Answer and Mute"
        );
        assert!(error(keys(&"Ctrl+".repeat(2_000), "", "", "")).contains("not a key combination"));
        // The window words it from the data.
        assert_eq!(
            check(&keys("Ctrl+Alt+A", "", "ctrl+alt+a", "")).unwrap_err(),
            HotkeyRefusal::Twice {
                hotkey: Hotkey::Mute,
                other: Hotkey::Answer,
                shortcut: "Ctrl+Alt+KeyA".into()
            }
        );
    }

    #[test]
    fn wayland_is_named_as_the_reason_hotkeys_cannot_work() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let reason = unavailable_reason(Some("wayland-0"), Some("wayland")).unwrap();
        assert!(reason.contains("Wayland") && reason.contains("hookflash-app answer"));
        assert!(unavailable_reason(None, Some("wayland")).is_some());
        assert!(unavailable_reason(Some("wayland-0"), None).is_some());
        assert_eq!(unavailable_reason(None, Some("x11")), None);
        assert_eq!(unavailable_reason(Some(""), None), None);
    }

    #[test]
    fn the_command_line_presses_a_hotkey_in_the_running_app() {
        let args =
            |a: &[&str]| from_args(std::iter::once("hookflash-app").chain(a.iter().copied()));
        assert_eq!(args(&["answer"]), Some(Hotkey::Answer));
        assert_eq!(args(&["hang-up"]), Some(Hotkey::HangUp));
        assert_eq!(args(&["mute"]), Some(Hotkey::Mute));
        assert_eq!(args(&["show"]), Some(Hotkey::ShowWindow));
        assert_eq!(args(&[]), None);
        assert_eq!(args(&["--minimized"]), None);
        assert_eq!(args(&["answer", "now"]), None);
        assert_eq!(args(&["dial", "answer"]), None);
    }
}
