//! `cargo xtask run`: installs what the desktop app needs, builds the UI and the app, and starts
//! it with the given arguments.

use std::process::{Command, Stdio};

use crate::install::{ensure_system_packages, run_packages};
use crate::layout::{cargo, Layout};
use crate::npm;
use crate::shell::Cmd;

/// Options of `cargo xtask run`.
#[derive(Debug, Default, PartialEq)]
pub struct RunOptions {
    pub dry_run: bool,
    /// The optimised build (`--release`).
    pub release: bool,
    /// Passed to the app unchanged.
    pub app_args: Vec<String>,
}

/// Runs `cargo xtask run`; returns the app's exit code.
pub fn run(options: &RunOptions) -> Result<i32, String> {
    let layout = Layout::current();
    let dry = options.dry_run;

    println!("==> system packages");
    ensure_system_packages(&run_packages(), dry)?;

    println!("==> UI (ui/)");
    let ui = layout.ui();
    npm::require_project(&ui, "ui", "the Svelte UI")?;
    npm::ci_if_stale(&ui, "ui", dry)?;
    step(npm::script(&ui, "build", &[]), dry)?;

    println!("==> desktop app");
    step(build_command(&layout, options.release), dry)?;

    let app = if options.release {
        layout.release_bin("hookflash-app")
    } else {
        layout.debug_bin("hookflash-app")
    };
    if dry {
        println!(
            "xtask: dry run, would start: {}",
            Cmd::new(app.display().to_string()).args(options.app_args.clone())
        );
        return Ok(0);
    }
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        eprintln!(
            "xtask: warning: no DISPLAY or WAYLAND_DISPLAY is set, so the window has nowhere to \
             appear; start it from a desktop session (or try `xvfb-run -a cargo xtask run`)"
        );
    }
    println!("==> starting {}", layout.show(&app));
    // The app is interactive: it keeps our stdin/stdout, and its exit code becomes ours.
    let status = Command::new(&app)
        .args(&options.app_args)
        .current_dir(&layout.root)
        .stdin(Stdio::inherit())
        .status()
        .map_err(|e| format!("could not start {}: {e}", app.display()))?;
    Ok(status.code().unwrap_or(1))
}

/// The app's build. Debug: the very command of `cargo xtask test`'s build step
/// (`crate::test::SHARED_BUILD`), so the two share one build: cargo resolves features per
/// command, and `-p hookflash-app` alone (without the workspace's dev-dependencies) would
/// recompile tauri, zbus and their kin with other features. Release: the app alone (nothing else
/// builds a release app).
pub fn build_command(layout: &Layout, release: bool) -> Cmd {
    let cmd = Cmd::new(cargo()).cwd(&layout.root);
    if release {
        cmd.args(["build", "--release", "-p", "hookflash-app"])
    } else {
        cmd.args(crate::test::SHARED_BUILD.iter().copied())
    }
}

fn step(cmd: Cmd, dry_run: bool) -> Result<(), String> {
    if dry_run {
        println!("xtask: dry run, would run:\n  {cmd}");
        Ok(())
    } else {
        cmd.run(None)
    }
}
