//! Hookflash desktop app: a thin Tauri 2 shell around `hookflash-phone`.
//! The window (ui/) sends intents as commands (`commands.rs`) and follows one event
//! channel (`events.rs`); the engine's lifecycle lives in `session.rs`, settings in `config.rs`.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod audio_settings;
mod commands;
mod config;
mod desktop_words;
mod events;
mod headset;
mod hotkeys;
mod links;
mod notifications;
mod ringing;
mod session;
mod tray;
#[cfg(test)]
mod ts_types;
mod updates;
mod window_settings;

use links::{LinkInbox, LinkRequest};
use session::Session;
use tauri::{AppHandle, Emitter, Manager, RunEvent, WindowEvent};
use tray::{CloseAction, StartWindow};
use window_settings::WindowSettingsState;

/// Shows and focuses the window (a second start, a link, the tray).
fn bring_forward(app: &AppHandle) {
    tray::adapter::show_window(app);
}

/// Un-REGISTERs and hangs up, then quits (the window's close, the tray's Quit).
pub fn quit(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        ringing::adapter::close_all(&app);
        app.state::<Session>().stop().await;
        app.exit(0);
    });
}

/// The main window at start: shown, or with `--minimized` hidden in the tray (minimised when
/// there is no tray to come back from). It is created hidden (tauri.conf.json) so it never
/// flashes up first.
fn show_at_start(app: &AppHandle) {
    let minimized = tray::minimized_flag(std::env::args());
    let start = tray::at_start(minimized, minimized && tray::adapter::tray_shown());
    tracing::info!("window at start: {start:?}");
    match start {
        StartWindow::Show => tray::adapter::show_window(app),
        StartWindow::Hidden => tray::adapter::hide_window(app),
        StartWindow::Minimized => {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.show();
                let _ = window.minimize();
            }
        }
    }
}

/// Says "ready to dial" in the log once both the main window's page has loaded and the engine
/// runs, whichever comes last (the desktop bench times start-up to this line).
#[derive(Default)]
struct Readiness(std::sync::atomic::AtomicU8);

const PAGE_LOADED: u8 = 1;
const ENGINE_UP: u8 = 2;

fn ready_part(app: &AppHandle, part: u8) {
    let before = app
        .state::<Readiness>()
        .0
        .fetch_or(part, std::sync::atomic::Ordering::SeqCst);
    if before != PAGE_LOADED | ENGINE_UP && before | part == PAGE_LOADED | ENGINE_UP {
        tracing::info!("ready to dial");
    }
}

/// Hands a link to the window (which asks before dialling) and brings the window forward.
fn deliver_link(app: &AppHandle, request: LinkRequest) {
    tracing::info!("link: {request:?}");
    app.state::<LinkInbox>().push(request);
    if let Err(error) = app.emit(links::CHANNEL, ()) {
        tracing::warn!("cannot tell the window about a link: {error}");
    }
    bring_forward(app);
}

/// Links opened while the app runs: on macOS they come as events, not as a second start.
/// Installed builds (not debug ones, which would take the developer's tel: links) also register
/// the schemes at run time where the desktop allows it (Linux, Windows): an unpacked or AppImage
/// copy has no installer to do it.
fn register_link_schemes(app: &AppHandle) {
    use tauri_plugin_deep_link::DeepLinkExt;
    #[cfg(target_os = "macos")]
    {
        let handle = app.clone();
        app.deep_link().on_open_url(move |event| {
            for url in event.urls() {
                deliver_link(&handle, links::parse_link(url.as_str()).into());
            }
        });
    }
    #[cfg(any(target_os = "linux", windows))]
    if !cfg!(debug_assertions) {
        if let Err(error) = app.deep_link().register_all() {
            tracing::warn!("cannot register Hookflash for tel: and sip: links: {error}");
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        // RUST_LOG or info; whole SIP messages (with their Authorization headers) only when
        // a directive names rsipstack.
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            hookflash_phone::log_directives(std::env::var("RUST_LOG").ok().as_deref(), "info"),
        ))
        .with_writer(std::io::stderr)
        .init();

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            // A second launch focuses the running window instead of starting a second phone;
            // its command line may carry a link (`hookflash-app tel:…`, `hookflash-app dial …`).
            // Read here rather than through the single-instance `deep-link` feature so that a
            // link of an unknown scheme or `dial` gets its sentence too.
            if let Some(hotkey) = hotkeys::from_args(&args) {
                return hotkeys::adapter::press(app, hotkey);
            }
            match links::from_args(&args) {
                Some(request) => deliver_link(app, request),
                None => bring_forward(app),
            }
        }))
        // Registers tel:, sip:, sips:, callto: (tauri.conf.json `plugins.deep-link`); on macOS the
        // links arrive through it, elsewhere as a command line (above, and at first start below).
        .plugin(tauri_plugin_deep_link::init())
        // The desktop's "start at login" entry starts the phone in the tray.
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .app_name("hookflash")
                .arg(tray::MINIMIZED_FLAG)
                .build(),
        )
        // Size, position and maximised, of the main window only (ringing windows have their
        // place); whether it shows at start is `--minimized`'s and the tray's.
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(window_settings::KEPT_STATE)
                .with_filter(|label| label == "main")
                .build(),
        )
        // Updates (src/updates.rs): off unless the settings switch them on.
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(hotkeys::adapter::HotkeyState::default())
        .manage(Readiness::default())
        .on_page_load(|webview, payload| {
            if webview.label() == "main"
                && matches!(payload.event(), tauri::webview::PageLoadEvent::Finished)
            {
                ready_part(webview.app_handle(), PAGE_LOADED);
            }
        })
        .manage(Session::from_disk())
        .manage(LinkInbox::default())
        .manage(tray::adapter::TrayState::new(false))
        .manage(ringing::adapter::RingingState::default())
        .manage(WindowSettingsState::from_disk(config::profile_path(
            std::env::var(config::ENV_PROFILE).ok(),
            config::os_config_dir(),
        )))
        .invoke_handler(tauri::generate_handler![
            commands::register,
            commands::dial,
            commands::answer,
            commands::decline,
            commands::hangup,
            commands::park_call,
            commands::park_on_orbit,
            commands::transfer_call,
            commands::consult_call,
            commands::complete_transfer,
            commands::answer_transfer_request,
            commands::conference_calls,
            commands::conference_mute,
            commands::leave_conference,
            commands::hand_conference,
            commands::set_language,
            commands::retrieve_from_orbit,
            commands::park_slots,
            commands::send_to_voicemail,
            commands::switch_call,
            commands::send_dtmf,
            commands::set_mute,
            commands::calls,
            commands::history,
            commands::account,
            commands::routing,
            commands::save_routing,
            commands::voice_processing,
            commands::save_voice_processing,
            commands::availability,
            commands::set_availability,
            audio_settings::audio_devices,
            audio_settings::audio_settings,
            audio_settings::save_audio_settings,
            commands::save_account,
            commands::take_links,
            commands::link_settings,
            commands::save_link_settings,
            window_settings::window_settings,
            window_settings::save_window_settings,
            window_settings::set_start_at_login,
            updates::adapter::update_status,
            updates::adapter::check_for_updates,
            updates::adapter::install_update,
            updates::adapter::restart_after_update,
        ])
        .setup(|app| {
            if let Some(request) = links::from_args(std::env::args()) {
                // The window takes it once it is up (`take_links`).
                app.state::<LinkInbox>().push(request);
            }
            register_link_schemes(app.handle());
            tray::adapter::install(app.handle());
            window_settings::apply_hotkeys(app.handle());
            headset::adapter::install(app.handle());
            let updates_on = app.state::<WindowSettingsState>().get().check_for_updates;
            app.manage(updates::adapter::UpdateState::new(updates_on));
            updates::adapter::install_timer(app.handle());
            show_at_start(app.handle());
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<Session>().start_loaded(&handle).await;
                ready_part(&handle, ENGINE_UP);
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            let app = window.app_handle();
            match event {
                WindowEvent::CloseRequested { api, .. } if window.label() == "main" => {
                    // Into the tray, or un-REGISTER and hang up before the window goes away.
                    api.prevent_close();
                    let close_to_tray = app.state::<WindowSettingsState>().get().close_to_tray;
                    let tray_shown = close_to_tray && tray::adapter::tray_shown();
                    match tray::on_close(close_to_tray, tray_shown) {
                        CloseAction::HideToTray => {
                            window_settings::keep_window_state(app);
                            tray::adapter::hide_window(app)
                        }
                        CloseAction::Quit => quit(app),
                    }
                }
                WindowEvent::Focused(focused) if window.label() == "main" => {
                    tray::adapter::window_focused(app, *focused);
                }
                WindowEvent::Destroyed if window.label().starts_with(ringing::LABEL_PREFIX) => {
                    ringing::adapter::closed(app, window.label());
                }
                _ => {}
            }
        })
        .build(tauri::generate_context!())
        .unwrap_or_else(|error| {
            eprintln!("Hookflash could not start its window: {error}");
            std::process::exit(1);
        });

    app.run(|app, event| {
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            // Last window closed through another path: still shut the phone down cleanly.
            api.prevent_exit();
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                app.state::<Session>().stop().await;
                app.exit(0);
            });
        }
    });
}
