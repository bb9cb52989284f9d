//! The ringing window: a small always-on-top window per incoming call (name, number, routing
//! reason, Answer / Decline, and Send to voicemail when a voicemail target is configured) that
//! takes no keyboard focus, so whatever the user is typing stays where it is. It opens when a
//! call starts ringing while the main window is not in front of the user (hidden, minimised or
//! not focused: otherwise the window's own incoming card is right there), and closes when the
//! call stops ringing — answered here or elsewhere, declined, forwarded, or given up by the
//! caller. Which windows to open and close, and where, is the plain [`RingingWindows`]
//! (unit-tested); [`adapter`] makes the Tauri windows, which show `ui/` with `?ringing=<id>`
//! (`ui/src/components/RingingWindow.svelte`).

use hookflash_phone::{CallId, CallInfo, CallState, Direction, PhoneEvent};
use std::collections::BTreeMap;

/// The window's size in logical pixels. (Asked for 150 px high, WebKitGTK's window still took
/// 200 under openbox, so the height is what it really takes: stacked windows do not overlap.)
pub const WIDTH: f64 = 340.0;
pub const HEIGHT: f64 = 200.0;
/// Gap to the screen's edge and between stacked windows.
pub const MARGIN: f64 = 12.0;
/// Room for the window manager's title bar above each stacked window but the first.
pub const TITLE_BAR: f64 = 30.0;
/// From one stacked window's top to the next one's.
const STEP: f64 = HEIGHT + TITLE_BAR + MARGIN;
/// Window labels: this prefix and the call id.
pub const LABEL_PREFIX: &str = "ringing-";

/// What to do with the ringing windows.
#[derive(Debug, Clone, PartialEq)]
pub enum RingingAction {
    /// Open a window for `call` in stack position `slot` (0: top right corner, 1: below it...).
    Open {
        label: String,
        call: Box<CallInfo>,
        slot: usize,
    },
    Close {
        label: String,
    },
}

/// The window label of call `id`.
pub fn label(id: CallId) -> String {
    format!("{LABEL_PREFIX}{id}")
}

/// The open ringing windows, by call, with their stack slots.
#[derive(Debug, Default)]
pub struct RingingWindows {
    open: BTreeMap<CallId, usize>,
}

impl RingingWindows {
    /// What `event` does to the ringing windows. `main_attended`: the main window is shown,
    /// not minimised and focused.
    pub fn on_event(&mut self, event: &PhoneEvent, main_attended: bool) -> Vec<RingingAction> {
        match event {
            PhoneEvent::IncomingCall { call }
                if call.direction == Direction::Incoming && call.state == CallState::Ringing =>
            {
                if main_attended || self.open.contains_key(&call.id) {
                    return Vec::new();
                }
                let slot = (0..)
                    .find(|s| !self.open.values().any(|o| o == s))
                    .unwrap_or_default();
                self.open.insert(call.id, slot);
                vec![RingingAction::Open {
                    label: label(call.id),
                    call: Box::new(call.clone()),
                    slot,
                }]
            }
            PhoneEvent::CallUpdated { call } if call.state != CallState::Ringing => {
                self.close(call.id)
            }
            PhoneEvent::CallEnded { call, .. } => self.close(call.id),
            _ => Vec::new(),
        }
    }

    /// The window of call `id` went away by itself (closed by the user): nothing to close later.
    pub fn closed(&mut self, label: &str) {
        if let Some(id) = label
            .strip_prefix(LABEL_PREFIX)
            .and_then(|id| id.parse().ok())
        {
            self.open.remove(&id);
        }
    }

    /// The engine stopped: every ringing window goes.
    pub fn close_all(&mut self) -> Vec<RingingAction> {
        std::mem::take(&mut self.open)
            .into_keys()
            .map(|id| RingingAction::Close { label: label(id) })
            .collect()
    }

    fn close(&mut self, id: CallId) -> Vec<RingingAction> {
        match self.open.remove(&id) {
            Some(_) => vec![RingingAction::Close { label: label(id) }],
            None => Vec::new(),
        }
    }
}

/// Where window `slot` goes on a work area at (`x`, `y`) of `width` × `height` (logical
/// pixels): the top right corner, further ones stacked below, back to the top once the screen is
/// full.
pub fn position(area: (f64, f64, f64, f64), slot: usize) -> (f64, f64) {
    let (x, y, width, height) = area;
    let per_column = (((height - MARGIN - HEIGHT) / STEP).floor() as usize + 1).max(1);
    let row = slot % per_column;
    (
        x + (width - WIDTH - MARGIN).max(0.0),
        y + MARGIN + row as f64 * STEP,
    )
}

/// The window's title: "Incoming call: Bob" (in the window's language).
pub fn title(call: &CallInfo, lang: crate::desktop_words::Lang) -> String {
    crate::desktop_words::Words(lang).incoming_call_title(&crate::tray::party_name(
        call.remote_display_name.as_deref(),
        &call.remote_uri,
    ))
}

/// The Tauri side: opens and closes the windows the decisions ask for.
pub mod adapter {
    use super::*;
    use std::sync::Mutex;
    use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

    /// Tauri-managed: the decisions.
    #[derive(Default)]
    pub struct RingingState(Mutex<RingingWindows>);

    /// Whether the user has the main window in front of them.
    fn main_attended(app: &AppHandle) -> bool {
        let Some(w) = app.get_webview_window("main") else {
            return false;
        };
        let (visible, minimized, focused) = (
            w.is_visible().unwrap_or(false),
            w.is_minimized().unwrap_or(false),
            w.is_focused().unwrap_or(false),
        );
        tracing::info!("a call rings; the main window is visible: {visible}, minimised: {minimized}, focused: {focused}");
        visible && !minimized && focused
    }

    pub fn on_event(app: &AppHandle, event: &PhoneEvent) {
        let attended = matches!(event, PhoneEvent::IncomingCall { .. }) && main_attended(app);
        let actions = app
            .state::<RingingState>()
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .on_event(event, attended);
        perform(app, actions);
    }

    /// The engine stopped.
    pub fn close_all(app: &AppHandle) {
        let actions = app
            .state::<RingingState>()
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .close_all();
        perform(app, actions);
    }

    /// A ringing window was closed by the user (its close button).
    pub fn closed(app: &AppHandle, label: &str) {
        app.state::<RingingState>()
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed(label);
    }

    fn perform(app: &AppHandle, actions: Vec<RingingAction>) {
        for action in actions {
            match action {
                RingingAction::Open { label, call, slot } => {
                    if let Err(error) = open(app, &label, &call, slot) {
                        tracing::warn!("cannot open the ringing window: {error}");
                    }
                }
                RingingAction::Close { label } => {
                    if let Some(window) = app.get_webview_window(&label) {
                        let _ = window.destroy();
                    }
                }
            }
        }
    }

    fn open(app: &AppHandle, label: &str, call: &CallInfo, slot: usize) -> tauri::Result<()> {
        let area = app.primary_monitor()?.map(|m| {
            let scale = m.scale_factor();
            let (pos, size) = (m.work_area().position, m.work_area().size);
            (
                pos.x as f64 / scale,
                pos.y as f64 / scale,
                size.width as f64 / scale,
                size.height as f64 / scale,
            )
        });
        let (x, y) = position(area.unwrap_or((0.0, 0.0, 1024.0, 768.0)), slot);
        let url = WebviewUrl::App(format!("index.html?ringing={}", call.id).into());
        WebviewWindowBuilder::new(app, label, url)
            .title(title(call, crate::desktop_words::current()))
            .inner_size(WIDTH, HEIGHT)
            .position(x, y)
            .resizable(false)
            .always_on_top(true)
            .visible_on_all_workspaces(true)
            .skip_taskbar(true)
            // Never takes the keyboard: what the user types stays in their program.
            .focused(false)
            .focusable(false)
            .build()?;
        tracing::info!("ringing window {label} for call {}", call.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookflash_phone::EndReason;

    fn call(id: CallId, state: CallState) -> CallInfo {
        CallInfo {
            remote_display_name: Some(format!("Caller {id}")),
            routing: Some("queue call (rule 1) from sip:caller@example.com: ring".into()),
            ..CallInfo::new(
                id,
                Direction::Incoming,
                state,
                format!("sip:caller{id}@example.com"),
                "sip:alice@example.com",
                0,
            )
        }
    }

    fn ringing(id: CallId) -> PhoneEvent {
        PhoneEvent::IncomingCall {
            call: call(id, CallState::Ringing),
        }
    }

    fn opened(actions: &[RingingAction]) -> Vec<(String, usize)> {
        actions
            .iter()
            .filter_map(|a| match a {
                RingingAction::Open { label, slot, .. } => Some((label.clone(), *slot)),
                RingingAction::Close { .. } => None,
            })
            .collect()
    }

    fn close(id: CallId) -> Vec<RingingAction> {
        vec![RingingAction::Close { label: label(id) }]
    }

    #[test]
    fn a_call_rings_in_its_own_window_until_answered() {
        let mut w = RingingWindows::default();
        let actions = w.on_event(&ringing(1), false);
        assert_eq!(opened(&actions), [("ringing-1".to_string(), 0)]);
        let RingingAction::Open { call: shown, .. } = &actions[0] else {
            unreachable!()
        };
        assert_eq!(shown.remote_display_name.as_deref(), Some("Caller 1"));
        // The same call again (a duplicate event) opens nothing more.
        assert_eq!(w.on_event(&ringing(1), false), []);
        // Still ringing: stays. Answered (here, or by a rule): goes.
        assert_eq!(
            w.on_event(
                &PhoneEvent::CallUpdated {
                    call: call(1, CallState::Ringing)
                },
                false
            ),
            []
        );
        assert_eq!(
            w.on_event(
                &PhoneEvent::CallUpdated {
                    call: call(1, CallState::Answered)
                },
                false
            ),
            close(1)
        );
        // Its end then closes nothing twice.
        let ended = PhoneEvent::CallEnded {
            call: call(1, CallState::Ended),
            reason: EndReason::LocalHangup,
            message: String::new(),
        };
        assert_eq!(w.on_event(&ended, false), []);
    }

    #[test]
    fn declined_given_up_or_answered_elsewhere_closes_it() {
        let mut w = RingingWindows::default();
        w.on_event(&ringing(2), false);
        w.on_event(&ringing(3), false);
        for (id, reason) in [
            (2, EndReason::Rejected { status: 603 }),
            (3, EndReason::Cancelled),
        ] {
            let ended = PhoneEvent::CallEnded {
                call: call(id, CallState::Ended),
                reason,
                message: String::new(),
            };
            assert_eq!(w.on_event(&ended, false), close(id));
        }
    }

    #[test]
    fn not_while_the_user_looks_at_the_main_window() {
        let mut w = RingingWindows::default();
        assert_eq!(w.on_event(&ringing(4), true), []);
        // It does not pop up later while still ringing either, and its end closes nothing.
        assert_eq!(
            w.on_event(
                &PhoneEvent::CallUpdated {
                    call: call(4, CallState::Ringing)
                },
                false
            ),
            []
        );
        assert_eq!(
            w.on_event(
                &PhoneEvent::CallEnded {
                    call: call(4, CallState::Ended),
                    reason: EndReason::Cancelled,
                    message: String::new()
                },
                false
            ),
            []
        );
        // Auto-answered calls and our own calls never ring here.
        let answered = PhoneEvent::IncomingCall {
            call: call(5, CallState::Answered),
        };
        assert_eq!(w.on_event(&answered, false), []);
        let outgoing = PhoneEvent::IncomingCall {
            call: CallInfo {
                direction: Direction::Outgoing,
                ..call(6, CallState::Ringing)
            },
        };
        assert_eq!(w.on_event(&outgoing, false), []);
    }

    #[test]
    fn two_calls_stack_and_a_freed_slot_is_reused() {
        let mut w = RingingWindows::default();
        assert_eq!(
            opened(&w.on_event(&ringing(1), false)),
            [("ringing-1".into(), 0)]
        );
        assert_eq!(
            opened(&w.on_event(&ringing(2), false)),
            [("ringing-2".into(), 1)]
        );
        w.on_event(
            &PhoneEvent::CallUpdated {
                call: call(1, CallState::Answered),
            },
            false,
        );
        assert_eq!(
            opened(&w.on_event(&ringing(3), false)),
            [("ringing-3".into(), 0)]
        );
        // Closed by the user: forgotten, its slot free again.
        w.closed("ringing-2");
        w.closed("main");
        assert_eq!(
            opened(&w.on_event(&ringing(4), false)),
            [("ringing-4".into(), 1)]
        );
        let mut all = w.close_all();
        all.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        assert_eq!(
            all,
            [
                RingingAction::Close {
                    label: "ringing-3".into()
                },
                RingingAction::Close {
                    label: "ringing-4".into()
                }
            ]
        );
        assert_eq!(w.close_all(), []);
    }

    #[test]
    fn windows_go_to_the_top_right_corner_and_stack_down() {
        let area = (0.0, 0.0, 1100.0, 800.0);
        assert_eq!(position(area, 0), (1100.0 - WIDTH - MARGIN, MARGIN));
        assert_eq!(
            position(area, 1),
            (
                1100.0 - WIDTH - MARGIN,
                MARGIN + HEIGHT + TITLE_BAR + MARGIN
            )
        );
        // A second monitor's work area starts elsewhere.
        assert_eq!(
            position((1920.0, 30.0, 1280.0, 1024.0), 0),
            (1920.0 + 1280.0 - WIDTH - MARGIN, 30.0 + MARGIN)
        );
        // 800 px hold 3 windows; the fourth goes back to the top.
        assert_eq!(
            position(area, 2),
            (
                1100.0 - WIDTH - MARGIN,
                MARGIN + 2.0 * (HEIGHT + TITLE_BAR + MARGIN)
            )
        );
        assert_eq!(position(area, 3), position(area, 0));
        // A screen smaller than the window: at its corner, never off it.
        assert_eq!(position((0.0, 0.0, 200.0, 100.0), 3), (0.0, MARGIN));
    }

    #[test]
    fn the_title_names_the_caller_in_the_window_s_language() {
        use crate::desktop_words::Lang;
        assert_eq!(
            title(&call(7, CallState::Ringing), Lang::En),
            "Incoming call: Caller 7"
        );
        assert_eq!(
            title(&call(7, CallState::Ringing), Lang::De),
            "Eingehender Anruf: Caller 7"
        );
        let unnamed = CallInfo {
            remote_display_name: None,
            ..call(8, CallState::Ringing)
        };
        assert_eq!(
            title(&unnamed, Lang::Es),
            "Llamada entrante: caller8@example.com"
        );
    }
}
