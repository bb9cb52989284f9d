//! The one event channel to the window: every `PhoneEvent`, as JSON, on "phone-event".
//! Problems the shell itself meets (engine failed to start, events dropped) travel the same
//! channel as `PhoneEvent::Warning`, so the UI has a single stream to follow.

use hookflash_phone::PhoneEvent;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::{error::RecvError, Receiver};

/// Name of the channel the UI listens to.
pub const CHANNEL: &str = "phone-event";

/// Sends one event to the window.
pub fn emit(app: &AppHandle, event: &PhoneEvent) {
    if let Err(error) = app.emit(CHANNEL, event) {
        tracing::warn!("cannot send an event to the window: {error}");
    }
}

/// Shows a problem in the window's error banner.
pub fn warn(app: &AppHandle, message: impl Into<String>) {
    let message = message.into();
    tracing::warn!("{message}");
    emit(app, &PhoneEvent::Warning { message });
}

/// Whether the main window has the focus (notifications for incoming calls only when not).
fn window_focused(app: &AppHandle) -> bool {
    app.get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false)
}

/// A ringing call's notification button: Answer answers as the window would and brings the
/// window up; Decline refuses the call (603), as the window's Decline.
fn on_call_action(app: &AppHandle, action: crate::notifications::CallAction) {
    use crate::notifications::CallAction;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let session = app.state::<crate::session::Session>();
        let done = match (session.phone().await, action) {
            (Ok(phone), CallAction::Answer(id)) => {
                let answered = phone.answer(id, session.call_options().await).await;
                crate::tray::adapter::show_window(&app);
                answered.map_err(|e| format!("cannot answer call {id}: {e}"))
            }
            (Ok(phone), CallAction::Decline(id)) => phone
                .reject(id, crate::commands::DECLINE_STATUS)
                .await
                .map_err(|e| format!("cannot decline call {id}: {e}")),
            (Err(error), _) => Err(error),
        };
        if let Err(message) = done {
            warn(&app, message);
        }
    });
}

/// Forwards the engine's events to the window until the engine stops; the tray follows them
/// (`tray.rs`), a ringing call opens its ringing window (`ringing.rs`), and some become desktop
/// notifications (`notifications.rs`).
pub fn forward(
    app: AppHandle,
    mut events: Receiver<PhoneEvent>,
) -> tauri::async_runtime::JoinHandle<()> {
    tauri::async_runtime::spawn(async move {
        let mut notifier = crate::notifications::Notifier::default();
        loop {
            match events.recv().await {
                Ok(event) => {
                    emit(&app, &event);
                    crate::tray::adapter::on_event(&app, &event);
                    crate::ringing::adapter::on_event(&app, &event);
                    crate::hotkeys::adapter::on_event(&app, &event);
                    crate::headset::adapter::on_event(&app, &event);
                    notifier.lang = crate::desktop_words::current();
                    if let Some(notice) = notifier.on_event(&event, window_focused(&app)) {
                        let app = app.clone();
                        crate::notifications::show(notice, move |action| on_call_action(&app, action));
                    }
                    if let Some(id) = notifier.stopped_ringing(&event) {
                        crate::notifications::withdraw(id);
                    }
                }
                Err(RecvError::Lagged(missed)) => warn(
                    &app,
                    format!("the window fell behind and missed {missed} phone events; the call list may be stale"),
                ),
                Err(RecvError::Closed) => break,
            }
        }
    })
}
