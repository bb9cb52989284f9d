//! `cargo xtask bundle`: the desktop app's Linux installers, a .deb and an .rpm, made by the Tauri
//! CLI (`@tauri-apps/cli`, pinned in ui/package.json) from `src-tauri/tauri.conf.json`: the
//! binary, its icons and a .desktop entry (`src-tauri/linux/hookflash.desktop`) that registers
//! `tel:`, `sip:`, `sips:` and `callto:` and passes the link on (`%u`). It bundles the app the
//! shared debug build made (what `cargo xtask test` installs and starts once, the `package`
//! step), or the optimised one with `--release`. No AppImage here: the bundler downloads its
//! tool (linuxdeploy) from GitHub, which these machines cannot reach. macOS (.app, .dmg) and
//! Windows (.msi, NSIS) bundles come from the same configuration on those systems
//! (`.github/workflows/desktop-bundles.yml`).

use std::path::PathBuf;

use crate::install::{ensure_system_packages, run_packages};
use crate::layout::Layout;
use crate::npm;
use crate::shell::Cmd;

/// Options of `cargo xtask bundle`.
#[derive(Debug, Default, PartialEq)]
pub struct BundleOptions {
    pub dry_run: bool,
    pub release: bool,
}

/// The bundles made on Linux.
pub const LINUX_BUNDLES: &str = "deb,rpm";

/// The Tauri CLI as ui/ installs it.
fn tauri_cli(layout: &Layout) -> PathBuf {
    layout
        .ui()
        .join("node_modules")
        .join(".bin")
        .join(if cfg!(windows) { "tauri.cmd" } else { "tauri" })
}

/// `tauri bundle` of the app already built (debug unless `release`), run in src-tauri/.
pub fn bundle_command(layout: &Layout, release: bool) -> Cmd {
    let mut cmd = Cmd::new(tauri_cli(layout).display().to_string()).args([
        "bundle",
        "--bundles",
        LINUX_BUNDLES,
    ]);
    if !release {
        cmd = cmd.arg("--debug");
    }
    cmd.cwd(layout.root.join("src-tauri"))
}

/// Where the .deb goes.
pub fn deb_dir(layout: &Layout, release: bool) -> PathBuf {
    layout
        .target
        .join(if release { "release" } else { "debug" })
        .join("bundle")
        .join("deb")
}

/// Runs `cargo xtask bundle`; returns the exit code.
pub fn bundle(options: &BundleOptions) -> Result<i32, String> {
    let layout = Layout::current();
    let dry = options.dry_run;
    if !cfg!(target_os = "linux") {
        return Err("`cargo xtask bundle` makes the Linux packages; on macOS and Windows run `npx tauri build` in src-tauri/ (see .github/workflows/desktop-bundles.yml)".into());
    }
    println!("==> system packages");
    ensure_system_packages(&run_packages(), dry)?;
    println!("==> UI (ui/), with the Tauri CLI");
    let ui = layout.ui();
    npm::require_project(&ui, "ui", "the Svelte UI")?;
    npm::ci_if_stale(&ui, "ui", dry)?;
    let steps = [
        npm::script(&ui, "build", &[]),
        crate::run::build_command(&layout, options.release),
        bundle_command(&layout, options.release),
    ];
    for cmd in steps {
        if dry {
            println!("xtask: dry run, would run:\n  {cmd}");
        } else {
            cmd.run(None)?;
        }
    }
    if !dry {
        let profile = if options.release { "release" } else { "debug" };
        println!(
            "xtask: installers in {}",
            layout.show(&layout.target.join(profile).join("bundle"))
        );
    }
    Ok(0)
}
