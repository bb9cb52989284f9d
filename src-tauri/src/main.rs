//! Hookflash desktop app: a thin Tauri 2 shell around `hookflash-phone`.
//! The window (ui/) sends intents as commands (`commands.rs`) and follows one event
//! channel (`events.rs`); the engine's lifecycle lives in `session.rs`, settings in `config.rs`.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod audio_settings;
mod commands;
mod config;
mod events;
mod notifications;
mod session;
#[cfg(test)]
mod ts_types;

use session::Session;
use tauri::{Manager, RunEvent, WindowEvent};

fn main() {
    tracing_subscriber::fmt()
        // RUST_LOG or info; whole SIP messages (with their Authorization headers) only when
        // a directive names rsipstack.
        .with_env_filter(tracing_subscriber::EnvFilter::new(hookflash_phone::log_directives(
            std::env::var("RUST_LOG").ok().as_deref(),
            "info",
        )))
        .with_writer(std::io::stderr)
        .init();

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second launch focuses the running window instead of starting a second phone.
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }))
        .manage(Session::from_disk())
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
        ])
        .setup(|app| {
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<Session>().start_loaded(&handle).await;
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                // Un-REGISTER and hang up before the window goes away.
                api.prevent_close();
                let app = window.app_handle().clone();
                tauri::async_runtime::spawn(async move {
                    app.state::<Session>().stop().await;
                    app.exit(0);
                });
            }
        })
        .build(tauri::generate_context!("../tauri.conf.json"))
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
