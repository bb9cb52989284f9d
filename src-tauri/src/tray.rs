//! The tray icon: what it shows (status dot, missed-calls count, tooltip) and what its menu
//! offers (show/hide the window, hang up the call, do not disturb, presence, recent calls that
//! dial back, quit), and what
//! closing the window and `--minimized` do. The decisions are the plain [`Tray`] (fed the
//! engine's events, its history rows and the window's visibility; unit-tested without a
//! display); [`adapter`] is the Tauri tray that shows its [`TrayView`] and turns menu clicks
//! into [`TrayAction`]s.
//!
//! Linux (libayatana-appindicator) shows neither tooltips nor click events on the icon, so the
//! menu carries the status line and the show/hide item; the missed-calls count is the icon's
//! label there.

use crate::desktop_words::{Lang, Words};
use hookflash_phone::{
    CallId, CallInfo, CallState, Direction, HistoryEntry, PhoneEvent, Presence, RegistrationState,
};
use std::collections::BTreeMap;

/// How many recent calls the menu offers (one per person, newest first).
pub const RECENT_CALLS: usize = 5;
/// How many history rows are read to fill the menu and count missed calls.
pub const HISTORY_ROWS: usize = 50;

/// Menu item ids.
pub const ID_STATUS: &str = "status";
pub const ID_WINDOW: &str = "window";
pub const ID_DND: &str = "dnd";
pub const ID_HANGUP: &str = "hangup";
/// A presence's item: this prefix and the presence (`presence:away`).
pub const ID_PRESENCE: &str = "presence:";
pub const ID_QUIT: &str = "quit";
/// A recent call's item: this prefix and its history row id.
pub const ID_RECENT: &str = "recent:";
/// The command-line flag that starts the app in the tray.
pub const MINIMIZED_FLAG: &str = "--minimized";

/// What the icon's dot says, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// An incoming call rings.
    Ringing,
    /// A call is connected, being dialled or on hold.
    OnCall,
    /// Do not disturb: incoming calls are refused.
    DoNotDisturb,
    /// At least one account is registered.
    Registered,
    /// No account registers (calls by address only).
    DirectOnly,
    /// Accounts register but none is registered (yet, or refused), or no phone runs.
    NotRegistered,
}

impl Status {
    /// The dot's colour (RGBA).
    pub fn colour(self) -> [u8; 4] {
        match self {
            Status::Ringing => [0xf0, 0xa0, 0x20, 0xff],
            Status::OnCall => [0x2f, 0x6f, 0xdf, 0xff],
            Status::DoNotDisturb => [0xd0, 0x3a, 0x2f, 0xff],
            Status::Registered => [0x2e, 0x9d, 0x4a, 0xff],
            Status::DirectOnly | Status::NotRegistered => [0x8a, 0x8f, 0x98, 0xff],
        }
    }
}

/// One recent call in the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentCall {
    /// The menu item's id (`recent:<history row id>`).
    pub id: String,
    /// "↙ Bob", "↗ 2001", "↙ Carol (missed)".
    pub label: String,
}

/// Everything the tray shows; the adapter applies what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub status: Status,
    /// Missed calls since the user last looked at the window.
    pub missed: usize,
    /// The icon's label (the missed count; none when nothing was missed).
    pub title: Option<String>,
    /// "Hookflash: Registered · Do not disturb · 2 missed calls".
    pub tooltip: String,
    /// The menu's first (disabled) line: the tooltip without the app name.
    pub status_line: String,
    /// "Show window" or "Hide window".
    pub window_item: String,
    /// The language of the words (the fixed items are relabelled when it changes).
    pub lang: Lang,
    pub dnd: bool,
    pub presence: Presence,
    /// "Hang up Bob" while a call can be hung up from the menu (None: the item is disabled).
    pub hangup: Option<String>,
    pub recent: Vec<RecentCall>,
}

/// The menu's words for a presence.
pub fn presence_label(p: Presence, words: Words) -> String {
    match p {
        Presence::Available => words.available(),
        Presence::Away => words.away(),
        Presence::Busy => words.busy(),
    }
}

/// What a menu click asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayAction {
    ShowWindow,
    HideWindow,
    SetDnd(bool),
    SetPresence(Presence),
    /// Hang up this call.
    Hangup(CallId),
    /// Call this address back.
    Dial(String),
    Quit,
}

/// What closing the window does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAction {
    /// Hide it; the phone keeps running in the tray.
    HideToTray,
    /// Shut the phone down and quit.
    Quit,
}

/// How the window starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartWindow {
    Show,
    /// Hidden, in the tray.
    Hidden,
    /// `--minimized` without a tray to come back from: minimised, never lost.
    Minimized,
}

/// Closing the window hides it only when the user wants that and a tray shows the icon to get
/// it back (no StatusNotifier host on Linux: the window would be lost, so it quits as before).
pub fn on_close(close_to_tray: bool, tray_shown: bool) -> CloseAction {
    if close_to_tray && tray_shown {
        CloseAction::HideToTray
    } else {
        CloseAction::Quit
    }
}

/// `--minimized` starts in the tray, or minimised when there is no tray.
pub fn at_start(minimized: bool, tray_shown: bool) -> StartWindow {
    match (minimized, tray_shown) {
        (false, _) => StartWindow::Show,
        (true, true) => StartWindow::Hidden,
        (true, false) => StartWindow::Minimized,
    }
}

/// Whether the command line asks to start in the tray.
pub fn minimized_flag<I: IntoIterator<Item = S>, S: AsRef<str>>(args: I) -> bool {
    args.into_iter()
        .skip(1)
        .any(|a| a.as_ref() == MINIMIZED_FLAG)
}

/// How a party is named: display name, else the URI's user@host without scheme or parameters.
pub fn party_name(display_name: Option<&str>, uri: &str) -> String {
    if let Some(name) = display_name.map(str::trim).filter(|n| !n.is_empty()) {
        return name.to_string();
    }
    let bare = uri.trim().trim_start_matches('<').trim_end_matches('>');
    let without_scheme = match bare.split_once(':') {
        Some((scheme, rest))
            if ["sip", "sips", "tel"].contains(&scheme.to_ascii_lowercase().as_str()) =>
        {
            rest
        }
        _ => bare,
    };
    let name = without_scheme.split([';', '?']).next().unwrap_or_default();
    if name.is_empty() {
        uri.to_string()
    } else {
        name.to_string()
    }
}

/// The call "Hang up" ends (the tray's item, the hotkey): the one with the microphone, else the
/// newest one we are dialling. `calls` oldest first.
pub fn call_to_hang_up<'a>(
    calls: impl DoubleEndedIterator<Item = &'a CallInfo> + Clone,
) -> Option<&'a CallInfo> {
    let live = |c: &&CallInfo| c.state != CallState::Ended;
    calls.clone().filter(live).find(|c| c.active).or_else(|| {
        calls
            .rev()
            .filter(live)
            .find(|c| c.direction == Direction::Outgoing && c.state != CallState::Answered)
    })
}

/// The tray's state: the decisions, no Tauri.
#[derive(Debug, Default)]
pub struct Tray {
    /// Whether a phone runs, and whether any of its accounts registers.
    running: bool,
    registers: bool,
    registrations: BTreeMap<String, RegistrationState>,
    calls: BTreeMap<CallId, CallInfo>,
    dnd: bool,
    presence: Presence,
    lang: Lang,
    /// Newest first, as `Phone::history` gives them.
    history: Vec<HistoryEntry>,
    /// Calls missed after this (Unix ms) count; moved on when the user looks at the window.
    seen_at_ms: i64,
    window_visible: bool,
}

impl Tray {
    /// The tray of an app started at `now_ms` (missed calls before it are not counted).
    pub fn new(now_ms: i64, window_visible: bool) -> Tray {
        Tray {
            seen_at_ms: now_ms,
            window_visible,
            ..Tray::default()
        }
    }

    /// A phone started (again: saving the account restarts it); `registers`: whether any of
    /// its accounts registers.
    pub fn engine_started(&mut self, registers: bool) {
        self.running = true;
        self.registers = registers;
        self.registrations.clear();
        self.calls.clear();
    }

    /// The phone stopped (or could not start).
    pub fn engine_stopped(&mut self) {
        self.running = false;
        self.registrations.clear();
        self.calls.clear();
    }

    /// Follows one engine event. True when the tray may have to change.
    pub fn on_event(&mut self, event: &PhoneEvent) -> bool {
        match event {
            PhoneEvent::Registration { aor, state } => {
                self.registrations.insert(aor.clone(), state.clone());
            }
            PhoneEvent::IncomingCall { call } | PhoneEvent::CallUpdated { call } => {
                self.calls.insert(call.id, call.clone());
            }
            PhoneEvent::CallEnded { call, .. } => {
                self.calls.remove(&call.id);
            }
            PhoneEvent::Availability { availability } => {
                self.dnd = availability.dnd;
                self.presence = availability.presence;
            }
            _ => return false,
        }
        true
    }

    /// Do not disturb as set (the answer of `set_availability`, before its event).
    pub fn set_dnd(&mut self, dnd: bool) {
        self.dnd = dnd;
    }

    /// The window's language (the words of the menu and status line).
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
    }

    /// Presence as set (the answer of `set_availability`, before its event).
    pub fn set_presence(&mut self, presence: Presence) {
        self.presence = presence;
    }

    fn call_to_hang_up(&self) -> Option<&CallInfo> {
        call_to_hang_up(self.calls.values())
    }

    /// The latest history rows, newest first.
    pub fn set_history(&mut self, rows: Vec<HistoryEntry>) {
        self.history = rows;
    }

    /// The window was shown or hidden.
    pub fn set_window_visible(&mut self, visible: bool) {
        self.window_visible = visible;
    }

    /// The user looked at the window at `now_ms`: what was missed before is no longer news.
    pub fn seen(&mut self, now_ms: i64) {
        self.seen_at_ms = self.seen_at_ms.max(now_ms);
    }

    pub fn status(&self) -> Status {
        let incoming_ringing =
            |c: &CallInfo| c.direction == Direction::Incoming && c.state == CallState::Ringing;
        if self.calls.values().any(incoming_ringing) {
            Status::Ringing
        } else if self.calls.values().any(|c| c.state != CallState::Ended) {
            Status::OnCall
        } else if self.dnd {
            Status::DoNotDisturb
        } else if self.registered() {
            Status::Registered
        } else if self.running && !self.registers {
            Status::DirectOnly
        } else {
            Status::NotRegistered
        }
    }

    fn registered(&self) -> bool {
        self.running
            && self
                .registrations
                .values()
                .any(|s| matches!(s, RegistrationState::Registered { .. }))
    }

    /// Missed calls since the user last looked.
    pub fn missed(&self) -> usize {
        self.history
            .iter()
            .filter(|row| row.outcome == "missed" && row.ended_at_ms > self.seen_at_ms)
            .count()
    }

    /// Recent calls, one per address, newest first.
    pub fn recent(&self) -> Vec<RecentCall> {
        let mut seen = Vec::new();
        let mut recent = Vec::new();
        for row in &self.history {
            if recent.len() == RECENT_CALLS {
                break;
            }
            if seen.contains(&row.remote_uri) {
                continue;
            }
            seen.push(row.remote_uri.clone());
            let arrow = match row.direction {
                Direction::Incoming => '↙',
                Direction::Outgoing => '↗',
            };
            let name = party_name(row.remote_display_name.as_deref(), &row.remote_uri);
            let label = if row.outcome == "missed" {
                format!("{arrow} {name} ({})", Words(self.lang).missed_mark())
            } else {
                format!("{arrow} {name}")
            };
            recent.push(RecentCall {
                id: format!("{ID_RECENT}{}", row.id),
                label,
            });
        }
        recent
    }

    /// The words of the status: "Registered · On a call with Bob · 2 missed calls".
    fn status_words(&self, missed: usize) -> String {
        let w = Words(self.lang);
        let mut parts = Vec::new();
        parts.push(if !self.running {
            w.not_running()
        } else if self.registered() {
            w.registered()
        } else if !self.registers {
            w.direct_calls_only()
        } else {
            match self.registrations.values().next() {
                Some(RegistrationState::Registering) => w.registering(),
                Some(RegistrationState::Failed {
                    status: Some(status),
                    ..
                }) => w.not_registered(Some(*status)),
                _ => w.not_registered(None),
            }
        });
        let ringing = self
            .calls
            .values()
            .find(|c| c.direction == Direction::Incoming && c.state == CallState::Ringing);
        let connected = self
            .calls
            .values()
            .find(|c| c.active && c.state == CallState::Answered);
        if let Some(call) = ringing {
            parts.push(w.calling(&party_name(
                call.remote_display_name.as_deref(),
                &call.remote_uri,
            )));
        }
        if let Some(call) = connected {
            parts.push(w.on_a_call_with(&party_name(
                call.remote_display_name.as_deref(),
                &call.remote_uri,
            )));
        } else if ringing.is_none() && !self.calls.is_empty() {
            parts.push(w.on_a_call());
        }
        if self.dnd {
            parts.push(w.do_not_disturb());
        }
        if missed > 0 {
            parts.push(w.missed_calls(missed));
        }
        parts.join(" · ")
    }

    /// What the tray shows now.
    pub fn view(&self) -> TrayView {
        let missed = self.missed();
        let status_line = self.status_words(missed);
        TrayView {
            status: self.status(),
            missed,
            title: (missed > 0).then(|| missed.to_string()),
            tooltip: format!("Hookflash: {status_line}"),
            status_line,
            window_item: if self.window_visible {
                Words(self.lang).hide_window()
            } else {
                Words(self.lang).show_window()
            },
            lang: self.lang,
            dnd: self.dnd,
            presence: self.presence,
            hangup: self.call_to_hang_up().map(|c| {
                Words(self.lang)
                    .hang_up_party(&party_name(c.remote_display_name.as_deref(), &c.remote_uri))
            }),
            recent: self.recent(),
        }
    }

    /// What the menu item `id` asks for (`None`: not one of ours, or a row no longer listed).
    pub fn action(&self, id: &str) -> Option<TrayAction> {
        match id {
            ID_WINDOW if self.window_visible => Some(TrayAction::HideWindow),
            ID_WINDOW => Some(TrayAction::ShowWindow),
            ID_DND => Some(TrayAction::SetDnd(!self.dnd)),
            ID_QUIT => Some(TrayAction::Quit),
            ID_HANGUP => self.call_to_hang_up().map(|c| TrayAction::Hangup(c.id)),
            _ if id.starts_with(ID_PRESENCE) => {
                let name = &id[ID_PRESENCE.len()..];
                Presence::ALL
                    .into_iter()
                    .find(|p| p.as_str() == name)
                    .map(TrayAction::SetPresence)
            }
            _ => {
                let row: i64 = id.strip_prefix(ID_RECENT)?.parse().ok()?;
                let row = self.history.iter().find(|r| r.id == row)?;
                Some(TrayAction::Dial(row.remote_uri.clone()))
            }
        }
    }
}

/// The icon with a status dot in its lower right corner (RGBA, `width` × `height`): a filled
/// circle of `colour` with a white rim, so it reads on dark and light panels.
pub fn with_status_dot(rgba: &[u8], width: u32, height: u32, colour: [u8; 4]) -> Vec<u8> {
    let mut out = rgba.to_vec();
    let size = width.min(height) as f32;
    let radius = size * 0.24;
    let rim = (size * 0.06).max(1.0);
    let (cx, cy) = (width as f32 - radius - rim, height as f32 - radius - rim);
    for y in 0..height {
        for x in 0..width {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let d = (dx * dx + dy * dy).sqrt();
            let pixel = if d <= radius {
                colour
            } else if d <= radius + rim {
                [0xff, 0xff, 0xff, 0xff]
            } else {
                continue;
            };
            let at = ((y * width + x) * 4) as usize;
            if let Some(dst) = out.get_mut(at..at + 4) {
                dst.copy_from_slice(&pixel);
            }
        }
    }
    out
}

/// The Tauri tray: builds the icon and menu once, applies each new [`TrayView`], and performs
/// menu clicks.
pub mod adapter {
    use super::*;
    use crate::session::Session;
    use std::sync::Mutex;
    use tauri::image::Image;
    use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
    use tauri::tray::{TrayIcon, TrayIconBuilder};
    use tauri::{AppHandle, Manager, Wry};

    /// The tray's model and, once built, its widgets (Tauri-managed).
    pub struct TrayState {
        model: Mutex<Tray>,
        ui: Mutex<Option<Ui>>,
    }

    struct Ui {
        icon: TrayIcon<Wry>,
        base: (Vec<u8>, u32, u32),
        items: Items,
        shown: Option<TrayView>,
    }

    /// The menu and the items that change.
    struct Items {
        menu: Menu<Wry>,
        status: MenuItem<Wry>,
        window: MenuItem<Wry>,
        hangup: MenuItem<Wry>,
        dnd: CheckMenuItem<Wry>,
        presence: Vec<(Presence, CheckMenuItem<Wry>)>,
        recent: Submenu<Wry>,
    }

    fn now_ms() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    }

    impl TrayState {
        pub fn new(window_visible: bool) -> TrayState {
            TrayState {
                model: Mutex::new(Tray::new(now_ms(), window_visible)),
                ui: Mutex::new(None),
            }
        }

        /// Changes the model, then shows what changed. The widgets are only touched on the main
        /// thread (where Tauri runs tray and menu calls directly), so no lock is ever held while
        /// waiting for it.
        pub fn update(&self, app: &AppHandle, change: impl FnOnce(&mut Tray) -> bool) {
            if !change(&mut self.model.lock().unwrap_or_else(|e| e.into_inner())) {
                return;
            }
            let handle = app.clone();
            let shown = app.run_on_main_thread(move || {
                let state = handle.state::<TrayState>();
                let mut ui = state.ui.lock().unwrap_or_else(|e| e.into_inner());
                let Some(ui) = ui.as_mut() else { return };
                // The model as it is by now (changes made meanwhile included).
                let view = state.model.lock().unwrap_or_else(|e| e.into_inner()).view();
                if ui.shown.as_ref() == Some(&view) {
                    return;
                }
                if let Err(error) = ui.apply(&handle, &view) {
                    tracing::warn!("cannot update the tray icon: {error}");
                }
                ui.shown = Some(view);
            });
            if let Err(error) = shown {
                tracing::warn!("cannot update the tray icon: {error}");
            }
        }
    }

    impl Ui {
        fn apply(&mut self, app: &AppHandle, view: &TrayView) -> tauri::Result<()> {
            // Another language: a new menu (a panel does not see a sub-menu's label change).
            if self.shown.as_ref().is_some_and(|o| o.lang != view.lang) {
                self.items = build_menu(app, view)?;
                self.icon.set_menu(Some(self.items.menu.clone()))?;
                self.shown = None;
            }
            let old = self.shown.as_ref();
            if old.map(|o| o.status) != Some(view.status) {
                let (rgba, w, h) = &self.base;
                let dotted = with_status_dot(rgba, *w, *h, view.status.colour());
                self.icon.set_icon(Some(Image::new_owned(dotted, *w, *h)))?;
            }
            if old.map(|o| &o.title) != Some(&view.title) {
                self.icon.set_title(view.title.as_deref())?;
            }
            let items = &self.items;
            if old.map(|o| &o.tooltip) != Some(&view.tooltip) {
                self.icon.set_tooltip(Some(&view.tooltip))?;
                items.status.set_text(&view.status_line)?;
            }
            items.window.set_text(&view.window_item)?;
            if old.map(|o| &o.hangup) != Some(&view.hangup) {
                items.hangup.set_text(
                    view.hangup
                        .clone()
                        .unwrap_or_else(|| Words(view.lang).hang_up()),
                )?;
                items.hangup.set_enabled(view.hangup.is_some())?;
            }
            items.dnd.set_checked(view.dnd)?;
            for (p, item) in &items.presence {
                item.set_checked(*p == view.presence)?;
            }
            if old.map(|o| &o.recent) != Some(&view.recent) {
                for item in items.recent.items()? {
                    items.recent.remove(&item)?;
                }
                if view.recent.is_empty() {
                    items.recent.append(&MenuItem::with_id(
                        app,
                        "recent-none",
                        Words(view.lang).no_calls_yet(),
                        false,
                        None::<&str>,
                    )?)?;
                }
                for call in &view.recent {
                    items.recent.append(&MenuItem::with_id(
                        app,
                        call.id.as_str(),
                        &call.label,
                        true,
                        None::<&str>,
                    )?)?;
                }
            }
            Ok(())
        }
    }

    /// The menu for `view`, in its language (the recent calls are filled by `apply`).
    fn build_menu(app: &AppHandle, view: &TrayView) -> tauri::Result<Items> {
        let words = Words(view.lang);
        let status = MenuItem::with_id(app, ID_STATUS, &view.status_line, false, None::<&str>)?;
        let window = MenuItem::with_id(app, ID_WINDOW, &view.window_item, true, None::<&str>)?;
        let hangup = MenuItem::with_id(
            app,
            ID_HANGUP,
            view.hangup.clone().unwrap_or_else(|| words.hang_up()),
            view.hangup.is_some(),
            None::<&str>,
        )?;
        let dnd = CheckMenuItem::with_id(
            app,
            ID_DND,
            words.do_not_disturb(),
            true,
            view.dnd,
            None::<&str>,
        )?;
        let presence: Vec<(Presence, CheckMenuItem<Wry>)> = Presence::ALL
            .into_iter()
            .map(|p| {
                let id = format!("{ID_PRESENCE}{}", p.as_str());
                let item = CheckMenuItem::with_id(
                    app,
                    id,
                    presence_label(p, words),
                    true,
                    p == view.presence,
                    None::<&str>,
                )?;
                Ok((p, item))
            })
            .collect::<tauri::Result<_>>()?;
        let presence_menu = Submenu::with_id(app, "presence", words.presence(), true)?;
        for (_, item) in &presence {
            presence_menu.append(item)?;
        }
        let recent = Submenu::with_id(app, "recent", words.recent_calls(), true)?;
        let quit = MenuItem::with_id(app, ID_QUIT, words.quit(), true, None::<&str>)?;
        let separator = PredefinedMenuItem::separator(app)?;
        let separator2 = PredefinedMenuItem::separator(app)?;
        let entries: [&dyn IsMenuItem<Wry>; 9] = [
            &status,
            &separator,
            &window,
            &hangup,
            &dnd,
            &presence_menu,
            &recent,
            &separator2,
            &quit,
        ];
        let menu = Menu::with_items(app, &entries)?;
        Ok(Items {
            menu,
            status,
            window,
            hangup,
            dnd,
            presence,
            recent,
        })
    }

    /// Builds the tray icon and its menu. Failing (no tray support) only logs: the app runs on.
    pub fn install(app: &AppHandle) {
        if let Err(error) = try_install(app) {
            tracing::warn!("no tray icon: {error}");
        }
    }

    fn try_install(app: &AppHandle) -> tauri::Result<()> {
        let state = app.state::<TrayState>();
        let view = state.model.lock().unwrap_or_else(|e| e.into_inner()).view();
        let items = build_menu(app, &view)?;
        let base = app
            .default_window_icon()
            .map(|i| (i.rgba().to_vec(), i.width(), i.height()))
            .unwrap_or_else(|| (vec![0; 32 * 32 * 4], 32, 32));
        let icon = TrayIconBuilder::with_id("hookflash")
            .icon(Image::new_owned(
                with_status_dot(&base.0, base.1, base.2, view.status.colour()),
                base.1,
                base.2,
            ))
            .tooltip(&view.tooltip)
            .menu(&items.menu)
            .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
            .build(app)?;
        let mut ui = Ui {
            icon,
            base,
            items,
            shown: None,
        };
        ui.apply(app, &view)?;
        *state.ui.lock().unwrap_or_else(|e| e.into_inner()) = Some(Ui {
            shown: Some(view),
            ..ui
        });
        Ok(())
    }

    /// Whether a tray shows our icon: on Linux only with a StatusNotifier host (its watcher on
    /// the session bus; GNOME without the AppIndicator extension, a bare X session and CI have
    /// none), elsewhere always.
    pub fn tray_shown() -> bool {
        #[cfg(target_os = "linux")]
        {
            use dbus::blocking::Connection;
            let Ok(bus) = Connection::new_session() else {
                return false;
            };
            let proxy = bus.with_proxy(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                std::time::Duration::from_millis(500),
            );
            let owned: Result<(bool,), _> = proxy.method_call(
                "org.freedesktop.DBus",
                "NameHasOwner",
                ("org.kde.StatusNotifierWatcher",),
            );
            owned.map(|(owned,)| owned).unwrap_or(false)
        }
        #[cfg(not(target_os = "linux"))]
        {
            true
        }
    }

    /// A phone started: what its accounts do and the do-not-disturb and presence in effect; the
    /// history is read again.
    pub fn engine_started(
        app: &AppHandle,
        registers: bool,
        availability: hookflash_phone::Availability,
    ) {
        app.state::<TrayState>().update(app, |tray| {
            tray.engine_started(registers);
            tray.set_dnd(availability.dnd);
            tray.set_presence(availability.presence);
            true
        });
        reload_history(app);
    }

    /// The window's language changed: the menu and status line follow.
    pub fn set_lang(app: &AppHandle, lang: Lang) {
        app.state::<TrayState>().update(app, |tray| {
            tray.set_lang(lang);
            true
        });
    }

    /// The phone could not start.
    pub fn engine_stopped(app: &AppHandle) {
        app.state::<TrayState>().update(app, |tray| {
            tray.engine_stopped();
            true
        });
    }

    /// The engine's event, as the tray sees it; a call's end re-reads the history (recent
    /// calls, missed count).
    pub fn on_event(app: &AppHandle, event: &PhoneEvent) {
        let state = app.state::<TrayState>();
        state.update(app, |tray| tray.on_event(event));
        if matches!(event, PhoneEvent::CallEnded { .. }) {
            reload_history(app);
        }
    }

    /// Reads the latest history rows into the tray (off the event loop).
    pub fn reload_history(app: &AppHandle) {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let Ok(phone) = app.state::<Session>().phone().await else {
                return;
            };
            match tauri::async_runtime::spawn_blocking(move || phone.history(HISTORY_ROWS)).await {
                Ok(Ok(rows)) => app.state::<TrayState>().update(&app, |tray| {
                    tray.set_history(rows);
                    true
                }),
                Ok(Err(error)) => tracing::warn!("tray: cannot read the history: {error}"),
                Err(error) => tracing::warn!("tray: the history task failed: {error}"),
            }
        });
    }

    /// Shows the window (and counts what was missed as seen).
    pub fn show_window(app: &AppHandle) {
        if let Some(window) = app.get_webview_window("main") {
            let _ = window.show();
            let _ = window.unminimize();
            let _ = window.set_focus();
        }
        app.state::<TrayState>().update(app, |tray| {
            tray.set_window_visible(true);
            tray.seen(now_ms());
            true
        });
    }

    /// Hides the window into the tray.
    pub fn hide_window(app: &AppHandle) {
        if let Some(window) = app.get_webview_window("main") {
            let _ = window.hide();
        }
        app.state::<TrayState>().update(app, |tray| {
            tray.set_window_visible(false);
            true
        });
    }

    /// Puts the window away: into the tray where one shows the icon, else minimised.
    pub fn hide_or_minimize(app: &AppHandle) {
        if tray_shown() {
            hide_window(app);
        } else if let Some(window) = app.get_webview_window("main") {
            let _ = window.minimize();
        }
    }

    /// The window got or lost the focus: focused, its missed calls are seen.
    pub fn window_focused(app: &AppHandle, focused: bool) {
        if focused {
            app.state::<TrayState>().update(app, |tray| {
                tray.set_window_visible(true);
                tray.seen(now_ms());
                true
            });
        }
    }

    /// Changes do not disturb or presence as the tray's menu asked, then shows what was set.
    fn change_availability(
        app: &AppHandle,
        change: impl FnOnce(&mut hookflash_phone::Availability) + Send + 'static,
    ) {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let session = app.state::<Session>();
            let mut availability = session.availability().await;
            change(&mut availability);
            let set = session.set_availability(availability).await;
            app.state::<TrayState>().update(&app, |tray| {
                tray.set_dnd(set.dnd);
                tray.set_presence(set.presence);
                true
            });
        });
    }

    fn on_menu(app: &AppHandle, id: &str) {
        let action = app
            .state::<TrayState>()
            .model
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .action(id);
        let Some(action) = action else { return };
        tracing::info!("tray: {action:?}");
        match action {
            TrayAction::ShowWindow => show_window(app),
            TrayAction::HideWindow => hide_window(app),
            TrayAction::Quit => crate::quit(app),
            TrayAction::SetDnd(dnd) => change_availability(app, move |a| a.dnd = dnd),
            TrayAction::SetPresence(presence) => {
                change_availability(app, move |a| a.presence = presence)
            }
            TrayAction::Hangup(id) => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    let hung_up = match app.state::<Session>().phone().await {
                        Ok(phone) => phone.hangup(id).await.map_err(|e| e.to_string()),
                        Err(error) => Err(error),
                    };
                    if let Err(error) = hung_up {
                        crate::events::warn(&app, format!("cannot hang up call {id}: {error}"));
                    }
                });
            }
            TrayAction::Dial(target) => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    let session = app.state::<Session>();
                    let dialled = match session.phone().await {
                        Ok(phone) => phone
                            .dial(&target, session.call_options().await)
                            .await
                            .map_err(|e| e.to_string()),
                        Err(error) => Err(error),
                    };
                    show_window(&app);
                    if let Err(error) = dialled {
                        crate::events::warn(&app, format!("cannot call {target} back: {error}"));
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookflash_phone::{Availability, EndReason, Presence};

    fn call(
        id: CallId,
        name: Option<&str>,
        uri: &str,
        direction: Direction,
        state: CallState,
    ) -> CallInfo {
        CallInfo {
            remote_display_name: name.map(Into::into),
            active: state == CallState::Answered,
            ..CallInfo::new(id, direction, state, uri, "sip:alice@example.com", 0)
        }
    }

    fn row(
        id: i64,
        name: Option<&str>,
        uri: &str,
        direction: Direction,
        outcome: &str,
        ended_at_ms: i64,
    ) -> HistoryEntry {
        HistoryEntry {
            id,
            direction,
            account: "sip:alice@example.com".into(),
            remote_uri: uri.into(),
            remote_display_name: name.map(Into::into),
            started_at_ms: ended_at_ms - 10_000,
            answered_at_ms: None,
            ended_at_ms,
            outcome: outcome.into(),
            sip_status: None,
            codec: None,
            routing: None,
            quality: None,
            end_message: None,
        }
    }

    fn registered(aor: &str) -> PhoneEvent {
        PhoneEvent::Registration {
            aor: aor.into(),
            state: RegistrationState::Registered { expires_in: 3600 },
        }
    }

    #[test]
    fn the_dot_follows_registration_calls_and_dnd() {
        let mut tray = Tray::new(1_000, true);
        assert_eq!(tray.status(), Status::NotRegistered);
        assert_eq!(tray.view().status_line, "Not running");
        tray.engine_started(true);
        tray.on_event(&PhoneEvent::Registration {
            aor: "sip:alice@example.com".into(),
            state: RegistrationState::Registering,
        });
        assert_eq!(
            (tray.status(), tray.view().status_line.as_str()),
            (Status::NotRegistered, "Registering…")
        );
        tray.on_event(&registered("sip:alice@example.com"));
        assert_eq!(tray.status(), Status::Registered);
        assert_eq!(tray.view().tooltip, "Hookflash: Registered");

        // A call rings: the most urgent; answered: on a call with the person.
        let ringing = call(
            1,
            Some("Bob"),
            "sip:bob@example.com",
            Direction::Incoming,
            CallState::Ringing,
        );
        tray.on_event(&PhoneEvent::IncomingCall {
            call: ringing.clone(),
        });
        assert_eq!(tray.status(), Status::Ringing);
        assert_eq!(tray.view().status_line, "Registered · Bob calling");
        tray.on_event(&PhoneEvent::CallUpdated {
            call: call(
                1,
                Some("Bob"),
                "sip:bob@example.com",
                Direction::Incoming,
                CallState::Answered,
            ),
        });
        assert_eq!(tray.status(), Status::OnCall);
        assert_eq!(tray.view().status_line, "Registered · On a call with Bob");

        // DND shows once the call is over (a call outranks it), and in the words meanwhile.
        tray.on_event(&PhoneEvent::Availability {
            availability: Availability {
                presence: Presence::Available,
                dnd: true,
            },
        });
        assert_eq!(tray.status(), Status::OnCall);
        assert_eq!(
            tray.view().status_line,
            "Registered · On a call with Bob · Do not disturb"
        );
        tray.on_event(&PhoneEvent::CallEnded {
            call: ringing,
            reason: EndReason::RemoteHangup,
            message: String::new(),
        });
        assert_eq!(tray.status(), Status::DoNotDisturb);
        assert!(tray.view().dnd);

        // A refused registration names its status; the engine stopping forgets everything.
        tray.on_event(&PhoneEvent::Availability {
            availability: Availability {
                presence: Presence::Away,
                dnd: false,
            },
        });
        tray.on_event(&PhoneEvent::Registration {
            aor: "sip:alice@example.com".into(),
            state: RegistrationState::Failed {
                message: "registration refused (403) by example.com: Forbidden".into(),
                status: Some(403),
            },
        });
        assert_eq!(
            (tray.status(), tray.view().status_line.as_str()),
            (Status::NotRegistered, "Not registered (403)")
        );
        tray.engine_stopped();
        assert_eq!(tray.view().status_line, "Not running");
    }

    #[test]
    fn an_account_that_does_not_register_is_direct_calls_only() {
        let mut tray = Tray::new(0, true);
        tray.engine_started(false);
        assert_eq!(
            (tray.status(), tray.view().status_line.as_str()),
            (Status::DirectOnly, "Direct calls only")
        );
        assert_ne!(Status::DirectOnly.colour(), Status::Registered.colour());
        // An outgoing call being dialled is a call too.
        tray.on_event(&PhoneEvent::CallUpdated {
            call: call(
                3,
                None,
                "sip:2001@pbx",
                Direction::Outgoing,
                CallState::Calling,
            ),
        });
        assert_eq!(
            (tray.status(), tray.view().status_line.as_str()),
            (Status::OnCall, "Direct calls only · On a call")
        );
        // Other events leave the tray alone.
        assert!(!tray.on_event(&PhoneEvent::Dtmf {
            call_id: 3,
            digit: '1'
        }));
    }

    #[test]
    fn missed_calls_count_until_the_user_looks_at_the_window() {
        let mut tray = Tray::new(1_000, false);
        tray.engine_started(true);
        tray.set_history(vec![
            row(
                4,
                None,
                "sip:carol@example.com",
                Direction::Incoming,
                "missed",
                5_000,
            ),
            row(
                3,
                Some("Bob"),
                "sip:bob@example.com",
                Direction::Incoming,
                "missed",
                4_000,
            ),
            row(
                2,
                Some("Bob"),
                "sip:bob@example.com",
                Direction::Outgoing,
                "answered",
                3_000,
            ),
            // Before the app started: not news.
            row(
                1,
                Some("Dana"),
                "sip:dana@example.com",
                Direction::Incoming,
                "missed",
                900,
            ),
        ]);
        let view = tray.view();
        assert_eq!((view.missed, view.title.as_deref()), (2, Some("2")));
        assert!(
            view.status_line.ends_with("2 missed calls"),
            "{}",
            view.status_line
        );
        tray.seen(4_500);
        assert_eq!(
            (tray.missed(), tray.view().status_line.as_str()),
            (1, "Not registered · 1 missed call")
        );
        tray.seen(6_000);
        assert_eq!((tray.view().missed, tray.view().title), (0, None));
        // Looking earlier than before does not bring old calls back.
        tray.seen(2_000);
        assert_eq!(tray.missed(), 0);
    }

    #[test]
    fn recent_calls_one_per_person_newest_first_and_they_dial_back() {
        let mut tray = Tray::new(0, true);
        let mut rows = vec![
            row(
                9,
                None,
                "sip:carol@example.com;transport=tcp",
                Direction::Incoming,
                "missed",
                9_000,
            ),
            row(
                8,
                Some("Bob"),
                "sip:bob@example.com",
                Direction::Outgoing,
                "answered",
                8_000,
            ),
            row(
                7,
                Some("Bob"),
                "sip:bob@example.com",
                Direction::Incoming,
                "missed",
                7_000,
            ),
        ];
        rows.extend((0..6).map(|i| {
            row(
                i,
                None,
                &format!("tel:+4930{i}"),
                Direction::Outgoing,
                "answered",
                1_000 + i,
            )
        }));
        tray.set_history(rows);
        let recent = tray.recent();
        assert_eq!(recent.len(), RECENT_CALLS);
        let labels: Vec<_> = recent.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "↙ carol@example.com (missed)",
                "↗ Bob",
                "↗ +49300",
                "↗ +49301",
                "↗ +49302"
            ]
        );
        assert_eq!(recent[0].id, "recent:9");
        assert_eq!(
            tray.action(&recent[0].id),
            Some(TrayAction::Dial(
                "sip:carol@example.com;transport=tcp".into()
            ))
        );
        assert_eq!(
            tray.action("recent:8"),
            Some(TrayAction::Dial("sip:bob@example.com".into()))
        );
        // A row gone from the history (or garbage) does nothing.
        assert_eq!(tray.action("recent:77"), None);
        assert_eq!(tray.action("recent:x"), None);
        assert_eq!(tray.action("something"), None);
        tray.set_history(Vec::new());
        assert!(tray.view().recent.is_empty());
    }

    #[test]
    fn the_menu_shows_or_hides_the_window_toggles_dnd_and_quits() {
        let mut tray = Tray::new(0, true);
        assert_eq!(tray.view().window_item, "Hide window");
        assert_eq!(tray.action(ID_WINDOW), Some(TrayAction::HideWindow));
        tray.set_window_visible(false);
        assert_eq!(tray.view().window_item, "Show window");
        assert_eq!(tray.action(ID_WINDOW), Some(TrayAction::ShowWindow));
        assert_eq!(tray.action(ID_DND), Some(TrayAction::SetDnd(true)));
        tray.set_dnd(true);
        assert_eq!(tray.action(ID_DND), Some(TrayAction::SetDnd(false)));
        assert_eq!(tray.action(ID_QUIT), Some(TrayAction::Quit));
    }

    #[test]
    fn hang_up_ends_the_active_call_or_the_one_being_dialled_and_presence_is_picked_from_a_list() {
        let mut tray = Tray::new(0, true);
        tray.engine_started(false);
        assert_eq!(tray.view().hangup, None, "no call: nothing to hang up");
        assert_eq!(tray.action(ID_HANGUP), None);
        // Dialling Carol: her call is the one to hang up.
        let carol = call(
            3,
            Some("Carol"),
            "sip:carol@example.com",
            Direction::Outgoing,
            CallState::Ringing,
        );
        tray.on_event(&PhoneEvent::CallUpdated {
            call: carol.clone(),
        });
        assert_eq!(tray.view().hangup.as_deref(), Some("Hang up Carol"));
        assert_eq!(tray.action(ID_HANGUP), Some(TrayAction::Hangup(3)));
        // A connected call with the microphone comes first; a ringing incoming one never.
        let bob = call(
            2,
            None,
            "sip:bob@example.com",
            Direction::Incoming,
            CallState::Answered,
        );
        tray.on_event(&PhoneEvent::CallUpdated { call: bob });
        tray.on_event(&PhoneEvent::IncomingCall {
            call: call(
                4,
                Some("Dave"),
                "sip:dave@example.com",
                Direction::Incoming,
                CallState::Ringing,
            ),
        });
        assert_eq!(
            tray.view().hangup.as_deref(),
            Some("Hang up bob@example.com")
        );
        assert_eq!(tray.action(ID_HANGUP), Some(TrayAction::Hangup(2)));
        tray.on_event(&PhoneEvent::CallEnded {
            call: carol,
            reason: EndReason::LocalHangup,
            message: String::new(),
        });

        // In the window's language.
        tray.set_lang(Lang::De);
        let de = tray.view();
        assert_eq!(de.hangup.as_deref(), Some("bob@example.com auflegen"));
        assert_eq!(de.window_item, "Fenster ausblenden");
        assert_eq!(
            de.status_line,
            "Nur direkte Anrufe · Dave ruft an · Im Gespräch mit bob@example.com"
        );
        assert_eq!(presence_label(Presence::Busy, Words(Lang::Es)), "Ocupado");
        tray.set_lang(Lang::En);

        assert_eq!(tray.view().presence, Presence::Available);
        assert_eq!(
            tray.action("presence:away"),
            Some(TrayAction::SetPresence(Presence::Away))
        );
        assert_eq!(
            tray.action("presence:busy"),
            Some(TrayAction::SetPresence(Presence::Busy))
        );
        assert_eq!(tray.action("presence:asleep"), None);
        tray.on_event(&PhoneEvent::Availability {
            availability: Availability {
                presence: Presence::Busy,
                dnd: false,
            },
        });
        assert_eq!(tray.view().presence, Presence::Busy);
        tray.set_presence(Presence::Away);
        assert_eq!(tray.view().presence, Presence::Away);
    }

    #[test]
    fn closing_hides_only_into_a_tray_that_is_there() {
        assert_eq!(on_close(true, true), CloseAction::HideToTray);
        assert_eq!(on_close(true, false), CloseAction::Quit);
        assert_eq!(on_close(false, true), CloseAction::Quit);
        assert_eq!(at_start(false, true), StartWindow::Show);
        assert_eq!(at_start(true, true), StartWindow::Hidden);
        assert_eq!(at_start(true, false), StartWindow::Minimized);
        assert!(minimized_flag(["hookflash-app", "--minimized"]));
        assert!(minimized_flag(["hookflash-app", "tel:123", "--minimized"]));
        // The program's own name is not a flag.
        assert!(!minimized_flag(["--minimized"]));
        assert!(!minimized_flag(["hookflash-app", "dial", "123"]));
    }

    #[test]
    fn party_names() {
        assert_eq!(party_name(Some(" Bob "), "sip:bob@h"), "Bob");
        assert_eq!(
            party_name(Some(""), "<sips:2001@pbx.example.com;transport=tls>"),
            "2001@pbx.example.com"
        );
        assert_eq!(party_name(None, "tel:+4930123"), "+4930123");
        assert_eq!(party_name(None, "sip:"), "sip:");
    }

    #[test]
    fn the_status_dot_is_drawn_in_the_lower_right_corner() {
        let (w, h) = (32u32, 32u32);
        let clear = vec![0u8; (w * h * 4) as usize];
        let red = [0xd0, 0x3a, 0x2f, 0xff];
        let dotted = with_status_dot(&clear, w, h, red);
        let at =
            |x: u32, y: u32| &dotted[((y * w + x) * 4) as usize..((y * w + x) * 4 + 4) as usize];
        assert_eq!(at(0, 0), [0, 0, 0, 0], "the icon's top left stays");
        assert_eq!(at(8, 24), [0, 0, 0, 0], "the lower left stays");
        assert_eq!(at(23, 23), red, "the dot's middle");
        // The rim is white, between the dot and the icon.
        let rim = (0..w)
            .map(|x| at(x, 23))
            .find(|p| *p == [0xff, 0xff, 0xff, 0xff]);
        assert!(rim.is_some());
        assert_eq!(dotted.len(), clear.len());
        // A short buffer (a broken icon) is drawn where it can be, never out of bounds.
        assert_eq!(with_status_dot(&[0; 16], w, h, red).len(), 16);
    }
}
