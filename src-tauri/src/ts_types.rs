//! The window's side of the shell's commands, checked against the Rust side:
//!
//! - `ui/src/lib/shell.ts` is generated from the shell's own types (what `account`,
//!   `save_account`, `save_routing` and `audio_devices` take and return) and from the list of
//!   registered commands (`Command`, the names `ui/src/lib/phone.ts` may invoke); the engine's
//!   types it refers to come from `ui/src/lib/engine.ts` (crates/phone/src/ts_types.rs).
//!   `HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-app ts_types` rewrites it.
//! - every command `phone.ts` invokes is registered in `main.rs`'s `generate_handler!`, and every
//!   registered one is invoked there;
//! - each `invoke` passes the arguments its `#[tauri::command]` function takes, by their camelCase
//!   names (Tauri's default), leaving out only `Option` ones.

use crate::audio_settings::{DeviceView, DevicesView};
use crate::commands::RoutingRejected;
use crate::config::AccountForm;
use crate::hotkeys::{Hotkey, HotkeyProblem, HotkeyProblemKind, HotkeyRefusal, Hotkeys};
use crate::links::{LinkCall, LinkRequest};
use crate::session::AccountView;
use crate::updates::UpdateStatus;
use crate::window_settings::{SettingsError, WindowSettings, WindowSettingsView};
use hookflash_phone::ts_types::{engine_types, TsFile};
use std::path::{Path, PathBuf};

const REGENERATE: &str = "HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-app ts_types";

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The command names in `main.rs`'s `tauri::generate_handler![...]`, in order (the function
/// name, which is the name the window invokes).
fn registered_commands(main_rs: &str) -> Vec<String> {
    let start = main_rs
        .find("generate_handler![")
        .expect("main.rs registers its commands with generate_handler!")
        + "generate_handler![".len();
    let end = start
        + main_rs[start..]
            .find(']')
            .expect("generate_handler![...] is closed");
    main_rs[start..end]
        .split(',')
        .map(|path| path.trim())
        .filter(|path| !path.is_empty())
        .map(|path| path.rsplit("::").next().unwrap_or(path).to_string())
        .collect()
}

/// The names `phone.ts` passes to `invoke(...)`, each as the string literal it must be; an
/// `invoke` with anything but a literal first argument is reported as `<not a literal: ...>`.
fn invoked_commands(phone_ts: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in phone_ts.match_indices("invoke(") {
        // Skip identifiers ending in `invoke` (`tauriInvoke(`) and the wrapper's own definition.
        let before = phone_ts[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &phone_ts[at + "invoke(".len()..];
        let quote = rest.chars().next();
        match quote {
            Some(q @ ('\'' | '"')) => {
                let body = &rest[1..];
                let end = body.find(q).expect("the command name's string ends");
                names.push(body[..end].to_string());
            }
            _ => names.push(format!(
                "<not a literal: {}>",
                rest.chars().take(30).collect::<String>()
            )),
        }
    }
    names
}

/// The argument names each `invoke('name', { a, b: ... })` in `phone.ts` passes (empty without an
/// argument object); arguments that are not an object literal are reported as `<not an object: ...>`.
fn invoked_arguments(phone_ts: &str) -> Vec<(String, Vec<String>)> {
    let mut calls = Vec::new();
    for (at, _) in phone_ts.match_indices("invoke('") {
        if phone_ts[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &phone_ts[at + "invoke('".len()..];
        let end = rest.find('\'').expect("the command name's string ends");
        let name = rest[..end].to_string();
        let after = rest[end + 1..].trim_start();
        let keys = if after.starts_with(')') {
            Vec::new()
        } else if let Some(args) = after
            .strip_prefix(',')
            .map(str::trim_start)
            .and_then(|a| a.strip_prefix('{'))
        {
            let mut depth = 0usize;
            let close = args
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' | '(' | '[' => depth += 1,
                        '}' | ')' | ']' if depth == 0 => return true,
                        '}' | ')' | ']' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .map(|(i, _)| i)
                .expect("the argument object is closed");
            split_top_level(&args[..close])
                .into_iter()
                .map(|field| field.split(':').next().unwrap_or("").trim().to_string())
                .collect()
        } else {
            vec![format!(
                "<not an object: {}>",
                after.chars().take(30).collect::<String>()
            )]
        };
        calls.push((name, keys));
    }
    calls
}

/// Splits at the commas outside brackets, dropping empty parts.
fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut().expect("never empty").push(c);
    }
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// One `#[tauri::command]` function's arguments as the window names them: camelCase (Tauri's
/// default), and whether each may be left out (`Option<...>`). `State`, `AppHandle` and other
/// arguments Tauri supplies itself are left out.
fn command_arguments(rust: &str) -> Vec<(String, Vec<(String, bool)>)> {
    let mut commands = Vec::new();
    for (at, _) in rust.match_indices("#[tauri::command]") {
        let rest = &rust[at..];
        let fn_at = rest.find("fn ").expect("a command is a function") + "fn ".len();
        let open = fn_at
            + rest[fn_at..]
                .find('(')
                .expect("the function has parameters");
        let name = rest[fn_at..open].trim().to_string();
        let params = &rest[open + 1..];
        let mut depth = 0i32;
        let close = params
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => return true,
                    ')' => depth -= 1,
                    _ => {}
                }
                false
            })
            .map(|(i, _)| i)
            .expect("the parameter list is closed");
        let args = split_top_level(&params[..close])
            .into_iter()
            .filter_map(|param| {
                let (arg, ty) = param.split_once(':')?;
                let ty = ty.trim();
                // By the type's name, not its prefix: `WindowSettings` is the window's to pass.
                let generic = ty.split('<').next().unwrap_or(ty).trim();
                let base = generic.rsplit("::").next().unwrap_or(generic);
                let supplied_by_tauri =
                    ["State", "AppHandle", "Window", "Webview", "WebviewWindow"].contains(&base);
                (!supplied_by_tauri).then(|| (camel_case(arg.trim()), ty.starts_with("Option<")))
            })
            .collect();
        commands.push((name, args));
    }
    commands
}

fn camel_case(snake: &str) -> String {
    let mut out = String::new();
    for (i, part) in snake.split('_').enumerate() {
        let mut chars = part.chars();
        match chars.next() {
            Some(first) if i > 0 => out.extend(first.to_uppercase().chain(chars)),
            Some(first) => out.extend(std::iter::once(first).chain(chars)),
            None => {}
        }
    }
    out
}

/// The commands of every shell source file.
fn shell_commands() -> Vec<(String, Vec<(String, bool)>)> {
    let dir = repo_file("src-tauri/src");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "rs") && !path.ends_with("ts_types.rs")
        })
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|path| command_arguments(&std::fs::read_to_string(path).expect("a source file")))
        .collect()
}

fn shell_types(commands: &[String]) -> TsFile {
    let mut file = TsFile::new(
        "// Generated by src-tauri/src/ts_types.rs from the desktop shell's Rust types (src-tauri/src/: session.rs,\n\
         // config.rs, commands.rs, audio_settings.rs, links.rs, hotkeys.rs, window_settings.rs, updates.rs) and from the commands main.rs registers; the engine's types\n\
         // come from ./engine. Do not edit: change the Rust side, then run\n\
         // `HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-app ts_types` and commit this file.",
    );
    let union = commands
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(" | ");
    file.add_alias("Command", &union)
        .add::<AccountView>()
        .add::<AccountForm>()
        .add::<RoutingRejected>()
        .add::<DeviceView>()
        .add::<DevicesView>()
        .add::<LinkCall>()
        .add::<LinkRequest>()
        .add::<Hotkey>()
        .add::<Hotkeys>()
        .add::<HotkeyProblemKind>()
        .add::<HotkeyProblem>()
        .add::<HotkeyRefusal>()
        .add::<WindowSettings>()
        .add::<WindowSettingsView>()
        .add::<SettingsError>()
        .add::<UpdateStatus>();
    file.import_from("./engine", &engine_types());
    file
}

#[test]
fn the_shell_types_are_generated_from_the_rust_ones() {
    let commands = registered_commands(&read("src-tauri/src/main.rs"));
    shell_types(&commands).check_or_write(&repo_file("ui/src/lib/shell.ts"), REGENERATE);
}

#[test]
fn the_window_invokes_exactly_the_registered_commands() {
    let registered = registered_commands(&read("src-tauri/src/main.rs"));
    let invoked = invoked_commands(&read("ui/src/lib/phone.ts"));
    // Guards against the parsers silently finding nothing.
    assert!(
        registered.len() >= 20,
        "registered commands: {registered:?}"
    );
    assert!(invoked.len() >= 20, "invoked commands: {invoked:?}");
    let unknown: Vec<_> = invoked.iter().filter(|c| !registered.contains(c)).collect();
    assert!(
        unknown.is_empty(),
        "ui/src/lib/phone.ts invokes commands main.rs does not register: {unknown:?}"
    );
    let unused: Vec<_> = registered.iter().filter(|c| !invoked.contains(c)).collect();
    assert!(
        unused.is_empty(),
        "main.rs registers commands ui/src/lib/phone.ts never invokes (add them to phone.ts or drop them): {unused:?}"
    );
}

#[test]
fn the_window_passes_the_arguments_each_command_takes() {
    let commands = shell_commands();
    assert!(
        commands.len() >= 20,
        "commands found in src-tauri/src: {commands:?}"
    );
    let mut wrong = Vec::new();
    for (name, keys) in invoked_arguments(&read("ui/src/lib/phone.ts")) {
        let Some((_, args)) = commands.iter().find(|(c, _)| *c == name) else {
            wrong.push(format!(
                "{name}: no #[tauri::command] fn {name} in src-tauri/src"
            ));
            continue;
        };
        for key in &keys {
            if !args.iter().any(|(arg, _)| arg == key) {
                wrong.push(format!(
                    "{name}: passes `{key}`, which it does not take (it takes {args:?})"
                ));
            }
        }
        for (arg, optional) in args {
            if !optional && !keys.contains(arg) {
                wrong.push(format!("{name}: leaves out `{arg}`"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "ui/src/lib/phone.ts and the shell's commands disagree:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn argument_parsers_read_both_sides() {
    let phone_ts = "a: () => invoke('register'),\n  b: (t, c) => invoke('dial', { target: t.trim(), callerId: c ?? null }),\n  \
                    c: (id) => invoke('hangup', { id }),\n  d: (x) => invoke('save', x),";
    let invoked = invoked_arguments(phone_ts);
    assert_eq!(invoked[0], ("register".to_string(), vec![]));
    assert_eq!(
        invoked[1],
        (
            "dial".to_string(),
            vec!["target".to_string(), "callerId".to_string()]
        )
    );
    assert_eq!(invoked[2], ("hangup".to_string(), vec!["id".to_string()]));
    assert!(invoked[3].1[0].starts_with("<not an object"), "{invoked:?}");
    let rust = "#[tauri::command]\npub async fn dial(\n    session: State<'_, Session>,\n    target: String,\n    caller_id: Option<String>,\n) -> Reply<CallId> {}\n\
                #[tauri::command]\npub async fn save_account(app: AppHandle, account: AccountForm, password: Option<String>) -> Reply<()> {}";
    let commands = command_arguments(rust);
    assert_eq!(
        commands[0],
        (
            "dial".to_string(),
            vec![
                ("target".to_string(), false),
                ("callerId".to_string(), true)
            ]
        )
    );
    assert_eq!(
        commands[1].1,
        vec![
            ("account".to_string(), false),
            ("password".to_string(), true)
        ]
    );
    // A type whose name only begins like one Tauri supplies is the window's to pass.
    let rust = "#[tauri::command]\n\
                pub async fn save(window: tauri::Window, w: Window, settings: WindowSettings) {}";
    assert_eq!(
        command_arguments(rust)[0].1,
        vec![("settings".to_string(), false)]
    );
}

#[test]
fn the_window_listens_on_the_shell_event_channel() {
    let phone_ts = read("ui/src/lib/phone.ts");
    let expected = format!("EVENT_CHANNEL = '{}'", crate::events::CHANNEL);
    assert!(
        phone_ts.contains(&expected),
        "ui/src/lib/phone.ts should say `{expected}`"
    );
    let expected = format!("LINK_CHANNEL = '{}'", crate::links::CHANNEL);
    assert!(
        phone_ts.contains(&expected),
        "ui/src/lib/phone.ts should say `{expected}`"
    );
}

#[test]
fn command_parsers_read_names_and_catch_what_they_cannot_check() {
    let main_rs = "x.invoke_handler(tauri::generate_handler![\n  commands::dial,\n  audio_settings::audio_devices,\n])";
    assert_eq!(registered_commands(main_rs), ["dial", "audio_devices"]);
    let phone_ts = "const invoke = (c: Command) => tauriInvoke(c);\n\
                    dial: () => invoke('dial', { target }),\n  x: () => invoke(\"hang_up\"),\n  y: () => invoke(name),";
    let invoked = invoked_commands(phone_ts);
    assert_eq!(invoked[..2], ["dial", "hang_up"]);
    assert!(invoked[2].starts_with("<not a literal"), "{invoked:?}");
}
